package eventstream

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

func BenchmarkPayloadChunk(b *testing.B) {
	for _, size := range []int{64, 4 << 10, 64 << 10} {
		b.Run(byteSize(size), func(b *testing.B) {
			e := NewEncoder(io.Discard)
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := e.PayloadChunk(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	NewEncoder(&buf).PayloadChunk(make([]byte, 4<<10))
	msg := buf.Bytes()
	r := bytes.NewReader(msg)
	d := NewDecoder(r)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		if _, err := d.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}

func byteSize(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
