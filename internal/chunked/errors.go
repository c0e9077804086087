package chunked

// The server's answer, and the errors a Stream returns.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/streamstrap/streamstrap/internal/httpwire"
)

// Response is the server's answer to a Stream.
type Response struct {
	StatusCode int
	Header     httpwire.Header
	Body       []byte
}

// EarlyResponseError reports that the server answered before the body was
// finished; writing stops and the response is available through the error.
type EarlyResponseError struct {
	Response *Response
}

// Error describes the early answer with its status and body.
func (e *EarlyResponseError) Error() string {
	return fmt.Sprintf("server answered %d before the request body was finished: %s",
		e.Response.StatusCode, bytes.TrimSpace(e.Response.Body))
}

// ErrClosed is returned by writes after Close or Abort.
var ErrClosed = errors.New("chunked: stream closed")

// StallError reports a server that stopped taking part: it accepted no byte
// of the body for Limit, or did not answer within Limit once the body had
// ended. The connection has been closed.
type StallError struct {
	// Op is "write" or "waiting for the answer".
	Op string
	// Limit is the bound that was reached.
	Limit time.Duration
}

// Error names what was waited for and for how long.
func (e *StallError) Error() string {
	if e.Op == "write" {
		return fmt.Sprintf("chunked: write: the server accepted no byte for %v", e.Limit)
	}
	return fmt.Sprintf("chunked: %s: no answer within %v", e.Op, e.Limit)
}

// Unwrap returns os.ErrDeadlineExceeded, so errors.Is reports a timeout.
func (e *StallError) Unwrap() error { return os.ErrDeadlineExceeded }

// AnswerTooLargeError reports an answer whose head is larger than
// MaxAnswerHead, or that sent more than maxInterim interim answers.
type AnswerTooLargeError struct {
	// Limit is MaxAnswerHead, in bytes, or 0 for too many interim answers.
	Limit int
}

// Error names the limit that was passed.
func (e *AnswerTooLargeError) Error() string {
	if e.Limit == 0 {
		return fmt.Sprintf("chunked: reading the answer: more than %d interim (1xx) answers", maxInterim)
	}
	return fmt.Sprintf("chunked: reading the answer: its head is larger than %d bytes", e.Limit)
}

// CanceledError reports a stream ended by its context (a shutdown).
type CanceledError struct {
	// Err is the context's cause.
	Err error
}

// Error says the stream was cancelled, and why.
func (e *CanceledError) Error() string { return "chunked: stream cancelled: " + e.Err.Error() }

// Unwrap returns the context's cause.
func (e *CanceledError) Unwrap() error { return e.Err }
