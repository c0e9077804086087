package chunked

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// byteConn is a net.Conn that reads a fixed answer and discards writes.
type byteConn struct {
	net.Conn // nil: any other method panics
	r        *bytes.Reader
}

func (c *byteConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *byteConn) Close() error                     { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }
func (c *byteConn) SetDeadline(time.Time) error      { return nil }

// FuzzReadAnswer feeds arbitrary bytes to the parser of the server's answer
// to a stream: it must never panic, never keep more than MaxAnswerBody
// bytes of body, and never return an interim answer as the final one.
func FuzzReadAnswer(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 413 Request Entity Too Large\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
		"HTTP/1.0 500 Internal Server Error\r\n\r\nboom",
		"HTTP/1.1 202\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 2020 Accepted\r\n\r\n",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		s := &Stream{conn: &byteConn{r: bytes.NewReader(answer)}, answerWait: time.Second}
		resp, err := s.readAnswer()
		if err != nil {
			if resp != nil {
				t.Fatalf("both an answer and an error: %v", err)
			}
			var tl *AnswerTooLargeError
			if errors.As(err, &tl) && tl.Limit != 0 && tl.Limit != MaxAnswerHead {
				t.Fatalf("limit %d", tl.Limit)
			}
			return
		}
		if len(resp.Body) > MaxAnswerBody+200 { // + the note of a failed body read
			t.Fatalf("kept %d body bytes", len(resp.Body))
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			t.Fatalf("interim answer %d returned as final", resp.StatusCode)
		}
	})
}
