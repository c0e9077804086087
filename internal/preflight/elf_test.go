package preflight

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// otherMachine returns an ELF machine that is not this one's: arm64 on
// amd64, amd64 anywhere else.
func otherMachine() elf.Machine {
	if runtime.GOARCH == "amd64" {
		return elf.EM_AARCH64
	}
	return elf.EM_X86_64
}

// wrongArchText is the expected Reason and Hint for a 64-bit little-endian
// binary for machine m.
func wrongArchText(m elf.Machine) string {
	other, mine := "amd64", runtime.GOARCH
	if m == elf.EM_AARCH64 {
		other = "arm64"
	}
	text := "is built for linux/" + other + ", but this machine is linux/" + mine + " (exec format error): "
	if lambda := lambdaArch[mine]; lambda != "" {
		return text + "rebuild it for linux/" + mine + ", Lambda's " + lambda + " (for Go: GOOS=linux GOARCH=" + mine + "), or switch the function's architecture to " + lambdaArch[other]
	}
	return text + "rebuild it for linux/" + mine + " (for Go: GOOS=linux GOARCH=" + mine + ")"
}

// elfSpec describes a minimal ELF file for makeELF: a header, a program
// header table of a PT_INTERP (when interp is set) and a PT_LOAD entry,
// then the interpreter's path. Zero fields take the native values.
type elfSpec struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
	typ     elf.Type
	interp  string

	// Damage.
	phentsize   int  // a wrong program header size
	phnum       int  // -1: no program headers
	interpNoNUL bool // the interpreter's path is not NUL-terminated
	interpOff   int  // where PT_INTERP points, when not at the path
}

// makeELF builds the file elfSpec describes. It is only ever inspected,
// never run.
func makeELF(s elfSpec) []byte {
	native := nativeELF[runtime.GOARCH]
	if s.class == 0 {
		s.class = elf.Class(native.class)
		if native.class == 0 {
			s.class = elf.ELFCLASS64
		}
	}
	if s.data == 0 {
		s.data = elf.ELFDATA2LSB
	}
	if s.machine == 0 {
		s.machine = elf.Machine(native.machine)
	}
	if s.typ == 0 {
		s.typ = elf.ET_EXEC
	}
	var order binary.ByteOrder = binary.LittleEndian
	if s.data == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	interp := []byte(s.interp)
	if !s.interpNoNUL {
		interp = append(interp, 0)
	}
	nph := 1
	if s.interp != "" {
		nph = 2
	}
	var b bytes.Buffer
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS], ident[elf.EI_DATA], ident[elf.EI_VERSION] = byte(s.class), byte(s.data), byte(elf.EV_CURRENT)
	write := func(v any) {
		if err := binary.Write(&b, order, v); err != nil {
			panic(err)
		}
	}
	if s.class == elf.ELFCLASS64 {
		ehsize, phsize := binary.Size(elf.Header64{}), binary.Size(elf.Prog64{})
		interpAt := ehsize + nph*phsize
		h := elf.Header64{Ident: ident, Type: uint16(s.typ), Machine: uint16(s.machine), Version: uint32(elf.EV_CURRENT),
			Entry: 0x401000, Phoff: uint64(ehsize), Ehsize: uint16(ehsize), Phentsize: uint16(phsize), Phnum: uint16(nph)}
		if s.phentsize != 0 {
			h.Phentsize = uint16(s.phentsize)
		}
		if s.phnum < 0 {
			h.Phnum = 0
		}
		write(h)
		if s.interp != "" {
			off := interpAt
			if s.interpOff != 0 {
				off = s.interpOff
			}
			write(elf.Prog64{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: uint64(off), Filesz: uint64(len(interp)), Memsz: uint64(len(interp)), Align: 1})
		}
		write(elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Vaddr: 0x400000, Paddr: 0x400000, Filesz: 0x1000, Memsz: 0x1000, Align: 0x1000})
	} else {
		ehsize, phsize := binary.Size(elf.Header32{}), binary.Size(elf.Prog32{})
		interpAt := ehsize + nph*phsize
		h := elf.Header32{Ident: ident, Type: uint16(s.typ), Machine: uint16(s.machine), Version: uint32(elf.EV_CURRENT),
			Entry: 0x8049000, Phoff: uint32(ehsize), Ehsize: uint16(ehsize), Phentsize: uint16(phsize), Phnum: uint16(nph)}
		if s.phentsize != 0 {
			h.Phentsize = uint16(s.phentsize)
		}
		if s.phnum < 0 {
			h.Phnum = 0
		}
		write(h)
		if s.interp != "" {
			off := interpAt
			if s.interpOff != 0 {
				off = s.interpOff
			}
			write(elf.Prog32{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R), Off: uint32(off), Filesz: uint32(len(interp)), Memsz: uint32(len(interp)), Align: 1})
		}
		write(elf.Prog32{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Vaddr: 0x8048000, Paddr: 0x8048000, Filesz: 0x1000, Memsz: 0x1000, Align: 0x1000})
	}
	b.Write(interp)
	return b.Bytes()
}

// copyFile copies the file at src to dir/name, mode 0755, and returns the
// new path and its contents.
func copyFile(t *testing.T, src, dir, name string) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return writeExec(t, dir, name, data, 0o755), data
}

// dynamicELF returns a dynamically linked ELF binary of this machine and the
// path of its loader: the test binary when it is one, else sh or env.
func dynamicELF(t *testing.T) (string, *elf.Prog) {
	t.Helper()
	candidates := []string{}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, exe)
	}
	for _, name := range []string{"sh", "env"} {
		if p, err := exec.LookPath(name); err == nil {
			candidates = append(candidates, p)
		}
	}
	for _, path := range candidates {
		f, err := elf.Open(path)
		if err != nil {
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				f.Close()
				return path, p
			}
		}
		f.Close()
	}
	t.Skip("no dynamically linked binary found")
	return "", nil
}

// preflightHere is Check without this machine's binfmt_misc handlers,
// which could run a binary of another machine (qemu-user) and so turn an
// expected error into nil.
func preflightHere(path, dir, pathEnv string) error {
	c := checker{dir: dir, pathEnv: pathEnv, goarch: runtime.GOARCH}
	if e := c.check(path); e != nil {
		return e
	}
	return nil
}

func TestCheckELF(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("preflight checks only on Linux")
	}
	if _, ok := nativeELF[runtime.GOARCH]; !ok {
		t.Skipf("no ELF machine known for %s", runtime.GOARCH)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mk := func(name string, data []byte) string { return writeExec(t, dir, name, data, 0o755) }

	t.Run("the test binary", func(t *testing.T) {
		if err := Check(exe, dir, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a dynamically linked binary", func(t *testing.T) {
		path, _ := dynamicELF(t)
		if err := Check(path, dir, ""); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a real binary patched for another machine", func(t *testing.T) {
		path, data := copyFile(t, exe, dir, "wrong-machine")
		binary.LittleEndian.PutUint16(data[18:], uint16(otherMachine())) // e_machine
		mk("wrong-machine", data)
		checkNotRunnable(t, preflightHere(path, dir, ""), path, "handler "+path+" "+wrongArchText(otherMachine()), syscall.ENOEXEC)
		if runtime.GOARCH == "amd64" {
			want := "handler " + path + " is built for linux/arm64, but this machine is linux/amd64 (exec format error): rebuild it for linux/amd64, Lambda's x86_64 (for Go: GOOS=linux GOARCH=amd64), or switch the function's architecture to arm64"
			if err := preflightHere(path, dir, ""); err == nil || err.Error() != want {
				t.Errorf("error text\n got: %v\nwant: %s", err, want)
			}
		}
	})

	t.Run("the test binary on another machine", func(t *testing.T) {
		// Pretend to be the other machine rather than patch the file.
		mine, other := runtime.GOARCH, ""
		switch mine {
		case "amd64":
			other = "arm64"
		case "arm64":
			other = "amd64"
		default:
			t.Skip("not one of Lambda's machines")
		}
		c := checker{dir: dir, goarch: other}
		want := "handler " + exe + " is built for linux/" + mine + ", but this machine is linux/" + other + " (exec format error): " +
			"rebuild it for linux/" + other + ", Lambda's " + lambdaArch[other] + " (for Go: GOOS=linux GOARCH=" + other + "), or switch the function's architecture to " + lambdaArch[mine]
		e := c.check(exe)
		if e == nil {
			t.Fatal("check = nil, want the wrong machine")
		}
		checkNotRunnable(t, e, exe, want, syscall.ENOEXEC)
	})

	t.Run("a real binary patched to a missing loader", func(t *testing.T) {
		src, interp := dynamicELF(t)
		path, data := copyFile(t, src, dir, "alpine-built")
		// Overwrite the loader's path with a same-length one that does
		// not exist, named like musl's.
		old := data[interp.Off : interp.Off+interp.Filesz]
		n := bytes.IndexByte(old, 0)
		loader := "/nonexistent/ld-musl.so.1"
		if n < len(loader) {
			t.Skipf("loader path %q is too short to patch", old[:n])
		}
		loader = "/" + strings.Repeat("x", n-len(loader)) + loader[1:]
		copy(old, loader)
		mk("alpine-built", data)
		want := "handler " + path + " is dynamically linked, and its loader " + loader + " does not exist (no such file or directory): it was linked against musl libc (as on Alpine Linux), which this system does not have; build it statically (for Go: CGO_ENABLED=0) or on Amazon Linux 2023"
		checkNotRunnable(t, preflightHere(path, dir, ""), path, want, syscall.ENOENT)
	})

	native := nativeELF[runtime.GOARCH]
	realLoader, _ := exec.LookPath("sh") // any executable file does as a loader here
	if realLoader == "" {
		realLoader = exe
	}
	writeExec(t, dir, "lib/ld.so", []byte("x"), 0o755)
	tests := []struct {
		name   string
		spec   elfSpec
		data   []byte // instead of spec
		want   string // after "handler PATH "; empty: nil
		wantIs error
	}{
		{name: "static", spec: elfSpec{}},
		{name: "static PIE", spec: elfSpec{typ: elf.ET_DYN}},
		{name: "dynamic", spec: elfSpec{interp: realLoader}},
		{name: "relative loader found in the working directory", spec: elfSpec{interp: "lib/ld.so"}},
		{
			name:   "missing glibc loader",
			spec:   elfSpec{interp: "/nix/store/xyz-glibc/lib/ld-linux-x86-64.so.2"},
			want:   "is dynamically linked, and its loader /nix/store/xyz-glibc/lib/ld-linux-x86-64.so.2 does not exist (no such file or directory): it was linked against a C library this system does not have where the binary expects it (built on another distribution?); build it statically (for Go: CGO_ENABLED=0) or on Amazon Linux 2023",
			wantIs: syscall.ENOENT,
		},
		{
			name:   "loader not executable",
			spec:   elfSpec{interp: "/etc/passwd"},
			want:   "is dynamically linked, and its loader /etc/passwd is not executable (permission denied): it was linked against a C library this system does not have where the binary expects it (built on another distribution?); build it statically (for Go: CGO_ENABLED=0) or on Amazon Linux 2023",
			wantIs: syscall.EACCES,
		},
		{
			name:   "object file",
			spec:   elfSpec{typ: elf.ET_REL},
			want:   "is an object file (ELF type ET_REL), not an executable (exec format error): link it into an executable (a compiler's .o output is not one)",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "core dump",
			spec:   elfSpec{typ: elf.ET_CORE},
			want:   "is a core dump (ELF type ET_CORE), not an executable (exec format error): ship the built executable instead",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "other machine",
			spec:   elfSpec{machine: otherMachine()},
			want:   wrongArchText(otherMachine()),
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "unknown machine",
			spec:   elfSpec{machine: elf.EM_XTENSA, class: elf.ELFCLASS32},
			want:   "is built for another machine (ELF machine 94, 32-bit), but this machine is linux/" + runtime.GOARCH + " (exec format error): rebuild it for linux/" + runtime.GOARCH + " (for Go: GOOS=linux GOARCH=" + runtime.GOARCH + ")",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "big-endian",
			spec:   elfSpec{data: elf.ELFDATA2MSB, class: elf.Class(native.class)},
			want:   "is built for " + elfArch(native.machine, native.class, elfData2MSB) + ", but this machine is linux/" + runtime.GOARCH + " (exec format error): rebuild it for linux/" + runtime.GOARCH,
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "truncated header",
			data:   makeELF(elfSpec{})[:20],
			want:   "is a damaged ELF binary: it ends within its header (exec format error): build it again, and check that whatever copies or zips it copies all of it as is",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "wrong program header size",
			spec:   elfSpec{phentsize: 40},
			want:   "is a damaged ELF binary: its program header table is invalid (exec format error): build it again, and check that whatever copies or zips it copies all of it as is",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "no program headers",
			spec:   elfSpec{phnum: -1},
			want:   "is a damaged ELF binary: its program header table is invalid (exec format error): build it again, and check that whatever copies or zips it copies all of it as is",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "program headers cut off",
			data:   makeELF(elfSpec{interp: realLoader})[:70],
			want:   "is a damaged ELF binary: its program header table is cut short (exec format error): build it again, and check that whatever copies or zips it copies all of it as is",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "loader path not terminated",
			spec:   elfSpec{interp: realLoader, interpNoNUL: true},
			want:   "is a damaged ELF binary: its program interpreter entry is not terminated (exec format error): build it again, and check that whatever copies or zips it copies all of it as is",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "loader path past the end",
			spec:   elfSpec{interp: realLoader, interpOff: 1 << 20},
			want:   "is a damaged ELF binary: its program interpreter entry points past its end (exec format error): build it again, and check that whatever copies or zips it copies all of it as is",
			wantIs: syscall.ENOEXEC,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if data == nil {
				data = makeELF(tt.spec)
			}
			path := mk(strings.ReplaceAll(tt.name, " ", "-"), data)
			err := preflightHere(path, dir, "")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if tt.name == "big-endian" {
				// The hint depends on whether the machine is one of Lambda's.
				if err == nil || !strings.HasPrefix(err.Error(), "handler "+path+" "+tt.want) || !errors.Is(err, tt.wantIs) {
					t.Fatalf("Check = %v, want prefix %q", err, tt.want)
				}
				return
			}
			checkNotRunnable(t, err, path, "handler "+path+" "+tt.want, tt.wantIs)
		})
	}

	// A 32-bit binary of the other x86: a class the machine does not run.
	if runtime.GOARCH == "amd64" {
		path := mk("i386", makeELF(elfSpec{class: elf.ELFCLASS32, machine: elf.EM_386}))
		want := "handler " + path + " is built for linux/386, but this machine is linux/amd64 (exec format error): rebuild it for linux/amd64 (for Go: GOOS=linux GOARCH=amd64)"
		checkNotRunnable(t, preflightHere(path, dir, ""), path, want, syscall.ENOEXEC)
	}
}

func TestELFConstantsAreDebugELFs(t *testing.T) {
	// The check names its dozen ELF numbers itself, to keep debug/elf out
	// of the bootstrap: they must be debug/elf's.
	ints := []struct {
		name      string
		got, want uint64
	}{
		{"EI_NIDENT", eiNident, elf.EI_NIDENT},
		{"EI_CLASS", eiClass, elf.EI_CLASS},
		{"EI_DATA", eiData, elf.EI_DATA},
		{"ELFCLASS32", uint64(elfClass32), uint64(elf.ELFCLASS32)},
		{"ELFCLASS64", uint64(elfClass64), uint64(elf.ELFCLASS64)},
		{"ELFDATA2LSB", uint64(elfData2LSB), uint64(elf.ELFDATA2LSB)},
		{"ELFDATA2MSB", uint64(elfData2MSB), uint64(elf.ELFDATA2MSB)},
		{"ET_REL", uint64(etRel), uint64(elf.ET_REL)},
		{"ET_EXEC", uint64(etExec), uint64(elf.ET_EXEC)},
		{"ET_DYN", uint64(etDyn), uint64(elf.ET_DYN)},
		{"ET_CORE", uint64(etCore), uint64(elf.ET_CORE)},
		{"EM_386", uint64(em386), uint64(elf.EM_386)},
		{"EM_MIPS", uint64(emMIPS), uint64(elf.EM_MIPS)},
		{"EM_PPC", uint64(emPPC), uint64(elf.EM_PPC)},
		{"EM_PPC64", uint64(emPPC64), uint64(elf.EM_PPC64)},
		{"EM_S390", uint64(emS390), uint64(elf.EM_S390)},
		{"EM_ARM", uint64(emARM), uint64(elf.EM_ARM)},
		{"EM_SPARCV9", uint64(emSPARCV9), uint64(elf.EM_SPARCV9)},
		{"EM_X86_64", uint64(emX86_64), uint64(elf.EM_X86_64)},
		{"EM_AARCH64", uint64(emAArch64), uint64(elf.EM_AARCH64)},
		{"EM_RISCV", uint64(emRISCV), uint64(elf.EM_RISCV)},
		{"EM_LOONGARCH", uint64(emLoongArch), uint64(elf.EM_LOONGARCH)},
		{"PT_INTERP", ptInterp, uint64(elf.PT_INTERP)},
		{"Elf64_Ehdr", ehdr64Size, uint64(binary.Size(elf.Header64{}))},
		{"Elf64_Phdr", phdr64Size, uint64(binary.Size(elf.Prog64{}))},
		{"Elf32_Ehdr", ehdr32Size, uint64(binary.Size(elf.Header32{}))},
		{"Elf32_Phdr", phdr32Size, uint64(binary.Size(elf.Prog32{}))},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s = %d, debug/elf says %d", c.name, c.got, c.want)
		}
	}
	if elfMag != elf.ELFMAG {
		t.Errorf("ELFMAG %q, debug/elf says %q", elfMag, elf.ELFMAG)
	}
}
