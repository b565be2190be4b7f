package gossip

import (
	"net/netip"
	"slices"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/wire"
)

// Gossip returns the Standard gossip custom-made for to (rulebook 84), or false when to has no
// record here (rulebook 86).
func (db *DB) Gossip(to wire.Name) (Message, bool) {
	return db.gossipFor(to, db.referenced())
}

// Broadcast returns custom Standard gossip for every node the own record lists, in name order.
// Accept, Ban and Disconnect already include it when something changed; a node may also call
// it on a timer.
func (db *DB) Broadcast() []Message { return db.broadcast(nil, wire.Name{}, false) }

// broadcast appends to msgs a custom Standard gossip for each listed neighbor except skip (when
// hasSkip), which is getting a reply of its own.
func (db *DB) broadcast(msgs []Message, skip wire.Name, hasSkip bool) []Message {
	var refs map[wire.Name]struct{}
	if !db.cfg.DeferStandard {
		refs = db.referenced()
	}
	for _, n := range db.own.Neighbors {
		if hasSkip && n == skip {
			continue
		}
		if m, ok := db.gossipFor(n, refs); ok {
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// gossipFor makes the Standard gossip for target, or with Config.DeferStandard one whose body
// StandardBody makes later; false when target has no record here (rulebook 86).
func (db *DB) gossipFor(target wire.Name, refs map[wire.Name]struct{}) (Message, bool) {
	if _, ok := db.nodes[target]; !ok {
		return Message{}, false
	}
	m := Message{To: target, Addr: db.addrOf(target), Kind: KindGossip, Type: Standard, OwnVersion: db.own.Version}
	if db.cfg.DeferStandard {
		m.ownRecord = db.ownConcealed
		return m, true
	}
	m.Body = db.standardBody(target, refs, db.ownConcealed)
	return m, true
}

// StandardBody makes the body of a deferred Standard gossip (Message.Deferred) as things now
// stand, with the own record of the version it was made for: every version goes to every
// neighbor it lists (NB-4), and a newer one follows it. False when its target no longer has a
// record here, or m is not deferred.
func (db *DB) StandardBody(m Message) ([]byte, bool) {
	if _, ok := db.nodes[m.To]; !ok || !m.Deferred() {
		return nil, false
	}
	return db.standardBody(m.To, db.referenced(), m.ownRecord), true
}

// standardBody builds the Standard gossip for target: the own record (own) and every referenced
// record (rulebook 85) except the target's own (rulebook 69), each in a form that reveals an
// address only as rulebook 84 allows. Records that would make the body larger than MaxBodySize
// are left out, the own record never; a receiver cannot tell that from a ragged edge (rulebook 74).
func (db *DB) standardBody(target wire.Name, refs map[wire.Name]struct{}, ownRecord []byte) []byte {
	parts := db.parts[:0]
	size := countSize + lengthSize + len(ownRecord)
	own := false
	for _, n := range db.names {
		if !own && compareNames(db.me, n) < 0 {
			parts, own = append(parts, ownRecord), true
		}
		if n == target {
			continue
		}
		if _, ok := refs[n]; !ok {
			continue
		}
		if mutant.Is("gossip-within-2-hops") && !db.lists(db.me, n) && !slices.ContainsFunc(db.own.Neighbors, func(m wire.Name) bool { return db.lists(m, n) }) {
			continue // only the own neighborhood: the neighbors and the nodes they list
		}
		b := db.relayForm(n, target)
		if b == nil || size+lengthSize+len(b) > MaxBodySize {
			continue
		}
		size += lengthSize + len(b)
		parts = append(parts, b)
	}
	if !own {
		parts = append(parts, ownRecord)
	}
	body := appendBody(make([]byte, 0, size), parts)
	clear(parts)
	db.parts = parts[:0]
	return body
}

// relayForm chooses which signed bytes of n's newest record go to target, or nil for none.
// The own record always goes without its address: the target has that from the Debut or
// Introduction that made the link, and must be able to relay the record to nodes that must not
// learn it. Another node's record goes in the form without an address if we hold it; else with
// its address only if n accepts connections and target lists n (rulebook 84); else not at all,
// since a signed record cannot be trimmed.
func (db *DB) relayForm(n, target wire.Name) []byte {
	e := db.nodes[n]
	if e.concealed != nil {
		return e.concealed
	}
	if e.view.Accepts() && db.lists(target, n) || mutant.Is("addresses-to-all") {
		return e.latest
	}
	return nil
}

func (db *DB) addrOf(n wire.Name) (addr netip.AddrPort) {
	addr, _ = db.Addr(n)
	return addr
}
