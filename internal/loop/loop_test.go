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
func runLoop(t *testing.T, cmd invoke.Command, mode Mode, before func(*runtimeapitest.Server)) (*runtimeapitest.Server, chan error, context.CancelFunc) {
	t.Helper()
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	if before != nil {
		before(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	l := New(Config{
		API:            NewClient(srv.Addr(), "streamstrap/test", 1),
		Command:        cmd,
		Env:            []string{"PATH=" + os.Getenv("PATH")},
		Mode:           mode,
		DeadlineMargin: 300 * time.Millisecond,
		KillGrace:      100 * time.Millisecond,
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
		mode      Mode
		payload   string
		timeout   time.Duration
		outcome   string
		body      string
		errorType string
		message   string
	}{
		{"success", `cat`, nil, "event", 0, "response", "event", "", ""},
		{"empty success", `exit 0`, nil, "", 0, "response", "", "", ""},
		{"failure after output", `echo partial; echo why >&2; exit 3`, nil, "", 0, "response", "partial\n", TypeExitError, "exit status 3"},
		{"failure before output", `echo why >&2; exit 4`, nil, "", 0, "error", "", TypeExitError, "exit status 4"},
		{"deadline after output", `echo started; exec sleep 30`, nil, "", time.Second, "response", "started\n", TypeHandlerTimeout, "stopped 300ms (the deadline margin) before the invocation's deadline"},
		{"deadline before output", `exec sleep 30`, nil, "", time.Second, "error", "", TypeHandlerTimeout, "stopped 300ms (the deadline margin) before the invocation's deadline"},
		{"http prelude", `printf 'Status: 201\r\nContent-Type: a/b\r\n\r\nhi'`, HTTPMode{}, "{}", 0, "response", "{\"statusCode\":201,\"headers\":{\"content-type\":\"a/b\"}}\x00\x00\x00\x00\x00\x00\x00\x00hi", "", ""},
		{"malformed header block", `printf 'oops\r\n\r\n'; sleep 5`, HTTPMode{}, "{}", 0, "error", "", TypeInvalidHeaderBlock, "line 1"},
		{"unfinished header block", `printf 'X-A: b\r\n'`, HTTPMode{}, "{}", 0, "error", "", TypeInvalidHeaderBlock, "blank line"},
		{"crash inside the header block", `printf 'X-A: b\r\n'; exit 7`, HTTPMode{}, "{}", 0, "error", "", TypeExitError, "exit status 7"},
		{"cgi mode refuses other events", `cat`, CGIMode{}, `{"Records":[]}`, 0, "error", "", TypeInvalidEvent, "cgi mode needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, _ := runLoop(t, handler(t, tt.script), tt.mode, nil)
			inv := invokeOnce(t, srv, runtimeapitest.Event{Payload: []byte(tt.payload), Timeout: tt.timeout})
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

func TestLoopShutdownFinishesTheInvocation(t *testing.T) {
	srv, done, cancel := runLoop(t, handler(t, `echo start; exec sleep 30`), nil, nil)
	id := srv.Enqueue(runtimeapitest.Event{Payload: []byte("{}")})
	if err := srv.WaitNextCalls(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the handler is running
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a shutdown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown")
	}
	done <- nil // for the cleanup
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	inv, err := srv.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if inv.ErrorType() != TypeShutdown || string(inv.Body) != "start\n" {
		t.Errorf("type %q body %q", inv.ErrorType(), inv.Body)
	}
}

func TestLoopFatalErrors(t *testing.T) {
	tests := []struct {
		name   string
		inject func(s *runtimeapitest.Server)
		want   int // the status in the StatusError, 0 for a transport error
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
				var se *StatusError
				if !errors.As(err, &se) || se.StatusCode != tt.want {
					t.Errorf("Run = %v, want a StatusError %d", err, tt.want)
				}
				done <- nil
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not fail")
			}
		})
	}
}
