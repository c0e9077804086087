package runtimeapi

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

func TestPendingConn(t *testing.T) {
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
		// A numeric address takes rawio's connect, finished at take; a
		// name takes net's dial, done in Predial.
		for _, byName := range []bool{false, true} {
			name := tt.name
			if byName {
				name += "/by name"
			}
			t.Run(name, func(t *testing.T) {
				addr := runtimeapitest.ServeRaw(t, tt.serve)
				if byName {
					addr = strings.Replace(addr, "127.0.0.1", "localhost", 1)
				}
				c := NewClient(addr, "test", 1)
				if c.rawAddr.IsValid() == byName {
					t.Fatalf("address %s: raw dial %v", addr, c.rawAddr.IsValid())
				}
				pc := c.Predial(context.Background())
				time.Sleep(tt.idle) // let the peer's FIN or bytes arrive, or the bound pass
				conn := pc.take(context.Background())
				if (conn != nil) != tt.wantOK {
					t.Fatalf("take() = %v, want a connection: %v", conn, tt.wantOK)
				}
				if conn != nil {
					conn.Close()
				}
				if again := pc.take(context.Background()); again != nil {
					t.Fatal("a pending connection was handed out twice")
				}
				pc.Close()
			})
		}
	}
}

func TestPendingConnCloseUntaken(t *testing.T) {
	// A pending connect nobody takes (the handler failed before output)
	// is closed by Close: the peer sees the connection end.
	ended := make(chan struct{})
	addr := runtimeapitest.ServeRaw(t, func(c net.Conn) {
		var b [1]byte
		c.Read(b[:]) // returns at the FIN
		c.Close()
		close(ended)
	})
	pc := NewClient(addr, "test", 1).Predial(context.Background())
	pc.Close()
	pc.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the peer never saw the untaken connection close")
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
	pc := NewClient(addr, "test", 1).Predial(context.Background())
	if conn := pc.take(context.Background()); conn != nil {
		t.Fatal("a failed dial gave a connection")
	}
	pc.Close()
	var nilPC *PendingConn
	nilPC.Close()
}
