package release

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// distFiles lists every file under dir, relative and slash-separated.
func distFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func wantDistFiles() []string {
	want := []string{"bootstrap"}
	for _, a := range arches {
		want = append(want,
			"linux-"+a.goarch+"/bootstrap",
			"streamstrap-function-"+a.goarch+".zip",
			"streamstrap-layer-"+a.goarch+".zip",
		)
	}
	sort.Strings(want)
	return want
}

// TestReproducible: two builds of the same sources, in different
// directories, give byte-identical binaries and zips.
func TestReproducible(t *testing.T) {
	b := artifacts(t)
	files := distFiles(t, b.dist[0])
	if got, want := strings.Join(files, " "), strings.Join(wantDistFiles(), " "); got != want {
		t.Fatalf("dist holds %s\nwant %s", got, want)
	}
	for _, f := range files {
		x, err := os.ReadFile(filepath.Join(b.dist[0], f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b.dist[1], f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two builds of the same sources (%d vs %d bytes)", f, len(x), len(y))
		}
	}
}

// checkStaticELF checks a Linux binary: the machine, statically linked
// (no interpreter, no dynamic section, no needed libraries), stripped.
func checkStaticELF(t *testing.T, name string, r io.ReaderAt, goarch string) {
	t.Helper()
	f, err := elf.NewFile(r)
	if err != nil {
		t.Fatalf("%s: not an ELF file: %v", name, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
	if f.Machine != want {
		t.Errorf("%s: machine %v, want %v", name, f.Machine, want)
	}
	if f.Class != elf.ELFCLASS64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("%s: class %v, OS ABI %v", name, f.Class, f.OSABI)
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("%s: type %v, want ET_EXEC (a static, non-PIE executable)", name, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has a %v program header: dynamically linked", name, p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s: needs shared libraries %v", name, libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s: has a symbol table: not stripped (-s)", name)
	}
	if f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil {
		t.Errorf("%s: has DWARF: not built with -w", name)
	}
}

func TestBinariesStatic(t *testing.T) {
	b := artifacts(t)
	for _, a := range arches {
		path := filepath.Join(b.dist[0], "linux-"+a.goarch, "bootstrap")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		checkStaticELF(t, path, f, a.goarch)
		f.Close()
		if fi, _ := os.Stat(path); fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable: %v", path, fi.Mode())
		}
	}
}

// TestZips opens each zip: exactly one entry, bootstrap at the root, a
// regular file with mode 0755 made on Unix, the mtime is the commit's date,
// and the content is the static binary of the zip's architecture.
func TestZips(t *testing.T) {
	b := artifacts(t)
	date, _ := time.Parse(time.RFC3339, b.stamp.date)
	for _, a := range arches {
		bin, err := os.ReadFile(filepath.Join(b.dist[0], "linux-"+a.goarch, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"layer", "function"} {
			name := "streamstrap-" + kind + "-" + a.goarch + ".zip"
			t.Run(name, func(t *testing.T) {
				zr, err := zip.OpenReader(filepath.Join(b.dist[0], name))
				if err != nil {
					t.Fatal(err)
				}
				defer zr.Close()
				var names []string
				for _, f := range zr.File {
					names = append(names, f.Name)
				}
				if len(names) != 1 || names[0] != "bootstrap" {
					t.Fatalf("entries %q, want exactly [bootstrap]", names)
				}
				zf := zr.File[0]
				if zf.Mode() != 0o755 {
					t.Errorf("bootstrap mode %v, want -rwxr-xr-x", zf.Mode())
				}
				if zf.CreatorVersion>>8 != 3 {
					t.Errorf("creator OS %d, want 3 (Unix) so that the mode is honoured", zf.CreatorVersion>>8)
				}
				if !zf.Modified.Equal(date) {
					t.Errorf("mtime %v, want the commit date %v", zf.Modified, date)
				}
				content := readZipEntry(t, zf)
				if !bytes.Equal(content, bin) {
					t.Errorf("bootstrap in %s is not dist/linux-%s/bootstrap", name, a.goarch)
				}
				checkStaticELF(t, name+":bootstrap", bytes.NewReader(content), a.goarch)
			})
		}
	}
}

// TestVersion runs the host binary's --version: the stamped version and
// commit, the commit's date, and the Go version and platform.
func TestVersion(t *testing.T) {
	b := artifacts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(b.dist[0], "bootstrap"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("bootstrap --version: %v\n%s", err, out)
	}
	for _, want := range []string{b.stamp.version, b.stamp.commit, b.stamp.date, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bootstrap --version does not print %q:\n%s", want, out)
		}
	}
}

// readZipEntry returns the uncompressed content of one zip entry.
func readZipEntry(t *testing.T, zf *zip.File) []byte {
	t.Helper()
	rc, err := zf.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	content, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return content
}

// maxLambdaBinary bounds the size of the binaries Lambda runs (6 MB,
// stripped): the layer's, the function zip's and the image's bootstrap.
const maxLambdaBinary = 6_000_000

// lambdaGodebug is what the Makefile compiles into the Lambda build as its
// GODEBUG default (LAMBDA_GODEBUG, set with -X runtime.godebugDefault).
const lambdaGodebug = "schedtrace=2147483647"

// hasGodebugDefault reports whether the binary at path holds lambdaGodebug,
// the value of its runtime.godebugDefault. (Its build information cannot
// say: with -trimpath, go build records no -ldflags.)
func hasGodebugDefault(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(lambdaGodebug))
}

// TestTwoBuilds: the binaries Lambda runs are the lean build (-tags lambda:
// no `local` or `serve`, at most maxLambdaBinary bytes), while dist/bootstrap, for the
// host, has the development commands too.
func TestTwoBuilds(t *testing.T) {
	b := artifacts(t)
	for _, a := range arches {
		path := filepath.Join(b.dist[0], "linux-"+a.goarch, "bootstrap")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > maxLambdaBinary {
			t.Errorf("%s is %d bytes, more than %d", path, fi.Size(), maxLambdaBinary)
		}
		if !hasGodebugDefault(t, path) {
			t.Errorf("%s was linked without the GODEBUG default %s", path, lambdaGodebug)
		}
	}
	// The host's build, which runs `serve` on a laptop, keeps Go's default:
	// an awake sysmon would wake it 100 times a second while idle.
	if host := filepath.Join(b.dist[0], "bootstrap"); hasGodebugDefault(t, host) {
		t.Errorf("%s was linked with the Lambda build's GODEBUG default", host)
	}
	help := func(path string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v\n%s", path, err, out)
		}
		return string(out)
	}
	devLines := []string{"\n  local ", "\n  serve "}
	host := filepath.Join(b.dist[0], "bootstrap")
	out := help(host)
	for _, l := range devLines {
		if !strings.Contains(out, l) {
			t.Errorf("%s --help lists no %q command:\n%s", host, strings.TrimSpace(l), out)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	for _, a := range arches {
		if a.goarch != runtime.GOARCH {
			continue
		}
		lean := filepath.Join(b.dist[0], "linux-"+a.goarch, "bootstrap")
		out := help(lean)
		for _, l := range devLines {
			if strings.Contains(out, l) {
				t.Errorf("%s (the Lambda build) lists a %q command:\n%s", lean, strings.TrimSpace(l), out)
			}
		}
		if !strings.Contains(out, "--version") {
			t.Errorf("%s --help lists no --version:\n%s", lean, out)
		}
	}
}
