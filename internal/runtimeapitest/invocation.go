package runtimeapitest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Event is one invocation to hand out through GET /next.
type Event struct {
	// RequestID is generated (UUID-like, from crypto/rand) when empty.
	RequestID string
	// Payload is the /next response body.
	Payload []byte
	// Deadline is sent as Lambda-Runtime-Deadline-Ms. When zero it is the
	// hand-out time plus Timeout, or plus 30s when Timeout is also zero.
	Deadline time.Time
	// Timeout is used when Deadline is zero; see Deadline.
	Timeout time.Duration
	// FunctionARN defaults to DefaultFunctionARN.
	FunctionARN string
	// Optional headers, sent only when non-empty.
	TraceID, ClientContext, CognitoIdentity, TenantID string
	// DeadlineHeader, when non-empty, is sent verbatim as
	// Lambda-Runtime-Deadline-Ms instead of Deadline, to try malformed
	// values ("abc", "1.5", "0"). Deadline is still filled in as usual.
	DeadlineHeader string
	// OmitDeadline leaves out the Lambda-Runtime-Deadline-Ms header.
	OmitDeadline bool
}

// Chunk is one data chunk of a chunked request body.
type Chunk struct {
	// Size is the chunk's size in bytes.
	Size int
	// At is when the chunk's data had been fully read.
	At time.Time
	// Data is the chunk's data; nil when data recording is off.
	Data []byte
}

// Invocation is the recorded outcome of one event. It is complete (and must
// not be modified) once returned by Wait or Invoke.
type Invocation struct {
	RequestID string
	// Event is the event as handed out (RequestID, Deadline and
	// FunctionARN filled in).
	Event Event
	// HandedOut is when /next returned the event.
	HandedOut time.Time
	// Outcome is "response" or "error" (the endpoint of the terminal POST).
	Outcome string
	// Header holds the terminal request's headers (canonical keys).
	Header http.Header
	// Streaming is true when Lambda-Runtime-Function-Response-Mode was "streaming".
	Streaming bool
	// Chunks are the data chunks of a chunked body, in arrival order.
	// A chunk cut short by the end of the connection (or by a fault) is not
	// listed, but its bytes count in Body and BodySize.
	Chunks []Chunk
	// Body is the concatenated body of a /response when data recording is
	// on, and always the body of an /error.
	Body []byte
	// BodySize is the number of body bytes received.
	BodySize int64
	// BodySHA256 is the SHA-256 of the received body bytes, always computed.
	BodySHA256 [32]byte
	// Trailer holds the trailer fields received (nil if none).
	Trailer http.Header
	// Truncated is true when the body ended before it was complete: a
	// chunked stream without its terminating chunk, a short Content-Length
	// body, or a body cut by RespondEarly/ResetResponse or a framing error.
	Truncated bool
	// Status is the HTTP status the server answered to the terminal POST,
	// or 0 when the connection ended (or was reset) before an answer.
	Status int
	// Done is when the outcome was recorded.
	Done time.Time
}

// ErrorType returns the reported error type: the error-type trailer of a
// streamed response, or for an /error the Lambda-Runtime-Function-Error-Type
// header, falling back to the body's "errorType" when the header is absent.
// It returns "" for a successful response.
func (inv *Invocation) ErrorType() string {
	if inv.Outcome == "error" {
		if t := inv.Header.Get(HeaderErrorType); t != "" {
			return t
		}
		var m struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(inv.Body, &m) == nil {
			return m.ErrorType
		}
		return ""
	}
	if inv.Trailer != nil {
		return inv.Trailer.Get(HeaderErrorType)
	}
	return ""
}

// DecodedErrorBody decodes the error body: the base64 error-body trailer of a
// streamed response, or the JSON body of an /error.
func (inv *Invocation) DecodedErrorBody() (map[string]any, error) {
	var raw []byte
	switch {
	case inv.Outcome == "error":
		raw = inv.Body
	case inv.Trailer != nil && len(inv.Trailer.Values(HeaderErrorBody)) > 0:
		b, err := base64.StdEncoding.Strict().DecodeString(inv.Trailer.Get(HeaderErrorBody))
		if err != nil {
			return nil, fmt.Errorf("error body trailer is not standard base64: %w", err)
		}
		raw = b
	default:
		return nil, errors.New("invocation has no error body")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("error body is not a JSON object: %w", err)
	}
	return m, nil
}

// InitError is one recorded POST /init/error.
type InitError struct {
	Header http.Header
	Body   []byte
	At     time.Time
}
