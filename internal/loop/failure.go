package loop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/mode"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
	"go.uber.org/zap/zapcore"
)

// cutAtLimit ends a response that reached the size cap: the handler's
// process group is stopped and the stream ends with error trailers that
// name the limit, so the caller learns why the body stops there.
func (l *Loop) cutAtLimit(log *logging.Logger, inv *runtimeapi.Invocation, stream runtimeapi.ResponseStream, proc *invoke.Process, e *ResponseTooLargeError, sent int64) error {
	proc.Stop(e)
	res := proc.Wait()
	fe := runtimeapi.FunctionError{Type: runtimeapi.TypeResponseSizeTooLarge, Message: e.Error()}
	log.Warn("response cut at the size limit; handler stopped", logging.Int64("bytes", sent), logging.Int64("limit", e.Limit))
	answer, err := stream.Close(fe.Trailer())
	if err != nil {
		return l.streamFailed(log, inv, err, res, sent)
	}
	return l.checkStatus(log, inv, answer, res, sent)
}

// ResponseTooLargeError is the reason a handler is stopped whose response
// reached Config.ResponseLimit.
type ResponseTooLargeError struct {
	// Limit is the cap, in bytes.
	Limit int64
}

// Error names the limit and how to change it.
func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("the response is larger than the limit of %d bytes (--max-response-bytes); the body was cut there", e.Limit)
}

// capReader passes on at most n bytes of r; a negative n means no cap. At
// the cap, one more byte from r (rather than its end) is a
// *ResponseTooLargeError, so a response of exactly n bytes goes through.
type capReader struct {
	r     io.Reader
	n     int64
	limit int64
	probe [1]byte
}

// Read reads from r within the cap.
func (c *capReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return c.r.Read(p)
	}
	if c.n == 0 {
		n, err := c.r.Read(c.probe[:])
		if n > 0 {
			return 0, c.tooLarge()
		}
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// SyscallConn hands a zero-copy writer (chunked's splice) the handler's
// pipe when no cap applies (--max-response-bytes=0); under a cap the body
// must go through Read, which counts it.
func (c *capReader) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.r.(syscall.Conn)
	if c.n >= 0 || !ok {
		return nil, errUncappable
	}
	return sc.SyscallConn()
}

func (c *capReader) tooLarge() error {
	return &ResponseTooLargeError{Limit: c.limit}
}

// refuseEvent reports an event that cannot be run to /error.
func (l *Loop) refuseEvent(ctx context.Context, ee *runtimeapi.EventError) error {
	post, cancel := graceContext(ctx, shutdownGrace)
	defer cancel()
	log := l.log.With(logging.String("requestId", ee.RequestID))
	return l.postError(post, log, &runtimeapi.Invocation{RequestID: ee.RequestID},
		runtimeapi.FunctionError{Type: runtimeapi.TypeInvalidEvent, Message: ee.Err.Error()})
}

// headFailure ends a handler whose output could not start a response and
// says why. Nothing was sent yet, so it goes to /error. A handler that failed
// on its own (a crash, the deadline) says more than its broken output.
func (l *Loop) headFailure(requestID string, proc *invoke.Process, err error) runtimeapi.FunctionError {
	var he *mode.HeadError
	if !errors.As(err, &he) || !he.OutputEnded {
		// Malformed output while the handler may still be writing: stop it.
		proc.Stop(err)
	}
	res := l.wait(requestID, proc)
	if !res.Success() && (res.Stopped == nil || errors.Is(res.Stopped, ErrShutdown)) {
		return l.failure(res)
	}
	typ := runtimeapi.TypeInvalidHeaderBlock
	if he == nil {
		typ = runtimeapi.TypeExitError
	}
	return runtimeapi.FunctionError{Type: typ, Message: err.Error(), StackTrace: res.StderrTail}
}

// wait waits for the handler of invocation requestID to exit and tells
// Config.HandlerExited.
func (l *Loop) wait(requestID string, proc *invoke.Process) invoke.Result {
	res := proc.Wait()
	if l.cfg.HandlerExited != nil {
		l.cfg.HandlerExited(requestID, res)
	}
	return res
}

// failure turns a handler's ending into the error document. A timeout
// names the deadline margin, which invoke does not know: without it "timed
// out after 749ms" for a 1s function timeout reads like a bug.
func (l *Loop) failure(res invoke.Result) runtimeapi.FunctionError {
	fe := runtimeapi.FunctionError{Type: runtimeapi.TypeExitError, Message: res.Message(), StackTrace: res.StderrTail}
	switch {
	case res.TimedOut:
		fe.Type = runtimeapi.TypeHandlerTimeout
		fe.Message += fmt.Sprintf(", stopped %s (the deadline margin) before the invocation's deadline", l.cfg.DeadlineMargin)
	case errors.Is(res.Stopped, ErrShutdown):
		fe.Type = runtimeapi.TypeShutdown
	}
	return fe
}

func (l *Loop) postError(ctx context.Context, log *logging.Logger, inv *runtimeapi.Invocation, fe runtimeapi.FunctionError) error {
	log.Warn("handler failed before any output", logging.String("errorType", fe.Type), logging.String("error", fe.Message))
	err := l.cfg.API.PostError(ctx, inv.RequestID, fe)
	var se *runtimeapi.StatusError
	if errors.As(err, &se) && !se.Fatal() {
		log.Error("Runtime API refused the error report", logging.Int("status", se.StatusCode), logging.String("body", se.Body))
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// The client's own bound (--peer-timeout), not a shutdown: the
		// Runtime API has stopped answering, and it times the invocation
		// out itself; the next /next tells whether it is still there.
		log.Error("Runtime API did not answer the error report; going on", logging.Error(err))
		return nil
	}
	return err // it names the call, whose path holds the request id
}

// streamFailed decides whether a broken response stream ends the runtime:
// only a 5xx from the Runtime API does. A reset, a 400, 403 or 413 is logged
// and the loop goes on.
func (l *Loop) streamFailed(log *logging.Logger, inv *runtimeapi.Invocation, err error, res invoke.Result, sent int64) error {
	var early *runtimeapi.EarlyAnswerError
	if errors.As(err, &early) {
		if early.Answer.StatusCode == httpwire.StatusAccepted {
			// Not a success: the rest of the body was never sent.
			log.Warn("the Runtime API accepted the response before it ended; the handler was stopped and the rest of its output is lost",
				logging.Int64("bytes", sent), logging.String("handler", res.Message()))
			return nil
		}
		return l.checkStatus(log, inv, early.Answer, res, sent)
	}
	log.Error("response stream failed; handler stopped", logging.Error(err), logging.String("handler", res.Message()), logging.Int64("bytes", sent))
	return nil
}

// checkStatus logs how the Runtime API answered a response of sent body
// bytes and returns a fatal error for a 5xx.
func (l *Loop) checkStatus(log *logging.Logger, inv *runtimeapi.Invocation, answer runtimeapi.Answer, res invoke.Result, sent int64) error {
	status, body := answer.StatusCode, string(answer.Body)
	if res.Escaped > 0 {
		log.Warn("killed processes that left the handler's process group but kept its output open", logging.Int("count", res.Escaped))
	}
	switch {
	case status == httpwire.StatusAccepted:
		// A success is logged at DEBUG: Lambda's own END and REPORT lines
		// already mark it, and the line's write (and the wake of the log's
		// reader) was 5-14 % of a trivial invocation's CPU (BENCHMARKS.md,
		// sixth pass).
		lvl := zapcore.InfoLevel
		if res.Success() {
			lvl = zapcore.DebugLevel
		}
		log.Log(lvl, "invocation done", logging.Bool("success", res.Success()), logging.Duration("duration", res.Duration), logging.Int64("bytes", sent))
		return nil
	case status >= 500:
		return &runtimeapi.StatusError{Op: httpwire.MethodPost + " " + runtimeapi.PathResponse(inv.RequestID), StatusCode: status, Body: strings.TrimSpace(body)}
	default:
		log.Error("Runtime API refused the response", logging.Int("status", status), logging.String("body", strings.TrimSpace(body)), logging.Int64("bytes", sent))
		return nil
	}
}
