//go:build !linux

package chunked

import (
	"io"
	"net"
)

// autoSplice reports whether SpliceAuto means SpliceOn here: splice(2) is
// Linux's.
func autoSplice() bool { return false }

// spliceFrom never splices off Linux; ReadFrom copies.
func (s *Stream) spliceFrom(r io.Reader, buf []byte) (int64, bool, error) { return 0, false, nil }

// rawWriter writes through net.Buffers.WriteTo off Linux. Its zero value is
// ready.
type rawWriter struct{}

// writeBuffers writes bufs to conn, consuming what was written.
func (rawWriter) writeBuffers(conn net.Conn, bufs *net.Buffers) (int64, error) {
	return bufs.WriteTo(conn)
}
