package memberlistcmp

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Loopback is the only address the nodes listen on and the only one a CountingTransport lets
// them send to.
const Loopback = "127.0.0.1"

// Counter counts what the nodes of a cluster send: UDP packets (with their bytes) and TCP
// streams opened. One Counter is shared by all transports of a cluster. It is safe for
// concurrent use.
type Counter struct {
	packets, packetBytes, streams, refused atomic.Int64
}

// Counts is a snapshot of a Counter, or the difference of two snapshots.
type Counts struct {
	// Packets is the UDP packets written (WriteTo, WriteToAddress): probes, acks, gossip, and
	// everything memberlist piggybacks on them. A compound packet counts once.
	Packets int64
	// PacketBytes is the bytes of those packets, as handed to the socket.
	PacketBytes int64
	// Streams is the TCP connections dialed (DialTimeout, DialAddressTimeout): push/pull state
	// exchanges (a join is one) and fallback TCP probes. The request and the answer on one
	// stream count once.
	Streams int64
	// Refused is the packets and streams the transport refused to send because they were not
	// addressed to Loopback. It should stay 0; nothing refused is in Packets or Streams.
	Refused int64
}

// Snapshot returns the current counts.
func (c *Counter) Snapshot() Counts {
	return Counts{
		Packets:     c.packets.Load(),
		PacketBytes: c.packetBytes.Load(),
		Streams:     c.streams.Load(),
		Refused:     c.refused.Load(),
	}
}

// Sub returns s - o.
func (s Counts) Sub(o Counts) Counts {
	return Counts{
		Packets:     s.Packets - o.Packets,
		PacketBytes: s.PacketBytes - o.PacketBytes,
		Streams:     s.Streams - o.Streams,
		Refused:     s.Refused - o.Refused,
	}
}

// Add returns s + o: what two nodes, each with its own Counter, sent together.
func (s Counts) Add(o Counts) Counts {
	return Counts{
		Packets:     s.Packets + o.Packets,
		PacketBytes: s.PacketBytes + o.PacketBytes,
		Streams:     s.Streams + o.Streams,
		Refused:     s.Refused + o.Refused,
	}
}

// Messages returns packets plus streams: what the benchmark reports as gossip-frames.
func (s Counts) Messages() int64 { return s.Packets + s.Streams }

// errNotLoopback is returned for a packet or stream to an address other than Loopback.
var errNotLoopback = errors.New("memberlistcmp: refusing to send outside " + Loopback)

// CountingTransport wraps a memberlist.NetTransport and counts every packet and stream the node
// sends in a Counter. It wraps the NetTransport rather than embedding it, so that no send method
// of the NetTransport is reachable without being counted.
type CountingTransport struct {
	inner *memberlist.NetTransport
	c     *Counter
}

// NodeAwareTransport is what memberlist sends through; a plain Transport would get a shim that
// calls WriteTo and DialTimeout, and a debug log line saying so.
var _ memberlist.NodeAwareTransport = (*CountingTransport)(nil)

// NewCountingTransport listens on Loopback, a free port for both UDP and TCP, and counts into c.
func NewCountingTransport(c *Counter) (*CountingTransport, error) {
	conf := &memberlist.NetTransportConfig{
		BindAddrs: []string{Loopback},
		Logger:    log.New(io.Discard, "", 0),
	}
	// The kernel picks the TCP port; the UDP port must then be the same one, which another
	// process may hold. memberlist retries this for its own transport, so do we.
	var err error
	for range 10 {
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(conf); err == nil {
			return &CountingTransport{inner: nt, c: c}, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("memberlistcmp: listen on %s: %w", Loopback, err)
}

// Port returns the port the transport listens on (UDP and TCP).
func (t *CountingTransport) Port() int { return t.inner.GetAutoBindPort() }

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host == Loopback
}

// FinalAdvertiseAddr implements memberlist.Transport.
func (t *CountingTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

// WriteTo implements memberlist.Transport.
func (t *CountingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport. It counts one packet and its bytes.
func (t *CountingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if !isLoopback(a.Addr) {
		t.c.refused.Add(1)
		return time.Time{}, fmt.Errorf("%w: packet to %s", errNotLoopback, a.Addr)
	}
	t.c.packets.Add(1)
	t.c.packetBytes.Add(int64(len(b)))
	return t.inner.WriteToAddress(b, a)
}

// PacketCh implements memberlist.Transport.
func (t *CountingTransport) PacketCh() <-chan *memberlist.Packet { return t.inner.PacketCh() }

// DialTimeout implements memberlist.Transport.
func (t *CountingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport. It counts one stream, whether or
// not the dial succeeds: the attempt is what the protocol chose to spend.
func (t *CountingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if !isLoopback(a.Addr) {
		t.c.refused.Add(1)
		return nil, fmt.Errorf("%w: stream to %s", errNotLoopback, a.Addr)
	}
	t.c.streams.Add(1)
	return t.inner.DialAddressTimeout(a, timeout)
}

// StreamCh implements memberlist.Transport.
func (t *CountingTransport) StreamCh() <-chan net.Conn { return t.inner.StreamCh() }

// Shutdown implements memberlist.Transport.
func (t *CountingTransport) Shutdown() error { return t.inner.Shutdown() }
