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

// PendingTCP is a dial that StartTCP began; off Linux StartTCP only
// records the address and Finish dials.
type PendingTCP struct {
	addr   netip.AddrPort
	closed bool
}

// StartTCP records addr for Finish.
func StartTCP(addr netip.AddrPort) (*PendingTCP, error) { return &PendingTCP{addr: addr}, nil }

// Finish dials with a net.Dialer.
func (p *PendingTCP) Finish(ctx context.Context) (net.Conn, error) {
	if p.closed {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(p.addr), Err: net.ErrClosed}
	}
	p.closed = true
	return DialTCP(ctx, p.addr)
}

// Ready reports false: off Linux, Finish does the whole dial.
func (p *PendingTCP) Ready() bool { return p.closed }

// Close gives the dial up.
func (p *PendingTCP) Close() { p.closed = true }
