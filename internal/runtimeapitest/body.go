package runtimeapitest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// body accumulates a request body as it is read.
type body struct {
	record bool // keep the data
	data   []byte
	chunks []Chunk
	offs   []int64 // offset of each chunk's data in data
	size   int64
	h      *bodyHash // nil: do not hash (drained bodies, SetHashData(false))

	trailer      http.Header
	trailerBytes int
	complete     bool

	stopAt   int64 // fault point in body bytes; -1 for none
	thr      throttle
	thrStart time.Time
	thrBase  int64
}

func newBody(record bool) *body {
	return &body{record: record, h: newBodyHash(), stopAt: -1}
}

// fill copies the recorded body into inv.
func (b *body) fill(inv *Invocation) {
	inv.BodySize = b.size
	if b.h != nil {
		b.h.sum(&inv.BodySHA256)
	}
	if b.record {
		inv.Body = b.data
		for i := range b.chunks {
			off := b.offs[i]
			end := off + int64(b.chunks[i].Size)
			b.chunks[i].Data = b.data[off:end:end]
		}
	}
	inv.Chunks = b.chunks
	inv.Trailer = b.trailer
	inv.Truncated = !b.complete
}

// readBody reads req's body into b. It returns nil when the body is complete,
// errStop at b's fault point, a *framingError for a malformed body, or the
// read error (io.ErrUnexpectedEOF for a premature end).
func (c *conn) readBody(req *request, b *body) error {
	if req.badFraming != "" {
		return framingf("%s", req.badFraming)
	}
	if b.stopAt == 0 {
		return errStop
	}
	if req.chunked {
		return c.readChunked(b)
	}
	if req.length > 0 {
		if err := c.readData(b, req.length); err != nil {
			return err
		}
		if b.stopAt >= 0 && b.size >= b.stopAt {
			return errStop
		}
	}
	b.complete = true
	return nil
}

func (c *conn) readChunked(b *body) error {
	for {
		if b.stopAt >= 0 && b.size >= b.stopAt {
			return errStop
		}
		line, err := c.readLine("chunk size line")
		if err != nil {
			return eofToUnexpected(err)
		}
		size, err := parseChunkSize(line)
		if err != nil {
			return err
		}
		if size == 0 {
			return c.readTrailers(b)
		}
		start := b.size
		if err := c.readData(b, size); err != nil {
			return err
		}
		at := time.Now()
		crlf, err := c.br.Peek(2)
		if err != nil {
			if len(crlf) > 0 && crlf[0] != '\r' {
				return framingf("chunk data of %d bytes is followed by %q instead of CRLF", size, crlf)
			}
			return eofToUnexpected(err)
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return framingf("chunk data of %d bytes is followed by %q instead of CRLF (chunk size does not match the data?)", size, crlf)
		}
		c.br.Discard(2)
		b.chunks = append(b.chunks, Chunk{Size: int(size), At: at})
		b.offs = append(b.offs, start)
	}
}

func eofToUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseChunkSize parses "hex-size [BWS ; chunk-ext]".
func parseChunkSize(line []byte) (int64, error) {
	sz := line
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		sz = bytes.TrimRight(line[:i], " \t")
		if ext := line[i+1:]; len(bytes.TrimSpace(ext)) == 0 {
			return 0, framingf("empty chunk extension in chunk size line %q", line)
		}
	}
	if len(sz) == 0 || len(sz) > 15 {
		return 0, framingf("bad chunk size line %q", line)
	}
	var n int64
	for _, ch := range sz {
		var d byte
		switch {
		case '0' <= ch && ch <= '9':
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			d = ch - 'A' + 10
		default:
			return 0, framingf("bad chunk size line %q", line)
		}
		n = n<<4 | int64(d)
	}
	return n, nil
}

// readTrailers reads the trailer section after the last chunk, up to and
// including the final CRLF.
func (c *conn) readTrailers(b *body) error {
	total := 0
	for {
		line, err := c.br.ReadSlice('\n')
		total += len(line)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return framingf("trailer line longer than %d bytes", readBufSize)
			}
			return eofToUnexpected(err)
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return framingf("trailer line %q is not terminated by CRLF", line)
		}
		l := line[:len(line)-2]
		if len(l) == 0 {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return framingf("obsolete line folding in trailer line %q", l)
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 {
			return framingf("malformed trailer line %q", l)
		}
		name := string(l[:colon])
		if !validFieldName(name) {
			return framingf("malformed trailer field name %q", name)
		}
		value := string(bytes.Trim(l[colon+1:], " \t"))
		if strings.ContainsAny(value, "\r\x00") {
			return framingf("trailer field %s has a CR or NUL in its value", name)
		}
		if b.trailer == nil {
			b.trailer = http.Header{}
		}
		b.trailer.Add(textproto.CanonicalMIMEHeaderKey(name), value)
	}
	b.trailerBytes = total
	b.complete = true
	return nil
}

// validFieldName is the RFC 9110 token rule written out again on purpose,
// not imported from internal/httpsyntax: the test server is an independent
// check of what the bootstrap sends, so it shares no code with it.
func validFieldName(name string) bool {
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, ch) >= 0 {
			return false
		}
	}
	return name != ""
}

// readData reads n bytes of body data, recording or hashing them, honouring
// the fault point and the throttle.
func (c *conn) readData(b *body, n int64) error {
	for n > 0 {
		k := n
		if b.stopAt >= 0 {
			rem := b.stopAt - b.size
			if rem <= 0 {
				return errStop
			}
			k = min(k, rem)
		}
		if b.thr.rate > 0 {
			if b.size < b.thr.after {
				k = min(k, b.thr.after-b.size)
			} else {
				if b.thrStart.IsZero() {
					b.thrStart, b.thrBase = time.Now(), b.size
				}
				k = min(k, max(b.thr.rate/16, 1))
				due := b.thrStart.Add(time.Duration(float64(b.size+k-b.thrBase) / float64(b.thr.rate) * float64(time.Second)))
				if err := c.sleepUntil(due); err != nil {
					return err
				}
			}
		}
		if err := c.readExactly(b, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (c *conn) sleepUntil(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-c.s.closeCh:
		return errClosed
	}
}

// readExactly reads k data bytes. With recording on they are read once,
// into the body buffer; otherwise they are hashed in place in the bufio
// buffer and discarded.
func (c *conn) readExactly(b *body, k int64) error {
	if b.record {
		l := len(b.data)
		b.data = slices.Grow(b.data, int(k))
		dst := b.data[l : l+int(k)]
		n, err := io.ReadFull(c.br, dst)
		b.data = b.data[:l+n]
		if b.h != nil {
			b.h.write(dst[:n:n], true)
		}
		b.size += int64(n)
		return eofToUnexpected(err)
	}
	for k > 0 {
		if c.br.Buffered() == 0 {
			if _, err := c.br.Peek(1); err != nil {
				return eofToUnexpected(err)
			}
		}
		m := int(min(int64(c.br.Buffered()), k))
		p, _ := c.br.Peek(m)
		if b.h != nil {
			b.h.write(p, false)
		}
		c.br.Discard(m)
		b.size += int64(m)
		k -= int64(m)
	}
	return nil
}

// drain reads and discards a request body. It returns false when the body
// could not be read to its end (the connection must then be closed).
func (c *conn) drain(req *request) bool {
	if req.badFraming != "" {
		c.s.violationf("%s: %s", req.desc, req.badFraming)
		return false
	}
	b := newBody(false)
	b.h = nil
	err := c.readBody(req, b)
	var fe *framingError
	if errors.As(err, &fe) {
		c.s.violationf("%s: malformed chunked body: %s", req.desc, fe.msg)
	}
	return err == nil
}
