// Package chunked sends one HTTP/1.1 request whose body is streamed with
// chunked transfer encoding and may end with trailer fields.
//
// It exists because a streaming Lambda response needs three things that are
// awkward through net/http's client: every write must reach the socket at once
// as its own chunk (no buffering, one writev per chunk), the request head may
// be held back until the first byte so head and first chunk share one segment,
// and the trailers that report a failure must be computed after the body. A
// caller that knows the head before it knows whether a body will follow may
// also Announce it: all of the head but its final empty line, which the
// first chunk then completes. It
// also watches for a response that arrives before the body is finished (the
// Runtime API answers 400/413 early) so a blocked writer is released at once.
//
// A Stream knows nothing of processes or of Lambda; the caller decides what the
// headers and trailers say.
package chunked

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/streamstrap/streamstrap/internal/httpsyntax"
	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/rawio"
)

// CopyBufferSize is the size of the buffer ReadFrom reads into. A pipe holds
// 64 KiB by default; a larger buffer costs nothing and lets one read take all
// that a fast writer has queued.
const CopyBufferSize = 256 << 10

// Bounds on what the server may make a Stream wait for or read. Each is a
// wait or a size that the peer controls; none can cut a working stream.
const (
	// MaxAnswerHead is the most bytes read for one head of the server's
	// answer (status line and header fields); Runtime API heads are a few
	// hundred bytes. A larger head is an *AnswerTooLargeError.
	MaxAnswerHead = 64 << 10
	// MaxAnswerBody is the most bytes of an answer's body that are kept;
	// Runtime API answers are small JSON documents. The rest is not read.
	MaxAnswerBody = 64 << 10
	// maxInterim is how many interim (1xx) answers are skipped before the
	// final one, as many as net/http's Transport allows.
	maxInterim = 5

	// DefaultStallTimeout bounds a write that makes no progress: the
	// server has accepted no byte of the body for this long. It is not a
	// bound on the stream's duration: the deadline moves with every byte
	// the server takes, so a slow reader is never cut, only one that has
	// stopped. 30 s is far beyond any pause of a live Runtime API (it
	// drains a 256 KiB chunk in 1/8 s even at Lambda's throttled 2 MiB/s,
	// and the kernel's socket buffers hold several such chunks), and far
	// below Lambda's 15-minute function timeout.
	DefaultStallTimeout = 30 * time.Second
	// DefaultAnswerTimeout bounds the wait for the server's answer once
	// the body has ended, and the reading of that answer's body. The
	// Runtime API answers as soon as it has read the last chunk.
	DefaultAnswerTimeout = 30 * time.Second
)

// Request describes the streamed request: where it goes and its head.
type Request struct {
	// Method defaults to POST.
	Method string
	// Addr is the host:port to dial; it is also the Host header.
	Addr string
	// Path is the request target, e.g. /2018-06-01/runtime/invocation/ID/response.
	Path string
	// Header holds extra request headers. Framing headers (Transfer-Encoding,
	// Content-Length, Trailer, Connection) are set by the Stream itself.
	Header httpwire.Header
	// Splice says whether ReadFrom moves the body with splice(2); the zero
	// value copies. SpliceAuto is resolved when the stream opens.
	Splice SpliceMode
	// Trailer names the trailer fields that may follow the body; they are
	// declared up front in the Trailer header, as RFC 9112 §7.1.2 requires.
	Trailer []string
	// StallTimeout bounds each write's lack of progress; zero means
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// AnswerTimeout bounds the wait for the answer after the body has
	// ended; zero means DefaultAnswerTimeout.
	AnswerTimeout time.Duration
}

// Dialer opens the connection a Stream is written to.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

var crlf = []byte("\r\n")

// Stream is one chunked request in flight. Write, ReadFrom and Close are
// meant for a single writing goroutine; Abort may be called from any
// goroutine.
type Stream struct {
	conn net.Conn
	head []byte // request head not yet sent; nil once sent
	// announced: Announce sent the head but its final CRLF (head holds
	// that CRLF until the first write).
	announced bool
	trailer   []string
	splice    SpliceMode // resolved: SpliceOn or SpliceOff
	spliced   int64      // body bytes moved by splice(2); the tests check it

	sizeLine [20]byte // scratch for the hex chunk-size line
	bufArr   [4][]byte
	bufs     net.Buffers   // over bufArr; a write consumes it, so it is reset per write
	w        *rawio.Writer // conn's writes, raw: see package rawio
	written  int64

	respDone chan struct{} // closed by readResponse once resp or respErr is set
	heard    atomic.Bool   // readResponse has read a byte of an answer (or the end)
	resp     *Response
	respErr  error

	ctx        context.Context
	stopCancel func() bool // stops the AfterFunc that closes conn on ctx.Done
	stall      time.Duration
	answerWait time.Duration

	closeOnce sync.Once
	closed    atomic.Bool
}

// Open dials req.Addr and prepares the request head. ctx bounds the whole
// stream: once it is done the connection is closed, which ends any write or
// wait for the answer with a *CanceledError. The head is sent together
// with the first chunk (or with the end of an empty body), so a stream that
// never gets a byte costs one connect and nothing else.
func Open(ctx context.Context, dial Dialer, req Request) (*Stream, error) {
	head, err := buildHead(req)
	if err != nil {
		return nil, err
	}
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	conn, err := dial(ctx, "tcp", req.Addr)
	if err != nil {
		return nil, fmt.Errorf("chunked: dial %s: %w", req.Addr, err)
	}
	// Nagle stays off: Go sets TCP_NODELAY on every TCP connection it
	// dials, and a delayed small chunk is exactly what a streaming
	// response must not suffer. (A second setsockopt per response would
	// only cost CPU.)
	s := &Stream{
		conn:       conn,
		w:          rawio.NewWriter(conn),
		head:       head,
		trailer:    append([]string(nil), req.Trailer...),
		respDone:   make(chan struct{}),
		ctx:        ctx,
		stall:      cmp.Or(req.StallTimeout, DefaultStallTimeout),
		answerWait: cmp.Or(req.AnswerTimeout, DefaultAnswerTimeout),
	}
	// A cancelled context (a shutdown) ends every wait at once: closing
	// the connection releases a blocked write and the answer's reader.
	s.stopCancel = context.AfterFunc(ctx, s.shut)
	s.splice = req.Splice.Resolve()
	// The response is watched from the start, so an early answer releases a
	// writer blocked on a full socket; before the head is sent it just waits.
	go s.readResponse()
	return s, nil
}

// Announce sends the request head without its final empty line, so that the
// server has read and parsed all of it by the time the first Write (or
// Close) sends that line with the first chunk. Until then the request is
// incomplete: the server cannot act on it, and an Abort leaves it a request
// that never arrived, not a started one. It is for a caller that knows the
// head before it knows whether there will be a body to send. Call it at
// most once, before any Write; a failed Announce leaves a stream that can
// only be aborted.
func (s *Stream) Announce() error {
	if len(s.head) < len(crlf) || s.written > 0 || s.announced {
		return errors.New("chunked: Announce after the head was sent")
	}
	rest := s.head[len(s.head)-len(crlf):]
	s.bufs = append(s.bufArr[:0], s.head[:len(s.head)-len(crlf)])
	if err := s.writeBufs(); err != nil {
		s.shut()
		return err
	}
	s.head, s.announced = rest, true
	return nil
}

// Waiting reports, before the first Write or Close, whether the stream is
// still fit to carry its request: nothing heard from the server (no answer,
// no end of the connection) and not aborted.
func (s *Stream) Waiting() bool { return s.written == 0 && !s.heard.Load() && s.usable() == nil }

func buildHead(req Request) ([]byte, error) {
	method := req.Method
	if method == "" {
		method = httpwire.MethodPost
	}
	if req.Addr == "" || !strings.HasPrefix(req.Path, "/") {
		return nil, fmt.Errorf("chunked: request needs an address and an absolute path (got %q %q)", req.Addr, req.Path)
	}
	// Appends, not fmt: the head is built once per response, on the way
	// to its first byte.
	n := len(method) + len(req.Path) + len(req.Addr) + 96
	for name, values := range req.Header {
		for _, v := range values {
			n += len(name) + len(v) + 4
		}
	}
	for _, name := range req.Trailer {
		n += len(name) + 2
	}
	b := make([]byte, 0, n)
	b = append(append(append(append(b, method...), ' '), req.Path...), " HTTP/1.1\r\nHost: "...)
	b = append(append(b, req.Addr...), "\r\n"...)
	for name, values := range req.Header {
		if managedHeader(name) {
			return nil, fmt.Errorf("chunked: header %q is managed by the stream", name)
		}
		for _, v := range values {
			if !httpsyntax.IsToken(name) || !validValue(v) {
				return nil, fmt.Errorf("chunked: invalid header %q: %q", name, v)
			}
			b = append(append(append(append(b, name...), ": "...), v...), "\r\n"...)
		}
	}
	b = append(b, "Transfer-Encoding: chunked\r\n"...)
	if len(req.Trailer) > 0 {
		b = append(b, "Trailer: "...)
		for i, name := range req.Trailer {
			if !httpsyntax.IsToken(name) {
				return nil, fmt.Errorf("chunked: invalid trailer name %q", name)
			}
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, name...)
		}
		b = append(b, "\r\n"...)
	}
	// One streamed request per connection, as the Lambda custom-runtime
	// documentation requires; telling the server lets it close first.
	b = append(b, "Connection: close\r\n\r\n"...)
	return b, nil
}

// managedHeader reports whether name, in any case, is a header the Stream
// sets itself.
func managedHeader(name string) bool {
	for _, m := range [...]string{"Host", "Transfer-Encoding", "Content-Length", "Trailer", "Connection", "Expect"} {
		if strings.EqualFold(name, m) {
			return true
		}
	}
	return false
}

// Write sends p as one chunk, immediately. An empty p sends nothing (a
// zero-length chunk would end the body).
func (s *Stream) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, s.usable()
	}
	if err := s.usable(); err != nil {
		return 0, err
	}
	n := len(strconv.AppendInt(s.sizeLine[:0], int64(len(p)), 16))
	s.sizeLine[n] = '\r'
	s.sizeLine[n+1] = '\n'
	s.bufs = s.bufArr[:0]
	if s.head != nil {
		s.bufs = append(s.bufs, s.head)
	}
	s.bufs = append(s.bufs, s.sizeLine[:n+2], p, crlf)
	if err := s.writeBufs(); err != nil {
		return 0, err
	}
	s.written += int64(len(p))
	return len(p), nil
}

// ReadFrom copies r into the stream, one chunk per read, until r returns
// io.EOF (which is not an error). It returns the first read or write error.
// It is the stream's copy loop: with SpliceOn, and r a pipe (a
// syscall.Conn) and the connection a socket, the bytes move by splice(2)
// instead, one chunk for what the pipe holds each time it becomes readable.
func (s *Stream) ReadFrom(r io.Reader) (int64, error) {
	bb := bytebufferpool.Get()
	defer bytebufferpool.Put(bb)
	if cap(bb.B) < CopyBufferSize {
		bb.B = make([]byte, CopyBufferSize)
	}
	buf := bb.B[:CopyBufferSize]
	if s.splice == SpliceOn {
		if n, ok, err := s.spliceFrom(r, buf); ok {
			return n, err
		}
	}
	return s.copyFrom(r, buf)
}

// copyFrom is ReadFrom through buf.
func (s *Stream) copyFrom(r io.Reader, buf []byte) (int64, error) {
	var total int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("chunked: reading body: %w", rerr)
		}
	}
}

// sent reports how many body bytes have been sent; the tests check it.
func (s *Stream) sent() int64 { return s.written }

// Close ends the body with the last chunk and the given trailer fields (only
// declared names with non-empty values are sent), waits for the server's
// response and closes the connection.
func (s *Stream) Close(trailer httpwire.Header) (*Response, error) {
	if err := s.usable(); err != nil {
		s.Abort()
		return s.earlyOr(err)
	}
	var end bytes.Buffer
	end.WriteString("0\r\n")
	for _, name := range s.trailer {
		v := trailer.Get(name)
		if v == "" {
			continue
		}
		if !validValue(v) {
			s.Abort()
			return nil, fmt.Errorf("chunked: trailer %s has an invalid value", name)
		}
		fmt.Fprintf(&end, "%s: %s\r\n", name, v)
	}
	end.WriteString("\r\n")
	s.bufs = s.bufArr[:0]
	if s.head != nil {
		s.bufs = append(s.bufs, s.head)
	}
	s.bufs = append(s.bufs, end.Bytes())
	if err := s.writeBufs(); err != nil {
		s.Abort()
		return s.earlyOr(err)
	}
	t := time.NewTimer(s.answerWait)
	defer t.Stop()
	select {
	case <-s.respDone:
	case <-t.C:
		s.Abort()
		if s.resp == nil {
			return nil, s.canceledOr(&StallError{Op: "waiting for the answer", Limit: s.answerWait})
		}
	}
	s.shut()
	if s.respErr != nil {
		return nil, s.canceledOr(s.respErr)
	}
	return s.resp, nil
}

// canceledOr reports a cancelled context in place of the error its closing
// of the connection caused.
func (s *Stream) canceledOr(err error) error {
	if s.ctx.Err() != nil {
		return &CanceledError{Err: context.Cause(s.ctx)}
	}
	return err
}

// Abort drops the connection without ending the body, so the server sees a
// truncated request. It is safe to call at any time, more than once.
func (s *Stream) Abort() {
	s.shut()
	<-s.respDone
}

func (s *Stream) shut() {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stopCancel != nil {
			s.stopCancel()
		}
		_ = s.conn.Close()
	})
}

// usable reports why the stream can no longer be written, if it cannot.
func (s *Stream) usable() error {
	select {
	case <-s.respDone:
		if s.resp != nil {
			return &EarlyResponseError{Response: s.resp}
		}
		if s.respErr != nil {
			return s.canceledOr(s.respErr)
		}
	default:
	}
	if s.closed.Load() {
		return s.canceledOr(ErrClosed)
	}
	return nil
}

// writeBufs writes s.bufs. The write deadline is renewed whenever the server
// has taken some bytes, so only a server that takes none for s.stall fails
// the write; a slow one is waited for.
func (s *Stream) writeBufs() error {
	defer func() { s.head = nil }()
	for {
		if err := s.conn.SetWriteDeadline(time.Now().Add(s.stall)); err != nil {
			return s.canceledOr(s.earlyErr(fmt.Errorf("chunked: write: %w", err)))
		}
		// readResponse closes respDone before it sets a past deadline to
		// release this writer, so checking after setting ours cannot miss
		// an answer.
		if err := s.usable(); err != nil {
			return err
		}
		n, err := s.w.WriteBuffers(&s.bufs)
		if err == nil {
			return nil
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if err := s.usable(); err != nil {
				return err
			}
			if n > 0 {
				// Progress: WriteBuffers consumed what was
				// written, so the loop sends the rest.
				s.head = nil
				continue
			}
			s.shut()
			return s.canceledOr(&StallError{Op: "write", Limit: s.stall})
		}
		return s.canceledOr(s.earlyErr(fmt.Errorf("chunked: write: %w", err)))
	}
}

// earlyErr prefers the server's early answer over the write error it caused.
func (s *Stream) earlyErr(err error) error {
	select {
	case <-s.respDone:
		if s.resp != nil {
			return &EarlyResponseError{Response: s.resp}
		}
	case <-time.After(50 * time.Millisecond):
		// A reset usually arrives together with any answer; wait briefly so
		// the caller learns the status instead of just "connection reset".
	}
	return err
}

func (s *Stream) earlyOr(err error) (*Response, error) {
	var early *EarlyResponseError
	if errors.As(err, &early) {
		return early.Response, err
	}
	return nil, err
}

// validValue rejects CR, LF and NUL, which would break the framing.
func validValue(v string) bool {
	return !strings.ContainsAny(v, "\r\n\x00")
}
