package main

// End-to-end tests of --graceful-shutdown: the no-op extension that makes
// Lambda send SIGTERM at shutdown, registered by the real binary with the
// strict Runtime API (which also serves the Extensions API calls).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// wantRegisteredInTime checks the one registration of a bootstrap started
// with graceful shutdown: made before the first /next, under our name, and
// followed by the extension's event/next.
func wantRegisteredInTime(t *testing.T, srv *runtimeapitest.Server) {
	t.Helper()
	regs := srv.Registrations()
	if len(regs) != 1 {
		t.Fatalf("%d registrations, want 1: %+v", len(regs), regs)
	}
	g := regs[0]
	if g.Status != 200 || g.Name != "streamstrap" || len(g.Events) != 0 || !strings.HasPrefix(g.Header.Get("User-Agent"), "streamstrap/") {
		t.Errorf("registration %+v", g)
	}
	if g.NextCallsBefore != 0 {
		t.Errorf("registered after %d /next call(s), want before the first", g.NextCallsBefore)
	}
	// The server hands out no event before the extension's event/next.
	if g.EventNextCalls != 1 {
		t.Errorf("%d event/next calls, want 1", g.EventNextCalls)
	}
}

func TestGracefulShutdownFlagAndEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		args     []string
		register bool
	}{
		{"off by default", nil, nil, false},
		{"flag", nil, []string{"--graceful-shutdown"}, true},
		{"environment", []string{"STREAMSTRAP_GRACEFUL_SHUTDOWN=true"}, nil, true},
		{"environment as 1", []string{"STREAMSTRAP_GRACEFUL_SHUTDOWN=1"}, nil, true},
		{"environment false", []string{"STREAMSTRAP_GRACEFUL_SHUTDOWN=false"}, nil, false},
		{"flag wins over the environment (off)", []string{"STREAMSTRAP_GRACEFUL_SHUTDOWN=true"}, []string{"--graceful-shutdown=false"}, false},
		{"flag wins over the environment (on)", []string{"STREAMSTRAP_GRACEFUL_SHUTDOWN=false"}, []string{"--graceful-shutdown"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := start(t, runtimeapitest.Options{}, tt.env, append(tt.args, "--", "./behave.sh")...)
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			wantSuccess(t, call(t, srv, "echo\nagain"), "again")
			if !tt.register {
				if regs := srv.Registrations(); len(regs) != 0 {
					t.Errorf("registered without graceful shutdown: %+v", regs)
				}
				return
			}
			wantRegisteredInTime(t, srv)
		})
	}
}

func TestGracefulShutdownInvalidEnvironment(t *testing.T) {
	p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{
		RuntimeAPI: runtimeapitest.New(t, runtimeapitest.Options{}).Addr(),
		Args:       []string{"--", "./behave.sh"},
		TaskRoot:   handlersDir(t),
		Env:        []string{"STREAMSTRAP_GRACEFUL_SHUTDOWN=sometimes"},
	})
	code, ok := p.Wait(10 * time.Second)
	if !ok || code != 2 || !strings.Contains(p.Stderr(), `STREAMSTRAP_GRACEFUL_SHUTDOWN="sometimes"`) {
		t.Fatalf("exit %d (exited %v), want 2 naming the variable; stderr:\n%s", code, ok, p.Stderr())
	}
}

// TestGracefulShutdownRegisterFailureIsAWarning: when the Extensions API
// refuses the registration, the function still works (it just will not get
// SIGTERM in Lambda), and the log says so.
func TestGracefulShutdownRegisterFailureIsAWarning(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"500", 500},
		{"no Extensions API", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			srv.FailRegister(tt.status) // before the bootstrap starts: no race
			p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{
				RuntimeAPI: srv.Addr(),
				Args:       []string{"--graceful-shutdown", "--", "./behave.sh"},
				TaskRoot:   handlersDir(t),
			})
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			wantSuccess(t, call(t, srv, "chunks"), "chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n")
			regs := srv.Registrations()
			if len(regs) != 1 || regs[0].Status != tt.status || regs[0].NextCallsBefore != 0 {
				t.Errorf("registrations %+v, want one refused with %d", regs, tt.status)
			}
			stderr := p.Stderr()
			for _, want := range []string{"WARN", "graceful shutdown is off", "answered " + strconv.Itoa(tt.status)} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if p.Exited() {
				t.Errorf("the bootstrap exited")
			}
		})
	}
}

// TestLocalHasNoGracefulShutdown: `bootstrap local` runs without a Lambda
// shutdown, so it neither takes the flag nor reads its variable.
func TestLocalHasNoGracefulShutdown(t *testing.T) {
	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(bootstrapBin, append([]string{"local", "--event", file}, args...)...)
		cmd.Dir = handlersDir(t)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "LAMBDA_TASK_ROOT=" + handlersDir(t)}, env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	if out, code := run(nil, "--graceful-shutdown", "--", "./behave.sh"); code != 2 || !strings.Contains(out, "unknown flag: --graceful-shutdown") {
		t.Errorf("local --graceful-shutdown: exit %d, output:\n%s", code, out)
	}
	out, code := run([]string{"STREAMSTRAP_GRACEFUL_SHUTDOWN=true"}, "--", "./behave.sh")
	if code != 0 || !strings.HasPrefix(out, "hello\n") || strings.Contains(out, "extension") {
		t.Errorf("local with STREAMSTRAP_GRACEFUL_SHUTDOWN=true: exit %d, output:\n%s", code, out)
	}
}
