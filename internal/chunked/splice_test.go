package chunked

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseSpliceMode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want SpliceMode
		ok   bool
	}{
		{"auto", SpliceAuto, true}, {"on", SpliceOn, true}, {"off", SpliceOff, true},
		{"", SpliceOff, false}, {"ON", SpliceOff, false}, {"yes", SpliceOff, false},
	} {
		got, err := ParseSpliceMode(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSpliceMode(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	if m := SpliceAuto.Resolve(); m != SpliceOn && m != SpliceOff {
		t.Errorf("SpliceAuto.Resolve() = %v", m)
	}
}

// TestSpliceAndCopySendTheSameBytes writes the same sequence of writes into a
// real pipe, ReadFrom sends it with splice on and off, and net/http's parser
// must see the same body byte for byte.
func TestSpliceAndCopySendTheSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	many := make([][]byte, 300)
	for i := range many {
		many[i] = random(1 + rng.IntN(3000))
	}
	tests := []struct {
		name   string
		writes [][]byte
		// closeEarly: the writer stops mid-stream (a handler that exits),
		// after the writes and with no end marker.
		closeEarly bool
	}{
		{name: "nothing"},
		{name: "one small write", writes: [][]byte{[]byte("hello\n")}},
		{name: "binary with CRLF and NUL", writes: [][]byte{{0, '\r', '\n', 0xff, '0', '\r', '\n', '\r', '\n', 0}}},
		{name: "many small writes", writes: many},
		{name: "one 1 MiB write", writes: [][]byte{random(1 << 20)}},
		{name: "8 MiB in 64 KiB writes", writes: func() [][]byte {
			w := make([][]byte, 128)
			for i := range w {
				w[i] = random(64 << 10)
			}
			return w
		}()},
		{name: "the writer exits mid-stream", writes: [][]byte{random(100000), random(7)}, closeEarly: true},
	}
	for _, tt := range tests {
		var want []byte
		for _, w := range tt.writes {
			want = append(want, w...)
		}
		for _, mode := range []SpliceMode{SpliceOff, SpliceOn} {
			t.Run(tt.name+"/splice="+mode.String(), func(t *testing.T) {
				srv, got := newServer(t, http.StatusAccepted)
				s, err := Open(context.Background(), nil, Request{Addr: srv.Listener.Addr().String(), Path: "/r", Splice: mode})
				if err != nil {
					t.Fatal(err)
				}
				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer pr.Close()
				go func() {
					for _, w := range tt.writes {
						if _, err := pw.Write(w); err != nil {
							t.Errorf("pipe write: %v", err)
							break
						}
					}
					pw.Close()
				}()
				n, err := s.ReadFrom(pr)
				if err != nil || n != int64(len(want)) {
					t.Fatalf("ReadFrom = %d, %v; want %d", n, err, len(want))
				}
				if _, err := s.Close(nil); err != nil {
					t.Fatalf("Close: %v", err)
				}
				r := <-got
				if r.err != nil {
					t.Fatalf("server: %v", r.err)
				}
				if !bytes.Equal(r.body, want) {
					t.Fatalf("body: %d bytes, want %d, equal prefix %d", len(r.body), len(want), commonPrefix(r.body, want))
				}
				switch {
				case mode == SpliceOff && s.spliced != 0:
					t.Errorf("splice off spliced %d bytes", s.spliced)
				case mode == SpliceOn && runtime.GOOS == "linux" && len(want) > 1000 && s.spliced == 0:
					t.Errorf("splice on spliced nothing of %d bytes", len(want))
				}
			})
		}
	}
}

// TestSpliceFromAReaderWithoutDescriptor: a reader that is not a pipe is
// copied, splice or not.
func TestSpliceFromAReaderWithoutDescriptor(t *testing.T) {
	srv, got := newServer(t, http.StatusAccepted)
	s, err := Open(context.Background(), nil, Request{Addr: srv.Listener.Addr().String(), Path: "/r", Splice: SpliceOn})
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("abc"), 100000)
	if n, err := s.ReadFrom(bytes.NewReader(want)); err != nil || n != int64(len(want)) {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	if _, err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	if r := <-got; !bytes.Equal(r.body, want) || s.spliced != 0 {
		t.Fatalf("body %d bytes, spliced %d", len(r.body), s.spliced)
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

var _ io.ReaderFrom = (*Stream)(nil)

// TestSpliceStopsAtTheServersFailures: an early answer releases a splice
// blocked on a full socket, and a reset fails it, as with the copy.
func TestSpliceStopsAtTheServersFailures(t *testing.T) {
	tests := []struct {
		name  string
		stall time.Duration
		serve func(c net.Conn)
		check func(t *testing.T, err error)
	}{
		{
			name:  "the server stops reading",
			stall: 200 * time.Millisecond,
			serve: func(c net.Conn) { time.Sleep(3 * time.Second) },
			check: func(t *testing.T, err error) {
				var se *StallError
				if !errors.As(err, &se) || se.Op != "write" || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("ReadFrom error = %v, want a write StallError", err)
				}
			},
		},
		{
			name: "early 413, body unread",
			serve: func(c net.Conn) {
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				// Answer once the first spliced bytes are in, so the
				// answer cannot come before any splice, and leave the
				// rest of the body unread.
				if _, err := io.ReadFull(req.Body, make([]byte, 16)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 2\r\n\r\n{}")
				time.Sleep(2 * time.Second)
			},
			check: func(t *testing.T, err error) {
				var early *EarlyResponseError
				if !errors.As(err, &early) || early.Response.StatusCode != 413 {
					t.Fatalf("ReadFrom error = %v, want an early 413", err)
				}
			},
		},
		{
			name: "reset mid-stream",
			serve: func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				_, _ = br.Discard(100)
				_ = c.(*net.TCPConn).SetLinger(0)
			},
			check: func(t *testing.T, err error) {
				if err == nil {
					t.Fatal("ReadFrom succeeded after a reset")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, tt.serve)
			s, err := Open(context.Background(), nil, Request{Addr: addr, Path: "/r", Splice: SpliceOn, StallTimeout: tt.stall})
			if err != nil {
				t.Fatal(err)
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			// The pipe holds bytes before ReadFrom looks, so its first
			// step is a splice: a writer racing the size query would
			// otherwise be read as plain chunks until the reset came.
			chunk := bytes.Repeat([]byte{'x'}, 64<<10)
			if _, err := pw.Write(chunk[:4096]); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range 1024 { // 64 MiB, far beyond any socket buffer
					if _, err := pw.Write(chunk); err != nil {
						return
					}
				}
			}()
			_, err = s.ReadFrom(pr)
			tt.check(t, err)
			if s.spliced == 0 {
				t.Error("nothing was spliced")
			}
			pr.Close() // the writer gets EPIPE
			<-done
			pw.Close()
			if _, err := s.Close(nil); err == nil {
				t.Error("Close after the failure succeeded")
			}
		})
	}
}
