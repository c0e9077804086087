package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// TestGOMAXPROCS checks the scheduler's size the runtime starts with: one P
// for a single loop, Go's own default for several, and the user's
// GOMAXPROCS whenever it is set. An invocation still works in each. Both
// builds: the Lambda build sets one P during package initialisation
// (internal/earlyprocs), from the environment alone, and --concurrency
// undoes it.
func TestGOMAXPROCS(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set for the tests: Go's default is not known here")
	}
	lambda := lambdaBuild(t)
	goDefault := runtime.GOMAXPROCS(0) // same machine and cgroup as the bootstrap
	tests := []struct {
		name string
		env  []string
		args []string
		conc int
		want int
	}{
		{"one loop", nil, nil, 1, 1},
		{"one loop, user's value", []string{"GOMAXPROCS=3"}, nil, 1, 3},
		{"two loops", nil, []string{"--concurrency", "2"}, 2, goDefault},
		{"two loops from the environment", []string{"AWS_LAMBDA_MAX_CONCURRENCY=2"}, nil, 2, goDefault},
		{"two loops, user's value", []string{"GOMAXPROCS=3"}, []string{"--concurrency", "2"}, 2, 3},
		{"two loops from STREAMSTRAP_CONCURRENCY", []string{"STREAMSTRAP_CONCURRENCY=2"}, nil, 2, goDefault},
		{"one loop asked for by the environment", []string{"AWS_LAMBDA_MAX_CONCURRENCY=1"}, nil, 1, 1},
	}
	for _, build := range []struct{ name, bin string }{{"host build", bootstrapBin}, {"Lambda build", lambda}} {
		for _, tt := range tests {
			t.Run(build.name+"/"+tt.name, func(t *testing.T) {
				env := append([]string{"AWS_LAMBDA_LOG_FORMAT=JSON"}, tt.env...)
				args := append(append([]string{"--log-level", "debug"}, tt.args...), "--", "./behave.sh")
				srv := runtimeapitest.New(t, runtimeapitest.Options{Concurrency: tt.conc})
				p := bootstraptest.Start(t, build.bin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: args, TaskRoot: handlersDir(t), Env: env})
				wantSuccess(t, call(t, srv, "hello"), "hello\n")
				want := `"gomaxprocs":` + strconv.Itoa(tt.want) + `,`
				if !p.WaitStderr(`"runtime started"`, 5*time.Second) || !strings.Contains(p.Stderr(), want) {
					t.Errorf("log lacks %s:\n%s", want, p.Stderr())
				}
			})
		}
	}
}

// TestEarlyProcsInitialisesEarly: the Lambda build links internal/earlyprocs
// and initialises it before the packages whose initialisation allocates most
// (cobra, zapcore, unicode), so the second P has little to hand back; the
// host build, which runs serve's many loops, does not link it.
func TestEarlyProcsInitialisesEarly(t *testing.T) {
	const early = "github.com/streamstrap/streamstrap/internal/earlyprocs"
	inits := func(bin string) []string {
		t.Helper()
		cmd := exec.Command(bin, "--version")
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", bin, err, out)
		}
		var pkgs []string
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == "init" {
				pkgs = append(pkgs, f[1])
			}
		}
		return pkgs
	}
	lambda := inits(lambdaBuild(t))
	at := slices.Index(lambda, early)
	if at < 0 {
		t.Fatalf("the Lambda build does not initialise %s: %v", early, lambda)
	}
	for _, later := range []string{"github.com/spf13/cobra", "go.uber.org/zap/zapcore", "unicode", "os"} {
		if i := slices.Index(lambda, later); i >= 0 && i < at {
			t.Errorf("%s initialised before %s: %v", later, early, lambda)
		}
	}
	if slices.Contains(inits(bootstrapBin), early) {
		t.Errorf("the host build links %s", early)
	}
}

var lambdaBin struct {
	once sync.Once
	path string
	err  error
}

// lambdaBuild builds the Lambda build once for the package's tests; it is
// removed with the host build's directory.
func lambdaBuild(t *testing.T) string {
	t.Helper()
	lambdaBin.once.Do(func() {
		lambdaBin.path, lambdaBin.err = bootstraptest.BuildLambda(filepath.Dir(bootstrapBin))
	})
	if lambdaBin.err != nil {
		t.Fatal(lambdaBin.err)
	}
	return lambdaBin.path
}
