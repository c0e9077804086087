package main

// End-to-end tests of the HTTP modes (http, auto, cgi): the real binary, real
// handler programs, real event samples, and the strict Runtime API.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// eventSample reads a real event sample kept with the cgi package.
func eventSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "cgi", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// preludeJSON is the decoded HTTP-integration prelude.
type preludeJSON struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
}

// splitPrelude checks the request is a prelude response and splits its body.
func splitPrelude(t *testing.T, inv *runtimeapitest.Invocation) (preludeJSON, []byte) {
	t.Helper()
	if ct := inv.Header.Get("Content-Type"); ct != "application/vnd.awslambda.http-integration-response" {
		t.Fatalf("Content-Type = %q, want the prelude type", ct)
	}
	i := bytes.Index(inv.Body, make([]byte, 8))
	if i < 0 || i > 16000 {
		t.Fatalf("no 8-NUL delimiter within the first 16 KB: %q", inv.Body)
	}
	var p preludeJSON
	dec := json.NewDecoder(bytes.NewReader(inv.Body[:i]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("prelude %q: %v", inv.Body[:i], err)
	}
	return p, inv.Body[i+8:]
}

func httpInvoke(t *testing.T, mode, script, event string, extra ...string) (*runtimeapitest.Invocation, *bootstraptest.Process) {
	t.Helper()
	args := append([]string{"--mode", mode}, extra...)
	args = append(args, "--", "./http.sh", script)
	srv, p := start(t, runtimeapitest.Options{}, nil, args...)
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: eventSample(t, event)})
	if err != nil {
		t.Fatal(err)
	}
	return inv, p
}

func TestHTTPModePrelude(t *testing.T) {
	tests := []struct {
		name   string
		script string
		event  string
		want   preludeJSON
		body   string
	}{
		{"status", "status", "function-url-get.json",
			preludeJSON{StatusCode: 404, Headers: map[string]string{"content-type": "text/plain"}}, "not here\n"},
		{"headers and cookies", "headers", "function-url-get.json",
			preludeJSON{StatusCode: 200,
				Headers: map[string]string{"content-type": "text/html; charset=utf-8", "x-multi": "one, two"},
				Cookies: []string{"a=1; Path=/; HttpOnly", "b=2"}}, "<p>hi</p>\n"},
		{"REST event: multiValueHeaders", "headers", "rest-v1-get.json",
			preludeJSON{StatusCode: 200, MultiValueHeaders: map[string][]string{
				"content-type": {"text/html; charset=utf-8"}, "x-multi": {"one", "two"},
				"set-cookie": {"a=1; Path=/; HttpOnly", "b=2"}}}, "<p>hi</p>\n"},
		{"LF line ends", "lf", "http-api-v2-get.json",
			preludeJSON{StatusCode: 201, Headers: map[string]string{"content-type": "application/json"}}, `{"created":true}` + "\n"},
		{"redirect with an empty body", "redirect", "function-url-get.json",
			preludeJSON{StatusCode: 302, Headers: map[string]string{"location": "https://example.com/new"}}, ""},
		{"204 with no body", "no-content", "function-url-get.json", preludeJSON{StatusCode: 204}, ""},
		// The body comes 0.2 s after the block; the prelude waits for it.
		{"no Content-Type: sniffed from the body", "no-type", "function-url-get.json",
			preludeJSON{StatusCode: 200, Headers: map[string]string{"content-type": "text/html; charset=utf-8", "x-a": "b"}},
			"<!DOCTYPE html>\n<h1>hi</h1>\n"},
		{"non-HTTP event still gets a prelude in http mode", "status", "non-http.json",
			preludeJSON{StatusCode: 404, Headers: map[string]string{"content-type": "text/plain"}}, "not here\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, _ := httpInvoke(t, "http", tt.script, tt.event)
			if inv.Outcome != "response" || inv.ErrorType() != "" || inv.Truncated {
				t.Fatalf("outcome %q error %q truncated %v", inv.Outcome, inv.ErrorType(), inv.Truncated)
			}
			got, body := splitPrelude(t, inv)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("prelude\n got %+v\nwant %+v", got, tt.want)
			}
			if string(body) != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			// Prelude and first body bytes travel together, so nothing can
			// come between them.
			if len(inv.Chunks) > 0 && !bytes.Contains(inv.Chunks[0].Data, make([]byte, 8)) {
				t.Errorf("first chunk does not hold the whole prelude: %q", inv.Chunks[0].Data)
			}
		})
	}
}

func TestHTTPHeaderBlockSplitOverWrites(t *testing.T) {
	inv, _ := httpInvoke(t, "http", "split", "function-url-get.json")
	p, body := splitPrelude(t, inv)
	if p.StatusCode != 201 || p.Headers["content-type"] != "text/plain" || string(body) != "body-startlater" {
		t.Fatalf("prelude %+v body %q", p, body)
	}
	if len(inv.Chunks) != 2 {
		t.Fatalf("%d chunks, want 2 (prelude with the first body bytes, then the rest)", len(inv.Chunks))
	}
	if !bytes.HasSuffix(inv.Chunks[0].Data, []byte("body-start")) {
		t.Errorf("first chunk %q does not end with the first body bytes", inv.Chunks[0].Data)
	}
	if gap := inv.Chunks[1].At.Sub(inv.Chunks[0].At); gap < 500*time.Millisecond {
		t.Errorf("body start arrived only %v before the rest: it was held back", gap)
	}
}

func TestHTTPFailureAfterBodyBegan(t *testing.T) {
	inv, _ := httpInvoke(t, "http", "fail-after-body", "function-url-get.json")
	p, body := splitPrelude(t, inv)
	if p.StatusCode != 200 || string(body) != "partial" {
		t.Fatalf("prelude %+v body %q", p, body)
	}
	if inv.ErrorType() != "Runtime.ExitError" {
		t.Errorf("error type %q", inv.ErrorType())
	}
	doc := errorDoc(t, inv)
	if doc["errorMessage"] != "exit status 3" || !strings.Contains(fmt.Sprint(doc["stackTrace"]), "broke") {
		t.Errorf("error document %v", doc)
	}
}

func TestHTTPMalformedHeaderBlockIsAnErrorReport(t *testing.T) {
	tests := []struct {
		script  string
		errType string
		message []string // substrings of the message
	}{
		{"no-colon", "Runtime.InvalidHeaderBlock", []string{"line 2", "this line has no colon"}},
		{"bad-name", "Runtime.InvalidHeaderBlock", []string{"line 1", "Bad Name"}},
		{"bad-status", "Runtime.InvalidHeaderBlock", []string{"line 1", "99"}},
		{"unfinished", "Runtime.InvalidHeaderBlock", []string{"ended before the blank line"}},
		{"oversized", "Runtime.InvalidHeaderBlock", []string{"16384"}},
		{"crash-in-block", "Runtime.ExitError", []string{"exit status 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			inv, p := httpInvoke(t, "http", tt.script, "function-url-get.json")
			if inv.Outcome != "error" {
				t.Fatalf("outcome %q (body %q), want an /error report and no half-made response", inv.Outcome, inv.Body)
			}
			if got := inv.Header.Get("Lambda-Runtime-Function-Error-Type"); got != tt.errType {
				t.Errorf("error type %q, want %q", got, tt.errType)
			}
			msg := fmt.Sprint(errorDoc(t, inv)["errorMessage"])
			for _, want := range tt.message {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if left := p.Marked(); len(left) > 0 {
				t.Errorf("handler left running: %v", left)
			}
		})
	}
}

func TestAutoModeChoosesPerEvent(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, nil, "--mode", "auto", "--", "./http.sh", "status")
	for _, event := range []string{"function-url-get.json", "http-api-v2-get.json", "rest-v1-get.json"} {
		inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: eventSample(t, event)})
		if err != nil {
			t.Fatal(err)
		}
		if p, body := splitPrelude(t, inv); p.StatusCode != 404 || string(body) != "not here\n" {
			t.Errorf("%s: prelude %+v body %q", event, p, body)
		}
	}
	// A direct invoke (not an HTTP event) gets the raw output: no prelude.
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: eventSample(t, "non-http.json")})
	if err != nil {
		t.Fatal(err)
	}
	if ct := inv.Header.Get("Content-Type"); ct != "application/octet-stream" || !strings.HasPrefix(string(inv.Body), "Status: 404") {
		t.Errorf("non-HTTP event: Content-Type %q body %q", ct, inv.Body)
	}
}

func TestModeFromEnvironmentAndUnknownMode(t *testing.T) {
	srv, _ := start(t, runtimeapitest.Options{}, []string{"STREAMSTRAP_MODE=http"}, "--", "./http.sh", "status")
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: eventSample(t, "function-url-get.json")})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := splitPrelude(t, inv); p.StatusCode != 404 {
		t.Errorf("STREAMSTRAP_MODE=http ignored: %+v", p)
	}
	p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{RuntimeAPI: "127.0.0.1:1", Args: []string{"--mode", "xml", "--", "./http.sh"}, TaskRoot: handlersDir(t)})
	if code, ok := p.Wait(10 * time.Second); !ok || code == 0 || !strings.Contains(p.Stderr(), `--mode: unknown mode "xml"`) {
		t.Errorf("exit %d, stderr %q", code, p.Stderr())
	}
}

func cgiDir(t *testing.T) string {
	dir, err := filepath.Abs("testdata/cgi")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCGIGatewayWithAShellScript(t *testing.T) {
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: []string{"--mode", "cgi", "--", "./echo.cgi"}, TaskRoot: cgiDir(t)})

	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: eventSample(t, "function-url-get.json")})
	if err != nil {
		t.Fatal(err)
	}
	p, body := splitPrelude(t, inv)
	if p.StatusCode != 200 || p.Headers["x-script"] != "shell" || !reflect.DeepEqual(p.Cookies, []string{"seen=GET"}) {
		t.Errorf("prelude %+v", p)
	}
	for _, want := range []string{
		"method=GET", "path=/my/path with spaces", "query=parameter1=value1&parameter1=value2&parameter2=value",
		"uri=/my/path%20with%20spaces?parameter1=value1&parameter1=value2&parameter2=value",
		"remote=198.51.100.7", "server=abcdefghij.lambda-url.us-west-2.on.aws", "protocol=HTTP/1.1",
		"gateway=CGI/1.1", "cookie=cookie1=a; cookie2=b", "agent=curl/8.5.0", "body_bytes=0",
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("CGI output lacks %q:\n%s", want, body)
		}
	}

	// A REST (payload 1.0) POST: its JSON body goes to stdin.
	inv, err = srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: eventSample(t, "rest-v1-post.json")})
	if err != nil {
		t.Fatal(err)
	}
	p, body = splitPrelude(t, inv)
	if !reflect.DeepEqual(p.MultiValueHeaders["set-cookie"], []string{"seen=POST"}) || p.Headers != nil {
		t.Errorf("REST prelude %+v", p)
	}
	var event struct{ Body string }
	_ = json.Unmarshal(eventSample(t, "rest-v1-post.json"), &event)
	if !strings.Contains(string(body), "method=POST\n") || !strings.Contains(string(body), fmt.Sprintf("body_bytes=%d\n", len(event.Body))) {
		t.Errorf("REST CGI output:\n%s", body)
	}

	// A non-HTTP event cannot be a CGI request: a clear error, and the next
	// invocation still works.
	inv, err = srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: eventSample(t, "non-http.json")})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Outcome != "error" || inv.ErrorType() != "Runtime.InvalidEvent" {
		t.Errorf("non-HTTP event in cgi mode: outcome %q type %q", inv.Outcome, inv.ErrorType())
	}
}

func TestCGIGatewayWithAPythonProgramAndABinaryBody(t *testing.T) {
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: []string{"--mode", "cgi", "--", "./upload.py"}, TaskRoot: cgiDir(t)})
	raw := eventSample(t, "function-url-post-base64.json")
	inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: raw})
	if err != nil {
		t.Fatal(err)
	}
	var event struct{ Body string }
	if err := json.Unmarshal(raw, &event); err != nil {
		t.Fatal(err)
	}
	decoded, err := base64.StdEncoding.DecodeString(event.Body)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(decoded)
	p, body := splitPrelude(t, inv)
	wantCookies := []string{"upload=1; Secure", fmt.Sprintf("size=%d", len(decoded))}
	if p.StatusCode != 201 || p.Headers["content-type"] != "application/json" || !reflect.DeepEqual(p.Cookies, wantCookies) {
		t.Errorf("prelude %+v", p)
	}
	want := fmt.Sprintf(`{"method":"POST","type":"image/png","length":%d,"sha256":"%s"}`+"\n", len(decoded), hex.EncodeToString(sum[:]))
	if string(body) != want {
		t.Errorf("body %q, want %q", body, want)
	}
}
