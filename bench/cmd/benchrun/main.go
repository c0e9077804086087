// Command benchrun is the whole-process benchmark of streamstrap (issue
// "Performance"): the real stripped bootstrap and the contenders of
// ../../contenders, each a process running real handler processes against
// the strict Runtime API of internal/runtimeapitest on loopback. Contenders
// alternate within every round; the report gives medians over the rounds and
// ratios against the aws-lambda-go contender of the same run, as a Markdown
// file with a PNG plot beside it.
//
//	cd bench && go run ./cmd/benchrun -out ../BENCHMARKS.md
//
// With -quick it runs every measurement once, small, to check that the
// benchmark still works (make test does this).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
)

// config is what one run measures.
type config struct {
	rounds      int      // rounds of the full run
	trivial     int      // trivial invocations per contender and round
	firstBytes  int      // first-byte invocations per contender and round
	starts      int      // processes per contender and round started only to reach their first /next
	streamBytes int64    // size of the large stream
	slowRounds  int      // rounds of the "128 MB" run; 0 skips it
	slowN       int      // trivial and first-byte invocations per round there
	slowStream  int64    // size of the large stream there; 0 skips it
	warmup      int      // invocations before each measured batch
	only        string   // if set, the contenders to run, comma-separated
	extra       []string // NAME=BOOTSTRAP: more streamstrap-like contenders (-extra)
}

// extraFlag collects -extra values.
type extraFlag []string

func (e *extraFlag) String() string { return strings.Join(*e, ",") }

func (e *extraFlag) Set(v string) error {
	name, bin, ok := strings.Cut(v, "=")
	if !ok || name == "" || bin == "" {
		return fmt.Errorf("want NAME=BOOTSTRAP, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

// quickConfig is -quick: every measurement once, small.
func quickConfig() config {
	return config{rounds: 1, trivial: 5, firstBytes: 5, streamBytes: 4 << 20, slowRounds: 1, slowN: 2, slowStream: 4 << 20, warmup: 1, starts: 1}
}

func main() {
	out := flag.String("out", "", "write the Markdown report here (and the plot beside it, .png); empty: stdout only")
	quick := flag.Bool("quick", false, "one small round of everything, to check the benchmark works")
	rounds := flag.Int("rounds", 5, "rounds of the full run")
	trivial := flag.Int("n", 200, "trivial invocations per contender and round")
	fb := flag.Int("first-byte", 100, "first-byte invocations per contender and round")
	// 128 MiB: under the bootstrap's default 200 MB response cap, which the
	// default contender keeps.
	stream := flag.Int64("stream", 128<<20, "bytes of the large stream")
	starts := flag.Int("starts", 12, "processes per contender and round started only to reach their first /next (start-up samples beyond the measuring sessions' 3)")
	slowRounds := flag.Int("slow-rounds", 3, "rounds of the 128 MB (7.2% CPU) run; 0 skips it")
	slowN := flag.Int("slow-n", 30, "invocations per contender and round in the 128 MB run")
	slowStream := flag.Int64("slow-stream", 64<<20, "bytes of the large stream in the 128 MB run; 0 skips it")
	only := flag.String("only", "", "run only the contenders of these names, comma-separated (the report lacks ratios without aws-lambda-go)")
	var extra extraFlag
	flag.Var(&extra, "extra", "NAME=BOOTSTRAP: also run this prebuilt bootstrap (taking `-- HANDLER`) as contender NAME, for A/B runs of a change; repeatable")
	flag.Parse()
	cfg := config{rounds: *rounds, trivial: *trivial, firstBytes: *fb, starts: *starts, streamBytes: *stream, slowRounds: *slowRounds, slowN: *slowN, slowStream: *slowStream, warmup: 3}
	if *quick {
		cfg = quickConfig()
		cfg.slowRounds = min(cfg.slowRounds, *slowRounds)
	}
	cfg.only = *only
	cfg.extra = extra
	if err := run(context.Background(), cfg, *out, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out string, args []string) error {
	dir, err := os.MkdirTemp("", "benchrun-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bins, err := build(dir)
	if err != nil {
		return err
	}
	h, err := newHarness(bins, dir, cfg.extra)
	if err != nil {
		return err
	}
	rep, err := h.run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.command = "cd bench && go run ./cmd/benchrun " + strings.Join(args[1:], " ")
	rep.machine = describeMachine()
	md := rep.markdown(filepath.Base(strings.TrimSuffix(out, filepath.Ext(out)) + ".png"))
	fmt.Print(md)
	if out == "" {
		return nil
	}
	if err := os.WriteFile(out, append([]byte(md), keptPart(out)...), 0o644); err != nil {
		return err
	}
	png := strings.TrimSuffix(out, filepath.Ext(out)) + ".png"
	return writePlot(png, rep)
}

// keptMarker starts the part of the report that is written by hand (other
// measurements, with their own commands); a new run keeps it.
const keptMarker = "<!-- benchrun keeps what follows: hand-written sections -->"

// keptPart returns the hand-written tail of the report at path, from
// keptMarker on, or nothing.
func keptPart(path string) []byte {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	i := strings.Index(string(old), keptMarker)
	if i < 0 {
		return nil
	}
	return append([]byte("\n"), old[i:]...)
}

// binaries are the programs a run builds.
type binaries struct {
	streamstrap, awslambdago, barecopy, barecopyCard, rawloop, rawloopCard, forkexec, stamp string
	bashcurl                                                                                string // the script, in the source tree
}

// build compiles the contenders the way releases are built: static,
// trimmed paths, no symbol table or DWARF, and streamstrap with the lambda
// build tag, as the layer and the image ship it (no local or serve).
func build(dir string) (binaries, error) {
	root, err := benchRoot()
	if err != nil {
		return binaries{}, err
	}
	b := binaries{
		streamstrap: filepath.Join(dir, "bootstrap"),
		awslambdago: filepath.Join(dir, "awslambdago"),
		barecopy:    filepath.Join(dir, "barecopy"),
		// The same bare copy with cobra and zap linked (-tags cardpkgs).
		barecopyCard: filepath.Join(dir, "barecopy-cardpkgs"),
		rawloop:      filepath.Join(dir, "rawloop"),
		// The raw floor with cobra and zap linked too (-tags cardpkgs).
		rawloopCard: filepath.Join(dir, "rawloop-cardpkgs"),
		forkexec:    filepath.Join(dir, "forkexec"),
		stamp:       filepath.Join(dir, "stamp"),
		bashcurl:    filepath.Join(root, "contenders", "bashcurl", "bootstrap"),
	}
	godebug, err := bootstraptest.LambdaGodebug(filepath.Join(filepath.Dir(root), "Makefile"))
	if err != nil {
		return binaries{}, err
	}
	// streamstrap as the Makefile links the Lambda build, with its
	// compiled-in GODEBUG default; the others as Go builds them.
	lambdaLd := "-s -w -X runtime.godebugDefault=" + godebug
	jobs := []struct{ dir, pkg, bin, tags, ldflags string }{
		{filepath.Dir(root), "./cmd/bootstrap", b.streamstrap, "lambda", lambdaLd},
		// As AWS's Go guide builds a provided.al2023 bootstrap: with
		// lambda.norpc, which leaves out the go1.x runtime's net/rpc
		// server (a smaller binary and a quicker start).
		{root, "./contenders/awslambdago", b.awslambdago, "lambda,lambda.norpc", "-s -w"},
		{root, "./contenders/barecopy", b.barecopy, "lambda", "-s -w"},
		{root, "./contenders/barecopy", b.barecopyCard, "lambda,cardpkgs", "-s -w"},
		{root, "./contenders/rawloop", b.rawloop, "lambda", "-s -w"},
		{root, "./contenders/rawloop", b.rawloopCard, "lambda,cardpkgs", "-s -w"},
		{root, "./contenders/forkexec", b.forkexec, "lambda", "-s -w"},
		{root, "./handlers/stamp", b.stamp, "lambda", "-s -w"},
	}
	for _, j := range jobs {
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-tags", j.tags, "-ldflags", j.ldflags, "-o", j.bin, j.pkg)
		cmd.Dir = j.dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, fmt.Errorf("building %s: %w\n%s", j.pkg, err, out)
		}
	}
	return b, nil
}

// benchRoot finds the bench module's directory.
func benchRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the bench module: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if filepath.Base(filepath.Dir(gomod)) != "bench" {
		return "", errors.New("run benchrun from inside the bench module (cd bench)")
	}
	return filepath.Dir(gomod), nil
}

// describeMachine says what the numbers were measured on.
func describeMachine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	commit := "unknown commit"
	if b, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		commit = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores, %s, %s %s/%s, streamstrap %s, %s",
		model, runtime.NumCPU(), kernel, runtime.Version(), runtime.GOOS, runtime.GOARCH, commit, time.Now().UTC().Format("2006-01-02"))
}
