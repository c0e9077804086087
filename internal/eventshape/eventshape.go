// Package eventshape tells the Lambda event shapes that are HTTP requests
// apart (a Function URL, an API Gateway HTTP API with payload 2.0, a REST API
// with payload 1.0) from every other event, and maps each to the
// HTTP-integration prelude target its integration reads. The HTTP and auto
// modes (internal/mode) and the CGI translation (internal/cgi) both take the
// shape from here, so the two can never disagree about an event.
//
// [Detect] tells payload 2.0 ("version": "2.0" with requestContext.http.method)
// from a Function URL (domainName contains ".lambda-url.") or an HTTP API,
// and payload 1.0 (httpMethod, path and requestContext) from a REST API or an
// HTTP API configured for payload 1.0. ALB target events look like payload
// 1.0 but have requestContext.elb; they are Other, because ALB cannot stream
// and encodes its query string differently.
package eventshape

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/streamstrap/streamstrap/internal/prelude"
)

// Shape is what kind of event a payload is.
type Shape int

const (
	// Other is any event that is not an HTTP request this package handles.
	Other Shape = iota
	// FunctionURL is a payload 2.0 event from a Lambda Function URL.
	FunctionURL
	// HTTPAPIv2 is a payload 2.0 event from an API Gateway HTTP API.
	HTTPAPIv2
	// RESTv1 is a payload 1.0 event from an API Gateway REST API (or an
	// HTTP API using payload 1.0).
	RESTv1
)

// String returns the shape's name for logs.
func (s Shape) String() string {
	switch s {
	case Other:
		return "other"
	case FunctionURL:
		return "function-url"
	case HTTPAPIv2:
		return "http-api-v2"
	case RESTv1:
		return "rest-v1"
	}
	return "Shape(" + strconv.Itoa(int(s)) + ")"
}

// IsHTTP reports whether s is an HTTP request shape (anything but Other).
func (s Shape) IsHTTP() bool {
	return s == FunctionURL || s == HTTPAPIv2 || s == RESTv1
}

// probe holds the few fields Detect needs.
type probe struct {
	Version        string  `json:"version"`
	HTTPMethod     string  `json:"httpMethod"`
	Path           *string `json:"path"`
	RequestContext *struct {
		DomainName string `json:"domainName"`
		HTTP       *struct {
			Method string `json:"method"`
		} `json:"http"`
		ELB json.RawMessage `json:"elb"`
	} `json:"requestContext"`
}

// Detect classifies an event payload. It tells payload 2.0 ("version": "2.0"
// with requestContext.http.method) from a Function URL (domainName contains
// ".lambda-url.") or an HTTP API, and payload 1.0 (httpMethod, path and
// requestContext) from a REST API or an HTTP API configured for payload 1.0.
// ALB target events look like payload 1.0 but have requestContext.elb; they
// are Other, because ALB cannot stream and encodes its query string
// differently. Anything it doesn't recognise, including invalid JSON, is
// Other.
func Detect(event []byte) Shape {
	var p probe
	if err := json.Unmarshal(event, &p); err != nil || p.RequestContext == nil {
		return Other
	}
	rc := p.RequestContext
	switch {
	case p.Version == "2.0" && rc.HTTP != nil && rc.HTTP.Method != "":
		if strings.Contains(rc.DomainName, ".lambda-url.") {
			return FunctionURL
		}
		return HTTPAPIv2
	case p.HTTPMethod != "" && p.Path != nil && rc.ELB == nil:
		return RESTv1
	}
	return Other
}

// Target returns the prelude fields the shape's integration reads: REST
// (payload 1.0) events get multiValueHeaders, every other shape the Function
// URL fields (which HTTP APIs read too).
func (s Shape) Target() prelude.Target {
	if s == RESTv1 {
		return prelude.RESTAPI
	}
	return prelude.FunctionURL
}
