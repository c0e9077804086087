package runtimeapi

import (
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"

	"github.com/streamstrap/streamstrap/internal/httpwire"
)

// Error types the bootstrap reports. Each matches
// (Runtime|Function)\.[A-Z][a-zA-Z]+, which Lambda Managed Instances require
// (other names collapse to Runtime.Unknown there).
const (
	// TypeExitError: the handler exited non-zero or was killed by a signal.
	TypeExitError = "Runtime.ExitError"
	// TypeHandlerTimeout: the handler was stopped at the invocation deadline.
	TypeHandlerTimeout = "Runtime.HandlerTimeout"
	// TypeHandlerNotFound: the handler cannot be found or is not executable.
	TypeHandlerNotFound = "Runtime.HandlerNotFound"
	// TypeMalformedHandlerName: the handler string cannot be split into words.
	TypeMalformedHandlerName = "Runtime.MalformedHandlerName"
	// TypeHandlerStartFailed: the handler exists but could not be started
	// for an invocation (e.g. it was changed or removed after init).
	TypeHandlerStartFailed = "Runtime.HandlerStartFailed"
	// TypeInvalidEntrypoint: the handler exists but cannot run here (a #!
	// line with CRLF or a missing interpreter, a binary for another
	// architecture or libc), found at init. Lambda uses the same name for a
	// container image whose entrypoint cannot be executed.
	TypeInvalidEntrypoint = "Runtime.InvalidEntrypoint"
	// TypeShutdown: the bootstrap was told to stop mid-invocation.
	TypeShutdown = "Runtime.Shutdown"
	// TypeInvalidHeaderBlock: in an HTTP mode the handler's header block is
	// malformed, too large or unfinished.
	TypeInvalidHeaderBlock = "Runtime.InvalidHeaderBlock"
	// TypeInvalidEvent: the event cannot be run: in cgi mode it is not an
	// HTTP request; in any mode its deadline header is malformed or its
	// body is larger than MaxEventBytes.
	TypeInvalidEvent = "Runtime.InvalidEvent"
	// TypeResponseSizeTooLarge: the response reached the size cap
	// (--max-response-bytes) and was cut there. Lambda reports a response
	// over its own limit with the same name.
	TypeResponseSizeTooLarge = "Function.ResponseSizeTooLarge"
)

// Trailer size budget. The Runtime API is a Go HTTP server, which parses a
// trailer section only if it fits its 4 KiB read buffer; stay under it.
const (
	maxTrailerSection = 4000
	maxStackLine      = 256
	maxMessage        = 1024
)

// Size budget of an /error body: as the trailers are bounded, so is the
// document posted to /error, whose stack trace is the handler's stderr tail
// (25 lines of up to 64 KiB each).
const (
	maxErrorDocument = 64 << 10
	maxErrorLine     = 4 << 10
)

// FunctionError is the error document Lambda passes on to the caller:
// {"errorMessage","errorType","stackTrace":[...]}, the documented shape.
type FunctionError struct {
	Type       string
	Message    string
	StackTrace []string
}

type errorDoc struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace"`
}

// JSON encodes the error document (always with a stackTrace array).
func (e FunctionError) JSON() []byte {
	st := e.StackTrace
	if st == nil {
		st = []string{}
	}
	b, _ := json.Marshal(errorDoc{ErrorMessage: e.Message, ErrorType: e.Type, StackTrace: st})
	return b
}

// Bounded returns e cut to fit an /error body of maxErrorDocument bytes:
// each stack line to maxErrorLine, the message to maxErrorLine, then the
// oldest stack lines dropped until the document fits.
func (e FunctionError) Bounded() FunctionError {
	e.Message = truncate(e.Message, maxErrorLine)
	st := make([]string, len(e.StackTrace))
	for i, l := range e.StackTrace {
		st[i] = truncate(l, maxErrorLine)
	}
	e.StackTrace = st
	for len(e.StackTrace) > 0 && len(e.JSON()) > maxErrorDocument {
		e.StackTrace = e.StackTrace[1:]
	}
	return e
}

// Trailer returns the two error trailers for a failed stream: the type, and
// the single-line standard base64 of the JSON document. The stack trace
// (oldest lines first) and then the message are trimmed so that the whole
// trailer section stays under 4 KiB.
func (e FunctionError) Trailer() httpwire.Header {
	e.Message = truncate(e.Message, maxMessage)
	st := make([]string, len(e.StackTrace))
	for i, l := range e.StackTrace {
		st[i] = truncate(l, maxStackLine)
	}
	e.StackTrace = st
	for {
		doc := e.JSON()
		size := len(HeaderErrorType) + 2 + len(e.Type) + 2 +
			len(HeaderErrorBody) + 2 + base64.StdEncoding.EncodedLen(len(doc)) + 2 + 2
		if size <= maxTrailerSection {
			return httpwire.Header{
				HeaderErrorType: {e.Type},
				HeaderErrorBody: {base64.StdEncoding.EncodeToString(doc)},
			}
		}
		switch {
		case len(e.StackTrace) > 0:
			e.StackTrace = e.StackTrace[1:]
		case len(e.Message) > 16:
			e.Message = truncate(e.Message, len(e.Message)/2)
		default:
			e.Message = ""
		}
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence,
// marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
