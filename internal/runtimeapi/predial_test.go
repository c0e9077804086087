package runtimeapi

import (
	"context"
	"net"
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
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(runtimeapitest.ServeRaw(t, tt.serve), "test", 1)
			pc := c.Predial(context.Background())
			time.Sleep(tt.idle) // let the peer's FIN or bytes arrive, or the bound pass
			conn := pc.take()
			if (conn != nil) != tt.wantOK {
				t.Fatalf("take() = %v, want a connection: %v", conn, tt.wantOK)
			}
			if conn != nil {
				conn.Close()
			}
			if again := pc.take(); again != nil {
				t.Fatal("a pending connection was handed out twice")
			}
			pc.Close()
		})
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
	if conn := pc.take(); conn != nil {
		t.Fatal("a failed dial gave a connection")
	}
	pc.Close()
	var nilPC *PendingConn
	nilPC.Close()
}
