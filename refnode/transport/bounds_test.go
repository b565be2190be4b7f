package transport

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// countingEndpoint is an Endpoint with counters only: enough for Counters, no socket.
func countingEndpoint() *Endpoint {
	e := &Endpoint{}
	e.counters.init()
	return e
}

// peerName is a distinct name for every i.
func peerName(i int) wire.Name {
	var n wire.Name
	binary.BigEndian.PutUint64(n[:], uint64(i)+1)
	return n
}

// exchange counts one PING sent to pc's peer and one PONG received from it.
func exchange(c *counterSet, pc *peerCounters) {
	c.countSent(pc, wire.TypePing)
	c.countReceived(pc, wire.TypePong)
}

func held(c *counterSet, i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peers[peerName(i)] != nil
}

func heldCount(c *counterSet) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.peers)
}

// ADM-4: per-peer counters are kept for at most MaxCountedPeers peers; beyond it the peer whose
// last connection ended longest ago is forgotten, never one with a connection open, and the
// totals keep every frame.
func TestCountedPeersAreBounded(t *testing.T) {
	const extra = 50
	e := countingEndpoint()
	c := &e.counters
	stayer := c.opened(peerName(0)) // open for the whole test: never forgotten
	exchange(c, stayer)
	frames := uint64(1)
	var last Counters
	for i := 1; i <= MaxCountedPeers+extra; i++ {
		pc := c.opened(peerName(i))
		exchange(c, pc)
		frames++
		c.ended(pc)
		if n := heldCount(c); n > MaxCountedPeers {
			t.Fatalf("after %d peers the node counts %d of them, more than %d", i+1, n, MaxCountedPeers)
		}
		if i%100 == 0 || i > MaxCountedPeers-2 {
			now := e.Counters()
			if now.Sent["PING"] < last.Sent["PING"] || now.Received["PONG"] < last.Received["PONG"] {
				t.Fatalf("after %d peers totals went down: sent PING %d → %d, received PONG %d → %d",
					i+1, last.Sent["PING"], now.Sent["PING"], last.Received["PONG"], now.Received["PONG"])
			}
			last = now
		}
		if i == MaxCountedPeers {
			// The bound is reached with this peer: the first to close is the one forgotten.
			if held(c, 1) || !held(c, 2) {
				t.Fatalf("at the bound: peer 1 held %v (want forgotten), peer 2 held %v (want kept)", held(c, 1), held(c, 2))
			}
		}
	}
	got := e.Counters()
	if !held(c, 0) {
		t.Fatal("the peer with an open connection was forgotten")
	}
	if want := uint64(extra + 1); got.ForgottenPeers != want {
		t.Fatalf("forgotten_peers = %d, want %d", got.ForgottenPeers, want)
	}
	if len(got.Peers) != MaxCountedPeers {
		t.Fatalf("peers lists %d, want %d", len(got.Peers), MaxCountedPeers)
	}
	for i := 1; i <= MaxCountedPeers+extra; i++ {
		if want := i > extra+1; held(c, i) != want {
			t.Fatalf("peer %d held %v, want %v: the longest closed must go first", i, held(c, i), want)
		}
	}
	if got.Sent["PING"] != frames || got.Received["PONG"] != frames {
		t.Fatalf("totals sent PING %d, received PONG %d; want %d each, forgotten peers included",
			got.Sent["PING"], got.Received["PONG"], frames)
	}

	// A forgotten peer that comes back starts again at zero.
	back := c.opened(peerName(1))
	if n := e.Counters().Peers[peerName(1).String()]; n.Sent["PING"] != 0 || n.Received["PONG"] != 0 {
		t.Fatalf("a forgotten peer came back with %+v, want zeros", n)
	}
	if got := e.Counters().ForgottenPeers; got != extra+2 {
		t.Fatalf("forgotten_peers = %d after one more peer, want %d", got, extra+2)
	}
	c.ended(back)
}

// The order of forgetting is the order in which peers' last connections ended, not the order
// they connected in: a peer that reconnects moves to the back.
func TestForgetsPeerWhoseLastConnectionEndedLongestAgo(t *testing.T) {
	e := countingEndpoint()
	c := &e.counters
	pcs := make([]*peerCounters, MaxCountedPeers)
	for i := range pcs {
		pcs[i] = c.opened(peerName(i))
	}
	// Close in reverse order, except that peer 0's second connection ends last.
	second := c.opened(peerName(0))
	for i := len(pcs) - 1; i >= 0; i-- {
		c.ended(pcs[i])
	}
	c.ended(second)
	// Peer 5 reconnects and closes again: now it ended after everyone else.
	c.ended(c.opened(peerName(5)))

	newcomer := MaxCountedPeers
	expect := func(forgotten int) {
		t.Helper()
		newcomer++
		c.ended(c.opened(peerName(newcomer)))
		if held(c, forgotten) {
			t.Fatalf("peer %d still held; it ended longest ago", forgotten)
		}
		if n := heldCount(c); n != MaxCountedPeers {
			t.Fatalf("%d peers held, want %d", n, MaxCountedPeers)
		}
	}
	expect(MaxCountedPeers - 1)
	expect(MaxCountedPeers - 2)
	for i := MaxCountedPeers - 3; i > 5; i-- {
		expect(i)
	}
	expect(4) // 5 reconnected: it goes after 4 … 1
	expect(3)
	expect(2)
	expect(1)
	expect(0) // its second connection ended after the others' only one
	expect(5)
	expect(MaxCountedPeers + 1) // then the newcomers, in the order they closed
}

// Peers with a connection open are never forgotten: the node counts more than the bound while
// they are open, and shrinks back as they end.
func TestPeersWithOpenConnectionsAreKept(t *testing.T) {
	const extra = 5
	e := countingEndpoint()
	c := &e.counters
	pcs := make([]*peerCounters, MaxCountedPeers+extra)
	for i := range pcs {
		pcs[i] = c.opened(peerName(i))
		exchange(c, pcs[i])
	}
	got := e.Counters()
	if len(got.Peers) != len(pcs) || got.ForgottenPeers != 0 {
		t.Fatalf("with every peer open: %d peers, %d forgotten; want %d and 0", len(got.Peers), got.ForgottenPeers, len(pcs))
	}
	for i := range pcs {
		c.ended(pcs[i])
		if want := max(MaxCountedPeers, len(pcs)-i-1); heldCount(c) != want {
			t.Fatalf("after %d ended: %d held, want %d", i+1, heldCount(c), want)
		}
	}
	got = e.Counters()
	if got.ForgottenPeers != extra || got.Sent["PING"] != uint64(len(pcs)) {
		t.Fatalf("forgotten_peers %d, sent PING %d; want %d and %d", got.ForgottenPeers, got.Sent["PING"], extra, len(pcs))
	}
	for i := range extra {
		if held(c, i) {
			t.Fatalf("peer %d held: the first to close must be the ones forgotten", i)
		}
	}
}

// The endpoint tells the counters when a connection opens and ends, so that a peer that
// disconnected becomes forgettable, and one still connected does not.
func TestEndpointReportsConnectionsToCounters(t *testing.T) {
	a, b := newEndpoint(t, nil, nil), newEndpoint(t, nil, nil)
	if _, err := a.Request(ctx(t), b.Name(), b.Addr(), wire.TypePing, nil, nil); err != nil {
		t.Fatal(err)
	}
	open := func(e *Endpoint, n wire.Name) int {
		e.counters.mu.Lock()
		defer e.counters.mu.Unlock()
		return e.counters.peers[n].open
	}
	if o := open(a, b.Name()); o != 1 {
		t.Fatalf("a counts %d open connections to b, want 1", o)
	}
	a.Peer(b.Name()).Close(wire.CodeNoError, "done")
	deadline := time.Now().Add(5 * time.Second)
	for open(a, b.Name()) != 0 || open(b, a.Name()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the close: a counts %d open to b, b %d open to a; want 0", open(a, b.Name()), open(b, a.Name()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.counters.mu.Lock()
	idle := a.counters.idleHead
	a.counters.mu.Unlock()
	if idle == nil || idle.name != b.Name() {
		t.Fatal("b is not the first peer a would forget")
	}
}

// GET /v1/counters carries both bounds' counts.
func TestCountersJSONHasBoundsCounts(t *testing.T) {
	e := countingEndpoint()
	e.CountDroppedSend()
	e.CountDroppedSend()
	js, err := json.Marshal(e.Counters())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"forgotten_peers":0`, `"dropped_sends":2`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("counters JSON lacks %s: %s", want, js)
		}
	}
}

// Counting a frame allocates nothing and takes no lock.
func TestCountingAllocatesNothing(t *testing.T) {
	e := countingEndpoint()
	pc := e.counters.opened(peerName(1))
	if n := testing.AllocsPerRun(100, func() { exchange(&e.counters, pc) }); n != 0 {
		t.Fatalf("counting a frame allocates %.1f times", n)
	}
}

func BenchmarkCountFrame(b *testing.B) {
	e := countingEndpoint()
	pc := e.counters.opened(peerName(1))
	b.ReportAllocs()
	for b.Loop() {
		e.counters.countSent(pc, wire.TypeWitness)
	}
}
