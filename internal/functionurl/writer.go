package functionurl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// IntegrationContentType is the response content type that says the body
// starts with an HTTP-integration prelude.
const IntegrationContentType = "application/vnd.awslambda.http-integration-response"

// MaxPrelude is the most bytes a prelude may take, its 8-NUL delimiter
// included, before the response is a 502.
const MaxPrelude = 16 * 1024

// delimiter ends the prelude JSON.
const delimiter = "\x00\x00\x00\x00\x00\x00\x00\x00"

// PreludeError reports a prelude the Writer could not use; the client got
// a 502.
type PreludeError struct {
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any (a JSON syntax error). Nil
	// means none.
	Err error
}

func (e *PreludeError) Error() string {
	if e.Err != nil {
		return "function URL response prelude: " + e.Reason + ": " + e.Err.Error()
	}
	return "function URL response prelude: " + e.Reason
}

func (e *PreludeError) Unwrap() error { return e.Err }

// ErrFailed is returned by [Writer.Write] after the Writer sent a 502.
var ErrFailed = errors.New("function URL response already failed")

// prelude is the HTTP-integration prelude's JSON.
type prelude struct {
	StatusCode *int              `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Cookies    []string          `json:"cookies"`
}

// Writer writes a function's streamed response to an http.ResponseWriter
// as a Function URL does: see the package documentation. Write the body to
// it as it arrives, then call Close. A Writer is not safe for concurrent
// use.
type Writer struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	integration bool
	contentType string

	buf     []byte // prelude bytes seen so far
	started bool   // status and headers sent
	failed  bool   // a 502 was sent
}

// NewWriter returns a Writer for a response whose content type (the
// Content-Type the function's runtime gave its response) is contentType.
// With [IntegrationContentType] the body must start with a prelude.
func NewWriter(w http.ResponseWriter, contentType string) *Writer {
	mt, _, _ := strings.Cut(contentType, ";")
	return &Writer{
		w:           w,
		rc:          http.NewResponseController(w),
		integration: strings.EqualFold(strings.TrimSpace(mt), IntegrationContentType),
		contentType: contentType,
	}
}

// Started reports whether the status and headers have been sent, after
// which a failure can no longer change the status.
func (w *Writer) Started() bool { return w.started }

// Write passes p on to the client, reading the prelude first when there is
// one, and flushes. It returns a [*PreludeError] when the prelude is bad
// (the client got a 502) and [ErrFailed] on every later call, or the
// error of writing to the client. A Write with no room for the whole
// prelude buffers it and sends nothing yet.
func (w *Writer) Write(p []byte) (int, error) {
	if w.failed {
		return 0, ErrFailed
	}
	n := len(p)
	if !w.started {
		if !w.integration {
			w.startRaw()
		} else {
			rest, err := w.readPrelude(p)
			if err != nil || !w.started {
				return n, err
			}
			p = rest
		}
	}
	if len(p) > 0 {
		if _, err := w.w.Write(p); err != nil {
			return 0, err
		}
	}
	w.flush()
	return n, nil
}

// Close ends the response: it sends the status and headers if no body byte
// has done so yet. An integration response whose prelude never ended is a
// 502 and a [*PreludeError]. Close does not end the connection; returning
// from the handler does.
func (w *Writer) Close() error {
	switch {
	case w.failed || w.started:
		return nil
	case !w.integration:
		w.startRaw()
		w.flush()
		return nil
	}
	return w.fail(&PreludeError{Reason: fmt.Sprintf("response ended after %d bytes without the prelude's NUL delimiter", len(w.buf))})
}

// Fail answers 502 "Internal Server Error", as a Function URL does for a
// function that failed before its response began, and reports true; once
// the status is sent it does nothing and reports false, and the caller
// should end the response abnormally (panic with http.ErrAbortHandler) so
// that the client sees it incomplete.
func (w *Writer) Fail() bool {
	if w.started || w.failed {
		return false
	}
	w.fail(nil)
	return true
}

func (w *Writer) startRaw() {
	if w.contentType != "" {
		w.w.Header().Set("Content-Type", w.contentType)
	}
	w.w.WriteHeader(http.StatusOK)
	w.started = true
}

func (w *Writer) flush() {
	// A ResponseWriter that cannot flush (ErrNotSupported) still gets the
	// bytes, only later.
	_ = w.rc.Flush()
}

// readPrelude adds p to the prelude seen so far; once the delimiter is in,
// it sends the status and headers and returns the body bytes after it.
func (w *Writer) readPrelude(p []byte) ([]byte, error) {
	old := len(w.buf)
	// Only as much as the limit allows: the delimiter must end within it.
	take := min(len(p), MaxPrelude-old)
	w.buf = append(w.buf, p[:take]...)
	// The delimiter may straddle the previous write.
	from := max(0, old-len(delimiter)+1)
	i := bytes.Index(w.buf[from:], []byte(delimiter))
	if i < 0 {
		if len(w.buf) >= MaxPrelude {
			return nil, w.fail(&PreludeError{Reason: fmt.Sprintf("no NUL delimiter in the first %d bytes", MaxPrelude)})
		}
		return nil, nil
	}
	end := from + i
	rest := p[end+len(delimiter)-old:]
	if err := w.startPrelude(w.buf[:end]); err != nil {
		return nil, w.fail(err)
	}
	w.buf = nil
	return rest, nil
}

// isHopByHop reports whether a prelude may not set the (canonical) header:
// the server frames the streamed body itself.
func isHopByHop(name string) bool {
	switch name {
	case "Connection", "Content-Length", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

func (w *Writer) startPrelude(js []byte) error {
	var p prelude
	if err := json.Unmarshal(js, &p); err != nil {
		return &PreludeError{Reason: "invalid JSON", Err: err}
	}
	status := http.StatusOK
	if p.StatusCode != nil {
		status = *p.StatusCode
	}
	// 1xx would be sent as an interim response, not the final status.
	if status < 200 || status > 599 {
		return &PreludeError{Reason: fmt.Sprintf("status code %d out of range", status)}
	}
	h := w.w.Header()
	for name, value := range p.Headers {
		if !isToken(name) {
			return &PreludeError{Reason: fmt.Sprintf("header name %q is not an HTTP token", name)}
		}
		if name = http.CanonicalHeaderKey(name); isHopByHop(name) {
			continue
		}
		h.Set(name, value)
	}
	for _, c := range p.Cookies {
		h.Add("Set-Cookie", c)
	}
	w.w.WriteHeader(status)
	w.started = true
	return nil
}

// fail sends a 502 and returns err.
func (w *Writer) fail(err error) error {
	w.failed = true
	w.buf = nil
	h := w.w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.w.WriteHeader(http.StatusBadGateway)
	w.w.Write([]byte("Internal Server Error"))
	w.flush()
	return err
}

// isToken reports whether s is an RFC 9110 token, a valid header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
