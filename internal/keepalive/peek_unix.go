//go:build unix

package keepalive

import (
	"net"
	"syscall"

	"github.com/streamstrap/streamstrap/internal/rawio"
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
	var buf [64]byte
	n, err := rawio.Peek(sc, buf[:])
	switch {
	case err == syscall.EAGAIN:
		return nil, true
	case err != nil || n == 0: // an error, or the peer's FIN
		return nil, false
	}
	return buf[:n], false
}
