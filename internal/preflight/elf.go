package preflight

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The ELF header fields and values the checks read (the System V ABI's),
// named after debug/elf's names. debug/elf itself is not linked: it would
// bring DWARF and three decompressors, with their package initialisation at
// every start of the bootstrap, for a dozen numbers. elf_test.go holds
// these to debug/elf's.
type (
	elfClass   uint8
	elfData    uint8
	elfMachine uint16
	elfType    uint16
)

const (
	elfMag   = "\x7fELF"
	eiNident = 16 // e_ident's size
	eiClass  = 4  // e_ident[EI_CLASS]
	eiData   = 5  // e_ident[EI_DATA]

	elfClass32 elfClass = 1
	elfClass64 elfClass = 2

	elfData2LSB elfData = 1
	elfData2MSB elfData = 2

	etRel  elfType = 1
	etExec elfType = 2
	etDyn  elfType = 3
	etCore elfType = 4

	em386       elfMachine = 3
	emMIPS      elfMachine = 8
	emPPC       elfMachine = 20
	emPPC64     elfMachine = 21
	emS390      elfMachine = 22
	emARM       elfMachine = 40
	emSPARCV9   elfMachine = 43
	emX86_64    elfMachine = 62
	emAArch64   elfMachine = 183
	emRISCV     elfMachine = 243
	emLoongArch elfMachine = 258

	ptInterp = 3 // p_type of the program interpreter's entry

	// Sizes of the file header and of one program header entry.
	ehdr64Size, phdr64Size = 64, 56
	ehdr32Size, phdr32Size = 52, 32
)

// binaryAt checks the file at path when it is an ELF binary, which is how
// the interpreter of a #! line and the program env runs are checked: no
// deeper, as a #! line naming a script works and the rest is rare. The
// Reason it returns has no subject ("is built for ...").
func (c *checker) binaryAt(path string) *NotRunnableError {
	f, head := openHead(path)
	if f == nil {
		return nil
	}
	defer f.Close()
	if !bytes.HasPrefix(head, []byte(elfMag)) {
		return nil
	}
	e := c.elfBinary(f, head)
	if e != nil && errors.Is(e.Err, syscall.ENOEXEC) && c.binfmtMiscTakes(path, head) {
		return nil
	}
	return e
}

// nativeELF is what an ELF binary must say to run on each GOARCH Lambda
// (or a developer's machine) may have; others are not checked.
var nativeELF = map[string]struct {
	machine elfMachine
	class   elfClass
}{
	"amd64": {emX86_64, elfClass64},
	"arm64": {emAArch64, elfClass64},
	"386":   {em386, elfClass32},
	"arm":   {emARM, elfClass32},
}

// elfBinary checks an ELF file as the kernel's load_elf_binary does before
// it runs it: the machine, the type, the program headers and the program
// interpreter (the dynamic loader). It reads the headers itself rather than
// with elf.NewFile, which also wants valid section headers, which the
// kernel ignores (and a packed or oddly stripped binary may lack).
func (c *checker) elfBinary(f *os.File, head []byte) *NotRunnableError {
	damaged := func(what string) *NotRunnableError {
		return &NotRunnableError{
			Reason: fmt.Sprintf("is a damaged ELF binary: %s (exec format error)", what),
			Hint:   "build it again, and check that whatever copies or zips it copies all of it as is",
			Err:    syscall.ENOEXEC,
		}
	}
	if len(head) < eiNident+4 {
		return damaged("it ends within its header")
	}
	class, data := elfClass(head[eiClass]), elfData(head[eiData])
	var order binary.ByteOrder = binary.LittleEndian
	if data == elfData2MSB {
		order = binary.BigEndian
	}
	machine := elfMachine(order.Uint16(head[18:]))

	if want, ok := nativeELF[c.goarch]; ok {
		if machine != want.machine || class != want.class || data != elfData2LSB {
			built := elfArch(machine, class, data)
			hint := fmt.Sprintf("rebuild it for linux/%s (for Go: GOOS=linux GOARCH=%s)", c.goarch, c.goarch)
			if mine, theirs := lambdaArch[c.goarch], lambdaArch[strings.TrimPrefix(built, "linux/")]; mine != "" && theirs != "" {
				hint = fmt.Sprintf("rebuild it for linux/%s, Lambda's %s (for Go: GOOS=linux GOARCH=%s), or switch the function's architecture to %s",
					c.goarch, mine, c.goarch, theirs)
			}
			return &NotRunnableError{
				Reason: fmt.Sprintf("is built for %s, but this machine is linux/%s (exec format error)", built, c.goarch),
				Hint:   hint,
				Err:    syscall.ENOEXEC,
			}
		}
	}

	// The header fields the kernel uses, from either class: e_type at 16,
	// then e_phoff, e_phentsize and e_phnum where each class has them.
	typ := elfType(order.Uint16(head[16:]))
	var phoff uint64
	var phentsize, phnum, wantEntsize int
	switch class {
	case elfClass64:
		if len(head) < ehdr64Size {
			return damaged("it ends within its header")
		}
		phoff, phentsize, phnum = order.Uint64(head[32:]), int(order.Uint16(head[54:])), int(order.Uint16(head[56:]))
		wantEntsize = phdr64Size
	case elfClass32:
		if len(head) < ehdr32Size {
			return damaged("it ends within its header")
		}
		phoff, phentsize, phnum = uint64(order.Uint32(head[28:])), int(order.Uint16(head[42:])), int(order.Uint16(head[44:]))
		wantEntsize = phdr32Size
	default:
		return nil // only reached for a GOARCH not in nativeELF: no opinion
	}

	if typ != etExec && typ != etDyn {
		what, hint := fmt.Sprintf("an ELF file of type %d", typ), "ship the built executable instead"
		switch typ {
		case etRel:
			what, hint = "an object file (ELF type ET_REL)", "link it into an executable (a compiler's .o output is not one)"
		case etCore:
			what = "a core dump (ELF type ET_CORE)"
		}
		return &NotRunnableError{
			Reason: fmt.Sprintf("is %s, not an executable (exec format error)", what),
			Hint:   hint,
			Err:    syscall.ENOEXEC,
		}
	}

	// The kernel's limits for the program header table.
	const maxPhdrs = 65536
	if phentsize != wantEntsize || phnum == 0 || phnum*wantEntsize > maxPhdrs || phoff > math.MaxInt64 {
		return damaged("its program header table is invalid")
	}
	phdrs := make([]byte, phnum*wantEntsize)
	if _, err := f.ReadAt(phdrs, int64(phoff)); err != nil {
		return damaged("its program header table is cut short")
	}
	for i := 0; i < phnum; i++ {
		p := phdrs[i*wantEntsize:]
		if order.Uint32(p) != ptInterp {
			continue
		}
		// p_offset and p_filesz: at 8 and 32 in a 64-bit entry, at 4 and
		// 16 in a 32-bit one.
		off, size := order.Uint64(p[8:]), order.Uint64(p[32:])
		if class == elfClass32 {
			off, size = uint64(order.Uint32(p[4:])), uint64(order.Uint32(p[16:]))
		}
		// Only the first PT_INTERP counts, and it must be a NUL-terminated
		// path of at most PATH_MAX bytes.
		const pathMax = 4096
		if size < 2 || size > pathMax || off > math.MaxInt64 {
			return damaged("its program interpreter entry is invalid")
		}
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, int64(off)); err != nil {
			return damaged("its program interpreter entry points past its end")
		}
		if buf[size-1] != 0 {
			return damaged("its program interpreter entry is not terminated")
		}
		return c.loader(string(buf[:bytes.IndexByte(buf, 0)]))
	}
	return nil // statically linked
}

// loader checks the program interpreter (dynamic loader) an ELF binary names.
func (c *checker) loader(loader string) *NotRunnableError {
	full := loader
	if !filepath.IsAbs(full) {
		full = filepath.Join(c.dir, full)
	}
	err := Executable(full)
	if err == nil {
		return nil
	}
	libc := "it was linked against a C library this system does not have where the binary expects it (built on another distribution?)"
	if strings.Contains(filepath.Base(loader), "musl") {
		libc = "it was linked against musl libc (as on Alpine Linux), which this system does not have"
	}
	return &NotRunnableError{
		Reason: fmt.Sprintf("is dynamically linked, and its loader %s %s", show(full), whyNot(err)),
		Hint:   libc + "; build it statically (for Go: CGO_ENABLED=0) or on Amazon Linux 2023",
		Err:    execErrno(err),
	}
}

// lambdaArch names the GOARCH values of Lambda's two architectures as Lambda
// does.
var lambdaArch = map[string]string{"amd64": "x86_64", "arm64": "arm64"}

// elfArch names the platform an ELF binary is built for the way Go does
// ("linux/arm64"), or by its e_machine when Go has no name for it.
func elfArch(m elfMachine, class elfClass, data elfData) string {
	is64, le := class == elfClass64, data != elfData2MSB
	pick := func(a, b string) string {
		if is64 {
			return a
		}
		return b
	}
	name := ""
	switch m {
	case emX86_64:
		name = pick("amd64", "amd64 (x32 ABI)")
	case emAArch64:
		name = pick("arm64", "arm64 (ILP32)")
	case em386:
		name = "386"
	case emARM:
		name = "arm"
	case emRISCV:
		name = pick("riscv64", "riscv32")
	case emPPC64:
		name = "ppc64"
		if le {
			name = "ppc64le"
		}
	case emPPC:
		name = "ppc"
	case emS390:
		name = pick("s390x", "s390")
	case emMIPS:
		name = pick("mips64", "mips")
		if le {
			name += "le"
		}
	case emLoongArch:
		name = pick("loong64", "loong32")
	case emSPARCV9:
		name = "sparc64"
	default:
		bits := "64-bit"
		if !is64 {
			bits = "32-bit"
		}
		return fmt.Sprintf("another machine (ELF machine %d, %s)", m, bits)
	}
	if !le && (m == emX86_64 || m == emAArch64 || m == em386 || m == emARM || m == emRISCV) {
		name += " (big-endian)"
	}
	return "linux/" + name
}
