// Package release holds the checks of what streamstrap ships: the Makefile's
// binaries and zips (reproducible, static, right architecture, right layout),
// the Dockerfile's stages and paths, and the SAM template's references. It has
// test files only (and the mkzip tool under cmd/).
//
// The build-heavy tests copy the module's sources (go.mod, go.sum, Makefile,
// cmd/, internal/) into two temporary directories and run `make build layer`
// in each with DIST pointing at another temporary directory, so they neither
// write to the working tree's dist/ nor see files changing under them. They
// are skipped with -short.
package release

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// arches maps Go's architecture names (used in dist/ and zip names) to
// Lambda's, and to the ELF machine each binary must have.
var arches = []struct {
	goarch, lambda string
}{
	{"amd64", "x86_64"},
	{"arm64", "arm64"},
}

// repoRoot is the module root: two levels up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", file, err)
	}
	return root
}

// stamp is what the Makefile stamps into the binary, read with
// `make print-version` in the real checkout (the copies have no .git).
type stamp struct{ version, commit, date string }

func (s stamp) makeArgs() []string {
	return []string{"VERSION=" + s.version, "COMMIT=" + s.commit, "DATE=" + s.date}
}

func readStamp(t testing.TB, root string) stamp {
	t.Helper()
	out := run(t, root, nil, "make", "--no-print-directory", "-s", "print-version")
	var s stamp
	for _, f := range strings.Fields(out) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "VERSION":
			s.version = v
		case "COMMIT":
			s.commit = v
		case "DATE":
			s.date = v
		}
	}
	if s.version == "" || s.commit == "" || s.date == "" {
		t.Fatalf("make print-version gave %q", out)
	}
	if _, err := time.Parse(time.RFC3339, s.date); err != nil {
		t.Fatalf("DATE %q is not RFC 3339: %v", s.date, err)
	}
	return s
}

// run runs a command in dir and returns its combined output, failing the
// test if it fails.
func run(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s (in %s): %v\n%s", name, strings.Join(args, " "), dir, err, out.String())
	}
	return out.String()
}

// cleanEnv is the environment without what an outer make (`make test`)
// passes down, so that the Makefile runs here as it would from a shell.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// snapshot copies what a build needs into a new directory under parent.
func snapshot(t testing.TB, root, parent, name string) string {
	t.Helper()
	dst := filepath.Join(parent, name)
	for _, p := range []string{"go.mod", "go.sum", "Makefile", "cmd", "internal"} {
		if err := copyTree(filepath.Join(root, p), filepath.Join(dst, p)); err != nil {
			t.Fatalf("copy %s: %v", p, err)
		}
	}
	return dst
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			return os.MkdirAll(target, 0o755)
		case fi.Mode().IsRegular():
			return copyFile(path, target, fi.Mode().Perm())
		default:
			return nil // sockets, symlinks: a build needs none
		}
	})
}

func copyFile(src, dst string, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// builds are the two independent `make build layer` runs the tests share.
type builds struct {
	stamp stamp
	dist  [2]string // DIST of the first and the second build
	err   error
	log   string
}

var (
	buildsOnce sync.Once
	shared     builds
	scratch    string // removed by TestMain
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		code = 1
	}
	if scratch != "" {
		os.RemoveAll(scratch)
	}
	os.Exit(code)
}

// artifacts builds everything twice (once) and returns both DIST dirs.
// Each build runs in its own copy of the sources at a different path, which
// also shows -trimpath at work.
func artifacts(t *testing.T) builds {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the release artifacts twice; skipped with -short")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("GNU make is needed for the release checks:", err)
	}
	root := repoRoot(t)
	buildsOnce.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				shared.err = fmt.Errorf("%v", r)
			}
		}()
		var err error
		scratch, err = os.MkdirTemp("", "streamstrap-release-")
		if err != nil {
			shared.err = err
			return
		}
		rt := &recorder{}
		shared.stamp = readStamp(rt, root)
		for i, name := range []string{"a", "build-two"} {
			src := snapshot(rt, root, scratch, "src-"+name)
			dist := filepath.Join(scratch, "dist-"+name)
			args := append([]string{"--no-print-directory", "build", "layer", "DIST=" + dist}, shared.stamp.makeArgs()...)
			shared.log += run(rt, src, nil, "make", args...)
			shared.dist[i] = dist
		}
		shared.err = rt.err
	})
	if shared.err != nil {
		t.Fatalf("building the release artifacts: %v\n%s", shared.err, shared.log)
	}
	return shared
}

// recorder is a testing.TB for the shared build: Fatalf records the error
// and unwinds, so every test that needs the builds reports it.
type recorder struct {
	testing.TB
	err error
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.err = fmt.Errorf(format, args...)
	panic(r.err)
}
func (r *recorder) Fatal(args ...any) {
	r.err = fmt.Errorf("%s", fmt.Sprint(args...))
	panic(r.err)
}
