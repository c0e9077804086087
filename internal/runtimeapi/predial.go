package runtimeapi

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/streamstrap/streamstrap/internal/chunked"
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
// starts, so that the response does not wait for a connect at its first byte,
// and, once connected, carrying the response's head but its last empty line
// (chunked.Stream.Announce), so that the Runtime API has parsed it by then.
// It is used at most once, by OpenResponseOn; Close releases it if it was not.
type PendingConn struct {
	conn    net.Conn          // nil if the dial failed, or while pending
	pending *rawio.PendingTCP // a numeric address's connect, finished by take
	at      time.Time         // when the dial began (pending) or ended, or the head went out
	taken   bool              // handed to a response; Close leaves it alone
	// announced is the response whose head went out on conn, for
	// requestID; nil if the connect was still under way or the head
	// could not be sent.
	announced *chunked.Stream
	requestID string
}

// Predial connects to the Runtime API for the response to requestID, of
// type contentType, to be called once the handler has been started: the
// connect then overlaps the handler's own start-up (an exec, an
// interpreter's imports), which is far longer than a loopback connect. A
// numeric address (Lambda's) gets a non-blocking connect, so nothing waits
// for the handshake: no park, no sleep and wake of the thread. Any other
// address is dialled in the caller's goroutine: a goroutine, a channel and
// a wake-up per invocation cost more CPU than the connect itself.
//
// Once connected (on loopback, normally by the time connect(2) returns),
// the response's head goes out but its final empty line, so the Runtime
// API reads and parses it while the handler starts, rather than after its
// first byte. An incomplete request is one the Runtime API cannot act on:
// if the handler fails before any output, the connection is closed and the
// failure goes to /error, as if nothing had been sent. ctx is the
// response's context (see OpenResponse). A failed dial or head is not an
// error here; the response then dials anew.
func (c *Client) Predial(ctx context.Context, requestID, contentType string) *PendingConn {
	pc := &PendingConn{at: time.Now(), requestID: requestID}
	if c.rawAddr.IsValid() {
		if p, err := rawio.StartTCP(c.rawAddr); err == nil {
			pc.pending = p
			if p.Ready() {
				pc.announce(ctx, c, contentType)
			}
		}
		return pc
	}
	dctx, cancel := context.WithTimeout(ctx, predialTimeout)
	defer cancel()
	conn, err := c.dial(dctx, "tcp", c.addr)
	pc.at = time.Now()
	if err == nil {
		pc.conn = conn
		pc.announce(ctx, c, contentType)
	}
	return pc
}

// announce opens the response on pc's new connection and sends its head
// but the last empty line. If that fails, the connection is closed and the
// response dials anew.
func (pc *PendingConn) announce(ctx context.Context, c *Client, contentType string) {
	if pc.pending != nil {
		conn, err := pc.pending.Finish(ctx) // at once: Ready said so
		if err != nil {
			pc.taken = true
			return
		}
		pc.conn, pc.pending = conn, nil
	}
	conn := pc.conn
	s, err := chunked.Open(ctx, func(context.Context, string, string) (net.Conn, error) { return conn, nil },
		c.responseRequest(pc.requestID, contentType))
	if err == nil {
		err = s.Announce()
		if err != nil {
			s.Abort()
		}
	} else {
		_ = conn.Close()
	}
	if err != nil {
		pc.taken = true
		return
	}
	pc.announced, pc.at = s, time.Now()
}

// takeAnnounced returns the response Predial announced for requestID if it
// is still fit to go on: announced within predialMaxIdle, and nothing heard
// from the Runtime API since (no answer, no FIN or reset, no byte).
// Otherwise it aborts it, leaving a request that never arrived, and returns
// nil; so a stale connection costs a connect, never the response.
func (pc *PendingConn) takeAnnounced(requestID string) *chunked.Stream {
	s := pc.announced
	if s == nil || pc.taken {
		return nil
	}
	pc.taken = true
	if requestID != pc.requestID || time.Since(pc.at) > predialMaxIdle || !s.Waiting() || !quiet(pc.conn) {
		s.Abort()
		return nil
	}
	return s
}

// take returns the connection if it is still fit for a request: dialled
// without error, not idle past predialMaxIdle, and neither closed by the peer
// nor holding unexpected bytes. Otherwise it closes it and returns nil, and
// the caller dials anew; so a stale connection costs a connect, never the
// response. A pending connect is finished first, within ctx and
// predialTimeout. A connection that carries an announced response is not
// handed out (see takeAnnounced).
func (pc *PendingConn) take(ctx context.Context) net.Conn {
	if pc.taken || pc.announced != nil {
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

// Close closes the connection unless a response took it; an announced
// response is aborted, which leaves the Runtime API an incomplete request,
// one it never acts on.
func (pc *PendingConn) Close() {
	if pc == nil || pc.taken {
		return
	}
	pc.taken = true
	if pc.announced != nil {
		pc.announced.Abort()
		return
	}
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
