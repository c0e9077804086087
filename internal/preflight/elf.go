package preflight

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
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
	machine elf.Machine
	class   elf.Class
}{
	"amd64": {elf.EM_X86_64, elf.ELFCLASS64},
	"arm64": {elf.EM_AARCH64, elf.ELFCLASS64},
	"386":   {elf.EM_386, elf.ELFCLASS32},
	"arm":   {elf.EM_ARM, elf.ELFCLASS32},
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
	if len(head) < elf.EI_NIDENT+4 {
		return damaged("it ends within its header")
	}
	class, data := elf.Class(head[elf.EI_CLASS]), elf.Data(head[elf.EI_DATA])
	var order binary.ByteOrder = binary.LittleEndian
	if data == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	machine := elf.Machine(order.Uint16(head[18:]))

	if want, ok := nativeELF[c.goarch]; ok {
		if machine != want.machine || class != want.class || data != elf.ELFDATA2LSB {
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

	// The header fields the kernel uses, from either class.
	var typ elf.Type
	var phoff uint64
	var phentsize, phnum, wantEntsize int
	switch class {
	case elf.ELFCLASS64:
		var h elf.Header64
		if _, err := binary.Decode(head, order, &h); err != nil {
			return damaged("it ends within its header")
		}
		typ, phoff, phentsize, phnum = elf.Type(h.Type), h.Phoff, int(h.Phentsize), int(h.Phnum)
		wantEntsize = binary.Size(elf.Prog64{})
	case elf.ELFCLASS32:
		var h elf.Header32
		if _, err := binary.Decode(head, order, &h); err != nil {
			return damaged("it ends within its header")
		}
		typ, phoff, phentsize, phnum = elf.Type(h.Type), uint64(h.Phoff), int(h.Phentsize), int(h.Phnum)
		wantEntsize = binary.Size(elf.Prog32{})
	default:
		return nil // only reached for a GOARCH not in nativeELF: no opinion
	}

	if typ != elf.ET_EXEC && typ != elf.ET_DYN {
		what, hint := fmt.Sprintf("an ELF file of type %v", typ), "ship the built executable instead"
		switch typ {
		case elf.ET_REL:
			what, hint = "an object file (ELF type ET_REL)", "link it into an executable (a compiler's .o output is not one)"
		case elf.ET_CORE:
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
		var off, size uint64
		if class == elf.ELFCLASS64 {
			var p elf.Prog64
			_, _ = binary.Decode(phdrs[i*wantEntsize:], order, &p) // cannot fail: the slice holds one
			if elf.ProgType(p.Type) != elf.PT_INTERP {
				continue
			}
			off, size = p.Off, p.Filesz
		} else {
			var p elf.Prog32
			_, _ = binary.Decode(phdrs[i*wantEntsize:], order, &p)
			if elf.ProgType(p.Type) != elf.PT_INTERP {
				continue
			}
			off, size = uint64(p.Off), uint64(p.Filesz)
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
func elfArch(m elf.Machine, class elf.Class, data elf.Data) string {
	is64, le := class == elf.ELFCLASS64, data != elf.ELFDATA2MSB
	pick := func(a, b string) string {
		if is64 {
			return a
		}
		return b
	}
	name := ""
	switch m {
	case elf.EM_X86_64:
		name = pick("amd64", "amd64 (x32 ABI)")
	case elf.EM_AARCH64:
		name = pick("arm64", "arm64 (ILP32)")
	case elf.EM_386:
		name = "386"
	case elf.EM_ARM:
		name = "arm"
	case elf.EM_RISCV:
		name = pick("riscv64", "riscv32")
	case elf.EM_PPC64:
		name = "ppc64"
		if le {
			name = "ppc64le"
		}
	case elf.EM_PPC:
		name = "ppc"
	case elf.EM_S390:
		name = pick("s390x", "s390")
	case elf.EM_MIPS:
		name = pick("mips64", "mips")
		if le {
			name += "le"
		}
	case elf.EM_LOONGARCH:
		name = pick("loong64", "loong32")
	case elf.EM_SPARCV9:
		name = "sparc64"
	default:
		return fmt.Sprintf("another machine (ELF machine %v, %v)", m, class)
	}
	if !le && (m == elf.EM_X86_64 || m == elf.EM_AARCH64 || m == elf.EM_386 || m == elf.EM_ARM || m == elf.EM_RISCV) {
		name += " (big-endian)"
	}
	return "linux/" + name
}
