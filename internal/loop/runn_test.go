package loop

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

func TestRunN(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		fatal bool // the first /next answers 500
	}{
		{"one loop, cancelled", 1, false},
		{"three loops, cancelled", 3, false},
		{"zero counts as one", 0, false},
		{"three loops, one fatal error stops all", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{Concurrency: max(tt.n, 1)})
			if tt.fatal {
				srv.AllowViolations()
				srv.FailNext(500)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- RunN(ctx, Config{
					API:     runtimeapi.NewClient(srv.Addr(), "streamstrap/test", max(tt.n, 1)),
					Command: handler(t, `cat`),
					Env:     []string{"PATH=" + os.Getenv("PATH")},
				}, tt.n)
			}()
			if !tt.fatal {
				inv := invokeOnce(t, srv, runtimeapitest.Event{Payload: []byte(`"ping"`)})
				if inv.Outcome != "response" || string(inv.Body) != `"ping"` {
					t.Errorf("outcome %q body %q", inv.Outcome, inv.Body)
				}
				cancel()
			}
			select {
			case err := <-done:
				var se *runtimeapi.StatusError
				switch {
				case tt.fatal && (!errors.As(err, &se) || se.StatusCode != 500):
					t.Errorf("RunN = %v, want a StatusError 500", err)
				case !tt.fatal && err != nil:
					t.Errorf("RunN = %v after cancel, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("RunN did not return")
			}
		})
	}
}
