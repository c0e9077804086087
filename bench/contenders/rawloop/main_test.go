package main

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// TestInvocations runs the real rawloop binary against the strict Runtime
// API, twice per case, so that each outcome leaves the next invocation
// working.
func TestInvocations(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rawloop")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building rawloop: %v\n%s", err, out)
	}
	big := bytes.Repeat([]byte("x"), 1<<20) // larger than a pipe and a read
	tests := []struct {
		name    string
		handler []string
		event   []byte
		body    []byte
		errType string
	}{
		{"echo of a big event", []string{"cat"}, big, big, ""},
		{"no output", []string{"true"}, []byte(`{}`), nil, ""},
		{"unread big event", []string{"sh", "-c", "echo ok"}, big, []byte("ok\n"), ""},
		{"failure after output", []string{"sh", "-c", "echo hi; exit 3"}, []byte(`{}`), []byte("hi\n"), "Runtime.ExitError"},
		{"failure before output", []string{"false"}, []byte(`{}`), nil, "Runtime.ExitError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			p := bootstraptest.Start(t, bin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: tt.handler, TaskRoot: t.TempDir()})
			for i := range 2 {
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				inv, err := srv.Invoke(ctx, runtimeapitest.Event{Payload: tt.event})
				cancel()
				if err != nil {
					t.Fatalf("invocation %d: %v; stderr:\n%s", i, err, p.Stderr())
				}
				if inv.Outcome != "response" || inv.Status != http.StatusAccepted || !inv.Streaming || inv.Truncated {
					t.Errorf("invocation %d: outcome %q status %d streaming %v truncated %v", i, inv.Outcome, inv.Status, inv.Streaming, inv.Truncated)
				}
				if !bytes.Equal(inv.Body, tt.body) {
					t.Errorf("invocation %d: body of %d bytes %.40q, want %d bytes %.40q", i, len(inv.Body), inv.Body, len(tt.body), tt.body)
				}
				if got := inv.ErrorType(); got != tt.errType {
					t.Errorf("invocation %d: error type %q, want %q", i, got, tt.errType)
				}
			}
			if v := srv.Violations(); len(v) > 0 {
				t.Errorf("Runtime API violations: %q", v)
			}
		})
	}
}
