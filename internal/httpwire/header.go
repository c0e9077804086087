// Package httpwire reads HTTP/1.1 answers off the wire for the product's two
// clients (keepalive's calls, chunked's streamed requests): the status line
// and header fields with bounded lines, and the body as its framing says
// (none, Content-Length, chunked, or up to the connection's end). It is what
// those clients needed of net/http, which the Lambda build does not link:
// with its TLS, HTTP/2 and crypto packages it cost about 2 ms of CPU at
// every start and 2 MB of binary (BENCHMARKS.md).
package httpwire

import "github.com/streamstrap/streamstrap/internal/httpsyntax"

// Header is a message's header (or trailer) fields, keyed by the canonical
// form of their names, as net/http's Header is; the two convert to each
// other at no cost. The zero value (nil) is an empty header that can be read
// but not written.
type Header map[string][]string

// Get returns the first value of the field named key (in any case), or "".
func (h Header) Get(key string) string {
	if v := h[CanonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values returns every value of the field named key (in any case); the
// slice is the header's own.
func (h Header) Values(key string) []string { return h[CanonicalKey(key)] }

// Set replaces the values of the field named key with value.
func (h Header) Set(key, value string) { h[CanonicalKey(key)] = []string{value} }

// Add appends value to the field named key.
func (h Header) Add(key, value string) {
	key = CanonicalKey(key)
	h[key] = append(h[key], value)
}

// Del removes the field named key.
func (h Header) Del(key string) { delete(h, CanonicalKey(key)) }

// CanonicalKey returns the canonical form of a header field name, as
// net/textproto's CanonicalMIMEHeaderKey does: the first letter and every
// letter after a hyphen upper case, the rest lower case
// ("content-type" → "Content-Type"). A name that is not an RFC 9110 token
// comes back unchanged.
func CanonicalKey(s string) string {
	upper := true
	canonical := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !httpsyntax.IsTokenChar(c) {
			return s
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if canonical {
		return s
	}
	b := []byte(s)
	upper = true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	return string(b)
}
