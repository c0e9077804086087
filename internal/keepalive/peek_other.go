//go:build !unix

package keepalive

import "net"

// idlePeek cannot look at a connection without reading it here; the retry
// of a call that a stale connection failed covers a closed one.
func idlePeek(net.Conn) (stray []byte, open bool) { return nil, true }
