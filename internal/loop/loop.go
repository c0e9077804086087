// Package loop runs the Lambda Runtime API loop: it asks for the next event,
// has the Mode plan it, starts the handler, streams the handler's stdout as
// the response and ends it with success, error trailers or an /error report.
// One invocation reads top to bottom in Loop.Invoke; RunN runs several loops
// on one API, as Lambda Managed Instances do. The wire protocol is
// internal/runtimeapi's, the framing internal/mode's and the processes
// internal/invoke's; the loop only decides what happens next. With
// Config.Prespawn the next handler starts as soon as a response is finished
// and reads its invocation's context, once the event comes, from the
// descriptor EnvContextFD names (context.go). Runtime is the bootstrap's
// whole life inside Lambda around the loops: the client, the init error, the
// shutdown extension. A local runtime points a runtimeapi.Client at its own
// loopback Runtime API and runs the same Loop.
package loop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/bytebufferpool"
	"go.uber.org/zap/zapcore"

	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/mode"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// API is the part of the Runtime API the loop uses; *Client implements it.
type API interface {
	Next(ctx context.Context) (*runtimeapi.Invocation, error)
	PostError(ctx context.Context, requestID string, e runtimeapi.FunctionError) error
	OpenResponse(ctx context.Context, requestID, contentType string) (runtimeapi.ResponseStream, error)
}

// Defaults for Config.
const (
	DefaultDeadlineMargin = 250 * time.Millisecond
	DefaultKillGrace      = 100 * time.Millisecond
	// DefaultResponseLimit is Lambda's documented maximum for a streamed
	// response, 200 MB since July 2025, read as 200,000,000 bytes: Lambda
	// does not say which megabyte it means, and the smaller reading is the
	// one that never lets a response through that Lambda would cut.
	DefaultResponseLimit = 200_000_000
)

// shutdownGrace is how long after a shutdown begins the reports of the
// invocation in flight may still take: Lambda's shutdown phase, with an
// extension registered, lasts up to 500 ms before SIGKILL.
const shutdownGrace = 500 * time.Millisecond

// graceContext returns a context that is not cancelled with ctx but grace
// after it.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, func() { cancel(context.Cause(ctx)) })
		context.AfterFunc(c, func() { t.Stop() })
	})
	return c, func() { stop(); cancel(context.Canceled) }
}

// ErrShutdown is the reason a handler is stopped when the bootstrap is told
// to exit (SIGTERM/SIGINT).
var ErrShutdown = errors.New("the bootstrap is shutting down")

// Config configures a Loop.
type Config struct {
	// API is the Runtime API to talk to.
	API API
	// Command is the resolved handler.
	Command invoke.Command
	// Env is the base environment of every handler; nil means os.Environ().
	Env []string
	// Mode prepares each invocation; nil means mode.RawMode with the
	// default type.
	Mode mode.Mode
	// DeadlineMargin: the handler is stopped this long before the
	// invocation's deadline, so its failure can still be reported. Zero
	// means zero: the handler runs until the deadline itself
	// (DefaultDeadlineMargin is what the bootstrap's flag defaults to).
	DeadlineMargin time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL. Zero or negative
	// means DefaultKillGrace: internal/invoke always gives a stopped
	// handler some time to exit.
	KillGrace time.Duration
	// Logger receives the loop's own records; nil means no logging.
	Logger *logging.Logger
	// HandlerLog receives each line of a handler's stderr.
	HandlerLog func(requestID string, line []byte)
	// HandlerExited, if not nil, is called once for each handler of an
	// invocation, with its Result, after the handler has exited and before
	// the invocation's response or error report is finished: a local
	// Runtime API puts the handler's peak memory in its REPORT line that
	// way. Nil means nothing is called. A handler that never started (or
	// never got an event) has no call.
	HandlerExited func(requestID string, res invoke.Result)
	// ResponseLimit caps a response body: at the cap the loop stops
	// reading, stops the handler's process group and ends the stream with
	// the trailers of runtimeapi.TypeResponseSizeTooLarge, whose message
	// names the limit. Zero means DefaultResponseLimit; a negative value
	// turns the cap off.
	ResponseLimit int64
	// Prespawn starts each invocation's handler before its event exists:
	// as soon as a response is finished (and before the first /next), the
	// next handler is spawned, and the event goes to its stdin when it
	// comes. Its environment then lacks the per-invocation AWS_LAMBDA_*
	// variables; it reads them on descriptor EnvContextFD. A Mode whose
	// Plan carries Env (CGIMode) gets a fresh handler instead; refuse that
	// combination before starting. False starts each handler at its event.
	Prespawn bool
}

// predialer is an API that can open a response connection ahead of its use;
// *Client is one.
type predialer interface {
	Predial(ctx context.Context, requestID, contentType string) *runtimeapi.PendingConn
	OpenResponseOn(ctx context.Context, pc *runtimeapi.PendingConn, requestID, contentType string) (runtimeapi.ResponseStream, error)
}

// Loop runs invocations one after another. Several Loops may share one API
// (Lambda Managed Instances run AWS_LAMBDA_MAX_CONCURRENCY of them).
type Loop struct {
	cfg      Config
	baseEnv  []string
	spareEnv []string // baseEnv and EnvContextFD: what a prespawned handler gets
	log      *logging.Logger
	spare    *handlerProc       // the next invocation's handler with Prespawn; owned by Run
	stderr   *invoke.StderrPipe // the handlers' shared stderr without Prespawn, nil with; owned by Run
}

// New returns a Loop for cfg, filling in defaults.
func New(cfg Config) *Loop {
	if cfg.Mode == nil {
		cfg.Mode = mode.RawMode{}
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = DefaultKillGrace
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.ResponseLimit == 0 {
		cfg.ResponseLimit = DefaultResponseLimit
	}
	log := cfg.Logger
	if log == nil {
		log = logging.Nop()
	}
	l := &Loop{cfg: cfg, baseEnv: baseEnv(cfg.Env), log: log}
	l.spareEnv = append(slices.Clip(l.baseEnv), EnvContextFD+"="+strconv.Itoa(invoke.ExtraFD))
	return l
}

// Run serves invocations until ctx is cancelled (then it returns nil, after
// finishing the invocation in flight) or the Runtime API fails in a way that
// the runtime must exit for (then it returns the error).
//
// With Prespawn, the next handler is started before each /next, and one left
// waiting is ended (SIGTERM, then SIGKILL) before Run returns.
func (l *Loop) Run(ctx context.Context) error {
	defer l.dropSpare()
	if !l.cfg.Prespawn {
		// One handler at a time: they can share one stderr pipe and its
		// reader, which saves each invocation a pipe of its own. A spare
		// runs beside the handler before it, so Prespawn keeps one each.
		if sp, err := invoke.NewStderrPipe(l.unattachedLine); err == nil {
			l.stderr = sp
			defer func() { _ = sp.Close(); l.stderr = nil }()
		} else {
			l.log.Warn("each handler gets a stderr pipe of its own", logging.Error(err))
		}
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		if l.cfg.Prespawn && l.spare == nil {
			l.spare = l.spawnSpare()
		}
		inv, err := l.cfg.API.Next(ctx)
		var ee *runtimeapi.EventError
		if errors.As(err, &ee) {
			// The id is known: the caller learns why, the loop goes on.
			if err := l.refuseEvent(ctx, ee); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err // it names the call
		}
		err = l.Invoke(ctx, inv)
		if l.log.Enabled(zapcore.DebugLevel) {
			// For soak tests, which watch for growth from outside.
			l.log.Debug("runtime stats", logging.Int("goroutines", runtime.NumGoroutine()))
		}
		if err != nil {
			if ctx.Err() != nil {
				// A report cut short by the shutdown is not the
				// Runtime API's failure.
				l.log.Warn("shutdown cut the report of an invocation short",
					logging.String("requestId", inv.RequestID), logging.Error(err))
				return nil
			}
			return err
		}
	}
}

// Invoke runs one invocation to its end. It returns an error only when the
// runtime must exit; every handler failure is reported to the Runtime API
// and logged instead.
func (l *Loop) Invoke(ctx context.Context, inv *runtimeapi.Invocation) error {
	log := l.log.With(logging.String("requestId", inv.RequestID))
	// Reports must go out even when ctx is cancelled by a shutdown, but a
	// Runtime API that does not take them must not hold the exit.
	post, cancelPost := graceContext(ctx, shutdownGrace)
	defer cancelPost()

	plan, err := l.cfg.Mode.Prepare(inv.Payload)
	if err != nil {
		return l.postError(post, log, inv, runtimeapi.FunctionError{Type: runtimeapi.TypeInvalidEvent, Message: err.Error()})
	}
	var deadline time.Time
	if !inv.Deadline.IsZero() {
		deadline = inv.Deadline.Add(-l.cfg.DeadlineMargin)
	} else {
		log.Warn("the event has no deadline; the handler runs until it ends")
	}
	h := l.spare
	l.spare = nil
	if h != nil && len(plan.Env) > 0 {
		// The plan needs an environment the spare was started without.
		l.stopHandler(h)
		h = nil
	}
	in := invoke.Input{Extra: contextDoc(inv), Stdin: plan.Stdin, Deadline: deadline}
	if h == nil {
		h, err = l.spawn(l.env(inv, plan.Env), &in, inv.RequestID)
		if err != nil {
			return l.postError(post, log, inv, runtimeapi.FunctionError{Type: runtimeapi.TypeHandlerStartFailed, Message: err.Error()})
		}
	} else {
		h.requestID.Store(&inv.RequestID)
		// A spare never fed cannot refuse its input.
		_ = h.proc.Feed(in)
	}
	proc := h.proc
	var pending *runtimeapi.PendingConn
	pd, predial := l.cfg.API.(predialer)
	if predial {
		// Connect, and send the response's head but its end, while the
		// handler works on its first byte.
		pending = pd.Predial(post, inv.RequestID, plan.Framer.ContentType())
		defer pending.Close()
	}
	stopOnShutdown := context.AfterFunc(ctx, func() { proc.Stop(ErrShutdown) })
	defer stopOnShutdown()
	log.Debug("handler started", logging.Int("pid", proc.Pid()))

	bb := bytebufferpool.Get()
	defer bytebufferpool.Put(bb)
	if cap(bb.B) < runtimeapi.BufferSize {
		bb.B = make([]byte, runtimeapi.BufferSize)
	}
	head, err := plan.Framer.Begin(proc.Stdout(), bb.B[:runtimeapi.BufferSize])
	if err != nil {
		return l.postError(post, log, inv, l.headFailure(inv.RequestID, proc, err))
	}
	var res invoke.Result
	waited := false
	if head.EOF && len(head.First) == 0 {
		res, waited = l.wait(inv.RequestID, proc), true
		if !res.Success() {
			return l.postError(post, log, inv, l.failure(res))
		}
	}

	var stream runtimeapi.ResponseStream
	if predial {
		stream, err = pd.OpenResponseOn(post, pending, inv.RequestID, plan.Framer.ContentType())
	} else {
		stream, err = l.cfg.API.OpenResponse(post, inv.RequestID, plan.Framer.ContentType())
	}
	if err != nil {
		if !waited {
			proc.Stop(err)
			l.wait(inv.RequestID, proc)
		}
		return err // it names the call, whose path holds the request id
	}
	var sent int64
	capped := &capReader{r: proc.Stdout(), n: l.cfg.ResponseLimit, limit: l.cfg.ResponseLimit}
	if len(head.First) > 0 {
		first := head.First
		if capped.n >= 0 && int64(len(first)) > capped.n {
			first = first[:capped.n]
			err = capped.tooLarge()
		}
		n, werr := stream.Write(first)
		sent += int64(n)
		capped.n -= int64(n)
		if werr != nil {
			err = werr
		}
	}
	if err == nil && !head.EOF {
		var n int64
		n, err = stream.ReadFrom(capped)
		sent += n
	}
	var tooLarge *ResponseTooLargeError
	if errors.As(err, &tooLarge) {
		return l.cutAtLimit(log, inv, stream, proc, tooLarge, sent)
	}
	if err != nil {
		// The Runtime API dropped or refused the stream: stop the handler
		// and move on; there is nobody left to tell.
		proc.Stop(fmt.Errorf("response stream failed: %w", err))
		res = l.wait(inv.RequestID, proc)
		stream.Abort()
		return l.streamFailed(log, inv, err, res, sent)
	}
	if !waited {
		res = l.wait(inv.RequestID, proc)
	}
	var trailer httpwire.Header
	if !res.Success() {
		fe := l.failure(res)
		trailer = fe.Trailer()
		log.Warn("handler failed after output began", logging.String("errorType", fe.Type), logging.String("error", fe.Message))
	}
	answer, err := stream.Close(trailer)
	if err != nil {
		return l.streamFailed(log, inv, err, res, sent)
	}
	return l.checkStatus(log, inv, answer, res, sent)
}

// errUncappable says a capped reader's descriptor is not handed out.
var errUncappable = errors.New("loop: a capped response is read through Read")

// Per-invocation environment variables of the handler contract.
const (
	envRequestID       = "AWS_LAMBDA_REQUEST_ID"
	envDeadlineMs      = "AWS_LAMBDA_DEADLINE_MS"
	envFunctionARN     = "AWS_LAMBDA_INVOKED_FUNCTION_ARN"
	envTraceID         = "_X_AMZN_TRACE_ID"
	envClientContext   = "AWS_LAMBDA_CLIENT_CONTEXT"
	envCognitoIdentity = "AWS_LAMBDA_COGNITO_IDENTITY"
	envTenantID        = "AWS_LAMBDA_TENANT_ID"
)
