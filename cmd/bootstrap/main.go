// Command bootstrap is streamstrap's AWS Lambda custom runtime: it runs any
// program as the handler of a response-streaming function. Put it at
// /opt/bootstrap (a layer), /var/task/bootstrap (a provided.al2023 zip) or
// /var/runtime/bootstrap (a container image), and name the handler after
// "--" or in _HANDLER.
//
// This package only wires flags, environment variables and signals to the
// internal packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/streamstrap/streamstrap/internal/loop"
	"github.com/streamstrap/streamstrap/internal/mode"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// Set by the linker (-X main.version=...); see the Makefile.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// envPrefix prefixes the environment variable of every flag.
const envPrefix = "STREAMSTRAP_"

// options holds every flag of the runtime.
type options struct {
	deadlineMargin time.Duration
	killGrace      time.Duration
	logLevel       string
	contentType    string
	concurrency    int
	mode           string
	preflight      bool
	// prespawn starts each handler before its event (loop.Config.Prespawn).
	prespawn bool
	// maxResponseBytes caps a response body; 0 turns the cap off.
	maxResponseBytes int64
	// peerTimeout bounds the waits a stopped Runtime API can cause.
	peerTimeout time.Duration
	// splice is --splice: auto, on or off.
	splice string
	// gracefulShutdown registers a no-op extension so that Lambda sends
	// SIGTERM at shutdown; runtime only, `bootstrap local` has no shutdown.
	gracefulShutdown bool
}

// exitError carries a process exit code up to main.
type exitError struct {
	code int
	err  error
}

// Error returns the message of the error that ends the process.
func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code) // already logged
	}
	return e.err.Error()
}

// Unwrap returns the error that ends the process.
func (e *exitError) Unwrap() error { return e.err }

func main() {
	err := newRootCommand().ExecuteContext(context.Background())
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "bootstrap:", ee.err)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "bootstrap:", err)
	os.Exit(2)
}

func versionString() string {
	return fmt.Sprintf("streamstrap %s (commit %s, %s) %s %s/%s",
		version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newRootCommand() *cobra.Command {
	var opts options
	cmd := &cobra.Command{
		Use:   "bootstrap [flags] [--] [handler [args...]]",
		Short: "A Lambda custom runtime that streams any program's stdout as the response",
		Long: `bootstrap runs the Lambda Runtime API loop. For every invocation it starts the
handler (the command after "--", else $_HANDLER) with the event on stdin and the
invocation context in environment variables, and streams what the handler writes
to stdout as the function's response, byte for byte, as it is written.

Every flag can also be set with an environment variable STREAMSTRAP_<FLAG>
(upper case, "-" as "_"); a flag on the command line wins.`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if printVersion(cmd) {
				return nil
			}
			return runRuntime(cmd.Context(), opts, args)
		},
	}
	// Stop at the first non-flag word, so "bootstrap python3 -u app.py" keeps
	// the handler's own flags.
	cmd.Flags().SetInterspersed(false)
	addRuntimeFlags(cmd.Flags(), &opts)
	addVersionFlag(cmd)
	cmd.Flags().IntVar(&opts.concurrency, "concurrency", 0,
		"invocation loops run at once (default $AWS_LAMBDA_MAX_CONCURRENCY, else 1)")
	cmd.Flags().BoolVar(&opts.gracefulShutdown, "graceful-shutdown", false,
		"register a no-op Lambda extension, so that Lambda sends SIGTERM instead of SIGKILL at shutdown\n"+
			"(Lambda's shutdown phase then lasts up to 500 ms instead of 300 ms)")
	// A runtime has no use for shell completion scripts.
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.AddCommand(devCommands()...)
	return cmd
}

// addVersionFlag adds --version (-v). It is the bootstrap's own flag rather
// than cobra's Version field: cobra prints that through text/template, and
// text/template's reflective method calls keep the linker from dropping any
// exported method of the binary, about 2 MB of the stripped binary.
func addVersionFlag(cmd *cobra.Command) {
	cmd.Flags().BoolP("version", "v", false, "print the version, commit, commit date, Go version and os/arch, and exit")
}

// printVersion prints the version if --version was given and says so.
func printVersion(cmd *cobra.Command) bool {
	if v, _ := cmd.Flags().GetBool("version"); !v {
		return false
	}
	fmt.Fprintln(cmd.OutOrStdout(), versionString())
	return true
}

// addRuntimeFlags adds the flags that shape how invocations run, shared by
// the runtime and `bootstrap local`.
func addRuntimeFlags(fs *pflag.FlagSet, opts *options) {
	fs.DurationVar(&opts.deadlineMargin, "deadline-margin", loop.DefaultDeadlineMargin,
		"stop the handler this long before the invocation deadline, so its timeout can still be reported (0: at the deadline)")
	fs.DurationVar(&opts.killGrace, "kill-grace", loop.DefaultKillGrace,
		"time between SIGTERM and SIGKILL when a handler is stopped (0 or less: the default)")
	fs.StringVar(&opts.logLevel, "log-level", "",
		"level of the bootstrap's own logs: TRACE, DEBUG, INFO, WARN, ERROR, FATAL (default $AWS_LAMBDA_LOG_LEVEL, else INFO)")
	fs.StringVar(&opts.contentType, "content-type", mode.DefaultContentType,
		"Content-Type of raw streamed responses")
	fs.StringVar(&opts.mode, "mode", "raw",
		"how handler output becomes the response: raw (stdout is the body), http (a CGI header block, then the body),\n"+
			"cgi (a CGI/1.1 gateway for HTTP events) or auto (http for HTTP events, raw otherwise)")
	fs.Int64Var(&opts.maxResponseBytes, "max-response-bytes", loop.DefaultResponseLimit,
		"cut a response at this many bytes: stop the handler and end the stream with the error Function.ResponseSizeTooLarge\n"+
			"(default Lambda's streamed limit, 200 MB; 0 turns the cap off)")
	fs.DurationVar(&opts.peerTimeout, "peer-timeout", runtimeapi.DefaultPeerTimeout,
		"give up on a Runtime API that accepts no byte of a response, or does not answer a post, for this long")
	fs.BoolVar(&opts.preflight, "preflight", true,
		"check at start that the handler can run here (a #! line with CRLF or a missing interpreter,\n"+
			"a binary for another architecture or libc) and report an init error that says why")
	fs.BoolVar(&opts.prespawn, "prespawn", false,
		"start the next invocation's handler as soon as a response is finished, so its start-up (an interpreter,\n"+
			"imports) is done when the event comes; the handler reads its context on $STREAMSTRAP_CONTEXT_FD (not with --mode cgi)")
	fs.StringVar(&opts.splice, "splice", "auto",
		"move the response body from the handler's stdout to the Runtime API with splice(2), in the kernel:\n"+
			"on, off, or auto (on where it was measured to cost less CPU than copying: so far nowhere, see BENCHMARKS.md)")
}

// applyEnv sets every flag not given on the command line from its
// STREAMSTRAP_* environment variable.
func applyEnv(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
		}
	})
	return errors.Join(errs...)
}

func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}
