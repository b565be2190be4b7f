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

type peerCounters struct {
	sent, received [256]atomic.Uint64 // indexed by message type
}

// counterSet keeps per-peer counters for the endpoint's lifetime, across reconnects.
type counterSet struct {
	mu                 sync.Mutex
	peers              map[wire.Name]*peerCounters
	handshakes         map[string]uint64
	closedUs, closedBy map[wire.Code]uint64
	unmatchedResponses atomic.Uint64
}

func (c *counterSet) init() {
	c.peers = map[wire.Name]*peerCounters{}
	c.handshakes = map[string]uint64{reasonNameMismatch: 0, reasonOther: 0}
	c.closedUs = map[wire.Code]uint64{}
	c.closedBy = map[wire.Code]uint64{}
}

func (c *counterSet) peer(n wire.Name) *peerCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.peers[n]
	if pc == nil {
		pc = &peerCounters{}
		c.peers[n] = pc
	}
	return pc
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
	}
	for name, pc := range c.peers {
		pcs := PeerCounts{Sent: zeroCounts(), Received: zeroCounts()}
		for _, t := range wire.Types {
			s, r := pc.sent[t].Load(), pc.received[t].Load()
			pcs.Sent[t.String()], pcs.Received[t.String()] = s, r
			out.Sent[t.String()] += s
			out.Received[t.String()] += r
		}
		out.Peers[name.String()] = pcs
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
