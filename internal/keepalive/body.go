package keepalive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// body is an answer's body: Content-Length, chunked, or (neither) up to
// the connection's end. Close returns the connection to the pool when the
// body was read to its end and the peer keeps the connection.
type body struct {
	c     *conn
	w     *Client
	stop  func() bool // the call's context watch
	r     io.Reader
	done  bool // the body was read to its end
	reuse bool // the connection may carry another call afterwards
	once  sync.Once
}

func newBody(resp *http.Response, c *conn, w *Client, stop func() bool) (*body, error) {
	b := &body{c: c, w: w, stop: stop, reuse: true}
	h := resp.Header
	if resp.ProtoMinor == 0 || hasToken(h["Connection"], "close") {
		b.reuse = false
	}
	noBody := resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	switch te := h["Transfer-Encoding"]; {
	case noBody:
		b.r, b.done = eofReader{}, true
	case len(te) > 0:
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") {
			return nil, fmt.Errorf("unsupported Transfer-Encoding %q", te)
		}
		b.r = &chunkedReader{br: c.br}
	case len(h["Content-Length"]) > 0:
		cl := h["Content-Length"]
		n, err := strconv.ParseInt(cl[0], 10, 64)
		for _, v := range cl[1:] {
			if v != cl[0] {
				err = errors.New("differing values")
			}
		}
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid Content-Length %q", cl)
		}
		b.r = &io.LimitedReader{R: c.br, N: n}
		b.done = n == 0
	default:
		b.r, b.reuse = c.br, false
	}
	resp.ContentLength = -1
	return b, nil
}

// Read reads the body; the end of the body is io.EOF.
func (b *body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		if lr, ok := b.r.(*io.LimitedReader); ok && lr.N > 0 {
			return n, io.ErrUnexpectedEOF
		}
		b.done = true
	} else if lr, ok := b.r.(*io.LimitedReader); ok && lr.N == 0 {
		b.done = true
		if err == nil && n > 0 {
			return n, nil
		}
	}
	return n, err
}

// Close ends the call: the connection goes back to the pool if the body
// was read to its end, else it is closed.
func (b *body) Close() error {
	b.once.Do(func() {
		watched := b.stop()
		if b.done && b.reuse && watched {
			b.w.put(b.c)
			return
		}
		_ = b.c.nc.Close()
	})
	return nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// chunkedReader decodes a chunked body (RFC 9112 §7.1), bounded lines,
// trailers read and dropped.
type chunkedReader struct {
	br   *bufio.Reader
	left int64 // bytes left in the current chunk
	end  bool
}

func (r *chunkedReader) Read(p []byte) (int, error) {
	if r.end {
		return 0, io.EOF
	}
	if r.left == 0 {
		total := 0
		line, err := readLine(r.br, &total)
		if err != nil {
			return 0, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("malformed chunk size %.40q", line)
		}
		if n == 0 {
			for {
				l, err := readLine(r.br, &total)
				if err != nil {
					return 0, err
				}
				if len(l) == 0 {
					r.end = true
					return 0, io.EOF
				}
			}
		}
		r.left = n
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.br.Read(p)
	r.left -= int64(n)
	if r.left == 0 && err == nil {
		total := 0
		if l, lerr := readLine(r.br, &total); lerr != nil || len(l) != 0 {
			return n, errors.New("malformed chunk end")
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// hasToken reports whether a comma-separated header holds token.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for len(v) > 0 {
			var t string
			t, v, _ = cutComma(v)
			if asciiEqualFold(trimOWS(t), token) {
				return true
			}
		}
	}
	return false
}

func cutComma(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
