//go:build !lambda

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/loop"
)

// devCommands are the subcommands for local development. The Lambda build
// (-tags lambda: the layer's, the function zip's and the image's bootstrap)
// leaves them out (`local`, `serve`), and with them the loopback Runtime
// API, net/http's server and client and the event-stream and Function URL
// codecs, so the artifact Lambda runs stays small; see dev_lambda.go.
func devCommands() []*cobra.Command {
	return []*cobra.Command{newLocalCommand(), newServeCommand()}
}

// devConfig is the loop.Config (its Logger on the returned Sink) of `local`
// and `serve`, which do not start without their handler.
func devConfig(opts options, args []string) (loop.Config, *logging.Sink, error) {
	sink, log, err := newLogger(logging.ParseFormat(os.Getenv("AWS_LAMBDA_LOG_FORMAT")), opts.logLevel)
	if err != nil {
		return loop.Config{}, nil, &exitError{code: 2, err: err}
	}
	cmd, fe := findHandler(args, opts)
	if fe != nil {
		return loop.Config{}, nil, &exitError{code: 1, err: fmt.Errorf("%s: %s", fe.Type, fe.Message)}
	}
	cfg, err := loopConfig(opts, cmd, sink, log)
	if err != nil {
		return loop.Config{}, nil, &exitError{code: 2, err: err}
	}
	return cfg, sink, nil
}
