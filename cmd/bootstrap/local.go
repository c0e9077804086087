//go:build !lambda

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

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
		timeout   time.Duration
		timings   bool
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
			event, err := readEvent(eventPath)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			return runLocal(cmd.Context(), opts, args, event, timeout, timings)
		},
	}
	cmd.Flags().SetInterspersed(false)
	addRuntimeFlags(cmd.Flags(), &opts)
	addVersionFlag(cmd)
	cmd.Flags().StringVar(&eventPath, "event", "", `event JSON file ("-" for stdin; default {})`)
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "function timeout: the invocation's deadline")
	cmd.Flags().BoolVar(&timings, "timings", false, "print each arriving piece of body with its time to stderr")
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

func runLocal(ctx context.Context, opts options, args []string, event []byte, timeout time.Duration, timings bool) error {
	sink, log, err := newLogger(logging.ParseFormat(os.Getenv("AWS_LAMBDA_LOG_FORMAT")), opts.logLevel)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cmd, fe := findHandler(args, opts)
	if fe != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s: %s", fe.Type, fe.Message)}
	}
	srv, err := localapi.Start()
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer srv.Close()
	splice, err := chunked.ParseSpliceMode(opts.splice)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	client := runtimeapi.NewClient(srv.Addr(), userAgent(), 1)
	client.SetSplice(splice)
	client.SetPeerTimeout(opts.peerTimeout)
	defer client.CloseIdle()
	cfg, err := loopConfig(opts, client, cmd, sink, log)
	if err != nil {
		return &exitError{code: 2, err: err}
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	inv := localapi.Invocation{Payload: event, Timeout: timeout, Body: os.Stdout,
		OnPrelude: func(p json.RawMessage) {
			fmt.Fprintf(os.Stderr, "streamstrap local: HTTP response prelude %s\n", p)
		},
	}
	if timings {
		inv.OnChunk = func(n int, at time.Duration) {
			fmt.Fprintf(os.Stderr, "streamstrap local: +%-10s %d bytes\n", at.Round(time.Microsecond), n)
		}
	}
	res, lerr, err := srv.InvokeWith(ctx, inv, func(ctx context.Context) error { return loop.RunN(ctx, cfg, 1) })
	if lerr != nil {
		log.Warn("runtime loop ended with an error", zap.Error(lerr))
	}
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(os.Stderr, "\nstreamstrap local: request %s: %s, %s in %s, first byte after %s, done after %s\n",
		res.RequestID, res.Outcome, count(res.Bytes, "byte"), count(int64(res.Chunks), "chunk"),
		res.FirstByte.Round(time.Microsecond), res.Duration.Round(time.Microsecond))
	if res.Failed() {
		fmt.Fprintf(os.Stderr, "streamstrap local: failed: %s %s\n", res.ErrorType, res.Error)
		return &exitError{code: 1}
	}
	return nil
}

// count spells n with its noun, "1 chunk" or "2 chunks".
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
