// Package httpsyntax holds the one definition of an RFC 9110 token (§5.6.2),
// the grammar of HTTP header and trailer field names, for the packages that
// write or read header blocks (chunked, prelude, cgi). It is pure syntax: no
// I/O and no knowledge of Lambda.
package httpsyntax

// IsToken reports whether s is an RFC 9110 token (1*tchar), which is what a
// header field name must be. The empty string is not a token.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// IsTokenChar reports whether c is an RFC 9110 tchar: a letter, a digit or
// one of !#$%&'*+-.^_`|~.
func IsTokenChar(c byte) bool { return c < 0x80 && tchar[c] }

// tchar is a table rather than a switch: chunked checks every header of
// every response request with it.
var tchar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
