package conformance

import (
	"fmt"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// strangers is what the counter-bound scenario did (ADM-4's bound on peers): the names it
// connected with, in order, and the node's counters just before.
type strangers struct {
	names  []wire.Name
	before harness.Counters
}

// strangersComeAndGo connects n fresh identities to the node one after another; each sends a
// PING, waits for the PONG and closes: a stranger growing the node's per-peer counters.
func (w *world) strangersComeAndGo(n int) error {
	before, err := w.counters()
	if err != nil {
		return err
	}
	w.strangers = &strangers{before: before}
	for i := range n {
		if err := w.strangerPings(); err != nil {
			return fmt.Errorf("stranger %d of %d: %w", i+1, n, err)
		}
	}
	return nil
}

func (w *world) strangerPings() error {
	ctx, cancel := stepContext()
	defer cancel()
	id := peer.RandomIdentity()
	c, err := peer.Dial(ctx, id, w.node.Name, w.node.QUIC(), peer.FromIP(w.cluster.HostIP()))
	if err != nil {
		return fmt.Errorf("expected the node to accept a new peer: %v", err)
	}
	defer c.Close(wire.CodeNoError)
	if _, err := c.Ping(ctx, []byte("stranger")); err != nil {
		return fmt.Errorf("expected the node to answer a new peer's PING: %v", err)
	}
	w.strangers.names = append(w.strangers.names, id.Name())
	return nil
}

func (w *world) strangersCounters() (harness.Counters, error) {
	if w.strangers == nil {
		return harness.Counters{}, fmt.Errorf("no strangers connected in this scenario")
	}
	return w.counters()
}

// countersBounded: the node lists exactly listed peers, and forgot exactly forgotten more than
// it had forgotten before, plus one for every peer it listed before (they went quiet first).
func (w *world) countersBounded(listed, forgotten int) error {
	return await(func() error {
		c, err := w.strangersCounters()
		if err != nil {
			return err
		}
		if c.ForgottenPeers == nil {
			return violates(fmt.Errorf("GET /v1/counters has no forgotten_peers"), "ADM-4")
		}
		var was int64
		if p := w.strangers.before.ForgottenPeers; p != nil {
			was = *p
		}
		want := was + int64(forgotten) + int64(len(w.strangers.before.Peers))
		if len(c.Peers) != listed || *c.ForgottenPeers != want {
			return fmt.Errorf("expected counters of %d peers and forgotten_peers %d; the node lists %d peers and forgotten_peers %d",
				listed, want, len(c.Peers), *c.ForgottenPeers)
		}
		return nil
	})
}

// strangersForgottenFirst: the peers forgotten are those whose connection ended longest ago.
// The first and last counts leave a margin between them: the node learns of each close a
// moment after the next stranger may have connected.
func (w *world) strangersForgottenFirst(first, last int) error {
	c, err := w.strangersCounters()
	if err != nil {
		return err
	}
	names := w.strangers.names
	if first+last > len(names) {
		return fmt.Errorf("only %d strangers connected", len(names))
	}
	for i, n := range names[:first] {
		if _, ok := c.Peers[n.String()]; ok {
			return fmt.Errorf("stranger %d (of the first %d, idle longest) is still listed in the node's counters", i+1, first)
		}
	}
	for i, n := range names[len(names)-last:] {
		if _, ok := c.Peers[n.String()]; !ok {
			return fmt.Errorf("stranger %d (of the last %d) is not listed in the node's counters", len(names)-last+i+1, last)
		}
	}
	return nil
}

// strangersPingsCounted: forgetting a peer's counters takes nothing from the totals.
func (w *world) strangersPingsCounted() error {
	c, err := w.strangersCounters()
	if err != nil {
		return err
	}
	n := int64(len(w.strangers.names))
	pings := c.Received["PING"] - w.strangers.before.Received["PING"]
	pongs := c.Sent["PONG"] - w.strangers.before.Sent["PONG"]
	if pings < n || pongs < n {
		return fmt.Errorf("expected at least %d PINGs received and PONGs sent since the strangers came; the totals grew by %d PINGs and %d PONGs", n, pings, pongs)
	}
	return nil
}
