package transport

import (
	"sync"
	"sync/atomic"

	"github.com/stableset/sskit/refnode/wire"
)

// Handshake failure reasons as they appear in counters (SPEC.md ADM-4).
const (
	reasonNameMismatch = "name_mismatch"
	reasonOther        = "other"
)

// MaxCountedPeers bounds how many peers a node keeps per-peer counters for (SPEC.md ADM-4): a
// stranger that connects under ever new names must not grow them without end. Beyond it the
// counters of the peer whose last connection ended longest ago are forgotten; peers with an open
// connection are never forgotten, as open connections are bounded by other means.
const MaxCountedPeers = 1024

type peerCounters struct {
	sent, received [256]atomic.Uint64 // indexed by message type

	// Guarded by counterSet.mu; the hot path never reads them.
	name       wire.Name
	open       int           // connections to the peer whose handshake completed and that have not ended
	prev, next *peerCounters // neighbours in counterSet's idle list while open is 0
}

// counterSet keeps per-peer counters across reconnects, for at most MaxCountedPeers peers
// unless more have a connection open.
type counterSet struct {
	// Totals are kept apart from the per-peer counters so that forgetting a peer never takes
	// anything from them: counters never decrease (ADM-4).
	sent, received [256]atomic.Uint64

	mu    sync.Mutex
	peers map[wire.Name]*peerCounters
	// idle lists the peers with no open connection, the one whose last connection ended longest
	// ago first: the next to forget.
	idleHead, idleTail *peerCounters
	forgotten          uint64 // peers whose counters were forgotten
	handshakes         map[string]uint64
	closedUs, closedBy map[wire.Code]uint64
	unmatchedResponses atomic.Uint64
	droppedSends       atomic.Uint64
}

func (c *counterSet) init() {
	c.peers = map[wire.Name]*peerCounters{}
	c.handshakes = map[string]uint64{reasonNameMismatch: 0, reasonOther: 0}
	c.closedUs = map[wire.Code]uint64{}
	c.closedBy = map[wire.Code]uint64{}
}

// countSent and countReceived are the hot path: atomic adds, no lock. The total goes first, so
// that a snapshot, which reads the peers before the totals, never shows a total below the sum of
// its peers.
func (c *counterSet) countSent(pc *peerCounters, t wire.Type) {
	c.sent[t].Add(1)
	pc.sent[t].Add(1)
}

func (c *counterSet) countReceived(pc *peerCounters, t wire.Type) {
	c.received[t].Add(1)
	pc.received[t].Add(1)
}

// opened is told that a handshake with name completed and returns the peer's counters, creating
// them (at zero, also for a peer forgotten before) when the peer has none.
func (c *counterSet) opened(name wire.Name) *peerCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.peers[name]
	if pc == nil {
		c.forgetIdle(MaxCountedPeers - 1)
		pc = &peerCounters{name: name}
		c.peers[name] = pc
	} else if pc.open == 0 {
		c.unlinkIdle(pc)
	}
	pc.open++
	return pc
}

// ended is told that a connection whose handshake completed, counted by pc, has ended.
func (c *counterSet) ended(pc *peerCounters) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc.open--
	if pc.open > 0 {
		return
	}
	pc.prev, pc.next = c.idleTail, nil
	if c.idleTail != nil {
		c.idleTail.next = pc
	} else {
		c.idleHead = pc
	}
	c.idleTail = pc
	// More peers than the bound are held while more have connections open; shrink back as
	// they end.
	c.forgetIdle(MaxCountedPeers)
}

// forgetIdle forgets idle peers, longest idle first, until at most keep peers are counted or
// none is idle. The caller holds c.mu.
func (c *counterSet) forgetIdle(keep int) {
	for len(c.peers) > keep && c.idleHead != nil {
		pc := c.idleHead
		c.unlinkIdle(pc)
		delete(c.peers, pc.name)
		c.forgotten++
	}
}

func (c *counterSet) unlinkIdle(pc *peerCounters) {
	if pc.prev != nil {
		pc.prev.next = pc.next
	} else {
		c.idleHead = pc.next
	}
	if pc.next != nil {
		pc.next.prev = pc.prev
	} else {
		c.idleTail = pc.prev
	}
	pc.prev, pc.next = nil, nil
}

func (c *counterSet) handshakeFailure(reason string) {
	c.mu.Lock()
	c.handshakes[reason]++
	c.mu.Unlock()
}

func (c *counterSet) closedByUs(code wire.Code) {
	c.mu.Lock()
	c.closedUs[code]++
	c.mu.Unlock()
}

func (c *counterSet) closedByPeer(code wire.Code) {
	c.mu.Lock()
	c.closedBy[code]++
	c.mu.Unlock()
}

// CountDroppedSend counts a message the node did not send because too many messages to the
// same peer were already waiting for a dial, a write or an answer (dropped_sends).
func (e *Endpoint) CountDroppedSend() { e.counters.droppedSends.Add(1) }

// TypeCounts maps SPEC.md type names (PING, WITNESS, ...) to frame counts.
type TypeCounts map[string]uint64

// PeerCounts is what was exchanged with one peer.
type PeerCounts struct {
	Sent     TypeCounts `json:"sent"`
	Received TypeCounts `json:"received"`
}

// Counters is the JSON shape of GET /v1/counters (SPEC.md ADM-4).
type Counters struct {
	Sent               TypeCounts            `json:"sent"`
	Received           TypeCounts            `json:"received"`
	Peers              map[string]PeerCounts `json:"peers"`
	HandshakeFailures  map[string]uint64     `json:"handshake_failures"`
	ClosedByUs         map[string]uint64     `json:"connections_closed_by_us"`
	ClosedByPeer       map[string]uint64     `json:"connections_closed_by_peer"`
	UnmatchedResponses uint64                `json:"unmatched_responses"`
	// ForgottenPeers counts the peers whose counters were forgotten at MaxCountedPeers; their
	// frames stay in Sent and Received.
	ForgottenPeers uint64 `json:"forgotten_peers"`
	// DroppedSends counts the messages the node did not send because too many to the same
	// peer were still in flight (CountDroppedSend).
	DroppedSends uint64 `json:"dropped_sends"`
}

// Counters returns a snapshot of every counter. Every catalogue type appears, zero or not, so
// readers can tell "none sent" from "not counted".
func (e *Endpoint) Counters() Counters {
	c := &e.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Counters{
		Sent: zeroCounts(), Received: zeroCounts(),
		Peers:              map[string]PeerCounts{},
		HandshakeFailures:  map[string]uint64{},
		ClosedByUs:         map[string]uint64{},
		ClosedByPeer:       map[string]uint64{},
		UnmatchedResponses: c.unmatchedResponses.Load(),
		ForgottenPeers:     c.forgotten,
		DroppedSends:       c.droppedSends.Load(),
	}
	for name, pc := range c.peers {
		pcs := PeerCounts{Sent: zeroCounts(), Received: zeroCounts()}
		for _, t := range wire.Types {
			pcs.Sent[t.String()], pcs.Received[t.String()] = pc.sent[t].Load(), pc.received[t].Load()
		}
		out.Peers[name.String()] = pcs
	}
	for _, t := range wire.Types { // after the peers: see countSent
		out.Sent[t.String()], out.Received[t.String()] = c.sent[t].Load(), c.received[t].Load()
	}
	for k, v := range c.handshakes {
		out.HandshakeFailures[k] = v
	}
	for k, v := range c.closedUs {
		out.ClosedByUs[k.String()] = v
	}
	for k, v := range c.closedBy {
		out.ClosedByPeer[k.String()] = v
	}
	return out
}

func zeroCounts() TypeCounts {
	tc := TypeCounts{}
	for _, t := range wire.Types {
		tc[t.String()] = 0
	}
	return tc
}
