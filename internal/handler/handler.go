// Package handler finds the program a Lambda function runs: it takes the
// words after "--" on the bootstrap's command line, else splits the _HANDLER
// string into words as a shell would (without expanding anything), looks the
// program up in LAMBDA_TASK_ROOT and then on PATH, has internal/preflight
// check that it can run here, and returns the invoke.Command to start for
// every invocation. What goes wrong is an *InitError carrying the error type
// Lambda reports for a failed init, with a message that says what to do.
package handler

import (
	"errors"
	"fmt"
	"os"

	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/preflight"
)

// The error types of an InitError, as Lambda shows them.
const (
	// TypeNotFound: no handler is named, or it cannot be found or is not
	// executable.
	TypeNotFound = "Runtime.HandlerNotFound"
	// TypeMalformedName: the _HANDLER string cannot be split into words.
	TypeMalformedName = "Runtime.MalformedHandlerName"
	// TypeInvalidEntrypoint: the handler exists but cannot run here (a #!
	// line naming a missing interpreter, a binary for another machine).
	TypeInvalidEntrypoint = "Runtime.InvalidEntrypoint"
)

// InitError is why Find found no handler to run: the function's init
// failed, and Lambda reports Type with the message.
type InitError struct {
	Type string // one of the Type constants
	Err  error  // what went wrong; its text is the message
}

// Error returns Err's text; Type is reported beside it, not in it.
func (e *InitError) Error() string { return e.Err.Error() }

// Unwrap returns Err, so errors.As(err, new(*NotFoundError)) and
// errors.As(err, new(*preflight.NotRunnableError)) work.
func (e *InitError) Unwrap() error { return e.Err }

// Options says where Find looks for the handler.
type Options struct {
	// Args are the words after "--" on the bootstrap's command line: the
	// program and its arguments. Empty: the handler is the _HANDLER
	// environment variable, split into words by splitWords.
	Args []string

	// Getenv reads _HANDLER, LAMBDA_TASK_ROOT (where the program is looked
	// for first, and the handler's working directory; empty: the current
	// directory) and PATH. Nil: os.Getenv.
	Getenv func(string) string

	// Preflight runs preflight.Check on the program found, once, so that
	// a handler that cannot run here fails the init with the reason rather
	// than every invocation with a bare errno. False: not checked.
	Preflight bool
}

// errNoHandler is Find's error when neither Args nor _HANDLER names one.
var errNoHandler = errors.New("no handler: name it after -- on the bootstrap's command line, or set _HANDLER")

// Find returns the Command that runs the handler opts names, or an
// *InitError: of TypeNotFound when none is named or it cannot be found
// (wrapping a *NotFoundError), TypeMalformedName when _HANDLER cannot be
// split, TypeInvalidEntrypoint when preflight finds that it cannot run here
// (wrapping a *preflight.NotRunnableError).
func Find(opts Options) (invoke.Command, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	words := opts.Args
	if len(words) == 0 {
		h := getenv("_HANDLER")
		if h == "" {
			return invoke.Command{}, &InitError{Type: TypeNotFound, Err: errNoHandler}
		}
		var err error
		if words, err = splitWords(h); err != nil {
			return invoke.Command{}, &InitError{Type: TypeMalformedName, Err: fmt.Errorf("_HANDLER: %w", err)}
		}
	}
	pathEnv := getenv("PATH")
	cmd, err := resolve(words, getenv("LAMBDA_TASK_ROOT"), pathEnv)
	if err != nil {
		return invoke.Command{}, &InitError{Type: TypeNotFound, Err: err}
	}
	if opts.Preflight {
		if err := preflight.Check(cmd.Path, cmd.Dir, pathEnv); err != nil {
			return invoke.Command{}, &InitError{Type: TypeInvalidEntrypoint, Err: err}
		}
	}
	return cmd, nil
}
