package runtimeapi

import (
	"context"
	"net"
	"syscall"
	"time"
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
	done  chan struct{} // closed when the dial has ended
	conn  net.Conn
	at    time.Time // when the dial ended
	taken bool      // handed to a response; Close leaves it alone
}

// Predial starts connecting to the Runtime API in the background.
func (c *Client) Predial(ctx context.Context) *PendingConn {
	pc := &PendingConn{done: make(chan struct{})}
	go func() {
		defer close(pc.done)
		dctx, cancel := context.WithTimeout(ctx, predialTimeout)
		defer cancel()
		conn, err := c.dial(dctx, "tcp", c.addr)
		if err == nil {
			pc.conn = conn
		}
		pc.at = time.Now()
	}()
	return pc
}

// take returns the connection if it is still fit for a request: dialled
// without error, not idle past predialMaxIdle, and neither closed by the peer
// nor holding unexpected bytes. Otherwise it closes it and returns nil, and
// the caller dials anew; so a stale connection costs a connect, never the
// response. Waiting for a dial in progress costs no more than a new one.
func (pc *PendingConn) take() net.Conn {
	<-pc.done
	if pc.conn == nil || pc.taken {
		return nil
	}
	pc.taken = true
	if time.Since(pc.at) > predialMaxIdle || !quiet(pc.conn) {
		_ = pc.conn.Close()
		return nil
	}
	return pc.conn
}

// Close closes the connection unless a response took it. It waits for the
// dial in progress, which is bounded by predialTimeout.
func (pc *PendingConn) Close() {
	if pc == nil {
		return
	}
	<-pc.done
	if pc.conn != nil && !pc.taken {
		pc.taken = true
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
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	var b [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		for {
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			ok = err == syscall.EAGAIN
			return true // one look, never wait
		}
	})
	return ok
}
