package httpsyntax

import "testing"

func TestIsToken(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"Content-Type", true},
		{"x-amz-1", true},
		{"!#$%&'*+-.^_`|~", true},
		{"", false},
		{"Bad Name", false},
		{"a:b", false},
		{"a\tb", false},
		{"naïve", false},
		{"a\x7f", false},
		{`"q"`, false},
		{"(c)", false},
		{"a/b", false},
		{"{x}", false},
	}
	for _, tt := range tests {
		if got := IsToken(tt.in); got != tt.want {
			t.Errorf("IsToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestIsTokenCharAgreesWithTheGrammar checks every byte against the RFC 9110
// tchar rule written out as a list of separators.
func TestIsTokenCharAgreesWithTheGrammar(t *testing.T) {
	const delimiters = "\"(),/:;<=>?@[\\]{}"
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7f
		for i := 0; i < len(delimiters); i++ {
			if byte(c) == delimiters[i] {
				want = false
			}
		}
		if got := IsTokenChar(byte(c)); got != want {
			t.Errorf("IsTokenChar(%#02x) = %v, want %v", c, got, want)
		}
	}
}
