//go:build !linux

package rawio

import (
	"context"
	"net"
	"net/netip"
)

// DialTCP connects to addr with a net.Dialer (KeepAlive -1): the raw dial
// is Linux's.
func DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, "tcp", addr.String())
}
