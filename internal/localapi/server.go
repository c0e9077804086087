// Package localapi is a small Lambda Runtime API served on loopback, so the
// bootstrap's own loop can run on a developer machine with no AWS account and
// no emulator. It hands out the events it is given, streams each response
// body to a writer as it arrives, and records how the invocation ended
// (success, error trailers, /error, init error).
//
// It is the local half of `bootstrap local` (and the base of a later
// `bootstrap serve`); it trusts its client, so it is not a conformance
// checker — the tests' runtimeapitest server is.
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
	RequestID   string
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
	// Prelude is the HTTP-integration prelude's JSON, when the response had one.
	Prelude json.RawMessage
}

// Failed reports whether the invocation ended in an error.
func (r *Result) Failed() bool { return r.ErrorType != "" || r.Truncated || r.Outcome != "response" }

type pending struct {
	id        string
	payload   []byte
	timeout   time.Duration
	body      io.Writer
	onChunk   func(n int, at time.Duration)
	onPrelude func(json.RawMessage)
	handed    time.Time
	done      chan *Result
	finished  bool
}

// Server is a loopback Runtime API.
type Server struct {
	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	queue    chan *pending
	inflight map[string]*pending
	initErr  chan *Result
}

// Start listens on 127.0.0.1 (a free port) and serves until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("localapi: listen: %w", err)
	}
	s := &Server{
		ln:       ln,
		queue:    make(chan *pending, 16),
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
	Timeout time.Duration // deadline = hand-out + Timeout
	// Body receives the response body as it streams in.
	Body io.Writer
	// OnChunk, if set, is told of each piece of body as it arrives.
	OnChunk func(n int, sinceHandOut time.Duration)
	// OnPrelude, if set, gets the HTTP-integration prelude's JSON of a
	// response that has one; Body then gets only what follows it.
	OnPrelude func(json.RawMessage)
}

// Invoke queues inv and waits until it ends, the runtime reports an init
// error, or ctx is done.
func (s *Server) Invoke(ctx context.Context, inv Invocation) (*Result, error) {
	p := &pending{id: newID(), payload: inv.Payload, timeout: inv.Timeout, body: inv.Body,
		onChunk: inv.OnChunk, onPrelude: inv.OnPrelude, done: make(chan *Result, 1)}
	if p.body == nil {
		p.body = io.Discard
	}
	if p.timeout <= 0 {
		p.timeout = 30 * time.Second
	}
	select {
	case s.queue <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-p.done:
		return r, nil
	case r := <-s.initErr:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
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
	s.mu.Unlock()
	h := w.Header()
	h.Set(runtimeapi.HeaderRequestID, p.id)
	h.Set(runtimeapi.HeaderDeadlineMs, strconv.FormatInt(p.handed.Add(p.timeout).UnixMilli(), 10))
	h.Set(runtimeapi.HeaderFunctionARN, "arn:aws:lambda:local:000000000000:function:streamstrap-local")
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
	delete(s.inflight, id)
	return p
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	p := s.take(w, r.PathValue("id"))
	if p == nil {
		return
	}
	res := &Result{RequestID: p.id, Outcome: "response", ContentType: r.Header.Get("Content-Type")}
	var split *preludeSplitter
	if res.ContentType == runtimeapi.ContentTypePrelude {
		split = &preludeSplitter{}
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
			if _, werr := p.body.Write(data); werr != nil {
				// The local reader went away; keep consuming so the runtime finishes.
				p.body = io.Discard
			}
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
	p.done <- res
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	p := s.take(w, r.PathValue("id"))
	if p == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	writeJSON(w, http.StatusAccepted, `{"status":"OK"}`)
	p.done <- &Result{RequestID: p.id, Outcome: "error", ErrorType: errorType(r, body), Error: body, Duration: time.Since(p.handed)}
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
