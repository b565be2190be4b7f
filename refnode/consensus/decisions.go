package consensus

import (
	"net/netip"
	"time"

	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

// Decision is what one node saw of one join or leave (GET /v1/decisions, ST-12): when it first
// heard of it, when it applied it here, and the frames it caused, split between frames exchanged
// with elders while this node was an elder itself (the 24-frame budget, ST-9) and all others.
type Decision struct {
	Kind    wire.ChangeKind
	Member  wire.Member
	Started time.Time
	Applied time.Time // zero while pending

	ElderSent, ElderReceived int
	OtherSent, OtherReceived int
	Peers                    map[wire.Name]*PeerFrames
}

// PeerFrames counts one peer's frames for one decision.
type PeerFrames struct{ Sent, Received int }

// Totals are the node's consensus counters since it started.
type Totals struct {
	Decisions   int // decisions applied here
	AntiEntropy int // STABLESET frames sent because a peer's id differed or its view lacked something
	Pings       int
	// Sections (SPEC.md §10).
	ListsSent     int // own top-20 list sent to the other sections (one per round)
	ListsAccepted int // other sections' lists that replaced what this node held
	ElderLosses   int // elder losses applied here
}

// Decisions returns the decision log, oldest first (at most Config.DecisionLog entries). The
// entries are copies.
func (c *Core) Decisions() []Decision {
	out := make([]Decision, len(c.decisions))
	for i, d := range c.decisions {
		out[i] = d
		out[i].Peers = make(map[wire.Name]*PeerFrames, len(d.Peers))
		for n, p := range d.Peers {
			cp := *p
			out[i].Peers[n] = &cp
		}
	}
	return out
}

// Totals returns the node's consensus counters.
func (c *Core) Totals() Totals { return c.totals }

func (c *Core) openDecision(ch stableset.Change) int {
	if len(c.decisions) == c.cfg.DecisionLog {
		drop := len(c.decisions) / 2
		c.decisions = append(c.decisions[:0], c.decisions[drop:]...)
		c.decBase += drop
	}
	c.decisions = append(c.decisions, Decision{Kind: ch.Kind, Member: ch.Member, Started: c.now, Peers: map[wire.Name]*PeerFrames{}})
	return c.decBase + len(c.decisions) - 1
}

func (c *Core) entry(d int) *Decision {
	i := d - c.decBase
	if d < 0 || i < 0 || i >= len(c.decisions) {
		return nil
	}
	return &c.decisions[i]
}

func (c *Core) decisionOf(ch stableset.Change) int {
	ch.Member.Addr = netip.AddrPort{}
	if tr := c.tracks[ch]; tr != nil {
		return tr.decision
	}
	return -1
}

// recordOwnJoin logs the node's own join as it saw it (ST-12): from its first request, this
// time round, until it took the stableset that lists it. That is what a joiner waits for.
func (c *Core) recordOwnJoin() {
	started := c.firstAsked
	if started.IsZero() {
		started = c.now
	}
	c.firstAsked = time.Time{}
	d := c.entry(c.openDecision(stableset.Change{Kind: wire.ChangeJoin, Member: c.self}))
	d.Started, d.Applied = started, c.now
	c.totals.Decisions++
}

// closeDecision marks a change applied here.
func (c *Core) closeDecision(ch stableset.Change) {
	c.totals.Decisions++
	if d := c.entry(c.decisionOf(ch)); d != nil && d.Applied.IsZero() {
		d.Member = ch.Member
		d.Applied = c.now
	}
}

// recentDecision is the decision an anti-entropy frame is charged to: the last one applied here
// within the request timeout, if any, so that no frame a decision causes escapes its count.
func (c *Core) recentDecision() int {
	for i := len(c.decisions) - 1; i >= 0; i-- {
		d := &c.decisions[i]
		if !d.Applied.IsZero() && c.now.Sub(d.Applied) < c.cfg.RequestTimeout {
			return c.decBase + i
		}
	}
	return -1
}

func (c *Core) betweenElders(peer wire.Name) bool {
	return c.set.IsElder(c.self.Name) && c.set.IsElder(peer)
}

func (c *Core) countSent(m Message, decision int) {
	d := c.entry(decision)
	if d == nil {
		return
	}
	if c.betweenElders(m.To.Name) {
		d.ElderSent++
	} else {
		d.OtherSent++
	}
	c.peerFrames(d, m.To.Name).Sent++
}

func (c *Core) countReceived(from wire.Name, decision int) {
	d := c.entry(decision)
	if d == nil {
		return
	}
	if c.betweenElders(from) {
		d.ElderReceived++
	} else {
		d.OtherReceived++
	}
	c.peerFrames(d, from).Received++
}

func (c *Core) peerFrames(d *Decision, n wire.Name) *PeerFrames {
	p := d.Peers[n]
	if p == nil {
		p = &PeerFrames{}
		d.Peers[n] = p
	}
	return p
}
