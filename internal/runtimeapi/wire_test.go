package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// nextAnswer is a /next answer as the Runtime API sends it.
const nextAnswer = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n" +
	"Lambda-Runtime-Deadline-Ms: 1542409706888\r\n" +
	"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:custom-runtime\r\n" +
	"Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n" +
	"Date: Tue, 01 Dec 2026 20:00:00 GMT\r\n" +
	"Content-Length: 9\r\n\r\n" +
	`{"k":"v"}`

// rawServer answers every request on a connection with answers[i], in
// turn, until the list ends; then it closes the connection.
func rawAnswers(t testing.TB, answers ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for _, a := range answers {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, a); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestWireAnswers(t *testing.T) {
	tests := []struct {
		name     string
		answer   string
		wantBody string
		wantErr  string // substring; empty for success
	}{
		{"content-length", nextAnswer, `{"k":"v"}`, ""},
		{"chunked", "HTTP/1.1 200 OK\r\n" + HeaderRequestID + ": r\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"k\"\r\n5;x=y\r\n:\"v\"}\r\n0\r\nT: v\r\n\r\n", `{"k":"v"}`, ""},
		{"until close", "HTTP/1.1 200 OK\r\n" + HeaderRequestID + ": r\r\nConnection: close\r\n\r\n{}", "{}", ""},
		{"interim 100 first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n" + HeaderRequestID + ": r\r\nContent-Length: 2\r\n\r\n{}", "{}", ""},
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
			addr := rawAnswers(t, tt.answer)
			w := &wire{addr: addr, dial: (&net.Dialer{}).DialContext, maxIdle: 1}
			defer w.closeIdle()
			resp, err := w.do(context.Background(), &wireRequest{method: "GET", path: PathNext})
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
	addr := rawAnswers(t, ok, ok) // two answers per connection, then close
	dials := 0
	d := &net.Dialer{}
	w := &wire{addr: addr, maxIdle: 1, dial: func(ctx context.Context, n, a string) (net.Conn, error) {
		dials++
		return d.DialContext(ctx, n, a)
	}}
	defer w.closeIdle()
	for i := 0; i < 5; i++ {
		resp, err := w.do(context.Background(), &wireRequest{method: "POST", path: "/p", body: []byte("{}")})
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
	w := &wire{addr: "127.0.0.1:1", dial: (&net.Dialer{}).DialContext}
	for _, req := range []wireRequest{
		{method: "POST", path: "/a b"},
		{method: "POST", path: "/a\r\nX: y"},
		{method: "POST", path: "/a", header: []string{HeaderErrorType, "x\r\nInjected: 1"}},
	} {
		if _, err := w.do(context.Background(), &req); err == nil || !strings.Contains(err.Error(), "invalid") {
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
	w := &wire{addr: ln.Addr().String(), dial: (&net.Dialer{}).DialContext, maxIdle: 1}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := w.do(ctx, &wireRequest{method: "GET", path: PathNext})
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
	src := bytes.NewReader([]byte(nextAnswer))
	br := bufio.NewReaderSize(src, 4096)
	c := &wireConn{br: br}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		src.Reset([]byte(nextAnswer))
		br.Reset(src)
		resp, err := readHead(br)
		if err != nil {
			b.Fatal(err)
		}
		body, err := newBody(resp, c, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		payload, err := io.ReadAll(body)
		if err != nil || len(payload) != 9 || resp.Header.Get(HeaderRequestID) == "" {
			b.Fatal(err, payload)
		}
	}
}

// BenchmarkNext is one /next call over loopback on a kept-alive connection.
func BenchmarkNext(b *testing.B) {
	answers := make([]string, b.N+1)
	for i := range answers {
		answers[i] = nextAnswer
	}
	c := NewClient(rawAnswers(b, answers...), "streamstrap/bench", 1)
	defer c.CloseIdle()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Next(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
