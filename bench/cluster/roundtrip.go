package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/stableset/sskit/harness/peer"
)

// IdleRoundTrips measures the round trip a decision is made of: a scripted peer in this process
// connects to the first node over QUIC, then sends count PINGs, one every gap, each answered by
// a PONG (MSG-1). The gap leaves both processes idle between PINGs, as the elders are idle when a
// join arrives; PINGs sent back to back would measure hot processes instead (about a quarter of
// the time on this kind of machine). The connection's handshake is not in any round trip.
func (c *Cluster) IdleRoundTrips(ctx context.Context, count int, gap time.Duration) ([]time.Duration, error) {
	target := c.first.QUIC()
	local := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if target.Addr().Is6() {
		local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	l, err := peer.Listen(peer.RandomIdentity(), local)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	conn, err := l.Dial(ctx, c.first.Name, target)
	if err != nil {
		return nil, fmt.Errorf("round trips: dial %s: %w", c.first.Label(), err)
	}
	payload := []byte("idle round trip")
	tick := time.NewTicker(gap)
	defer tick.Stop()
	rtts := make([]time.Duration, 0, count)
	for range count {
		select {
		case <-ctx.Done():
			return rtts, ctx.Err()
		case <-tick.C:
		}
		rtt, err := conn.Ping(ctx, payload)
		if err != nil {
			return rtts, fmt.Errorf("round trips: PING %s: %w", c.first.Label(), err)
		}
		rtts = append(rtts, rtt)
	}
	return rtts, nil
}
