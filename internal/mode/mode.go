// Package mode decides, per invocation, how the handler is talked to and how
// the start of its stdout becomes the start of the streamed response: raw
// (stdout is the body), http (a CGI header block becomes the HTTP-integration
// prelude), cgi (a CGI/1.1 gateway: the request in the environment, the body
// on stdin) or auto (http for HTTP events, raw otherwise). A Mode turns an
// event into a Plan; the Plan's Framer reads the head of the output. It knows
// no processes and no Runtime API calls: internal/loop drives it.
package mode

import (
	"fmt"
	"io"
)

// DefaultContentType is the Content-Type of a raw streamed response unless
// configured otherwise, as the Node runtime does.
const DefaultContentType = "application/octet-stream"

// Mode prepares each invocation for one way of talking to the handler: what
// the handler receives, and how the start of its stdout becomes the start of
// the response (as is, or behind an HTTP-integration prelude).
type Mode interface {
	// Prepare plans the invocation of event; an error means the event
	// cannot be served in this mode (it is reported as Runtime.InvalidEvent).
	Prepare(event []byte) (Plan, error)
}

// Plan is what one invocation's handler gets, and how its output begins.
type Plan struct {
	// Env is added to the handler's environment (e.g. CGI meta-variables).
	Env []string
	// Stdin is written to the handler's stdin.
	Stdin []byte
	// Framer reads the head of the handler's output.
	Framer Framer
}

// Head is how a response begins.
type Head struct {
	// First is the first part of the body, sent at once as one chunk.
	First []byte
	// EOF reports that the handler's stdout ended while reading the head.
	EOF bool
}

// Framer reads the beginning of a handler's stdout, as far as it needs to
// decide how the response starts. The rest of stdout is streamed unchanged.
type Framer interface {
	// ContentType is the Content-Type of the response request. It is
	// known before any output, so the request's head can be on its way
	// while the handler starts.
	ContentType() string
	// Begin reads from stdout, using buf if it needs a buffer; Head.First may
	// alias buf. A *HeadError means the output is malformed.
	Begin(stdout io.Reader, buf []byte) (Head, error)
}

// HeadError reports handler output that cannot start a response, such as a
// malformed header block in an HTTP mode.
type HeadError struct {
	Err error
	// OutputEnded reports that stdout was closed before the head was
	// complete (the handler is exiting), rather than malformed output
	// arriving (the handler is still writing and must be stopped).
	OutputEnded bool
}

// Error returns the underlying problem's message.
func (e *HeadError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying problem.
func (e *HeadError) Unwrap() error { return e.Err }

// New returns the mode called name: raw ("" too), http, cgi or auto. contentType is
// the Content-Type of raw responses, for raw and auto; empty means
// DefaultContentType.
func New(name, contentType string) (Mode, error) {
	raw := RawMode{ContentType: contentType}
	switch name {
	case "raw", "":
		return raw, nil
	case "http":
		return HTTPMode{}, nil
	case "cgi":
		return CGIMode{}, nil
	case "auto":
		return AutoMode{Raw: raw}, nil
	}
	return nil, fmt.Errorf("unknown mode %q (want raw, http, cgi or auto)", name)
}

// RawMode passes the event to stdin and streams stdout as the body.
type RawMode struct {
	// ContentType of the responses; DefaultContentType when empty.
	ContentType string
}

// Prepare implements Mode.
func (m RawMode) Prepare(event []byte) (Plan, error) {
	return Plan{Stdin: event, Framer: RawFramer{Type: m.ContentType}}, nil
}

// RawFramer starts the response with the first bytes the handler writes.
type RawFramer struct {
	// Type is the Content-Type of the response; DefaultContentType when
	// empty.
	Type string
}

// ContentType implements Framer.
func (f RawFramer) ContentType() string {
	if f.Type == "" {
		return DefaultContentType
	}
	return f.Type
}

// Begin implements Framer: it returns as soon as one read yields data.
func (f RawFramer) Begin(stdout io.Reader, buf []byte) (Head, error) {
	for {
		n, err := stdout.Read(buf)
		if n > 0 {
			return Head{First: buf[:n]}, nil
		}
		if err == io.EOF {
			return Head{EOF: true}, nil
		}
		if err != nil {
			return Head{}, fmt.Errorf("reading handler output: %w", err)
		}
	}
}
