package keepalive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// Names the tests use: the Runtime API's, whose answers this client reads.
const (
	headerRequestID = "Lambda-Runtime-Aws-Request-Id"
	headerErrorType = "Lambda-Runtime-Function-Error-Type"
	pathNext        = "/2018-06-01/runtime/invocation/next"
)

// lambdaNames are the header names a Runtime API answer carries.
var lambdaNames = []string{headerRequestID, "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn", "Lambda-Runtime-Trace-Id"}

func TestWireAnswers(t *testing.T) {
	tests := []struct {
		name     string
		answer   string
		wantBody string
		wantErr  string // substring; empty for success
	}{
		{"content-length", runtimeapitest.NextAnswer, `{"k":"v"}`, ""},
		{"chunked", "HTTP/1.1 200 OK\r\n" + headerRequestID + ": r\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"k\"\r\n5;x=y\r\n:\"v\"}\r\n0\r\nT: v\r\n\r\n", `{"k":"v"}`, ""},
		{"until close", "HTTP/1.1 200 OK\r\n" + headerRequestID + ": r\r\nConnection: close\r\n\r\n{}", "{}", ""},
		{"interim 100 first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" + headerRequestID + ": r\r\nContent-Length: 2\r\n\r\n{}", "{}", ""},
		{"malformed status", "HTTP/1.1 2x0 OK\r\n\r\n", "", "malformed status line"},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", "", "malformed status line"},
		{"bad header", "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "", "malformed header line"},
		{"huge header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 8000) + "\r\n\r\n", "", "too large"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "", "invalid Content-Length"},
		{"gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "", "unsupported Transfer-Encoding"},
		{"101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", "", "switches protocols"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", "", "unexpected EOF"},
		{"closed at once", "", "", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := runtimeapitest.RawAnswers(t, tt.answer)
			w := New(addr, (&net.Dialer{}).DialContext, 1)
			defer w.CloseIdle()
			resp, err := w.Do(context.Background(), &Request{Method: "GET", Path: pathNext})
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tt.wantErr)
			case tt.wantErr == "" && string(body) != tt.wantBody:
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
		})
	}
}

// TestWireKeepsAliveAndReplacesStale: two calls share one connection; when
// the server has closed it, the next call is made on a new one.
func TestWireKeepsAliveAndReplacesStale(t *testing.T) {
	ok := "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"
	addr := runtimeapitest.RawAnswers(t, ok, ok) // two answers per connection, then close
	dials := 0
	d := &net.Dialer{}
	w := New(addr, func(ctx context.Context, n, a string) (net.Conn, error) {
		dials++
		return d.DialContext(ctx, n, a)
	}, 1)
	defer w.CloseIdle()
	for i := 0; i < 5; i++ {
		resp, err := w.Do(context.Background(), &Request{Method: "POST", Path: "/p", Body: []byte("{}")})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != 202 {
			t.Fatalf("call %d: %d %v", i, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	if dials != 3 {
		t.Errorf("%d dials for 5 calls at 2 per connection, want 3", dials)
	}
}

func TestWireRefusesBrokenRequests(t *testing.T) {
	w := New("127.0.0.1:1", (&net.Dialer{}).DialContext, 0)
	for _, req := range []Request{
		{Method: "POST", Path: "/a b"},
		{Method: "POST", Path: "/a\r\nX: y"},
		{Method: "POST", Path: "/a", Header: []string{headerErrorType, "x\r\nInjected: 1"}},
	} {
		if _, err := w.Do(context.Background(), &req); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("%+v: error %v", req, err)
		}
	}
}

func TestWireCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c) // never answers
			c.Close()
		}
	}()
	w := New(ln.Addr().String(), (&net.Dialer{}).DialContext, 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := w.Do(ctx, &Request{Method: "GET", Path: pathNext})
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// BenchmarkNextAnswer is the /next parser: the answer's head and body, then
// the invocation, from bytes already read.
func BenchmarkNextAnswer(b *testing.B) {
	src := bytes.NewReader([]byte(runtimeapitest.NextAnswer))
	br := bufio.NewReaderSize(src, 4096)
	names := New("", nil, 0, lambdaNames...).names
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		src.Reset([]byte(runtimeapitest.NextAnswer))
		br.Reset(src)
		resp, err := httpwire.ReadResponse(br, names)
		if err != nil {
			b.Fatal(err)
		}
		body, err := httpwire.NewBody(resp, br)
		if err != nil {
			b.Fatal(err)
		}
		payload, err := io.ReadAll(body)
		if err != nil || len(payload) != 9 || resp.Header.Get(headerRequestID) == "" {
			b.Fatal(err, payload)
		}
	}
}
