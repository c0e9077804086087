// Package packagemap holds CONTRIBUTING.md's package map true: its test
// reads the map and checks every package's imports against it.
package packagemap

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/streamstrap/streamstrap/"

// row is one line of the map: a package and what it may import.
type row struct {
	pkg   string   // as the map names it: "internal/loop"
	may   []string // the internal packages it may import, by the map's short names
	order int      // its place in the list
}

// readMap parses the table of CONTRIBUTING.md's "Package map".
func readMap(t *testing.T) []row {
	t.Helper()
	f, err := os.Open("../../CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tick := regexp.MustCompile("`([^`]+)`")
	var rows []row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		var may []string
		for _, m := range tick.FindAllStringSubmatch(cells[3], -1) {
			may = append(may, m[1])
		}
		for _, m := range tick.FindAllStringSubmatch(cells[1], -1) {
			rows = append(rows, row{pkg: m[1], may: may, order: len(rows)})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 20 {
		t.Fatalf("read %d rows from the package map: is its table still there?", len(rows))
	}
	return rows
}

// imports lists each package of the module (but bench's and the SDK
// checks', which are modules of their own) with its non-test imports, in
// the default build and the Lambda build together.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tags := range []string{"", "lambda"} {
		cmd := exec.Command("go", "list", "-tags", tags, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
		cmd.Dir = "../.."
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(line)
			pkg := strings.TrimPrefix(f[0], module)
			for _, imp := range f[1:] {
				if !slices.Contains(out[pkg], imp) {
					out[pkg] = append(out[pkg], imp)
				}
			}
			if _, ok := out[pkg]; !ok {
				out[pkg] = nil
			}
		}
	}
	return out
}

// TestPackageMap: every package is in the map, imports only the internal
// packages its line names, and only ones further down the list.
func TestPackageMap(t *testing.T) {
	rows := readMap(t)
	byPkg := map[string]row{}
	byShort := map[string]row{}
	for _, r := range rows {
		byPkg[r.pkg] = r
		byShort[r.pkg[strings.LastIndex(r.pkg, "/")+1:]] = r
	}
	for pkg, imps := range imports(t) {
		r, ok := byPkg[pkg]
		if !ok {
			t.Errorf("%s is not in CONTRIBUTING.md's package map", pkg)
			continue
		}
		for _, imp := range imps {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			d, known := byPkg[dep]
			short := dep[strings.LastIndex(dep, "/")+1:]
			switch {
			case !known:
				t.Errorf("%s imports %s, which the map does not list", pkg, dep)
			case !slices.Contains(r.may, short) || byShort[short].pkg != dep:
				t.Errorf("%s imports %s, which its line in the map does not name", pkg, dep)
			case d.order <= r.order:
				t.Errorf("%s imports %s, which comes before it in the map: an arrow points back up", pkg, dep)
			}
		}
	}
}

// TestLambdaBuildLinks: the build Lambda runs links neither net/http (nor
// with it crypto/tls) nor zap's Logger package, nor debug/elf (with DWARF
// and its decompressors), whose start-up cost BENCHMARKS.md measures; the
// packages of `local` and `serve` stay out.
func TestLambdaBuildLinks(t *testing.T) {
	cmd := exec.Command("go", "list", "-tags", "lambda", "-deps", "./cmd/bootstrap")
	cmd.Dir = "../.."
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(b))
	for _, banned := range []string{"net/http", "crypto/tls", "crypto/rand", "go.uber.org/zap", "debug/elf", "compress/flate",
		module + "internal/serve", module + "internal/localapi", module + "internal/eventstream", module + "internal/functionurl"} {
		if slices.Contains(deps, banned) {
			t.Errorf("the Lambda build links %s", banned)
		}
	}
	if !slices.Contains(deps, "go.uber.org/zap/zapcore") || !slices.Contains(deps, "github.com/spf13/cobra") {
		t.Errorf("the Lambda build does not link zapcore and cobra: has the map's premise changed?")
	}
}
