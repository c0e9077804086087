package handler

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/streamstrap/streamstrap/internal/preflight"
)

func TestResolve(t *testing.T) {
	root := t.TempDir()
	bin1 := t.TempDir()
	bin2 := t.TempDir()
	mk := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to the umask
			t.Fatal(err)
		}
	}
	mk(filepath.Join(root, "app"), 0o755)
	mk(filepath.Join(root, "sub", "run.sh"), 0o755)
	mk(filepath.Join(root, "data.txt"), 0o644)
	mk(filepath.Join(root, "both"), 0o755)
	mk(filepath.Join(bin1, "both"), 0o755)
	mk(filepath.Join(bin1, "tool"), 0o755)
	mk(filepath.Join(bin2, "tool"), 0o755)
	mk(filepath.Join(bin1, "noexec"), 0o644)
	mk(filepath.Join(bin2, "noexec"), 0o755)
	mk(filepath.Join(bin1, "shadow"), 0o644) // exists but not executable, nothing else
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "app"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	// Empty entries must be skipped, not mean "."; a directory named twice
	// (bin1, and "." for the task root) is searched and listed once.
	pathEnv := "::" + bin1 + ":" + bin2 + ":" + bin1 + ":.:"

	tests := []struct {
		name     string
		words    []string
		wantPath string
		wantArgs []string
		// For failures:
		wantTried []string
		wantErrIs error
		wantText  string // the error text; empty: "not found or not executable (tried ...): " and the reason
	}{
		{name: "bare in task root", words: []string{"app", "x"}, wantPath: filepath.Join(root, "app"), wantArgs: []string{"x"}},
		{name: "task root wins over PATH", words: []string{"both"}, wantPath: filepath.Join(root, "both")},
		{name: "bare in PATH, first entry wins", words: []string{"tool", "-v", "a b"}, wantPath: filepath.Join(bin1, "tool"), wantArgs: []string{"-v", "a b"}},
		{name: "non-executable in PATH is skipped", words: []string{"noexec"}, wantPath: filepath.Join(bin2, "noexec")},
		{name: "relative with slash", words: []string{"sub/run.sh"}, wantPath: filepath.Join(root, "sub", "run.sh")},
		{name: "dot slash", words: []string{"./app"}, wantPath: filepath.Join(root, "app")},
		{name: "absolute", words: []string{filepath.Join(bin2, "tool")}, wantPath: filepath.Join(bin2, "tool")},
		{name: "symlink to executable", words: []string{"link"}, wantPath: filepath.Join(root, "link")},
		{
			name:      "not executable",
			words:     []string{"data.txt"},
			wantTried: []string{filepath.Join(root, "data.txt"), filepath.Join(bin1, "data.txt"), filepath.Join(bin2, "data.txt")},
			wantErrIs: fs.ErrPermission,
			wantText:  `handler "data.txt" exists but is not executable: chmod +x ` + filepath.Join(root, "data.txt"),
		},
		{
			name:      "permission denied beats not found",
			words:     []string{"shadow"},
			wantTried: []string{filepath.Join(root, "shadow"), filepath.Join(bin1, "shadow"), filepath.Join(bin2, "shadow")},
			wantErrIs: fs.ErrPermission,
			wantText:  `handler "shadow" exists but is not executable: chmod +x ` + filepath.Join(bin1, "shadow"),
		},
		{
			name:      "missing",
			words:     []string{"nope"},
			wantTried: []string{filepath.Join(root, "nope"), filepath.Join(bin1, "nope"), filepath.Join(bin2, "nope")},
			wantErrIs: fs.ErrNotExist,
		},
		{
			name:      "missing with slash is not searched in PATH",
			words:     []string{"sub/nope"},
			wantTried: []string{filepath.Join(root, "sub", "nope")},
			wantErrIs: fs.ErrNotExist,
		},
		{
			name:      "missing absolute",
			words:     []string{"/no/such/handler"},
			wantTried: []string{"/no/such/handler"},
			wantErrIs: fs.ErrNotExist,
		},
		{
			name:      "directory",
			words:     []string{"./dir"},
			wantTried: []string{filepath.Join(root, "dir")},
			wantErrIs: syscall.EISDIR,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := resolve(tt.words, root, pathEnv)
			if tt.wantPath != "" {
				if err != nil {
					t.Fatalf("resolve(%q): %v", tt.words, err)
				}
				if cmd.Path != tt.wantPath || cmd.Dir != root || !slices.Equal(cmd.Args, tt.wantArgs) {
					t.Fatalf("resolve(%q) = %+v, want Path %q Dir %q Args %q", tt.words, cmd, tt.wantPath, root, tt.wantArgs)
				}
				return
			}
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("resolve(%q) = %+v, %v; want *NotFoundError", tt.words, cmd, err)
			}
			if nf.Name != tt.words[0] || !slices.Equal(nf.Tried, tt.wantTried) {
				t.Errorf("NotFoundError = %+v, want Name %q Tried %q", nf, tt.words[0], tt.wantTried)
			}
			if !errors.Is(err, tt.wantErrIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErrIs)
			}
			if tt.wantText != "" {
				if err.Error() != tt.wantText {
					t.Errorf("error text %q, want %q", err, tt.wantText)
				}
				return
			}
			want := "handler " + `"` + tt.words[0] + `"` + " not found or not executable (tried " + strings.Join(tt.wantTried, ", ") + "): "
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error text %q, want prefix %q", err, want)
			}
		})
	}
}

func TestResolveDefaults(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// Empty task root: the current directory, and PATH still works.
	cmd, err := resolve([]string{"sh", "-c", "true"}, "", "/usr/bin:/bin")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Dir != wd || !filepath.IsAbs(cmd.Path) || filepath.Base(cmd.Path) != "sh" || !slices.Equal(cmd.Args, []string{"-c", "true"}) {
		t.Fatalf("resolve = %+v, want Dir %q and an absolute sh", cmd, wd)
	}

	// A relative PATH entry is taken relative to the task root, so the
	// result is still absolute.
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "h"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, err = resolve([]string{"h"}, root, "bin")
	if err != nil || cmd.Path != filepath.Join(root, "bin", "h") {
		t.Fatalf("resolve with relative PATH entry = %+v, %v", cmd, err)
	}

	// The returned Args do not alias the caller's slice.
	words := []string{"h", "a"}
	cmd, _ = resolve(words, root, "bin")
	words[1] = "changed"
	if cmd.Args[0] != "a" {
		t.Fatalf("Args alias the words slice: %q", cmd.Args)
	}

	for _, words := range [][]string{nil, {}, {""}} {
		if _, err := resolve(words, root, ""); err == nil || !strings.Contains(err.Error(), "empty handler") {
			t.Errorf("resolve(%q) error = %v, want empty handler", words, err)
		}
	}
}

func TestNotFoundErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *NotFoundError
		want string
	}{
		{
			"no execute bit",
			&NotFoundError{Name: "app.py", Tried: []string{"/var/task/app.py", "/usr/bin/app.py"}, Path: "/var/task/app.py", Err: preflight.ErrNoExecuteBit},
			`handler "app.py" exists but is not executable: chmod +x /var/task/app.py`,
		},
		{
			// An execute bit that access(2) refuses anyway (a noexec
			// mount, another user's bit): chmod +x would not help.
			"permission denied",
			&NotFoundError{Name: "app.py", Tried: []string{"/var/task/app.py", "/usr/bin/app.py"}, Path: "/var/task/app.py", Err: syscall.EACCES},
			`handler "app.py" not found or not executable (tried /var/task/app.py, /usr/bin/app.py): permission denied`,
		},
		{
			"missing",
			&NotFoundError{Name: "app.py", Tried: []string{"/var/task/app.py"}, Err: syscall.ENOENT},
			`handler "app.py" not found or not executable (tried /var/task/app.py): no such file or directory`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, tt.err.Err) || errors.Unwrap(tt.err) != tt.err.Err {
				t.Error("Unwrap does not return Err")
			}
		})
	}
	if !errors.Is(&NotFoundError{Err: preflight.ErrNoExecuteBit}, fs.ErrPermission) {
		t.Error("a missing execute bit is not a permission error")
	}
}
