package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"github.com/streamstrap/streamstrap/internal/chunked"
	"github.com/streamstrap/streamstrap/internal/handler"
	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/loop"
	"github.com/streamstrap/streamstrap/internal/mode"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// runRuntime is the bootstrap proper: the flags and the environment
// become a loop.Runtime, which runs until a signal or a fatal Runtime API
// error (logged by it).
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
	// keepalive logs a stray answer with the standard logger, as net/http
	// does ("Unsolicited response received on idle HTTP channel"): keep it
	// in the format.
	defer logging.RedirectStdLog(log)()
	// Handler exits are seen through pidfds: SIGCHLD need not wake a thread.
	if err := invoke.QuietChildExits(); err != nil {
		log.Warn("SIGCHLD stays caught by the Go runtime", logging.Error(err))
	}

	splice, err := chunked.ParseSpliceMode(opts.splice)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cmd, fe := findHandler(args, opts)
	cfg, err := loopConfig(opts, cmd, sink, log)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	rt := loop.Runtime{Addr: os.Getenv("AWS_LAMBDA_RUNTIME_API"), UserAgent: userAgent(), Loops: concurrency,
		PeerTimeout: opts.peerTimeout, GracefulShutdown: opts.gracefulShutdown, HandlerErr: fe, Splice: splice, Config: cfg}
	if err := rt.Run(ctx); err != nil {
		return &exitError{code: 1}
	}
	return nil
}

// userAgent names the bootstrap to the Runtime and Extensions APIs.
func userAgent() string { return "streamstrap/" + version }

// loopConfig is the one place the flags become a loop.Config, for both the
// runtime and `bootstrap local`.
func loopConfig(opts options, cmd invoke.Command, sink *logging.Sink, log *logging.Logger) (loop.Config, error) {
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
// The Lambda build has already done so during package initialisation
// (internal/earlyprocs), from the environment alone; with more loops than
// that saw (--concurrency), Go's own default is restored here.
func oneProc(loops int) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return
	}
	if loops > 1 {
		runtime.SetDefaultGOMAXPROCS() // a no-op unless earlyprocs set one P
		return
	}
	runtime.GOMAXPROCS(1) // a no-op after earlyprocs
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

// newLogger is the logger at --log-level, else $AWS_LAMBDA_LOG_LEVEL.
func newLogger(format logging.Format, level string) (*logging.Sink, *logging.Logger, error) {
	return logging.New(os.Stderr, format, cmp.Or(level, os.Getenv("AWS_LAMBDA_LOG_LEVEL")))
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
