package runtimeapi

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/streamstrap/streamstrap/internal/rawio"
)

// Bounds of a pre-dialled response connection.
const (
	// predialMaxIdle: a connection dialled longer ago than this is not
	// trusted (the Runtime API may have dropped it) and is replaced.
	predialMaxIdle = time.Second
	// predialTimeout bounds the background dial.
	predialTimeout = 2 * time.Second
)

// PendingConn is a connection to the Runtime API dialled while the handler
// starts, so that the response does not wait for a connect at its first byte.
// It is used at most once, by OpenResponseOn; Close releases it if it was not.
type PendingConn struct {
	conn    net.Conn          // nil if the dial failed, or while pending
	pending *rawio.PendingTCP // a numeric address's connect, finished by take
	at      time.Time         // when the dial began (pending) or ended
	taken   bool              // handed to a response; Close leaves it alone
}

// Predial connects to the Runtime API, to be called once the handler has been
// started: the connect then overlaps the handler's own start-up (an exec, an
// interpreter's imports), which is far longer than a loopback connect. A
// numeric address (Lambda's) gets a non-blocking connect that take finishes,
// so nothing waits for the handshake: no park, no sleep and wake of the
// thread. Any other address is dialled in the caller's goroutine: a
// goroutine, a channel and a wake-up per invocation cost more CPU than the
// connect itself. A failed dial is not an error here; the response then
// dials anew.
func (c *Client) Predial(ctx context.Context) *PendingConn {
	if c.rawAddr.IsValid() {
		pc := &PendingConn{at: time.Now()}
		if p, err := rawio.StartTCP(c.rawAddr); err == nil {
			pc.pending = p
		}
		return pc
	}
	dctx, cancel := context.WithTimeout(ctx, predialTimeout)
	defer cancel()
	conn, err := c.dial(dctx, "tcp", c.addr)
	pc := &PendingConn{at: time.Now()}
	if err == nil {
		pc.conn = conn
	}
	return pc
}

// take returns the connection if it is still fit for a request: dialled
// without error, not idle past predialMaxIdle, and neither closed by the peer
// nor holding unexpected bytes. Otherwise it closes it and returns nil, and
// the caller dials anew; so a stale connection costs a connect, never the
// response. A pending connect is finished first, within ctx and
// predialTimeout.
func (pc *PendingConn) take(ctx context.Context) net.Conn {
	if pc.taken {
		return nil
	}
	pc.taken = true
	if pc.pending != nil {
		if time.Since(pc.at) > predialMaxIdle {
			pc.pending.Close()
			return nil
		}
		fctx, cancel := context.WithTimeout(ctx, predialTimeout)
		conn, err := pc.pending.Finish(fctx)
		cancel()
		if err != nil {
			return nil
		}
		pc.conn = conn
	}
	if pc.conn == nil {
		return nil
	}
	if time.Since(pc.at) > predialMaxIdle || !quiet(pc.conn) {
		_ = pc.conn.Close()
		return nil
	}
	return pc.conn
}

// Close closes the connection unless a response took it.
func (pc *PendingConn) Close() {
	if pc == nil || pc.taken {
		return
	}
	pc.taken = true
	if pc.pending != nil {
		pc.pending.Close()
	}
	if pc.conn != nil {
		_ = pc.conn.Close()
	}
}

// quiet reports whether conn is open with nothing to read, by a
// non-blocking MSG_PEEK: a FIN reads as 0 bytes, a reset as an error, and a
// byte before any request is a protocol error; only EAGAIN is quiet.
func quiet(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true // not a socket (a test pipe): nothing to check
	}
	var b [1]byte
	_, err := rawio.Peek(sc, b[:])
	return err == syscall.EAGAIN
}
