package runtimeapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// waitDone waits for the extension's event/next goroutine to end.
func waitDone(t *testing.T, e *Extension) {
	t.Helper()
	select {
	case <-e.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the event/next goroutine did not end")
	}
}

// waitEventNext waits until registration i has called event/next.
func waitEventNext(t *testing.T, srv *runtimeapitest.Server, i int) runtimeapitest.Registration {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if regs := srv.Registrations(); len(regs) > i && regs[i].EventNextCalls > 0 {
			return regs[i]
		}
	}
	t.Fatalf("registration %d never called event/next: %+v", i, srv.Registrations())
	return runtimeapitest.Registration{}
}

func TestRegisterShutdownExtension(t *testing.T) {
	tests := []struct {
		name     string
		opts     ExtensionOptions
		wantName string
	}{
		{"default name", ExtensionOptions{UserAgent: "streamstrap/test"}, DefaultExtensionName},
		{"own name", ExtensionOptions{Name: "graceful", UserAgent: "streamstrap/test"}, "graceful"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			ext, err := RegisterShutdownExtension(context.Background(), srv.Addr(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			reg := waitEventNext(t, srv, 0)
			if reg.Name != tt.wantName || reg.ID != ext.ID() || reg.Status != http.StatusOK || len(reg.Events) != 0 ||
				reg.NextCallsBefore != 0 || reg.Header.Get("User-Agent") != "streamstrap/test" {
				t.Errorf("registration %+v, extension id %q", reg, ext.ID())
			}

			// The runtime's loop is served as usual: the event waited for
			// the extension's event/next, which keeps blocking.
			c := NewClient(srv.Addr(), "streamstrap/test", 1)
			defer c.CloseIdle()
			id := srv.Enqueue(runtimeapitest.Event{Payload: []byte("{}")})
			inv, err := c.Next(context.Background())
			if err != nil || inv.RequestID != id {
				t.Fatalf("next: %v, %+v", err, inv)
			}
			if err := c.PostError(context.Background(), id, FunctionError{Type: TypeExitError, Message: "m"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ext.Done():
				t.Fatalf("event/next ended: %v", ext.Err())
			case <-time.After(50 * time.Millisecond):
			}

			ext.Close()
			waitDone(t, ext)
			if err := ext.Err(); err != nil {
				t.Errorf("Err after Close = %v, want nil", err)
			}
			if n := len(srv.Registrations()); n != 1 {
				t.Errorf("%d registrations, want 1", n)
			}
		})
	}
}

// TestExtensionEndsWithTheContext: cancelling the context given at
// registration ends the event/next goroutine as Close does.
func TestExtensionEndsWithTheContext(t *testing.T) {
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ext, err := RegisterShutdownExtension(ctx, srv.Addr(), ExtensionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitEventNext(t, srv, 0)
	cancel()
	waitDone(t, ext)
	if err := ext.Err(); err != nil {
		t.Errorf("Err = %v, want nil", err)
	}
	ext.Close() // idempotent after the end
}

// TestExtensionEventNextEnds: when the API ends event/next (here it goes
// away), Done closes, and Err and OnEnd say what happened.
func TestExtensionEventNextEnds(t *testing.T) {
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	ended := make(chan error, 2)
	ext, err := RegisterShutdownExtension(context.Background(), srv.Addr(), ExtensionOptions{
		OnEnd: func(err error) { ended <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	waitEventNext(t, srv, 0)
	srv.Close()
	waitDone(t, ext)
	const want = "GET /2020-01-01/extension/event/next: "
	if err := ext.Err(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Err = %v, want the event/next failure", err)
	}
	if len(ended) != 1 {
		t.Fatalf("OnEnd called %d times, want once", len(ended))
	}
	if err := <-ended; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("OnEnd got %v, want the event/next failure", err)
	}
}

// hangingAddr returns the address of a listener that accepts connections
// and never answers.
func hangingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestRegisterShutdownExtensionFailures(t *testing.T) {
	tests := []struct {
		name       string
		addr       func(t *testing.T) string
		opts       ExtensionOptions
		wantStatus int      // a *StatusError with this status; 0 for none
		want       []string // substrings of the error
		wantErr    error    // errors.Is target, or nil
	}{
		{
			name: "500",
			addr: func(t *testing.T) string {
				srv := runtimeapitest.New(t, runtimeapitest.Options{})
				srv.FailRegister(500)
				return srv.Addr()
			},
			wantStatus: 500,
			want:       []string{"POST /2020-01-01/extension/register: Runtime API answered 500: ", `"errorType":"ServiceException"`},
		},
		{
			name: "after the runtime's first /next",
			addr: func(t *testing.T) string {
				srv := runtimeapitest.New(t, runtimeapitest.Options{})
				srv.AllowViolations()
				c := NewClient(srv.Addr(), "ua", 1)
				t.Cleanup(c.CloseIdle)
				srv.Enqueue(runtimeapitest.Event{})
				if _, err := c.Next(context.Background()); err != nil {
					t.Fatal(err)
				}
				return srv.Addr()
			},
			wantStatus: 403,
			want:       []string{"403", "Extension.RegistrationClosed"},
		},
		{
			name: "no identifier",
			addr: func(t *testing.T) string {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					_, _ = w.Write([]byte(`{"functionName":"f"}`))
				}))
				t.Cleanup(srv.Close)
				return strings.TrimPrefix(srv.URL, "http://")
			},
			want: []string{"POST /2020-01-01/extension/register: ", "no Lambda-Extension-Identifier header"},
		},
		{
			name:    "no answer",
			addr:    hangingAddr,
			opts:    ExtensionOptions{RegisterTimeout: 100 * time.Millisecond},
			want:    []string{"POST /2020-01-01/extension/register: "},
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "nobody listening",
			addr: func(t *testing.T) string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				ln.Close()
				return ln.Addr().String()
			},
			want: []string{"POST /2020-01-01/extension/register: ", "connection refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr(t)
			start := time.Now()
			ext, err := RegisterShutdownExtension(context.Background(), addr, tt.opts)
			if err == nil {
				ext.Close()
				t.Fatal("registration succeeded")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("failing took %v", d)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			status := 0
			if se := (*StatusError)(nil); errors.As(err, &se) {
				status = se.StatusCode
			}
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (error %v)", status, tt.wantStatus, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
		})
	}
}
