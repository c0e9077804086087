package prelude

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/streamstrap/streamstrap/internal/httpsyntax"
)

// Target selects which prelude fields the HTTP integration reads.
type Target int

const (
	// FunctionURL is a Lambda Function URL (and the payload 2.0 shape in
	// general): statusCode, headers (repeated values combined with ", ")
	// and cookies (every Set-Cookie value). No multiValueHeaders.
	FunctionURL Target = iota
	// RESTAPI is an API Gateway REST API streaming integration (payload
	// 1.0): statusCode and multiValueHeaders, Set-Cookie included.
	RESTAPI
)

// String returns the target's name for logs.
func (t Target) String() string {
	switch t {
	case FunctionURL:
		return "function-url"
	case RESTAPI:
		return "rest-api"
	}
	return fmt.Sprintf("Target(%d)", int(t))
}

const (
	// MaxPrelude is the largest encoded prelude, the 8 NUL bytes included.
	// API Gateway needs the delimiter within the first "16KB" of the
	// stream; 16000 satisfies both the decimal and the binary reading.
	MaxPrelude = 16000

	// MaxHeaderBlock is the largest header block a handler may print, in
	// bytes up to and including the blank line that ends it.
	MaxHeaderBlock = 16 * 1024

	// delimiterLen is the number of NUL bytes that end the prelude JSON.
	delimiterLen = 8
)

// ErrTooLarge is wrapped by the errors for a header block over
// MaxHeaderBlock and for a prelude over MaxPrelude.
var ErrTooLarge = errors.New("too large")

// Field is one header line: a lower-case name and its value.
type Field struct {
	Name  string
	Value string
}

// Response is the parsed header block.
type Response struct {
	// StatusCode is the HTTP status: from Status, else 302 with a
	// Location, else 200.
	StatusCode int
	// Header holds the header lines in the order they were printed, with
	// lower-case names, without Status, Set-Cookie and the dropped
	// hop-by-hop and framing headers.
	Header []Field
	// Cookies holds the Set-Cookie values in order.
	Cookies []string
	// Dropped lists the lower-case names of hop-by-hop and framing header
	// lines that were left out, in order, so callers can log them.
	Dropped []string
}

// Values returns every value of the header name (case-insensitive), in
// order.
func (r Response) Values(name string) []string {
	var vs []string
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// wire is the prelude JSON. A struct keeps the field order fixed, and
// encoding/json sorts map keys, so equal responses encode to equal bytes.
type wire struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Cookies           []string            `json:"cookies,omitempty"`
}

// Encode builds the prelude (JSON followed by 8 NUL bytes) for r as target
// t reads it. Header names are lower-cased, hop-by-hop and framing headers
// are dropped, and Set-Cookie fields in r.Header are treated as cookies
// after r.Cookies, and Status fields are ignored, so a hand-made Response
// (such as an error page) gets the same treatment as a parsed one. It fails for an unknown target, a status
// outside 100–599, a name that is not a token, a value with a control
// character other than HT, or a result over MaxPrelude bytes.
func Encode(r Response, t Target) ([]byte, error) {
	if t != FunctionURL && t != RESTAPI {
		return nil, fmt.Errorf("prelude: encode: unknown target %d", int(t))
	}
	if r.StatusCode < 100 || r.StatusCode > 599 {
		return nil, fmt.Errorf("prelude: encode: status code %d outside 100-599", r.StatusCode)
	}
	cookies := append([]string(nil), r.Cookies...)
	var names []string // first-seen order, for building the combined values
	values := make(map[string][]string)
	for _, f := range r.Header {
		if !httpsyntax.IsToken(f.Name) {
			return nil, fmt.Errorf("prelude: encode: header name %q is not a token", f.Name)
		}
		if i := invalidValueByte(f.Value); i >= 0 {
			return nil, fmt.Errorf("prelude: encode: header %q: control character %#02x in value", f.Name, f.Value[i])
		}
		name := strings.ToLower(f.Name)
		switch {
		case name == "set-cookie":
			cookies = append(cookies, f.Value)
			continue
		case name == "status" || isHopByHop(name):
			continue
		}
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = append(values[name], f.Value)
	}
	for _, c := range cookies {
		if i := invalidValueByte(c); i >= 0 {
			return nil, fmt.Errorf("prelude: encode: cookie: control character %#02x in value", c[i])
		}
	}

	w := wire{StatusCode: r.StatusCode}
	switch t {
	case FunctionURL:
		if len(names) > 0 {
			w.Headers = make(map[string]string, len(names))
			for _, n := range names {
				// RFC 9110 §5.3: a recipient may combine repeated fields
				// into one value separated by commas. Set-Cookie is the
				// exception and travels in cookies instead.
				w.Headers[n] = strings.Join(values[n], ", ")
			}
		}
		if len(cookies) > 0 {
			w.Cookies = cookies
		}
	case RESTAPI:
		if len(cookies) > 0 {
			values["set-cookie"] = cookies
		}
		if len(values) > 0 {
			w.MultiValueHeaders = values
		}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// HTML escaping would turn <, > and & into 6-byte escapes for no
	// benefit: the prelude is never embedded in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("prelude: encode: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	// encoding/json escapes every control character, so a NUL here would
	// be a bug that makes the delimiter ambiguous; check rather than trust.
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, errors.New("prelude: encode: NUL byte in encoded JSON")
	}
	if n := len(b) + delimiterLen; n > MaxPrelude {
		return nil, fmt.Errorf("prelude: encode: prelude is %d bytes, over the %d-byte limit (MaxPrelude; API Gateway reads only the first 16 KB): %w",
			n, MaxPrelude, ErrTooLarge)
	}
	return append(b, make([]byte, delimiterLen)...), nil
}

// hopByHop lists the headers that describe one connection or the framing
// of the body; the integration frames the response itself.
func isHopByHop(lowerName string) bool {
	switch lowerName {
	case "transfer-encoding", "content-length", "connection", "keep-alive",
		"proxy-connection", "te", "trailer", "upgrade":
		return true
	}
	return false
}

// invalidValueByte returns the index of the first byte of v that may not
// appear in a header value (a control character other than HT, or DEL), or
// -1.
func invalidValueByte(v string) int {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return i
		}
	}
	return -1
}
