package functionurl

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxEventSize is the largest encoded event, in bytes: Lambda's 6 MB quota
// for a synchronous invocation's payload.
const MaxEventSize = 6 * 1024 * 1024

// timeLayout is requestContext.time's format, e.g. "12/Mar/2020:19:03:58 +0000".
const timeLayout = "02/Jan/2006:15:04:05 -0700"

// Options are the parts of the event that do not come from the request.
// The zero Options are valid.
type Options struct {
	// URLID is the function URL's id, used as requestContext.apiId and
	// domainPrefix. Empty means the first label of the request's Host
	// name, or "local" when the Host is an IP address or empty.
	URLID string
	// RequestID is requestContext.requestId. Empty means a new random
	// UUID.
	RequestID string
	// Time is the request's arrival time. Zero means time.Now().
	Time time.Time
	// MaxEventSize is the largest encoded event. Zero means
	// [MaxEventSize].
	MaxEventSize int
}

// TooLargeError reports a request whose event would exceed the size limit.
type TooLargeError struct {
	// Limit is the limit in bytes.
	Limit int
	// Size is the event's size, or for a body too large to read in full,
	// a lower bound.
	Size int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("function URL event of at least %d bytes exceeds the %d-byte payload limit", e.Size, e.Limit)
}

// event is the payload 2.0 event, its fields in the documented order.
type event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         httpContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

type httpContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// Event reads r's body and returns the Function URL payload 2.0 event for
// r, as JSON. It returns a [*TooLargeError] when the event would exceed the
// limit (having read at most one byte more than the limit of the body), or
// the error of reading the body.
func Event(r *http.Request, opts Options) ([]byte, error) {
	limit := opts.MaxEventSize
	if limit <= 0 {
		limit = MaxEventSize
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
		if err != nil {
			return nil, fmt.Errorf("read function URL request body: %w", err)
		}
		if len(body) > limit {
			return nil, &TooLargeError{Limit: limit, Size: len(body)}
		}
	}

	now := opts.Time
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	host := r.Host
	hostname, port := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		hostname, port = h, p
	}
	urlID := opts.URLID
	if urlID == "" {
		urlID = "local" // an IP address has no label to take
		if net.ParseIP(hostname) == nil && hostname != "" {
			urlID, _, _ = strings.Cut(hostname, ".")
		}
	}
	requestID := opts.RequestID
	if requestID == "" {
		requestID = newUUID()
	}
	sourceIP := r.RemoteAddr
	if h, _, err := net.SplitHostPort(sourceIP); err == nil {
		sourceIP = h
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	if port == "" {
		port = "80"
		if proto == "https" {
			port = "443"
		}
	}

	ev := event{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        make(map[string]string, len(r.Header)+4),
		RequestContext: requestContext{
			AccountID:    "anonymous",
			APIID:        urlID,
			DomainName:   host,
			DomainPrefix: urlID,
			HTTP: httpContext{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
			RequestID: requestID,
			RouteKey:  "$default",
			Stage:     "$default",
			Time:      now.Format(timeLayout),
			TimeEpoch: now.UnixMilli(),
		},
	}
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[name] = strings.Join(values, ",")
	}
	ev.Headers["host"] = host
	if prior := ev.Headers["x-forwarded-for"]; prior != "" {
		ev.Headers["x-forwarded-for"] = prior + ", " + sourceIP
	} else {
		ev.Headers["x-forwarded-for"] = sourceIP
	}
	ev.Headers["x-forwarded-proto"] = proto
	ev.Headers["x-forwarded-port"] = port

	if r.URL.RawQuery != "" {
		// ParseQuery keeps every well-formed pair even when another is
		// malformed; a Function URL does not reject such a query either.
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if len(q) > 0 {
			ev.QueryStringParameters = make(map[string]string, len(q))
			for k, vs := range q {
				ev.QueryStringParameters[k] = strings.Join(vs, ",")
			}
		}
	}

	if len(body) > 0 {
		if IsText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <, > and & as they are, like the AWS front ends
	if err := enc.Encode(ev); err != nil {
		return nil, fmt.Errorf("encode function URL event: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > limit {
		return nil, &TooLargeError{Limit: limit, Size: len(out)}
	}
	return out, nil
}

// IsText reports whether a body of the given Content-Type goes into the
// event as text rather than base64: text/*, application/json,
// application/xml, application/javascript,
// application/x-www-form-urlencoded and the +json and +xml suffixes.
// An empty or unparsable Content-Type is not text.
func IsText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded":
		return true
	}
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
