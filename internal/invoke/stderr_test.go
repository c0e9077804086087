package invoke

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStderrSplitsAtUTF8Boundaries: an overlong line of multi-byte
// characters is delivered in pieces of at most maxStderrLine bytes, each
// valid UTF-8, and together exactly the line.
func TestStderrSplitsAtUTF8Boundaries(t *testing.T) {
	for _, ch := range []string{"é", "€", "𝄞"} {
		t.Run(ch, func(t *testing.T) {
			// Offset by one ASCII byte so that a naive cut lands inside a character.
			line := "x" + strings.Repeat(ch, 3*maxStderrLine/len(ch))
			py := `import os, sys
data = ("x" + sys.argv[1] * int(sys.argv[2])).encode() + b"\n"
for i in range(0, len(data), 5000):
    os.write(2, data[i:i+5000])
`
			cmd := script(t, "exec python3 -c '"+py+"' '"+ch+"' "+strconv.Itoa(3*maxStderrLine/len(ch)))
			var c collector
			p := start(t, cmd, Options{Stderr: c.add})
			_, _ = io.ReadAll(p.Stdout())
			if r := p.Wait(); !r.Success() {
				t.Fatalf("result %+v", r)
			}
			got := c.get()
			if len(got) < 3 {
				t.Fatalf("%d pieces, want at least 3", len(got))
			}
			for i, piece := range got {
				if len(piece) > maxStderrLine || !utf8.ValidString(piece) {
					t.Errorf("piece %d: %d bytes, valid UTF-8 %v", i, len(piece), utf8.ValidString(piece))
				}
			}
			if strings.Join(got, "") != line {
				t.Errorf("pieces do not add up to the line")
			}
		})
	}
}

func TestSplitPoint(t *testing.T) {
	mk := func(prefix int, tail string) []byte {
		return []byte(strings.Repeat("a", prefix) + tail)
	}
	tests := []struct {
		name    string
		pending []byte
		want    int
	}{
		{"ascii", mk(maxStderrLine+1, ""), maxStderrLine},
		{"two-byte straddles", mk(maxStderrLine-1, "éé"), maxStderrLine - 1},
		{"four-byte straddles", mk(maxStderrLine-2, "𝄞"), maxStderrLine - 2},
		{"rune starts at the cut", mk(maxStderrLine, "é"), maxStderrLine},
		{"not UTF-8", mk(maxStderrLine-4, "\x80\x80\x80\x80\x80\x80"), maxStderrLine},
	}
	for _, tt := range tests {
		if got := splitPoint(tt.pending); got != tt.want {
			t.Errorf("%s: splitPoint = %d, want %d", tt.name, got, tt.want)
		}
	}
}
