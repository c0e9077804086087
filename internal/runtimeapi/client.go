package runtimeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/streamstrap/streamstrap/internal/chunked"
	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/keepalive"
	"github.com/streamstrap/streamstrap/internal/rawio"
)

// Invocation is one event handed out by /next, with its context.
type Invocation struct {
	RequestID       string
	Deadline        time.Time
	DeadlineMs      int64
	FunctionARN     string
	TraceID         string
	ClientContext   string
	CognitoIdentity string
	TenantID        string
	Payload         []byte
}

// CallError is a call to the Runtime or Extensions API that got no usable
// answer. It names the call once (method and path); Err is the cause, without
// the URL that net/http would repeat.
type CallError struct {
	// Method and Path name the call, e.g. GET /2018-06-01/runtime/invocation/next.
	Method, Path string
	// Err is why it failed.
	Err error
}

// Error returns "METHOD path: cause".
func (e *CallError) Error() string { return e.Method + " " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Err }

// callError wraps err for the call method path, dropping a *url.Error's
// "Get \"http://…\"" since the call is named already.
func callError(method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &CallError{Method: method, Path: path, Err: err}
}

// MaxEventBytes bounds the body of a /next answer, the event. Lambda's own
// limit for an invocation payload is 6 MB (6,291,456 bytes for a
// synchronous invoke); 8 MiB leaves room for a local runtime's slightly
// larger events while a hostile peer's 1 GiB event costs no more than this.
// A larger event is refused with an *EventError: it is reported to /error
// and the handler never sees it.
const MaxEventBytes = 8 << 20

// maxAnswerBody bounds what is kept of an answer's body.
const maxAnswerBody = 64 << 10

// StatusError is an unexpected status from the Runtime API.
type StatusError struct {
	// Op names the call, as "METHOD path".
	Op string
	// StatusCode is the status the API answered.
	StatusCode int
	// Body is the API's message, trimmed.
	Body string
	// Location is the target of a redirect (a 3xx), which is never
	// followed: the Runtime API has no business sending one. Empty
	// otherwise.
	Location string
}

// Error names the call, the status and the Runtime API's message.
func (e *StatusError) Error() string {
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		return fmt.Sprintf("%s: Runtime API answered %d, a redirect to %q (not followed): %s", e.Op, e.StatusCode, e.Location, e.Body)
	}
	return fmt.Sprintf("%s: Runtime API answered %d: %s", e.Op, e.StatusCode, e.Body)
}

// EventError is an event from /next that cannot be run although its request
// id is known: a malformed deadline, a body over MaxEventBytes. The loop
// reports it to /error for that id and goes on.
type EventError struct {
	// RequestID is the event's id.
	RequestID string
	// Err says what is wrong with the event.
	Err error
}

// Error names the event and what is wrong with it.
func (e *EventError) Error() string {
	return httpwire.MethodGet + " " + PathNext + ": event " + e.RequestID + ": " + e.Err.Error()
}

// Unwrap returns what is wrong with the event.
func (e *EventError) Unwrap() error { return e.Err }

// Fatal reports whether the status means the runtime must exit: 500 is the
// Runtime API's "container error, non-recoverable, exit promptly".
func (e *StatusError) Fatal() bool { return e.StatusCode >= 500 }

// Answer is how the Runtime API answered a streamed response.
type Answer struct {
	// StatusCode is 202 for an accepted response.
	StatusCode int
	// Body is the API's message (an error document for a refusal).
	Body []byte
}

// EarlyAnswerError reports that the Runtime API answered a response before
// its body was finished (a 413, or a 500); writing stops.
type EarlyAnswerError struct {
	// Answer is what the API said.
	Answer Answer
	// Err is the stream's own report of it.
	Err error
}

// Error returns the stream's report.
func (e *EarlyAnswerError) Error() string { return e.Err.Error() }

// Unwrap returns the stream's report.
func (e *EarlyAnswerError) Unwrap() error { return e.Err }

// ResponseStream is the body of one streamed response in flight. The Client
// provides one over internal/chunked; another writer (a zero-copy one, or a
// local runtime's in-process pipe) can stand in. An answer that arrives
// before the body is finished is an *EarlyAnswerError from any method.
type ResponseStream interface {
	io.Writer
	io.ReaderFrom
	// Close ends the body with the given trailers and returns the answer.
	Close(trailer httpwire.Header) (Answer, error)
	// Abort drops the response without ending it.
	Abort()
}

// BufferSize is the read size that fills one chunk of a ResponseStream; a
// caller reading the head of the output into its own buffer uses it too.
const BufferSize = chunked.CopyBufferSize

// Client speaks the Lambda Runtime API over HTTP/1.1.
type Client struct {
	addr string
	// rawAddr is addr when it is numeric (Lambda's always is): the
	// response connections are then dialled by rawio; else invalid.
	rawAddr netip.AddrPort
	wire    *keepalive.Client
	dial    chunked.Dialer
	ua      string
	next    keepalive.Request // GET /next, the same every time
	// peerTimeout bounds each wait the Runtime API controls, except the
	// long poll of /next; zero means DefaultPeerTimeout.
	peerTimeout time.Duration
	// splice is how response bodies read from a pipe are sent.
	splice chunked.SpliceMode
}

// DefaultPeerTimeout bounds the waits a Runtime API that has stopped can
// cause: a write of the response that makes no progress, the answer to a
// post. See chunked.DefaultStallTimeout for why 30 s cannot cut a working
// stream.
const DefaultPeerTimeout = chunked.DefaultStallTimeout

// SetPeerTimeout sets the bound on the waits a stopped Runtime API can
// cause (see DefaultPeerTimeout); zero means the default. Call it before
// the client is used.
func (c *Client) SetPeerTimeout(d time.Duration) { c.peerTimeout = d }

func (c *Client) timeout() time.Duration {
	if c.peerTimeout > 0 {
		return c.peerTimeout
	}
	return DefaultPeerTimeout
}

// SetSplice says how response bodies read from a pipe are sent; the
// default, chunked.SpliceOff, copies them. Call it before the first
// OpenResponse.
func (c *Client) SetSplice(m chunked.SpliceMode) { c.splice = m }

// NewClient returns a client for the Runtime API at addr (host:port, the
// value of AWS_LAMBDA_RUNTIME_API). maxConns is the number of loops sharing it.
func NewClient(addr, userAgent string, maxConns int) *Client {
	// No keep-alive probes: the environment is frozen between invocations.
	dialer := &net.Dialer{KeepAlive: -1}
	dial := dialer.DialContext
	var rawAddr netip.AddrPort
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().Zone() == "" {
		rawAddr = ap
		// A numeric address, as Lambda's always is: every response opens
		// a connection, and rawio's dial makes half the system calls.
		dial = func(ctx context.Context, network, a string) (net.Conn, error) {
			if network == "tcp" && a == addr {
				return rawio.DialTCP(ctx, ap)
			}
			return dialer.DialContext(ctx, network, a)
		}
	}
	return &Client{
		addr:    addr,
		rawAddr: rawAddr,
		// No timeout: /next is a long poll that may wait for minutes.
		// The wire client never follows a redirect: the Runtime API is the
		// only peer, and a 3xx comes back as the answer (a protocol error).
		wire: newWire(addr, dial, max(maxConns, 1)+1),
		dial: dial,
		ua:   userAgent,
		next: keepalive.Request{Method: httpwire.MethodGet, Path: PathNext, Header: []string{"User-Agent", userAgent}},
	}
}

// newWire returns the keep-alive client of the small calls (/next, the
// error posts, the Extensions API) to the API at addr; the API's header
// names are interned, so an answer's headers cost no allocation each.
func newWire(addr string, dial chunked.Dialer, maxIdle int) *keepalive.Client {
	return keepalive.New(addr, dial, maxIdle,
		HeaderRequestID, HeaderDeadlineMs, HeaderFunctionARN, HeaderTraceID,
		HeaderClientContext, HeaderCognitoIdentity, HeaderTenantID, HeaderExtensionIdentifier)
}

// Next waits for the next invocation. An *EventError is an event that
// cannot be run but can be reported; any other failure is fatal for the
// runtime.
func (c *Client) Next(ctx context.Context) (*Invocation, error) {
	resp, err := c.wire.Do(ctx, &c.next)
	if err != nil {
		return nil, callError(httpwire.MethodGet, PathNext, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != httpwire.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
		return nil, &StatusError{Op: httpwire.MethodGet + " " + PathNext, StatusCode: resp.StatusCode,
			Body: string(bytes.TrimSpace(body)), Location: resp.Header.Get("Location")}
	}
	inv, err := invocationFrom(resp.Header)
	if err != nil {
		return nil, err
	}
	if inv.Payload, err = readEvent(resp.Body); err != nil {
		return nil, &EventError{RequestID: inv.RequestID, Err: err}
	}
	return inv, nil
}

// invocationFrom reads the invocation's context from the headers of /next.
// A missing or unusable id is fatal; a malformed deadline is an
// *EventError, since the id is known.
func invocationFrom(h httpwire.Header) (*Invocation, error) {
	inv := &Invocation{
		RequestID:       h.Get(HeaderRequestID),
		FunctionARN:     h.Get(HeaderFunctionARN),
		TraceID:         h.Get(HeaderTraceID),
		ClientContext:   h.Get(HeaderClientContext),
		CognitoIdentity: h.Get(HeaderCognitoIdentity),
		TenantID:        h.Get(HeaderTenantID),
	}
	if err := checkRequestID(inv.RequestID); err != nil {
		return nil, callError(httpwire.MethodGet, PathNext, err)
	}
	ms, ok, err := parseDeadline(h.Get(HeaderDeadlineMs))
	if err != nil {
		return nil, &EventError{RequestID: inv.RequestID, Err: err}
	}
	if ok {
		inv.DeadlineMs = ms
		inv.Deadline = time.UnixMilli(ms)
	}
	return inv, nil
}

// checkRequestID refuses an id that no path segment can carry: empty, or a
// dot segment, which a router resolves even when it is all there is.
func checkRequestID(id string) error {
	switch id {
	case "":
		return errors.New("the event has no " + HeaderRequestID + " header")
	case ".", "..":
		return fmt.Errorf("the event's %s %q cannot be posted to", HeaderRequestID, id)
	}
	return nil
}

// parseDeadline reads the deadline header: a positive count of Unix
// milliseconds. A missing header means no deadline (ok is false); "0", a
// negative or fractional number, an overflow or anything else is an error.
func parseDeadline(v string) (ms int64, ok bool, err error) {
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false, fmt.Errorf("the %s header %q is not a positive count of Unix milliseconds", HeaderDeadlineMs, v)
	}
	return n, true, nil
}

// readEvent reads the body of /next up to MaxEventBytes.
func readEvent(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxEventBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the event: %w", err)
	}
	if len(body) > MaxEventBytes {
		return nil, fmt.Errorf("the event is larger than %d bytes", MaxEventBytes)
	}
	return body, nil
}

// PostError reports a failure before any response byte was sent.
func (c *Client) PostError(ctx context.Context, requestID string, e FunctionError) error {
	return c.postError(ctx, PathError(requestID), e)
}

// PostInitError reports a failure to start; the runtime exits afterwards.
func (c *Client) PostInitError(ctx context.Context, e FunctionError) error {
	return c.postError(ctx, PathInitError, e)
}

func (c *Client) postError(ctx context.Context, path string, e FunctionError) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	resp, err := c.wire.Do(ctx, &keepalive.Request{Method: httpwire.MethodPost, Path: path, Body: e.Bounded().JSON(),
		Header: []string{"User-Agent", c.ua, "Content-Type", ContentTypeError, HeaderErrorType, e.Type}})
	if err != nil {
		return callError(httpwire.MethodPost, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody))
	if resp.StatusCode != httpwire.StatusAccepted {
		return &StatusError{Op: httpwire.MethodPost + " " + path, StatusCode: resp.StatusCode,
			Body: string(bytes.TrimSpace(body)), Location: resp.Header.Get("Location")}
	}
	return nil
}

// OpenResponse starts the streamed response for requestID. Nothing is sent
// until the first Write or Close. ctx bounds the whole stream, the wait for
// the answer included: once it is done the connection is closed (a caller
// that must report through a shutdown passes a context that outlives it).
func (c *Client) OpenResponse(ctx context.Context, requestID, contentType string) (ResponseStream, error) {
	return c.openResponse(ctx, c.dial, requestID, contentType)
}

// OpenResponseOn is OpenResponse on the connection pc dialled, if it is still
// fit for use (see PendingConn), or on a new one. pc may be nil. If Predial
// announced the response, that stream goes on (its head is out, its context
// Predial's), unless it has gone stale; contentType is then Predial's.
func (c *Client) OpenResponseOn(ctx context.Context, pc *PendingConn, requestID, contentType string) (ResponseStream, error) {
	if pc == nil {
		return c.OpenResponse(ctx, requestID, contentType)
	}
	if s := pc.takeAnnounced(requestID); s != nil {
		return stream{s}, nil
	}
	return c.openResponse(ctx, func(ctx context.Context, network, addr string) (net.Conn, error) {
		if conn := pc.take(ctx); conn != nil {
			return conn, nil
		}
		return c.dial(ctx, network, addr)
	}, requestID, contentType)
}

func (c *Client) openResponse(ctx context.Context, dial chunked.Dialer, requestID, contentType string) (ResponseStream, error) {
	req := c.responseRequest(requestID, contentType)
	s, err := chunked.Open(ctx, dial, req)
	if err != nil {
		return nil, callError(httpwire.MethodPost, req.Path, err)
	}
	return stream{s}, nil
}

// responseRequest is the streamed POST of the response to requestID.
func (c *Client) responseRequest(requestID, contentType string) chunked.Request {
	return chunked.Request{
		Addr: c.addr,
		Path: PathResponse(requestID),
		Header: httpwire.Header{
			"User-Agent":       {c.ua},
			"Content-Type":     {contentType},
			HeaderResponseMode: {ResponseModeStreaming},
		},
		Trailer:       []string{HeaderErrorType, HeaderErrorBody},
		StallTimeout:  c.timeout(),
		AnswerTimeout: c.timeout(),
		Splice:        c.splice,
	}
}

// stream is the chunked implementation of ResponseStream.
type stream struct{ s *chunked.Stream }

func (s stream) Write(p []byte) (int, error) {
	n, err := s.s.Write(p)
	return n, early(err)
}

func (s stream) ReadFrom(r io.Reader) (int64, error) {
	n, err := s.s.ReadFrom(r)
	return n, early(err)
}

func (s stream) Close(trailer httpwire.Header) (Answer, error) {
	resp, err := s.s.Close(trailer)
	if err != nil {
		return Answer{}, early(err)
	}
	return Answer{StatusCode: resp.StatusCode, Body: resp.Body}, nil
}

func (s stream) Abort() { s.s.Abort() }

// early turns chunked's early answer into the interface's.
func early(err error) error {
	var e *chunked.EarlyResponseError
	if errors.As(err, &e) {
		return &EarlyAnswerError{Answer: Answer{StatusCode: e.Response.StatusCode, Body: e.Response.Body}, Err: err}
	}
	return err
}

// CloseIdle releases idle connections, e.g. before exiting.
func (c *Client) CloseIdle() { c.wire.CloseIdle() }
