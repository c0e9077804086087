package chunked

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// openWith opens a stream to addr with the given bounds and context.
func openWith(t *testing.T, ctx context.Context, addr string, stall, answer time.Duration) *Stream {
	t.Helper()
	s, err := Open(ctx, nil, Request{
		Addr:          addr,
		Path:          "/2018-06-01/runtime/invocation/abc/response",
		Trailer:       []string{typeTrailer, bodyTrailer},
		StallTimeout:  stall,
		AnswerTimeout: answer,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// readWhole reads one chunked request to its end.
func readWhole(c net.Conn) (*bufio.Reader, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return br, err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return br, err
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name       string
		answer     string
		wantStatus int
		wantBody   string
		wantErr    func(error) bool
	}{
		{name: "plain 202", answer: "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", wantStatus: 202, wantBody: "ok"},
		{name: "100 Continue is skipped",
			answer:     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 202, wantBody: "ok"},
		{name: "several interim answers with headers are skipped",
			answer:     "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad",
			wantStatus: 400, wantBody: "bad"},
		{name: "too many interim answers",
			answer:  strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", maxInterim+1) + "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
			wantErr: func(err error) bool { var e *AnswerTooLargeError; return errors.As(err, &e) && e.Limit == 0 }},
		{name: "huge head",
			answer: "HTTP/1.1 202 Accepted\r\nX-Big: " + strings.Repeat("a", MaxAnswerHead) + "\r\n\r\n",
			wantErr: func(err error) bool {
				var e *AnswerTooLargeError
				return errors.As(err, &e) && e.Limit == MaxAnswerHead
			}},
		{name: "huge body is cut to the limit",
			answer:     "HTTP/1.1 202 Accepted\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("b", 1000000),
			wantStatus: 202, wantBody: strings.Repeat("b", MaxAnswerBody)},
		{name: "101 is not interim",
			answer:     "HTTP/1.1 101 Switching Protocols\r\n\r\n",
			wantStatus: 101},
		{name: "garbage",
			answer:  "SSH-2.0-OpenSSH\r\n\r\n",
			wantErr: func(err error) bool { return err != nil && strings.Contains(err.Error(), "reading the answer") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn) {
				if _, err := readWhole(c); err != nil {
					t.Errorf("server: %v", err)
					return
				}
				_, _ = io.WriteString(c, tt.answer)
			})
			s := openWith(t, context.Background(), addr, 0, 0)
			if _, err := s.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			resp, err := s.Close(nil)
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("Close = %v, %v; want a matching error", resp, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(resp.Body) != tt.wantBody) {
				t.Errorf("answer = %d %.40q (%d bytes), want %d %.40q", resp.StatusCode, resp.Body, len(resp.Body), tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// TestEarlyInterimAnswerDoesNotStopTheStream: a 100 Continue sent while the
// body is still being written is not the final answer.
func TestEarlyInterimAnswerDoesNotStopTheStream(t *testing.T) {
	got := make(chan []byte, 1)
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Errorf("server: %v", err)
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		body, _ := io.ReadAll(req.Body)
		got <- body
		_, _ = io.WriteString(c, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
	})
	s := openWith(t, context.Background(), addr, 0, 0)
	for i := range 20 {
		if _, err := s.Write(bytes.Repeat([]byte{'a' + byte(i)}, 4096)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := s.Close(nil)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("Close = %v, %v", resp, err)
	}
	if b := <-got; len(b) != 20*4096 {
		t.Errorf("server got %d body bytes, want %d", len(b), 20*4096)
	}
}

func TestPeerThatStopsReadingIsCut(t *testing.T) {
	release := make(chan struct{})
	addr := rawServer(t, func(c net.Conn) {
		<-release // reads nothing
	})
	defer close(release)
	s := openWith(t, context.Background(), addr, 200*time.Millisecond, 0)
	chunk := bytes.Repeat([]byte{'x'}, 1<<20)
	var err error
	for i := 0; i < 256 && err == nil; i++ { // 256 MiB is far beyond any socket buffer
		_, err = s.Write(chunk)
	}
	var se *StallError
	if !errors.As(err, &se) || se.Op != "write" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write error = %v, want a write StallError", err)
	}
	if _, err := s.Close(nil); err == nil {
		t.Error("Close after a stall succeeded")
	}
}

// TestSlowReaderIsNotCut: a reader that takes a little at a time, with
// pauses, never exceeds a stall bound measured per byte accepted, although
// the whole stream lasts many times the bound.
func TestSlowReaderIsNotCut(t *testing.T) {
	const total = 8 << 20
	got := make(chan int64, 1)
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		var n int64
		buf := make([]byte, 256<<10)
		for {
			k, err := req.Body.Read(buf)
			n += int64(k)
			if err != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		got <- n
		_, _ = io.WriteString(c, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
	})
	// The stall bound is far above one pause, far below the whole stream.
	s := openWith(t, context.Background(), addr, 2*time.Second, 0)
	chunk := bytes.Repeat([]byte{'y'}, 1<<20)
	for i := 0; i < total>>20; i++ {
		if _, err := s.Write(chunk); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if resp, err := s.Close(nil); err != nil || resp.StatusCode != 202 {
		t.Fatalf("Close = %v, %v", resp, err)
	}
	if n := <-got; n != total {
		t.Errorf("server read %d bytes, want %d", n, total)
	}
}

func TestAnswerNeverComes(t *testing.T) {
	tests := []struct {
		name  string
		after string // what the server sends after reading the body
	}{
		{name: "silence"},
		{name: "a head, then a body that never comes", after: "HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\n{\"st"},
		{name: "interim answers, then silence", after: "HTTP/1.1 100 Continue\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			addr := rawServer(t, func(c net.Conn) {
				if _, err := readWhole(c); err != nil {
					return
				}
				_, _ = io.WriteString(c, tt.after)
				<-release
			})
			defer close(release)
			s := openWith(t, context.Background(), addr, 0, 200*time.Millisecond)
			if _, err := s.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			resp, err := s.Close(nil)
			if tt.after != "" && strings.Contains(tt.after, "202") {
				// The head came: the status is known, the body is short.
				if err != nil || resp.StatusCode != 202 {
					t.Fatalf("Close = %v, %v; want the 202 with a short body", resp, err)
				}
				return
			}
			var se *StallError
			if !errors.As(err, &se) || se.Op != "waiting for the answer" {
				t.Fatalf("Close = %v, %v; want an answer StallError", resp, err)
			}
		})
	}
}

func TestContextCancelEndsEveryWait(t *testing.T) {
	tests := []struct {
		name string
		// stopReading: the server reads nothing (the writer blocks);
		// otherwise it reads the body and never answers.
		stopReading bool
	}{
		{name: "blocked write", stopReading: true},
		{name: "waiting for the answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			addr := rawServer(t, func(c net.Conn) {
				if !tt.stopReading {
					_, _ = readWhole(c)
				}
				<-release
			})
			defer close(release)
			ctx, cancel := context.WithCancel(context.Background())
			// Bounds far beyond the test's patience: only the cancel ends it.
			s := openWith(t, ctx, addr, time.Hour, time.Hour)
			done := make(chan error, 1)
			go func() {
				var err error
				if tt.stopReading {
					chunk := bytes.Repeat([]byte{'x'}, 1<<20)
					for i := 0; i < 1024 && err == nil; i++ {
						_, err = s.Write(chunk)
					}
				} else {
					_, err = s.Write([]byte("x"))
					if err == nil {
						_, err = s.Close(nil)
					}
				}
				done <- err
			}()
			time.Sleep(100 * time.Millisecond)
			cancel()
			err := <-done
			var ce *CanceledError
			if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want a CanceledError", err)
			}
			s.Abort()
		})
	}
}
