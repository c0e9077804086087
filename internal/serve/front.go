// Package serve is the HTTP front of `bootstrap serve`: a local Lambda that
// answers the Invoke and InvokeWithResponseStream APIs as the AWS SDKs and
// CLI call them, and every other request as a Function URL (auth type NONE,
// invoke mode RESPONSE_STREAM) does, streaming each response to the client as
// the function writes it. The invocations themselves run on an
// internal/localapi Runtime API, served by the same loops as in Lambda
// (Run starts both).
//
// What AWS does not document, and what this package chose:
//   - A Function URL request whose function fails before any output gets a
//     502 with the body "Internal Server Error", as users report. After
//     output began the status is gone: the response ends without its
//     terminating chunk, so the client sees it incomplete, and the error is
//     logged.
//   - InvokeWithResponseStream's InvokeComplete carries the error type as
//     ErrorCode and the error message as ErrorDetails.
//   - A request that finds every worker busy waits for one up to the
//     function timeout, then gets 429 TooManyRequestsException.
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/streamstrap/streamstrap/internal/functionurl"
	"github.com/streamstrap/streamstrap/internal/localapi"
	"github.com/streamstrap/streamstrap/internal/logging"
)

// MaxPayload is Lambda's quota for a synchronous invocation's request and
// response payloads: 6 MB.
const MaxPayload = 6 * 1024 * 1024

// MaxHeaderBytes bounds a request's header block. Function URLs do not
// document their limit; this is API Gateway's (10 KB) with room for the
// request line.
const MaxHeaderBytes = 16 << 10

// Invoker runs one invocation; *localapi.Server is one.
type Invoker interface {
	Invoke(ctx context.Context, inv localapi.Invocation) (*localapi.Result, error)
}

// FrontConfig configures a Front.
type FrontConfig struct {
	// API runs the invocations.
	API Invoker
	// FunctionName is the one function this front serves; Invoke calls
	// for another name are a 404. Empty means "function".
	FunctionName string
	// FunctionARN is the function's ARN, named in errors and handed to the
	// runtime. Empty means one in region us-east-1, account 000000000000.
	FunctionARN string
	// Concurrency is how many invocations run at once (the workers). Zero
	// means 1.
	Concurrency int
	// Timeout is the function timeout, and how long a request waits for a
	// free worker. Zero means 30s.
	Timeout time.Duration
	// Logger receives the front's records. Nil means none.
	Logger *logging.Logger
}

// Front is the http.Handler of `bootstrap serve`.
type Front struct {
	cfg   FrontConfig
	log   *logging.Logger
	mux   *http.ServeMux
	slots chan struct{}

	// run outlives every request: an invocation goes on when its client
	// leaves, as on Lambda. closing makes requests still waiting for a
	// worker give up.
	run      context.Context
	closing  chan struct{}
	stopOnce sync.Once
	bg       sync.WaitGroup // Event invocations
}

// NewFront returns a Front for cfg. Invocations run with ctx, which should
// outlive every request (cancelling it detaches the clients still waiting
// for a result).
func NewFront(ctx context.Context, cfg FrontConfig) *Front {
	if cfg.FunctionName == "" {
		cfg.FunctionName = "function"
	}
	if cfg.FunctionARN == "" {
		cfg.FunctionARN = "arn:aws:lambda:us-east-1:000000000000:function:" + cfg.FunctionName
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = logging.Nop()
	}
	f := &Front{cfg: cfg, log: log, mux: http.NewServeMux(), slots: make(chan struct{}, cfg.Concurrency),
		run: ctx, closing: make(chan struct{})}
	f.mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", f.invoke)
	f.mux.HandleFunc("POST /2021-11-15/functions/{name}/response-streaming-invocations", f.invokeStream)
	f.mux.HandleFunc("/", f.functionURL)
	return f
}

// ServeHTTP routes the Lambda API paths and serves every other request as a
// Function URL.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.mux.ServeHTTP(w, r) }

// StopWaiting makes requests that wait for a worker give up with 503, and
// every later one too: the server is shutting down.
func (f *Front) StopWaiting() { f.stopOnce.Do(func() { close(f.closing) }) }

// Wait waits for the background (Event) invocations to end.
func (f *Front) Wait() { f.bg.Wait() }

// errBusy and errClosing are acquire's failures.
var (
	errBusy    = errors.New("every worker is busy")
	errClosing = errors.New("the server is shutting down")
)

// acquire waits for a free worker, up to the timeout, and returns its
// release.
func (f *Front) acquire(ctx context.Context) (func(), error) {
	select {
	case <-f.closing:
		return nil, errClosing
	default:
	}
	select {
	case f.slots <- struct{}{}:
		return func() { <-f.slots }, nil
	default:
	}
	t := time.NewTimer(f.cfg.Timeout)
	defer t.Stop()
	select {
	case f.slots <- struct{}{}:
		return func() { <-f.slots }, nil
	case <-t.C:
		return nil, errBusy
	case <-f.closing:
		return nil, errClosing
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// apiError answers a Lambda API error as the REST-JSON protocol has it: the
// type in X-Amzn-ErrorType, a body {"Type":"User","message":…}.
func apiError(w http.ResponseWriter, status int, typ, message string, extra map[string]string) {
	body := map[string]string{"Type": "User", "message": message}
	if status >= 500 {
		body["Type"] = "Service"
	}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// acquireError answers acquire's failure.
// worker is acquire for r, answering w when there is no worker to be had.
func (f *Front) worker(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release, err := f.acquire(r.Context())
	if err != nil {
		acquireError(w, err)
		return nil, false
	}
	return release, true
}

func acquireError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errBusy):
		apiError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.",
			map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})
	case errors.Is(err, errClosing):
		apiError(w, http.StatusServiceUnavailable, "ServiceException", "the server is shutting down", nil)
	}
	// A client that went away gets nothing.
}

// functionURL serves r as a Function URL does.
func (f *Front) functionURL(w http.ResponseWriter, r *http.Request) {
	id := newID()
	log := f.log.With(logging.String("requestId", id))
	event, err := functionurl.Event(r, functionurl.Options{RequestID: id, Time: time.Now()})
	if err != nil {
		var tooLarge *functionurl.TooLargeError
		if errors.As(err, &tooLarge) {
			http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
		}
		log.Info("function URL request not read", logging.Error(err))
		return
	}
	release, ok := f.worker(w, r)
	if !ok {
		return
	}
	defer release()
	w.Header().Set("X-Amzn-RequestId", id)
	var fw *functionurl.Writer
	inv := localapi.Invocation{Payload: event, Timeout: f.cfg.Timeout, RequestID: id, FunctionARN: f.cfg.FunctionARN,
		Open: func(contentType string) io.Writer {
			fw = functionurl.NewWriter(w, contentType)
			return fw
		}}
	res, err := f.cfg.API.Invoke(f.run, inv)
	switch {
	case err != nil:
		log.Warn("function URL invocation ended early", logging.Error(err))
		if fw == nil || fw.Fail() {
			if fw == nil {
				http.Error(w, "Internal Server Error", http.StatusBadGateway)
			}
			return
		}
		panic(http.ErrAbortHandler)
	case fw == nil: // an /error before any output
		log.Warn("function failed before its response began; answered 502", logging.String("errorType", errorType(res)), logging.String("error", errorMessage(res)))
		http.Error(w, "Internal Server Error", http.StatusBadGateway)
	case res.Failed():
		if fw.Fail() {
			log.Warn("function failed before its response began; answered 502", logging.String("errorType", errorType(res)), logging.String("error", errorMessage(res)))
			return
		}
		log.Warn("function failed after its response began; the response ends without its terminating chunk",
			logging.String("errorType", errorType(res)), logging.String("error", errorMessage(res)))
		// The status is sent: ending the response abnormally is the only
		// way left to tell the client.
		panic(http.ErrAbortHandler)
	default:
		if err := fw.Close(); err != nil {
			log.Warn("function URL response refused", logging.Error(err))
		}
	}
}
