//go:build linux

package chunked

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// Flags of splice(2) not in package syscall.
const (
	spliceMove     = 0x1 // SPLICE_F_MOVE: move pages instead of copying, where the kernel can
	spliceNonblock = 0x2 // SPLICE_F_NONBLOCK: never sleep on the pipe
	spliceMore     = 0x4 // SPLICE_F_MORE: more data follows (the chunk's CRLF)
	msgMore        = 0x8000
)

// autoSplice reports whether SpliceAuto means SpliceOn here. It does not:
// measured end to end against the Runtime API on loopback (BENCHMARKS.md,
// "splice(2)"), splice cost the bootstrap more CPU per GB than the copy
// under a 128 MB function's CPU share, and streamed slower; idle it did not
// win beyond the noise either. The
// copies it saves are cheap next to loopback TCP's delivery, which runs in
// the sender while splice holds the pipe's lock against the handler.
func autoSplice() bool { return false }

// errNoSplice says that this stream cannot splice, before anything of the
// current chunk was sent: the caller copies instead.
var errNoSplice = errors.New("chunked: splice not possible")

// spliceFrom is ReadFrom by splice(2). Each chunk is what the pipe holds
// when it becomes readable (as one read would return): its size line is
// sent with MSG_MORE, its bytes are spliced from the pipe to the socket, and
// its CRLF ends it, so head, data and CRLF leave in as few segments as a
// copied chunk. ok is false if nothing was sent and r or the connection
// cannot be spliced; the caller then copies.
//
// r is read through its syscall.RawConn only while that works. When the
// raw read fails (the reader stopped offering its descriptor, a read
// deadline passed) the rest is read with r.Read, which has the last word on
// how the stream ends.
func (s *Stream) spliceFrom(r io.Reader, buf []byte) (total int64, ok bool, err error) {
	rsc, isConn := r.(syscall.Conn)
	wsc, isSock := s.conn.(syscall.Conn)
	if !isConn || !isSock {
		return 0, false, nil
	}
	src, err := rsc.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	dst, err := wsc.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	for {
		ready, n, rerr := readyBytes(src, buf)
		if n > 0 {
			// Data came between the size query and the probing read: it is
			// in buf, and goes as an ordinary chunk.
			if _, werr := s.Write(buf[:n]); werr != nil {
				return total, true, werr
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, true, nil
		}
		if rerr != nil {
			// The raw path is closed to us: the reader's own Read knows
			// what to do (drain what is left, report its end or error).
			n, err := s.copyFrom(r, buf)
			return total + n, true, err
		}
		if ready == 0 {
			continue
		}
		sent, err := s.spliceChunk(src, dst, ready)
		total += sent
		if errors.Is(err, errNoSplice) {
			if total == 0 {
				return 0, false, nil
			}
			n, err := s.copyFrom(r, buf)
			return total + n, true, err
		}
		if err != nil {
			return total, true, err
		}
	}
}

// readyBytes waits until the pipe is readable and returns how many bytes it
// holds. At EOF, or when bytes arrive between the query and the check for
// EOF, a plain read reports it: n bytes in buf and rerr as Read would.
func readyBytes(src syscall.RawConn, buf []byte) (ready, n int, rerr error) {
	err := src.Read(func(fd uintptr) bool {
		for {
			var k int32
			_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&k)))
			if e == syscall.EINTR {
				continue
			}
			if e != 0 {
				rerr = os.NewSyscallError("ioctl FIONREAD", e)
				return true
			}
			if k > 0 {
				ready = int(k)
				return true
			}
			// Empty: a read tells an idle pipe (EAGAIN, so wait) from one
			// whose writers are gone (0, EOF).
			m, e2 := syscall.Read(int(fd), buf)
			switch {
			case e2 == syscall.EINTR:
				continue
			case e2 == syscall.EAGAIN:
				return false
			case e2 != nil:
				rerr = os.NewSyscallError("read", e2)
			case m == 0:
				rerr = io.EOF
			default:
				n = m
			}
			return true
		}
	})
	if err != nil && rerr == nil {
		rerr = err
	}
	return ready, n, rerr
}

// spliceChunk sends one chunk of size bytes that the pipe holds. It
// returns errNoSplice if the kernel refused the first splice before any of
// the chunk's data moved; the chunk's size line has been sent then, so the
// same bytes are copied to complete it.
func (s *Stream) spliceChunk(src, dst syscall.RawConn, size int) (int64, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	n := len(strconv.AppendInt(s.sizeLine[:0], int64(size), 16))
	s.sizeLine[n] = '\r'
	s.sizeLine[n+1] = '\n'
	line := s.sizeLine[:n+2]
	if s.head != nil {
		// The first chunk: head and size line leave together.
		s.bufs = append(s.bufArr[:0], s.head, line)
		if err := s.writeBufs(); err != nil {
			return 0, err
		}
	} else if err := s.sendMore(dst, line); err != nil {
		return 0, err
	}
	left := size
	var serr error
	for left > 0 {
		moved, err := s.spliceOnce(src, dst, left)
		left -= moved
		s.spliced += int64(moved)
		if err != nil {
			serr = err
			break
		}
	}
	if serr != nil {
		if !errors.Is(serr, errNoSplice) || left != size {
			return int64(size - left), serr
		}
		// Nothing of this chunk moved: copy it, then stop splicing.
		if err := s.copyExactly(src, left); err != nil {
			return 0, err
		}
		left = 0
	}
	s.bufs = append(s.bufArr[:0], crlf)
	if err := s.writeBufs(); err != nil {
		return int64(size), err
	}
	s.written += int64(size)
	if serr != nil {
		return int64(size), errNoSplice
	}
	return int64(size), nil
}

// sendMore writes p with MSG_MORE, so it waits in the socket for the data
// that follows it instead of leaving as a segment of its own.
func (s *Stream) sendMore(dst syscall.RawConn, p []byte) error {
	for len(p) > 0 {
		var (
			n    int
			serr error
		)
		if err := s.armWrite(); err != nil {
			return err
		}
		err := dst.Write(func(fd uintptr) bool {
			for {
				n, serr = syscall.SendmsgN(int(fd), p, nil, nil, msgMore)
				switch serr {
				case syscall.EINTR:
					continue
				case syscall.EAGAIN:
					return false
				}
				return true
			}
		})
		if serr != nil {
			err = os.NewSyscallError("sendmsg", serr)
		}
		if err != nil {
			return s.writeFailed(n > 0, err)
		}
		p = p[n:]
	}
	return nil
}

// spliceOnce moves up to left bytes from the pipe to the socket, waiting
// for room in the socket, and returns how many moved. EINVAL or ENOSYS
// with nothing moved is errNoSplice.
func (s *Stream) spliceOnce(src, dst syscall.RawConn, left int) (int, error) {
	if err := s.armWrite(); err != nil {
		return 0, err
	}
	var (
		moved int
		serr  error
	)
	cerr := src.Control(func(rfd uintptr) {
		err := dst.Write(func(wfd uintptr) bool {
			for {
				m, e := syscall.Splice(int(rfd), nil, int(wfd), nil, left, spliceMove|spliceMore|spliceNonblock)
				switch e {
				case syscall.EINTR:
					continue
				case syscall.EAGAIN:
					if moved > 0 {
						return true
					}
					return false
				case nil:
					moved += int(m)
					left -= int(m)
					if left > 0 && m > 0 {
						continue
					}
				default:
					serr = e
				}
				return true
			}
		})
		if err != nil && serr == nil {
			serr = err
		}
	})
	if cerr != nil && serr == nil {
		serr = cerr
	}
	if serr == nil {
		if moved == 0 {
			// The pipe said it held the bytes: only a vanished writer of
			// a pipe we alone read could empty it, which cannot happen.
			return 0, fmt.Errorf("chunked: splice: the pipe ran dry")
		}
		return moved, nil
	}
	if moved == 0 && (serr == syscall.EINVAL || serr == syscall.ENOSYS) {
		return 0, errNoSplice
	}
	var errno syscall.Errno
	if errors.As(serr, &errno) {
		serr = os.NewSyscallError("splice", errno)
	}
	return moved, s.writeFailed(moved > 0, serr)
}

// copyExactly reads exactly size bytes from the pipe and writes them, the
// body of a chunk whose size line is already sent.
func (s *Stream) copyExactly(src syscall.RawConn, size int) error {
	buf := make([]byte, min(size, CopyBufferSize))
	for size > 0 {
		var (
			n    int
			rerr error
		)
		err := src.Read(func(fd uintptr) bool {
			for {
				n, rerr = syscall.Read(int(fd), buf[:min(size, len(buf))])
				switch rerr {
				case syscall.EINTR:
					continue
				case syscall.EAGAIN:
					return false
				}
				return true
			}
		})
		if err == nil && rerr != nil {
			err = os.NewSyscallError("read", rerr)
		}
		if err == nil && n == 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("chunked: reading body: %w", err)
		}
		s.bufs = append(s.bufArr[:0], buf[:n])
		if err := s.writeBufs(); err != nil {
			return err
		}
		size -= n
	}
	return nil
}
