//go:build !linux

package rawio

import (
	"net"
	"os"
	"syscall"
)

// raw has no raw path off Linux.
type raw struct {
	ok   bool
	file *os.File
	conn net.Conn
}

func (r *raw) init(any) {}

func (r *raw) read([]byte) (int, error) { panic("rawio: no raw read off Linux") }

func (r *raw) writev(*net.Buffers) (int64, error) { panic("rawio: no raw writev off Linux") }

// Peek looks at what a socket holds without waiting or taking it (see the
// Linux version), through syscall.Recvfrom.
func Peek(c syscall.Conn, b []byte) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		n    int
		perr error
	)
	err = rc.Control(func(fd uintptr) {
		for {
			n, _, perr = syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if perr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return n, perr
}
