//go:build unix

package keepalive

import (
	"net"
	"syscall"
)

// idlePeek looks at an idle connection without waiting: what the peer sent
// unasked (at most 64 bytes, left unread), and whether the connection is
// still open. A deadline cannot do this: Go fails a read whose deadline
// has passed before trying it.
func idlePeek(nc net.Conn) (stray []byte, open bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var buf [64]byte
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return nil, false
	}
	switch {
	case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK:
		return nil, true
	case rerr != nil || n == 0: // an error, or the peer's FIN
		return nil, false
	}
	return buf[:n], false
}
