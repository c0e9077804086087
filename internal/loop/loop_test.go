package loop

// In-process tests of Loop against the strict Runtime API server, with real
// handler processes. The bootstrap binary is tested the same way from the
// outside in cmd/bootstrap; these pin the loop's own decisions.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/mode"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// handler writes a shell script and returns the Command that runs it.
func handler(t *testing.T, body string) invoke.Command {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "handler.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return invoke.Command{Path: path, Dir: dir}
}

// runLoop runs a Loop for cmd against a fresh server until the test ends;
// before, if not nil, prepares the server (faults) before the loop starts.
func runLoop(t *testing.T, cmd invoke.Command, m mode.Mode, before func(*runtimeapitest.Server)) (*runtimeapitest.Server, chan error, context.CancelFunc) {
	t.Helper()
	return runLoopWith(t, cmd, m, before, nil)
}

// runLoopWith is runLoop with a Config.HandlerExited hook.
func runLoopWith(t *testing.T, cmd invoke.Command, m mode.Mode, before func(*runtimeapitest.Server), exited func(string, invoke.Result)) (*runtimeapitest.Server, chan error, context.CancelFunc) {
	t.Helper()
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	if before != nil {
		before(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	l := New(Config{
		API:            runtimeapi.NewClient(srv.Addr(), "streamstrap/test", 1),
		Command:        cmd,
		Env:            []string{"PATH=" + os.Getenv("PATH")},
		Mode:           m,
		DeadlineMargin: 300 * time.Millisecond,
		KillGrace:      100 * time.Millisecond,
		HandlerExited:  exited,
	})
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the loop did not stop after its context was cancelled")
		}
	})
	return srv, done, cancel
}

func invokeOnce(t *testing.T, srv *runtimeapitest.Server, ev runtimeapitest.Event) *runtimeapitest.Invocation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inv, err := srv.Invoke(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestLoopOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		mode      mode.Mode
		payload   string
		timeout   time.Duration
		outcome   string
		body      string
		errorType string
		message   string
	}{
		{"success", `cat`, nil, "event", 0, "response", "event", "", ""},
		{"empty success", `exit 0`, nil, "", 0, "response", "", "", ""},
		{"failure after output", `echo partial; echo why >&2; exit 3`, nil, "", 0, "response", "partial\n", runtimeapi.TypeExitError, "exit status 3"},
		{"failure before output", `echo why >&2; exit 4`, nil, "", 0, "error", "", runtimeapi.TypeExitError, "exit status 4"},
		// The head announced at the spawn is over a second old at the
		// first byte: it is dropped, and the response goes out whole on a
		// fresh connection.
		{"first byte after the announce went stale", `sleep 1.2; echo late`, nil, "", 0, "response", "late\n", "", ""},
		// 3s: the handler has 2.7s to write its line before it is stopped.
		{"deadline after output", `echo started; exec sleep 30`, nil, "", 3 * time.Second, "response", "started\n", runtimeapi.TypeHandlerTimeout, "stopped 300ms (the deadline margin) before the invocation's deadline"},
		{"deadline before output", `exec sleep 30`, nil, "", time.Second, "error", "", runtimeapi.TypeHandlerTimeout, "stopped 300ms (the deadline margin) before the invocation's deadline"},
		{"http prelude", `printf 'Status: 201\r\nContent-Type: a/b\r\n\r\nhi'`, mode.HTTPMode{}, "{}", 0, "response", "{\"statusCode\":201,\"headers\":{\"content-type\":\"a/b\"}}\x00\x00\x00\x00\x00\x00\x00\x00hi", "", ""},
		{"malformed header block", `printf 'oops\r\n\r\n'; sleep 5`, mode.HTTPMode{}, "{}", 0, "error", "", runtimeapi.TypeInvalidHeaderBlock, "line 1"},
		{"unfinished header block", `printf 'X-A: b\r\n'`, mode.HTTPMode{}, "{}", 0, "error", "", runtimeapi.TypeInvalidHeaderBlock, "blank line"},
		{"crash inside the header block", `printf 'X-A: b\r\n'; exit 7`, mode.HTTPMode{}, "{}", 0, "error", "", runtimeapi.TypeExitError, "exit status 7"},
		{"cgi mode refuses other events", `cat`, mode.CGIMode{}, `{"Records":[]}`, 0, "error", "", runtimeapi.TypeInvalidEvent, "cgi mode needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exits := make(chan exit, 4)
			srv, _, _ := runLoopWith(t, handler(t, tt.script), tt.mode, nil, func(id string, res invoke.Result) {
				exits <- exit{id, res, time.Now()}
			})
			inv := invokeOnce(t, srv, runtimeapitest.Event{Payload: []byte(tt.payload), Timeout: tt.timeout})
			checkExited(t, exits, inv, tt.errorType != runtimeapi.TypeInvalidEvent)
			if inv.Outcome != tt.outcome || inv.ErrorType() != tt.errorType {
				t.Fatalf("outcome %q type %q, want %q %q", inv.Outcome, inv.ErrorType(), tt.outcome, tt.errorType)
			}
			if tt.outcome == "response" && string(inv.Body) != tt.body {
				t.Errorf("body %q, want %q", inv.Body, tt.body)
			}
			if tt.errorType != "" {
				doc, err := inv.DecodedErrorBody()
				if err != nil || !strings.Contains(doc["errorMessage"].(string), tt.message) {
					t.Errorf("error document %v (%v), want a message with %q", doc, err, tt.message)
				}
			}
			// Whatever happened, the next invocation runs (and ends the
			// same way: same handler, same deadline).
			next := invokeOnce(t, srv, runtimeapitest.Event{Payload: []byte(tt.payload), Timeout: tt.timeout})
			if next.Outcome != tt.outcome || next.ErrorType() != tt.errorType {
				t.Errorf("next invocation: outcome %q type %q", next.Outcome, next.ErrorType())
			}
		})
	}
}

// exit is one call of Config.HandlerExited.
type exit struct {
	id  string
	res invoke.Result
	at  time.Time
}

// checkExited checks the HandlerExited calls of invocation inv: one if a
// handler ran (with its success), made before the server recorded the
// outcome, with the handler's Result; none if no handler ran.
func checkExited(t *testing.T, exits chan exit, inv *runtimeapitest.Invocation, ran bool) {
	t.Helper()
	var got []exit
	for len(exits) > 0 {
		got = append(got, <-exits)
	}
	if !ran {
		if len(got) != 0 {
			t.Errorf("HandlerExited called %d times for an invocation without a handler", len(got))
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("HandlerExited called %d times, want once", len(got))
	}
	e := got[0]
	if e.id != inv.RequestID || e.res.Duration <= 0 || !e.at.Before(inv.Done) {
		t.Errorf("HandlerExited(%q, %+v) at %v, want (%q, the handler's result) before the outcome at %v",
			e.id, e.res, e.at, inv.RequestID, inv.Done)
	}
	if wantOK := inv.ErrorType() == ""; wantOK && !e.res.Success() {
		t.Errorf("HandlerExited got a failed result %q for a successful invocation", e.res.Message())
	}
}

func TestLoopShutdownFinishesTheInvocation(t *testing.T) {
	// The handler creates a file once its line is written: the shutdown
	// comes after that, however slowly the handler started.
	ready := filepath.Join(t.TempDir(), "ready")
	srv, done, cancel := runLoop(t, handler(t, `echo start; : >'`+ready+`'; exec sleep 30`), nil, nil)
	id := srv.Enqueue(runtimeapitest.Event{Payload: []byte("{}")})
	if !waitFile(ready, 30*time.Second) {
		t.Fatal("the handler did not start")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the shutdown")
	}
	done <- nil // for the cleanup
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	inv, err := srv.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if inv.ErrorType() != runtimeapi.TypeShutdown || string(inv.Body) != "start\n" {
		t.Errorf("type %q body %q", inv.ErrorType(), inv.Body)
	}
}

// waitFile polls for path to exist, for at most timeout.
func waitFile(path string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
	}
	return false
}

func TestLoopFatalErrors(t *testing.T) {
	tests := []struct {
		name   string
		inject func(s *runtimeapitest.Server)
		want   int // the status in the runtimeapi.StatusError, 0 for a transport error
	}{
		{"next answers 500", func(s *runtimeapitest.Server) { s.FailNext(500) }, 500},
		{"next answers 403", func(s *runtimeapitest.Server) { s.FailNext(403) }, 403},
		{"error answers 500", func(s *runtimeapitest.Server) {
			s.FailPost("r-500", 500)
			s.Enqueue(runtimeapitest.Event{RequestID: "r-500"})
		}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The faults are in place before the first /next.
			_, done, _ := runLoop(t, handler(t, `exit 9`), nil, func(s *runtimeapitest.Server) {
				s.AllowViolations()
				tt.inject(s)
			})
			select {
			case err := <-done:
				var se *runtimeapi.StatusError
				if !errors.As(err, &se) || se.StatusCode != tt.want {
					t.Errorf("Run = %v, want a runtimeapi.StatusError %d", err, tt.want)
				}
				done <- nil
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not fail")
			}
		})
	}
}
