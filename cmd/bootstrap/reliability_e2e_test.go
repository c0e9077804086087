package main

// End-to-end tests of the bootstrap against a hostile or broken Runtime API
// (issue 11): the real binary, real handlers, and the strict server's fault
// injection. Each checks what the Runtime API saw, that the next invocation
// works (or that the bootstrap exits as documented), and that no handler
// process is left behind.

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// wantNothingLeft waits (boundedly) until no process of the bootstrap's
// handlers is alive.
func wantNothingLeft(t *testing.T, p *bootstraptest.Process) {
	t.Helper()
	if !bootstraptest.WaitFor(10*time.Second, func() bool { return len(p.Marked()) == 0 }) {
		t.Errorf("processes left behind: %v", p.Marked())
	}
}

// enqueue queues payload under a fresh id after faults(id) has armed the
// server, and waits for the outcome.
func enqueue(t *testing.T, srv *runtimeapitest.Server, payload string, faults func(id string)) *runtimeapitest.Invocation {
	t.Helper()
	id := fmt.Sprintf("rel-%d", time.Now().UnixNano())
	if faults != nil {
		faults(id)
	}
	srv.Enqueue(runtimeapitest.Event{RequestID: id, Payload: []byte(payload)})
	inv, err := srv.Wait(ctx(t, 60*time.Second), id)
	if err != nil {
		t.Fatalf("invoke %q: %v", firstLine(payload), err)
	}
	return inv
}

func TestMaxResponseBytes(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		args  []string
		event string
		want  int64 // body bytes the Runtime API gets
		cut   bool
	}{
		{name: "over the cap: cut and reported", args: []string{"--max-response-bytes", "1000"}, event: "big 5000", want: 1000, cut: true},
		{name: "endless output: cut", args: []string{"--max-response-bytes=100000"}, event: "yes", want: 100000, cut: true},
		{name: "exactly the cap", args: []string{"--max-response-bytes", "1000"}, event: "big 1000", want: 1000},
		{name: "environment", env: []string{"STREAMSTRAP_MAX_RESPONSE_BYTES=10"}, event: "big 11", want: 10, cut: true},
		{name: "0 turns it off", env: []string{"STREAMSTRAP_MAX_RESPONSE_BYTES=10"}, args: []string{"--max-response-bytes=0"}, event: "big 5000", want: 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, tt.env, append(tt.args, "--", "./behave.sh")...)
			inv := call(t, srv, tt.event)
			if inv.Outcome != "response" || inv.Status != 202 || inv.Truncated || inv.BodySize != tt.want {
				t.Fatalf("outcome %q status %d truncated %v, %d bytes; want a complete response of %d",
					inv.Outcome, inv.Status, inv.Truncated, inv.BodySize, tt.want)
			}
			if got := inv.ErrorType(); (got == "Function.ResponseSizeTooLarge") != tt.cut {
				t.Fatalf("error type %q, cut %v", got, tt.cut)
			}
			if tt.cut {
				doc := errorDoc(t, inv)
				if msg := fmt.Sprint(doc["errorMessage"]); !strings.Contains(msg, fmt.Sprintf("limit of %d bytes", tt.want)) {
					t.Errorf("message %q does not name the limit", msg)
				}
				if !p.WaitStderr("response cut at the size limit", 5*time.Second) {
					t.Errorf("no log line for the cut")
				}
			}
			wantNothingLeft(t, p)
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
		})
	}
	t.Run("negative is refused", func(t *testing.T) {
		_, p := start(t, runtimeapitest.Options{}, nil, "--max-response-bytes=-1", "--", "./behave.sh")
		if code, ok := p.Wait(10 * time.Second); !ok || code != 2 {
			t.Fatalf("exit %d (exited %v), want 2", code, ok)
		}
	})
}

func TestInterimAnswersAreSkipped(t *testing.T) {
	for _, before := range []bool{true, false} {
		t.Run(fmt.Sprintf("before the body %v", before), func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil)
			inv := enqueue(t, srv, "chunks", func(id string) { srv.SendInterim(id, before, 100, 103) })
			wantSuccess(t, inv, "chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n")
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			if strings.Contains(p.Stderr(), "refused") || strings.Contains(p.Stderr(), "failed") {
				t.Errorf("interim answers were logged as a failure:\n%s", p.Stderr())
			}
			wantNothingLeft(t, p)
		})
	}
}

// TestStoppedPeer: a Runtime API that never answers a post, or stops reading
// a stream, is given up on after --peer-timeout; the handler is stopped, the
// give-up is logged with the request id, and the next invocation works.
func TestStoppedPeer(t *testing.T) {
	tests := []struct {
		name  string
		event string
		fault func(srv *runtimeapitest.Server, id string)
		log   string
	}{
		{"response never answered", "hello", func(srv *runtimeapitest.Server, id string) { srv.HoldPost(id) }, "no answer within"},
		{"error never answered", "exit-before", func(srv *runtimeapitest.Server, id string) { srv.HoldPost(id) }, "deadline exceeded"},
		{"reader stops", "yes", func(srv *runtimeapitest.Server, id string) { srv.StallResponse(id, 1<<20) }, "accepted no byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil, "--peer-timeout", "500ms", "--", "./behave.sh")
			var id string
			enqueue(t, srv, tt.event, func(i string) { id = i; tt.fault(srv, i) })
			if !p.WaitStderr(tt.log, 20*time.Second) {
				t.Fatalf("no %q in the log", tt.log)
			}
			for _, line := range strings.Split(p.Stderr(), "\n") {
				if strings.Contains(line, tt.log) && !strings.Contains(line, id) {
					t.Errorf("log line without the request id %s: %s", id, line)
				}
			}
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			wantNothingLeft(t, p)
		})
	}
}

// TestShutdownEndsAStoppedPeerWait: with the default 30 s peer timeout, a
// SIGTERM still ends the wait for a post that is never answered at once,
// and the bootstrap exits 0.
func TestShutdownEndsAStoppedPeerWait(t *testing.T) {
	for _, event := range []string{"hello", "exit-before", "stall"} {
		t.Run(event, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil)
			if event == "stall" {
				// The reader stops while the handler is still writing.
				id := "stall-" + event
				srv.StallResponse(id, 1)
				srv.Enqueue(runtimeapitest.Event{RequestID: id, Payload: []byte("yes")})
				if _, err := srv.Wait(ctx(t, 30*time.Second), id); err != nil {
					t.Fatal(err)
				}
			} else {
				enqueue(t, srv, event, func(id string) { srv.HoldPost(id) })
			}
			time.Sleep(200 * time.Millisecond) // the bootstrap is now waiting
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// Far below the 30 s the wait would otherwise take.
			code, ok := p.Wait(10 * time.Second)
			if !ok || code != 0 {
				t.Fatalf("exit %d (exited %v), want 0 soon after SIGTERM", code, ok)
			}
			wantNothingLeft(t, p)
		})
	}
}

// TestCraftedRequestIDs: whatever the id holds, the post lands on
// /invocation/<id>/… as one escaped segment (the strict server records a
// violation otherwise), and the next invocation works.
func TestCraftedRequestIDs(t *testing.T) {
	for _, id := range []string{"../init/error#", "a/b", "a?b", "%zz", "a\tb", "a b", "é/%2F"} {
		t.Run(id, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil)
			for _, tt := range []struct{ event, outcome string }{{"hello", "response"}, {"exit-before", "error"}} {
				rid := id + tt.event
				srv.Enqueue(runtimeapitest.Event{RequestID: rid, Payload: []byte(tt.event)})
				inv, err := srv.Wait(ctx(t, 30*time.Second), rid)
				if err != nil {
					t.Fatal(err)
				}
				if inv.Outcome != tt.outcome || inv.Status != 202 {
					t.Fatalf("%s: outcome %q status %d", tt.event, inv.Outcome, inv.Status)
				}
			}
			if len(srv.InitErrors()) != 0 {
				t.Fatalf("an invocation's post reached /init/error: %+v", srv.InitErrors())
			}
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			wantNothingLeft(t, p)
		})
	}
	t.Run("a dot segment is refused", func(t *testing.T) {
		srv, p := start(t, runtimeapitest.Options{}, nil)
		srv.Enqueue(runtimeapitest.Event{RequestID: "..", Payload: []byte("hello")})
		if code, ok := p.Wait(20 * time.Second); !ok || code != 1 {
			t.Fatalf("exit %d (exited %v), want 1", code, ok)
		}
		if !strings.Contains(p.Stderr(), "cannot be posted to") {
			t.Errorf("the log does not say why:\n%s", p.Stderr())
		}
		wantNothingLeft(t, p)
	})
}

// elsewhere is a listener that counts the connections made to it: a
// redirect target that must never be reached.
func elsewhere(t *testing.T) (url string, hits func() int) {
	t.Helper()
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	srv.AllowViolations()
	return "http://" + srv.Addr() + "/2018-06-01/runtime/invocation/next", srv.Connections
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Run("next: fatal", func(t *testing.T) {
		target, hits := elsewhere(t)
		srv, p := start(t, runtimeapitest.Options{}, nil)
		srv.RedirectNext(307, target)
		if code, ok := p.Wait(20 * time.Second); !ok || code != 1 {
			t.Fatalf("exit %d (exited %v), want 1", code, ok)
		}
		if hits() != 0 {
			t.Errorf("the redirect was followed")
		}
		if !strings.Contains(p.Stderr(), "not followed") {
			t.Errorf("the log does not say why:\n%s", p.Stderr())
		}
	})
	for _, tt := range []struct{ event, outcome string }{{"hello", "response"}, {"exit-before", "error"}} {
		t.Run(tt.outcome, func(t *testing.T) {
			target, hits := elsewhere(t)
			srv, p := start(t, runtimeapitest.Options{}, nil)
			inv := enqueue(t, srv, tt.event, func(id string) { srv.RedirectPost(id, 307, target) })
			if inv.Outcome != tt.outcome || inv.Status != 307 {
				t.Fatalf("outcome %q status %d", inv.Outcome, inv.Status)
			}
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			if hits() != 0 {
				t.Errorf("the redirect was followed")
			}
			if !p.WaitStderr("307", 5*time.Second) {
				t.Errorf("the redirect was not logged")
			}
			wantNothingLeft(t, p)
		})
	}
}

func TestCraftedDeadlines(t *testing.T) {
	for _, v := range []string{"abc", "1796151156081.5", "99999999999999999999", "0", "-5", "1e12", "0x1A"} {
		t.Run(v, func(t *testing.T) {
			srv, p := start(t, runtimeapitest.Options{}, nil)
			inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: []byte("hello"), DeadlineHeader: v})
			if err != nil {
				t.Fatal(err)
			}
			if inv.Outcome != "error" || inv.ErrorType() != "Runtime.InvalidEvent" {
				t.Fatalf("outcome %q error %q, want an InvalidEvent /error", inv.Outcome, inv.ErrorType())
			}
			if msg := fmt.Sprint(errorDoc(t, inv)["errorMessage"]); !strings.Contains(msg, "Lambda-Runtime-Deadline-Ms") {
				t.Errorf("message %q does not name the header", msg)
			}
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			wantNothingLeft(t, p)
		})
	}
	t.Run("missing: no deadline", func(t *testing.T) {
		srv, p := start(t, runtimeapitest.Options{}, nil)
		inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: []byte("env"), OmitDeadline: true})
		if err != nil {
			t.Fatal(err)
		}
		if inv.Outcome != "response" || inv.ErrorType() != "" || strings.Contains(string(inv.Body), "AWS_LAMBDA_DEADLINE_MS") {
			t.Fatalf("outcome %q error %q; env has a deadline: %v", inv.Outcome, inv.ErrorType(), strings.Contains(string(inv.Body), "AWS_LAMBDA_DEADLINE_MS"))
		}
		if !p.WaitStderr("no deadline", 5*time.Second) {
			t.Errorf("no warning")
		}
		wantSuccess(t, call(t, srv, "hello"), "hello\n")
	})
}

func TestOversizedEvent(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil)
	big := make([]byte, 64<<20)
	copy(big, "hello\n")
	inv, err := srv.Invoke(ctx(t, 60*time.Second), runtimeapitest.Event{Payload: big})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Outcome != "error" || inv.ErrorType() != "Runtime.InvalidEvent" {
		t.Fatalf("outcome %q error %q, want an InvalidEvent /error", inv.Outcome, inv.ErrorType())
	}
	if msg := fmt.Sprint(errorDoc(t, inv)["errorMessage"]); !strings.Contains(msg, "larger than") {
		t.Errorf("message %q", msg)
	}
	// The event was never held whole.
	if rss, err := p.PeakRSS(); err != nil || rss > 48<<20 {
		t.Errorf("peak RSS %d MiB (%v), want well under the 64 MiB event", rss>>20, err)
	}
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
	wantNothingLeft(t, p)
}

// TestErrorBodyIsBounded: 25 stderr lines of 70 KB do not make a 1.7 MB
// error document.
func TestErrorBodyIsBounded(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, []string{`_HANDLER=sh -c 'for i in $(seq 25); do head -c 70000 /dev/zero | tr "\0" e >&2; echo >&2; done; exit 1'`}, "--log-level", "error")
	inv := call(t, srv, "{}")
	if inv.Outcome != "error" || inv.ErrorType() != "Runtime.ExitError" {
		t.Fatalf("outcome %q error %q", inv.Outcome, inv.ErrorType())
	}
	if len(inv.Body) > 64<<10 {
		t.Errorf("error body of %d bytes, want at most %d", len(inv.Body), 64<<10)
	}
	if st, _ := errorDoc(t, inv)["stackTrace"].([]any); len(st) == 0 {
		t.Errorf("the stack trace was dropped entirely")
	}
	wantNothingLeft(t, p)
}

// TestUnsolicitedAnswerKeepsJSONLogs: net/http's own complaint about an
// answer on an idle connection goes through the bootstrap's logger, so a
// JSON log stays JSON, line by line.
func TestUnsolicitedAnswerKeepsJSONLogs(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, []string{"AWS_LAMBDA_LOG_FORMAT=JSON"})
	srv.SendUnsolicited()
	// The handler's pause lets the transport see the stray answer on the
	// idle /next connection while the invocation runs.
	wantSuccess(t, call(t, srv, "tick"), "first\nsecond\n")
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
	if !p.WaitStderr("Unsolicited response", 5*time.Second) {
		t.Fatalf("net/http's line was not logged:\n%s", p.Stderr())
	}
	for _, line := range strings.Split(strings.TrimSpace(p.Stderr()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not a JSON line: %q", line)
		}
	}
}

// TestEarlyAcceptIsNotASuccess: a 202 before the body ended stops the
// handler and is logged as what it is, not as "invocation done".
func TestEarlyAcceptIsNotASuccess(t *testing.T) {
	srv, p := start(t, runtimeapitest.Options{}, nil)
	var id string
	inv := enqueue(t, srv, "yes", func(i string) { id = i; srv.RespondEarly(i, 202, 1<<20) })
	if inv.Status != 202 || !inv.Truncated {
		t.Fatalf("status %d truncated %v", inv.Status, inv.Truncated)
	}
	if !p.WaitStderr("accepted the response before it ended", 10*time.Second) {
		t.Fatalf("no warning:\n%s", p.Stderr())
	}
	for _, line := range strings.Split(p.Stderr(), "\n") {
		if strings.Contains(line, "invocation done") && strings.Contains(line, id) {
			t.Errorf("logged as done: %s", line)
		}
	}
	wantSuccess(t, call(t, srv, "hello"), "hello\n")
	wantNothingLeft(t, p)
}
