package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamstrap/streamstrap/internal/chunked"
)

// wire is the minimal HTTP/1.1 client of the Runtime API's small calls:
// /next, /error, init/error and the Extensions API. The peer is one
// loopback server that answers plain HTTP/1.1, so net/http's client, with
// its proxies, TLS, HTTP/2 and redirects, is not needed: leaving it out
// takes about 2 MB off the binary and a good share of the CPU of each
// invocation. The streamed /response goes through internal/chunked.
//
// Connections are kept alive between calls (at most maxIdle idle ones), as
// net/http's client would; a reused connection the peer has closed is
// replaced, and a call that failed on one before any answer arrived is made
// once more on a new connection. Answers are read with bounded lines and
// headers; a redirect is returned as it is, never followed.
type wire struct {
	addr    string
	dial    chunked.Dialer
	maxIdle int

	mu   sync.Mutex
	idle []*wireConn
}

// Bounds of an answer's head.
const (
	maxHeaderBytes = 64 << 10
	maxHeaderLines = 128
)

// errHeadTooLarge is an answer head over maxHeaderBytes or maxHeaderLines.
var errHeadTooLarge = errors.New("the answer's header is too large")

// wireConn is one connection with its reader.
type wireConn struct {
	nc   net.Conn
	br   *bufio.Reader
	head []byte // request head scratch, reused per call
}

// wireRequest is one call.
type wireRequest struct {
	method, path string
	// header is name, value pairs, in order.
	header []string
	// body is sent with a Content-Length; nil for none.
	body []byte
}

// check refuses what would break the request's framing: a control byte or
// space in the path, CR, LF or NUL in a header value.
func (r *wireRequest) check() error {
	for i := 0; i < len(r.path); i++ {
		if r.path[i] <= ' ' || r.path[i] == 0x7f {
			return fmt.Errorf("invalid request path %q", r.path)
		}
	}
	for i := 0; i+1 < len(r.header); i += 2 {
		if strings.ContainsAny(r.header[i+1], "\r\n\x00") {
			return fmt.Errorf("invalid %s header value %q", r.header[i], r.header[i+1])
		}
	}
	return nil
}

// do makes the call and returns the answer with its body unread; the caller
// closes resp.Body, which returns the connection to the pool when the body
// was read to its end.
func (w *wire) do(ctx context.Context, req *wireRequest) (*http.Response, error) {
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
func (w *wire) try(ctx context.Context, c *wireConn, req *wireRequest) (resp *http.Response, answered bool, err error) {
	// A cancelled call ends the connection's I/O at once; the connection is
	// not reused after that.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, bool, error) {
		stop()
		_ = c.nc.Close()
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		return nil, answered, err
	}
	// One write of head and body (an error document is small); the
	// buffer is the connection's, so it is not allocated again.
	c.head = append(appendHead(c.head[:0], w.addr, req), req.body...)
	if _, err = c.nc.Write(c.head); err != nil {
		return fail(err)
	}
	for {
		if _, err := c.br.Peek(1); err != nil {
			return fail(err)
		}
		answered = true
		resp, err = readHead(c.br)
		if err != nil {
			return fail(err)
		}
		// 1xx answers are interim (100 Continue, 103 Early Hints): the
		// final answer follows. 101 would switch protocols, which was
		// never asked for.
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("the answer switches protocols (101), which was not asked for"))
	}
	body, err := newBody(resp, c, w, stop)
	if err != nil {
		return fail(err)
	}
	resp.Body = body
	return resp, true, nil
}

// get returns an idle connection that is still good, else a new one.
func (w *wire) get(ctx context.Context) (*wireConn, bool, error) {
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

func (w *wire) dialConn(ctx context.Context) (*wireConn, error) {
	nc, err := w.dial(ctx, "tcp", w.addr)
	if err != nil {
		return nil, err
	}
	return &wireConn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// put returns a connection whose answer was read to its end.
func (w *wire) put(c *wireConn) {
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

// closeIdle closes the idle connections.
func (w *wire) closeIdle() {
	w.mu.Lock()
	idle := w.idle
	w.idle = nil
	w.mu.Unlock()
	for _, c := range idle {
		_ = c.nc.Close()
	}
}

// appendHead appends the request head of req to b.
func appendHead(b []byte, host string, req *wireRequest) []byte {
	b = append(b, req.method...)
	b = append(b, ' ')
	b = append(b, req.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	for i := 0; i+1 < len(req.header); i += 2 {
		b = append(b, req.header[i]...)
		b = append(b, ": "...)
		b = append(b, req.header[i+1]...)
		b = append(b, "\r\n"...)
	}
	if req.body != nil || req.method == http.MethodPost {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.body)), 10)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// readHead reads a status line and header fields.
func readHead(br *bufio.Reader) (*http.Response, error) {
	total := 0
	line, err := readLine(br, &total)
	if err != nil {
		return nil, err
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return nil, fmt.Errorf("malformed status line %.100q", line)
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return nil, fmt.Errorf("malformed status line %.100q", line)
		}
		code = code*10 + int(d-'0')
	}
	if code < 100 {
		// RFC 9110 §15: a status code is 100-599 (3 digits, a class 1-5).
		return nil, fmt.Errorf("malformed status line %.100q", line)
	}
	resp := &http.Response{StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: int(line[7] - '0'), Header: make(http.Header, 8)}
	for n := 0; ; n++ {
		line, err := readLine(br, &total)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return resp, nil
		}
		if n >= maxHeaderLines {
			return nil, errHeadTooLarge
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed header line %.100q", line)
		}
		key := headerKey(name)
		resp.Header[key] = append(resp.Header[key], string(bytes.Trim(value, " \t")))
	}
}

// readLine reads one CRLF- (or LF-) terminated line without its end,
// counting it against the head's bound. The line is valid until the next
// read.
func readLine(br *bufio.Reader, total *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*total += len(line)
	if errors.Is(err, bufio.ErrBufferFull) || *total > maxHeaderBytes {
		return nil, errHeadTooLarge
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	if bytes.ContainsAny(line, "\r\x00") {
		return nil, fmt.Errorf("malformed line %.100q", line)
	}
	return line, nil
}

// headerKey returns the canonical form of a header name; the names the
// Runtime API sends come back as constants, without an allocation.
func headerKey(name []byte) string {
	switch string(name) {
	case HeaderRequestID:
		return HeaderRequestID
	case HeaderDeadlineMs:
		return HeaderDeadlineMs
	case HeaderFunctionARN:
		return HeaderFunctionARN
	case HeaderTraceID:
		return HeaderTraceID
	case HeaderClientContext:
		return HeaderClientContext
	case HeaderCognitoIdentity:
		return HeaderCognitoIdentity
	case HeaderTenantID:
		return HeaderTenantID
	case HeaderExtensionIdentifier:
		return HeaderExtensionIdentifier
	case "Content-Type":
		return "Content-Type"
	case "Content-Length":
		return "Content-Length"
	case "Date":
		return "Date"
	case "Transfer-Encoding":
		return "Transfer-Encoding"
	case "Connection":
		return "Connection"
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}

// body is an answer's body: Content-Length, chunked, or (neither) up to
// the connection's end. Close returns the connection to the pool when the
// body was read to its end and the peer keeps the connection.
type body struct {
	c     *wireConn
	w     *wire
	stop  func() bool // the call's context watch
	r     io.Reader
	done  bool // the body was read to its end
	reuse bool // the connection may carry another call afterwards
	once  sync.Once
}

func newBody(resp *http.Response, c *wireConn, w *wire, stop func() bool) (*body, error) {
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
