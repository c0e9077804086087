package runtimeapitest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"testing"
)

// BenchmarkChunkedUpload measures how fast the server parses a streamed
// /response with data recording off (size, timing and SHA-256 only). Each
// iteration is one invocation: /next, then a 64 MiB chunked upload on a new
// connection, then the 202.
func BenchmarkChunkedUpload(b *testing.B) {
	for _, chunkSize := range []int{32 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("chunk=%dKiB", chunkSize>>10), func(b *testing.B) {
			const total = 64 << 20
			var wire bytes.Buffer
			data := bytes.Repeat([]byte{'x'}, chunkSize)
			for n := 0; n < total; n += chunkSize {
				fmt.Fprintf(&wire, "%x\r\n", chunkSize)
				wire.Write(data)
				wire.WriteString("\r\n")
			}
			wire.WriteString("0\r\n\r\n")
			s := New(b, Options{})
			s.SetRecordData(false)
			nc, err := net.Dial("tcp", s.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			nbr := bufio.NewReader(nc)
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				id := s.Enqueue(Event{})
				fmt.Fprintf(nc, "GET %s/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n", base)
				resp, err := http.ReadResponse(nbr, nil)
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err)
				}
				resp.Body.Close()
				c, err := net.Dial("tcp", s.Addr())
				if err != nil {
					b.Fatal(err)
				}
				fmt.Fprint(c, streamHead(id))
				if _, err := c.Write(wire.Bytes()); err != nil {
					b.Fatal(err)
				}
				resp, err = http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil || resp.StatusCode != 202 {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
