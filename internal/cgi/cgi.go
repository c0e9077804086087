// Package cgi turns a Lambda HTTP event (Function URL, API Gateway HTTP API
// or REST API) into a CGI/1.1 request (RFC 3875): the meta-variables a CGI
// program reads from its environment and the request body it reads from
// stdin. It does no I/O; the caller starts the program.
//
// # Shapes
//
// The event's shape (Function URL, HTTP API payload 2.0, REST API payload
// 1.0) comes from internal/eventshape, which also maps it to the prelude
// target its integration reads; FromEvent refuses any other shape.
//
// # Meta-variables
//
//	| Variable          | Function URL / HTTP API payload 2.0                        | REST API / payload 1.0                                             |
//	|-------------------|------------------------------------------------------------|--------------------------------------------------------------------|
//	| GATEWAY_INTERFACE | CGI/1.1                                                    | CGI/1.1                                                            |
//	| REQUEST_METHOD    | requestContext.http.method                                 | httpMethod                                                         |
//	| SCRIPT_NAME       | "/" + requestContext.stage when rawPath starts with it     | requestContext.path minus its path suffix (stage or base path)     |
//	|                   | (named HTTP API stages), else empty                        | e.g. "/dev"; empty when there is none                              |
//	| PATH_INFO         | rawPath minus SCRIPT_NAME, percent-decoded (*)             | path, percent-decoded (*)                                          |
//	| QUERY_STRING      | rawQueryString, as is                                      | multiValueQueryStringParameters (else queryStringParameters),      |
//	|                   |                                                            | URL-encoded, keys sorted, values in order                          |
//	| REQUEST_URI       | SCRIPT_NAME + raw path + "?" + QUERY_STRING (no "?" if empty) | same                                                            |
//	| CONTENT_LENGTH    | length of the decoded body; only when the body is not empty | same                                                              |
//	| CONTENT_TYPE      | Content-Type header; only when the body is not empty        | same                                                              |
//	| REMOTE_ADDR       | requestContext.http.sourceIp                               | requestContext.identity.sourceIp                                   |
//	| SERVER_NAME       | requestContext.domainName, else the Host header            | requestContext.domainName, else the Host header                    |
//	| SERVER_PORT       | 443                                                        | 443                                                                |
//	| SERVER_PROTOCOL   | requestContext.http.protocol, default HTTP/1.1             | requestContext.protocol, default HTTP/1.1                          |
//	| SERVER_SOFTWARE   | streamstrap                                                | streamstrap                                                        |
//	| HTTPS             | on                                                         | on                                                                 |
//	| HTTP_COOKIE       | cookies joined with "; " (else the Cookie header)          | Cookie header values joined with "; "                              |
//	| HTTP_<NAME>       | headers: name upper-cased, "-" → "_"                       | multiValueHeaders (else headers), values joined with ", "          |
//	| LAMBDA_REQUEST_CONTEXT | requestContext as compact JSON (authorizer claims…), if ≤ 32 KiB | same                                           |
//
// (*) RFC 3875 §4.1.5 says PATH_INFO is not URL-encoded. Function URLs and
// REST APIs deliver the path percent-encoded, so it is decoded; HTTP APIs
// (payload 2.0, and payload 1.0 marked "version": "1.0") are reported to
// deliver it already decoded, so it is used as is. Either way it is then
// normalised as a web server does before it runs a CGI program (the
// function pathInfo has the details): %2F, %5C and the escapes of control
// bytes stay encoded (raw ones in a decoded path get encoded), so an
// encoded slash is never a separator and no NUL, CR or LF gets through;
// "." and ".." segments, percent-encoded ones included, are resolved by
// RFC 3986 §5.2.4 remove_dot_segments, so ".." never climbs above "/";
// and "//" is merged into "/". A program must not percent-decode PATH_INFO
// again. SCRIPT_NAME is left empty when the stage or base path is not a
// clean path. REQUEST_URI keeps the client's encoded, unnormalised form
// (an already-decoded path gets its unsafe characters escaped, an encoded
// one only the bytes a URI can't hold). ALB events are not HTTP events
// here (see Shapes), so they produce no PATH_INFO.
//
// Headers are skipped, as web servers do, when: the name is not an RFC 7230
// token; the name contains "_" (Apache and nginx drop these, because
// "X_Foo" and "X-Foo" would map to the same variable and let a client
// spoof a header set by the proxy); it is Content-Type or Content-Length
// (they have their own variables); or it is Proxy, whose HTTP_PROXY
// variable would be taken by many HTTP clients as their proxy setting
// ("httpoxy", CVE-2016-5385). AUTH_TYPE, REMOTE_HOST, REMOTE_IDENT and
// REMOTE_USER are not set: the gateway performs no authentication of its
// own and does no reverse lookups.
//
// No value holds a control byte (NUL, CR, LF, the rest of C0, DEL): in
// PATH_INFO, QUERY_STRING and REQUEST_URI they are percent-encoded, in
// every other variable (headers above all, since events are JSON and can
// carry "\r\n") each is replaced by a space, as RFC 9110 §5.5 allows for
// CR, LF and NUL in a field value. The variable is kept, so a client can't
// make one disappear; it can't split it into a second header line either.
package cgi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/streamstrap/streamstrap/internal/eventshape"
	"github.com/streamstrap/streamstrap/internal/httpsyntax"
)

// Request is the CGI view of an HTTP event.
type Request struct {
	// Shape is the event's shape.
	Shape eventshape.Shape
	// Env holds the meta-variables as "NAME=value", sorted by name.
	Env []string
	// Body is the request body, base64-decoded when the event says so.
	Body []byte
}

// lookupEnv returns the value of the meta-variable name and whether it is
// set.
func (r Request) lookupEnv(name string) (string, bool) {
	for _, kv := range r.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// ErrNotHTTP is wrapped by FromEvent's error for an event that is not an
// HTTP request.
var ErrNotHTTP = errors.New("not an HTTP event")

// maxRequestContext bounds LAMBDA_REQUEST_CONTEXT: Linux limits one
// environment string to 128 KiB, and the context is a convenience.
const maxRequestContext = 32 * 1024

// eventV2 is the part of a payload 2.0 event FromEvent reads.
type eventV2 struct {
	RawPath        string            `json:"rawPath"`
	RawQueryString string            `json:"rawQueryString"`
	Cookies        []string          `json:"cookies"`
	Headers        map[string]string `json:"headers"`
	RequestContext struct {
		DomainName string `json:"domainName"`
		Stage      string `json:"stage"`
		HTTP       struct {
			Method   string `json:"method"`
			Protocol string `json:"protocol"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
	} `json:"requestContext"`
	Body            string `json:"body"`
	IsBase64Encoded bool   `json:"isBase64Encoded"`
}

// eventV1 is the part of a payload 1.0 event FromEvent reads.
type eventV1 struct {
	Version                         string              `json:"version"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	RequestContext                  struct {
		DomainName string `json:"domainName"`
		Protocol   string `json:"protocol"`
		Path       string `json:"path"`
		Identity   struct {
			SourceIP string `json:"sourceIp"`
		} `json:"identity"`
	} `json:"requestContext"`
	Body            *string `json:"body"`
	IsBase64Encoded bool    `json:"isBase64Encoded"`
}

// rawContext extracts requestContext verbatim for LAMBDA_REQUEST_CONTEXT.
type rawContext struct {
	RequestContext json.RawMessage `json:"requestContext"`
}

// FromEvent builds the CGI request for an HTTP event. It fails for an
// event that is not an HTTP request (wrapping ErrNotHTTP) and for a body
// that is not valid base64.
func FromEvent(event []byte) (Request, error) {
	shape := eventshape.Detect(event)
	var (
		req Request
		err error
	)
	switch shape {
	case eventshape.FunctionURL, eventshape.HTTPAPIv2:
		req, err = fromV2(event, shape)
	case eventshape.RESTv1:
		req, err = fromV1(event)
	default:
		return Request{}, fmt.Errorf("cgi: %w: not a Function URL, API Gateway HTTP API or REST API request", ErrNotHTTP)
	}
	if err != nil {
		return Request{}, fmt.Errorf("cgi: %s event: %w", shape, err)
	}
	req.Shape = shape
	return req, nil
}

// fromV2 handles payload 2.0 (Function URL and HTTP API).
func fromV2(event []byte, shape eventshape.Shape) (Request, error) {
	var e eventV2
	if err := json.Unmarshal(event, &e); err != nil {
		return Request{}, fmt.Errorf("decode: %w", err)
	}
	body, err := decodeBody(e.Body, e.IsBase64Encoded)
	if err != nil {
		return Request{}, err
	}
	env := newEnv()
	rc := e.RequestContext
	hdr := make(map[string][]string, len(e.Headers))
	for k, v := range e.Headers {
		hdr[k] = []string{v}
	}

	script, path := "", e.RawPath
	if st := rc.Stage; st != "" && st != "$default" {
		// HTTP APIs keep a named stage in rawPath; report it as the
		// script so PATH_INFO matches the route, as for REST.
		if p := "/" + st; validScript(p) && (path == p || strings.HasPrefix(path, p+"/")) {
			script, path = p, strings.TrimPrefix(path, p)
		}
	}
	// Per the package doc: Function URLs deliver an encoded path, HTTP
	// APIs a decoded one.
	env.setPath(script, path, shape == eventshape.HTTPAPIv2, e.RawQueryString)

	env.common(rc.HTTP.Method, rc.HTTP.SourceIP, rc.HTTP.Protocol, rc.DomainName, hdr, body)
	if len(e.Cookies) > 0 {
		// Payload 2.0 moves the Cookie header into cookies; it may or may
		// not also leave it in headers, so cookies wins to avoid doubles.
		env.set("HTTP_COOKIE", strings.Join(e.Cookies, "; "))
	}
	env.requestContext(event)
	return Request{Env: env.list(), Body: body}, nil
}

// fromV1 handles payload 1.0 (REST API, HTTP API with payload 1.0).
func fromV1(event []byte) (Request, error) {
	var e eventV1
	if err := json.Unmarshal(event, &e); err != nil {
		return Request{}, fmt.Errorf("decode: %w", err)
	}
	var b string
	if e.Body != nil {
		b = *e.Body
	}
	body, err := decodeBody(b, e.IsBase64Encoded)
	if err != nil {
		return Request{}, err
	}
	env := newEnv()
	rc := e.RequestContext

	hdr := e.MultiValueHeaders
	if len(hdr) == 0 {
		hdr = make(map[string][]string, len(e.Headers))
		for k, v := range e.Headers {
			hdr[k] = []string{v}
		}
	}
	q := url.Values(e.MultiValueQueryStringParameters)
	if len(q) == 0 {
		q = make(url.Values, len(e.QueryStringParameters))
		for k, v := range e.QueryStringParameters {
			q.Set(k, v)
		}
	}
	// An HTTP API sending payload 1.0 says "version": "1.0" and, like
	// payload 2.0 HTTP APIs, decodes the path; REST APIs have no version.
	env.setPath(scriptName(rc.Path, e.Path), e.Path, e.Version != "", q.Encode())
	env.common(e.HTTPMethod, rc.Identity.SourceIP, rc.Protocol, rc.DomainName, hdr, body)
	env.requestContext(event)
	return Request{Env: env.list(), Body: body}, nil
}

// scriptName derives the part of the client's path in front of the
// resource path: the stage on the execute-api domain ("/dev"), a custom
// domain's base path, or "" when there is none.
func scriptName(full, path string) string {
	var prefix string
	switch {
	case path != "" && strings.HasSuffix(full, path):
		prefix = full[:len(full)-len(path)]
	case path == "/":
		prefix = full
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" || strings.ContainsAny(prefix, "?#%") || !validScript(prefix) {
		return ""
	}
	return prefix
}

// decodeBody returns the body bytes.
func decodeBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("base64 body: %w", err)
	}
	return b, nil
}

// env collects meta-variables.
type env map[string]string

func newEnv() env { return make(env) }

// set sets a variable, each control byte of its value replaced by a space
// (RFC 9110 §5.5's rule for CR, LF and NUL in a field value, extended to
// every control): a CR or LF would let a client forge a header line when a
// program echoes the value into its response or a log, and exec can't pass
// a NUL.
func (e env) set(name, value string) {
	if hasControl(value) {
		b := []byte(value)
		for i, c := range b {
			if isControl(c) {
				b[i] = ' '
			}
		}
		value = string(b)
	}
	e[name] = value
}

// list returns the variables as sorted "NAME=value" entries.
func (e env) list() []string {
	l := make([]string, 0, len(e))
	for k, v := range e {
		l = append(l, k+"="+v)
	}
	slices.Sort(l)
	return l
}

// setPath sets SCRIPT_NAME, PATH_INFO, QUERY_STRING and REQUEST_URI.
// decoded says whether path arrived already percent-decoded.
func (e env) setPath(script, path string, decoded bool, query string) {
	e.set("SCRIPT_NAME", script)
	e.set("PATH_INFO", pathInfo(path, decoded))
	query = escapeControls(query)
	e.set("QUERY_STRING", query)
	// REQUEST_URI is what the client sent, as web servers report it; only
	// bytes a URI can't hold are escaped.
	uri := script + escapeRawPath(path)
	if decoded {
		uri = script + escapePath(path)
	}
	if query != "" {
		uri += "?" + query
	}
	e.set("REQUEST_URI", uri)
}

// escapePath percent-encodes the bytes that can't appear literally in a
// URI path (RFC 3986 pchar and "/"), including "%", since the path is
// known to be decoded.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if c := p[i]; isPathChar(c) {
			b.WriteByte(c)
		} else {
			writeEscape(&b, c)
		}
	}
	return b.String()
}

// isPathChar reports whether c may appear unescaped in a URI path.
func isPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// common sets the variables both payload versions fill the same way.
func (e env) common(method, remoteAddr, proto, domain string, hdr map[string][]string, body []byte) {
	e.set("GATEWAY_INTERFACE", "CGI/1.1")
	e.set("SERVER_SOFTWARE", "streamstrap")
	// Function URLs and API Gateway endpoints are HTTPS-only.
	e.set("SERVER_PORT", "443")
	e.set("HTTPS", "on")
	e.set("REQUEST_METHOD", method)
	e.set("REMOTE_ADDR", remoteAddr)
	if proto == "" {
		proto = "HTTP/1.1"
	}
	e.set("SERVER_PROTOCOL", proto)
	if domain == "" {
		domain = headerValue(hdr, "host")
	}
	e.set("SERVER_NAME", domain)
	if len(body) > 0 {
		e.set("CONTENT_LENGTH", strconv.Itoa(len(body)))
		if ct := headerValue(hdr, "content-type"); ct != "" {
			e.set("CONTENT_TYPE", ct)
		}
	}
	e.headers(hdr)
}

// headerValue returns the first value of the header name
// (case-insensitive); keys are visited in sorted order so the result is
// deterministic.
func headerValue(hdr map[string][]string, name string) string {
	for _, k := range sortedKeys(hdr) {
		if strings.EqualFold(k, name) && len(hdr[k]) > 0 {
			return hdr[k][0]
		}
	}
	return ""
}

// headers sets HTTP_* for the request headers (see the package doc for
// the ones skipped).
func (e env) headers(hdr map[string][]string) {
	vals := make(map[string][]string)
	for _, k := range sortedKeys(hdr) {
		lower := strings.ToLower(k)
		if !httpsyntax.IsToken(k) || strings.Contains(k, "_") {
			continue
		}
		switch lower {
		case "content-type", "content-length", "proxy":
			continue
		}
		name := "HTTP_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		vals[name] = append(vals[name], hdr[k]...)
	}
	for name, vs := range vals {
		sep := ", "
		if name == "HTTP_COOKIE" {
			// RFC 6265 §5.4 and RFC 9113 §8.2.3: cookie pairs are
			// separated by "; ", not ", ".
			sep = "; "
		}
		e.set(name, strings.Join(vs, sep))
	}
}

// requestContext sets LAMBDA_REQUEST_CONTEXT to the compact JSON of the
// event's requestContext when it is small enough.
func (e env) requestContext(event []byte) {
	var r rawContext
	if json.Unmarshal(event, &r) != nil || len(r.RequestContext) == 0 {
		return
	}
	var b bytes.Buffer
	if json.Compact(&b, r.RequestContext) != nil || b.Len() > maxRequestContext {
		return
	}
	e.set("LAMBDA_REQUEST_CONTEXT", b.String())
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
