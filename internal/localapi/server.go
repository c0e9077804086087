// Package localapi is a small Lambda Runtime API served on loopback, so the
// bootstrap's own loop can run on a developer machine with no AWS account and
// no emulator. It hands out the events it is given to as many runtime loops
// as ask for them, streams each response body to a writer as it arrives, and
// records how the invocation ended (success, error trailers, /error, init
// error). Like Lambda's platform it writes the START, END and REPORT lines of
// every invocation (Options.Log) and keeps the tail of each invocation's log
// for X-Amz-Log-Result.
//
// It is the local half of `bootstrap local` and `bootstrap serve`; it trusts
// its client, so it is not a conformance checker — the tests'
// runtimeapitest server is.
package localapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// maxPrelude is how far into the body the delimiter must appear; API
// Gateway reads no further.
const maxPrelude = 16 << 10

// preludeSplitter separates the prelude from the body as bytes arrive.
type preludeSplitter struct {
	buf     []byte
	prelude json.RawMessage
	done    bool
}

var delimiter = make([]byte, 8)

// feed takes the next body bytes and returns those that belong to the body
// proper. Without a delimiter in the first 16 KiB the bytes are all body.
func (s *preludeSplitter) feed(p []byte) []byte {
	s.buf = append(s.buf, p...)
	if i := bytes.Index(s.buf, delimiter); i >= 0 {
		s.prelude = json.RawMessage(append([]byte(nil), s.buf[:i]...))
		s.done = true
		return s.buf[i+len(delimiter):]
	}
	if len(s.buf) > maxPrelude {
		s.done = true
		return s.buf
	}
	return nil
}

// Result is how one local invocation ended.
type Result struct {
	RequestID string
	// ContentType is the Content-Type of the streamed response; empty for
	// an /error report.
	ContentType string
	// Outcome is "response" (a body was streamed, possibly ending with error
	// trailers), "error" (/error before any output) or "init-error".
	Outcome   string
	ErrorType string
	// Error is the decoded error document, when there is one.
	Error     json.RawMessage
	Bytes     int64
	Chunks    int
	FirstByte time.Duration // from hand-out to the first body byte
	Duration  time.Duration // from hand-out to the end
	Truncated bool          // the stream broke before its end
	// Prelude is the HTTP-integration prelude's JSON, when the response had
	// one and Invocation.OnPrelude was set.
	Prelude json.RawMessage
	// PeakRSS is the handler's peak resident set in bytes, as the runtime
	// reported it with HandlerExited; 0 when unknown.
	PeakRSS int64
	// Log is the last LogTailSize bytes of the invocation's log: its
	// START, handler lines, END and REPORT.
	Log []byte
}

// Failed reports whether the invocation ended in an error.
func (r *Result) Failed() bool { return r.ErrorType != "" || r.Truncated || r.Outcome != "response" }

type pending struct {
	id        string
	payload   []byte
	timeout   time.Duration
	arn       string
	clientCtx string
	body      *guardedWriter
	open      func(contentType string) io.Writer
	onChunk   func(n int, at time.Duration)
	onPrelude func(json.RawMessage)
	handed    time.Time
	done      chan *Result
	finished  bool
	log       logTail // guarded by Server.mu
	peakRSS   int64   // guarded by Server.mu
}

// guardedWriter lets Invoke detach the caller's writer: after detach returns
// no Write reaches it, so a caller that gave up may reuse or drop it.
type guardedWriter struct {
	mu       sync.Mutex
	w        io.Writer
	detached bool
}

// open replaces the writer with the one open returns, unless detached:
// under the lock, so that open never runs after detach returned.
func (g *guardedWriter) open(open func(string) io.Writer, contentType string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.detached {
		g.w = open(contentType)
	}
}

// Write passes p on; once the writer failed or was detached it swallows p,
// so that the runtime can finish its response whoever stopped reading.
func (g *guardedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.detached || g.w == nil {
		return len(p), nil
	}
	if _, err := g.w.Write(p); err != nil {
		g.w = nil
	}
	return len(p), nil
}

func (g *guardedWriter) detach() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.detached = true
}

// DefaultFunctionARN is the ARN handed to the runtime when neither the
// Options nor the Invocation name one.
const DefaultFunctionARN = "arn:aws:lambda:local:000000000000:function:streamstrap-local"

// Options configures a Server. The zero Options are valid.
type Options struct {
	// FunctionARN is the invoked function's ARN handed to the runtime.
	// Empty means DefaultFunctionARN.
	FunctionARN string
	// Log, if set, receives the platform's lines of every invocation
	// (START, END, REPORT), each with one Write. Nil means none are
	// written; the log tail of each Result has them all the same.
	Log io.Writer
	// JSONLog writes the platform lines as the platform.start,
	// platform.runtimeDone and platform.report records of Lambda's JSON log
	// format instead of text.
	JSONLog bool
	// MemoryMB is the function's memory size for the REPORT line; a
	// handler whose peak resident set exceeds it gets a warning there.
	// Zero means 128.
	MemoryMB int
}

// Server is a loopback Runtime API.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	opts Options

	mu       sync.Mutex
	queue    chan *pending
	inflight map[string]*pending
	initErr  chan *Result
}

// Start listens on 127.0.0.1 (a free port) with the zero Options and serves
// until Close.
func Start() (*Server, error) { return StartWith(Options{}) }

// StartWith listens on 127.0.0.1 (a free port) and serves until Close.
func StartWith(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("localapi: listen: %w", err)
	}
	if opts.FunctionARN == "" {
		opts.FunctionARN = DefaultFunctionARN
	}
	if opts.MemoryMB <= 0 {
		opts.MemoryMB = 128
	}
	s := &Server{
		ln:       ln,
		opts:     opts,
		queue:    make(chan *pending),
		inflight: make(map[string]*pending),
		initErr:  make(chan *Result, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeapi.PathNext, s.next)
	// Patterns, not paths: runtimeapi.PathResponse would escape "{id}".
	mux.HandleFunc("POST "+runtimeapi.PathPrefix+"/invocation/{id}/response", s.response)
	mux.HandleFunc("POST "+runtimeapi.PathPrefix+"/invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST "+runtimeapi.PathInitError, s.initError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops its connections.
func (s *Server) Close() error { return s.srv.Close() }

// Invocation is one event to run.
type Invocation struct {
	Payload []byte
	Timeout time.Duration // deadline = hand-out + Timeout; zero means 30s
	// RequestID is the invocation's id. Empty means a new random UUID.
	RequestID string
	// FunctionARN is the invoked function's ARN. Empty means the Server's.
	FunctionARN string
	// ClientContext is the client context JSON handed to the runtime.
	// Empty means none.
	ClientContext string
	// Body receives the response body as it streams in. Nil means the body
	// is dropped (unless Open is set). A Body whose Write fails gets
	// nothing more; the runtime's response is read to its end all the same.
	Body io.Writer
	// Open, if set, is called when the response stream begins, with the
	// response's Content-Type, and returns the writer for its body in
	// place of Body. It is not called for an /error report.
	Open func(contentType string) io.Writer
	// OnChunk, if set, is told of each piece of body as it arrives.
	OnChunk func(n int, sinceHandOut time.Duration)
	// OnPrelude, if set, gets the HTTP-integration prelude's JSON of a
	// response that has one; Body then gets only what follows it.
	OnPrelude func(json.RawMessage)
}

// Invoke hands inv to the next runtime loop that asks for an event and
// waits until it ends, the runtime reports an init error, or ctx is done.
// It waits for a free loop as long as it takes; the caller bounds that with
// ctx. When ctx ends the invocation first, its writers get nothing more from
// the moment Invoke returns, and the invocation runs on to its end.
func (s *Server) Invoke(ctx context.Context, inv Invocation) (*Result, error) {
	p := &pending{id: inv.RequestID, payload: inv.Payload, timeout: inv.Timeout,
		arn: inv.FunctionARN, clientCtx: inv.ClientContext,
		body: &guardedWriter{w: inv.Body}, open: inv.Open,
		onChunk: inv.OnChunk, onPrelude: inv.OnPrelude, done: make(chan *Result, 1)}
	if p.id == "" {
		p.id = newID()
	}
	if p.arn == "" {
		p.arn = s.opts.FunctionARN
	}
	if p.timeout <= 0 {
		p.timeout = 30 * time.Second
	}
	select {
	case s.queue <- p:
	case r := <-s.initErr:
		s.keepInitError(r)
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r, nil
	case r := <-s.initErr:
		s.keepInitError(r)
		return r, nil
	case <-ctx.Done():
		p.body.detach()
		return nil, ctx.Err()
	}
}

// keepInitError puts r back for the next waiting Invoke: an init error
// fails every invocation, not just the first.
func (s *Server) keepInitError(r *Result) {
	select {
	case s.initErr <- r:
	default:
	}
}

// HandlerLine adds one line of a handler's stderr to the log tail of
// invocation requestID (the runtime writes the line to the log itself).
func (s *Server) HandlerLine(requestID string, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.inflight[requestID]; p != nil {
		p.log.add(line)
	}
}

// HandlerExited records the peak resident set, in bytes, of invocation
// requestID's handler, for its REPORT line. The runtime calls it when the
// handler has exited, before it ends the invocation.
func (s *Server) HandlerExited(requestID string, peakRSS int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.inflight[requestID]; p != nil {
		p.peakRSS = max(p.peakRSS, peakRSS)
	}
}

// ErrRuntimeStopped is InvokeWith's error when the runtime returned nil
// before the invocation ended.
var ErrRuntimeStopped = errors.New("the runtime stopped before the invocation ended")

// InvokeWith runs runtime (a Runtime API loop pointed at s) alongside one
// Invoke of inv, so a caller needs no goroutines of its own. Once the
// invocation has ended it cancels runtime's context, waits for it and
// returns its error as runtimeErr. If runtime returns first, that is err
// (ErrRuntimeStopped if it returned nil) and there is no Result.
func (s *Server) InvokeWith(ctx context.Context, inv Invocation, runtime func(context.Context) error) (res *Result, runtimeErr, err error) {
	rctx, stopRuntime := context.WithCancel(ctx)
	defer stopRuntime()
	ran := make(chan error, 1)
	go func() { ran <- runtime(rctx) }()

	ictx, stopInvoke := context.WithCancel(ctx)
	defer stopInvoke()
	type outcome struct {
		res *Result
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		res, err := s.Invoke(ictx, inv)
		got <- outcome{res, err}
	}()

	select {
	case o := <-got:
		stopRuntime()
		return o.res, <-ran, o.err
	case err = <-ran:
		stopInvoke()
		<-got
		if err == nil {
			err = ErrRuntimeStopped
		}
		return nil, nil, err
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	var p *pending
	select {
	case p = <-s.queue:
	case <-r.Context().Done():
		return
	}
	p.handed = time.Now()
	s.mu.Lock()
	s.inflight[p.id] = p
	s.platformLine(p, s.startLine(p))
	s.mu.Unlock()
	h := w.Header()
	h.Set(runtimeapi.HeaderRequestID, p.id)
	h.Set(runtimeapi.HeaderDeadlineMs, strconv.FormatInt(p.handed.Add(p.timeout).UnixMilli(), 10))
	h.Set(runtimeapi.HeaderFunctionARN, p.arn)
	if p.clientCtx != "" {
		h.Set(runtimeapi.HeaderClientContext, p.clientCtx)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(p.payload)))
	_, _ = w.Write(p.payload)
}

// take removes the in-flight invocation id, or answers 400 as Lambda does.
func (s *Server) take(w http.ResponseWriter, id string) *pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.inflight[id]
	if p == nil || p.finished {
		writeJSON(w, http.StatusBadRequest, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`)
		return nil
	}
	p.finished = true
	return p
}

// finish ends invocation p with res: the END and REPORT lines, the log
// tail, and the result to Invoke.
func (s *Server) finish(p *pending, res *Result) {
	s.mu.Lock()
	delete(s.inflight, p.id)
	res.PeakRSS = p.peakRSS
	s.platformLine(p, s.endLine(p, res))
	s.platformLine(p, s.reportLine(p, res))
	res.Log = p.log.bytes()
	s.mu.Unlock()
	p.done <- res
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	p := s.take(w, r.PathValue("id"))
	if p == nil {
		return
	}
	res := &Result{RequestID: p.id, Outcome: "response", ContentType: r.Header.Get("Content-Type")}
	var split *preludeSplitter
	if res.ContentType == runtimeapi.ContentTypePrelude && p.onPrelude != nil {
		split = &preludeSplitter{}
	}
	if p.open != nil {
		p.body.open(p.open, res.ContentType)
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			if res.Chunks == 0 {
				res.FirstByte = time.Since(p.handed)
			}
			res.Chunks++
			res.Bytes += int64(n)
			if p.onChunk != nil {
				p.onChunk(n, time.Since(p.handed))
			}
			data := buf[:n]
			if split != nil && !split.done {
				data = split.feed(data)
				if split.done {
					res.Prelude = split.prelude
					if p.onPrelude != nil {
						p.onPrelude(split.prelude)
					}
				}
			}
			// A reader that went away gets nothing more; the runtime
			// finishes all the same.
			_, _ = p.body.Write(data)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Truncated = true
			break
		}
	}
	res.ErrorType = r.Trailer.Get(runtimeapi.HeaderErrorType)
	if b := r.Trailer.Get(runtimeapi.HeaderErrorBody); b != "" {
		if doc, err := base64.StdEncoding.DecodeString(b); err == nil {
			res.Error = doc
		}
	}
	res.Duration = time.Since(p.handed)
	if !res.Truncated {
		writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
	}
	s.finish(p, res)
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	p := s.take(w, r.PathValue("id"))
	if p == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
	s.finish(p, &Result{RequestID: p.id, Outcome: "error", ErrorType: errorType(r, body), Error: body, Duration: time.Since(p.handed)})
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
	select {
	case s.initErr <- &Result{Outcome: "init-error", ErrorType: errorType(r, body), Error: body}:
	default:
	}
}

func errorType(r *http.Request, body []byte) string {
	if t := r.Header.Get(runtimeapi.HeaderErrorType); t != "" {
		return t
	}
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.ErrorType != "" {
		return doc.ErrorType
	}
	return "Unhandled"
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body+"\n")
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
