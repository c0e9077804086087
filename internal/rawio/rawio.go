// Package rawio reads and writes descriptors registered with the Go
// runtime's poller (pipes from os.NewFile, sockets from net) through raw
// system calls.
//
// The descriptors are non-blocking, so a raw read(2) or writev(2) never
// blocks: on EAGAIN the goroutine parks on the poller, as os and net do.
// What a raw call skips is the scheduler's syscall state. Entering it wakes
// sysmon if sysmon sleeps, and sysmon then polls every 20 µs for as long as
// the process stays busy; on a small, paravirtualised Lambda a context
// switch costs tens of µs, so each wake-up is CPU billed to the invocation,
// and on the way to a response's first byte it competes with the Runtime
// API for the CPU. The bootstrap uses rawio on the calls that begin its
// busy stretches (the first read after a wait) and on the first-byte path.
//
// Off Linux every type falls back to the descriptor's own Read and Write.
package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Reader reads an io.Reader's descriptor by raw read(2) where it can: on
// Linux, when the reader is an *os.File or a net.Conn with a descriptor.
// Otherwise Read is the reader's own.
//
// Its errors are those of the reader's own Read: io.EOF at the end; an
// *os.PathError for a file and a *net.OpError for a connection otherwise,
// naming the operation and the target, with os.ErrDeadlineExceeded for a
// deadline and os.ErrClosed or net.ErrClosed for a descriptor closed under
// the read. A Reader is for one goroutine at a time; it allocates only when
// made.
type Reader struct {
	r io.Reader
	raw
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	rd := &Reader{r: r}
	rd.init(r)
	return rd
}

// Writer writes net.Buffers to a descriptor by raw writev(2) where it can:
// on Linux, when the writer is an *os.File or a net.Conn with a descriptor.
// Otherwise it uses net.Buffers.WriteTo. Its errors are shaped as Reader's.
// A Writer is for one goroutine at a time; it allocates only when made.
type Writer struct {
	w io.Writer
	raw
}

// NewWriter returns a Writer of w.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{w: w}
	wr.init(w)
	return wr
}

// WriteBuffers writes bufs as net.Buffers.WriteTo does: it consumes what was
// written from bufs and returns how much that was.
func (w *Writer) WriteBuffers(bufs *net.Buffers) (int64, error) {
	if !w.ok {
		return bufs.WriteTo(w.w)
	}
	n, err := w.writev(bufs)
	return n, w.wrap("write", "writev", err)
}

// Read reads into b.
func (r *Reader) Read(b []byte) (int, error) {
	if !r.ok {
		return r.r.Read(b)
	}
	n, err := r.read(b)
	if err == io.EOF {
		return n, err
	}
	return n, r.wrap("read", "read", err)
}

// wrap shapes a raw call's error as os and net shape theirs: an errno is
// named by its system call, and the whole by the operation and the target.
func (r *raw) wrap(op, call string, err error) error {
	if err == nil {
		return nil
	}
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(call, errno)
	} else if oe, ok := err.(*net.OpError); ok {
		err = oe.Err // the poller's, as "raw-read": re-named below
	}
	switch {
	case r.file != nil:
		if pe, ok := err.(*os.SyscallError); ok {
			err = pe.Err // os names no system call in a file's errors
		} else if !errors.Is(err, os.ErrDeadlineExceeded) {
			err = os.ErrClosed // the poller's "use of closed file"
		}
		return &os.PathError{Op: op, Path: r.file.Name(), Err: err}
	case r.conn != nil:
		return &net.OpError{Op: op, Net: r.conn.LocalAddr().Network(), Source: r.conn.LocalAddr(), Addr: r.conn.RemoteAddr(), Err: err}
	}
	return err
}

// consume drops the first n written bytes from bufs, as net.Buffers does.
func consume(bufs *net.Buffers, n int64) {
	for len(*bufs) > 0 {
		first := int64(len((*bufs)[0]))
		if first > n {
			(*bufs)[0] = (*bufs)[0][n:]
			return
		}
		n -= first
		*bufs = (*bufs)[1:]
	}
}
