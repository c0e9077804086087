package loop

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/mode"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// TestLoopLogsTheResponseSize pins the per-invocation summary: the body size
// on "invocation done", and at the response limit a cut body, the error
// trailers that name the limit, and a warning.
func TestLoopLogsTheResponseSize(t *testing.T) {
	tests := []struct {
		name   string
		script string
		mode   mode.Mode
		limit  int64
		bytes  int64 // on "invocation done"
		warn   bool
	}{
		{"under the limit", `printf 0123456789`, nil, 10, 10, false},
		{"over the limit", `printf 0123456789A`, nil, 10, 10, true},
		{"over the limit in one write, then silence", `printf 0123456789ABC; exec sleep 30`, nil, 10, 10, true},
		{"empty", `exit 0`, nil, 10, 0, false},
		{"failure after output", `printf abc; exit 3`, nil, 10, 3, false},
		// The prelude counts: it is part of what Lambda streams.
		{"http prelude", `printf 'Status: 204\r\n\r\n'`, mode.HTTPMode{}, 100, int64(len(`{"statusCode":204}`) + 8), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			core, logs := observer.New(zapcore.DebugLevel)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			l := New(Config{
				API:           runtimeapi.NewClient(srv.Addr(), "streamstrap/test", 1),
				Command:       handler(t, tt.script),
				Env:           []string{"PATH=" + os.Getenv("PATH")},
				Mode:          tt.mode,
				Logger:        logging.NewLogger(core, ""),
				ResponseLimit: tt.limit,
			})
			go func() { done <- l.Run(ctx) }()
			defer func() {
				cancel()
				<-done
			}()
			inv := invokeOnce(t, srv, runtimeapitest.Event{Payload: []byte("{}")})
			if inv.Outcome != "response" || int64(len(inv.Body)) != tt.bytes {
				t.Fatalf("outcome %q with %d bytes, want a response of %d", inv.Outcome, len(inv.Body), tt.bytes)
			}
			// The summary is logged after the Runtime API's 202, which the
			// server records first: wait for it, boundedly.
			var summary []observer.LoggedEntry
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
				if summary = logs.FilterMessage("invocation done").All(); len(summary) > 0 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if len(summary) != 1 {
				t.Fatalf("%d \"invocation done\" lines, want 1", len(summary))
			}
			fields := summary[0].ContextMap()
			if fields["bytes"] != tt.bytes || fields["requestId"] != inv.RequestID {
				t.Errorf("summary fields %v, want bytes=%d requestId=%s", fields, tt.bytes, inv.RequestID)
			}
			if got := inv.ErrorType(); (got == runtimeapi.TypeResponseSizeTooLarge) != tt.warn {
				t.Errorf("error type %q, want the size error: %v", got, tt.warn)
			}
			if tt.warn {
				doc, err := inv.DecodedErrorBody()
				if err != nil || !strings.Contains(fmt.Sprint(doc["errorMessage"]), "limit of 10 bytes") {
					t.Errorf("error body %v, %v: want the limit named", doc, err)
				}
			}
			warned := logs.FilterMessageSnippet("cut at the size limit").All()
			if got := len(warned) == 1; got != tt.warn {
				t.Errorf("limit warnings: %d, want warn=%v", len(warned), tt.warn)
			}
			if tt.warn && (warned[0].Level != zapcore.WarnLevel || warned[0].ContextMap()["limit"] != tt.limit) {
				t.Errorf("warning %+v", warned[0])
			}
		})
	}
}
