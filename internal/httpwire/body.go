package httpwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Body is an answer's body, read as its head frames it (RFC 9112 §6.3): no
// body for a 1xx, 204 or 304 answer; chunked for Transfer-Encoding: chunked
// (its trailers read and dropped); Content-Length bytes; else everything up
// to the connection's end. Make one with NewBody.
type Body struct {
	r    io.Reader
	done bool // read to its end
	keep bool // the connection may carry another call afterwards
}

// NewBody returns the body resp frames, read from br (the reader resp's
// head came from). It refuses a transfer coding other than chunked and an
// invalid or ambiguous Content-Length.
func NewBody(resp *Response, br *bufio.Reader) (*Body, error) {
	h := resp.Header
	b := &Body{keep: resp.ProtoMinor > 0 && !hasToken(h["Connection"], "close")}
	switch te := h["Transfer-Encoding"]; {
	case resp.StatusCode < 200 || resp.StatusCode == StatusNoContent || resp.StatusCode == StatusNotModified:
		b.r, b.done = eofReader{}, true
	case len(te) > 0:
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") {
			return nil, fmt.Errorf("unsupported Transfer-Encoding %q", te)
		}
		b.r = &chunkedReader{br: br}
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
		b.r = &io.LimitedReader{R: br, N: n}
		b.done = n == 0
	default:
		b.r, b.keep = br, false
	}
	return b, nil
}

// Read reads the body; its end is io.EOF, a connection that ends before it
// io.ErrUnexpectedEOF.
func (b *Body) Read(p []byte) (int, error) {
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

// Done reports whether the body has been read to its end.
func (b *Body) Done() bool { return b.done }

// KeepsAlive reports whether the connection may carry another call once the
// body has been read to its end: not after an HTTP/1.0 answer, one with
// Connection: close, or a body that ends with the connection.
func (b *Body) KeepsAlive() bool { return b.keep }

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
