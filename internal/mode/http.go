package mode

import (
	"fmt"
	"io"

	"github.com/streamstrap/streamstrap/internal/cgi"
	"github.com/streamstrap/streamstrap/internal/eventshape"
	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/prelude"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
	"github.com/streamstrap/streamstrap/internal/sniff"
)

// HTTPMode gives the handler the event on stdin and expects a CGI header
// block at the start of its output, which becomes the prelude.
type HTTPMode struct{}

// Prepare implements Mode.
func (HTTPMode) Prepare(event []byte) (Plan, error) {
	return Plan{Stdin: event, Framer: HeaderFramer{Target: eventshape.Detect(event).Target()}}, nil
}

// CGIMode is a CGI/1.1 gateway: the handler gets the request's
// meta-variables in its environment and the request body on stdin, and
// answers with a CGI response (header block, then body).
type CGIMode struct{}

// Prepare implements Mode. A non-HTTP event is refused.
func (CGIMode) Prepare(event []byte) (Plan, error) {
	req, err := cgi.FromEvent(event)
	if err != nil {
		return Plan{}, fmt.Errorf("cgi mode needs a Function URL or API Gateway event: %w", err)
	}
	return Plan{Env: req.Env, Stdin: req.Body, Framer: HeaderFramer{Target: req.Shape.Target()}}, nil
}

// AutoMode chooses per invocation: HTTPMode for an event shaped like a
// Function URL or API Gateway request, Raw otherwise. This keeps a prelude
// out of the responses of direct invokes of the same function.
type AutoMode struct {
	// Raw serves the events that are not HTTP requests.
	Raw RawMode
}

// Prepare implements Mode.
func (m AutoMode) Prepare(event []byte) (Plan, error) {
	if shape := eventshape.Detect(event); shape.IsHTTP() {
		return Plan{Stdin: event, Framer: HeaderFramer{Target: shape.Target()}}, nil
	}
	return m.Raw.Prepare(event)
}

// HeaderFramer reads the CGI header block at the start of the output and
// starts the response with the prelude it describes and the first body bytes,
// in one chunk, so nothing can come between them.
type HeaderFramer struct {
	// Target selects the prelude fields; the zero value is
	// prelude.FunctionURL.
	Target prelude.Target
}

// ContentType implements Framer: the HTTP-integration prelude's type.
func (f HeaderFramer) ContentType() string { return runtimeapi.ContentTypePrelude }

// Begin implements Framer.
func (f HeaderFramer) Begin(stdout io.Reader, buf []byte) (Head, error) {
	p := prelude.NewParser(f.Target)
	for {
		n, err := stdout.Read(buf)
		if n > 0 {
			rest, done, perr := p.Feed(buf[:n])
			if perr != nil {
				return Head{}, &HeadError{Err: fmt.Errorf("invalid header block: %w", perr)}
			}
			if done {
				return f.head(p.Response(), stdout, buf, rest)
			}
		}
		if err == io.EOF {
			ferr := p.Finish()
			if ferr == nil {
				ferr = io.ErrUnexpectedEOF
			}
			return Head{}, &HeadError{Err: fmt.Errorf("invalid header block: %w", ferr), OutputEnded: true}
		}
		if err != nil {
			return Head{}, fmt.Errorf("reading handler output: %w", err)
		}
	}
}

// head builds the start of the response once the header block is complete:
// the prelude, then the body bytes that came with the block. A response
// that may have a body but names no Content-Type gets one sniffed from its
// first body bytes, as Go's net/http does: without it a Function URL labels
// every body application/json. Those bytes are waited for only then.
func (f HeaderFramer) head(resp prelude.Response, stdout io.Reader, buf, rest []byte) (Head, error) {
	eof := false
	if len(resp.Values("content-type")) == 0 && bodyAllowed(resp.StatusCode) {
		if len(rest) == 0 {
			var err error
			rest, eof, err = readSome(stdout, buf)
			if err != nil {
				return Head{}, err
			}
		}
		if len(rest) > 0 {
			resp.Header = append(resp.Header[:len(resp.Header):len(resp.Header)],
				prelude.Field{Name: "content-type", Value: sniff.ContentType(rest)})
		}
	}
	pre, err := prelude.Encode(resp, f.Target)
	if err != nil {
		return Head{}, &HeadError{Err: fmt.Errorf("invalid header block: %w", err)}
	}
	first := make([]byte, 0, len(pre)+len(rest))
	first = append(append(first, pre...), rest...)
	return Head{First: first, EOF: eof}, nil
}

// bodyAllowed reports whether a response with this status may carry a body
// (RFC 9110 §6.4.1).
func bodyAllowed(status int) bool {
	return status >= 200 && status != httpwire.StatusNoContent && status != httpwire.StatusNotModified
}

// readSome reads from r into buf until it gets data or the end of output.
func readSome(r io.Reader, buf []byte) (data []byte, eof bool, err error) {
	for {
		n, err := r.Read(buf)
		if n > 0 {
			return buf[:n], false, nil
		}
		if err == io.EOF {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading handler output: %w", err)
		}
	}
}
