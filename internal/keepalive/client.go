// Package keepalive is a minimal keep-alive HTTP/1.1 client for one
// loopback peer: bounded header reads, 1xx answers skipped, redirects
// returned never followed, stale connections replaced.
package keepalive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/rawio"
)

// Client is a minimal HTTP/1.1 client for one loopback peer that answers
// plain HTTP/1.1 (the Lambda Runtime and Extensions APIs). net/http's
// client, with its proxies, TLS, HTTP/2 and redirects, is not needed for
// such a peer: leaving it out takes about 2 MB off the binary and a good
// share of the CPU of each call.
//
// Connections are kept alive between calls (at most maxIdle idle ones), as
// net/http's client would; a reused connection the peer has closed is
// replaced, and a call that failed on one before any answer arrived is made
// once more on a new connection. Answers are read with bounded lines and
// headers; 1xx answers are skipped; a redirect is returned as it is, never
// followed.
//
// A Client is safe for concurrent use. The zero value is not usable; make
// one with New.
type Client struct {
	addr    string
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle int
	names   map[string]string // canonical header names, interned

	mu   sync.Mutex
	idle []*conn
}

// New returns a client for the peer at addr (host:port) that opens its
// connections with dial and keeps at most maxIdle of them idle (zero or
// less keeps none). names are header names, in canonical form, that the
// peer's answers are expected to carry: a header of one of them is keyed
// by that string, without an allocation.
func New(addr string, dial func(ctx context.Context, network, addr string) (net.Conn, error), maxIdle int, names ...string) *Client {
	c := &Client{addr: addr, dial: dial, maxIdle: maxIdle, names: make(map[string]string, len(names))}
	for _, n := range names {
		c.names[n] = n
	}
	return c
}

// conn is one connection with its reader.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	head []byte // request head scratch, reused per call
}

// Request is one call.
type Request struct {
	// Method is the request method, such as "GET"; it is sent as it is.
	Method string
	// Path is the request target, such as "/2018-06-01/runtime/invocation/next";
	// it may hold no space or control byte.
	Path string
	// Header is name, value pairs, in order, sent after Host; nil sends
	// none. A value may hold no CR, LF or NUL.
	Header []string
	// Body is sent with a Content-Length; nil sends none, except that a
	// POST always carries a Content-Length (0 for a nil Body).
	Body []byte
}

// check refuses what would break the request's framing: a control byte or
// space in the path, CR, LF or NUL in a header value.
func (r *Request) check() error {
	for i := 0; i < len(r.Path); i++ {
		if r.Path[i] <= ' ' || r.Path[i] == 0x7f {
			return fmt.Errorf("invalid request path %q", r.Path)
		}
	}
	for i := 0; i+1 < len(r.Header); i += 2 {
		if strings.ContainsAny(r.Header[i+1], "\r\n\x00") {
			return fmt.Errorf("invalid %s header value %q", r.Header[i], r.Header[i+1])
		}
	}
	return nil
}

// Do makes the call and returns the answer with its body unread; the
// caller closes resp.Body, which returns the connection to the pool when
// the body was read to its end. A 3xx answer is returned, not followed.
// Cancelling ctx ends the call's I/O at once.
func (w *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	c, reused, err := w.get(ctx)
	if err != nil {
		return nil, err
	}
	resp, answered, err := w.try(ctx, c, req)
	if err != nil && reused && !answered && ctx.Err() == nil {
		// The peer closed the kept-alive connection before it read the
		// call (a stale connection): nothing was answered, so the call
		// is made once more, on a new connection.
		if c, err = w.dialConn(ctx); err != nil {
			return nil, err
		}
		resp, _, err = w.try(ctx, c, req)
	}
	return resp, err
}

// try makes the call on c; answered reports whether any answer byte arrived.
func (w *Client) try(ctx context.Context, c *conn, req *Request) (resp *Response, answered bool, err error) {
	// A cancelled call ends the connection's I/O at once; the connection is
	// not reused after that.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*Response, bool, error) {
		stop()
		_ = c.nc.Close()
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		return nil, answered, err
	}
	// One write of head and body (an error document is small); the
	// buffer is the connection's, so it is not allocated again.
	c.head = append(appendHead(c.head[:0], w.addr, req), req.Body...)
	if _, err = c.nc.Write(c.head); err != nil {
		return fail(err)
	}
	for {
		if _, err := c.br.Peek(1); err != nil {
			return fail(err)
		}
		answered = true
		head, err := httpwire.ReadResponse(c.br, w.names)
		if err != nil {
			return fail(err)
		}
		resp = &Response{Response: head}
		// 1xx answers are interim (100 Continue, 103 Early Hints): the
		// final answer follows. 101 would switch protocols, which was
		// never asked for.
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == httpwire.StatusSwitchingProtocols {
			break
		}
	}
	if resp.StatusCode == httpwire.StatusSwitchingProtocols {
		return fail(errors.New("the answer switches protocols (101), which was not asked for"))
	}
	framed, err := httpwire.NewBody(resp.Response, c.br)
	if err != nil {
		return fail(err)
	}
	resp.Body = &body{Body: framed, c: c, w: w, stop: stop}
	return resp, true, nil
}

// get returns an idle connection that is still good, else a new one.
func (w *Client) get(ctx context.Context) (*conn, bool, error) {
	for {
		w.mu.Lock()
		n := len(w.idle)
		if n == 0 {
			w.mu.Unlock()
			c, err := w.dialConn(ctx)
			return c, false, err
		}
		c := w.idle[n-1]
		w.idle[n-1] = nil
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		stray, _ := c.br.Peek(c.br.Buffered())
		open := false
		if len(stray) == 0 {
			stray, open = idlePeek(c.nc)
		}
		if open && len(stray) == 0 {
			return c, true, nil
		}
		if len(stray) > 0 {
			// As net/http says it, through the standard logger.
			log.Printf("Unsolicited response received on idle HTTP channel starting with %q", stray)
		}
		_ = c.nc.Close()
	}
}

func (w *Client) dialConn(ctx context.Context) (*conn, error) {
	nc, err := w.dial(ctx, "tcp", w.addr)
	if err != nil {
		return nil, err
	}
	// Answers are read raw (see package rawio): the read of an answer is
	// the first call after a wait, which would wake the runtime's sysmon.
	return &conn{nc: nc, br: bufio.NewReaderSize(rawio.NewReader(nc), 4096)}, nil
}

// put returns a connection whose answer was read to its end.
func (w *Client) put(c *conn) {
	w.mu.Lock()
	if len(w.idle) < w.maxIdle {
		w.idle = append(w.idle, c)
		c = nil
	}
	w.mu.Unlock()
	if c != nil {
		_ = c.nc.Close()
	}
}

// CloseIdle closes the idle connections; connections in use are not
// affected.
func (w *Client) CloseIdle() {
	w.mu.Lock()
	idle := w.idle
	w.idle = nil
	w.mu.Unlock()
	for _, c := range idle {
		_ = c.nc.Close()
	}
}

// appendHead appends the request head of req to b.
func appendHead(b []byte, host string, req *Request) []byte {
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.Path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	for i := 0; i+1 < len(req.Header); i += 2 {
		b = append(b, req.Header[i]...)
		b = append(b, ": "...)
		b = append(b, req.Header[i+1]...)
		b = append(b, "\r\n"...)
	}
	if req.Body != nil || req.Method == httpwire.MethodPost {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.Body)), 10)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}
