// Command awslambdago is the bootstrap a Go user writes with
// github.com/aws/aws-lambda-go to run a program as a streaming handler: for
// each event it starts the program given as its arguments with the event on
// stdin and returns the program's stdout as an io.Reader, which
// aws-lambda-go sends as a chunked /response, one chunk per read.
//
// It is a benchmark contender (see ../../cmd/benchrun), written the way the
// library's documentation suggests, with no tuning.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: awslambdago handler [args...]")
		os.Exit(2)
	}
	argv := os.Args[1:]
	lambda.StartHandlerFunc(func(ctx context.Context, ev json.RawMessage) (io.Reader, error) {
		return start(ctx, argv, ev)
	})
}

// output is a handler's stdout; reading it to the end, or closing it, waits
// for the handler, so each invocation reaps its process.
type output struct {
	cmd    *exec.Cmd
	r      io.ReadCloser
	waited bool
	err    error
}

// start runs argv with ev on stdin and returns its stdout.
func start(ctx context.Context, argv []string, ev []byte) (*output, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(ev)
	cmd.Stderr = os.Stderr
	r, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &output{cmd: cmd, r: r}, nil
}

// Read reads the handler's stdout; at its end it reports the handler's exit
// error, if any, which aws-lambda-go turns into error trailers.
func (o *output) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if errors.Is(err, io.EOF) {
		if werr := o.wait(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// Close waits for the handler if Read did not.
func (o *output) Close() error { return o.wait() }

func (o *output) wait() error {
	if !o.waited {
		o.waited = true
		o.err = o.cmd.Wait()
	}
	return o.err
}
