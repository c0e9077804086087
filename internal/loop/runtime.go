package loop

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/streamstrap/streamstrap/internal/chunked"
	"github.com/streamstrap/streamstrap/internal/logging"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// Runtime is the bootstrap's life inside Lambda: a Runtime API client, the
// init error when there is no handler to run, the optional shutdown
// extension and Loops loops until ctx ends. The zero value of each field
// means what its comment says.
type Runtime struct {
	// Addr is AWS_LAMBDA_RUNTIME_API; empty is an error.
	Addr string
	// UserAgent names the bootstrap to the Runtime and Extensions APIs.
	UserAgent string
	// Loops is how many loops run at once; zero means 1.
	Loops int
	// PeerTimeout is runtimeapi.Client's peer timeout; zero means its
	// default.
	PeerTimeout time.Duration
	// Splice is the client's splice mode (runtimeapi.Client.SetSplice);
	// zero is off.
	Splice chunked.SpliceMode
	// GracefulShutdown registers the no-op extension that makes Lambda
	// send SIGTERM at shutdown.
	GracefulShutdown bool
	// HandlerErr, if not nil, is posted as the init error instead of
	// running any loop.
	HandlerErr *runtimeapi.FunctionError
	// Config is the loops' configuration; Run sets its API. Its Logger
	// must not be nil.
	Config Config
}

// errLogged is Run's error once the failure has been logged: a caller
// turns it into the exit status.
var errLogged = errors.New("the runtime failed (logged)")

// Run runs the runtime until ctx ends (nil) or it cannot go on (errLogged).
func (r Runtime) Run(ctx context.Context) error {
	log := r.Config.Logger
	if r.Addr == "" {
		err := errors.New("AWS_LAMBDA_RUNTIME_API is not set: bootstrap must run inside Lambda, the Runtime Interface Emulator, or `bootstrap local`")
		log.Error("cannot start", logging.Error(err))
		return errLogged
	}
	loops := max(r.Loops, 1)
	client := runtimeapi.NewClient(r.Addr, r.UserAgent, loops)
	client.SetPeerTimeout(r.PeerTimeout)
	client.SetSplice(r.Splice)
	defer client.CloseIdle()
	if fe := r.HandlerErr; fe != nil {
		log.Error("cannot start the handler", logging.String("errorType", fe.Type), logging.String("error", fe.Message))
		if err := client.PostInitError(ctx, *fe); err != nil {
			log.Error("reporting the init error failed", logging.Error(err))
		}
		return errLogged
	}
	cfg := r.Config
	cfg.API = client
	// Say so as the signal arrives: Lambda SIGKILLs the runtime soon after
	// SIGTERM, and this line is how the function's log shows it came. The
	// line is written on its own goroutine, which an idle bootstrap's quick
	// exit would beat: the return waits for it once it has started.
	logged := make(chan struct{})
	stopLogging := context.AfterFunc(ctx, func() {
		defer close(logged)
		log.Info("shutting down", logging.String("reason", context.Cause(ctx).Error()))
	})
	defer func() {
		if !stopLogging() {
			<-logged
		}
	}()
	if r.GracefulShutdown {
		// Not cancelled by the signal: the extension stays registered
		// through the shutdown it exists for, as aws-lambda-go's does.
		if ext := r.registerShutdownExtension(context.WithoutCancel(ctx), log); ext != nil {
			defer ext.Close()
		}
	}
	log.Debug("runtime started", logging.String("handler", cfg.Command.Path), logging.Strings("args", cfg.Command.Args), logging.Int("loops", loops), logging.Int("gomaxprocs", runtime.GOMAXPROCS(0)),
		logging.Duration("deadlineMargin", cfg.DeadlineMargin))
	if err := RunN(ctx, cfg, loops); err != nil {
		log.Error("exiting: the Runtime API failed", logging.Error(err))
		return errLogged
	}
	log.Debug("shut down")
	return nil
}

// registerShutdownExtension registers the no-op extension that makes Lambda
// send SIGTERM at shutdown, before the loops' first /next, after which the
// Extensions API refuses registrations. A failure is not fatal: the function
// works as well without it, and is only SIGKILLed at shutdown, as it is
// without --graceful-shutdown; so it is logged and nil is returned.
func (r Runtime) registerShutdownExtension(ctx context.Context, log *logging.Logger) *runtimeapi.Extension {
	ext, err := runtimeapi.RegisterShutdownExtension(ctx, r.Addr, runtimeapi.ExtensionOptions{
		UserAgent: r.UserAgent,
		// event/next never ends while the extension is registered; if it
		// does, Lambda may stop waiting for the extension, so say so.
		OnEnd: func(err error) { log.Warn("the shutdown extension's event/next ended", logging.Error(err)) },
	})
	if err != nil {
		log.Warn("graceful shutdown is off: registering the shutdown extension failed; Lambda will SIGKILL the runtime at shutdown", logging.Error(err))
		return nil
	}
	log.Debug("shutdown extension registered", logging.String("extensionId", ext.ID()))
	return ext
}
