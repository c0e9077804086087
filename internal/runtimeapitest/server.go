// Package runtimeapitest provides a strict, fault-injecting Lambda Runtime API
// server on loopback for tests, in the spirit of net/http/httptest.
//
// The server is a raw TCP server with its own HTTP/1.1 parser rather than a
// net/http server: it decodes chunked request bodies and trailers itself,
// records each chunk with its arrival time, and records a violation for every
// protocol mistake a runtime makes (against the Runtime API as documented at
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). Violations are reported through testing.TB when the
// test ends, unless the test called [Server.AllowViolations].
//
// Typical use:
//
//	srv := runtimeapitest.New(t, runtimeapitest.Options{})
//	cmd.Env = append(cmd.Env, "AWS_LAMBDA_RUNTIME_API="+srv.Addr())
//	inv, err := srv.Invoke(ctx, runtimeapitest.Event{Payload: []byte(`{}`)})
//
// The server follows the classic Lambda state machine: every event is handed
// to one GET /next, and each handed-out invocation takes exactly one terminal
// POST (/response or /error). It answers 202 to a /response only after the
// whole body and its trailers have been read.
//
// It also serves the two Extensions API calls a runtime makes to register a
// no-op internal extension (see [Server.Registrations]): POST
// /2020-01-01/extension/register, open only until the runtime's first
// /next, and GET /2020-01-01/extension/event/next, which never answers. As in
// Lambda, whose init phase waits for every registered extension to be ready,
// no event is handed out before each registered extension has called
// event/next.
package runtimeapitest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Header and trailer names of the Runtime API. These, the paths and the
// token rule (validFieldName) are written out here on purpose instead of
// imported from internal/runtimeapi and internal/httpsyntax: the test server is
// an independent check of the bootstrap, so a typo on one side shows up as a
// failure instead of agreeing with itself.
const (
	HeaderRequestID       = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs      = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID         = "Lambda-Runtime-Trace-Id"
	HeaderClientContext   = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	HeaderTenantID        = "Lambda-Runtime-Aws-Tenant-Id"
	HeaderResponseMode    = "Lambda-Runtime-Function-Response-Mode"
	HeaderErrorType       = "Lambda-Runtime-Function-Error-Type"
	HeaderErrorBody       = "Lambda-Runtime-Function-Error-Body"
)

// DefaultFunctionARN is the invoked function ARN sent when Event.FunctionARN is empty.
const DefaultFunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:test"

// MaxTrailerSection is the limit (exclusive) on the size of a chunked body's
// trailer section: all trailer lines plus the final CRLF. It mirrors the
// 4096-byte bufio.Reader of Go's http.Server, which the real Runtime API uses.
const MaxTrailerSection = 4096

const apiPrefix = "/2018-06-01/runtime"

// errorTypeRE is the error-type shape the project requires in the
// Lambda-Runtime-Function-Error-Type header and trailer.
var errorTypeRE = regexp.MustCompile(`^(Runtime|Function)\.[A-Z][a-zA-Z]+$`)

// Options configures a Server.
type Options struct {
	// Concurrency is the maximum number of invocations in flight at once.
	// 0 means 1, classic Lambda. Values above 1 model Lambda Managed
	// Instances (AWS_LAMBDA_MAX_CONCURRENCY): several /next may wait at once
	// and each queued event goes to one of them.
	Concurrency int
}

// Event is one invocation to hand out through GET /next.
type Event struct {
	// RequestID is generated (UUID-like, from crypto/rand) when empty.
	RequestID string
	// Payload is the /next response body.
	Payload []byte
	// Deadline is sent as Lambda-Runtime-Deadline-Ms. When zero it is the
	// hand-out time plus Timeout, or plus 30s when Timeout is also zero.
	Deadline time.Time
	// Timeout is used when Deadline is zero; see Deadline.
	Timeout time.Duration
	// FunctionARN defaults to DefaultFunctionARN.
	FunctionARN string
	// Optional headers, sent only when non-empty.
	TraceID, ClientContext, CognitoIdentity, TenantID string
	// DeadlineHeader, when non-empty, is sent verbatim as
	// Lambda-Runtime-Deadline-Ms instead of Deadline, to try malformed
	// values ("abc", "1.5", "0"). Deadline is still filled in as usual.
	DeadlineHeader string
	// OmitDeadline leaves out the Lambda-Runtime-Deadline-Ms header.
	OmitDeadline bool
}

// Chunk is one data chunk of a chunked request body.
type Chunk struct {
	// Size is the chunk's size in bytes.
	Size int
	// At is when the chunk's data had been fully read.
	At time.Time
	// Data is the chunk's data; nil when data recording is off.
	Data []byte
}

// Invocation is the recorded outcome of one event. It is complete (and must
// not be modified) once returned by Wait or Invoke.
type Invocation struct {
	RequestID string
	// Event is the event as handed out (RequestID, Deadline and
	// FunctionARN filled in).
	Event Event
	// HandedOut is when /next returned the event.
	HandedOut time.Time
	// Outcome is "response" or "error" (the endpoint of the terminal POST).
	Outcome string
	// Header holds the terminal request's headers (canonical keys).
	Header http.Header
	// Streaming is true when Lambda-Runtime-Function-Response-Mode was "streaming".
	Streaming bool
	// Chunks are the data chunks of a chunked body, in arrival order.
	// A chunk cut short by the end of the connection (or by a fault) is not
	// listed, but its bytes count in Body and BodySize.
	Chunks []Chunk
	// Body is the concatenated body of a /response when data recording is
	// on, and always the body of an /error.
	Body []byte
	// BodySize is the number of body bytes received.
	BodySize int64
	// BodySHA256 is the SHA-256 of the received body bytes, always computed.
	BodySHA256 [32]byte
	// Trailer holds the trailer fields received (nil if none).
	Trailer http.Header
	// Truncated is true when the body ended before it was complete: a
	// chunked stream without its terminating chunk, a short Content-Length
	// body, or a body cut by RespondEarly/ResetResponse or a framing error.
	Truncated bool
	// Status is the HTTP status the server answered to the terminal POST,
	// or 0 when the connection ended (or was reset) before an answer.
	Status int
	// Done is when the outcome was recorded.
	Done time.Time
}

// ErrorType returns the reported error type: the error-type trailer of a
// streamed response, or for an /error the Lambda-Runtime-Function-Error-Type
// header, falling back to the body's "errorType" when the header is absent.
// It returns "" for a successful response.
func (inv *Invocation) ErrorType() string {
	if inv.Outcome == "error" {
		if t := inv.Header.Get(HeaderErrorType); t != "" {
			return t
		}
		var m struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(inv.Body, &m) == nil {
			return m.ErrorType
		}
		return ""
	}
	if inv.Trailer != nil {
		return inv.Trailer.Get(HeaderErrorType)
	}
	return ""
}

// DecodedErrorBody decodes the error body: the base64 error-body trailer of a
// streamed response, or the JSON body of an /error.
func (inv *Invocation) DecodedErrorBody() (map[string]any, error) {
	var raw []byte
	switch {
	case inv.Outcome == "error":
		raw = inv.Body
	case inv.Trailer != nil && len(inv.Trailer.Values(HeaderErrorBody)) > 0:
		b, err := base64.StdEncoding.Strict().DecodeString(inv.Trailer.Get(HeaderErrorBody))
		if err != nil {
			return nil, fmt.Errorf("error body trailer is not standard base64: %w", err)
		}
		raw = b
	default:
		return nil, errors.New("invocation has no error body")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("error body is not a JSON object: %w", err)
	}
	return m, nil
}

// InitError is one recorded POST /init/error.
type InitError struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

type invState int

const (
	stQueued     invState = iota // waiting for a /next
	stInFlight                   // handed out, no terminal POST yet
	stResponding                 // a terminal POST is being read
	stDone                       // outcome recorded
)

type invocation struct {
	ev        Event // as handed out
	orig      Event // as enqueued, restored when a hand-out fails
	state     invState
	handedOut time.Time
	kind      string // "response" or "error" once a terminal POST started
	result    *Invocation
	done      chan struct{}
}

type waiter struct {
	ch chan *invocation // buffered(1); receives the assigned invocation
}

type postFault struct {
	kind       int // faultRespondEarly, faultReset, faultStall
	status     int
	afterBytes int64
}

const (
	faultRespondEarly = iota + 1
	faultReset
	faultStall
)

// postAnswer replaces the 202 a terminal POST would get.
type postAnswer struct {
	status   int    // the final status; 0 with hold
	location string // Location header, for a redirect
	hold     bool   // never answer
}

// interimFault sends interim (1xx) answers on a /response.
type interimFault struct {
	statuses   []int
	beforeBody bool // right after the head, else after the whole body
}

type nextFault struct {
	drop     bool
	status   int
	location string // Location header, for a redirect
}

type throttle struct {
	after int64
	rate  int64
}

// Server is a strict fake Lambda Runtime API listening on 127.0.0.1.
// All methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	ln   net.Listener
	conc int

	wg      sync.WaitGroup
	closeCh chan struct{}

	mu          sync.Mutex
	closed      bool
	changed     chan struct{} // closed and replaced on every state change
	conns       map[net.Conn]struct{}
	connCount   int
	invs        map[string]*invocation
	queue       []*invocation
	waiters     []*waiter
	inFlight    int // handed out and not done
	nextCalls   int
	initErrors  []InitError
	violations  []string
	allowViol   bool
	recordData  bool
	hashData    bool
	nextFaults  []nextFault
	unsolicited int // SendUnsolicited count
	postFaults  map[string][]postFault
	failPosts   map[string][]postAnswer
	interims    map[string][]interimFault
	throttle    throttle

	regs           []*Registration // POST /extension/register, in order
	registerFaults []int           // FailRegister statuses, FIFO
}

// New starts a Server listening on 127.0.0.1:0. tb.Cleanup closes it and,
// unless AllowViolations was called, reports each violation with tb.Errorf.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("runtimeapitest: listen: %v", err)
	}
	conc := opts.Concurrency
	if conc <= 0 {
		conc = 1
	}
	s := &Server{
		tb:         tb,
		ln:         ln,
		conc:       conc,
		closeCh:    make(chan struct{}),
		changed:    make(chan struct{}),
		conns:      map[net.Conn]struct{}{},
		invs:       map[string]*invocation{},
		recordData: true,
		hashData:   true,
		postFaults: map[string][]postFault{},
		failPosts:  map[string][]postAnswer{},
		interims:   map[string][]interimFault{},
	}
	s.wg.Add(1)
	go s.acceptLoop()
	tb.Cleanup(func() {
		s.Close()
		s.mu.Lock()
		allow, viol := s.allowViol, append([]string(nil), s.violations...)
		s.mu.Unlock()
		if !allow {
			for _, v := range viol {
				tb.Errorf("runtimeapitest: Runtime API violation: %s", v)
			}
		}
	})
	return s
}

// Addr returns "127.0.0.1:port", the value for AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes all connections and unblocks /next waiters
// (their connections are closed) and Wait calls. It waits for the server's
// goroutines to exit and is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	close(s.closeCh)
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.notifyLocked()
	s.mu.Unlock()
	s.wg.Wait()
}

// notifyLocked wakes everything waiting for a state change. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) violationf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.violations = append(s.violations, msg)
	s.notifyLocked()
	s.mu.Unlock()
}

// Violations returns the protocol violations recorded so far, in order.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// AllowViolations stops the cleanup from failing the test for violations.
// Use it in tests that provoke protocol errors on purpose and check
// Violations themselves.
func (s *Server) AllowViolations() {
	s.mu.Lock()
	s.allowViol = true
	s.mu.Unlock()
}

// NextCalls returns the number of GET /next requests received so far.
func (s *Server) NextCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextCalls
}

// WaitNextCalls waits until at least n GET /next requests have arrived
// (waiting or served).
func (s *Server) WaitNextCalls(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, ch, closed := s.nextCalls, s.changed, s.closed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		if closed {
			return fmt.Errorf("runtimeapitest: server closed after %d of %d /next calls", got, n)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("runtimeapitest: %d of %d /next calls: %w", got, n, ctx.Err())
		}
	}
}

// Connections returns the number of connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connCount
}

// InitErrors returns the POST /init/error requests recorded so far.
func (s *Server) InitErrors() []InitError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]InitError(nil), s.initErrors...)
}

// SetRecordData turns recording of body data on (the default) or off. When
// off, /response chunks record only Size and At, Body stays nil, and
// BodySize and BodySHA256 are still computed: use it for big streams and
// benchmarks. /error and /init/error bodies are always recorded. The setting
// applies to /response requests that start after the call.
func (s *Server) SetRecordData(on bool) {
	s.mu.Lock()
	s.recordData = on
	s.mu.Unlock()
}

// SetHashData turns the SHA-256 of /response bodies on (the default) or off.
// When off, BodySHA256 stays zero; BodySize, Chunks (Size and At) and, if
// data recording is on, Body are kept as usual. Hashing costs about half a
// core at 1.4 GB/s, so throughput benchmarks turn it off to keep the server
// from being the bottleneck. /error and /init/error bodies are unaffected.
// The setting applies to /response requests that start after the call.
func (s *Server) SetHashData(on bool) {
	s.mu.Lock()
	s.hashData = on
	s.mu.Unlock()
}

// FailNext makes the next GET /next answer status (e.g. 500) with an error
// JSON body and close the connection. One-shot; queued with DropNext in FIFO order.
func (s *Server) FailNext(status int) {
	s.mu.Lock()
	s.nextFaults = append(s.nextFaults, nextFault{status: status})
	s.mu.Unlock()
}

// DropNext makes the next GET /next close its connection without answering.
// One-shot; queued with FailNext in FIFO order. Note that Go's http.Transport
// retries an idempotent GET once when a reused connection closes before any
// response byte.
func (s *Server) DropNext() {
	s.mu.Lock()
	s.nextFaults = append(s.nextFaults, nextFault{drop: true})
	s.mu.Unlock()
}

// RespondEarly makes the next /response for id answer status (e.g. 413, 400,
// 500) once afterBytes body bytes have been read, without reading further,
// and then close the connection (after a short lingering drain so the client
// can read the answer). The invocation completes with Status = status and
// Truncated = true.
func (s *Server) RespondEarly(id string, status int, afterBytes int) {
	s.mu.Lock()
	s.postFaults[id] = append(s.postFaults[id], postFault{kind: faultRespondEarly, status: status, afterBytes: int64(afterBytes)})
	s.mu.Unlock()
}

// ResetResponse makes the next /response for id close its connection
// abruptly (TCP RST, SO_LINGER 0) once afterBytes body bytes have been read.
// The invocation completes with Status 0 and Truncated = true.
func (s *Server) ResetResponse(id string, afterBytes int) {
	s.mu.Lock()
	s.postFaults[id] = append(s.postFaults[id], postFault{kind: faultReset, afterBytes: int64(afterBytes)})
	s.mu.Unlock()
}

// FailPost makes the next /response or /error for id answer status right
// after its headers and body were read (and recorded). The invocation
// completes with Status = status.
func (s *Server) FailPost(id string, status int) {
	s.mu.Lock()
	s.failPosts[id] = append(s.failPosts[id], postAnswer{status: status})
	s.mu.Unlock()
}

// SendUnsolicited makes the next successful GET /next follow its answer, on
// the same (now idle) connection, with a second answer nobody asked for, and
// then close the connection. One-shot.
func (s *Server) SendUnsolicited() {
	s.mu.Lock()
	s.unsolicited++
	s.mu.Unlock()
}

// RedirectNext makes the next GET /next answer status (a 3xx) with the
// given Location and close the connection; no event is handed out. A
// runtime must not follow it. One-shot; queued with FailNext and DropNext.
func (s *Server) RedirectNext(status int, location string) {
	s.mu.Lock()
	s.nextFaults = append(s.nextFaults, nextFault{status: status, location: location})
	s.mu.Unlock()
}

// RedirectPost makes the next /response or /error for id answer status (a
// 3xx) with the given Location, after its body was read and recorded. The
// invocation completes with Status = status. A runtime must not follow it.
func (s *Server) RedirectPost(id string, status int, location string) {
	s.mu.Lock()
	s.failPosts[id] = append(s.failPosts[id], postAnswer{status: status, location: location})
	s.mu.Unlock()
}

// HoldPost makes the next /response or /error for id read and record its
// body, and then never answer: the connection stays open until the client
// closes it or the server closes. The invocation completes with Status 0
// once the body is read.
func (s *Server) HoldPost(id string) {
	s.mu.Lock()
	s.failPosts[id] = append(s.failPosts[id], postAnswer{hold: true})
	s.mu.Unlock()
}

// StallResponse makes the next /response for id stop reading once
// afterBytes body bytes have been read, and keep the connection open
// without reading or answering until the server closes: a peer that stops
// reading. The invocation completes with Status 0 and Truncated = true as
// soon as the reading stops.
func (s *Server) StallResponse(id string, afterBytes int) {
	s.mu.Lock()
	s.postFaults[id] = append(s.postFaults[id], postFault{kind: faultStall, afterBytes: int64(afterBytes)})
	s.mu.Unlock()
}

// SendInterim makes the next /response for id get the given interim (1xx)
// answers, each a bare status line and an empty header section, before its
// final answer: right after the request head when beforeBody is set (while
// the runtime is still streaming), else after the whole body.
func (s *Server) SendInterim(id string, beforeBody bool, statuses ...int) {
	s.mu.Lock()
	s.interims[id] = append(s.interims[id], interimFault{statuses: statuses, beforeBody: beforeBody})
	s.mu.Unlock()
}

// Throttle limits the rate at which /response bodies are read: the first
// afterBytes bytes of each body are read at full speed, the rest at
// bytesPerSec (Lambda streams 6 MiB at full speed, then 2 MiB/s). Unlike the
// one-shot faults it stays in force for all later /response requests;
// Throttle(0, 0) turns it off.
func (s *Server) Throttle(afterBytes int64, bytesPerSec int64) {
	s.mu.Lock()
	s.throttle = throttle{after: afterBytes, rate: bytesPerSec}
	s.mu.Unlock()
}

// Enqueue queues ev for a GET /next and returns its request id.
func (s *Server) Enqueue(ev Event) string {
	if ev.RequestID == "" {
		ev.RequestID = newRequestID()
	}
	if ev.FunctionARN == "" {
		ev.FunctionARN = DefaultFunctionARN
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.invs[ev.RequestID]; dup {
		s.tb.Errorf("runtimeapitest: Enqueue: duplicate request id %q", ev.RequestID)
		return ev.RequestID
	}
	inv := &invocation{ev: ev, orig: ev, done: make(chan struct{})}
	s.invs[ev.RequestID] = inv
	s.queue = append(s.queue, inv)
	s.dispatchLocked()
	s.notifyLocked()
	return ev.RequestID
}

// Wait waits for the terminal outcome of id: a /response fully read (or
// truncated, or cut by a fault), or an /error.
func (s *Server) Wait(ctx context.Context, id string) (*Invocation, error) {
	s.mu.Lock()
	inv := s.invs[id]
	s.mu.Unlock()
	if inv == nil {
		return nil, fmt.Errorf("runtimeapitest: unknown request id %q", id)
	}
	select {
	case <-inv.done:
		return inv.result, nil
	default:
	}
	select {
	case <-inv.done:
		return inv.result, nil
	case <-s.closeCh:
		select {
		case <-inv.done:
			return inv.result, nil
		default:
		}
		return nil, fmt.Errorf("runtimeapitest: server closed before invocation %s completed", id)
	case <-ctx.Done():
		return nil, fmt.Errorf("runtimeapitest: waiting for invocation %s: %w", id, ctx.Err())
	}
}

// Invoke enqueues ev and waits for its outcome.
func (s *Server) Invoke(ctx context.Context, ev Event) (*Invocation, error) {
	return s.Wait(ctx, s.Enqueue(ev))
}

// dispatchLocked hands queued events to waiting /next requests while the
// concurrency limit allows and every registered extension is ready. s.mu
// must be held.
func (s *Server) dispatchLocked() {
	for len(s.queue) > 0 && len(s.waiters) > 0 && s.inFlight < s.conc && !s.closed && s.extensionsReadyLocked() {
		inv := s.queue[0]
		s.queue = s.queue[1:]
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		now := time.Now()
		inv.state = stInFlight
		inv.handedOut = now
		if inv.ev.Deadline.IsZero() {
			d := inv.ev.Timeout
			if d <= 0 {
				d = 30 * time.Second
			}
			inv.ev.Deadline = now.Add(d)
		}
		s.inFlight++
		w.ch <- inv
	}
}

// finishLocked records the outcome of inv. s.mu must be held.
func (s *Server) finishLocked(inv *invocation, res *Invocation) {
	if inv.state == stDone {
		return
	}
	res.RequestID = inv.ev.RequestID
	res.Event = inv.ev
	res.HandedOut = inv.handedOut
	res.Done = time.Now()
	inv.result = res
	inv.state = stDone
	s.inFlight--
	close(inv.done)
	s.dispatchLocked()
	s.notifyLocked()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = struct{}{}
		s.connCount++
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(nc)
	}
}

// newRequestID returns a random UUID (version 4).
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// validateErrorType checks an error-type header or trailer value.
func validateErrorType(v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("error type %q contains CR or LF", v)
	}
	if !errorTypeRE.MatchString(v) {
		return fmt.Errorf("error type %q does not match %s", v, errorTypeRE)
	}
	return nil
}

// validateErrorJSON checks the shape of an error document: a JSON object
// with string errorType and errorMessage, and stackTrace (if present) an
// array of strings.
func validateErrorJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return fmt.Errorf("error document is not a JSON object: %.200q", b)
	}
	for _, k := range []string{"errorType", "errorMessage"} {
		v, ok := m[k]
		if !ok {
			return fmt.Errorf("error document has no %q field: %.200q", k, b)
		}
		if _, ok := v.(string); !ok {
			return fmt.Errorf("error document field %q is not a string: %.200q", k, b)
		}
	}
	if st, ok := m["stackTrace"]; ok {
		arr, ok := st.([]any)
		if !ok {
			return fmt.Errorf("error document field \"stackTrace\" is not an array: %.200q", b)
		}
		for _, e := range arr {
			if _, ok := e.(string); !ok {
				return fmt.Errorf("error document field \"stackTrace\" has a non-string element: %.200q", b)
			}
		}
	}
	return nil
}
