package runtimeapitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readBufSize is the size of each connection's bufio.Reader. It is large so
// that big chunks are hashed straight out of the buffer with few syscalls.
const readBufSize = 256 << 10

// conn is one accepted connection. Only its serving goroutine uses it, except
// for the look-ahead goroutine of a waiting /next (see awaitLookahead).
type conn struct {
	s  *Server
	nc net.Conn
	br *bufio.Reader
	tp *textproto.Reader

	streamed  bool       // a streamed /response on this connection was answered 202
	lookahead chan error // pending look-ahead read started by a waiting /next
}

// request is a parsed request head.
type request struct {
	method, target, path, proto string
	desc                        string // "POST /invocation/ID/response", for messages
	header                      http.Header
	chunked                     bool
	length                      int64 // Content-Length, -1 when absent
	close                       bool  // the client asked to close after this request
	declared                    map[string]bool
	badFraming                  string // body framing cannot be determined
}

// framingError is a malformed chunked body.
type framingError struct{ msg string }

// Error returns the framing problem.
func (e *framingError) Error() string { return e.msg }

func framingf(format string, args ...any) error {
	return &framingError{fmt.Sprintf(format, args...)}
}

// errStop means a fault's byte limit was reached.
var errStop = errors.New("runtimeapitest: fault point reached")

// errClosed means the server is closing.
var errClosed = errors.New("runtimeapitest: server closed")

func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	br := bufio.NewReaderSize(nc, readBufSize)
	c := &conn{s: s, nc: nc, br: br, tp: textproto.NewReader(br)}
	defer func() {
		nc.Close()
		c.awaitLookahead()
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
	}()
	for {
		c.awaitLookahead()
		req, err := c.readRequest()
		if err != nil {
			// A reset before the first byte of a request is a client that
			// went away (a killed runtime), not a malformed request.
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) && !s.isClosed() && !isNetClosed(err) {
				s.violationf("malformed request: %v", err)
				c.writeError(http.StatusBadRequest, "BadRequest", err.Error(), true)
			}
			return
		}
		if c.streamed {
			s.violationf("%s: connection reused after streamed response (the runtime must close the connection after a streamed /response)", req.desc)
		}
		if !s.route(c, req) || req.close {
			return
		}
	}
}

func (s *Server) isClosed() bool {
	select {
	case <-s.closeCh:
		return true
	default:
		return false
	}
}

func isNetClosed(err error) bool {
	return errors.Is(err, net.ErrClosed)
}

// awaitLookahead waits for a pending look-ahead read so that the bufio.Reader
// is owned by the serving goroutine again.
func (c *conn) awaitLookahead() {
	if c.lookahead != nil {
		<-c.lookahead
		c.lookahead = nil
	}
}

// readLine reads one CRLF-terminated line and returns it without the CRLF.
// The returned slice is valid until the next read.
func (c *conn) readLine(what string) ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, framingf("%s longer than %d bytes", what, readBufSize)
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, framingf("%s %q is not terminated by CRLF", what, line)
	}
	line = line[:len(line)-2]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, framingf("%s %q contains a bare CR", what, line)
	}
	return line, nil
}

func (c *conn) readRequest() (*request, error) {
	line, err := c.readLine("request line")
	if err != nil {
		return nil, err
	}
	parts := strings.Split(string(line), " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("bad request line %q", line)
	}
	req := &request{method: parts[0], target: parts[1], proto: parts[2], length: -1}
	mh, err := c.tp.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("reading headers of %q: %w", line, err)
	}
	req.header = http.Header(mh)
	req.path = req.target
	if i := strings.IndexByte(req.path, '?'); i >= 0 {
		req.path = req.path[:i]
	}
	req.desc = req.method + " " + strings.TrimPrefix(req.path, apiPrefix)

	s := c.s
	switch req.proto {
	case "HTTP/1.1":
	case "HTTP/1.0":
		s.violationf("%s: request uses HTTP/1.0, the Runtime API needs HTTP/1.1", req.desc)
		req.close = true
	default:
		return nil, fmt.Errorf("unsupported protocol %q in %q", req.proto, line)
	}
	if len(req.header.Values("Host")) != 1 {
		s.violationf("%s: request needs exactly one Host header, got %q", req.desc, req.header.Values("Host"))
	}
	if v := req.header.Values("Expect"); len(v) > 0 {
		s.violationf("%s: request has an Expect header %q (the runtime must not use Expect: 100-continue)", req.desc, v)
	}
	for _, v := range req.header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "close") {
				req.close = true
			}
		}
	}
	te := req.header.Values("Transfer-Encoding")
	cl := req.header.Values("Content-Length")
	if len(te) > 0 {
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			req.badFraming = fmt.Sprintf("unsupported Transfer-Encoding %q (only \"chunked\")", te)
		}
		req.chunked = true
		if len(cl) > 0 {
			s.violationf("%s: request has both Transfer-Encoding and Content-Length", req.desc)
		}
	} else if len(cl) > 0 {
		n, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64)
		if err != nil || n < 0 || cl[0] == "" || cl[0][0] == '+' {
			req.badFraming = fmt.Sprintf("invalid Content-Length %q", cl)
		}
		for _, v := range cl[1:] {
			if v != cl[0] {
				req.badFraming = fmt.Sprintf("conflicting Content-Length values %q", cl)
			}
		}
		req.length = n
	}
	for _, v := range req.header.Values("Trailer") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if req.declared == nil {
				req.declared = map[string]bool{}
			}
			req.declared[textproto.CanonicalMIMEHeaderKey(name)] = true
		}
	}
	return req, nil
}

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

// writeResponse writes a whole response in one Write.
func (c *conn) writeResponse(status int, headers []string, body []byte, closeConn bool) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for i := 0; i+1 < len(headers); i += 2 {
		buf.WriteString(headers[i])
		buf.WriteString(": ")
		buf.WriteString(headers[i+1])
		buf.WriteString("\r\n")
	}
	fmt.Fprintf(&buf, "Content-Length: %d\r\n", len(body))
	if closeConn {
		buf.WriteString("Connection: close\r\n")
	}
	buf.WriteString("\r\n")
	buf.Write(body)
	_, err := c.nc.Write(buf.Bytes())
	return err
}

// bigEvent is the event size above which /next writes the head first.
const bigEvent = 1 << 20

// writeHead writes a response head whose headers include the framing.
func (c *conn) writeHead(status int, headers []string, closeConn bool) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for i := 0; i+1 < len(headers); i += 2 {
		buf.WriteString(headers[i])
		buf.WriteString(": ")
		buf.WriteString(headers[i+1])
		buf.WriteString("\r\n")
	}
	if closeConn {
		buf.WriteString("Connection: close\r\n")
	}
	buf.WriteString("\r\n")
	_, err := c.nc.Write(buf.Bytes())
	return err
}

// errorJSON renders a Runtime API error body.
func errorJSON(errorType, message string) []byte {
	b, _ := json.Marshal(map[string]string{"errorMessage": message, "errorType": errorType})
	return append(b, '\n')
}

func (c *conn) writeError(status int, errorType, message string, closeConn bool) error {
	return c.writeResponse(status, []string{"Content-Type", "application/json"}, errorJSON(errorType, message), closeConn)
}

var acceptedBody = []byte("{\"status\":\"OK\"}\n")

func (c *conn) writeAccepted(closeConn bool) error {
	return c.writeResponse(http.StatusAccepted, []string{"Content-Type", "application/json"}, acceptedBody, closeConn)
}

// genericError returns the error type and message used for an injected status.
func genericError(status int) (string, string) {
	switch status {
	case http.StatusBadRequest:
		return "InvalidRequestID", "Invalid request ID"
	case http.StatusForbidden:
		return "InvalidStateTransition", "State transition failed"
	case http.StatusRequestEntityTooLarge:
		return "RequestEntityTooLarge", "Exceeded maximum allowed payload size (6291556 bytes)."
	case http.StatusGone:
		return "InvokeTimeout", "Invoke timed out"
	case http.StatusInternalServerError:
		return "ServiceException", "Container error. Non-recoverable state. Runtime should exit promptly."
	}
	return strings.ReplaceAll(http.StatusText(status), " ", ""), fmt.Sprintf("injected status %d", status)
}

// lingeringClose closes the write side, then discards what the client still
// sends for up to a second, so that the client can read the answer before
// the connection goes away.
func (c *conn) lingeringClose() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, c.br)
}

// resetClose closes the connection with a TCP RST.
func (c *conn) resetClose() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.nc.Close()
}

// route dispatches a request. It returns false when the connection must be closed.
func (s *Server) route(c *conn, req *request) bool {
	const inv = apiPrefix + "/invocation/"
	switch {
	case req.path == inv+"next":
		if req.method == http.MethodGet {
			return s.handleNext(c, req)
		}
	case req.path == apiPrefix+"/init/error":
		if req.method == http.MethodPost {
			return s.handleInitError(c, req)
		}
	case req.path == extPrefix+"/register":
		if req.method == http.MethodPost {
			return s.handleRegister(c, req)
		}
	case req.path == extPrefix+"/event/next":
		if req.method == http.MethodGet {
			return s.handleEventNext(c, req)
		}
	case strings.HasPrefix(req.path, inv):
		// The id is exactly one path segment, percent-encoded where it
		// must be: a raw "/", "?", "#", a dot segment or a byte outside
		// RFC 3986 would make a real router send the post elsewhere.
		seg, tail, _ := strings.Cut(req.path[len(inv):], "/")
		if req.method == http.MethodPost && seg != "" && req.target == req.path && validTarget(req.target) {
			id, err := url.PathUnescape(seg)
			if err == nil {
				switch tail {
				case "response":
					return s.handleResponse(c, req, id)
				case "error":
					return s.handleInvocationError(c, req, id)
				}
			}
		}
	}
	s.violationf("%s: unknown endpoint or method (target %q)", req.desc, req.target)
	c.drain(req)
	c.writeError(http.StatusNotFound, "NotFound", "no such endpoint: "+req.method+" "+req.target, true)
	return false
}

// validTarget reports whether target is an RFC 3986 absolute path (no
// query, no fragment) with well-formed percent-encoding and no dot
// segments.
func validTarget(target string) bool {
	for i := 0; i < len(target); i++ {
		ch := target[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/", ch) >= 0:
		case ch == '%':
			if i+2 >= len(target) || !isHex(target[i+1]) || !isHex(target[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	for _, seg := range strings.Split(target, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func isHex(ch byte) bool {
	return '0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F'
}
