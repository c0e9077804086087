package release

import (
	"bufio"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// What the AWS base image for custom runtimes provides (its Dockerfile in
// aws/aws-lambda-base-images, provided.al2023 branch): these ENV values, and
// ENTRYPOINT ["/lambda-entrypoint.sh"], a script that requires exactly one
// argument, exports it as _HANDLER and execs /var/runtime/bootstrap (under
// /usr/local/bin/aws-lambda-rie when AWS_LAMBDA_RUNTIME_API is unset).
const (
	lambdaBaseImage   = "public.ecr.aws/lambda/provided:al2023"
	lambdaEntrypoint  = "/lambda-entrypoint.sh"
	lambdaRuntimePath = "/var/runtime/bootstrap"
)

var lambdaBaseEnv = map[string]string{
	"LAMBDA_TASK_ROOT":   "/var/task",
	"LAMBDA_RUNTIME_DIR": "/var/runtime",
}

// BuildKit's automatic platform ARGs; usable in FROM without a global ARG,
// but inside a stage only after an `ARG NAME`.
var automaticArgs = map[string]bool{
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true,
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true,
}

type instruction struct {
	line  int
	cmd   string // upper case
	flags map[string]string
	args  []string // words after the flags; for JSON form, the array elements
	json  bool
	raw   string // everything after the command word
}

type stage struct {
	index     int
	from      string // as written
	base      string // after substituting global ARG defaults
	platform  string
	name      string
	args      map[string]string // ARG name -> default
	env       map[string]string
	insts     []instruction
	fromStage *stage // when FROM names an earlier stage
}

type dockerfile struct {
	globals map[string]string
	stages  []*stage
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// parseDockerfile is a small line-based parser: comments, continuation
// lines, instructions with --flags, JSON-form arguments.
func parseDockerfile(t *testing.T, text string) *dockerfile {
	t.Helper()
	df := &dockerfile{globals: map[string]string{}}
	var logical []struct {
		line int
		text string
	}
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 {
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			start = n
		} else if strings.HasPrefix(trimmed, "#") {
			continue // comment lines inside a continued instruction are dropped
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		logical = append(logical, struct {
			line int
			text string
		}{start, cur.String()})
		cur.Reset()
	}
	if cur.Len() != 0 {
		t.Fatalf("Dockerfile ends inside a continued line starting at %d", start)
	}

	var st *stage
	for _, l := range logical {
		word, rest, _ := strings.Cut(l.text, " ")
		in := instruction{line: l.line, cmd: strings.ToUpper(word), flags: map[string]string{}, raw: strings.TrimSpace(rest)}
		fields := strings.Fields(rest)
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			k, v, _ := strings.Cut(strings.TrimPrefix(fields[0], "--"), "=")
			in.flags[k] = v
			fields = fields[1:]
		}
		body := strings.TrimSpace(strings.Join(fields, " "))
		if strings.HasPrefix(body, "[") {
			if err := json.Unmarshal([]byte(body), &in.args); err != nil {
				t.Fatalf("line %d: bad JSON arguments %s: %v", l.line, body, err)
			}
			in.json = true
		} else {
			in.args = fields
		}
		switch in.cmd {
		case "ARG":
			k, v, _ := strings.Cut(in.args[0], "=")
			if st == nil {
				df.globals[k] = v
			} else {
				st.args[k] = v
			}
		case "FROM":
			st = &stage{index: len(df.stages), args: map[string]string{}, env: map[string]string{}, platform: in.flags["platform"]}
			switch {
			case len(in.args) == 1:
			case len(in.args) == 3 && strings.EqualFold(in.args[1], "AS"):
				st.name = in.args[2]
			default:
				t.Fatalf("line %d: FROM %v: want `FROM image [AS name]`", l.line, in.args)
			}
			st.from = in.args[0]
			st.base = expandAll(in.args[0], df.globals)
			for _, prev := range df.stages {
				if prev.name != "" && prev.name == st.base {
					st.fromStage = prev
				}
			}
			df.stages = append(df.stages, st)
		case "ENV":
			if st != nil {
				for _, kv := range in.args {
					if k, v, ok := strings.Cut(kv, "="); ok {
						st.env[k] = v
					}
				}
			}
		}
		if in.cmd != "FROM" && in.cmd != "ARG" && st == nil {
			t.Fatalf("line %d: %s before the first FROM", l.line, in.cmd)
		}
		if st != nil {
			st.insts = append(st.insts, in)
		}
	}
	return df
}

// expandAll substitutes $NAME and ${NAME} from vars (unknown names are left).
func expandAll(s string, vars map[string]string) string {
	s = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
	return regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`).ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[1:]]; ok {
			return v
		}
		return m
	})
}

func (st *stage) lookup(name string) (string, bool) {
	if v, ok := st.env[name]; ok {
		return v, true
	}
	if v, ok := st.args[name]; ok {
		return v, true
	}
	for s := st; s != nil; s = s.fromStage {
		if s.fromStage == nil && s.base == lambdaBaseImage {
			v, ok := lambdaBaseEnv[name]
			return v, ok
		}
	}
	return "", false
}

func (st *stage) vars() map[string]string {
	m := map[string]string{}
	if st.base == lambdaBaseImage {
		for k, v := range lambdaBaseEnv {
			m[k] = v
		}
	}
	for k, v := range st.args {
		m[k] = v
	}
	for k, v := range st.env {
		m[k] = v
	}
	return m
}

func loadDockerfile(t *testing.T) (*dockerfile, string) {
	t.Helper()
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return parseDockerfile(t, string(b)), root
}

func (df *dockerfile) stage(t *testing.T, name string) *stage {
	t.Helper()
	for _, s := range df.stages {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile has no stage %q", name)
	return nil
}

func (s *stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.insts {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func TestDockerfileStages(t *testing.T) {
	df, root := loadDockerfile(t)

	names := map[string]bool{}
	for _, s := range df.stages {
		if s.name != "" {
			if names[s.name] {
				t.Errorf("stage name %q used twice", s.name)
			}
			names[s.name] = true
		}
	}

	// Every variable is declared where it is used.
	for _, s := range df.stages {
		for _, m := range varRef.FindAllStringSubmatch(s.from+" "+s.platform, -1) {
			if _, ok := df.globals[m[1]]; !ok && !automaticArgs[m[1]] {
				t.Errorf("FROM %s uses $%s, which is no global ARG", s.from, m[1])
			}
		}
		for _, in := range s.insts {
			if in.cmd == "FROM" {
				continue
			}
			for _, m := range varRef.FindAllStringSubmatch(in.raw, -1) {
				if _, ok := s.lookup(m[1]); !ok {
					t.Errorf("line %d: %s uses $%s, which stage %q declares neither as ARG nor ENV", in.line, in.cmd, m[1], s.name)
				}
			}
		}
	}

	// COPY --from names an earlier stage; other COPY sources exist in the
	// build context and are not excluded by .dockerignore.
	ignore := loadDockerignore(t, root)
	for _, s := range df.stages {
		for _, in := range s.find("COPY") {
			if len(in.args) < 2 {
				t.Errorf("line %d: COPY needs a source and a destination", in.line)
				continue
			}
			if from, ok := in.flags["from"]; ok {
				earlier := false
				for _, prev := range df.stages[:s.index] {
					if prev.name == from {
						earlier = true
					}
				}
				if !earlier {
					t.Errorf("line %d: COPY --from=%s names no earlier stage", in.line, from)
				}
				continue
			}
			for _, src := range in.args[:len(in.args)-1] {
				rel := path.Clean(strings.TrimSuffix(src, "/"))
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
					t.Errorf("line %d: COPY source %s is not in the repository: %v", in.line, src, err)
				}
				if ignore(rel) {
					t.Errorf("line %d: COPY source %s is excluded by .dockerignore", in.line, src)
				}
			}
		}
	}
}

// TestDockerfileBuildStage: cross-compiles on the build platform with the
// Makefile's flags, downloading modules in a layer of their own first.
func TestDockerfileBuildStage(t *testing.T) {
	df, root := loadDockerfile(t)
	b := df.stage(t, "build")

	if b.platform != "$BUILDPLATFORM" {
		t.Errorf("build stage platform %q, want $BUILDPLATFORM (cross-compile, no emulation)", b.platform)
	}
	if !strings.HasPrefix(b.from, "golang:${GO_VERSION}") {
		t.Errorf("build stage FROM %s, want golang:${GO_VERSION}-...", b.from)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil || df.globals["GO_VERSION"] != string(goVersion[1]) {
		t.Errorf("ARG GO_VERSION=%s, want go.mod's go %s", df.globals["GO_VERSION"], goVersion[1])
	}
	for _, a := range []string{"TARGETOS", "TARGETARCH"} {
		if _, ok := b.args[a]; !ok {
			t.Errorf("build stage does not declare ARG %s", a)
		}
	}

	// Order: go.mod/go.sum, go mod download, then the sources, then go build.
	pos := map[string]int{}
	for i, in := range b.insts {
		switch {
		case in.cmd == "COPY" && strings.Contains(in.raw, "go.mod") && strings.Contains(in.raw, "go.sum"):
			pos["copy go.mod"] = i
		case in.cmd == "RUN" && strings.Contains(in.raw, "go mod download"):
			pos["go mod download"] = i
		case in.cmd == "COPY" && strings.HasPrefix(in.raw, "cmd/"):
			pos["copy cmd"] = i
		case in.cmd == "RUN" && strings.Contains(in.raw, "go build"):
			pos["go build"] = i
		}
	}
	order := []string{"copy go.mod", "go mod download", "copy cmd", "go build"}
	for i, k := range order {
		if _, ok := pos[k]; !ok {
			t.Fatalf("build stage has no %q step", k)
		}
		if i > 0 && pos[k] < pos[order[i-1]] {
			t.Errorf("build stage: %q comes before %q", k, order[i-1])
		}
	}

	// The go build line carries the Makefile's flags and ldflags.
	build := b.insts[pos["go build"]].raw
	for _, flag := range []string{"CGO_ENABLED=0", "-tags lambda", "-trimpath", "-buildvcs=false", "GOOS=${TARGETOS}", "GOARCH=${TARGETARCH}", "./cmd/bootstrap"} {
		if !strings.Contains(build, flag) {
			t.Errorf("go build in the Dockerfile lacks %s:\n%s", flag, build)
		}
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	// The Lambda build's: LAMBDA_LDFLAGS, which is LDFLAGS and the
	// compiled-in GODEBUG, with make's variables as the Dockerfile's ARGs.
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+)\s*:?=\s*(.+)$`).FindAllSubmatch(makefile, -1) {
		vars[string(m[1])] = strings.TrimSpace(string(m[2]))
	}
	if vars["LAMBDA_LDFLAGS"] == "" {
		t.Fatal("Makefile has no LAMBDA_LDFLAGS")
	}
	want := vars["LAMBDA_LDFLAGS"]
	for _, name := range []string{"LDFLAGS", "LAMBDA_GODEBUG"} {
		want = strings.ReplaceAll(want, "$("+name+")", vars[name])
	}
	want = regexp.MustCompile(`\$\((\w+)\)`).ReplaceAllString(want, "$${$1}")
	if !strings.Contains(build, `-ldflags "`+want+`"`) {
		t.Errorf("go build in the Dockerfile does not use the Makefile's Lambda ldflags %q:\n%s", want, build)
	}
}

// TestDockerfileFinalStage: the bootstrap-only stage, and the final image on
// the Lambda base with the binary where the base image's entrypoint runs it.
func TestDockerfileFinalStage(t *testing.T) {
	df, root := loadDockerfile(t)

	bs := df.stage(t, "bootstrap")
	if bs.base != "scratch" {
		t.Errorf("stage bootstrap is FROM %s, want scratch", bs.base)
	}
	copies := bs.find("COPY")
	if len(copies) != 1 || copies[0].args[len(copies[0].args)-1] != "/bootstrap" {
		t.Errorf("stage bootstrap must hold only /bootstrap, has COPY %v", copies)
	}

	final := df.stages[len(df.stages)-1]
	if final.base != lambdaBaseImage {
		t.Fatalf("final stage is FROM %s (%s), want %s", final.from, final.base, lambdaBaseImage)
	}
	vars := final.vars()
	var binary string
	var taskCopies []instruction
	for _, in := range final.find("COPY") {
		dest := expandAll(in.args[len(in.args)-1], vars)
		if in.flags["from"] != "" {
			if in.args[0] != "/bootstrap" && in.args[0] != "/out/bootstrap" {
				t.Errorf("line %d: final stage copies %s from %s", in.line, in.args[0], in.flags["from"])
			}
			binary = dest
			continue
		}
		if strings.HasPrefix(dest, lambdaBaseEnv["LAMBDA_TASK_ROOT"]) {
			taskCopies = append(taskCopies, in)
		}
	}
	if binary != lambdaRuntimePath {
		t.Errorf("final stage puts the bootstrap at %q, want %s (what %s runs)", binary, lambdaRuntimePath, lambdaEntrypoint)
	}

	entry := final.find("ENTRYPOINT")
	if len(entry) > 0 {
		last := entry[len(entry)-1]
		if !last.json {
			t.Errorf("ENTRYPOINT must use the JSON form, got %s", last.raw)
		}
		if !(len(last.args) == 1 && (last.args[0] == lambdaEntrypoint || last.args[0] == binary)) {
			t.Errorf("ENTRYPOINT %q: want [%q] (the base image's) or the bootstrap %s", last.args, lambdaEntrypoint, binary)
		}
	}

	// CMD is the handler: exactly one argument (the base entrypoint exits 142
	// otherwise), naming an executable the image copies into the task root.
	cmds := final.find("CMD")
	if len(cmds) == 0 {
		t.Fatal("final stage has no CMD (the handler)")
	}
	cmd := cmds[len(cmds)-1]
	if !cmd.json || len(cmd.args) != 1 {
		t.Fatalf("CMD %s: want exactly one JSON-form argument, the handler", cmd.raw)
	}
	handler := strings.Fields(cmd.args[0])[0]
	found := false
	for _, in := range taskCopies {
		for _, src := range in.args[:len(in.args)-1] {
			p := filepath.Join(root, filepath.FromSlash(src))
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				p = filepath.Join(p, handler)
			} else if path.Base(src) != handler {
				continue
			}
			fi, err := os.Stat(p)
			if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("CMD handler %q is not an executable the final stage copies into %s", handler, lambdaBaseEnv["LAMBDA_TASK_ROOT"])
	}
}

// loadDockerignore returns a matcher for .dockerignore's patterns (the
// subset it uses: plain paths, globs, **/ prefixes; no ! exceptions).
func loadDockerignore(t *testing.T, root string) func(string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf(".dockerignore: exceptions (%s) are not handled by this check", line)
		}
		patterns = append(patterns, path.Clean(strings.TrimPrefix(line, "/")))
	}
	return func(p string) bool {
		parts := strings.Split(p, "/")
		for _, pat := range patterns {
			anyDepth := strings.HasPrefix(pat, "**/")
			pat = strings.TrimPrefix(pat, "**/")
			for i := range parts {
				if i > 0 && !anyDepth {
					break
				}
				// A pattern matching a directory excludes everything below it.
				for j := i + 1; j <= len(parts); j++ {
					if ok, _ := path.Match(pat, strings.Join(parts[i:j], "/")); ok {
						return true
					}
				}
			}
		}
		return false
	}
}

func TestDockerignore(t *testing.T) {
	root := repoRoot(t)
	ignored := loadDockerignore(t, root)
	for _, p := range []string{".git", "dist", "dist/linux-amd64/bootstrap"} {
		if !ignored(p) {
			t.Errorf(".dockerignore does not keep %s out of the build context", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/bootstrap", "internal/loop", "examples/shell/countdown.sh"} {
		if ignored(p) {
			t.Errorf(".dockerignore keeps %s, which the build needs, out of the context", p)
		}
	}
}
