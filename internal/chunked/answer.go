package chunked

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/rawio"
)

// readResponse reads the server's answer, on its own goroutine from Open on,
// and releases a writer blocked on a full socket once it has one.
func (s *Stream) readResponse() {
	resp, err := s.readAnswer()
	if err != nil {
		s.respErr = err
		close(s.respDone)
		return
	}
	s.resp = resp
	close(s.respDone)
	// Unblock a writer stuck on a full socket: the server is done with us.
	// After close(respDone): see writeBufs.
	_ = s.conn.SetWriteDeadline(time.Now())
}

// errCapped is what capReader returns at its limit.
var errCapped = errors.New("chunked: read limit reached")

// capReader reads at most n more bytes from r; n is reset for each part of
// the answer.
type capReader struct {
	r io.Reader
	n int64
}

// Read reads from r within the limit, then returns errCapped.
func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errCapped
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// heardReader notes that the server has said something: a byte, the end
// of the connection or an error.
type heardReader struct {
	r     io.Reader
	heard *atomic.Bool
}

func (h heardReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 || err != nil {
		h.heard.Store(true)
	}
	return n, err
}

// answerReaders keep the 4 KiB buffers answers are read through: one answer
// per invocation, and nothing of the Response refers to the buffer.
var answerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// readAnswer reads the server's final answer, skipping interim (1xx)
// answers as RFC 9110 §15.2 requires, with every head and the body bounded.
func (s *Stream) readAnswer() (*Response, error) {
	// Read raw (see package rawio): this read is the first call once the
	// server answers.
	cr := &capReader{r: heardReader{r: rawio.NewReader(s.conn), heard: &s.heard}}
	br := answerReaders.Get().(*bufio.Reader)
	br.Reset(cr)
	defer func() { br.Reset(nil); answerReaders.Put(br) }()
	for interim := 0; ; interim++ {
		cr.n = MaxAnswerHead
		resp, err := httpwire.ReadResponse(br, nil)
		if err != nil {
			if errors.Is(err, errCapped) || errors.Is(err, httpwire.ErrHeadTooLarge) {
				return nil, &AnswerTooLargeError{Limit: MaxAnswerHead}
			}
			return nil, fmt.Errorf("chunked: reading the answer: %w", err)
		}
		// 101 Switching Protocols is final, and never asked for here.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != httpwire.StatusSwitchingProtocols {
			if interim == maxInterim {
				return nil, &AnswerTooLargeError{}
			}
			continue
		}
		// A server that sends a head and then trickles (or withholds) the
		// body it announced must not hold the stream.
		_ = s.conn.SetReadDeadline(time.Now().Add(s.answerWait))
		cr.n = MaxAnswerBody + int64(br.Size())
		framed, err := httpwire.NewBody(resp, br)
		if err != nil {
			return nil, fmt.Errorf("chunked: reading the answer: %w", err)
		}
		body, err := io.ReadAll(io.LimitReader(framed, MaxAnswerBody))
		if err != nil && !errors.Is(err, net.ErrClosed) {
			// A short body still tells the status; keep what was read.
			body = append(body, fmt.Sprintf(" (body read failed: %v)", err)...)
		}
		return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}, nil
	}
}
