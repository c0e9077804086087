//go:build !lambda

package main

import "github.com/spf13/cobra"

// devCommands are the subcommands for local development. The Lambda build
// (-tags lambda: the layer's, the function zip's and the image's bootstrap)
// leaves them out (`local`, `serve`), and with them the loopback Runtime
// API, net/http's server and client and the event-stream and Function URL
// codecs, so the artifact Lambda runs stays small; see dev_lambda.go.
func devCommands() []*cobra.Command {
	return []*cobra.Command{newLocalCommand(), newServeCommand()}
}
