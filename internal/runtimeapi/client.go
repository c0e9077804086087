package runtimeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/streamstrap/streamstrap/internal/chunked"
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

// StatusError is an unexpected status from the Runtime API.
type StatusError struct {
	// Op names the call, as "METHOD path".
	Op string
	// StatusCode is the status the API answered.
	StatusCode int
	// Body is the API's message, trimmed.
	Body string
}

// Error names the call, the status and the Runtime API's message.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: Runtime API answered %d: %s", e.Op, e.StatusCode, e.Body)
}

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
	Close(trailer http.Header) (Answer, error)
	// Abort drops the response without ending it.
	Abort()
}

// BufferSize is the read size that fills one chunk of a ResponseStream; a
// caller reading the head of the output into its own buffer uses it too.
const BufferSize = chunked.CopyBufferSize

// Client speaks the Lambda Runtime API over HTTP/1.1.
type Client struct {
	addr   string
	http   *http.Client
	dial   chunked.Dialer
	ua     string
	splice chunked.SpliceMode
}

// SetSplice says how response bodies read from a pipe are sent; the
// default, chunked.SpliceOff, copies them. Call it before the first
// OpenResponse.
func (c *Client) SetSplice(m chunked.SpliceMode) { c.splice = m }

// NewClient returns a client for the Runtime API at addr (host:port, the
// value of AWS_LAMBDA_RUNTIME_API). maxConns is the number of loops sharing it.
func NewClient(addr, userAgent string, maxConns int) *Client {
	dialer := &net.Dialer{KeepAlive: -1}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: max(maxConns, 1) + 1,
		DisableCompression:  true,
		Protocols:           &protocols,
	}
	return &Client{
		addr: addr,
		// No timeout: /next is a long poll that may wait for minutes.
		http: &http.Client{Transport: tr},
		dial: dialer.DialContext,
		ua:   userAgent,
	}
}

// Next waits for the next invocation. Any failure is fatal for the runtime.
func (c *Client) Next(ctx context.Context) (*Invocation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.addr+PathNext, nil)
	if err != nil {
		return nil, callError(http.MethodGet, PathNext, err)
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, callError(http.MethodGet, PathNext, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, callError(http.MethodGet, PathNext, fmt.Errorf("reading the event: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Op: http.MethodGet + " " + PathNext, StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	h := resp.Header
	inv := &Invocation{
		RequestID:       h.Get(HeaderRequestID),
		FunctionARN:     h.Get(HeaderFunctionARN),
		TraceID:         h.Get(HeaderTraceID),
		ClientContext:   h.Get(HeaderClientContext),
		CognitoIdentity: h.Get(HeaderCognitoIdentity),
		TenantID:        h.Get(HeaderTenantID),
		Payload:         body,
	}
	if inv.RequestID == "" {
		return nil, callError(http.MethodGet, PathNext, errors.New("the event has no "+HeaderRequestID+" header"))
	}
	if ms := h.Get(HeaderDeadlineMs); ms != "" {
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return nil, callError(http.MethodGet, PathNext, fmt.Errorf("invalid %s %q: %w", HeaderDeadlineMs, ms, err))
		}
		inv.DeadlineMs = n
		inv.Deadline = time.UnixMilli(n)
	}
	return inv, nil
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.addr+path, bytes.NewReader(e.JSON()))
	if err != nil {
		return callError(http.MethodPost, path, err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Content-Type", ContentTypeError)
	req.Header.Set(HeaderErrorType, e.Type)
	resp, err := c.http.Do(req)
	if err != nil {
		return callError(http.MethodPost, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusAccepted {
		return &StatusError{Op: http.MethodPost + " " + path, StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	return nil
}

// OpenResponse starts the streamed response for requestID. Nothing is sent
// until the first Write or Close.
func (c *Client) OpenResponse(ctx context.Context, requestID, contentType string) (ResponseStream, error) {
	path := PathResponse(requestID)
	s, err := chunked.Open(ctx, c.dial, chunked.Request{
		Addr: c.addr,
		Path: path,
		Header: http.Header{
			"User-Agent":       {c.ua},
			"Content-Type":     {contentType},
			HeaderResponseMode: {ResponseModeStreaming},
		},
		Trailer: []string{HeaderErrorType, HeaderErrorBody},
		Splice:  c.splice,
	})
	if err != nil {
		return nil, callError(http.MethodPost, path, err)
	}
	return stream{s}, nil
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

func (s stream) Close(trailer http.Header) (Answer, error) {
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
func (c *Client) CloseIdle() { c.http.CloseIdleConnections() }
