package handler

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"app", []string{"app"}},
		{"  app  ", []string{"app"}},
		{"python3 -u app.py", []string{"python3", "-u", "app.py"}},
		{"a\tb\nc\r\nd", []string{"a", "b", "c", "d"}},
		{"'single quoted'", []string{"single quoted"}},
		{`'no \escapes "here" $HOME'`, []string{`no \escapes "here" $HOME`}},
		{`"double quoted"`, []string{"double quoted"}},
		{`"esc \" \\ \$ \` + "`" + ` done"`, []string{"esc \" \\ $ ` done"}},
		{`"other \n \a kept"`, []string{`other \n \a kept`}},
		{`a\ b`, []string{"a b"}},
		{`\'x\'`, []string{"'x'"}},
		{`\"`, []string{`"`}},
		{`\\`, []string{`\`}},
		{`a'b'"c"d`, []string{"abcd"}},
		{`'' ""`, []string{"", ""}},
		{`x '' y`, []string{"x", "", "y"}},
		{"a\\\nb", []string{"ab"}},       // backslash-newline continues the word
		{"a \\\n b", []string{"a", "b"}}, // and is no word by itself
		{"\"a\\\nb\"", []string{"ab"}},   // also inside double quotes
		{"'a\\\nb'", []string{"a\\\nb"}},
		{`$HOME ~ *.py`, []string{"$HOME", "~", "*.py"}}, // no expansion
		{`"$(rm -rf /)"`, []string{"$(rm -rf /)"}},
		{`ünïcode 'spaß'`, []string{"ünïcode", "spaß"}},
		{`"it's"`, []string{"it's"}},
		{`'say "hi"'`, []string{`say "hi"`}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if err != nil {
			t.Errorf("splitWords(%q): unexpected error %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitWordsErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "empty handler"},
		{"   \t\n", "empty handler"},
		{"\\\n", "empty handler"},
		{`'open`, "unterminated single quote at offset 0"},
		{`app 'open`, "unterminated single quote at offset 4"},
		{`"open`, "unterminated double quote at offset 0"},
		{`"open\"`, "unterminated double quote"},
		{`"open\`, "unterminated double quote"},
		{`app\`, "trailing backslash"},
		{`'a' "b`, "unterminated double quote at offset 4"},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if err == nil {
			t.Errorf("splitWords(%q) = %q, want error containing %q", tt.in, got, tt.wantErr)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("splitWords(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
		}
	}
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`a 'b c' "d\"e" f\ g`, `''`, `"\`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		if err == nil && len(words) == 0 {
			t.Fatalf("splitWords(%q) returned no words and no error", s)
		}
		// Re-quoting every word in single quotes must give the words back.
		if err == nil {
			var b strings.Builder
			for _, w := range words {
				b.WriteString("'" + strings.ReplaceAll(w, "'", `'\''`) + "' ")
			}
			again, err := splitWords(b.String())
			if err != nil || !slices.Equal(again, words) {
				t.Fatalf("round trip of %q: got %q, %v; want %q", s, again, err, words)
			}
		}
	})
}
