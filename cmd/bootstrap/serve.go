//go:build !lambda

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/serve"
)

// newServeCommand is `bootstrap serve`: a local Lambda that streams.
func newServeCommand() *cobra.Command {
	var (
		opts options
		cfg  serve.Config
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
			return runServe(cmd.Context(), opts, cfg, args)
		},
	}
	cmd.Flags().SetInterspersed(false)
	addRuntimeFlags(cmd.Flags(), &opts)
	fs := cmd.Flags()
	fs.StringVar(&cfg.Listen, "listen", serve.DefaultListen, "host:port of the HTTP front (no authentication: keep it on loopback)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "workers: invocations run at once; more requests wait for one up to --timeout, then get 429")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "function timeout")
	fs.IntVar(&cfg.MemoryMB, "memory", serve.DefaultMemoryMB, "function memory size in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE; REPORT warns above it)")
	fs.StringVar(&cfg.FunctionName, "function-name", serve.DefaultFunctionName, "function name (in the Invoke paths, the ARN and AWS_LAMBDA_FUNCTION_NAME)")
	fs.StringVar(&cfg.Region, "region", serve.DefaultRegion, "region (in the ARN, AWS_REGION and AWS_DEFAULT_REGION)")
	return cmd
}

// runServe runs cfg, the handler and its loops configured by opts, until a
// signal.
func runServe(ctx context.Context, opts options, cfg serve.Config, args []string) error {
	lc, sink, err := devConfig(opts, args)
	if err != nil {
		return err
	}
	cfg.Log, cfg.JSONLog, cfg.Logger, cfg.Banner = sink, sink.Format() == logging.JSON, lc.Logger, os.Stderr
	cfg.Runtime = cfg.Loops(lc, userAgent())
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve.Run(ctx, cfg); err != nil {
		return &exitError{code: 1, err: err}
	}
	return nil
}
