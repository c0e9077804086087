//go:build linux

package rawio

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// raw is the Linux part of Reader and Writer: the descriptor's RawConn and
// the callbacks bound to it once, so a call allocates nothing.
type raw struct {
	ok     bool     // rc is usable
	file   *os.File // the descriptor's owner, to name it in errors: a file,
	conn   net.Conn // or a connection
	rc     syscall.RawConn
	readFn func(fd uintptr) bool
	vecFn  func(fd uintptr) bool
	p      []byte       // the current read's buffer
	bufs   *net.Buffers // the current write's buffers
	iov    [8]syscall.Iovec
	n      int64
	errno  syscall.Errno
}

func (r *raw) init(v any) {
	switch v := v.(type) {
	case *os.File:
		r.file = v
	case net.Conn:
		r.conn = v
	default:
		return
	}
	sc, ok := v.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	r.ok, r.rc = true, rc
	r.readFn, r.vecFn = r.readStep, r.writevStep
}

func (r *raw) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.p, r.n, r.errno = b, 0, 0
	err := r.rc.Read(r.readFn)
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case r.errno != 0:
		return 0, r.errno
	case r.n == 0:
		return 0, io.EOF
	}
	return int(r.n), nil
}

// readStep makes one read; false (EAGAIN) has the poller wait.
func (r *raw) readStep(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.p))), uintptr(len(r.p)))
		switch e {
		case 0:
			r.n = int64(n)
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.errno = e
			return true
		}
	}
}

func (r *raw) writev(bufs *net.Buffers) (int64, error) {
	r.bufs, r.n, r.errno = bufs, 0, 0
	err := r.rc.Write(r.vecFn)
	r.bufs = nil
	if err == nil && r.errno != 0 {
		err = r.errno
	}
	return r.n, err
}

// writevStep writes until bufs is empty (true), the socket is full (false:
// the poller waits) or the write fails (true, with errno).
func (r *raw) writevStep(fd uintptr) bool {
	for {
		n := 0
		for _, b := range *r.bufs {
			if len(b) > 0 && n < len(r.iov) {
				r.iov[n].Base = unsafe.SliceData(b)
				r.iov[n].SetLen(len(b))
				n++
			}
		}
		if n == 0 {
			return true
		}
		w, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&r.iov[0])), uintptr(n))
		switch e {
		case 0:
			r.n += int64(w)
			consume(r.bufs, int64(w))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.errno = e
			return true
		}
	}
}

// Peek looks at what a socket holds without waiting or taking it: up to
// len(b) bytes copied into b (MSG_PEEK|MSG_DONTWAIT). It returns n > 0 for
// bytes, 0 with a nil error for the peer's FIN, syscall.EAGAIN when nothing
// is there, or the failure; c's poller is not waited on.
func Peek(c syscall.Conn, b []byte) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		n     uintptr
		errno syscall.Errno
	)
	// Control, not Read: a look that never waits needs no read lock, and
	// another goroutine may be blocked reading c (a stream's answer).
	err = rc.Control(func(fd uintptr) {
		for {
			n, _, errno = syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
				syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
			if errno != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
