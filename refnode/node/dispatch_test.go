package node

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/stableset/sskit/refnode/consensus"
	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/wire"
)

func (f *inFlight) of(name wire.Name) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[name]
}

func (f *inFlight) peers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.count)
}

func TestInFlightBoundsEachPeer(t *testing.T) {
	var f inFlight
	a, b := wire.Name{1}, wire.Name{2}
	for i := range MaxInFlightPerPeer {
		if !f.begin(a) {
			t.Fatalf("message %d to a refused below the bound", i+1)
		}
	}
	if f.begin(a) {
		t.Fatalf("message %d to a accepted", MaxInFlightPerPeer+1)
	}
	if !f.begin(b) {
		t.Fatal("b refused because of a's messages")
	}
	f.done(a)
	if !f.begin(a) {
		t.Fatal("a refused after one of its messages was done")
	}
	for range MaxInFlightPerPeer {
		f.done(a)
	}
	f.done(b)
	if n := f.peers(); n != 0 {
		t.Fatalf("%d peers still listed with nothing in flight", n)
	}
}

// silentPeer is a UDP socket on loopback that reads and discards everything: a peer whose
// handshake never completes.
func silentPeer(t *testing.T) wire.Member {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return wire.Member{Name: id.Name, Addr: conn.LocalAddr().(*net.UDPAddr).AddrPort()}
}

// Messages to a peer that never answers wait for its handshake: at most MaxInFlightPerPeer of
// them at once, the rest not sent and counted in dropped_sends; other peers are not held up.
func TestDispatchBoundsMessagesInFlightPerPeer(t *testing.T) {
	n := startTestNode(t, nil, "")
	silent, other := silentPeer(t), silentPeer(t)
	const extra = 10
	kinds := []wire.Type{wire.TypePing, wire.TypeWitnessRequest, wire.TypeStableset}
	for i := range MaxInFlightPerPeer + extra {
		n.dispatch(consensus.Message{To: silent, Type: kinds[i%len(kinds)]}, false)
		if got := n.inFlight.of(silent.Name); got > MaxInFlightPerPeer {
			t.Fatalf("%d messages in flight to the silent peer, more than %d", got, MaxInFlightPerPeer)
		}
	}
	// Each waits for a handshake (up to 3 s), so none is done yet.
	if got := n.inFlight.of(silent.Name); got != MaxInFlightPerPeer {
		t.Fatalf("%d messages in flight to the silent peer, want %d", got, MaxInFlightPerPeer)
	}
	if got := n.Counters().DroppedSends; got != extra {
		t.Fatalf("dropped_sends = %d, want %d", got, extra)
	}
	n.dispatch(consensus.Message{To: other, Type: wire.TypePing}, false)
	if got := n.inFlight.of(other.Name); got != 1 {
		t.Fatalf("%d messages in flight to another peer, want 1", got)
	}
	if got := n.Counters().DroppedSends; got != extra {
		t.Fatalf("dropped_sends = %d after a message to another peer, want %d", got, extra)
	}

	// Shutting down ends every message under way; each gives its place back.
	stopTestNode(t, n)
	if got := n.inFlight.peers(); got != 0 {
		t.Fatalf("%d peers still listed with messages in flight after shutdown", got)
	}
}

// A message whose dial fails at once gives its place back at once: the count follows the
// goroutines under way, not the messages ever sent.
func TestDispatchGivesPlacesBackWhenDone(t *testing.T) {
	n := startTestNode(t, nil, "")
	// The transport refuses to dial the node itself, so these fail without waiting.
	self := wire.Member{Name: n.cfg.Identity.Name, Addr: netip.MustParseAddrPort("127.0.0.1:9")}
	for range 3 * MaxInFlightPerPeer {
		n.dispatch(consensus.Message{To: self, Type: wire.TypePing}, false)
	}
	eventually(t, "every message done", func() error {
		if got := n.inFlight.peers(); got != 0 {
			return fmt.Errorf("%d peers with messages in flight", got)
		}
		return nil
	})
	before := n.Counters().DroppedSends
	for range MaxInFlightPerPeer {
		n.dispatch(consensus.Message{To: self, Type: wire.TypePing}, false)
	}
	if got := n.Counters().DroppedSends; got != before {
		t.Fatalf("%d of %d messages dropped with nothing else in flight", got-before, MaxInFlightPerPeer)
	}
}
