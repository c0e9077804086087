package cgi

import "strings"

// This file turns the path of an event into PATH_INFO the way a web server
// does before it runs a CGI program: decode, then resolve dot-segments, so
// that nothing a client sends can name a place above "/".

// pathInfo returns the PATH_INFO for path. decoded says whether the gateway
// already percent-decoded it (HTTP APIs) or not (Function URLs, REST APIs).
//
// An encoded path is percent-decoded, except that an escape for "/"
// (%2F), "\" (%5C) or a control byte (%00-%1F, %7F) stays encoded, as
// Apache's "AllowEncodedSlashes NoDecode" keeps %2F: an encoded slash then
// can never become a separator, a NUL or CR/LF never reaches the program,
// and a backslash, which WHATWG URL parsers and Windows path code take as
// a separator, can't smuggle one in. A "%" not followed by two hex digits
// stays as it is. In an already-decoded path the same bytes are encoded
// (a literal "%" stays literal).
//
// Then the segments are cleaned: "." and ".." segments, including
// percent-encoded ones (%2e, .%2E…), are resolved as RFC 3986 §5.2.4
// remove_dot_segments does, so ".." never climbs above "/"; empty segments
// are dropped ("//" becomes "/", as nginx's merge_slashes and Apache's
// MergeSlashes do by default), because a program that joins PATH_INFO to a
// directory or compares it with a prefix should not have to know that
// "/a//b" and "/a/b" name the same thing. A trailing "/" is kept, a
// missing leading one is added, and "" stays "".
//
// The result is a fixed point: pathInfo(pathInfo(p, x), true) equals
// pathInfo(p, x).
func pathInfo(path string, decoded bool) string {
	if path == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(path))
	for i := 0; i < len(path); i++ {
		c := path[i]
		if !decoded && c == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]) {
			d := unhex(path[i+1])<<4 | unhex(path[i+2])
			i += 2
			if keepEncoded(d) {
				writeEscape(&b, d)
			} else {
				b.WriteByte(d)
			}
			continue
		}
		if c != '/' && keepEncoded(c) {
			writeEscape(&b, c)
			continue
		}
		b.WriteByte(c)
	}
	return cleanSegments(b.String())
}

// cleanSegments resolves "." and ".." and drops empty segments of p, whose
// only separators are real slashes.
func cleanSegments(p string) string {
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	// As in remove_dot_segments, "/a/." and "/a/b/.." name a directory.
	last := segs[len(segs)-1]
	trailing := len(segs) > 1 && (last == "" || last == "." || last == "..")
	if len(out) == 0 {
		return "/"
	}
	r := "/" + strings.Join(out, "/")
	if trailing {
		r += "/"
	}
	return r
}

// validScript reports whether s may be SCRIPT_NAME: empty, or a clean
// absolute path (no dot or empty segments, no control bytes, no trailing
// slash), so that SCRIPT_NAME + PATH_INFO can't climb anywhere either.
func validScript(s string) bool {
	return s == "" || (s != "/" && pathInfo(s, true) == s && !strings.HasSuffix(s, "/"))
}

// keepEncoded reports whether the byte c stays percent-encoded in
// PATH_INFO.
func keepEncoded(c byte) bool {
	return c < 0x20 || c == 0x7f || c == '/' || c == '\\'
}

// escapeControls percent-encodes the control bytes of a URI component (a
// query string), leaving everything else, "%" included, as it is.
func escapeControls(s string) string {
	if !hasControl(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; isControl(c) {
			writeEscape(&b, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeRawPath percent-encodes the bytes of an encoded path that can't
// appear literally in a URI path, keeping its existing escapes.
func escapeRawPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '%' || isPathChar(c) {
			b.WriteByte(c)
		} else {
			writeEscape(&b, c)
		}
	}
	return b.String()
}

// writeEscape writes c as %XX.
func writeEscape(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&15])
}

// isControl reports whether c is an ASCII control byte (C0 or DEL).
func isControl(c byte) bool { return c < 0x20 || c == 0x7f }

// hasControl reports whether s holds a control byte.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if isControl(s[i]) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
