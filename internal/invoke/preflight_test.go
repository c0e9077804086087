package invoke

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeExec writes data to dir/name with the given mode (not subject to the
// umask) and returns its path.
func writeExec(t testing.TB, dir, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkNotRunnable fails the test unless err is a *NotRunnableError for
// path whose text is want and that wraps wantIs (nil: wraps nothing).
func checkNotRunnable(t *testing.T, err error, path, want string, wantIs error) {
	t.Helper()
	var nr *NotRunnableError
	if !errors.As(err, &nr) {
		t.Fatalf("Preflight = %v, want a *NotRunnableError", err)
	}
	if nr.Path != path {
		t.Errorf("Path = %q, want %q", nr.Path, path)
	}
	if err.Error() != want {
		t.Errorf("error text\n got: %s\nwant: %s", err, want)
	}
	if wantIs == nil && nr.Err != nil {
		t.Errorf("Err = %v, want nil (the start itself succeeds)", nr.Err)
	}
	if wantIs != nil && !errors.Is(err, wantIs) {
		t.Errorf("error %v does not wrap %v", err, wantIs)
	}
}

func TestPreflightScripts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Preflight checks only on Linux")
	}
	for _, p := range []string{"/bin/sh", "/usr/bin/env"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("this machine has no %s: %v", p, err)
		}
	}
	dir := t.TempDir()
	sh := []byte("#!/bin/sh\nexit 0\n")
	writeExec(t, dir, "tools/interp", sh, 0o755)
	writeExec(t, dir, "bin/tool", sh, 0o755)
	writeExec(t, dir, "bin/noexec", sh, 0o644)
	writeExec(t, dir, "data.txt", []byte("text\n"), 0o644)
	writeExec(t, dir, "wrongarch", makeELF(elfSpec{machine: otherMachine(), class: elf.ELFCLASS64}), 0o755)
	pathEnv := "/usr/local/bin:/usr/bin:/bin:bin" // bin: relative to dir

	tests := []struct {
		name    string
		content string
		// want is the exact error text, with {path} for the handler's
		// path, {dir} for its directory and {PATH} for pathEnv; empty
		// when Preflight must return nil.
		want   string
		wantIs error
	}{
		{name: "sh", content: "#!/bin/sh\necho hi\n"},
		{name: "sh with argument", content: "#!/bin/sh -eu\n"},
		{name: "blanks around the interpreter", content: "#! \t/bin/sh \t\n"},
		{name: "NUL ends the interpreter", content: "#!/bin/sh\x00 whatever\n"},
		{name: "no newline", content: "#!/bin/sh"},
		{name: "line longer than the kernel reads", content: "#!/bin/sh " + strings.Repeat("x", 300)},
		{name: "interpreter is a script", content: "#!" + dir + "/tools/interp\n"},
		{name: "relative interpreter", content: "#!tools/interp\n"},
		{name: "env sh", content: "#!/usr/bin/env sh\n"},
		{name: "env finds in relative PATH entry", content: "#!/usr/bin/env tool\n"},
		{name: "env program with slash", content: "#!/usr/bin/env ./bin/tool\n"},
		{name: "env -S", content: "#!/usr/bin/env -S sh -e -u\n"},
		{name: "env -vS", content: "#!/usr/bin/env -vS sh -e\n"},
		{name: "env -S assignments", content: "#!/usr/bin/env -S LANG=C FOO=bar sh -e\n"},
		{name: "env -S PATH= assignment", content: "#!/usr/bin/env -S PATH=tools interp\n"},
		{name: "env -S -i finds sh on the default path", content: "#!/usr/bin/env -S -i sh\n"},
		{name: "env -S -u NAME", content: "#!/usr/bin/env -S -u HOME -- sh\n"},
		{name: "env --split-string=", content: "#!/usr/bin/env --split-string=sh -e\n"},
		{name: "env -S with quotes is not judged", content: "#!/usr/bin/env -S 'no such' prog\n"},
		{name: "env -C is not judged", content: "#!/usr/bin/env -S -C /nowhere nosuchprog\n"},
		{
			name:    "CRLF",
			content: "#!/bin/sh\r\necho hi\r\n",
			want:    `handler {path} has a #! line that ends in a carriage return (CRLF line endings, as saved on Windows), so the kernel looks for the interpreter "/bin/sh\r": convert the file to LF line endings (dos2unix app)`,
			wantIs:  syscall.ENOENT,
		},
		{
			name:    "CRLF with argument",
			content: "#!/bin/sh -e\r\necho hi\r\n",
			want:    `handler {path} has a #! line that ends in a carriage return (CRLF line endings, as saved on Windows), so /bin/sh gets the argument "-e\r": convert the file to LF line endings (dos2unix app)`,
		},
		{
			name:    "CRLF env",
			content: "#!/usr/bin/env python3\r\n",
			want:    `handler {path} has a #! line that ends in a carriage return (CRLF line endings, as saved on Windows), so /usr/bin/env looks for the program "python3\r": convert the file to LF line endings (dos2unix app)`,
		},
		{
			name:    "missing interpreter",
			content: "#!/no/such/bash\n",
			want:    `handler {path} names the interpreter /no/such/bash in its #! line, which does not exist (no such file or directory): point the #! line at an interpreter this runtime has (e.g. "#!/bin/sh", or "#!/usr/bin/env NAME" to find NAME on PATH), or add a layer or image that provides /no/such/bash`,
			wantIs:  syscall.ENOENT,
		},
		{
			name:    "interpreter not executable",
			content: "#!{dir}/data.txt\n",
			want:    `handler {path} names the interpreter {dir}/data.txt in its #! line, which is not executable (permission denied): point the #! line at an interpreter that can be executed`,
			wantIs:  syscall.EACCES,
		},
		{
			name:    "interpreter is a directory",
			content: "#!{dir}/tools\n",
			want:    `handler {path} names the interpreter {dir}/tools in its #! line, which is a directory: point the #! line at an interpreter that can be executed`,
			wantIs:  syscall.EACCES,
		},
		{
			name:    "relative interpreter missing",
			content: "#!tools/none -x\n",
			want:    `handler {path} names the interpreter tools/none in its #! line, a relative path that Linux takes relative to the working directory, and {dir}/tools/none does not exist (no such file or directory): give the interpreter's absolute path, e.g. "#!/bin/sh"`,
			wantIs:  syscall.ENOENT,
		},
		{
			name:    "interpreter built for another machine",
			content: "#!{dir}/wrongarch\n",
			want:    `handler {path} names the interpreter {dir}/wrongarch in its #! line, which ` + wrongArchText(otherMachine()),
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "no interpreter",
			content: "#!  \t\nexit 0\n",
			want:    `handler {path} has a #! line that names no interpreter (exec format error): write the interpreter's absolute path right after the #!, e.g. "#!/bin/sh"`,
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "nothing after #!",
			content: "#!",
			want:    `handler {path} has a #! line that names no interpreter: write the interpreter's absolute path right after the #!, e.g. "#!/bin/sh"`,
			wantIs:  syscall.EACCES,
		},
		{
			name:    "interpreter path cut at 255 bytes",
			content: "#!/" + strings.Repeat("a", 300),
			want:    `handler {path} has a #! line whose interpreter path does not end within the first 255 bytes, all that Linux reads (exec format error): use a shorter path to the interpreter`,
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "env program not on PATH",
			content: "#!/usr/bin/env python3-nosuch\n",
			want:    `handler {path} runs "python3-nosuch" through /usr/bin/env, but python3-nosuch is not on PATH ({PATH}): the runtime has no python3-nosuch; add a layer or image that provides it, or name an interpreter that exists`,
		},
		{
			name:    "env program only non-executable",
			content: "#!/usr/bin/env noexec\n",
			want:    `handler {path} runs "noexec" through /usr/bin/env, but noexec is not on PATH ({PATH}); {dir}/bin/noexec exists but is not executable (permission denied): the runtime has no noexec; add a layer or image that provides it, or name an interpreter that exists`,
		},
		{
			name:    "env -S program not on PATH",
			content: "#!/usr/bin/env -S nosuchprog -u\n",
			want:    `handler {path} runs "nosuchprog" through /usr/bin/env, but nosuchprog is not on PATH ({PATH}): the runtime has no nosuchprog; add a layer or image that provides it, or name an interpreter that exists`,
		},
		{
			name:    "env -S -i searches the default path",
			content: "#!/usr/bin/env -S -i tool\n",
			want:    `handler {path} runs "tool" through /usr/bin/env, but tool is not on the default search path (/usr/local/bin:/bin:/usr/bin; PATH is unset): the runtime has no tool; add a layer or image that provides it, or name an interpreter that exists`,
		},
		{
			name:    "env program with slash missing",
			content: "#!/usr/bin/env bin/none\n",
			want:    `handler {path} runs "bin/none" through /usr/bin/env, but {dir}/bin/none does not exist (no such file or directory): ship it at that path, or name an interpreter that exists`,
		},
		{
			name:    "env without -S",
			content: "#!/usr/bin/env python3 -u\n",
			want:    `handler {path} passes "python3 -u" to /usr/bin/env as a single argument (Linux does not split the rest of a #! line into words), and env does not split it either: split it with -S: "#!/usr/bin/env -S python3 -u"`,
		},
		{
			name:    "env option without -S",
			content: "#!/usr/bin/env -i sh\n",
			want:    `handler {path} passes "-i sh" to /usr/bin/env as a single argument (Linux does not split the rest of a #! line into words), and env does not split it either: split it with -S: "#!/usr/bin/env -S -i sh"`,
		},
		{
			name:    "env without a program",
			content: "#!/usr/bin/env\n",
			want:    `handler {path} has a #! line that gives /usr/bin/env no program to run, so env runs the script itself, which starts env again, forever: name the program, e.g. "#!/usr/bin/env sh"`,
		},
		{
			name:    "env with only an assignment",
			content: "#!/usr/bin/env FOO=1\n",
			want:    `handler {path} has a #! line that gives /usr/bin/env no program to run, so env runs the script itself, which starts env again, forever: name the program, e.g. "#!/usr/bin/env sh"`,
		},
		{
			name:    "no #! line",
			content: "echo hello\n",
			want:    `handler {path} has no #! line and is not a binary (exec format error): start it with "#!/bin/sh" or the interpreter it needs`,
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "empty",
			content: "",
			want:    `handler {path} is empty (exec format error): check the build or copy that should have written it`,
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "byte order mark",
			content: "\xef\xbb\xbf#!/bin/sh\n",
			want:    `handler {path} starts with a UTF-8 byte order mark before its #! line (as some Windows editors save files), so Linux does not see the #! (exec format error): save it as UTF-8 without a BOM`,
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "blank line first",
			content: "\n#!/bin/sh\n",
			want:    `handler {path} has blank space or empty lines before its #! line, so Linux does not see the #! (exec format error): make #! the first two bytes of the file`,
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "Mach-O",
			content: "\xcf\xfa\xed\xfe\x0c\x00\x00\x01\x00\x00\x00\x00\x02\x00\x00\x00",
			want:    `handler {path} is a macOS (Mach-O) binary, not a Linux one (exec format error): build it for Linux (for Go: GOOS=linux GOARCH=` + runtime.GOARCH + `)`,
			wantIs:  syscall.ENOEXEC,
		},
		{
			name:    "Windows",
			content: "MZ\x90\x00\x03\x00\x00\x00",
			want:    `handler {path} is a Windows program, not a Linux one (exec format error): build it for Linux (for Go: GOOS=linux GOARCH=` + runtime.GOARCH + `)`,
			wantIs:  syscall.ENOEXEC,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			path := writeExec(t, sub, "app", []byte(strings.ReplaceAll(tt.content, "{dir}", dir)), 0o755)
			// The handler runs in dir (the task root); its file may be
			// anywhere.
			c := checker{dir: dir, pathEnv: pathEnv, goarch: runtime.GOARCH}
			err := c.check(path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("check(%q) = %v, want nil", tt.content, err)
				}
				return
			}
			want := strings.NewReplacer("{path}", path, "{dir}", dir, "{PATH}", pathEnv).Replace(tt.want)
			checkNotRunnable(t, err, path, want, tt.wantIs)
		})
	}

	// Preflight itself: the same checks, and nil rather than a nil
	// *NotRunnableError in an error interface.
	ok := writeExec(t, dir, "ok.sh", []byte("#!/usr/bin/env sh\n"), 0o755)
	if err := Preflight(Command{Path: ok, Dir: dir}, pathEnv); err != nil {
		t.Fatalf("Preflight(ok.sh) = %v", err)
	}
	bad := writeExec(t, dir, "bad.sh", []byte("#!/bin/sh\r\n"), 0o755)
	if err := Preflight(Command{Path: bad, Dir: dir}, pathEnv); err == nil || !strings.Contains(err.Error(), `"/bin/sh\r"`) {
		t.Fatalf("Preflight(bad.sh) = %v, want the CRLF error", err)
	}
}

func TestParseShebang(t *testing.T) {
	tests := []struct {
		head    string
		want    shebang
		wantErr error
	}{
		{head: "#!/bin/sh\n", want: shebang{interp: "/bin/sh"}},
		{head: "#!/bin/sh", want: shebang{interp: "/bin/sh"}},
		{head: "#! /bin/sh -e -u \n", want: shebang{interp: "/bin/sh", arg: "-e -u", hasArg: true}},
		{head: "#!/bin/sh\t-e\r\n", want: shebang{interp: "/bin/sh", arg: "-e\r", hasArg: true}},
		{head: "#!/bin/sh\r\n", want: shebang{interp: "/bin/sh\r"}},
		{head: "#!/bin/sh\x00 -e\n", want: shebang{interp: "/bin/sh"}},
		{head: "#!/bin/sh -e\x00x\n", want: shebang{interp: "/bin/sh", arg: "-e", hasArg: true}},
		{head: "#!/bin/sh\x00\n", want: shebang{interp: "/bin/sh"}}, // the newline search stops at the NUL
		{head: "#!/usr/bin/env -S a b\nrest", want: shebang{interp: "/usr/bin/env", arg: "-S a b", hasArg: true}},
		{head: "#!/bin/sh -e " + strings.Repeat("y", 300), want: shebang{interp: "/bin/sh", arg: "-e " + strings.Repeat("y", 255-len("#!/bin/sh -e ")), hasArg: true}},
		{head: "#!\n", wantErr: errNoInterp},
		{head: "#!", want: shebang{interp: ""}}, // the kernel then opens ""
		{head: "#!\x00/bin/sh\n", want: shebang{interp: ""}},
		{head: "#! \t \n", wantErr: errNoInterp},
		{head: "#!" + strings.Repeat(" ", 300), wantErr: errNoInterp},
		{head: "#!/" + strings.Repeat("a", 253), wantErr: errInterpTruncated},
		{head: "#!/" + strings.Repeat("a", 252) + " ", want: shebang{interp: "/" + strings.Repeat("a", 252)}},
	}
	for _, tt := range tests {
		got, err := parseShebang([]byte(tt.head))
		if err != tt.wantErr || got != tt.want {
			t.Errorf("parseShebang(%.40q) = %+v, %v; want %+v, %v", tt.head, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPlanEnv(t *testing.T) {
	const path = "/usr/bin:/bin"
	tests := []struct {
		arg   string
		noArg bool // "#!/usr/bin/env" alone
		want  envPlan
	}{
		{noArg: true, want: envPlan{kind: envNoProgram}},
		{arg: "python3", want: envPlan{kind: envRun, prog: "python3", path: path, pathSet: true}},
		{arg: "-S python3 -u", want: envPlan{kind: envRun, prog: "python3", path: path, pathSet: true}},
		{arg: "-Spython3", want: envPlan{kind: envRun, prog: "python3", path: path, pathSet: true}},
		{arg: "-vS -- node", want: envPlan{kind: envRun, prog: "node", path: path, pathSet: true}},
		{arg: "-S A=1 PATH=/opt/bin:/x node", want: envPlan{kind: envRun, prog: "node", path: "/opt/bin:/x", pathSet: true}},
		{arg: "-S PATH= node", want: envPlan{kind: envRun, prog: "node", path: "", pathSet: true}},
		{arg: "-S -i node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-iS node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S - node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S -u PATH node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S -uPATH node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S --unset=PATH node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S --unset PATH -0v node", want: envPlan{kind: envRun, prog: "node", path: defaultPath}},
		{arg: "-S -i PATH=/a node", want: envPlan{kind: envRun, prog: "node", path: "/a", pathSet: true}},
		{arg: "-S --ignore-signal=PIPE --debug node", want: envPlan{kind: envRun, prog: "node", path: path, pathSet: true}},
		{arg: "-S A=1 -i node", want: envPlan{kind: envRun, prog: "-i", path: path, pathSet: true}}, // options end at the first non-option
		{arg: "--split-string=node -x", want: envPlan{kind: envRun, prog: "node", path: path, pathSet: true}},
		{arg: "-", want: envPlan{kind: envNoProgram}},
		{arg: "-i", want: envPlan{kind: envNoProgram}},
		{arg: "A=1", want: envPlan{kind: envNoProgram}},
		{arg: "-S A=1", want: envPlan{kind: envNoProgram}},
		{arg: "-S -i --", want: envPlan{kind: envNoProgram}},
		{arg: "python3 -u", want: envPlan{kind: envUnsplit}},
		{arg: "-i python3", want: envPlan{kind: envUnsplit}},
		{arg: "A=1 python3", want: envPlan{kind: envUnsplit}},
		{arg: "-S", want: envPlan{kind: envUnsure}},    // the script's path is -S's string
		{arg: "-S -u", want: envPlan{kind: envUnsure}}, // and here -u's value
		{arg: "-S -C /x node", want: envPlan{kind: envUnsure}},
		{arg: `-S "a b" c`, want: envPlan{kind: envUnsure}},
		{arg: "-S ${X} c", want: envPlan{kind: envUnsure}},
		{arg: "-S --chd=/x node", want: envPlan{kind: envUnsure}},
		{arg: "-S -S x", want: envPlan{kind: envUnsure}},
		{arg: "-x", want: envPlan{kind: envUnsure}},
	}
	for _, tt := range tests {
		sb := shebang{interp: "/usr/bin/env", arg: tt.arg, hasArg: !tt.noArg}
		if got := planEnv(sb, path); got != tt.want {
			t.Errorf("planEnv(%q) = %+v, want %+v", tt.arg, got, tt.want)
		}
	}
	// An empty pathEnv is an unset PATH.
	if got := planEnv(shebang{interp: "env", arg: "sh", hasArg: true}, ""); got != (envPlan{kind: envRun, prog: "sh", path: defaultPath}) {
		t.Errorf("planEnv with PATH unset = %+v", got)
	}
}

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
		s.class = native.class
		if native.class == 0 {
			s.class = elf.ELFCLASS64
		}
	}
	if s.data == 0 {
		s.data = elf.ELFDATA2LSB
	}
	if s.machine == 0 {
		s.machine = native.machine
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

// preflightHere is Preflight without this machine's binfmt_misc handlers,
// which could run a binary of another machine (qemu-user) and so turn an
// expected error into nil.
func preflightHere(path, dir, pathEnv string) error {
	c := checker{dir: dir, pathEnv: pathEnv, goarch: runtime.GOARCH}
	if e := c.check(path); e != nil {
		return e
	}
	return nil
}

func TestPreflightELF(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Preflight checks only on Linux")
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
		if err := Preflight(Command{Path: exe, Dir: dir}, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a dynamically linked binary", func(t *testing.T) {
		path, _ := dynamicELF(t)
		if err := Preflight(Command{Path: path, Dir: dir}, ""); err != nil {
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
			want:   "is built for another machine (ELF machine EM_XTENSA, ELFCLASS32), but this machine is linux/" + runtime.GOARCH + " (exec format error): rebuild it for linux/" + runtime.GOARCH + " (for Go: GOOS=linux GOARCH=" + runtime.GOARCH + ")",
			wantIs: syscall.ENOEXEC,
		},
		{
			name:   "big-endian",
			spec:   elfSpec{data: elf.ELFDATA2MSB, class: native.class},
			want:   "is built for " + elfArch(native.machine, native.class, elf.ELFDATA2MSB) + ", but this machine is linux/" + runtime.GOARCH + " (exec format error): rebuild it for linux/" + runtime.GOARCH,
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
					t.Fatalf("Preflight = %v, want nil", err)
				}
				return
			}
			if tt.name == "big-endian" {
				// The hint depends on whether the machine is one of Lambda's.
				if err == nil || !strings.HasPrefix(err.Error(), "handler "+path+" "+tt.want) || !errors.Is(err, tt.wantIs) {
					t.Fatalf("Preflight = %v, want prefix %q", err, tt.want)
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

func TestPreflightBinfmtMisc(t *testing.T) {
	if _, ok := nativeELF[runtime.GOARCH]; !ok {
		t.Skipf("no ELF machine known for %s", runtime.GOARCH)
	}
	fixture, err := filepath.Abs(filepath.Join("testdata", "preflight", "binfmt_misc"))
	if err != nil {
		t.Fatal(err)
	}
	disabled := t.TempDir() // the same entries, with binfmt_misc disabled
	entries, err := os.ReadDir(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(fixture, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "status" {
			data = []byte("disabled\n")
		}
		writeExec(t, disabled, e.Name(), data, 0o644)
	}

	dir := t.TempDir()
	foreign := writeExec(t, dir, "foreign", makeELF(elfSpec{machine: otherMachine(), class: elf.ELFCLASS64}), 0o755)
	objectFile := writeExec(t, dir, "object", makeELF(elfSpec{machine: otherMachine(), class: elf.ELFCLASS64, typ: elf.ET_REL}), 0o755)
	mz := []byte("MZ\x90\x00")
	exe := writeExec(t, dir, "app.exe", mz, 0o755)
	noExt := writeExec(t, dir, "app", mz, 0o755)
	script := writeExec(t, dir, "wrapped.sh", []byte("#!"+foreign+"\n"), 0o755)

	tests := []struct {
		binfmt string
		path   string
		ok     bool
	}{
		{fixture, foreign, true},     // qemu runs it
		{fixture, objectFile, false}, // the mask lets only ET_EXEC and ET_DYN through
		{fixture, exe, true},         // by extension
		{fixture, noExt, false},      // the MZ magic entry is disabled
		{fixture, script, true},      // the interpreter runs under qemu
		{disabled, foreign, false},
		{disabled, exe, false},
		{filepath.Join(dir, "nowhere"), foreign, false},
		{"", foreign, false},
	}
	for _, tt := range tests {
		c := checker{dir: dir, goarch: runtime.GOARCH, binfmtMisc: tt.binfmt}
		if e := c.check(tt.path); (e == nil) != tt.ok {
			t.Errorf("binfmt_misc %s, check(%s) = %v, want ok %v", tt.binfmt, filepath.Base(tt.path), e, tt.ok)
		}
	}

	// The matcher on its own: magic at an offset, with and without mask.
	buf := make([]byte, binprmBufSize)
	copy(buf[4:], "\x01\x02\x03")
	for _, tt := range []struct {
		text string
		path string
		want bool
	}{
		{"enabled\noffset 4\nmagic 010203\n", "/x", true},
		{"enabled\noffset 4\nmagic 010213\nmask ffff0f\n", "/x", true},
		{"enabled\noffset 4\nmagic 010207\n", "/x", false},
		{"disabled\noffset 4\nmagic 010203\n", "/x", false},
		{"enabled\noffset 255\nmagic 0000\n", "/x", false}, // past the buffer
		{"enabled\noffset -1\nmagic 00\n", "/x", false},
		{"enabled\noffset 4\nmagic 0102zz\n", "/x", false},
		{"enabled\noffset 4\nmagic 010203\nmask ff\n", "/x", false},
		{"enabled\nmagic \n", "/x", false},
		{"enabled\nextension .jar\n", "/var/task/app.jar", true},
		{"enabled\nextension .jar\n", "/var/task/app.jar.txt", false},
		{"enabled\nextension .jar\n", "/var/task/app", false},
		{"", "/x", false},
	} {
		if got := binfmtMiscMatches(tt.text, tt.path, buf); got != tt.want {
			t.Errorf("binfmtMiscMatches(%q, %q) = %v, want %v", tt.text, tt.path, got, tt.want)
		}
	}
}

// TestPreflightUnreadable: a file the user may execute but not read cannot
// be inspected, and an ELF binary runs like that; Preflight lets it pass.
func TestPreflightUnreadable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Preflight checks only on Linux")
	}
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"binary": makeELF(elfSpec{machine: otherMachine(), class: elf.ELFCLASS64}),
		"script": []byte("#!/bin/sh\r\n"),
	} {
		path := writeExec(t, dir, name, data, 0o111)
		if err := Preflight(Command{Path: path, Dir: dir}, ""); err != nil {
			t.Errorf("Preflight(%s, mode 0111) = %v, want nil", name, err)
		}
	}
}

// TestPreflightNotRegular: whatever is not a regular file is for Resolve to
// reject; Preflight must not hang opening a FIFO or read a directory.
func TestPreflightNotRegular(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Preflight checks only on Linux")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o755); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- Preflight(Command{Path: fifo, Dir: dir}, "") }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Preflight(fifo) = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		// Unblock the open so the goroutine ends before the leak check.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		<-done
		t.Fatal("Preflight hung on a FIFO")
	}
	for _, path := range []string{dir, filepath.Join(dir, "missing")} {
		if err := Preflight(Command{Path: path, Dir: dir}, ""); err != nil {
			t.Errorf("Preflight(%s) = %v, want nil", path, err)
		}
	}
}

// TestPreflightRepoHandlers: every executable handler this repository ships
// or tests with passes, on a machine that has its interpreter.
func TestPreflightRepoHandlers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Preflight checks only on Linux")
	}
	roots := []string{
		filepath.Join("..", "..", "cmd", "bootstrap", "testdata", "handlers"),
		filepath.Join("..", "..", "examples"),
	}
	pathEnv := os.Getenv("PATH")
	checked := 0
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if fi.Mode()&0o111 == 0 || !fi.Mode().IsRegular() {
				return nil
			}
			abs, err := filepath.Abs(path)
			if err != nil {
				return err
			}
			t.Run(strings.TrimPrefix(filepath.ToSlash(path), "../../"), func(t *testing.T) {
				data, err := os.ReadFile(abs)
				if err != nil {
					t.Fatal(err)
				}
				// "#!/usr/bin/env node": skip when this machine has no node.
				line, _, _ := bytes.Cut(data, []byte("\n"))
				if f := strings.Fields(strings.TrimPrefix(string(line), "#!")); len(f) > 1 && filepath.Base(f[0]) == "env" {
					if _, err := exec.LookPath(f[1]); err != nil {
						t.Skipf("%s is not installed", f[1])
					}
				}
				if err := Preflight(Command{Path: abs, Dir: filepath.Dir(abs)}, pathEnv); err != nil {
					t.Fatal(err)
				}
				checked++
			})
			return nil
		})
		if err != nil {
			t.Fatalf("walking %s: %v", root, err)
		}
	}
	if checked == 0 {
		t.Fatal("no handler was checked")
	}
}

// preflightSeeds are inputs for FuzzPreflight and TestPreflightRandom.
func preflightSeeds() [][]byte {
	return [][]byte{
		nil,
		[]byte("#!/bin/sh\n"),
		[]byte("#!/bin/sh\r\n"),
		[]byte("#! /usr/bin/env -S FOO=1 -u PATH -i -- sh -e\n"),
		[]byte("#!/usr/bin/env -vS PATH=bin:: tool\n"),
		[]byte("#!/usr/bin/env --split-string=--unset=PATH x\n"),
		[]byte("#!/usr/bin/env\n"),
		[]byte("#!relative/interp arg\n"),
		[]byte("\xef\xbb\xbf#!/bin/sh\n"),
		[]byte("MZ\x90\x00"),
		[]byte("\xca\xfe\xba\xbe\x00\x00\x00\x02"),
		makeELF(elfSpec{}),
		makeELF(elfSpec{interp: "/lib64/ld-linux-x86-64.so.2"}),
		makeELF(elfSpec{class: elf.ELFCLASS32, machine: elf.EM_ARM, interp: "/lib/ld-linux.so.3"}),
		makeELF(elfSpec{data: elf.ELFDATA2MSB, interp: "/lib/ld-musl-x86_64.so.1"}),
	}
}

// checkAnyInput runs Preflight on a file holding data and checks that it
// did not panic and that an error it returns is one well-formed line.
func checkAnyInput(t *testing.T, dir string, data []byte) {
	path := filepath.Join(dir, "handler")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	err := Preflight(Command{Path: path, Dir: dir}, "/usr/bin:/bin::rel")
	if err == nil {
		return
	}
	var nr *NotRunnableError
	if !errors.As(err, &nr) || nr.Path != path || nr.Reason == "" || nr.Hint == "" {
		t.Fatalf("Preflight(%q) = %#v", data, err)
	}
	if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		t.Fatalf("Preflight(%q): error text has a control character: %q", data, err)
	}
}

func FuzzPreflight(f *testing.F) {
	if runtime.GOOS != "linux" {
		f.Skip("Preflight checks only on Linux")
	}
	for _, s := range preflightSeeds() {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAnyInput(t, dir, data)
		if bytes.HasPrefix(data, []byte("#!")) {
			sb, err := parseShebang(data)
			if err == nil && (strings.Contains(sb.interp, "\n") || strings.ContainsRune(sb.arg, 0)) {
				t.Fatalf("parseShebang(%q) = %+v", data, sb)
			}
			planEnv(sb, "/bin")
		}
	})
}

// TestPreflightRandom is a quick deterministic stand-in for a fuzz run:
// mutations of the seeds, each written to a file with mode 0755.
func TestPreflightRandom(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Preflight checks only on Linux")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seeds := preflightSeeds()
	dir := t.TempDir()
	n := 3000
	if testing.Short() {
		n = 300
	}
	interesting := []byte("#! \t\r\n\x00-S=/ePATHenv")
	for i := 0; i < n; i++ {
		data := bytes.Clone(seeds[rng.IntN(len(seeds))])
		for m := rng.IntN(6); m >= 0; m-- {
			switch op := rng.IntN(4); {
			case op == 0 && len(data) > 0: // change a byte
				data[rng.IntN(len(data))] = byte(rng.IntN(256))
			case op == 1 && len(data) > 0: // put in a byte that means something here
				data[rng.IntN(len(data))] = interesting[rng.IntN(len(interesting))]
			case op == 2 && len(data) > 0: // cut
				data = data[:rng.IntN(len(data))]
			default: // append noise
				for k := rng.IntN(16); k > 0; k-- {
					data = append(data, byte(rng.IntN(256)))
				}
			}
		}
		checkAnyInput(t, dir, data)
	}
}

func TestNotRunnableErrorText(t *testing.T) {
	err := error(&NotRunnableError{
		Path:   "/var/task/app.sh",
		Reason: `has a #! line that ends in a carriage return (CRLF line endings, as saved on Windows), so the kernel looks for the interpreter "/bin/sh\r"`,
		Hint:   "convert the file to LF line endings (dos2unix app.sh)",
		Err:    syscall.ENOENT,
	})
	want := `handler /var/task/app.sh has a #! line that ends in a carriage return (CRLF line endings, as saved on Windows), so the kernel looks for the interpreter "/bin/sh\r": convert the file to LF line endings (dos2unix app.sh)`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("Unwrap does not return Err")
	}
	if got := (&NotRunnableError{Path: "/x", Reason: "is odd"}).Error(); got != "handler /x is odd" {
		t.Errorf("Error() without a hint = %q", got)
	}
}

func BenchmarkPreflight(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("Preflight checks only on Linux")
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, tt := range []struct{ name, path string }{
		{"script", writeExec(b, dir, "app.sh", []byte("#!/bin/sh\n"), 0o755)},
		{"env", writeExec(b, dir, "app.py", []byte("#!/usr/bin/env sh\n"), 0o755)},
		{"binary", exe},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if err := Preflight(Command{Path: tt.path, Dir: dir}, "/usr/local/bin:/usr/bin:/bin"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
