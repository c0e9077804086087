package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"go.uber.org/zap"

	"github.com/streamstrap/streamstrap/internal/chunked"
	"github.com/streamstrap/streamstrap/internal/handler"
	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/loop"
	"github.com/streamstrap/streamstrap/internal/mode"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// runRuntime is the bootstrap proper: resolve the handler, then run the
// Runtime API loop(s) until a signal or a fatal Runtime API error.
func runRuntime(ctx context.Context, opts options, args []string) error {
	concurrency, err := loopCount(opts.concurrency)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	oneProc(concurrency)
	format := logging.ParseFormat(os.Getenv("AWS_LAMBDA_LOG_FORMAT"))
	if concurrency > 1 {
		// Concurrent handlers' lines are only attributable with a request id
		// on each; Lambda Managed Instances accept only JSON logs anyway.
		format = logging.JSON
	}
	sink, log, err := newLogger(format, opts.logLevel)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer log.Sync() //nolint:errcheck // stderr
	// net/http logs some events with the standard logger ("Unsolicited
	// response received on idle HTTP channel"): keep them in the format.
	defer zap.RedirectStdLog(log)()

	addr := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if addr == "" {
		err := errors.New("AWS_LAMBDA_RUNTIME_API is not set: bootstrap must run inside Lambda, the Runtime Interface Emulator, or `bootstrap local`")
		log.Error("cannot start", zap.Error(err))
		return &exitError{code: 1}
	}
	splice, err := chunked.ParseSpliceMode(opts.splice)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	client := runtimeapi.NewClient(addr, userAgent(), concurrency)
	client.SetSplice(splice)
	client.SetPeerTimeout(opts.peerTimeout)
	defer client.CloseIdle()

	cmd, fe := findHandler(args, opts)
	if fe != nil {
		log.Error("cannot start the handler", zap.String("errorType", fe.Type), zap.String("error", fe.Message))
		if err := client.PostInitError(ctx, *fe); err != nil {
			log.Error("reporting the init error failed", zap.Error(err))
		}
		return &exitError{code: 1}
	}
	cfg, err := loopConfig(opts, client, cmd, sink, log)
	if err != nil {
		return &exitError{code: 2, err: err}
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Say so as the signal arrives: Lambda SIGKILLs the runtime soon after
	// SIGTERM, and this line is how the function's log shows it came. The
	// line is written on its own goroutine, which an idle bootstrap's quick
	// exit would beat: the return waits for it once it has started.
	logged := make(chan struct{})
	stopLogging := context.AfterFunc(ctx, func() {
		defer close(logged)
		log.Info("shutting down", zap.String("reason", context.Cause(ctx).Error()))
	})
	defer func() {
		if !stopLogging() {
			<-logged
		}
	}()
	if opts.gracefulShutdown {
		// Not cancelled by the signal: the extension stays registered
		// through the shutdown it exists for, as aws-lambda-go's does.
		ext := registerShutdownExtension(context.WithoutCancel(ctx), log, addr)
		if ext != nil {
			defer ext.Close()
		}
	}
	log.Debug("runtime started", zap.String("handler", cmd.Path), zap.Strings("args", cmd.Args), zap.Int("loops", concurrency), zap.Int("gomaxprocs", runtime.GOMAXPROCS(0)),
		zap.Duration("deadlineMargin", cfg.DeadlineMargin))
	if err := loop.RunN(ctx, cfg, concurrency); err != nil {
		log.Error("exiting: the Runtime API failed", zap.Error(err))
		return &exitError{code: 1}
	}
	log.Debug("shut down")
	return nil
}

// registerShutdownExtension registers the no-op extension that makes Lambda
// send SIGTERM at shutdown, before the loops' first /next, after which the
// Extensions API refuses registrations. A failure is not fatal: the function
// works as well without it, and is only SIGKILLed at shutdown, as it is
// without --graceful-shutdown; so it is logged and nil is returned.
func registerShutdownExtension(ctx context.Context, log *zap.Logger, addr string) *runtimeapi.Extension {
	ext, err := runtimeapi.RegisterShutdownExtension(ctx, addr, runtimeapi.ExtensionOptions{
		UserAgent: userAgent(),
		// event/next never ends while the extension is registered; if it
		// does, Lambda may stop waiting for the extension, so say so.
		OnEnd: func(err error) { log.Warn("the shutdown extension's event/next ended", zap.Error(err)) },
	})
	if err != nil {
		log.Warn("graceful shutdown is off: registering the shutdown extension failed; Lambda will SIGKILL the runtime at shutdown", zap.Error(err))
		return nil
	}
	log.Debug("shutdown extension registered", zap.String("extensionId", ext.ID()))
	return ext
}

// userAgent names the bootstrap to the Runtime and Extensions APIs.
func userAgent() string { return "streamstrap/" + version }

// loopConfig is the one place the flags become a loop.Config, for both the
// runtime and `bootstrap local`.
func loopConfig(opts options, api loop.API, cmd invoke.Command, sink *logging.Sink, log *zap.Logger) (loop.Config, error) {
	if opts.prespawn && opts.mode == "cgi" {
		return loop.Config{}, errors.New("--prespawn cannot be used with --mode cgi: CGI passes each request in the handler's environment, " +
			"which is fixed before the request exists; use --mode http or auto, which give the event on stdin")
	}
	m, err := mode.New(opts.mode, opts.contentType)
	if err != nil {
		return loop.Config{}, fmt.Errorf("--mode: %w", err)
	}
	if opts.maxResponseBytes < 0 {
		return loop.Config{}, fmt.Errorf("--max-response-bytes must be 0 (no cap) or positive, got %d", opts.maxResponseBytes)
	}
	return loop.Config{
		API:            api,
		Command:        cmd,
		Mode:           m,
		DeadlineMargin: opts.deadlineMargin,
		KillGrace:      opts.killGrace,
		Logger:         log,
		HandlerLog:     sink.HandlerLine,
		Prespawn:       opts.prespawn,
		ResponseLimit:  responseLimit(opts.maxResponseBytes),
	}, nil
}

// responseLimit turns --max-response-bytes into loop.Config.ResponseLimit,
// where 0 means the default and a negative value no cap.
func responseLimit(flag int64) int64 {
	if flag <= 0 {
		return -1
	}
	return flag
}

// oneProc runs the Go scheduler on one P when a single loop runs and the
// user did not set GOMAXPROCS. A Lambda function of up to 1,769 MB has at
// most one vCPU's worth of time, and Go's cgroup-aware default is never
// below 2; with one P an invocation's goroutines hand off without waking a
// second thread, about 14 % less CPU per trivial invocation (BENCHMARKS.md).
// The handler is not affected: GOMAXPROCS is not put in its environment.
func oneProc(loops int) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || loops > 1 {
		return
	}
	runtime.GOMAXPROCS(1)
}

// loopCount is --concurrency, else AWS_LAMBDA_MAX_CONCURRENCY, else 1.
func loopCount(flag int) (int, error) {
	if flag > 0 {
		return flag, nil
	}
	if flag < 0 {
		return 0, fmt.Errorf("--concurrency must be positive, got %d", flag)
	}
	v := os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("AWS_LAMBDA_MAX_CONCURRENCY=%q is not a positive number", v)
	}
	return n, nil
}

func newLogger(format logging.Format, level string) (*logging.Sink, *zap.Logger, error) {
	if level == "" {
		level = os.Getenv("AWS_LAMBDA_LOG_LEVEL")
	}
	lvl, err := logging.ParseLevel(level)
	if err != nil {
		return nil, nil, err
	}
	sink := logging.NewSink(os.Stderr, format)
	return sink, sink.Logger(lvl), nil
}

// findHandler is handler.Find from the command line and the environment;
// a failure is an init error.
func findHandler(args []string, opts options) (invoke.Command, *runtimeapi.FunctionError) {
	cmd, err := handler.Find(handler.Options{Args: args, Getenv: os.Getenv, Preflight: opts.preflight})
	if err != nil {
		fe := &runtimeapi.FunctionError{Type: runtimeapi.TypeHandlerNotFound, Message: err.Error()}
		if ie, ok := errors.AsType[*handler.InitError](err); ok {
			fe.Type = ie.Type
		}
		return invoke.Command{}, fe
	}
	return cmd, nil
}
