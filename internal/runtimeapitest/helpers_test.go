package runtimeapitest

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const base = "/2018-06-01/runtime"

// patience bounds every wait for something that must happen (a response, a
// close, a state): only a hang reaches it, never a loaded machine moving a
// few megabytes through the race detector.
const patience = 30 * time.Second

// ctxT returns a context that ends with the test (or after patience).
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// lax returns a server that tolerates violations; the test checks them.
func lax(t testing.TB, opts Options) *Server {
	s := New(t, opts)
	s.AllowViolations()
	return s
}

// wantViolations checks that every recorded violation contains one of the
// wanted substrings and that every wanted substring was recorded. No wanted
// substrings means no violations.
func wantViolations(t testing.TB, s *Server, want ...string) {
	t.Helper()
	got := s.Violations()
	for _, w := range want {
		found := false
		for _, v := range got {
			if strings.Contains(v, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no violation containing %q; got %q", w, got)
		}
	}
	for _, v := range got {
		ok := false
		for _, w := range want {
			if strings.Contains(v, w) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("unexpected violation %q", v)
		}
	}
}

// raw is a hand-driven client connection.
type raw struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, s *Server) *raw {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *raw) write(parts ...string) {
	r.t.Helper()
	for _, p := range parts {
		if _, err := io.WriteString(r.c, p); err != nil {
			r.t.Fatalf("write: %v", err)
		}
	}
}

// tryResp reads one response and its whole body.
func (r *raw) tryResp() (*http.Response, []byte, error) {
	r.c.SetReadDeadline(time.Now().Add(patience))
	defer r.c.SetReadDeadline(time.Time{})
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b, err
}

func (r *raw) resp() (*http.Response, []byte) {
	r.t.Helper()
	resp, b, err := r.tryResp()
	if err != nil {
		r.t.Fatalf("reading response: %v", err)
	}
	return resp, b
}

// expectStatus reads a response and checks its status.
func (r *raw) expectStatus(want int) []byte {
	r.t.Helper()
	resp, b := r.resp()
	if resp.StatusCode != want {
		r.t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, want, b)
	}
	return b
}

// expectClosed checks that the server closes the connection without a response.
func (r *raw) expectClosed() {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(patience))
	n, err := r.br.Read(make([]byte, 1))
	if err == nil || n > 0 {
		r.t.Fatalf("connection still open (read %d, %v)", n, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.t.Fatalf("connection not closed: %v", err)
	}
}

// next does GET /next on r and returns the response and the request id.
func (r *raw) next() (*http.Response, []byte, string) {
	r.t.Helper()
	r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, b := r.resp()
	if resp.StatusCode != 200 {
		r.t.Fatalf("/next: status %d body %q", resp.StatusCode, b)
	}
	return resp, b, resp.Header.Get(HeaderRequestID)
}

// handOut enqueues an event and fetches it with /next on a fresh connection.
func handOut(t testing.TB, s *Server) string {
	t.Helper()
	id := s.Enqueue(Event{Payload: []byte(`{}`)})
	r := dialRaw(t, s)
	_, _, got := r.next()
	if got != id {
		t.Fatalf("/next gave %q, want %q", got, id)
	}
	return id
}

func head(method, path string, lines ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path)
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteString("\r\n")
	}
	sb.WriteString("\r\n")
	return sb.String()
}

func respPath(id string) string { return base + "/invocation/" + id + "/response" }
func errPath(id string) string  { return base + "/invocation/" + id + "/error" }

var streamHeaders = []string{
	"Content-Type: text/plain",
	"Lambda-Runtime-Function-Response-Mode: streaming",
	"Transfer-Encoding: chunked",
	"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
}

func streamHead(id string) string { return head("POST", respPath(id), streamHeaders...) }

func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const goodErr = `{"errorType":"HandlerFailed","errorMessage":"exit status 1"}`

func jsonPost(id, kind, body string, lines ...string) string {
	lines = append(lines, "Content-Type: application/json", fmt.Sprintf("Content-Length: %d", len(body)))
	return head("POST", base+"/invocation/"+id+"/"+kind, lines...) + body
}

// waitResponding waits until the server has started reading a terminal POST for id.
func waitResponding(t testing.TB, s *Server, id string) {
	t.Helper()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		st := s.invs[id].state
		s.mu.Unlock()
		if st == stResponding {
			return
		}
	}
	t.Fatalf("invocation %s never started its terminal POST", id)
}
