package preflight

import (
	"bytes"
	"debug/elf"
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
		t.Fatalf("Check = %v, want a *NotRunnableError", err)
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

// TestCheckUnreadable: a file the user may execute but not read cannot
// be inspected, and an ELF binary runs like that; Check lets it pass.
func TestCheckUnreadable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("preflight checks only on Linux")
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
		if err := Check(path, dir, ""); err != nil {
			t.Errorf("Check(%s, mode 0111) = %v, want nil", name, err)
		}
	}
}

// TestCheckNotRegular: whatever is not a regular file is for the handler's resolution to
// reject; Check must not hang opening a FIFO or read a directory.
func TestCheckNotRegular(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("preflight checks only on Linux")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o755); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- Check(fifo, dir, "") }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Check(fifo) = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		// Unblock the open so the goroutine ends before the leak check.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		<-done
		t.Fatal("Check hung on a FIFO")
	}
	for _, path := range []string{dir, filepath.Join(dir, "missing")} {
		if err := Check(path, dir, ""); err != nil {
			t.Errorf("Check(%s) = %v, want nil", path, err)
		}
	}
}

// TestCheckRepoHandlers: every executable handler this repository ships
// or tests with passes, on a machine that has its interpreter.
func TestCheckRepoHandlers(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("preflight checks only on Linux")
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
				if err := Check(abs, filepath.Dir(abs), pathEnv); err != nil {
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

// preflightSeeds are inputs for FuzzCheck and TestCheckRandom.
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

// checkAnyInput runs Check on a file holding data and checks that it
// did not panic and that an error it returns is one well-formed line.
func checkAnyInput(t *testing.T, dir string, data []byte) {
	path := filepath.Join(dir, "handler")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	err := Check(path, dir, "/usr/bin:/bin::rel")
	if err == nil {
		return
	}
	var nr *NotRunnableError
	if !errors.As(err, &nr) || nr.Path != path || nr.Reason == "" || nr.Hint == "" {
		t.Fatalf("Check(%q) = %#v", data, err)
	}
	if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		t.Fatalf("Check(%q): error text has a control character: %q", data, err)
	}
}

func FuzzCheck(f *testing.F) {
	if runtime.GOOS != "linux" {
		f.Skip("preflight checks only on Linux")
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

// TestCheckRandom is a quick deterministic stand-in for a fuzz run:
// mutations of the seeds, each written to a file with mode 0755.
func TestCheckRandom(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("preflight checks only on Linux")
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

func BenchmarkCheck(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("preflight checks only on Linux")
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
				if err := Check(tt.path, dir, "/usr/local/bin:/usr/bin:/bin"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
