// Command rawloop is the lowest Runtime API floor of the benchmark: the work
// of barecopy (GET /next on a kept connection, the handler with the event on
// stdin, its stdout streamed chunked to POST /response on a new connection,
// one chunk per read) done without the Go scheduler on the hot path. It runs
// one goroutine on GOMAXPROCS 1 and makes every per-invocation system call
// with syscall.RawSyscall, which, unlike syscall.Syscall (and so os and
// net), never enters the scheduler's syscall state and so never wakes its
// sysmon thread: that and the context switches it costs are what this floor
// takes away. The response head goes out with the first chunk, as
// streamstrap sends it. A handler that exits non-zero gets the error
// trailers (where a full bootstrap would send a failure before any output
// to /error instead). No logging, no limits: any other failure ends the
// process.
//
//	rawloop handler [args...]
package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

const base = "/2018-06-01/runtime/invocation/"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rawloop handler [args...]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	if err := run(os.Getenv("AWS_LAMBDA_RUNTIME_API"), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "rawloop:", err)
		os.Exit(1)
	}
}

// loop is the state one invocation reuses from the last: buffers, the
// kept /next connection and the epoll descriptor.
type loop struct {
	addr   string
	sa     []byte // the raw sockaddr of addr
	path   string // the handler, looked up once
	argv   []string
	attr   syscall.ProcAttr
	pidfd  int
	ep     int
	next   conn
	out    []byte // one read of the handler's stdout
	ev     []byte // the event
	head   []byte // the POST head
	size   []byte
	failed string // the last chunk with error trailers, for a failed handler
}

func run(addr string, argv []string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("AWS_LAMBDA_RUNTIME_API: %w", err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	body := base64.StdEncoding.EncodeToString([]byte(`{"errorType":"Runtime.ExitError","errorMessage":"handler failed"}`))
	l := &loop{addr: addr, sa: sockaddr(ap), path: path, argv: argv, out: make([]byte, 256<<10),
		failed: "0\r\nLambda-Runtime-Function-Error-Type: Runtime.ExitError\r\nLambda-Runtime-Function-Error-Body: " + body + "\r\n\r\n"}
	l.attr = syscall.ProcAttr{Env: os.Environ(), Sys: &syscall.SysProcAttr{PidFD: &l.pidfd}}
	r, _, e := syscall.RawSyscall(syscall.SYS_EPOLL_CREATE1, syscall.EPOLL_CLOEXEC, 0, 0)
	if e != 0 {
		return os.NewSyscallError("epoll_create1", e)
	}
	l.ep = int(r)
	if l.next.fd, err = l.dial(); err != nil {
		return err
	}
	l.next.buf = make([]byte, 64<<10)
	nextReq := []byte("GET " + base + "next HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	for {
		if err := writeAll(l.next.fd, nextReq); err != nil {
			return err
		}
		status, id, n, err := l.next.readHead()
		if err != nil || status != 200 || len(id) == 0 {
			return fmt.Errorf("/next: status %d, request id %q: %v", status, id, err)
		}
		l.head = append(append(append(l.head[:0], "POST "+base...), id...), "/response HTTP/1.1\r\nHost: "+addr+
			"\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"+
			"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"...)
		if l.ev, err = l.next.body(l.ev[:0], n); err != nil {
			return err
		}
		if err := l.invoke(); err != nil {
			return err
		}
	}
}

// invoke runs the handler on l.ev and streams its stdout to /response.
func (l *loop) invoke() error {
	var in, out [2]int32
	for _, p := range []*[2]int32{&in, &out} {
		if _, err := sys("pipe2", syscall.SYS_PIPE2, uintptr(unsafe.Pointer(p)), syscall.O_CLOEXEC, 0, 0, 0, 0); err != nil {
			return err
		}
	}
	inW, outR := int(in[1]), int(out[0])
	for _, fd := range []int{inW, outR} {
		if _, err := sys("fcntl", syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFL, syscall.O_NONBLOCK, 0, 0, 0); err != nil {
			return err
		}
	}
	// The one part that is not raw: ForkExec enters the scheduler's
	// syscall state around the clone and the read of the child's exec
	// status.
	l.attr.Files = []uintptr{uintptr(in[0]), uintptr(out[1]), 2}
	pid, err := syscall.ForkExec(l.path, l.argv, &l.attr)
	closeFD(int(in[0]))
	closeFD(int(out[1]))
	if err != nil {
		return fmt.Errorf("starting %s: %w", l.path, err)
	}
	if l.pidfd < 0 {
		return errors.New("no pidfd: the kernel lacks CLONE_PIDFD")
	}
	c, err := l.dial()
	if err != nil {
		return err
	}
	// Descriptors leave the epoll set as they are closed (the child's
	// copies closed at exec), so none is deleted from it.
	ev, sent, outOpen, exited, ok := l.ev, false, true, false, false
	for _, w := range []struct {
		fd     int
		events uint32
	}{{inW, syscall.EPOLLOUT}, {outR, syscall.EPOLLIN}, {l.pidfd, syscall.EPOLLIN}} {
		e := syscall.EpollEvent{Events: w.events, Fd: int32(w.fd)}
		if _, err := sys("epoll_ctl", syscall.SYS_EPOLL_CTL, uintptr(l.ep), syscall.EPOLL_CTL_ADD, uintptr(w.fd), uintptr(unsafe.Pointer(&e)), 0, 0); err != nil {
			return err
		}
	}
	var events [3]syscall.EpollEvent
	for outOpen || !exited {
		n, err := sys("epoll_pwait", syscall.SYS_EPOLL_PWAIT, uintptr(l.ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
		if err != nil {
			return err
		}
		for _, e := range events[:n] {
			switch int(e.Fd) {
			case inW:
				// The handler may exit without reading: EPIPE ends the
				// event, it is not ours to report.
				k, err := write(inW, ev)
				if errors.Is(err, syscall.EAGAIN) {
					continue
				}
				if err != nil {
					k = len(ev)
				}
				if ev = ev[k:]; len(ev) == 0 {
					closeFD(inW)
				}
			case outR:
				k, err := read(outR, l.out)
				if errors.Is(err, syscall.EAGAIN) {
					continue
				}
				if err != nil {
					return err
				}
				if k == 0 {
					closeFD(outR)
					outOpen = false
					continue
				}
				l.size = append(strconv.AppendInt(l.size[:0], int64(k), 16), '\r', '\n')
				if sent {
					err = writeAll(c, l.size, l.out[:k], crlf)
				} else {
					err = writeAll(c, l.head, l.size, l.out[:k], crlf)
				}
				if err != nil {
					return err
				}
				sent = true
			case l.pidfd:
				var ws syscall.WaitStatus
				r, err := sys("wait4", syscall.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(&ws)), syscall.WNOHANG, 0, 0, 0)
				if err != nil {
					return err
				}
				if int(r) == pid {
					exited, ok = true, ws.Exited() && ws.ExitStatus() == 0
					closeFD(l.pidfd)
				}
			}
		}
	}
	if len(ev) > 0 {
		closeFD(inW) // the handler exited with its stdin unread
	}
	last := []byte("0\r\n\r\n")
	if !ok {
		last = []byte(l.failed)
	}
	if sent {
		err = writeAll(c, last)
	} else {
		err = writeAll(c, l.head, last)
	}
	if err != nil {
		return err
	}
	resp := conn{fd: c, buf: l.out}
	status, _, n, err := resp.readHead()
	if err == nil {
		_, err = resp.body(l.ev[:0], n) // the event is no longer needed
	}
	closeFD(c)
	if err != nil || status != 202 {
		return fmt.Errorf("/response: status %d: %v", status, err)
	}
	return nil
}

var crlf = []byte("\r\n")

// dial connects a blocking TCP socket to the Runtime API, Nagle off as Go's
// net has it.
func (l *loop) dial() (int, error) {
	family := syscall.AF_INET
	if len(l.sa) == syscall.SizeofSockaddrInet6 {
		family = syscall.AF_INET6
	}
	fd, err := sys("socket", syscall.SYS_SOCKET, uintptr(family), syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0, 0, 0, 0)
	if err != nil {
		return -1, err
	}
	one := int32(1)
	if _, err := sys("setsockopt", syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, uintptr(unsafe.Pointer(&one)), 4, 0); err != nil {
		return -1, err
	}
	if _, err := sys("connect", syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&l.sa[0])), uintptr(len(l.sa)), 0, 0, 0); err != nil {
		return -1, fmt.Errorf("connect %s: %w", l.addr, err)
	}
	return int(fd), nil
}

// sockaddr is ap as the kernel's sockaddr_in or sockaddr_in6.
func sockaddr(ap netip.AddrPort) []byte {
	port := [2]byte{byte(ap.Port() >> 8), byte(ap.Port())} // network byte order
	if ap.Addr().Is4() {
		sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ap.Addr().As4()}
		sa.Port = *(*uint16)(unsafe.Pointer(&port))
		return append([]byte(nil), (*[syscall.SizeofSockaddrInet4]byte)(unsafe.Pointer(&sa))[:]...)
	}
	sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ap.Addr().As16()}
	sa.Port = *(*uint16)(unsafe.Pointer(&port))
	return append([]byte(nil), (*[syscall.SizeofSockaddrInet6]byte)(unsafe.Pointer(&sa))[:]...)
}

// conn reads HTTP/1.1 responses from a blocking socket: buf[start:end] is
// read and not yet used.
type conn struct {
	fd         int
	buf        []byte
	start, end int
}

// readHead reads a response head and returns its status, request id and
// Content-Length (-1 when absent); the id is valid until the next read.
func (c *conn) readHead() (status int, id []byte, length int, err error) {
	for {
		if i := bytes.Index(c.buf[c.start:c.end], []byte("\r\n\r\n")); i >= 0 {
			head := c.buf[c.start : c.start+i]
			c.start += i + 4
			line, rest, _ := bytes.Cut(head, crlf)
			if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
				return 0, nil, 0, fmt.Errorf("bad status line %q", line)
			}
			if status, err = strconv.Atoi(string(line[9:12])); err != nil {
				return 0, nil, 0, fmt.Errorf("bad status line %q", line)
			}
			length = -1
			for len(rest) > 0 {
				line, rest, _ = bytes.Cut(rest, crlf)
				k, v, _ := bytes.Cut(line, []byte(":"))
				v = bytes.TrimSpace(v)
				switch {
				case bytes.EqualFold(k, []byte("Lambda-Runtime-Aws-Request-Id")):
					id = v
				case bytes.EqualFold(k, []byte("Content-Length")):
					if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
						return 0, nil, 0, fmt.Errorf("bad Content-Length %q", v)
					}
				}
			}
			return status, id, length, nil
		}
		if c.start > 0 { // make room at the end
			c.end = copy(c.buf, c.buf[c.start:c.end])
			c.start = 0
		}
		if c.end == len(c.buf) {
			return 0, nil, 0, errors.New("response head too large")
		}
		n, err := read(c.fd, c.buf[c.end:])
		if err == nil && n == 0 {
			err = errors.New("connection closed")
		}
		if err != nil {
			return 0, nil, 0, err
		}
		c.end += n
	}
}

// body appends the n body bytes (none if n < 0) that follow the head to dst.
func (c *conn) body(dst []byte, n int) ([]byte, error) {
	k := min(max(n, 0), c.end-c.start)
	dst = append(dst, c.buf[c.start:c.start+k]...)
	c.start += k
	if len(dst) < n {
		dst = append(dst, make([]byte, n-len(dst))...)
		for have := k; have < n; {
			m, err := read(c.fd, dst[have:])
			if err == nil && m == 0 {
				err = errors.New("connection closed in the body")
			}
			if err != nil {
				return nil, err
			}
			have += m
		}
	}
	return dst, nil
}

// sys makes a raw system call, again while it is interrupted (Go's signal
// handlers are SA_RESTART, but epoll_pwait is never restarted). Its pointer
// arguments are on the heap (uintptrescapes), so a stack that grows on the
// way in cannot move them.
//
//go:uintptrescapes
func sys(name string, trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, error) {
	for {
		r, _, e := syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return r, os.NewSyscallError(name, e)
		}
		return r, nil
	}
}

func read(fd int, b []byte) (int, error) {
	n, err := sys("read", syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
	return int(n), err
}

func write(fd int, b []byte) (int, error) {
	n, err := sys("write", syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
	return int(n), err
}

// writeAll writes bufs to the blocking socket fd with writev, again after a
// short write.
func writeAll(fd int, bufs ...[]byte) error {
	var iov [4]syscall.Iovec
	for len(bufs) > 0 {
		k := 0
		for _, b := range bufs[:min(len(bufs), len(iov))] {
			if len(b) > 0 {
				iov[k] = syscall.Iovec{Base: &b[0]}
				iov[k].SetLen(len(b))
				k++
			}
		}
		n, err := sys("writev", syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(k), 0, 0, 0)
		if err != nil {
			return err
		}
		for len(bufs) > 0 && int(n) >= len(bufs[0]) {
			n -= uintptr(len(bufs[0]))
			bufs = bufs[1:]
		}
		if len(bufs) > 0 {
			bufs[0] = bufs[0][n:]
		}
	}
	return nil
}

func closeFD(fd int) { syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }
