package httpwire

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzAnswer feeds arbitrary bytes to the parser of an answer (/next,
// /error, /response): the head, then the body it frames. It must never
// panic, never return a status outside 100-999, and a body read through a
// limit must stay within it.
func FuzzAnswer(f *testing.F) {
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
		resp, err := ReadResponse(br, nil)
		if err != nil {
			return
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		body, err := NewBody(resp, br)
		if err != nil {
			return
		}
		const limit = 1 << 16
		n, _ := io.Copy(io.Discard, io.LimitReader(body, limit))
		if n > limit {
			t.Fatalf("read %d bytes through a %d-byte limit", n, limit)
		}
	})
}
