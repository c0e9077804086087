package invoke

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/streamstrap/streamstrap/internal/rawio"
)

// defaultPipeCapacity is the Linux default pipe capacity, used where the real
// one cannot be asked for.
const defaultPipeCapacity = 64 << 10

// pipeReader reads the parent's end of a handler output pipe and turns the
// drain deadline into a clean end of stream.
//
// The Process sets a read deadline on the pipe when the handler exits. A
// plain *os.File read fails with os.ErrDeadlineExceeded once the deadline has
// passed even if data is still buffered in the pipe (the poller checks the
// deadline before it tries the read), and that data was written before the
// handler exited. So when the deadline fires the reader clears it and
// switches to non-blocking reads: it returns what the pipe holds and reports
// io.EOF at the first empty read. The drain is capped at the pipe's capacity,
// so a process that escaped the group and keeps writing cannot keep the
// invocation alive.
//
// Reads are serialized by a mutex so that Wait, which discards what the
// caller left unread, cannot race with a caller still reading.
type pipeReader struct {
	mu       sync.Mutex
	f        *os.File
	raw      *rawio.Reader // f's reads, raw (see package rawio); made by the first Read
	eof      bool          // io.EOF has been returned; every later Read returns it too
	draining bool          // the drain deadline fired; only non-blocking reads from now on
	budget   int           // bytes the drain may still deliver
	grow     int           // pipe size to ask for at the first read that finds the pipe full; 0: none
}

// Read reads what the pipe holds, blocking until the handler writes, and
// returns io.EOF when every writer has closed the pipe or the drain deadline
// has fired and the buffered data is delivered.
func (r *pipeReader) Read(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eof {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	if !r.draining {
		if r.raw == nil {
			r.raw = rawio.NewReader(r.f)
		}
		n, err := r.raw.Read(b)
		if n >= defaultPipeCapacity {
			// The pipe was full: this handler writes faster than it is
			// read, so a larger pipe halves the wake-ups per byte (see
			// growPipe). Asked for only then, not at every spawn: most
			// responses never fill 64 KiB, and the fcntl is one system
			// call more per invocation.
			r.growOnce()
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF:
			r.eof = true
			return n, io.EOF
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return n, err
		}
		if err := r.startDrain(); err != nil {
			r.eof = true
			return 0, io.EOF
		}
	}
	return r.drainRead(b)
}

// growOnce asks for the larger pipe, the first time only. Called with mu held.
func (r *pipeReader) growOnce() {
	if r.grow > 0 {
		growPipe(r.f, r.grow)
		r.grow = 0
	}
}

// drained reports whether the drain deadline fired: something outside the
// handler's process group still held the pipe after the handler exited.
func (r *pipeReader) drained() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.draining
}

// startDrain clears the expired deadline, which would otherwise make every
// read fail before looking at the pipe, and sets the drain budget.
func (r *pipeReader) startDrain() error {
	if err := r.f.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	r.draining = true
	r.budget = defaultPipeCapacity
	if rc, err := r.f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { r.budget = pipeCapacity(fd) })
	}
	return nil
}

// drainRead does one non-blocking read of what is buffered in the pipe.
func (r *pipeReader) drainRead(b []byte) (int, error) {
	if r.budget <= 0 {
		r.eof = true
		return 0, io.EOF
	}
	if len(b) > r.budget {
		b = b[:r.budget]
	}
	rc, err := r.f.SyscallConn()
	if err != nil {
		r.eof = true
		return 0, io.EOF
	}
	var (
		n    int
		rerr error
	)
	// Returning true makes RawConn.Read try exactly once and never wait
	// on the poller: the handler is gone, so nothing more is waited for.
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), b)
			if rerr != syscall.EINTR {
				return true
			}
		}
	})
	if err != nil || rerr != nil || n <= 0 {
		// Empty (EAGAIN), at EOF, or closed: the stream is over.
		r.eof = true
		return 0, io.EOF
	}
	r.budget -= n
	return n, nil
}

// errRawDone is what pipeConn's Read returns once the raw descriptor may no
// longer be read directly: the stream is at its end or draining, which only
// pipeReader.Read knows how to finish.
var errRawDone = errors.New("invoke: the pipe is read through Read from now on")

// SyscallConn gives a zero-copy reader (splice(2)) the pipe's descriptor,
// under the same lock as Read. Its Read fails with os.ErrDeadlineExceeded
// once the drain deadline has passed; the caller then goes on with Read,
// which drains what the pipe holds.
func (r *pipeReader) SyscallConn() (syscall.RawConn, error) {
	rc, err := r.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	// splice moves what the pipe holds per call: a larger pipe, at once.
	r.mu.Lock()
	r.growOnce()
	r.mu.Unlock()
	return pipeConn{r: r, rc: rc}, nil
}

// pipeConn is a pipeReader's syscall.RawConn.
type pipeConn struct {
	r  *pipeReader
	rc syscall.RawConn
}

// Control runs f on the descriptor while holding the reader's lock.
func (c pipeConn) Control(f func(fd uintptr)) error {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	if c.r.eof || c.r.draining {
		return errRawDone
	}
	return c.rc.Control(f)
}

// Read is RawConn.Read under the reader's lock.
func (c pipeConn) Read(f func(fd uintptr) bool) error {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	if c.r.eof || c.r.draining {
		return errRawDone
	}
	return c.rc.Read(f)
}

// Write is not supported: the pipe is read-only here.
func (c pipeConn) Write(func(fd uintptr) bool) error { return syscall.EBADF }
