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

// writeResponse writes a whole response in one Write.
func (c *conn) writeResponse(status int, headers []string, body []byte, closeConn bool) error {
	var buf bytes.Buffer
	writeStatusAndHeaders(&buf, status, headers)
	fmt.Fprintf(&buf, "Content-Length: %d\r\n", len(body))
	if closeConn {
		buf.WriteString("Connection: close\r\n")
	}
	buf.WriteString("\r\n")
	buf.Write(body)
	_, err := c.nc.Write(buf.Bytes())
	return err
}

// writeStatusAndHeaders writes the status line and headers, name-value
// pairs, of a response head.
func writeStatusAndHeaders(buf *bytes.Buffer, status int, headers []string) {
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for i := 0; i+1 < len(headers); i += 2 {
		buf.WriteString(headers[i])
		buf.WriteString(": ")
		buf.WriteString(headers[i+1])
		buf.WriteString("\r\n")
	}
}

// bigEvent is the event size above which /next writes the head first.
const bigEvent = 1 << 20

// writeHead writes a response head whose headers include the framing.
func (c *conn) writeHead(status int, headers []string, closeConn bool) error {
	var buf bytes.Buffer
	writeStatusAndHeaders(&buf, status, headers)
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
