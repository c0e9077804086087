package main

// End-to-end tests: the real bootstrap binary, real handler processes, and the
// strict Runtime API of runtimeapitest on loopback. One test per clause of the
// handler contract in README.md.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

var bootstrapBin string

func TestMain(m *testing.M) { os.Exit(bootstraptest.Main(m, &bootstrapBin)) }

func handlersDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/handlers")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// start runs the bootstrap with behave.sh (or args) against a fresh server.
func start(t *testing.T, opts runtimeapitest.Options, env []string, args ...string) (*runtimeapitest.Server, *bootstraptest.Process) {
	t.Helper()
	srv := runtimeapitest.New(t, opts)
	if len(args) == 0 {
		args = []string{"--", "./behave.sh"}
	}
	p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{
		RuntimeAPI: srv.Addr(),
		Args:       args,
		TaskRoot:   handlersDir(t),
		Env:        env,
	})
	return srv, p
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func call(t *testing.T, srv *runtimeapitest.Server, payload string) *runtimeapitest.Invocation {
	t.Helper()
	inv, err := srv.Invoke(ctx(t, 60*time.Second), runtimeapitest.Event{Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("invoke %q: %v", firstLine(payload), err)
	}
	return inv
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func errorDoc(t *testing.T, inv *runtimeapitest.Invocation) map[string]any {
	t.Helper()
	doc, err := inv.DecodedErrorBody()
	if err != nil {
		t.Fatalf("error body: %v", err)
	}
	return doc
}

func wantSuccess(t *testing.T, inv *runtimeapitest.Invocation, body string) {
	t.Helper()
	if inv.Outcome != "response" || !inv.Streaming || inv.Truncated || inv.ErrorType() != "" || inv.Status != 202 {
		t.Fatalf("invocation: outcome %q streaming %v truncated %v error %q status %d",
			inv.Outcome, inv.Streaming, inv.Truncated, inv.ErrorType(), inv.Status)
	}
	if string(inv.Body) != body {
		t.Fatalf("body = %q, want %q", inv.Body, body)
	}
}

func TestEchoStreamsTheEvent(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, nil)
	inv := call(t, srv, "echo\n{\"hello\":\"world\"}")
	wantSuccess(t, inv, `{"hello":"world"}`)
	if ct := inv.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if m := inv.Header.Get("Lambda-Runtime-Function-Response-Mode"); m != "streaming" {
		t.Errorf("response mode = %q", m)
	}
}

func TestContentTypeFlagAndEnvironment(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, []string{"STREAMSTRAP_CONTENT_TYPE=text/plain"}, "--", "./behave.sh")
	if ct := call(t, srv, "hello").Header.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("from the environment: Content-Type = %q", ct)
	}
	srv, _ = start(t, runtimeapitest.Options{}, []string{"STREAMSTRAP_CONTENT_TYPE=text/plain"},
		"--content-type", "text/event-stream", "--", "./behave.sh")
	if ct := call(t, srv, "hello").Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("flag must win over the environment: Content-Type = %q", ct)
	}
}

func TestHandlerFromHandlerVariable(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, []string{`_HANDLER=sh -c 'echo "$0 $1"' "two words" more`}, "--log-level", "debug")
	wantSuccess(t, call(t, srv, "{}"), "two words more\n")
}

func TestInvocationContextEnvironment(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, []string{"_X_AMZN_TRACE_ID=inherited-stale"})
	deadline := time.Now().Add(45 * time.Second).Truncate(time.Millisecond)
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{
		Payload: []byte("env"), Deadline: deadline, FunctionARN: "arn:aws:lambda:eu-west-1:1:function:f",
		TraceID: "Root=1-abc;Sampled=1", ClientContext: "eyJ9", CognitoIdentity: `{"cognitoIdentityId":"x"}`, TenantID: "tenant-7",
	})
	if err != nil {
		t.Fatal(err)
	}
	env := string(inv.Body)
	for _, want := range []string{
		"AWS_LAMBDA_REQUEST_ID=" + inv.RequestID,
		fmt.Sprintf("AWS_LAMBDA_DEADLINE_MS=%d", deadline.UnixMilli()),
		"AWS_LAMBDA_INVOKED_FUNCTION_ARN=arn:aws:lambda:eu-west-1:1:function:f",
		"_X_AMZN_TRACE_ID=Root=1-abc;Sampled=1",
		"AWS_LAMBDA_CLIENT_CONTEXT=eyJ9",
		`AWS_LAMBDA_COGNITO_IDENTITY={"cognitoIdentityId":"x"}`,
		"AWS_LAMBDA_TENANT_ID=tenant-7",
		"PYTHONUNBUFFERED=1",
		"LAMBDA_TASK_ROOT=" + handlersDir(t),
		"PWD=" + handlersDir(t),
	} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("handler environment lacks %q", want)
		}
	}
	// The next invocation has no trace id: the variable must be gone, not stale.
	env = string(call(t, srv, "env").Body)
	for _, name := range []string{"_X_AMZN_TRACE_ID", "AWS_LAMBDA_CLIENT_CONTEXT", "AWS_LAMBDA_COGNITO_IDENTITY", "AWS_LAMBDA_TENANT_ID"} {
		if strings.Contains(env, "\n"+name+"=") || strings.HasPrefix(env, name+"=") {
			t.Errorf("%s leaked into an invocation without it", name)
		}
	}
}

func TestOutputIsStreamedAsWritten(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, nil)
	inv := call(t, srv, "tick")
	wantSuccess(t, inv, "first\nsecond\n")
	if len(inv.Chunks) != 2 {
		t.Fatalf("got %d chunks, want 2 (one per write): %+v", len(inv.Chunks), inv.Chunks)
	}
	// The handler sleeps 1 s between its lines: the first must have reached
	// the Runtime API long before the second, not together at the end.
	if gap := inv.Chunks[1].At.Sub(inv.Chunks[0].At); gap < 500*time.Millisecond {
		t.Errorf("first line arrived only %v before the second: output was buffered", gap)
	}
}

func TestBinaryOutputPassesIntact(t *testing.T) {
	var all [256]byte
	for i := range all {
		all[i] = byte(i)
	}
	payload := bytes.Repeat(all[:], 4096) // 1 MiB with every byte value, NULs included
	file := filepath.Join(t.TempDir(), "binary")
	if err := os.WriteFile(file, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, _ := start(t, runtimeapitest.Options{}, nil)
	inv := call(t, srv, "cat-file "+file)
	wantSuccess(t, inv, string(payload))
}

func TestLargeOutputInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and streams 200 MB")
	}
	const size = 200 << 20
	file := filepath.Join(t.TempDir(), "large")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{7})
	buf := make([]byte, 1<<20)
	for written := 0; written < size; written += len(buf) {
		_, _ = rng.Read(buf)
		h.Write(buf)
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	var want [32]byte
	copy(want[:], h.Sum(nil))

	// 200 MiB is above the default 200 MB cap (TestMaxResponseBytes).
	srv, p := start(t, runtimeapitest.Options{}, nil, "--max-response-bytes=0", "--", "./behave.sh")
	srv.SetRecordData(false)
	inv := call(t, srv, "cat-file "+file)
	if inv.Outcome != "response" || inv.ErrorType() != "" || inv.Truncated {
		t.Fatalf("outcome %q error %q truncated %v", inv.Outcome, inv.ErrorType(), inv.Truncated)
	}
	if inv.BodySize != size || inv.BodySHA256 != want {
		t.Fatalf("received %d bytes (sha %x), want %d (sha %x)", inv.BodySize, inv.BodySHA256, size, want)
	}
	if hwm, err := p.PeakRSS(); err != nil || hwm > 40<<20 {
		t.Errorf("bootstrap peak RSS %d MiB while streaming 200 MB; want constant memory", hwm>>20)
	}
}

func TestFailureAfterOutputEndsWithTrailers(t *testing.T) {
	tests := []struct {
		action  string
		body    string
		errType string
		message string
		stack   string
	}{
		{"exit-after", "partial\n", "Runtime.ExitError", "exit status 3", "last words"},
		{"kill-self", "out\n", "Runtime.ExitError", "signal: killed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			srv, _ := start(t, runtimeapitest.Options{}, nil)
			inv := call(t, srv, tt.action)
			if inv.Outcome != "response" || string(inv.Body) != tt.body || inv.Truncated {
				t.Fatalf("outcome %q body %q truncated %v", inv.Outcome, inv.Body, inv.Truncated)
			}
			if inv.ErrorType() != tt.errType {
				t.Errorf("error type %q, want %q", inv.ErrorType(), tt.errType)
			}
			doc := errorDoc(t, inv)
			if doc["errorMessage"] != tt.message || doc["errorType"] != tt.errType {
				t.Errorf("error document %v", doc)
			}
			if tt.stack != "" && !strings.Contains(fmt.Sprint(doc["stackTrace"]), tt.stack) {
				t.Errorf("stackTrace %v lacks %q", doc["stackTrace"], tt.stack)
			}
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
		})
	}
}

func TestFailureBeforeOutputUsesErrorEndpoint(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, nil)
	inv := call(t, srv, "exit-before")
	if inv.Outcome != "error" {
		t.Fatalf("outcome %q, want error", inv.Outcome)
	}
	if got := inv.Header.Get("Lambda-Runtime-Function-Error-Type"); got != "Runtime.ExitError" {
		t.Errorf("error type header %q", got)
	}
	doc := errorDoc(t, inv)
	if doc["errorMessage"] != "exit status 4" || !strings.Contains(fmt.Sprint(doc["stackTrace"]), "nothing to say") {
		t.Errorf("error document %v", doc)
	}
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
}

func TestEmptySuccessIsAnEmptyStream(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, nil)
	wantSuccess(t, call(t, srv, "empty"), "")
}

func TestDeadlineStopsTheHandlerAndTheNextInvocationRuns(t *testing.T) {
	tests := []struct {
		action  string
		outcome string
	}{
		{"sleep", "response"},       // output began: trailers
		{"sleep-silent", "error"},   // nothing written: /error
		{"ignore-term", "response"}, // ignores SIGTERM: SIGKILL after the grace
	}
	const (
		timeout = 3 * time.Second
		margin  = 2 * time.Second
	)
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			// The deadline counts from the hand-out (Event.Timeout), not from
			// before the bootstrap started, however long that took. Stopped
			// 2s before the deadline, killed 200ms later: that leaves 1.8s
			// to report, which only a hang can miss.
			srv, p := start(t, runtimeapitest.Options{}, nil, "--deadline-margin", margin.String(), "--kill-grace", "200ms", "--", "./behave.sh")
			inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: []byte(tt.action), Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			if inv.Outcome != tt.outcome || inv.ErrorType() != "Runtime.HandlerTimeout" {
				t.Fatalf("outcome %q error %q", inv.Outcome, inv.ErrorType())
			}
			// "timed out after" is the handler's start to the stop: at most
			// the hand-out to the stop, and at least its first output to
			// the stop when it wrote any. The bootstrap sees the deadline
			// in whole milliseconds.
			stopAt := time.UnixMilli(inv.Event.Deadline.UnixMilli()).Add(-margin)
			msg, _ := errorDoc(t, inv)["errorMessage"].(string)
			d, ok := timedOutAfter(msg)
			// The message rounds to the millisecond: up to half of one over.
			if !ok || d <= 0 || d > stopAt.Sub(inv.HandedOut)+time.Millisecond/2 || d != d.Round(time.Millisecond) {
				t.Errorf("message %q, want \"timed out after\" at most %v", msg, stopAt.Sub(inv.HandedOut))
			} else if len(inv.Chunks) > 0 && d < stopAt.Sub(inv.Chunks[0].At).Round(time.Millisecond) {
				t.Errorf("message %q, but the first output came %v before the stop", msg, stopAt.Sub(inv.Chunks[0].At))
			}
			if inv.Done.Before(stopAt) {
				t.Errorf("reported %v before the stop (deadline minus the margin)", stopAt.Sub(inv.Done))
			}
			if inv.Done.After(inv.Event.Deadline) {
				t.Errorf("reported %v after the deadline", inv.Done.Sub(inv.Event.Deadline))
			}
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			if left := p.Marked(); len(left) > 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}

// timedOutAfter parses the duration of a "timed out after D, ..." message.
func timedOutAfter(msg string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(msg, "timed out after ")
	if !ok {
		return 0, false
	}
	rest, _, _ = strings.Cut(rest, ",")
	d, err := time.ParseDuration(rest)
	return d, err == nil
}

func TestOrphanHoldingStdoutDoesNotHoldTheInvocation(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil)
	begin := time.Now()
	wantSuccess(t, call(t, srv, "orphan"), "hi\n")
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("invocation took %v: it waited for the orphan", d)
	}
	if !bootstraptest.WaitFor(2*time.Second, func() bool { return len(p.Marked()) == 0 }) {
		t.Errorf("the orphan survived: %v", p.Marked())
	}
}

func TestEscapedChildIsEndedToo(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	srv, p := start(t, runtimeapitest.Options{}, nil)
	wantSuccess(t, call(t, srv, "escape"), "hi\n")
	if !bootstraptest.WaitFor(2*time.Second, func() bool { return len(p.Marked()) == 0 }) {
		t.Errorf("a child in its own session survived the invocation: %v", p.Marked())
	}
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
}

func TestHandlerThatIgnoresALargeEvent(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, nil, "--", "./ignore-stdin.sh")
	big := bytes.Repeat([]byte("x"), 6<<20)
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: big})
	if err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, inv, "ok\n")
	wantSuccess(t, call(t, srv, "again"), "ok\n")
}

func TestHandlerThatWritesBeforeReadingALargeEvent(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, nil)
	srv.SetRecordData(false)
	payload := append([]byte("big-then-read\n"), bytes.Repeat([]byte("y"), 6<<20)...)
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	want := append(make([]byte, 1<<20), fmt.Sprintf("%d\n", 6<<20)...)
	if inv.BodySize != int64(len(want)) || inv.BodySHA256 != sha256.Sum256(want) || inv.ErrorType() != "" {
		t.Fatalf("body of %d bytes, error %q", inv.BodySize, inv.ErrorType())
	}
}

func TestMissingHandlerIsAnInitError(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string
		typ  string
	}{
		{"missing path", nil, []string{"--", "./no-such-handler.sh"}, "no-such-handler.sh", "Runtime.HandlerNotFound"},
		{"not executable", nil, []string{"--", "not-executable.sh"}, "exists but is not executable: chmod +x " + filepath.Join(handlersDir(t), "not-executable.sh"), "Runtime.HandlerNotFound"},
		{"missing from _HANDLER", []string{"_HANDLER=nowhere-to-be-found arg"}, nil, "nowhere-to-be-found", "Runtime.HandlerNotFound"},
		{"no handler at all", nil, nil, "no handler", "Runtime.HandlerNotFound"},
		{"malformed _HANDLER", []string{`_HANDLER=python3 'app.py`}, nil, "_HANDLER", "Runtime.MalformedHandlerName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: tt.args, TaskRoot: handlersDir(t), Env: tt.env})
			wantInitError(t, srv, p, tt.typ, tt.want)
		})
	}
}

// wantInitError checks that the bootstrap reported one init error of type
// typ, whose message and log line both carry each of want, then exited
// non-zero without asking for an event.
func wantInitError(t *testing.T, srv *runtimeapitest.Server, p *bootstraptest.Process, typ string, want ...string) {
	t.Helper()
	code, ok := p.Wait(10 * time.Second)
	if !ok || code == 0 {
		t.Fatalf("bootstrap still running or exited 0 (code %d)", code)
	}
	errs := srv.InitErrors()
	if len(errs) != 1 {
		t.Fatalf("%d init errors, want 1", len(errs))
	}
	if got := errs[0].Header.Get("Lambda-Runtime-Function-Error-Type"); got != typ {
		t.Errorf("type %q, want %q", got, typ)
	}
	var doc map[string]any
	if err := json.Unmarshal(errs[0].Body, &doc); err != nil {
		t.Fatalf("init error body %q: %v", errs[0].Body, err)
	}
	msg := fmt.Sprint(doc["errorMessage"])
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q lacks %q", msg, w)
		}
		if !strings.Contains(p.Stderr(), w) {
			t.Errorf("log lacks %q:\n%s", w, p.Stderr())
		}
	}
	if srv.NextCalls() != 0 {
		t.Errorf("/next was called %d times after an init error", srv.NextCalls())
	}
}

func TestNoRuntimeAPIIsAClearError(t *testing.T) {
	p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{Args: []string{"--", "./behave.sh"}, TaskRoot: handlersDir(t)})
	code, ok := p.Wait(10 * time.Second)
	if !ok || code == 0 || !strings.Contains(p.Stderr(), "AWS_LAMBDA_RUNTIME_API is not set") {
		t.Fatalf("exit %d (exited %v), stderr:\n%s", code, ok, p.Stderr())
	}
}

func TestNextFailureIsFatal(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*runtimeapitest.Server)
	}{
		{"500", func(s *runtimeapitest.Server) { s.FailNext(500) }},
		{"dropped connection", func(s *runtimeapitest.Server) { s.DropNext() }},
		{"server gone", func(s *runtimeapitest.Server) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			srv.AllowViolations()
			tt.inject(srv)
			p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: []string{"--", "./behave.sh"}, TaskRoot: handlersDir(t)})
			code, ok := p.Wait(10 * time.Second)
			if !ok || code == 0 {
				t.Fatalf("bootstrap did not exit non-zero (code %d, exited %v)", code, ok)
			}
			// The call is named once, by the client that made it.
			if !strings.Contains(p.Stderr(), "GET /2018-06-01/runtime/invocation/next: ") || strings.Contains(p.Stderr(), `Get "http`) {
				t.Errorf("stderr does not say what failed, once:\n%s", p.Stderr())
			}
		})
	}
}

func TestResponseStreamBrokenByTheRuntimeAPI(t *testing.T) {
	tests := []struct {
		name   string
		inject func(s *runtimeapitest.Server, id string)
		fatal  bool
	}{
		{"connection reset", func(s *runtimeapitest.Server, id string) { s.ResetResponse(id, 100000) }, false},
		{"413 mid-stream", func(s *runtimeapitest.Server, id string) { s.RespondEarly(id, 413, 100000) }, false},
		{"400 mid-stream", func(s *runtimeapitest.Server, id string) { s.RespondEarly(id, 400, 10) }, false},
		{"500 mid-stream", func(s *runtimeapitest.Server, id string) { s.RespondEarly(id, 500, 1000) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil)
			srv.AllowViolations()
			srv.SetRecordData(false)
			tt.inject(srv, "broken-1") // before the event exists: no race with the bootstrap
			id := srv.Enqueue(runtimeapitest.Event{RequestID: "broken-1", Payload: []byte("yes")})
			if _, err := srv.Wait(ctx(t, 30*time.Second), id); err != nil {
				t.Fatal(err)
			}
			if tt.fatal {
				if code, ok := p.Wait(10 * time.Second); !ok || code == 0 {
					t.Fatalf("a 500 must make the bootstrap exit non-zero (code %d, exited %v)", code, ok)
				}
				return
			}
			srv.SetRecordData(true)
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			if !p.WaitStderr("broken-1", 5*time.Second) {
				t.Errorf("the failure was not logged with the request id:\n%s", p.Stderr())
			}
			if left := p.Marked(); len(left) > 0 {
				t.Errorf("the handler of the broken stream is still running: %v", left)
			}
		})
	}
}

// TestSIGTERMFinishesTheInvocationAndExits: the handler's group gets
// SIGTERM, the in-flight response ends as Runtime.Shutdown, and the
// bootstrap exits 0 at once, saying why. --graceful-shutdown (the extension
// that makes Lambda send that SIGTERM) changes none of it.
func TestSIGTERMFinishesTheInvocationAndExits(t *testing.T) {
	for _, graceful := range []bool{false, true} {
		t.Run(fmt.Sprintf("graceful-shutdown=%v", graceful), func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil, fmt.Sprintf("--graceful-shutdown=%v", graceful), "--", "./behave.sh")
			id := srv.Enqueue(runtimeapitest.Event{Payload: []byte("trap-term")})
			// The handler runs its `sleep 30` once its trap is set and its
			// first line written.
			if !bootstraptest.WaitFor(30*time.Second, func() bool { return p.Runs("sleep", "30") }) {
				t.Fatal("handler did not start")
			}
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// The handler sleeps 30s: 10s catches waiting for it.
			code, ok := p.Wait(10 * time.Second)
			if !ok || code != 0 {
				t.Fatalf("bootstrap exit %d (exited %v), want a prompt 0", code, ok)
			}
			inv, err := srv.Wait(ctx(t, 10*time.Second), id)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Outcome != "response" || string(inv.Body) != "start\n" || inv.ErrorType() != "Runtime.Shutdown" || inv.Truncated {
				t.Errorf("outcome %q body %q error %q truncated %v", inv.Outcome, inv.Body, inv.ErrorType(), inv.Truncated)
			}
			for _, want := range []string{"got TERM", "shutting down", "terminated signal received"} {
				if !strings.Contains(p.Stderr(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, p.Stderr())
				}
			}
			if left := p.Marked(); len(left) > 0 {
				t.Errorf("processes left behind: %v", left)
			}
			if graceful {
				wantRegisteredInTime(t, srv)
			} else if regs := srv.Registrations(); len(regs) != 0 {
				t.Errorf("registered without graceful shutdown: %+v", regs)
			}
		})
	}
}

// TestSIGTERMWhileIdleSaysSoAndExits: an idle bootstrap (in /next) that
// gets SIGTERM exits 0 at once, and the log line that says why is written
// before it exits, however quickly it gets there.
func TestSIGTERMWhileIdleSaysSoAndExits(t *testing.T) {
	for _, graceful := range []bool{false, true} {
		t.Run(fmt.Sprintf("graceful-shutdown=%v", graceful), func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil, fmt.Sprintf("--graceful-shutdown=%v", graceful), "--", "./behave.sh")
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			if err := srv.WaitNextCalls(ctx(t, 30*time.Second), 2); err != nil {
				t.Fatal(err)
			}
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			code, ok := p.Wait(10 * time.Second)
			if !ok || code != 0 {
				t.Fatalf("bootstrap exit %d (exited %v), want 0", code, ok)
			}
			// The process has exited: everything it wrote is in the pipe,
			// which reaches Stderr once Wait has returned.
			if !strings.Contains(p.Stderr(), "terminated signal received") {
				t.Errorf("stderr lacks the shutdown line:\n%s", p.Stderr())
			}
		})
	}
}

func TestHundredInvocationsLeakNothing(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil)
	actions := []string{"hello", "orphan", "exit-after", "exit-before"}
	// Warm up every path once: the HTTP client keeps a second idle
	// connection after its first /error, which is reuse, not a leak.
	for _, a := range actions {
		call(t, srv, a)
	}
	fds0, err := p.OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		action := actions[i%4]
		inv := call(t, srv, action)
		if action == "hello" {
			wantSuccess(t, inv, "hello\n")
		}
	}
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
	if !bootstraptest.WaitFor(2*time.Second, func() bool { return len(p.Marked()) == 0 }) {
		t.Errorf("processes left behind: %v", p.Marked())
	}
	fds, err := p.OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	// Pipes and files must come back to where they were; sockets are the
	// HTTP client's keep-alive pool, bounded by its idle limit (2) plus the
	// /next in flight.
	for _, kind := range []string{"pipe", "file", "anon_inode"} {
		if fds[kind] > fds0[kind] {
			t.Errorf("open %s fds grew from %d to %d over 100 invocations", kind, fds0[kind], fds[kind])
		}
	}
	if fds["socket"] > 3 {
		t.Errorf("%d sockets open after 100 invocations", fds["socket"])
	}
	if n := srv.Connections(); n > 210 {
		t.Errorf("%d connections for 102 invocations", n)
	}
}

func TestHandlerStderrGoesToTheLog(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		srv, p := start(t, runtimeapitest.Options{}, nil)
		wantSuccess(t, call(t, srv, "stderr-lines"), "done\n")
		// The bootstrap wrote the line before answering; our copy of its
		// stderr may lag behind.
		p.WaitStderr("plain line", 5*time.Second)
		if !strings.Contains(p.Stderr(), "\nplain line\n") && !strings.HasPrefix(p.Stderr(), "plain line\n") {
			t.Errorf("stderr line not forwarded as is:\n%s", p.Stderr())
		}
	})
	t.Run("json", func(t *testing.T) {
		srv, p := start(t, runtimeapitest.Options{}, []string{"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=DEBUG"})
		inv := call(t, srv, "stderr-lines")
		wantSuccess(t, inv, "done\n")
		// The bootstrap logs the end after the Runtime API's 202.
		p.WaitStderr("invocation done", 5*time.Second)
		var wrapped, passed, done bool
		for _, line := range strings.Split(strings.TrimSpace(p.Stderr()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("not a JSON line: %q", line)
				continue
			}
			switch {
			case rec["message"] == "plain line":
				wrapped = rec["requestId"] == inv.RequestID && rec["level"] == "INFO" && rec["timestamp"] != nil
			case rec["message"] == "structured":
				passed = rec["level"] == "WARN" && rec["requestId"] == nil // untouched
			case rec["message"] == "invocation done": // a success: at DEBUG
				done = rec["requestId"] == inv.RequestID && rec["level"] == "DEBUG"
			}
		}
		if !wrapped || !passed || !done {
			t.Errorf("wrapped %v passed-through %v done-line %v in:\n%s", wrapped, passed, done, p.Stderr())
		}
	})
	t.Run("log level filters the bootstrap's own records", func(t *testing.T) {
		srv, p := start(t, runtimeapitest.Options{}, []string{"AWS_LAMBDA_LOG_LEVEL=ERROR"})
		wantSuccess(t, call(t, srv, "stderr-lines"), "done\n")
		// A failure after output: WARN and INFO lines, both below ERROR.
		if inv := call(t, srv, "exit-after"); inv.Outcome != "response" {
			t.Errorf("exit-after: outcome %q, want a response with error trailers", inv.Outcome)
		}
		wantSuccess(t, call(t, srv, "hello"), "hello\n") // the others' ends are logged by now, if at all
		if !p.WaitStderr("plain line", 5*time.Second) || strings.Contains(p.Stderr(), "invocation done") || strings.Contains(p.Stderr(), "failed after output") {
			t.Errorf("stderr:\n%s", p.Stderr())
		}
	})
	t.Run("a success's end at DEBUG, a failure's at INFO", func(t *testing.T) {
		srv, p := start(t, runtimeapitest.Options{}, nil)
		ok := call(t, srv, "hello")
		wantSuccess(t, ok, "hello\n")
		failed := call(t, srv, "exit-after")
		wantSuccess(t, call(t, srv, "hello"), "hello\n")
		if !p.WaitStderr(`"success": false`, 5*time.Second) {
			t.Fatalf("no INFO end line for the failed invocation %s:\n%s", failed.RequestID, p.Stderr())
		}
		for _, line := range strings.Split(p.Stderr(), "\n") {
			if !strings.Contains(line, "invocation done") {
				continue
			}
			if strings.Contains(line, ok.RequestID) || !strings.Contains(line, failed.RequestID) || !strings.Contains(line, "\tINFO\t") {
				t.Errorf("at the default level only the failure's end is logged, at INFO: %q", line)
			}
		}
	})
}

func TestConcurrentLoops(t *testing.T) {
	const n = 3
	dir := t.TempDir()
	srv, p := start(t, runtimeapitest.Options{Concurrency: n}, []string{fmt.Sprintf("AWS_LAMBDA_MAX_CONCURRENCY=%d", n), "AWS_LAMBDA_LOG_LEVEL=DEBUG"})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = srv.Enqueue(runtimeapitest.Event{Payload: []byte(fmt.Sprintf("barrier %d %s", n, dir))})
	}
	for _, id := range ids {
		inv, err := srv.Wait(ctx(t, 30*time.Second), id)
		if err != nil {
			t.Fatal(err)
		}
		// Each handler waited until all n were running at once.
		wantSuccess(t, inv, fmt.Sprintf("%d\n", n))
	}
	// Each loop logs the end of its invocation after the 202; our copy of
	// the bootstrap's stderr may lag behind.
	if !bootstraptest.WaitFor(5*time.Second, func() bool { return strings.Count(p.Stderr(), "invocation done") == n }) {
		t.Fatalf("expected %d end-of-invocation lines:\n%s", n, p.Stderr())
	}
	for _, line := range strings.Split(strings.TrimSpace(p.Stderr()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("with concurrency, logs must be JSON: %q", line)
		}
	}
}

func TestNextIsALongPoll(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil)
	if err := srv.WaitNextCalls(ctx(t, 10*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // an idle function: /next just waits
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
	if err := srv.WaitNextCalls(ctx(t, 10*time.Second), 2); err != nil {
		t.Fatal(err)
	}
	if n := srv.NextCalls(); n != 2 || p.Exited() {
		t.Errorf("%d /next calls (want 2: no retries or timeouts while idle), exited %v", n, p.Exited())
	}
}

func TestPostAnswersDecideWhetherTheLoopGoesOn(t *testing.T) {
	tests := []struct {
		name   string
		action string // exit-before posts /error; hello posts /response
		status int
		fatal  bool
	}{
		{"/error answered 400", "exit-before", 400, false},
		{"/error answered 403", "exit-before", 403, false},
		{"/error answered 500", "exit-before", 500, true},
		{"/response answered 413", "hello", 413, false},
		{"/response answered 500", "hello", 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil)
			srv.AllowViolations()
			srv.FailPost("answered-1", tt.status) // before the event exists: no race with the bootstrap
			id := srv.Enqueue(runtimeapitest.Event{RequestID: "answered-1", Payload: []byte(tt.action)})
			if _, err := srv.Wait(ctx(t, 30*time.Second), id); err != nil {
				t.Fatal(err)
			}
			if tt.fatal {
				if code, ok := p.Wait(10 * time.Second); !ok || code == 0 {
					t.Fatalf("a %d must make the bootstrap exit non-zero (code %d, exited %v)", tt.status, code, ok)
				}
				return
			}
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			if !p.WaitStderr("answered-1", 5*time.Second) || !strings.Contains(p.Stderr(), fmt.Sprint(tt.status)) {
				t.Errorf("the refusal was not logged with the request id and status:\n%s", p.Stderr())
			}
		})
	}
}

func TestBackPressureFromASlowRuntimeAPI(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil)
	srv.SetRecordData(false)
	// Lambda's shape scaled down: a burst, then a capped rate. The handler
	// blocks on its pipe; nothing piles up in the bootstrap.
	srv.Throttle(1<<20, 8<<20)
	const size = 24 << 20
	file := filepath.Join(t.TempDir(), "out")
	data := bytes.Repeat([]byte("back-pressure "), size/14)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	inv := call(t, srv, "cat-file "+file)
	if inv.BodySize != int64(len(data)) || inv.BodySHA256 != sha256.Sum256(data) || inv.ErrorType() != "" {
		t.Fatalf("received %d bytes, error %q", inv.BodySize, inv.ErrorType())
	}
	if hwm, err := p.PeakRSS(); err != nil || hwm > 40<<20 {
		t.Errorf("peak RSS %d MiB under back-pressure", hwm>>20)
	}
}
