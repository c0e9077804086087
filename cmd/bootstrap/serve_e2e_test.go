package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/eventstream"
)

var listenLine = regexp.MustCompile(`Function URL: +(http://[0-9.:]+)/`)

// startServe starts `bootstrap serve` on a free loopback port with args
// (flags, "--", handler) and returns it with its base URL.
func startServe(t *testing.T, env []string, args ...string) (*bootstraptest.Process, string) {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)
	p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{Args: args, TaskRoot: handlersDir(t), Env: env})
	if !p.WaitStderr("Ctrl-C stops.", 20*time.Second) {
		t.Fatalf("serve did not start:\n%s", p.Stderr())
	}
	m := listenLine.FindStringSubmatch(p.Stderr())
	if m == nil {
		t.Fatalf("no Function URL line:\n%s", p.Stderr())
	}
	return p, m[1]
}

// serveHTTP starts serve in http mode on the Python test handler.
func serveHTTP(t *testing.T, flags ...string) (*bootstraptest.Process, string) {
	return startServe(t, nil, append(append([]string{"--mode", "http"}, flags...), "--", "./serve-http.py")...)
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readLine reads up to and including the next '\n' of r, or fails.
func readLine(t *testing.T, r io.Reader) string {
	t.Helper()
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := io.ReadFull(r, one); err != nil {
			t.Fatalf("after %q: %v", b, err)
		}
		b = append(b, one[0])
		if one[0] == '\n' {
			return string(b)
		}
	}
}

// TestServeFunctionURLStreams: the first line reaches the client while the
// handler still waits for the test's go-ahead, which it gives only then: a
// front that buffered would never deliver it. No clock is involved.
func TestServeFunctionURLStreams(t *testing.T) {
	_, base := serveHTTP(t)
	goFile := filepath.Join(t.TempDir(), "go")
	resp := get(t, base+"/stream?go="+goFile)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	if l := readLine(t, resp.Body); l != "first\n" {
		t.Fatalf("first line %q", l)
	}
	if _, err := os.Stat(goFile); err == nil {
		t.Fatal("the go-ahead exists before the first line was read")
	}
	touch(t, goFile)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "last\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

func TestServeFunctionURLStatusHeadersCookies(t *testing.T) {
	_, base := serveHTTP(t)
	resp := get(t, base+"/headers")
	body, _ := io.ReadAll(resp.Body)
	cookies := resp.Header.Values("Set-Cookie")
	if resp.StatusCode != 201 || resp.Header.Get("X-Custom") != "yes" || string(body) != "ok" ||
		len(cookies) != 2 || cookies[0] != "a=1; Path=/" || cookies[1] != "b=2; HttpOnly" {
		t.Fatalf("status %d, headers %v, body %q", resp.StatusCode, resp.Header, body)
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Error("no request id header")
	}
}

func TestServeFunctionURLBinaryBothWays(t *testing.T) {
	_, base := serveHTTP(t)
	in := make([]byte, 70000)
	for i := range in {
		in[i] = byte(i * 7)
	}
	resp, err := http.Post(base+"/echo", "application/octet-stream", bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(out, in) {
		t.Fatalf("status %d, %d bytes back (%v), equal %v", resp.StatusCode, len(out), err, bytes.Equal(out, in))
	}
}

func TestServeFunctionURLFailures(t *testing.T) {
	p, base := serveHTTP(t)
	// Before any output: 502 Internal Server Error.
	resp := get(t, base+"/fail")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadGateway || strings.TrimSpace(string(body)) != "Internal Server Error" {
		t.Errorf("fail: %d %q", resp.StatusCode, body)
	}
	// After output began: the response ends without its terminating chunk.
	goFile := filepath.Join(t.TempDir(), "go")
	resp = get(t, base+"/crash?go="+goFile)
	if l := readLine(t, resp.Body); l != "partial\n" || resp.StatusCode != 200 {
		t.Fatalf("crash: %d %q", resp.StatusCode, l)
	}
	touch(t, goFile)
	if rest, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("crash: the response ended cleanly (%q, %v)", rest, err)
	}
	if !p.WaitStderr("function failed after its response began", 5*time.Second) {
		t.Error("the mid-stream failure is not logged")
	}
	// The worker is fine afterwards.
	if resp := get(t, base+"/headers"); resp.StatusCode != 201 {
		t.Errorf("next request: %d", resp.StatusCode)
	}
}

// TestServeClientDisconnectMidStream: the function runs on when its client
// goes away, and the worker serves the next request.
func TestServeClientDisconnectMidStream(t *testing.T) {
	p, base := serveHTTP(t)
	goFile := filepath.Join(t.TempDir(), "go")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stream?go="+goFile, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readLine(t, resp.Body)
	cancel()
	resp.Body.Close()
	touch(t, goFile)
	if !p.WaitStderr("stream: sent last", 10*time.Second) {
		t.Fatal("the handler did not run to its end")
	}
	if resp := get(t, base+"/headers"); resp.StatusCode != 201 {
		t.Errorf("next request: %d", resp.StatusCode)
	}
}

// TestServeConcurrencyAndQueue: N requests run at once with --concurrency N;
// the N+1th waits for a worker (its handler has not started), then runs.
func TestServeConcurrencyAndQueue(t *testing.T) {
	const n = 3
	_, base := serveHTTP(t, "--concurrency", "3")
	dir, goFile := t.TempDir(), filepath.Join(t.TempDir(), "go")
	var wg sync.WaitGroup
	bodies := make([]string, n+1)
	for i := range n + 1 {
		if i == n {
			// The extra one is sent once the n others hold their workers.
			if !bootstraptest.WaitFor(20*time.Second, func() bool { e, _ := os.ReadDir(dir); return len(e) == n }) {
				t.Fatal("the n requests did not all start")
			}
		}
		wg.Go(func() {
			resp, err := http.Get(base + "/hold?dir=" + dir + "&go=" + goFile)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			bodies[i] = string(b)
		})
	}
	// Give the extra request time to be taken, if the front let it through.
	time.Sleep(500 * time.Millisecond)
	if e, _ := os.ReadDir(dir); len(e) != n {
		t.Fatalf("%d handlers started with --concurrency %d", len(e), n)
	}
	touch(t, goFile)
	wg.Wait()
	for i, b := range bodies {
		if b != "started\nreleased\n" {
			t.Errorf("request %d: %q", i, b)
		}
	}
}

// TestServeTimeoutAndThrottle: with one worker held past its timeout, the
// invocation fails as a timeout, and of two requests waiting for the worker
// one gets it and the other 429 TooManyRequestsException after the timeout.
func TestServeTimeoutAndThrottle(t *testing.T) {
	_, base := startServe(t, nil, "--timeout", "2s", "--", "./serve-raw.sh")
	invoke := func() (*http.Response, []byte) {
		resp, err := http.Post(base+"/2015-03-31/functions/function/invocations", "application/json", strings.NewReader(`"sleep"`))
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	var wg sync.WaitGroup
	type answer struct {
		status  int
		errType string
		body    string
	}
	answers := make([]answer, 3)
	for i := range 3 {
		wg.Go(func() {
			resp, b := invoke()
			if resp != nil {
				answers[i] = answer{resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType") + resp.Header.Get("X-Amz-Function-Error"), string(b)}
			}
		})
	}
	wg.Wait()
	timeouts, throttled := 0, 0
	for _, a := range answers {
		switch {
		case a.status == 200 && a.errType == "Unhandled" && strings.Contains(a.body, "Runtime.HandlerTimeout"):
			timeouts++
		case a.status == 429 && a.errType == "TooManyRequestsException" && strings.Contains(a.body, `"Type":"User"`):
			throttled++
		default:
			t.Errorf("unexpected answer %+v", a)
		}
	}
	if timeouts < 1 || throttled < 1 {
		t.Errorf("%d timeouts, %d throttled: %+v", timeouts, throttled, answers)
	}
}

func TestServeInvokeAPI(t *testing.T) {
	_, base := startServe(t, nil, "--function-name", "fn", "--", "./serve-raw.sh")
	url := base + "/2015-03-31/functions/fn/invocations"
	post := func(url, body string, hdr ...string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := post(url, `"x"`) // serve-raw.sh: unknown action → exit 64 before output
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(body, `"errorType"`) {
		t.Errorf("function error: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = post(url, `"hello"`, "X-Amz-Log-Type", "Tail")
	logs, _ := base64.StdEncoding.DecodeString(resp.Header.Get("X-Amz-Log-Result"))
	if resp.StatusCode != 200 || body != "hello\n" || resp.Header.Get("X-Amz-Executed-Version") != "$LATEST" ||
		!regexp.MustCompile(`(?s)START RequestId: \S+ Version: \$LATEST\n.*END RequestId: .*REPORT RequestId: .*\tDuration: [0-9.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB`).Match(logs) {
		t.Errorf("hello: %d %q %v log %q", resp.StatusCode, body, resp.Header, logs)
	}
	if resp, _ := post(url, "{}", "X-Amz-Invocation-Type", "DryRun"); resp.StatusCode != 204 {
		t.Errorf("DryRun: %d", resp.StatusCode)
	}
	if resp, _ := post(url, `"hello"`, "X-Amz-Invocation-Type", "Event"); resp.StatusCode != 202 {
		t.Errorf("Event: %d", resp.StatusCode)
	}
	resp, body = post(base+"/2015-03-31/functions/other/invocations", "{}")
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" || !strings.Contains(body, "function:other") {
		t.Errorf("unknown function: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = post(url, `"`+strings.Repeat("x", 6*1024*1024)+`"`)
	if resp.StatusCode != 413 || resp.Header.Get("X-Amzn-ErrorType") != "RequestTooLargeException" {
		t.Errorf("large payload: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = post(url, `"big 7000000"`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(body, "Function.ResponseSizeTooLarge") {
		t.Errorf("large response: %d %v %.200s", resp.StatusCode, resp.Header, body)
	}
}

func TestServeInvokeWithResponseStream(t *testing.T) {
	_, base := startServe(t, nil, "--", "./serve-raw.sh")
	url := base + "/2021-11-15/functions/function/response-streaming-invocations"
	for _, tt := range []struct {
		payload, body, code string
	}{
		{`"chunks"`, "chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n", ""},
		{`"exit-after"`, "partial\n", "Runtime.ExitError"},
		{`"exit-before"`, "", "Runtime.ExitError"},
	} {
		t.Run(strings.Trim(tt.payload, `"`), func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(tt.payload))
			req.Header.Set("X-Amz-Log-Type", "Tail")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != eventstream.ContentType {
				t.Fatalf("%d %v", resp.StatusCode, resp.Header)
			}
			dec := eventstream.NewDecoder(resp.Body)
			var body []byte
			chunks := 0
			for {
				m, err := dec.Decode()
				if err != nil {
					t.Fatalf("after %q: %v", body, err)
				}
				typ, _ := m.Get(eventstream.HeaderEventType)
				if mt, _ := m.Get(eventstream.HeaderMessageType); mt.Str != "event" {
					t.Fatalf(":message-type %q", mt.Str)
				}
				if typ.Str == eventstream.EventPayloadChunk {
					body = append(body, m.Payload...)
					chunks++
					continue
				}
				if typ.Str != eventstream.EventInvokeComplete {
					t.Fatalf("event %q", typ.Str)
				}
				var done eventstream.InvokeComplete
				if err := json.Unmarshal(m.Payload, &done); err != nil {
					t.Fatal(err)
				}
				logs, _ := base64.StdEncoding.DecodeString(done.LogResult)
				if string(body) != tt.body || done.ErrorCode != tt.code || !bytes.Contains(logs, []byte("REPORT RequestId: ")) {
					t.Errorf("body %q, complete %+v, log %q", body, done, logs)
				}
				if tt.code == "" && chunks < 2 {
					t.Errorf("%d PayloadChunk events for five writes", chunks)
				}
				if _, err := dec.Decode(); err != io.EOF {
					t.Errorf("after InvokeComplete: %v", err)
				}
				return
			}
		})
	}
}

func TestServeFunctionEnvironment(t *testing.T) {
	_, base := serveHTTP(t, "--function-name", "envfn", "--memory", "256", "--region", "eu-west-1")
	resp := get(t, base+"/env")
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"AWS_LAMBDA_FUNCTION_NAME=envfn\n", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256\n",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST\n", "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/envfn\n", "AWS_LAMBDA_LOG_STREAM_NAME=",
		"AWS_REGION=eu-west-1\n", "AWS_DEFAULT_REGION=eu-west-1\n",
		"AWS_LAMBDA_INVOKED_FUNCTION_ARN=arn:aws:lambda:eu-west-1:000000000000:function:envfn\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %q in\n%s", want, b)
		}
	}
}

// TestServeCtrlC: SIGINT stops serve while an invocation is in flight; the
// client's response ends, the handler is gone, serve exits 0.
func TestServeCtrlC(t *testing.T) {
	p, base := serveHTTP(t)
	dir := t.TempDir()
	resp := get(t, base+"/hold?dir="+dir+"&go="+filepath.Join(dir, "never"))
	if l := readLine(t, resp.Body); l != "started\n" {
		t.Fatalf("%q", l)
	}
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("the interrupted response ended cleanly")
	}
	code, ok := p.Wait(20 * time.Second)
	if !ok || code != 0 {
		t.Fatalf("exit %d (exited %v)", code, ok)
	}
	if left := p.Marked(); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

func TestServeWarnsBeyondLoopback(t *testing.T) {
	p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{
		Args: []string{"serve", "--listen", "0.0.0.0:0", "--", "./serve-raw.sh"}, TaskRoot: handlersDir(t)})
	if !p.WaitStderr("no authentication", 20*time.Second) {
		t.Errorf("no warning:\n%s", p.Stderr())
	}
}
