package preflight

import (
	"debug/elf"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestCheckScripts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("preflight checks only on Linux")
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
		// when Check must return nil.
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

	// Check itself: the same checks, and nil rather than a nil
	// *NotRunnableError in an error interface.
	ok := writeExec(t, dir, "ok.sh", []byte("#!/usr/bin/env sh\n"), 0o755)
	if err := Check(ok, dir, pathEnv); err != nil {
		t.Fatalf("Check(ok.sh) = %v", err)
	}
	bad := writeExec(t, dir, "bad.sh", []byte("#!/bin/sh\r\n"), 0o755)
	if err := Check(bad, dir, pathEnv); err == nil || !strings.Contains(err.Error(), `"/bin/sh\r"`) {
		t.Fatalf("Check(bad.sh) = %v, want the CRLF error", err)
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
