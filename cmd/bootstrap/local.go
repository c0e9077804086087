//go:build !lambda

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamstrap/streamstrap/internal/chunked"
	"github.com/streamstrap/streamstrap/internal/localapi"
	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/loop"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// newLocalCommand is `bootstrap local`: one event through the real loop on a
// built-in loopback Runtime API, the body printed as it streams in.
func newLocalCommand() *cobra.Command {
	var (
		opts      options
		eventPath string
		l         localapi.Local
	)
	cmd := &cobra.Command{
		Use:   "local [flags] [--] handler [args...]",
		Short: "Run one event through the bootstrap on a built-in local Runtime API (no AWS account needed)",
		Long: `local starts a Lambda Runtime API on 127.0.0.1, runs the bootstrap's own loop
against it for one event, and writes the streamed response body to stdout as it
arrives. A summary (and the error, if the handler failed) goes to stderr; the
exit status is 1 when the invocation failed.`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if printVersion(cmd) { // `local --version` too
				return nil
			}
			var err error
			if l.Event, err = readEvent(eventPath); err != nil {
				return &exitError{code: 2, err: err}
			}
			return runLocal(cmd.Context(), opts, l, args)
		},
	}
	cmd.Flags().SetInterspersed(false)
	addRuntimeFlags(cmd.Flags(), &opts)
	addVersionFlag(cmd)
	cmd.Flags().StringVar(&eventPath, "event", "", `event JSON file ("-" for stdin; default {})`)
	cmd.Flags().DurationVar(&l.Timeout, "timeout", 30*time.Second, "function timeout: the invocation's deadline")
	cmd.Flags().BoolVar(&l.Timings, "timings", false, "print each arriving piece of body with its time to stderr")
	return cmd
}

func readEvent(path string) ([]byte, error) {
	switch path {
	case "":
		return []byte("{}"), nil
	case "-":
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the event: %w", err)
	}
	return b, nil
}

// runLocal runs l with the handler and its loop configured by opts.
func runLocal(ctx context.Context, opts options, l localapi.Local, args []string) error {
	cfg, _, err := devConfig(opts, args)
	if err != nil {
		return err
	}
	splice, err := chunked.ParseSpliceMode(opts.splice)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	l.UserAgent, l.PeerTimeout, l.Splice, l.Stdout, l.Stderr = userAgent(), opts.peerTimeout, splice, os.Stdout, os.Stderr
	l.Runtime = func(ctx context.Context, client *runtimeapi.Client) error {
		cfg.API = client
		return loop.RunN(ctx, cfg, 1)
	}
	l.RuntimeError = func(err error) { cfg.Logger.Warn("runtime loop ended with an error", logging.Error(err)) }
	if err := l.Run(ctx); errors.Is(err, localapi.ErrFailed) {
		return &exitError{code: 1}
	} else if err != nil {
		return &exitError{code: 1, err: err}
	}
	return nil
}
