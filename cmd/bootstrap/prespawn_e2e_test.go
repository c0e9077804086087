package main

// End-to-end tests of --prespawn and of the context descriptor: the real
// binary, real handler processes, the strict Runtime API on loopback.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// prespawnBody is what prespawn.sh answers: its lines by name.
type prespawnBody struct {
	id, trace, tenant, event string
	pid                      int
	started                  time.Time
	ctx                      map[string]any
}

func parsePrespawn(t *testing.T, inv *runtimeapitest.Invocation) prespawnBody {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(inv.Body), "\n"), "\n")
	if inv.Outcome != "response" || inv.ErrorType() != "" || len(lines) != 5 || lines[0] != "ready" {
		t.Fatalf("outcome %q error %q body %q", inv.Outcome, inv.ErrorType(), inv.Body)
	}
	var b prespawnBody
	for _, f := range strings.Fields(lines[1]) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "id":
			b.id = v
		case "trace":
			b.trace = v
		case "tenant":
			b.tenant = v
		}
	}
	if err := json.Unmarshal([]byte(lines[2]), &b.ctx); err != nil {
		t.Fatalf("context JSON line %q: %v", lines[2], err)
	}
	b.event = strings.TrimPrefix(lines[3], "event=")
	var ns int64
	if _, err := fmt.Sscanf(lines[4], "pid=%d started=%d", &b.pid, &ns); err != nil {
		t.Fatalf("last line %q: %v", lines[4], err)
	}
	b.started = time.Unix(0, ns)
	return b
}

func TestContextDescriptorWithAndWithoutPrespawn(t *testing.T) {
	for _, flag := range []string{"--prespawn=false", "--prespawn"} {
		t.Run(flag, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, []string{"AWS_LAMBDA_LOG_FORMAT=JSON"}, flag, "--", "./prespawn.sh")
			for i := range 5 {
				if flag == "--prespawn" {
					// The spare logs its start-up line before its event exists.
					if !bootstraptest.WaitFor(10*time.Second, func() bool { return strings.Count(p.Stderr(), "start-up ") == i+1 }) {
						t.Fatalf("spare %d did not start:\n%s", i, p.Stderr())
					}
				}
				ev := runtimeapitest.Event{
					Payload: []byte(fmt.Sprintf("event-%d", i)),
					TraceID: fmt.Sprintf("Root=1-%d", i),
					// A quote and a shell expansion must arrive as they are.
					TenantID: fmt.Sprintf(`it's-$(t)-%d`, i),
				}
				inv, err := srv.Invoke(ctx(t, 30*time.Second), ev)
				if err != nil {
					t.Fatal(err)
				}
				b := parsePrespawn(t, inv)
				if b.id != inv.RequestID || b.trace != ev.TraceID || b.tenant != ev.TenantID || b.event != string(ev.Payload) {
					t.Errorf("invocation %d got someone else's context or event: %+v", i, b)
				}
				if b.ctx["requestId"] != inv.RequestID || b.ctx["traceId"] != ev.TraceID || b.ctx["tenantId"] != ev.TenantID ||
					b.ctx["invokedFunctionArn"] != runtimeapitest.DefaultFunctionARN ||
					b.ctx["deadlineMs"] != float64(inv.Event.Deadline.UnixMilli()) {
					t.Errorf("invocation %d: context JSON %v", i, b.ctx)
				}
			}
			// Start-up lines carry no request id with --prespawn (the spare
			// had no event yet); without it, the invocation's.
			for _, line := range strings.Split(strings.TrimSpace(p.Stderr()), "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) != nil {
					t.Errorf("not JSON: %q", line)
					continue
				}
				if msg, _ := rec["message"].(string); strings.HasPrefix(msg, "start-up ") && (rec["requestId"] == nil) != (flag == "--prespawn") {
					t.Errorf("start-up line %q", line)
				}
			}
		})
	}
}

func TestPrespawnStartsTheHandlerBeforeItsEvent(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil, "--prespawn", "--", "./prespawn.sh")
	for i := range 3 {
		// The spare is up before the event exists...
		var spare []int
		if !bootstraptest.WaitFor(10*time.Second, func() bool { spare = p.Marked(); return len(spare) == 1 }) {
			t.Fatalf("invocation %d: want exactly one spare waiting, have %v", i, spare)
		}
		// Its start-up line is logged (it runs after the timestamp it prints).
		if !p.WaitStderr(fmt.Sprintf("start-up %d", spare[0]), 10*time.Second) {
			t.Fatalf("invocation %d: spare %d logged nothing", i, spare[0])
		}
		enqueued := time.Now()
		b := parsePrespawn(t, call(t, srv, fmt.Sprintf("e%d", i)))
		// ...and it is the one that serves it, its start-up done before.
		if b.pid != spare[0] || !b.started.Before(enqueued) {
			t.Errorf("invocation %d served by pid %d started %v; spare was %d, event enqueued %v", i, b.pid, b.started, spare[0], enqueued)
		}
	}
}

func TestPrespawnedHandlerThatCrashesAtStartUp(t *testing.T) {
	flag := t.TempDir() + "/crashed"
	srv, p := start(t, runtimeapitest.Options{}, []string{"CRASH_ONCE=" + flag}, "--prespawn", "--", "./prespawn.sh")
	inv := call(t, srv, "first")
	if inv.Outcome != "error" || inv.ErrorType() != "Runtime.ExitError" {
		t.Fatalf("outcome %q error %q body %q", inv.Outcome, inv.ErrorType(), inv.Body)
	}
	doc := errorDoc(t, inv)
	if doc["errorMessage"] != "exit status 3" || !strings.Contains(fmt.Sprint(doc["stackTrace"]), "crashed at start-up") {
		t.Errorf("error document %v", doc)
	}
	// A fresh spare serves the next event.
	if b := parsePrespawn(t, call(t, srv, "second")); b.event != "second" || b.id == inv.RequestID {
		t.Errorf("next invocation %+v", b)
	}
	if !bootstraptest.WaitFor(5*time.Second, func() bool { return len(p.Marked()) == 1 }) {
		t.Errorf("want one spare, have %v", p.Marked())
	}
}

func TestPrespawnShutdownEndsTheIdleSpare(t *testing.T) {
	for _, graceful := range []bool{false, true} {
		t.Run(fmt.Sprintf("graceful-shutdown=%v", graceful), func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil, "--prespawn", fmt.Sprintf("--graceful-shutdown=%v", graceful), "--", "./prespawn.sh")
			parsePrespawn(t, call(t, srv, "one"))
			if !bootstraptest.WaitFor(10*time.Second, func() bool { return len(p.Marked()) == 1 }) {
				t.Fatalf("no spare: %v", p.Marked())
			}
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code, ok := p.Wait(5 * time.Second); !ok || code != 0 {
				t.Fatalf("bootstrap exit %d (exited %v), want a prompt 0", code, ok)
			}
			if !bootstraptest.WaitFor(2*time.Second, func() bool { return len(p.Marked()) == 0 }) {
				t.Errorf("the spare outlived the bootstrap: %v", p.Marked())
			}
		})
	}
}

func TestPrespawnFatalRuntimeAPIErrorEndsTheSpare(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil, "--prespawn", "--", "./prespawn.sh")
	parsePrespawn(t, call(t, srv, "one"))
	if !bootstraptest.WaitFor(10*time.Second, func() bool { return len(p.Marked()) == 1 }) {
		t.Fatalf("no spare: %v", p.Marked())
	}
	srv.Close() // /next fails: the bootstrap must exit, and the spare with it
	if code, ok := p.Wait(10 * time.Second); !ok || code == 0 {
		t.Fatalf("bootstrap exit %d (exited %v), want a non-zero exit", code, ok)
	}
	if !bootstraptest.WaitFor(2*time.Second, func() bool { return len(p.Marked()) == 0 }) {
		t.Errorf("the spare outlived the bootstrap: %v", p.Marked())
	}
}

func TestPrespawnDeadline(t *testing.T) {
	// Stopped 2s before a deadline 3s after the hand-out, killed 200ms
	// later: 1.8s to report, which only a hang misses on a loaded machine.
	srv, p := start(t, runtimeapitest.Options{}, nil, "--prespawn", "--deadline-margin", "2s", "--kill-grace", "200ms", "--", "./prespawn.sh")
	if err := srv.WaitNextCalls(ctx(t, 30*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the spare's idle time must not count
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: []byte("sleep"), Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Outcome != "response" || inv.ErrorType() != "Runtime.HandlerTimeout" || string(inv.Body) != "ready\nsleeping\n" {
		t.Fatalf("outcome %q error %q body %q", inv.Outcome, inv.ErrorType(), inv.Body)
	}
	if deadline := inv.Event.Deadline; inv.Done.After(deadline) {
		t.Errorf("reported %v after the deadline", inv.Done.Sub(deadline))
	}
	parsePrespawn(t, call(t, srv, "after"))
	if !bootstraptest.WaitFor(5*time.Second, func() bool { return len(p.Marked()) == 1 }) {
		t.Errorf("want only the spare, have %v", p.Marked())
	}
}

func TestPrespawnConcurrentLoops(t *testing.T) {
	const n = 3
	dir := t.TempDir()
	srv, p := start(t, runtimeapitest.Options{Concurrency: n}, []string{"AWS_LAMBDA_MAX_CONCURRENCY=" + strconv.Itoa(n)}, "--prespawn", "--", "./prespawn.sh")
	for round := range 2 {
		sub := filepath.Join(dir, strconv.Itoa(round))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		ids := make([]string, n)
		for i := range ids {
			ids[i] = srv.Enqueue(runtimeapitest.Event{Payload: []byte(fmt.Sprintf("barrier %d %s", n, sub))})
		}
		for _, id := range ids {
			inv, err := srv.Wait(ctx(t, 30*time.Second), id)
			if err != nil {
				t.Fatal(err)
			}
			// Each handler waited until all n were running at once.
			wantSuccess(t, inv, fmt.Sprintf("ready\n%d\n", n))
		}
	}
	// One spare per loop, no more.
	if !bootstraptest.WaitFor(10*time.Second, func() bool { return len(p.Marked()) == n }) {
		t.Errorf("want %d spares, have %v", n, p.Marked())
	}
}

func TestPrespawnHundredInvocationsLeakNothing(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil, "--prespawn", "--", "./behave.sh")
	actions := []string{"hello", "orphan", "exit-after", "exit-before"}
	for _, a := range actions {
		call(t, srv, a)
	}
	fds0, err := settledFDs(t, srv, p, len(actions))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		action := actions[i%4]
		inv := call(t, srv, action)
		if action == "hello" {
			wantSuccess(t, inv, "hello\n")
		}
	}
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
	fds, err := settledFDs(t, srv, p, len(actions)+101)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"pipe", "file", "anon_inode"} {
		if fds[kind] > fds0[kind] {
			t.Errorf("open %s fds grew from %d to %d over 100 invocations", kind, fds0[kind], fds[kind])
		}
	}
	if fds["socket"] > 3 {
		t.Errorf("%d sockets open after 100 invocations", fds["socket"])
	}
}

func TestPrespawnWithCGIIsRefused(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil, "--prespawn", "--mode", "cgi", "--", "./behave.sh")
	code, ok := p.Wait(10 * time.Second)
	if !ok || code != 2 || !strings.Contains(p.Stderr(), "--prespawn cannot be used with --mode cgi") {
		t.Fatalf("exit %d (exited %v), stderr:\n%s", code, ok, p.Stderr())
	}
	_ = srv
}

// settledFDs counts the bootstrap's descriptors once, after invocations
// calls, the spare for the next invocation is up, and only it, and the loop
// waits in its next /next: the moment both counts compare alike.
func settledFDs(t *testing.T, srv *runtimeapitest.Server, p *bootstraptest.Process, invocations int) (map[string]int, error) {
	if !bootstraptest.WaitFor(30*time.Second, func() bool { return len(p.Marked()) == 1 }) {
		return nil, fmt.Errorf("processes %v, want the one spare", p.Marked())
	}
	if err := srv.WaitNextCalls(ctx(t, 30*time.Second), invocations+1); err != nil {
		return nil, err
	}
	return p.OpenFDs()
}
