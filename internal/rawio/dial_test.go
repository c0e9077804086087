//go:build linux

package rawio

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// listen returns a loopback listener on network ("tcp4" or "tcp6"), or
// skips when the machine has no such loopback.
func listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestDialTCP(t *testing.T) {
	for _, tt := range []struct{ network, addr string }{
		{"tcp4", "127.0.0.1:0"},
		{"tcp6", "[::1]:0"},
	} {
		t.Run(tt.network, func(t *testing.T) {
			ln := listen(t, tt.network, tt.addr)
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}()
			ap := netip.MustParseAddrPort(ln.Addr().String())
			c, err := DialTCP(context.Background(), ap)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			peer := <-accepted
			if peer == nil {
				t.Fatal("accept failed")
			}
			defer peer.Close()

			if got := c.RemoteAddr().String(); got != ln.Addr().String() {
				t.Errorf("RemoteAddr %s, want %s", got, ln.Addr())
			}
			if got, want := c.LocalAddr().String(), peer.RemoteAddr().String(); got != want {
				t.Errorf("LocalAddr %s, want the peer's view %s", got, want)
			}
			if _, ok := c.(io.ReaderFrom); ok {
				t.Error("the connection has a ReadFrom: io.Copy would bypass the socket's own writes")
			}
			nodelay := 0
			rc, err := c.(syscall.Conn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			_ = rc.Control(func(fd uintptr) {
				nodelay, _ = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
			})
			if nodelay == 0 {
				t.Error("TCP_NODELAY is not set")
			}

			// Both ways, through the poller: the raw reader waits for the
			// peer's bytes, and a read deadline is a timeout.
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("peer read %q, %v", buf, err)
			}
			go func() { time.Sleep(20 * time.Millisecond); peer.Write([]byte("pong")) }()
			if _, err := io.ReadFull(NewReader(c), buf); err != nil || string(buf) != "pong" {
				t.Fatalf("read %q, %v", buf, err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			_, err = c.Read(buf)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read past the deadline: %v, want a timeout", err)
			}
			_ = c.SetReadDeadline(time.Time{})

			// The peer's FIN is io.EOF; a closed connection is net.ErrClosed.
			peer.Close()
			if n, err := c.Read(buf); n != 0 || err != io.EOF {
				t.Errorf("read after the peer closed: %d, %v; want io.EOF", n, err)
			}
			c.Close()
			_, err = c.Write([]byte("x"))
			var oe *net.OpError
			if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) || oe.Op != "write" {
				t.Errorf("write after Close: %v, want a *net.OpError of net.ErrClosed", err)
			}
		})
	}
}

func TestDialTCPFailures(t *testing.T) {
	// A port nobody listens on: take one, then free it.
	ln := listen(t, "tcp4", "127.0.0.1:0")
	free := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()

	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()

	tests := []struct {
		name  string
		ctx   context.Context
		check func(error) bool
		want  string
	}{
		{"refused", context.Background(), func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) },
			"dial tcp " + free.String() + ": connect: connection refused"},
		{"deadline passed", expired, func(err error) bool {
			var ne net.Error
			return errors.As(err, &ne) && ne.Timeout()
		}, "i/o timeout"},
		{"canceled", canceled, func(err error) bool { return errors.Is(err, context.Canceled) }, "canceled"},
	}
	before := countSockets(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DialTCP(tt.ctx, free)
			if err == nil {
				c.Close()
				t.Fatal("dialled")
			}
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "dial" || !tt.check(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v (%T), want a dial *net.OpError containing %q", err, err, tt.want)
			}
		})
	}
	if after := countSockets(t); after != before {
		t.Errorf("sockets: %d before, %d after failed dials", before, after)
	}
}

func TestDialTCPWaitIsBounded(t *testing.T) {
	// A listener whose accept queue is full drops the next SYN, so that
	// connect stays in progress: the context's deadline, or its cancel,
	// ends the wait.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	full := false
	for range 8 { // backlog 0 holds one or two; a few more fill the SYN queue
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		c, err := DialTCP(ctx, ap)
		cancel()
		if err != nil {
			full = true
			break
		}
		held = append(held, c)
	}
	if !full {
		t.Skip("the accept queue never filled")
	}
	before := countSockets(t)
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := DialTCP(ctx, ap)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("dial into a full queue: %v, want a timeout", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(30*time.Millisecond, cancel)
		_, err := DialTCP(ctx, ap)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("dial into a full queue, cancelled: %v, want context.Canceled", err)
		}
	})
	if after := countSockets(t); after != before {
		t.Errorf("sockets: %d before, %d after the bounded dials", before, after)
	}
}

func TestStartTCP(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	ap := netip.MustParseAddrPort(ln.Addr().String())
	var served sync.WaitGroup
	served.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Go(func() { _, _ = io.Copy(c, c); c.Close() })
		}
	})
	before := countSockets(t) - 1 // the listener, closed before the count after

	// Finished later: the handshake ran meanwhile, and the connection
	// works; a second Finish is refused.
	p, err := StartTCP(ap)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	c, err := p.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Finish(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Finish: %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("echo")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "echo" {
		t.Fatalf("echo: %q, %v", buf, err)
	}
	c.Close()

	// Finished at once, given up unfinished, or closed after Finish
	// failed: no descriptor is left behind.
	for i := range 20 {
		p, err := StartTCP(ap)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			p.Close()
			p.Close() // twice is harmless
			continue
		}
		c, err := p.Finish(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	ln.Close()
	served.Wait()         // the peer's ends, closed at EOF
	p, err = StartTCP(ap) // refused: at once, or at Finish
	if err == nil {
		if _, err = p.Finish(context.Background()); err == nil {
			t.Fatal("a connect to a closed port succeeded")
		}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
	if after := countSockets(t); after != before {
		t.Errorf("sockets: %d before, %d after", before, after)
	}
}

// countSockets returns how many sockets this process has open: only sockets,
// since the runtime opens files of its own (cgroup limits) at any time.
func countSockets(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range entries {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}
