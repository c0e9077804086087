package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pipe returns a pipe whose ends are registered with the poller, as the
// bootstrap's handler pipes are.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestReaderOnAPipe(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, r, w *os.File) // before the read
		buf     int
		want    string
		wantErr error
	}{
		{"data", func(t *testing.T, r, w *os.File) { w.Write([]byte("hello")) }, 64, "hello", nil},
		{"at most len(b)", func(t *testing.T, r, w *os.File) { w.Write([]byte("hello")) }, 2, "he", nil},
		{"empty buffer reads nothing", func(t *testing.T, r, w *os.File) {}, 0, "", nil},
		{"EOF once every writer closed", func(t *testing.T, r, w *os.File) { w.Close() }, 8, "", io.EOF},
		{"deadline", func(t *testing.T, r, w *os.File) { r.SetReadDeadline(time.Now().Add(-time.Second)) }, 8, "", os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := pipe(t)
			tt.prepare(t, r, w)
			b := make([]byte, tt.buf)
			n, err := NewReader(r).Read(b)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Read error = %v, want %v", err, tt.wantErr)
			}
			if got := string(b[:n]); got != tt.want {
				t.Fatalf("Read = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReaderWaitsOnThePoller: a read of an empty pipe parks until the writer
// writes, and a failing read returns its errno for the caller to name.
func TestReaderWaitsOnThePoller(t *testing.T) {
	r, w := pipe(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-time.After(20 * time.Millisecond) // the read is parked by now, or finds the data: both are right
		w.Write([]byte("late"))
	}()
	b := make([]byte, 8)
	n, err := NewReader(r).Read(b)
	<-done
	if err != nil || string(b[:n]) != "late" {
		t.Fatalf("Read = %q, %v", b[:n], err)
	}

	// The write end of a pipe cannot be read: EBADF, bare.
	_, err = NewReader(w).Read(b)
	var pe *os.PathError
	if !errors.Is(err, syscall.EBADF) || !errors.As(err, &pe) || pe.Op != "read" || pe.Path != w.Name() {
		t.Fatalf("Read of a write end = %#v, want EBADF in a PathError naming read and the file", err)
	}
}

// TestReaderFallsBack: a reader without a descriptor is read as itself.
func TestReaderFallsBack(t *testing.T) {
	b := make([]byte, 4)
	n, err := NewReader(bytes.NewReader([]byte("abc"))).Read(b)
	if err != nil || string(b[:n]) != "abc" {
		t.Fatalf("Read = %q, %v", b[:n], err)
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestWriteBuffers: what WriteTo would send arrives whole and in order,
// including a write far larger than the socket buffer (EAGAIN, the poller,
// partial writev), and bufs is consumed.
func TestWriteBuffers(t *testing.T) {
	tests := []struct {
		name string
		bufs [][]byte
	}{
		{"one", [][]byte{[]byte("abc")}},
		{"several with an empty one", [][]byte{[]byte("5\r\n"), nil, []byte("hello"), []byte("\r\n")}},
		{"more than the socket holds", [][]byte{bytes.Repeat([]byte{'a'}, 3<<20), []byte("end"), bytes.Repeat([]byte{'b'}, 1<<20)}},
		{"more pieces than one writev takes", func() [][]byte {
			var bs [][]byte
			for i := range 20 {
				bs = append(bs, []byte{byte('a' + i)})
			}
			return bs
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := tcpPair(t)
			c.SetWriteBuffer(16 << 10) // force partial writes
			want := bytes.Join(tt.bufs, nil)
			got := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(io.LimitReader(s, int64(len(want))))
				got <- b
			}()
			bufs := net.Buffers(tt.bufs)
			n, err := NewWriter(c).WriteBuffers(&bufs)
			if err != nil || n != int64(len(want)) {
				t.Fatalf("WriteBuffers = %d, %v; want %d", n, err, len(want))
			}
			if len(bufs) != 0 {
				t.Fatalf("%d buffers left unconsumed", len(bufs))
			}
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("the peer got %d bytes, not the %d written, or not in order", len(b), len(want))
			}
		})
	}
}

// TestWriteBuffersFailures: a deadline and a reset peer fail the write with
// the poller's error or the bare errno, and what was written is counted.
func TestWriteBuffersFailures(t *testing.T) {
	t.Run("deadline while the peer reads nothing", func(t *testing.T) {
		c, _ := tcpPair(t)
		const size = 32 << 20 // far beyond the socket buffer
		// Made before the deadline is set: faulting in 32 MiB takes a
		// while on a small machine.
		bufs := net.Buffers{bytes.Repeat([]byte{'x'}, size)}
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := NewWriter(c).WriteBuffers(&bufs)
		var oe *net.OpError
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "write" || oe.Addr.String() != c.RemoteAddr().String() {
			t.Fatalf("WriteBuffers error = %v, want the deadline in an OpError naming write and the peer", err)
		}
		if n <= 0 || n >= size || int64(len(bufs[0])) != size-n {
			t.Fatalf("WriteBuffers counted %d bytes, %d left", n, len(bufs[0]))
		}
	})
	t.Run("reset peer", func(t *testing.T) {
		c, s := tcpPair(t)
		s.SetLinger(0)
		s.Close()
		// The first write may still be taken before the RST is seen.
		w := NewWriter(c)
		var err error
		for range 100 {
			bufs := net.Buffers{[]byte("x")}
			if _, err = w.WriteBuffers(&bufs); err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		var se *os.SyscallError
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) || !errors.As(err, &se) || se.Syscall != "writev" {
			t.Fatalf("WriteBuffers to a reset peer = %v, want ECONNRESET or EPIPE from writev", err)
		}
	})
}

func TestPeekBesideABlockedReader(t *testing.T) {
	// A stream's answer reader sits in Read on the connection while the
	// response waits for its first byte; a look at the connection then
	// must not queue behind that Read.
	c, s := tcpPair(t)
	read := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := c.Read(b)
		read <- err
	}()
	time.Sleep(20 * time.Millisecond) // the reader is parked in Read
	looked := make(chan error, 1)
	go func() {
		_, err := Peek(c, make([]byte, 1))
		looked <- err
	}()
	select {
	case err := <-looked:
		if err != syscall.EAGAIN {
			t.Fatalf("Peek = %v, want EAGAIN", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Peek waited for the blocked Read")
	}
	s.Write([]byte("x"))
	if err := <-read; err != nil {
		t.Fatal(err)
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		name    string
		peer    func(s *net.TCPConn)
		want    string
		wantErr error
	}{
		{"nothing there", func(s *net.TCPConn) {}, "", syscall.EAGAIN},
		{"bytes, left unread", func(s *net.TCPConn) { s.Write([]byte("stray")) }, "stray", nil},
		{"the peer's FIN", func(s *net.TCPConn) { s.Close() }, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := tcpPair(t)
			tt.peer(s)
			b := make([]byte, 16)
			var n int
			var err error
			// Wait (bounded) for what the peer sent to arrive.
			for range 200 {
				n, err = Peek(c, b)
				if tt.wantErr != nil || err != syscall.EAGAIN {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Peek error = %v, want %v", err, tt.wantErr)
			}
			if string(b[:n]) != tt.want {
				t.Fatalf("Peek = %q, want %q", b[:n], tt.want)
			}
			if tt.want != "" {
				again := make([]byte, 16)
				m, _ := c.Read(again)
				if string(again[:m]) != tt.want {
					t.Fatalf("the peeked bytes were taken: Read = %q", again[:m])
				}
			}
		})
	}
}

// TestNoAllocations: a Reader's and a Writer's calls allocate nothing, the
// point of binding their callbacks once.
func TestNoAllocations(t *testing.T) {
	r, w := pipe(t)
	rd, wr := NewReader(r), NewWriter(w)
	b := make([]byte, 8)
	msg := []byte("ping")
	var arr [1][]byte
	var bufs net.Buffers
	allocs := testing.AllocsPerRun(200, func() {
		arr[0] = msg
		bufs = arr[:]
		if _, err := wr.WriteBuffers(&bufs); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Read(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per write and read, want 0", allocs)
	}
}
