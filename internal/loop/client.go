package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/streamstrap/streamstrap/internal/chunked"
)

// Runtime API paths and headers, from the Lambda custom-runtime documentation.
const (
	apiPrefix = "/2018-06-01/runtime"

	headerRequestID       = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMs      = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID         = "Lambda-Runtime-Trace-Id"
	headerClientContext   = "Lambda-Runtime-Client-Context"
	headerCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	headerTenantID        = "Lambda-Runtime-Aws-Tenant-Id"

	// HeaderResponseMode marks a streamed response; its value must be exactly
	// "streaming" (lowercase), anything else is a 400.
	HeaderResponseMode = "Lambda-Runtime-Function-Response-Mode"
	// HeaderErrorType carries the error type, on /error and as a trailer.
	HeaderErrorType = "Lambda-Runtime-Function-Error-Type"
	// HeaderErrorBody is the trailer with the base64 JSON error document.
	HeaderErrorBody = "Lambda-Runtime-Function-Error-Body"

	errorContentType = "application/vnd.aws.lambda.error+json"
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

// StatusError is an unexpected status from the Runtime API.
type StatusError struct {
	Op         string
	StatusCode int
	Body       string
}

// Error names the call, the status and the Runtime API's message.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: Runtime API answered %d: %s", e.Op, e.StatusCode, e.Body)
}

// Fatal reports whether the status means the runtime must exit: 500 is the
// Runtime API's "container error, non-recoverable, exit promptly".
func (e *StatusError) Fatal() bool { return e.StatusCode >= 500 }

// ResponseStream is the body of one streamed response in flight. The chunked
// package provides it; another writer (a zero-copy one, or a local runtime's
// in-process pipe) can stand in.
type ResponseStream interface {
	io.Writer
	io.ReaderFrom
	// Close ends the body with the given trailers and returns the status.
	Close(trailer http.Header) (*chunked.Response, error)
	// Abort drops the response without ending it.
	Abort()
}

// Client speaks the Lambda Runtime API over HTTP/1.1.
type Client struct {
	addr string
	http *http.Client
	dial chunked.Dialer
	ua   string
}

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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.addr+apiPrefix+"/invocation/next", nil)
	if err != nil {
		return nil, fmt.Errorf("next: %w", err)
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("next: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("next: reading event: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Op: "next", StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	h := resp.Header
	inv := &Invocation{
		RequestID:       h.Get(headerRequestID),
		FunctionARN:     h.Get(headerFunctionARN),
		TraceID:         h.Get(headerTraceID),
		ClientContext:   h.Get(headerClientContext),
		CognitoIdentity: h.Get(headerCognitoIdentity),
		TenantID:        h.Get(headerTenantID),
		Payload:         body,
	}
	if inv.RequestID == "" {
		return nil, errors.New("next: the event has no " + headerRequestID + " header")
	}
	if ms := h.Get(headerDeadlineMs); ms != "" {
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("next: invalid %s %q: %w", headerDeadlineMs, ms, err)
		}
		inv.DeadlineMs = n
		inv.Deadline = time.UnixMilli(n)
	}
	return inv, nil
}

// PostError reports a failure before any response byte was sent.
func (c *Client) PostError(ctx context.Context, requestID string, e FunctionError) error {
	return c.postError(ctx, "error", apiPrefix+"/invocation/"+requestID+"/error", e)
}

// PostInitError reports a failure to start; the runtime exits afterwards.
func (c *Client) PostInitError(ctx context.Context, e FunctionError) error {
	return c.postError(ctx, "init/error", apiPrefix+"/init/error", e)
}

func (c *Client) postError(ctx context.Context, op, path string, e FunctionError) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.addr+path, bytes.NewReader(e.JSON()))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Content-Type", errorContentType)
	req.Header.Set(HeaderErrorType, e.Type)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusAccepted {
		return &StatusError{Op: op, StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	return nil
}

// OpenResponse starts the streamed response for requestID. Nothing is sent
// until the first Write or Close.
func (c *Client) OpenResponse(ctx context.Context, requestID, contentType string) (ResponseStream, error) {
	return c.openResponse(ctx, c.dial, requestID, contentType)
}

// OpenResponseOn is OpenResponse on the connection pc dialled, if it is still
// fit for use (see PendingConn), or on a new one. pc may be nil.
func (c *Client) OpenResponseOn(ctx context.Context, pc *PendingConn, requestID, contentType string) (ResponseStream, error) {
	if pc == nil {
		return c.OpenResponse(ctx, requestID, contentType)
	}
	return c.openResponse(ctx, func(ctx context.Context, network, addr string) (net.Conn, error) {
		if conn := pc.take(); conn != nil {
			return conn, nil
		}
		return c.dial(ctx, network, addr)
	}, requestID, contentType)
}

func (c *Client) openResponse(ctx context.Context, dial chunked.Dialer, requestID, contentType string) (ResponseStream, error) {
	s, err := chunked.Open(ctx, dial, chunked.Request{
		Addr: c.addr,
		Path: apiPrefix + "/invocation/" + requestID + "/response",
		Header: http.Header{
			"User-Agent":       {c.ua},
			"Content-Type":     {contentType},
			HeaderResponseMode: {"streaming"},
		},
		Trailer: []string{HeaderErrorType, HeaderErrorBody},
	})
	if err != nil {
		return nil, fmt.Errorf("response: %w", err)
	}
	return s, nil
}

// CloseIdle releases idle connections, e.g. before exiting.
func (c *Client) CloseIdle() { c.http.CloseIdleConnections() }
