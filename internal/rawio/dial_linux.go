//go:build linux

package rawio

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// DialTCP connects to addr, a numeric address, as a net.Dialer with
// KeepAlive -1 does, in fewer system calls: StartTCP, then Finish. ctx
// bounds the wait and cancels it.
//
// The connection is a net.Conn whose descriptor rawio, MSG_PEEK and splice
// reach through syscall.Conn. Its errors are shaped as net's: a failed dial
// is a *net.OpError "dial tcp ADDR: connect: ...". An address with an IPv6
// zone is dialled by net.
func DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	if addr.Addr().Zone() != "" {
		return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, "tcp", addr.String())
	}
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(addr), Err: ctxError(err)}
	}
	p, err := StartTCP(addr)
	if err != nil {
		return nil, err
	}
	return p.Finish(ctx)
}

// PendingTCP is a connect that StartTCP began and Finish ends: the
// handshake runs meanwhile, so that a connection dialled ahead of its use
// costs no wait (and no sleep and wake of the thread) until it is needed.
type PendingTCP struct {
	c      *tcpConn
	sa     [syscall.SizeofSockaddrInet6]byte
	salen  uintptr
	done   bool          // connect(2) said 0: connected
	failed syscall.Errno // Ready saw the connect fail; Finish reports it
	closed bool          // Finish or Close gave the descriptor up
}

// StartTCP begins a connect to addr, a numeric address without an IPv6
// zone, and returns without waiting for it: a raw socket(2), setsockopt(2)
// (TCP_NODELAY, as net sets it) and a non-blocking connect(2), the
// descriptor then registered with the runtime's poller. Its error is a
// refusal known at once (*net.OpError, as DialTCP's).
func StartTCP(addr netip.AddrPort) (*PendingTCP, error) {
	raddr := net.TCPAddrFromAddrPort(addr)
	if addr.Addr().Zone() != "" {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: errors.New("rawio: an IPv6 zone needs net's dial")}
	}
	p := &PendingTCP{}
	var family int
	p.sa, p.salen, family = sockaddr(addr)
	r, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, uintptr(family),
		syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if e != 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: os.NewSyscallError("socket", e)}
	}
	fd := int(r)
	one := int32(1)
	_, _, _ = syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY,
		uintptr(unsafe.Pointer(&one)), unsafe.Sizeof(one), 0)
	switch e = connect(fd, &p.sa, p.salen); e {
	case 0:
		p.done = true
	case syscall.EINPROGRESS, syscall.EALREADY:
	default:
		_, _, _ = syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: os.NewSyscallError("connect", e)}
	}
	// A non-blocking descriptor: os.NewFile registers it with the poller.
	p.c = &tcpConn{f: os.NewFile(uintptr(fd), "tcp"), raddr: raddr}
	return p, nil
}

// Finish waits, within ctx, for the connect to end and returns the
// connection; on failure the descriptor is closed. Once the socket is
// writable, connect(2) again returns 0 (connected), EISCONN (connected and
// already reported) or the error that ended the attempt, so no SO_ERROR,
// getpeername or getsockname is needed. Call it once, or Close instead.
func (p *PendingTCP) Finish(ctx context.Context) (net.Conn, error) {
	if p.closed {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: p.c.raddr, Err: net.ErrClosed}
	}
	p.closed = true
	if p.done {
		return p.c, nil
	}
	if p.failed != 0 {
		_ = p.c.f.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: p.c.raddr, Err: os.NewSyscallError("connect", p.failed)}
	}
	if err := p.c.finishConnect(ctx, &p.sa, p.salen); err != nil {
		_ = p.c.f.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: p.c.raddr, Err: err}
	}
	return p.c, nil
}

// Ready reports, without waiting, whether the connect has ended, so that
// Finish returns at once: it asks connect(2) once more (see Finish). On
// loopback the handshake is normally over by the time connect(2) returns.
func (p *PendingTCP) Ready() bool {
	if p.closed || p.done || p.failed != 0 {
		return true
	}
	rc, err := p.c.f.SyscallConn()
	if err != nil {
		return false
	}
	var e syscall.Errno
	if rc.Control(func(fd uintptr) { e = connect(int(fd), &p.sa, p.salen) }) != nil {
		return false
	}
	switch e {
	case 0, syscall.EISCONN:
		p.done = true
	case syscall.EALREADY, syscall.EINPROGRESS:
		return false
	default:
		p.failed = e
	}
	return true
}

// Close gives up a connect that Finish did not take.
func (p *PendingTCP) Close() {
	if !p.closed {
		p.closed = true
		_ = p.c.f.Close()
	}
}

// connect calls connect(2) raw, again on EINTR.
func connect(fd int, sa *[syscall.SizeofSockaddrInet6]byte, salen uintptr) syscall.Errno {
	for {
		_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(sa)), salen)
		if e != syscall.EINTR {
			return e
		}
	}
}

// finishConnect waits for a connect in progress to end (see Finish). It
// asks once before arming anything: dialled ahead, the handshake is
// normally over.
func (c *tcpConn) finishConnect(ctx context.Context, sa *[syscall.SizeofSockaddrInet6]byte, salen uintptr) error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var result syscall.Errno
	step := func(fd uintptr) bool {
		switch e := connect(int(fd), sa, salen); e {
		case syscall.EALREADY, syscall.EINPROGRESS:
			return false // still in progress: wait for writability
		case syscall.EISCONN:
			result = 0
		default:
			result = e
		}
		return true
	}
	over := false
	if err := rc.Control(func(fd uintptr) { over = step(fd) }); err != nil {
		return err
	}
	if !over {
		if d, ok := ctx.Deadline(); ok {
			_ = c.f.SetWriteDeadline(d)
		}
		stop := context.AfterFunc(ctx, func() { _ = c.f.SetWriteDeadline(time.Unix(1, 0)) })
		err = rc.Write(step)
		if !stop() || errors.Is(err, os.ErrDeadlineExceeded) {
			if cerr := ctx.Err(); cerr != nil {
				return ctxError(cerr)
			}
		}
		if err != nil {
			return err
		}
		if err := c.f.SetWriteDeadline(time.Time{}); err != nil {
			return err
		}
	}
	if result != 0 {
		return os.NewSyscallError("connect", result)
	}
	return nil
}

// ctxError is what a dial ended by its context fails with, as net's: a
// timeout ("i/o timeout") for a deadline, the context's error otherwise.
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return os.ErrDeadlineExceeded
	}
	return err
}

// sockaddr returns addr as a raw sockaddr_in or sockaddr_in6, its length
// and its address family.
func sockaddr(addr netip.AddrPort) (sa [syscall.SizeofSockaddrInet6]byte, n uintptr, family int) {
	port := addr.Port()
	ip := addr.Addr().Unmap()
	if ip.Is4() {
		raw := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&sa))
		raw.Family = syscall.AF_INET
		raw.Port = port>>8 | port<<8 // network byte order
		raw.Addr = ip.As4()
		return sa, syscall.SizeofSockaddrInet4, syscall.AF_INET
	}
	raw := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&sa))
	raw.Family = syscall.AF_INET6
	raw.Port = port>>8 | port<<8
	raw.Addr = ip.As16()
	return sa, syscall.SizeofSockaddrInet6, syscall.AF_INET6
}

// tcpConn is DialTCP's connection: an *os.File of a connected socket, its
// errors re-shaped as net's. It is not an *os.File itself, so that io.Copy
// cannot reach os.File's ReadFrom and its file-to-file fast paths.
type tcpConn struct {
	f     *os.File
	raddr *net.TCPAddr
}

func (c *tcpConn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	return n, c.opError("read", err)
}

func (c *tcpConn) Write(b []byte) (int, error) {
	n, err := c.f.Write(b)
	return n, c.opError("write", err)
}

func (c *tcpConn) Close() error { return c.opError("close", c.f.Close()) }

// LocalAddr asks the kernel (getsockname) each time: nothing on the hot path
// needs it, only errors do.
func (c *tcpConn) LocalAddr() net.Addr {
	var la *net.TCPAddr
	if rc, err := c.f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			switch sa, _ := syscall.Getsockname(int(fd)); sa := sa.(type) {
			case *syscall.SockaddrInet4:
				la = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
			case *syscall.SockaddrInet6:
				la = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
			}
		})
	}
	if la == nil {
		return &net.TCPAddr{}
	}
	return la
}

func (c *tcpConn) RemoteAddr() net.Addr               { return c.raddr }
func (c *tcpConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *tcpConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *tcpConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// SyscallConn gives the socket's descriptor to raw callers.
func (c *tcpConn) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }

// opError re-shapes an os.File error as net.Conn's: a *net.OpError naming
// the operation, both ends and the system call, with net.ErrClosed for a
// closed connection. io.EOF and nil pass through.
func (c *tcpConn) opError(op string, err error) error {
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return err
	}
	inner := pe.Err
	switch {
	case errors.Is(inner, os.ErrClosed):
		inner = net.ErrClosed
	case errors.Is(inner, os.ErrDeadlineExceeded):
	default:
		if errno, ok := inner.(syscall.Errno); ok {
			inner = os.NewSyscallError(op, errno)
		}
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.raddr, Err: inner}
}
