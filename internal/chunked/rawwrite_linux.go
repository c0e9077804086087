//go:build linux

package chunked

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawWriter writes a Stream's buffers to its socket with the writev(2) made
// raw. The socket is non-blocking and EAGAIN parks the goroutine on the
// runtime's poller, as net's own write does; but a raw call does not enter
// the scheduler's syscall state, whose entry wakes a sleeping sysmon, which
// then polls every 20 µs while the bootstrap is busy, on the CPU the Runtime
// API needs to take the chunk. Its zero value is ready; it allocates only on
// its first use.
type rawWriter struct {
	rc    syscall.RawConn       // the socket's; nil: not a socket, WriteTo is used
	step  func(fd uintptr) bool // w.writev, bound once
	bufs  *net.Buffers          // what the current write sends
	iov   [4]syscall.Iovec
	total int64
	errno syscall.Errno
}

// writeBuffers is bufs.WriteTo(conn): it consumes what was written from
// bufs, and deadlines and a closed connection fail it as they fail
// conn.Write.
func (w *rawWriter) writeBuffers(conn net.Conn, bufs *net.Buffers) (int64, error) {
	if w.step == nil {
		if sc, ok := conn.(syscall.Conn); ok {
			if rc, err := sc.SyscallConn(); err == nil {
				w.rc = rc
			}
		}
		w.step = w.writev
	}
	if w.rc == nil {
		return bufs.WriteTo(conn)
	}
	w.bufs, w.total, w.errno = bufs, 0, 0
	err := w.rc.Write(w.step)
	w.bufs = nil
	if err == nil && w.errno != 0 {
		err = os.NewSyscallError("writev", w.errno)
	}
	if err != nil {
		return w.total, &net.OpError{Op: "write", Net: conn.LocalAddr().Network(), Source: conn.LocalAddr(), Addr: conn.RemoteAddr(), Err: err}
	}
	return w.total, nil
}

// writev writes what w.bufs holds until it is all written (true), the
// socket is full (false: the poller waits) or the write fails (true, with
// w.errno).
func (w *rawWriter) writev(fd uintptr) bool {
	for {
		n := 0
		for _, b := range *w.bufs {
			if len(b) > 0 && n < len(w.iov) {
				w.iov[n].Base = unsafe.SliceData(b)
				w.iov[n].SetLen(len(b))
				n++
			}
		}
		if n == 0 {
			return true
		}
		written, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(n))
		switch e {
		case 0:
			w.total += int64(written)
			consume(w.bufs, int64(written))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			w.errno = e
			return true
		}
	}
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
