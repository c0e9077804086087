package eventstream

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the Decoder: it must not panic or
// allocate past the limits, and every message it accepts must encode back
// to the same bytes.
func FuzzDecode(f *testing.F) {
	names, _ := filepath.Glob("testdata/encoded/*/*")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.PayloadChunk([]byte("chunk"))
	e.InvokeComplete(InvokeComplete{ErrorCode: "E"})
	f.Add(bytes.Clone(buf.Bytes()))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data))
		off := 0
		for range 1000 {
			m, err := d.Decode()
			if err != nil {
				return
			}
			var out bytes.Buffer
			if err := NewEncoder(&out).Encode(m); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if n := out.Len(); off+n > len(data) || !bytes.Equal(out.Bytes(), data[off:off+n]) {
				t.Fatalf("re-encoded message differs from input at %d", off)
			}
			off += out.Len()
		}
	})
}
