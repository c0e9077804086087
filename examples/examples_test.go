package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
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

var bootstrapBin string // built once in TestMain

func TestMain(m *testing.M) { os.Exit(bootstraptest.Main(m, &bootstrapBin)) }

// TestExamplesThroughBootstrap runs every example the way Lambda runs the
// deployed template: the bootstrap with LAMBDA_TASK_ROOT set to the
// example's directory and _HANDLER to the template's Handler (STREAMSTRAP_MODE
// =http for the HTTP ones), against the strict test Runtime API.
func TestExamplesThroughBootstrap(t *testing.T) {
	for _, ex := range examples {
		name := ex.handler
		if ex.prespawn {
			name += "+prespawn"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			root, err := filepath.Abs(ex.dir)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bootstrapBin)
			cmd.Env = append(os.Environ(),
				"AWS_LAMBDA_RUNTIME_API="+srv.Addr(),
				"LAMBDA_TASK_ROOT="+root,
				"_HANDLER="+ex.handler,
				"TMPDIR="+t.TempDir(),
			)
			if ex.http {
				cmd.Env = append(cmd.Env, "STREAMSTRAP_MODE=http")
			}
			if ex.prespawn {
				cmd.Env = append(cmd.Env, "STREAMSTRAP_PRESPAWN=1")
			}
			var logs bytes.Buffer
			cmd.Stdout = &logs
			cmd.Stderr = &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case err := <-exited:
					if err != nil {
						t.Errorf("bootstrap exited with %v after SIGTERM", err)
					}
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					<-exited
					t.Error("bootstrap did not exit within 5s of SIGTERM")
				}
				if t.Failed() {
					t.Logf("bootstrap's log:\n%s", logs.String())
				}
			}()

			event, err := os.ReadFile(filepath.Join(ex.dir, ex.event))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			inv, err := srv.Invoke(ctx, runtimeapitest.Event{Payload: event, Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if inv.Outcome != "response" || !inv.Streaming || inv.Truncated || inv.ErrorType() != "" {
				t.Fatalf("outcome %s, streaming %v, truncated %v, error %q; body %q", inv.Outcome, inv.Streaming, inv.Truncated, inv.ErrorType(), inv.Body)
			}
			if len(inv.Chunks) < 2 {
				t.Errorf("the body came in %d chunk(s): not streamed", len(inv.Chunks))
			} else if spread := inv.Chunks[len(inv.Chunks)-1].At.Sub(inv.Chunks[0].At); spread < time.Duration(ex.minSpreadMS)*time.Millisecond {
				t.Errorf("the body arrived within %v, want it spread over at least %dms as written", spread, ex.minSpreadMS)
			}

			body := string(inv.Body)
			if ex.http {
				body = checkPrelude(t, ex.handler, inv, body)
			}
			if err := ex.check(body, inv.RequestID); err != nil {
				t.Error(err)
			}
		})
	}
}

// checkPrelude checks a Function URL streaming response: the prelude JSON,
// eight NUL bytes, then the body; it returns the body.
func checkPrelude(t *testing.T, handler string, inv *runtimeapitest.Invocation, body string) string {
	t.Helper()
	if ct := inv.Header.Get("Content-Type"); ct != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("Content-Type %q, want application/vnd.awslambda.http-integration-response", ct)
	}
	prelude, rest, ok := strings.Cut(body, strings.Repeat("\x00", 8))
	if !ok {
		t.Fatalf("no 8-NUL separator after the prelude:\n%q", body)
	}
	var p struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
	}
	if err := json.Unmarshal([]byte(prelude), &p); err != nil {
		t.Fatalf("prelude %q: %v", prelude, err)
	}
	want := httpHeaders[handler]
	ct := ""
	for k, v := range p.Headers {
		if strings.EqualFold(k, "Content-Type") {
			ct = v
		}
	}
	if p.StatusCode != 200 || ct != want.contentType {
		t.Errorf("prelude %s: want statusCode 200, Content-Type %s", prelude, want.contentType)
	}
	for _, c := range want.cookies {
		if !containsString(p.Cookies, c) {
			t.Errorf("prelude cookies %q lack %q", p.Cookies, c)
		}
	}
	if len(p.Cookies) == 0 {
		t.Errorf("prelude %s has no cookies", prelude)
	}
	return rest
}
