package keepalive

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzWireAnswer feeds arbitrary bytes to the client's parser of an answer
// (/next, /error): the head, then a chunked body. It must never
// panic, never return a status outside 100-999, and a chunked body read
// through the limit must stay within it.
func FuzzWireAnswer(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: a\r\nLambda-Runtime-Deadline-Ms: 1796151156081\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX: y\r\n\r\n",
		"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://x/\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\n\r\n",
		"HTTP/1.0 500\r\n\r\n",
		"HTTP/1.1 200 OK\nBare-LF: yes\n\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
		"HTTP/1.1 200 OK\r\n Folded: line\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(answer), 4096)
		resp, err := readHead(br, nil)
		if err != nil {
			return
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		const limit = 1 << 16
		n, _ := io.Copy(io.Discard, io.LimitReader(&chunkedReader{br: br}, limit))
		if n > limit {
			t.Fatalf("read %d bytes through a %d-byte limit", n, limit)
		}
	})
}
