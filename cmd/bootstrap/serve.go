//go:build !lambda

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/localapi"
	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/loop"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
	"github.com/streamstrap/streamstrap/internal/serve"
)

// serveOptions are the flags of `bootstrap serve` beyond the runtime's.
type serveOptions struct {
	listen       string
	concurrency  int
	timeout      time.Duration
	memoryMB     int
	functionName string
	region       string
}

// newServeCommand is `bootstrap serve`: a local Lambda that streams.
func newServeCommand() *cobra.Command {
	var (
		opts options
		so   serveOptions
	)
	cmd := &cobra.Command{
		Use:   "serve [flags] [--] handler [args...]",
		Short: "Serve the handler as a local Lambda: Function URL, Invoke and InvokeWithResponseStream, streamed",
		Long: `serve runs the handler as Lambda would, on this machine: an embedded Runtime API,
--concurrency workers running the bootstrap's own loop, and an HTTP front on
--listen that answers

  POST /2015-03-31/functions/NAME/invocations                    Invoke (buffered, as Lambda)
  POST /2021-11-15/functions/NAME/response-streaming-invocations InvokeWithResponseStream
  anything else                                                  a Function URL, streamed

so a browser, curl -N, the AWS SDKs and the AWS CLI can all call it. Every
invocation starts the handler afresh, so an edited handler is picked up by the
next request. Ctrl-C stops.`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), opts, so, args)
		},
	}
	cmd.Flags().SetInterspersed(false)
	addRuntimeFlags(cmd.Flags(), &opts)
	fs := cmd.Flags()
	fs.StringVar(&so.listen, "listen", serve.DefaultListen, "host:port of the HTTP front (no authentication: keep it on loopback)")
	fs.IntVar(&so.concurrency, "concurrency", 1, "workers: invocations run at once; more requests wait for one up to --timeout, then get 429")
	fs.DurationVar(&so.timeout, "timeout", 30*time.Second, "function timeout")
	fs.IntVar(&so.memoryMB, "memory", serve.DefaultMemoryMB, "function memory size in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE; REPORT warns above it)")
	fs.StringVar(&so.functionName, "function-name", serve.DefaultFunctionName, "function name (in the Invoke paths, the ARN and AWS_LAMBDA_FUNCTION_NAME)")
	fs.StringVar(&so.region, "region", serve.DefaultRegion, "region (in the ARN, AWS_REGION and AWS_DEFAULT_REGION)")
	return cmd
}

func runServe(ctx context.Context, opts options, so serveOptions, args []string) error {
	format := logging.ParseFormat(os.Getenv("AWS_LAMBDA_LOG_FORMAT"))
	sink, log, err := newLogger(format, opts.logLevel)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer log.Sync() //nolint:errcheck // stderr
	cmd, fe := findHandler(args, opts)
	if fe != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s: %s", fe.Type, fe.Message)}
	}
	// The one loop.Config builder; the API exists once serve has started.
	lc, err := loopConfig(opts, nil, cmd, sink, log)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg := serve.Config{
		Listen: so.listen, FunctionName: so.functionName, Region: so.region,
		Concurrency: so.concurrency, Timeout: so.timeout, MemoryMB: so.memoryMB,
		Log: sink, JSONLog: format == logging.JSON, Logger: log, Banner: os.Stderr,
	}
	env := append(os.Environ(), cfg.FunctionEnv()...)
	cfg.Runtime = func(ctx context.Context, api *localapi.Server) error {
		client := runtimeapi.NewClient(api.Addr(), userAgent(), so.concurrency)
		defer client.CloseIdle()
		lc.API, lc.Env = client, env
		lc.HandlerLog = func(requestID string, line []byte) {
			sink.HandlerLine(requestID, line)
			api.HandlerLine(requestID, line) // for X-Amz-Log-Result
		}
		lc.HandlerExited = func(requestID string, res invoke.Result) {
			api.HandlerExited(requestID, res.PeakRSS) // REPORT's Max Memory Used
		}
		return loop.RunN(ctx, lc, so.concurrency)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve.Run(ctx, cfg); err != nil {
		return &exitError{code: 1, err: err}
	}
	return nil
}
