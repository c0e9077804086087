package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// received collects what one raw peer read, until the connection ended.
type received struct {
	bytes chan []byte // what was read, sent once the connection ended
}

// readAll serves a connection by reading it to its end, then hands over
// what it read.
func (r received) readAll(c net.Conn) {
	b, _ := io.ReadAll(c)
	c.Close()
	r.bytes <- b
}

func (r received) wait(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-r.bytes:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("the peer never saw the connection end")
		return nil
	}
}

func TestPredialAnnounces(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	tests := []struct {
		name      string
		serve     func(net.Conn)
		idle      time.Duration
		requestID string // the response asked for; "" is Predial's
		wantOK    bool
	}{
		{"fresh and quiet: goes on", nil, 0, "", true},
		{"closed by the peer: replaced", func(c net.Conn) { c.Close() }, 50 * time.Millisecond, "", false},
		{"an answer before the request ended: replaced", func(c net.Conn) { c.Write([]byte("HTTP/1.1 408 x\r\n\r\n")); <-hold; c.Close() }, 50 * time.Millisecond, "", false},
		{"announced too long ago: replaced", nil, predialMaxIdle + 100*time.Millisecond, "", false},
		{"another request id: replaced", nil, 0, "other-id", false},
	}
	for _, tt := range tests {
		// A numeric address takes rawio's connect; a name takes net's dial.
		for _, byName := range []bool{false, true} {
			name := tt.name
			if byName {
				name += "/by name"
			}
			t.Run(name, func(t *testing.T) {
				got := received{bytes: make(chan []byte, 4)}
				serve := tt.serve
				if serve == nil {
					serve = got.readAll
				}
				addr := runtimeapitest.ServeRaw(t, serve)
				if byName {
					addr = strings.Replace(addr, "127.0.0.1", "localhost", 1)
				}
				c := NewClient(addr, "test", 1)
				if c.rawAddr.IsValid() == byName {
					t.Fatalf("address %s: raw dial %v", addr, c.rawAddr.IsValid())
				}
				pc := c.Predial(context.Background(), "req-1", "text/plain")
				defer pc.Close()
				if pc.announced == nil {
					if tt.serve != nil && !tt.wantOK {
						// The peer's close or answer came before the head
						// could go out (a dial by name takes long enough):
						// refused at once, which is what "replaced" asks.
						if conn := pc.take(context.Background()); conn != nil {
							t.Fatal("a refused announce's connection was handed out by take")
						}
						return
					}
					t.Fatal("a loopback connect was not ready at once: nothing announced")
				}
				time.Sleep(tt.idle) // let the peer's FIN or bytes arrive, or the bound pass
				id := tt.requestID
				if id == "" {
					id = "req-1"
				}
				s := pc.takeAnnounced(id)
				if (s != nil) != tt.wantOK {
					t.Fatalf("takeAnnounced() gave the stream: %v, want %v", s != nil, tt.wantOK)
				}
				if again := pc.takeAnnounced(id); again != nil {
					t.Fatal("an announced response was handed out twice")
				}
				if conn := pc.take(context.Background()); conn != nil {
					t.Fatal("an announced connection was handed out again by take")
				}
				if s == nil {
					if tt.serve == nil {
						// Aborted: the peer got a head that never ended.
						b := got.wait(t)
						if !bytes.HasPrefix(b, []byte("POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\n")) || bytes.Contains(b, []byte("\r\n\r\n")) {
							t.Fatalf("an aborted announce sent %q, want the head without its end", b)
						}
					}
					return
				}
				if _, err := s.Write([]byte("hello")); err != nil {
					t.Fatal(err)
				}
				s.Abort()
				req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(got.wait(t))))
				if err != nil {
					t.Fatalf("the announced head and the first chunk are not a request: %v", err)
				}
				if req.URL.Path != PathResponse("req-1") || req.Header.Get("Content-Type") != "text/plain" ||
					req.Header.Get(HeaderResponseMode) != ResponseModeStreaming || req.TransferEncoding[0] != "chunked" {
					t.Errorf("request %s %v %v", req.URL.Path, req.Header, req.TransferEncoding)
				}
				body := make([]byte, 5)
				if _, err := io.ReadFull(req.Body, body); err != nil || string(body) != "hello" {
					t.Errorf("body %q, %v", body, err)
				}
			})
		}
	}
}

func TestPendingConn(t *testing.T) {
	// The connection of a Predial that did not announce (its connect was
	// still under way): take hands it out once, if still fit.
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	tests := []struct {
		name   string
		serve  func(net.Conn)
		idle   time.Duration
		wantOK bool
	}{
		{"fresh and quiet: used", func(c net.Conn) { <-hold; c.Close() }, 0, true},
		{"closed by the peer: replaced", func(c net.Conn) { c.Close() }, 50 * time.Millisecond, false},
		{"bytes before any request: replaced", func(c net.Conn) { c.Write([]byte("HTTP/1.1 400 x\r\n")); <-hold; c.Close() }, 50 * time.Millisecond, false},
		{"idle too long: replaced", func(c net.Conn) { <-hold; c.Close() }, predialMaxIdle + 100*time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(runtimeapitest.ServeRaw(t, tt.serve), "test", 1)
			conn, err := c.dial(context.Background(), "tcp", c.addr)
			if err != nil {
				t.Fatal(err)
			}
			pc := &PendingConn{conn: conn, at: time.Now(), requestID: "req-1"}
			time.Sleep(tt.idle)
			got := pc.take(context.Background())
			if (got != nil) != tt.wantOK {
				t.Fatalf("take() = %v, want a connection: %v", got, tt.wantOK)
			}
			if got != nil {
				got.Close()
			}
			if again := pc.take(context.Background()); again != nil {
				t.Fatal("a pending connection was handed out twice")
			}
			if s := pc.takeAnnounced("req-1"); s != nil {
				t.Fatal("takeAnnounced gave a stream nothing announced")
			}
			pc.Close()
		})
	}
}

func TestPendingConnCloseUntaken(t *testing.T) {
	// A response nobody takes (the handler failed before output) is closed
	// by Close: the peer sees the connection end, with a request head that
	// never ended, so nothing it could act on.
	got := received{bytes: make(chan []byte, 1)}
	addr := runtimeapitest.ServeRaw(t, got.readAll)
	pc := NewClient(addr, "test", 1).Predial(context.Background(), "req-1", "text/plain")
	pc.Close()
	pc.Close()
	b := got.wait(t)
	if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b))); err == nil {
		t.Fatalf("the peer got a whole request from an untaken response: %q", b)
	}
	if s := pc.takeAnnounced("req-1"); s != nil {
		t.Fatal("a closed announced response was handed out")
	}
	if conn := pc.take(context.Background()); conn != nil {
		t.Fatal("a closed pending connection was handed out")
	}
}

func TestPendingConnDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the dial fails, take says so, Close is safe
	pc := NewClient(addr, "test", 1).Predial(context.Background(), "req-1", "text/plain")
	if pc.announced != nil {
		t.Fatal("a failed dial announced a response")
	}
	if conn := pc.take(context.Background()); conn != nil {
		t.Fatal("a failed dial gave a connection")
	}
	pc.Close()
	var nilPC *PendingConn
	nilPC.Close()
}
