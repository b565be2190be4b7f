package gossip

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// Type is what a gossip is, as the receiver classifies it by content (rulebook 51) and as the
// sender means it.
type Type uint8

// The gossip types, in classification order.
const (
	Unclassified Type = iota // refused, malformed, or not gossip at all (a failure)
	Debut
	Pass
	Introduction
	Standard
)

func (t Type) String() string {
	switch t {
	case Debut:
		return "Debut"
	case Pass:
		return "Pass"
	case Introduction:
		return "Introduction"
	case Standard:
		return "Standard"
	}
	return "Unclassified"
}

// Kind is the kind of body a Message carries; the node maps it to a frame type.
type Kind uint8

// The message kinds.
const (
	KindGossip  Kind = iota // a gossip body (DecodeGossip)
	KindFailure             // a failure body (DecodeFailure)
)

// Message is one message to send.
type Message struct {
	To   wire.Name
	Addr netip.AddrPort // where To signed that it accepts connections; zero when not known
	Kind Kind
	Type Type // for KindGossip, what the body is meant as
	Body []byte
	// OwnVersion is the version of the own record a Standard gossip carries. A runtime that
	// sends a target only the newest of several Standard gossips replaces one only by another
	// of the same version, so that every neighbor sees every version of the own record: each
	// listed or withdrawn neighbor, one version apiece (NB-2), can then be judged from outside.
	OwnVersion uint64
	// ownRecord is the own record of OwnVersion, for a deferred Standard gossip (Deferred).
	ownRecord []byte
}

// Deferred reports whether m is a Standard gossip whose body is yet to be made, with
// DB.StandardBody, when it is sent (Config.DeferStandard).
func (m Message) Deferred() bool { return m.Body == nil && m.ownRecord != nil }

// Result is what one accepted gossip did and what to do about it.
type Result struct {
	Type     Type          // how the gossip was classified; Unclassified if refused or malformed
	Changed  bool          // the database changed (a record stored or replaced, or the own record)
	Messages []Message     // to send, in order
	Ban      *Ban          // the sender is a malefactor; it is now banned (disconnect it)
	Refused  bool          // the sender was banned before; nothing was read
	Failure  FailureReason // AcceptFailure: the reason the Debut target gave
	Note     string        // for logs: why nothing was done, or what a split did
}

// The reasons for malefactor bans (rulebook 9 and sskit settlement 5), in Ban.Reason; errors.Is
// finds them. Decoding errors are wrapped in ErrMalformed.
var (
	ErrMalformed          = errors.New("gossip: malformed")
	ErrBadSignature       = errors.New("gossip: the sender's own record does not verify")
	ErrTamperedRecord     = errors.New("gossip: a relayed record does not verify (tampered with or forged)")
	ErrYouDontKnowMe      = errors.New("gossip: carries the target's own record")
	ErrNotSendersAddress  = errors.New("gossip: the sender's own record gives an address that is not the sender's")
	ErrClaimsMyAddress    = errors.New("gossip: a record claims the target's address")
	ErrDuplicateAddress   = errors.New("gossip: two records claim the same address")
	ErrImmutableChanged   = errors.New("gossip: the sender's own record changes the address it signed before")
	ErrVersionBackwards   = errors.New("gossip: the sender's own record has a lower version than the sender sent before")
	ErrDebutAddrNoAccept  = errors.New("gossip: Debut record has an address but does not accept connections")
	ErrPassWithoutAddress = errors.New("gossip: Pass record has no address to debut to")
)

// Debut returns the Debut gossip that asks to to become a neighbor: the own record alone, with
// the address if the node accepts connections (rulebook 52). to is remembered as a Debut in
// progress for the pass-loop guard (rulebook 62).
func (db *DB) Debut(to wire.Name, addr netip.AddrPort, now time.Time) Message {
	db.debuting[to] = now
	return db.gossipMessage(to, addr, Debut, db.debutRecord())
}

// DebutAfresh is Debut for a node that debuts again because every Pass walk it was sent on
// ended without giving it a neighbor (SPEC.md NB-16). It starts a new walk: the targets of
// earlier walks no longer count as recently passed, since NB-6's guard is there to end one
// walk that goes round in a circle, and the node's back-off already bounds how often it walks.
func (db *DB) DebutAfresh(to wire.Name, addr netip.AddrPort, now time.Time) Message {
	clear(db.passed)
	return db.Debut(to, addr, now)
}

func (db *DB) gossipMessage(to wire.Name, addr netip.AddrPort, t Type, records ...[]byte) Message {
	size := countSize
	for _, r := range records {
		size += lengthSize + len(r)
	}
	if len(records) == 2 && !nameLess(records[0], records[1]) {
		records[0], records[1] = records[1], records[0]
	}
	return Message{To: to, Addr: addr, Kind: KindGossip, Type: t, Body: appendBody(make([]byte, 0, size), records)}
}

// Accept handles one gossip body from a connected peer: from is the name the peer proved in
// the handshake, fromAddr the address its packets come from, now the current time. It checks
// the whole gossip before it changes anything, so gossip that ends in a ban changes nothing but
// the ban and the disconnection.
func (db *DB) Accept(from wire.Name, fromAddr netip.AddrPort, body []byte, now time.Time) Result {
	return db.AcceptOn(from, 0, fromAddr, body, now)
}

// AcceptOn is Accept for a body that came on the connection conn (any number that tells the
// sender's connections apart): a sender's own record may go back in version from one
// connection to another, never within one (NB-10).
func (db *DB) AcceptOn(from wire.Name, conn uint64, fromAddr netip.AddrPort, body []byte, now time.Time) Result {
	if _, banned := db.bans[from]; banned {
		return Result{Refused: true, Note: "sender is banned"}
	}
	if from == db.me {
		return Result{Note: "gossip from the node itself"}
	}
	db.expire(now)
	db.now = now
	views, err := DecodeGossip(body, db.views[:0])
	defer func() { clear(views); db.views = views[:0] }() // keep no pointers into body
	if err != nil {
		return db.Ban(from, fmt.Errorf("%w: %w", ErrMalformed, err), now)
	}
	// Rulebook 80 discards a gossip with any bad signature; sskit settlement 5 bans its sender.
	for i := range views {
		if db.holdsExactly(&views[i]) {
			continue // these bytes verified when they were stored, and they are signed whole
		}
		if views[i].Verify() != nil {
			if views[i].Name() == from {
				return db.Ban(from, ErrBadSignature, now)
			}
			return db.Ban(from, ErrTamperedRecord, now)
		}
		db.verified(&views[i])
	}
	on := link{from, conn}
	if mutant.Enabled && mutant.Is("version-backwards-across-links") {
		on.conn = 0
	}
	if reason := db.checkAll(on, fromAddr, views); reason != nil {
		return db.Ban(from, reason, now)
	}
	t, reason := db.classify(from, views)
	if reason != nil {
		res := db.Ban(from, reason, now)
		res.Type = t
		return res
	}
	var res Result
	switch t {
	case Debut:
		res = db.acceptDebut(from, fromAddr, &views[0], now)
	case Pass:
		res = db.acceptPass(from, &views[0], now)
	case Introduction:
		res = db.acceptIntroduction(from, views, now)
	default:
		res = db.acceptStandard(from, views, now)
	}
	res.Type = t
	for i := range views {
		if n := views[i].Name(); n == from && views[i].Version() > db.selfSent[on] {
			db.selfSent[on] = views[i].Version()
		}
	}
	return res
}

// checkAll applies the rules every gossip must keep, whatever its type (rulebook 69, 70, 77,
// 79; settlement 5). Names are compared because the handshake proves the sender's; addresses
// are compared whole (IP and port) except that the sender's own address is checked by IP alone,
// as MASQ does, since the port a packet comes from need not be the one a node listens on.
func (db *DB) checkAll(on link, fromAddr netip.AddrPort, views []record.View) error {
	from := on.name
	for i := range views {
		v := &views[i]
		name := v.Name()
		if name == db.me {
			return ErrYouDontKnowMe
		}
		if name == from {
			if v.Version() < db.selfSent[on] {
				return ErrVersionBackwards
			}
			if db.addressConflict(v) {
				return ErrImmutableChanged
			}
		}
		addr, ok := v.Addr()
		if !ok {
			continue
		}
		if name == from && fromAddr.IsValid() && addr.Addr() != fromAddr.Addr().Unmap() {
			return ErrNotSendersAddress
		}
		if db.own.Addr.IsValid() && addr == db.own.Addr {
			return ErrClaimsMyAddress
		}
		for j := range i {
			if other, ok := views[j].Addr(); ok && other == addr {
				return ErrDuplicateAddress
			}
		}
	}
	return nil
}

// classify decides the gossip type in the order Debut, Pass, Introduction, Standard (rulebook
// 51); Standard takes everything else, so nothing is rejected for being unclassifiable. A
// non-nil error is a Malformed classification, to be banned.
func (db *DB) classify(from wire.Name, views []record.View) (Type, error) {
	if len(views) == 1 {
		v := &views[0]
		_, hasAddr := v.Addr()
		if v.Name() == from {
			if hasAddr && v.Accepts() && !mutant.Is("known-debut-ignored") {
				// Standard gossip carries its sender's record without the address (NB-4), so
				// this is a Debut even from a node already known (SPEC.md version 8, unlike
				// MASQ's rulebook 53): a node learns a debutant's record from the neighbor
				// that took it, often before the debutant's own Debut, which went unanswered.
				return Debut, nil
			}
			if _, known := db.nodes[from]; known {
				return Standard, nil // a known node's record without an address: rulebook 53
			}
			if hasAddr && !v.Accepts() {
				return Debut, ErrDebutAddrNoAccept // rulebook 52
			}
			// An accepting node's record without an address is how Standard gossip carries it
			// (see the package doc), so alone it is Standard gossip, not a malformed Debut.
			if hasAddr || !v.Accepts() {
				return Debut, nil
			}
			return Standard, nil
		}
		// One record that is not the sender's: a Pass (rulebook 60). Standard gossip always
		// carries its sender's record, so it is never one record about someone else.
		if !hasAddr {
			return Pass, ErrPassWithoutAddress
		}
		return Pass, nil
	}
	if len(views) == 2 { // rulebook 63, 64
		introducer, introducee := &views[0], &views[1]
		if introducee.Name() == from {
			introducer, introducee = introducee, introducer
		}
		_, introducerAddr := introducer.Addr()
		_, introduceeAddr := introducee.Addr()
		_, known := db.nodes[introducee.Name()]
		if introducer.Name() == from && introducerAddr && introduceeAddr && !known {
			return Introduction, nil
		}
	}
	return Standard, nil
}

// acceptDebut places a node that asks to become a neighbor (rulebook 54 to 58).
func (db *DB) acceptDebut(from wire.Name, fromAddr netip.AddrPort, v *record.View, now time.Time) Result {
	if viewLists(v, db.me) {
		// The "debutant" already lists us: this is a debut back, another node accepting our
		// own Debut. It asks for no placement, so it is never passed on; we complete the link
		// if we have room, and otherwise leave it half, as rule 73 would.
		room := db.hasRoom(from)
		delete(db.debuting, from) // our Debut to from is answered
		if !room {
			return Result{Note: "debut back at the degree limit"}
		}
		if stored, added := db.store(v, now), db.addNeighbor(from); !stored && !added {
			// A debut back from a node listed already, at a version held already (since SPEC.md
			// version 8 a known node's record with its address comes here too): nothing
			// changed that the neighbors should hear of.
			return Result{Note: "debut back changes nothing"}
		}
		return Result{Changed: true, Messages: db.broadcast(nil, wire.Name{}, false)}
	}
	exclude := func(n wire.Name) bool { return n == from || viewLists(v, n) }
	// Step 1 (rulebook 54): a full neighbor better placed to take the debutant.
	if n, ok := db.betterPlacedNeighbor(exclude); ok {
		db.notePlaced(n)
		return Result{Messages: []Message{db.passMessage(from, fromAddr, n)}}
	}
	// Step 2 (rulebook 55): accept below the degree limit.
	if db.hasRoom(from) {
		stored, added := db.store(v, now), db.addNeighbor(from)
		res := Result{Changed: stored || added}
		if v.NumNeighbors() > 0 && !mutant.Is("debutant-with-neighbor-introduced") {
			// Rulebook 56: the debutant already has a neighbor, so it is answering an
			// Introduction or a Pass; introducing it again would over-connect it. The
			// Standard gossip that shows it listed is its answer.
			if !res.Changed {
				if m, ok := db.gossipFor(from, db.referenced()); ok {
					res.Messages = []Message{m}
				}
				return res
			}
			res.Messages = db.broadcast(nil, wire.Name{}, false)
			return res
		}
		var reply Message
		if n, ok := db.introductionCandidate(exclude); ok {
			db.notePlaced(n)
			reply = db.gossipMessage(from, fromAddr, Introduction, db.debutRecord(), db.addrs[n].b)
		} else {
			// Rulebook 57: nobody to introduce, so debut back: the own record, now listing
			// the debutant, lets it complete the link.
			reply = db.gossipMessage(from, fromAddr, Debut, db.debutRecord())
		}
		res.Messages = []Message{reply}
		if res.Changed {
			res.Messages = db.broadcast(res.Messages, from, true)
		}
		return res
	}
	// Step 3 (rulebook 58): full up, so pass to the least-connected neighbor, or fail.
	if n, ok := db.leastConnectedNeighbor(exclude); ok {
		// Whether to split goes by the records alone: every neighbor that suits is at the
		// limit by the record held of it (SPEC.md NB-5).
		if d := db.leastRecordedDegree(exclude); d >= db.cfg.MaxDegree && !mutant.Is("saturated-passes-on") {
			if res, ok := db.split(from, fromAddr, v, exclude, now); ok {
				return res
			}
		}
		db.notePlaced(n)
		return Result{Messages: []Message{db.passMessage(from, fromAddr, n)}}
	}
	return Result{
		Messages: []Message{{To: from, Addr: fromAddr, Kind: KindFailure, Body: AppendFailure(nil, NoSuitableNeighbors)}},
		Note:     "no suitable neighbor to pass the debutant to",
	}
}

// split makes room for a debutant at the degree limit when the neighbor a Pass would name is at
// the limit too, and so is every other neighbor that suits (SPEC.md NB-5): a Pass could only
// send the debutant round among full nodes, where NB-6's guard ends the walk, and a part of the
// network in which every node is full could never grow. The node withdraws its least-connected
// full neighbor that suits and lists one of its other neighbors, and lists the debutant in its
// place, in one version, and introduces
// the debutant to the withdrawn neighbor, which now has a place for it: the link is split in
// two through the debutant. The withdrawn neighbor is sent Standard gossip too, since it is no
// longer among those a change goes to, and must learn that it has room.
func (db *DB) split(from wire.Name, fromAddr netip.AddrPort, v *record.View, exclude func(wire.Name) bool, now time.Time) (Result, bool) {
	if db.degree() < db.cfg.MaxDegree {
		// At the limit only through places held for its own Debuts: the withdrawn neighbor would
		// see a record listing fewer than the limit without it, keep its link as a half link
		// it cannot know is over (cannotListMe), and hold that place for good.
		return Result{}, false
	}
	// Only a link the held records show another path around: one that is a network's only
	// bridge between two parts would cut it in two if the debutant's Debut to the withdrawn
	// neighbor is passed on (seen: 1 run in 20 at 32 nodes converged into two parts).
	out, ok := db.leastRecorded(func(n wire.Name) bool { return !exclude(n) && db.lists(n, db.me) && db.pathAround(n) })
	if !ok {
		return Result{}, false
	}
	db.store(v, now)
	db.replaceNeighbor(out, from)
	reply := db.gossipMessage(from, fromAddr, Introduction, db.debutRecord(), db.addrs[out].b)
	msgs := db.broadcast([]Message{reply}, from, true)
	if m, ok := db.gossipFor(out, db.referenced()); ok {
		msgs = append(msgs, m)
	}
	return Result{Changed: true, Messages: msgs, Note: "split the link to " + out.String()[:8]}, true
}

// pathAround reports whether the records the node holds show a path from it to its neighbor n
// over full links other than the link between them (SPEC.md NB-5). Asking only for a third node
// both list, as NB-5 did before, forbade every split where neighborhoods have no triangles,
// which splits themselves make: at 64 nodes debuting at once, the first 32 filled every place
// without a triangle, and the other 32 were passed back and forth between two full nodes for
// good.
func (db *DB) pathAround(n wire.Name) bool {
	if mutant.Is("bridge-split") {
		return true
	}
	seen := map[wire.Name]bool{db.me: true}
	var queue []wire.Name
	for _, m := range db.own.Neighbors {
		if m != n && db.lists(m, db.me) {
			seen[m] = true
			queue = append(queue, m)
		}
	}
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		e := db.nodes[a]
		if e == nil {
			continue
		}
		for i := range e.view.NumNeighbors() {
			b := e.view.Neighbor(i)
			if seen[b] || !db.lists(b, a) {
				continue
			}
			if b == n {
				return true
			}
			seen[b] = true
			queue = append(queue, b)
		}
	}
	return false
}

func (db *DB) passMessage(to wire.Name, addr netip.AddrPort, target wire.Name) Message {
	return db.gossipMessage(to, addr, Pass, db.addrs[target].b)
}

// passable reports whether a Debut can be sent on to n: n accepts connections and we hold a
// record with its address, signed by n, to put in a Pass or an Introduction.
func (db *DB) passable(n wire.Name) bool { return db.accepts(n) && db.addrs[n] != nil }

// betterPlacedNeighbor finds, among the full neighbors that accept connections and are not
// excluded, the one of lowest degree among those of degree 3 or more, if that degree is below
// the own degree (rulebook 54). Ties go to the lower name.
func (db *DB) betterPlacedNeighbor(exclude func(wire.Name) bool) (wire.Name, bool) {
	best, bestDegree := wire.Name{}, -1
	for _, n := range db.own.Neighbors {
		if exclude(n) || !db.lists(n, db.me) || !db.passable(n) {
			continue
		}
		// Degree 3 or more by its record; ranked by the degree placement sees.
		if recorded, _ := db.Degree(n); recorded < 3 {
			continue
		}
		d := db.placementDegree(n)
		if bestDegree < 0 || d < bestDegree || mutant.Is("pass-highest-name") && d == bestDegree {
			best, bestDegree = n, d
		}
	}
	return best, bestDegree >= 0 && bestDegree < db.degree()
}

// introductionCandidate finds the least-connected full neighbor that accepts connections and is
// not excluded (rulebook 55). Ties go to the lower name.
func (db *DB) introductionCandidate(exclude func(wire.Name) bool) (wire.Name, bool) {
	return db.leastConnected(func(n wire.Name) bool { return !exclude(n) && db.lists(n, db.me) })
}

// leastConnectedNeighbor finds the least-connected neighbor, half neighbors included, that
// is not excluded (rulebook 58).
func (db *DB) leastConnectedNeighbor(exclude func(wire.Name) bool) (wire.Name, bool) {
	return db.leastConnected(func(n wire.Name) bool { return !exclude(n) })
}

// leastRecordedDegree is the lowest degree, by the records held, of the neighbors a Pass could
// name (rulebook 58), half neighbors included; -1 when there is none.
func (db *DB) leastRecordedDegree(exclude func(wire.Name) bool) int {
	n, ok := db.leastRecorded(func(n wire.Name) bool { return !exclude(n) })
	if !ok {
		return -1
	}
	d, _ := db.Degree(n)
	return d
}

// leastConnected finds the neighbor that suits of lowest degree as placement sees it
// (placementDegree), the lowest name among equals.
func (db *DB) leastConnected(suits func(wire.Name) bool) (wire.Name, bool) {
	return db.leastBy(suits, db.placementDegree)
}

// leastRecorded is leastConnected by the degrees the records held show, as a split chooses the
// link to split (SPEC.md NB-5).
func (db *DB) leastRecorded(suits func(wire.Name) bool) (wire.Name, bool) {
	return db.leastBy(suits, func(n wire.Name) int { d, _ := db.Degree(n); return d })
}

func (db *DB) leastBy(suits func(wire.Name) bool, degree func(wire.Name) int) (wire.Name, bool) {
	best, bestDegree := wire.Name{}, -1
	for _, n := range db.own.Neighbors {
		if !suits(n) || !db.passable(n) {
			continue
		}
		if d := degree(n); bestDegree < 0 || d < bestDegree || mutant.Is("pass-highest-name") && d == bestDegree {
			best, bestDegree = n, d
		}
	}
	return best, bestDegree >= 0
}

// acceptPass sends a Debut to the node a Debut target passed us to (rulebook 61), unless the
// pass-loop guard stops it (rulebook 62). The database does not change.
func (db *DB) acceptPass(from wire.Name, v *record.View, now time.Time) Result {
	delete(db.debuting, from) // our Debut to from is answered
	target := v.Name()
	if _, banned := db.bans[target]; banned {
		return Result{Note: "pass target is banned"}
	}
	if db.lists(db.me, target) {
		return Result{Note: "pass target is already a neighbor"}
	}
	if !db.hasRoom(from) {
		// The target would list us and we could never list it back: a half link for good.
		return Result{Note: "at the degree limit"}
	}
	if db.addressConflict(v) || db.equivocates(v) {
		return Result{Note: "pass target's record contradicts one it signed before"}
	}
	if t, ok := db.passed[target]; ok && !mutant.Is("pass-loop-unguarded") {
		db.passed[target] = now
		if now.Sub(t) <= db.cfg.PassExpiry {
			return Result{Note: "pass loop: target was passed to us recently"}
		}
	} else if _, inProgress := db.debuting[target]; inProgress {
		return Result{Note: "pass loop: a Debut to the target is in progress"}
	}
	db.passed[target] = now
	db.learnAddress(v)
	addr, _ := v.Addr()
	return Result{Messages: []Message{db.Debut(target, addr, now)}}
}

// acceptIntroduction takes the introducer as a neighbor and debuts to the introducee
// (rulebook 65, 66). The introducee is not stored as a record, only its address.
func (db *DB) acceptIntroduction(from wire.Name, views []record.View, now time.Time) Result {
	if !db.hasRoom(from) {
		delete(db.debuting, from)
		return Result{Note: "at the degree limit"}
	}
	delete(db.debuting, from)
	introducer, introducee := &views[0], &views[1]
	if introducee.Name() == from {
		introducer, introducee = introducee, introducer
	}
	changed := db.store(introducer, now)
	if db.addNeighbor(from) {
		changed = true
	}
	var msgs []Message
	target := introducee.Name()
	_, banned := db.bans[target]
	if mutant.Is("introducee-stored") && !banned && !db.addressConflict(introducee) && !db.equivocates(introducee) && db.store(introducee, now) {
		changed = true // the introducee's record is taken in as Standard gossip would take it
	}
	// The introducer took a place; a Debut to the introducee needs one more, or it would
	// leave the introducee listing us for good.
	if !banned && db.hasRoom(target) && !db.addressConflict(introducee) && !db.equivocates(introducee) {
		db.learnAddress(introducee)
		addr, _ := introducee.Addr()
		msgs = append(msgs, db.Debut(target, addr, now))
	}
	res := Result{Changed: changed, Messages: msgs}
	if changed {
		res.Messages = db.broadcast(msgs, wire.Name{}, false)
	}
	return res
}

// acceptStandard incorporates whatever is new (rulebook 68 to 75), takes the sender as a
// neighbor if it lists us and there is room (rulebook 73), and gossips if anything changed.
func (db *DB) acceptStandard(from wire.Name, views []record.View, now time.Time) Result {
	delete(db.debuting, from) // a Standard reply is how a Debut target that already had a link answers
	changed := false
	for i := range views {
		v := &views[i]
		name := v.Name()
		if _, banned := db.bans[name]; banned {
			continue // rulebook 82: a banned node's records are not used
		}
		_, hasAddr := v.Addr()
		if _, known := db.nodes[name]; !known && hasAddr && name != from && !mutant.Is("stranger-address-kept") {
			continue // rulebook 71: a relay revealed an unknown third node's address
		}
		if name != from && db.addressConflict(v) {
			continue // rulebook 77: the subject contradicts itself; the relay cannot have forged it
		}
		if _, known := db.nodes[name]; !known && name != from && db.full() && !mutant.Is("records-unbounded") {
			db.dropped++ // NB-15: the sender is not blamed; an honest relay of a big network looks the same
			continue
		}
		if db.equivocates(v) && !mutant.Is("equal-version-replaces") {
			// Two records with one version: kept out, not banned, because a node restarted
			// without its data directory signs its old version numbers again honestly.
			continue
		}
		if db.store(v, now) {
			changed = true
			if db.lists(db.me, name) && db.cannotListMe(name) && db.removeNeighbor(name) {
				// A half neighbor that filled up elsewhere (it accepted other Debuts before
				// our reply reached it) would hold one of our places for good.
				changed = true
			}
		}
	}
	if db.lists(from, db.me) && db.hasRoom(from) && db.addNeighbor(from) {
		changed = true
	}
	if !changed {
		return Result{Note: "nothing new"}
	}
	return Result{Changed: true, Messages: db.broadcast(nil, wire.Name{}, false)}
}

// AcceptFailure handles a failure body from a Debut target that could not place us (rulebook
// 58). The Debut stops being in progress; a node that has no neighbors and no Debut left in
// progress has failed to join (rulebook 59), which the node decides from PendingDebuts.
func (db *DB) AcceptFailure(from wire.Name, body []byte, now time.Time) Result {
	if _, banned := db.bans[from]; banned {
		return Result{Refused: true, Note: "sender is banned"}
	}
	reason, err := DecodeFailure(body)
	if err != nil {
		return db.Ban(from, fmt.Errorf("%w: %w", ErrMalformed, err), now)
	}
	if _, ok := db.debuting[from]; !ok {
		return Result{Failure: reason, Note: "failure from a node no Debut is waiting for"}
	}
	delete(db.debuting, from)
	return Result{Failure: reason, Note: "Debut failed: " + reason.String()}
}

// cannotListMe reports whether name's stored record is at the degree limit without listing us,
// so that it cannot complete a link to us. Other nodes are presumed to keep our limit.
func (db *DB) cannotListMe(name wire.Name) bool {
	e := db.nodes[name]
	return e != nil && e.view.NumNeighbors() >= db.cfg.MaxDegree && !viewLists(&e.view, db.me)
}
