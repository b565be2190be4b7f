package transport

import (
	"bytes"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/wire"
)

// orderedIdentities returns two identities, the first with the lower name.
func orderedIdentities(t *testing.T) (lower, higher *identity.Identity) {
	t.Helper()
	a, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Compare(a.Name[:], b.Name[:]) > 0 {
		a, b = b, a
	}
	return a, b
}

// vanish ends an endpoint as kill -9 would: its socket closes before anything is sent, so its
// peers get no CONNECTION_CLOSE.
func vanish(e *Endpoint) {
	_ = e.udp.Close()
	e.Close()
}

// TRN-3: the node (lower name) dialed a peer; the peer is killed and a new instance with the
// same key dials the node. The name tie-break would keep the node's dead connection; the probe
// finds it dead and the new instance's connection is kept within the probe's second.
func TestNewInstanceReplacesConnectionLeftOverByKilledPeer(t *testing.T) {
	lowID, highID := orderedIdentities(t)
	node := newEndpoint(t, lowID, nil)
	first, err := Listen(Config{Identity: highID, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Request(ctx(t), highID.Name, first.Addr(), wire.TypePing, nil, nil); err != nil {
		t.Fatal(err)
	}
	dead := node.Peer(highID.Name)
	if dead == nil || !dead.dialed {
		t.Fatal("the node holds no connection it dialed to the peer")
	}
	vanish(first)

	second, err := Listen(Config{Identity: highID, Listen: "127.0.0.1:0"}) // request timeout 2 s, as TRN-7
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	start := time.Now()
	if _, err := second.Request(ctx(t), lowID.Name, node.Addr(), wire.TypePing, nil, nil); err != nil {
		t.Fatalf("the new instance's PING: %v", err)
	}
	if d := time.Since(start); d > probeWait+700*time.Millisecond {
		t.Fatalf("the new instance was served %v after it dialed, want about %v (the probe)", d, probeWait)
	}
	kept := node.Peer(highID.Name)
	if kept == nil || kept == dead || kept.dialed || kept.RemoteAddr() != second.Addr() {
		t.Fatalf("the node did not keep the new instance's connection (kept %+v)", kept)
	}
	select {
	case <-dead.Done():
	case <-time.After(time.Second):
		t.Fatal("the dead connection is still open")
	}
	if !dead.replaced() {
		t.Fatalf("the dead connection ended with %v, want DUPLICATE_CONNECTION", dead.Err())
	}
}

// TRN-3: a live connection that the name tie-break keeps answers the probe at once, and the new
// connection is the one closed, without waiting out the probe's second.
func TestLiveConnectionKeptOverDuplicateFromHigherName(t *testing.T) {
	lowID, highID := orderedIdentities(t)
	node, peer := newEndpoint(t, lowID, nil), newEndpoint(t, highID, nil)
	if _, err := node.Request(ctx(t), highID.Name, peer.Addr(), wire.TypePing, nil, nil); err != nil {
		t.Fatal(err)
	}
	live := node.Peer(highID.Name)
	start := time.Now()
	got, err := peer.dial(ctx(t), lowID.Name, node.Addr()) // a second connection, dialed by the higher name
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > probeWait/2 {
		t.Fatalf("deciding took %v; a live connection answers the probe within a round trip", d)
	}
	if got.dialed {
		t.Fatal("the peer kept the connection it dialed, the higher name's")
	}
	if node.Peer(highID.Name) != live || !live.alive() {
		t.Fatal("the node did not keep its live connection, dialed by the lower name")
	}
	if _, err := got.Request(ctx(t), wire.TypePing, nil, nil); err != nil {
		t.Fatalf("PING on the kept connection: %v", err)
	}
}
