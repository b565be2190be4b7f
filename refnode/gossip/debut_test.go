package gossip

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// wantOnlyRecords fails unless m is gossip of type t carrying exactly the named records.
func wantRecords(t *testing.T, m Message, typ Type, names ...wire.Name) []record.Record {
	t.Helper()
	if m.Type != typ {
		t.Fatalf("message to %s is %v, want %v", short(m.To), m.Type, typ)
	}
	rs := decode(t, m)
	if len(rs) != len(names) {
		t.Fatalf("message to %s has %d records, want %d", short(m.To), len(rs), len(names))
	}
	for _, n := range names {
		if _, ok := find(rs, n); !ok {
			t.Fatalf("message to %s lacks the record of %s", short(m.To), short(n))
		}
	}
	return rs
}

// wantUnchanged fails if the database holds records or a version it did not hold before.
func wantUnchanged(t *testing.T, db *DB, version uint64, known int) {
	t.Helper()
	if db.Version() != version || len(db.Known()) != known {
		t.Fatalf("database changed: version %d (want %d), %d records (want %d)", db.Version(), version, len(db.Known()), known)
	}
}

// Rulebook 52: a Debut that carries an address but does not accept connections is malformed.
func TestDebutWithAddressButNotAcceptingIsBanned(t *testing.T) {
	f := newFixture(t)
	x := newPeer(1)
	res := f.accept(x, body(x.sign(t, rec{withAddr: true})))
	wantBan(t, res, x.name, ErrDebutAddrNoAccept)
	if res.Type != Debut {
		t.Fatalf("classified as %v, want Debut", res.Type)
	}
}

// Rulebook 52 (debut_without_node_addr_accepting_connections_is_rejected), as sskit must read it:
// an accepting node's record without an address is how Standard gossip carries it, so alone
// it is Standard gossip about a new node, not a malformed Debut.
func TestLoneConcealedRecordOfAcceptingSenderIsStandardGossip(t *testing.T) {
	f := newFixture(t)
	x := newPeer(1)
	res := f.accept(x, body(x.concealed(t, 1)))
	wantNoBan(t, res)
	if res.Type != Standard || !res.Changed {
		t.Fatalf("got %s, want Standard gossip that stores the record", describe(res))
	}
	if f.db.lists(f.me.name, x.name) {
		t.Fatal("a node that does not list us became a neighbor")
	}
}

// Rulebook 52 (proper_debut_of_non_accepting_node_...): an originate-only node debuts without an
// address.
func TestDebutOfNonAcceptingNodeIsAccepted(t *testing.T) {
	f := newFixture(t)
	x := newPeer(1)
	res := f.accept(x, body(x.sign(t, rec{})))
	wantNoBan(t, res)
	if res.Type != Debut || !res.Changed || !f.db.lists(f.me.name, x.name) {
		t.Fatalf("got %s, want the Debut accepted", describe(res))
	}
	wantRecords(t, only(t, res), Debut, f.me.name)
}

// Rulebook 52: a Debut whose address is not the sender's IP is a lie about the sender; MASQ
// passes it on to the Pass check, sskit knows the sender's name and bans it.
func TestDebutFromAnotherIPThanItsAddressIsBanned(t *testing.T) {
	f := newFixture(t)
	x := newPeer(1)
	elsewhere := netip.MustParseAddrPort("192.0.2.7:7000")
	res := f.db.Accept(x.name, elsewhere, body(x.addressed(t, 1)), t0)
	wantBan(t, res, x.name, ErrNotSendersAddress)
}

// The sender's address is checked by IP only: the port a packet comes from need not be the one
// the node listens on, and an IPv4-mapped source is the same IPv4 address.
func TestDebutFromItsIPOnAnotherPortIsAccepted(t *testing.T) {
	x := newPeer(1)
	for _, from := range []netip.AddrPort{
		netip.AddrPortFrom(x.addr.Addr(), 40000),
		netip.AddrPortFrom(netip.AddrFrom16(x.addr.Addr().As16()), 40000),
	} {
		f := newFixture(t)
		res := f.db.Accept(x.name, from, body(x.addressed(t, 1)), t0)
		wantNoBan(t, res)
	}
}

// Rulebook 53, as SPEC.md version 8 settles it: a known node's own record alone without its
// address is Standard gossip, ignored unless its version is new
// (redebut_is_passed_to_standard_gossip_handler_and_ignored_if_it_is_not_a_new_version,
// ..._and_incorporated_if_it_is_a_new_version); with its address it is a Debut, whether the node
// holds a record of it or not, since Standard gossip never carries its sender's address.
func TestRedebutOfKnownNodeIsStandardGossip(t *testing.T) {
	f := newFixture(t)
	x := newPeer(1)
	f.store(x.concealed(t, 2))
	res := f.accept(x, body(x.concealed(t, 2)))
	if res.Type != Standard || res.Changed || len(res.Messages) != 0 {
		t.Fatalf("same version: got %s, want ignored Standard gossip", describe(res))
	}
	res = f.accept(x, body(x.concealed(t, 3)))
	if res.Type != Standard || !res.Changed {
		t.Fatalf("new version: got %s, want incorporated Standard gossip", describe(res))
	}
	if v, _ := f.db.Record(x.name); v.Version() != 3 {
		t.Fatalf("stored version %d, want 3", v.Version())
	}
}

// The race that left Debuts unanswered: a neighbor that took the debutant relays its record
// before the debutant's own Debut arrives. The Debut is still a Debut, and is answered.
func TestDebutOfANodeWhoseRecordWasRelayedIsAnswered(t *testing.T) {
	f := newFixture(t)
	ann, x := newPeer(1), newPeer(2)
	f.link(ann, true, true, 2)
	f.store(x.concealed(t, 1, ann.name)) // relayed by ann, which took x
	res := f.accept(x, body(x.addressed(t, 1, ann.name)))
	wantNoBan(t, res)
	if res.Type != Debut || !f.db.lists(f.me.name, x.name) || len(messagesTo(res, x.name)) != 1 {
		t.Fatalf("got %s, want a Debut, the debutant listed and answered", describe(res))
	}
}

// Rulebook 54 (fifth_debut_is_handled): a full neighbor of degree 3 or more but less than ours
// is better placed; the debutant is passed to it and nothing changes here.
func TestDebutIsPassedToBetterPlacedNeighbor(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 5)
	f.link(ps[0], true, true, 2)
	f.link(ps[1], true, true, 4)
	f.link(ps[2], true, true, 3) // the best placed
	f.link(ps[3], true, true, 4)
	x := ps[4]
	version := f.db.Version()
	res := f.accept(x, body(x.addressed(t, 1)))
	wantNoBan(t, res)
	m := only(t, res)
	if m.To != x.name || m.Addr != x.addr {
		t.Fatalf("pass went to %s at %v", short(m.To), m.Addr)
	}
	rs := wantRecords(t, m, Pass, ps[2].name)
	if !rs[0].Addr.IsValid() {
		t.Fatal("the Pass does not carry the target's address")
	}
	wantUnchanged(t, f.db, version, 4)
}

func TestBetterPlacedNeighborSkipsDegreeTwoAndFindsThree(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 5)
	f.link(ps[0], true, true, 2)
	f.link(ps[1], true, true, 2)
	f.link(ps[2], true, true, 3)
	f.link(ps[3], false, true, 1) // a half neighbor raises our degree to 4
	n, ok := f.db.betterPlacedNeighbor(func(wire.Name) bool { return false })
	if !ok || n != ps[2].name {
		t.Fatalf("got %s, %v; want the degree-3 neighbor", short(n), ok)
	}
}

func TestNoBetterPlacedNeighborWhenAllAreAsConnectedAsMe(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 4)
	for _, p := range ps[:3] {
		f.link(p, true, true, 3)
	}
	if n, ok := f.db.betterPlacedNeighbor(func(wire.Name) bool { return false }); ok {
		t.Fatalf("found %s", short(n))
	}
	res := f.accept(ps[3], body(ps[3].addressed(t, 1)))
	if len(res.Messages) == 0 || res.Messages[0].Type != Introduction {
		t.Fatalf("got %s, want the debut accepted with an Introduction", describe(res))
	}
}

func TestBetterPlacedNeighborMustAcceptConnections(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 4)
	f.link(ps[0], true, false, 3)
	f.link(ps[1], true, true, 5)
	f.link(ps[2], true, true, 5)
	f.link(ps[3], true, true, 5)
	if n, ok := f.db.betterPlacedNeighbor(func(wire.Name) bool { return false }); ok {
		t.Fatalf("found %s, which does not accept connections", short(n))
	}
}

func TestBetterPlacedNeighborIsNeverTheDebutantsNeighbor(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 5)
	f.link(ps[0], true, true, 3)
	for _, p := range ps[1:4] {
		f.link(p, true, true, 5)
	}
	x := ps[4]
	res := f.accept(x, body(x.addressed(t, 2, ps[0].name)))
	for _, m := range res.Messages {
		if m.Type == Pass {
			t.Fatalf("debutant passed to its own neighbor: %s", describe(res))
		}
	}
}

// Rulebook 55 and 57 (first_debut_is_handled): with no neighbor to introduce, the Debut is
// accepted and answered with the own record, which now lists the debutant.
func TestFirstDebutIsAcceptedAndDebutedBack(t *testing.T) {
	f := newFixture(t)
	x := newPeer(1)
	res := f.accept(x, body(x.addressed(t, 1)))
	wantNoBan(t, res)
	if !res.Changed || f.db.Version() != 2 || !f.db.lists(f.me.name, x.name) {
		t.Fatalf("got %s, version %d; want the debutant listed at version 2", describe(res), f.db.Version())
	}
	m := only(t, res)
	rs := wantRecords(t, m, Debut, f.me.name)
	if rs[0].Addr != f.me.addr || len(rs[0].Neighbors) != 1 || rs[0].Neighbors[0] != x.name {
		t.Fatalf("debut back %+v does not give our address and list the debutant", rs[0])
	}
	if _, ok := f.db.Record(x.name); !ok {
		t.Fatal("the debutant's record was not stored")
	}
}

// Rulebook 55 (second_debut_is_handled, fourth_debut_is_handled): the debutant is introduced to
// the least-connected full neighbor that accepts connections, and the other neighbors hear of
// the change.
func TestDebutIsAnsweredWithIntroductionToLeastConnectedNeighbor(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 4)
	f.link(ps[0], true, true, 3)
	f.link(ps[1], true, true, 2) // least connected
	f.link(ps[2], true, true, 3)
	x := ps[3]
	res := f.accept(x, body(x.addressed(t, 1)))
	wantNoBan(t, res)
	if res.Type != Debut || !res.Changed || f.db.Version() != 5 {
		t.Fatalf("got %s at version %d", describe(res), f.db.Version())
	}
	intro := res.Messages[0]
	if intro.To != x.name {
		t.Fatalf("the Introduction went to %s", short(intro.To))
	}
	rs := wantRecords(t, intro, Introduction, f.me.name, ps[1].name)
	for _, r := range rs {
		if !r.Addr.IsValid() {
			t.Fatalf("the Introduction lacks the address of %s", short(r.Name))
		}
	}
	if len(res.Messages) != 4 || len(messagesTo(res, x.name)) != 1 {
		t.Fatalf("want the Introduction and Standard gossip to the 3 other neighbors: %s", describe(res))
	}
}

// Rulebook 56 (debut_of_already_connected_node_produces_accepted_result_instead_of_introduction_
// to_prevent_overconnection, proper_debut_of_node_cant_produce_introduction_because_of_common_
// neighbor): a debutant that already lists neighbors is accepted and sent Standard gossip.
func TestDebutOfAlreadyConnectedNodeIsAcceptedWithoutIntroduction(t *testing.T) {
	for _, common := range []bool{false, true} {
		f := newFixture(t)
		a, x := newPeer(1), newPeer(2)
		f.link(a, true, true, 1)
		listed := ghosts(3, 1)[0]
		if common {
			listed = a.name
		}
		res := f.accept(x, body(x.addressed(t, 2, listed)))
		wantNoBan(t, res)
		if !res.Changed || !f.db.lists(f.me.name, x.name) {
			t.Fatalf("common=%v: got %s, want the debut accepted", common, describe(res))
		}
		for _, m := range res.Messages {
			if m.Type != Standard {
				t.Fatalf("common=%v: sent %v to %s, want only Standard gossip", common, m.Type, short(m.To))
			}
		}
		if len(messagesTo(res, x.name)) != 1 || len(messagesTo(res, a.name)) != 1 {
			t.Fatalf("common=%v: want Standard gossip to the debutant and the neighbor: %s", common, describe(res))
		}
	}
}

// Rulebook 57 (introduction_is_impossible_if_only_candidate_is_half_neighbor,
// ..._does_not_accept_connections): with nobody to introduce the answer is a debut back.
func TestDebutIsDebutedBackWhenOnlyHalfOrNonAcceptingNeighbors(t *testing.T) {
	for _, tc := range []struct {
		name          string
		full, accepts bool
	}{{"half neighbor", false, true}, {"non-accepting neighbor", true, false}} {
		f := newFixture(t)
		a, x := newPeer(1), newPeer(2)
		f.link(a, tc.full, tc.accepts, 1)
		res := f.accept(x, body(x.addressed(t, 1)))
		wantNoBan(t, res)
		ms := messagesTo(res, x.name)
		if len(ms) != 1 {
			t.Fatalf("%s: %s", tc.name, describe(res))
		}
		wantRecords(t, ms[0], Debut, f.me.name)
	}
}

// Rulebook 58 (debut_when_degree_is_five_is_passed_to_least_connected_neighbor): at the degree
// limit the debutant goes to the least-connected neighbor, half neighbors included.
func TestDebutAtDegreeFiveIsPassedToLeastConnectedNeighbor(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 6)
	for _, p := range ps[:4] {
		f.link(p, true, true, 5)
	}
	f.link(ps[4], false, true, 1) // half neighbor, least connected
	x := ps[5]
	version := f.db.Version()
	res := f.accept(x, body(x.addressed(t, 1)))
	wantNoBan(t, res)
	wantRecords(t, only(t, res), Pass, ps[4].name)
	wantUnchanged(t, f.db, version, 5)
}

// linkListing makes p a full neighbor whose record lists the node and others, as f.link does.
func (f *fixture) linkListing(p peer, others ...wire.Name) {
	f.t.Helper()
	ns := append([]wire.Name{f.me.name}, others...)
	f.store(p.sign(f.t, rec{version: 1, accepts: true, withAddr: true, neighbors: ns}))
	f.store(p.sign(f.t, rec{version: 1, accepts: true, neighbors: ns}))
	f.db.addNeighbor(p.name)
}

// SPEC.md NB-5's split: at the degree limit with every neighbor that suits at the limit too, the
// node lists the debutant in place of its least-connected full neighbor that lists another of
// its neighbors (the lowest name among equals), in one version, introduces the debutant to it,
// and gossips the change to the four that stay and to the one withdrawn.
func TestSaturatedNeighborhoodSplitsALinkForTheDebutant(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 6)
	byName := slices.Clone(ps[:5])
	slices.SortFunc(byName, func(a, b peer) int { return compareNames(a.name, b.name) })
	// The lowest-named lists no other neighbor of the node (the link may be a bridge); the
	// others form a ring, each listing two of them besides the node and ghosts.
	lone, ring := byName[0], byName[1:]
	f.linkListing(lone, ghosts(1, 4)...)
	for i, p := range ring {
		f.linkListing(p, ring[(i+1)%4].name, ring[(i+3)%4].name, ghosts(10+i, 2)[0], ghosts(10+i, 2)[1])
	}
	x := ps[5]
	version := f.db.Version()
	res := f.accept(x, body(x.addressed(t, 1)))
	wantNoBan(t, res)
	if !res.Changed || f.db.Version() != version+1 {
		t.Fatalf("got %s at version %d, want a change to version %d", describe(res), f.db.Version(), version+1)
	}
	out := ring[0].name
	if f.db.degree() != 5 || !f.db.lists(f.me.name, x.name) || f.db.lists(f.me.name, out) || !f.db.lists(f.me.name, lone.name) {
		t.Fatalf("own neighbors %v: want the debutant in place of %s, the lowest name sharing a neighbor", f.db.own.Neighbors, short(out))
	}
	intro := messagesTo(res, x.name)
	if len(intro) != 1 {
		t.Fatalf("want one answer to the debutant: %s", describe(res))
	}
	wantRecords(t, intro[0], Introduction, f.me.name, out)
	if len(res.Messages) != 6 || len(messagesTo(res, out)) != 1 {
		t.Fatalf("want the Introduction, gossip to the 4 neighbors that stay and to the withdrawn one: %s", describe(res))
	}
}

// A link that may be the only bridge between two parts of the network is never split: with no
// neighbor sharing another neighbor, the debutant is passed on as before.
func TestSaturatedNeighborhoodSplitsNoPossibleBridge(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 6)
	for _, p := range ps[:5] {
		f.link(p, true, true, 5)
	}
	x := ps[5]
	version := f.db.Version()
	res := f.accept(x, body(x.addressed(t, 1)))
	wantNoBan(t, res)
	if m := only(t, res); m.Type != Pass {
		t.Fatalf("got %s, want a Pass", describe(res))
	}
	wantUnchanged(t, f.db, version, 5)
}

// A saturated neighborhood without triangles still grows: the records held show a longer path
// around the links to two of the five neighbors (through a node neither the node nor the others
// list), so the lower-named of those two is split, though a neighbor of a lower name is not
// (its link may be a bridge). A path over a link that only one side's record lists is no path.
func TestSaturatedNeighborhoodSplitsALinkThatHasAPathAround(t *testing.T) {
	for _, full := range []bool{true, false} {
		f := newFixture(t)
		ps := peers(1, 7)
		byName := slices.Clone(ps[:5])
		slices.SortFunc(byName, func(a, b peer) int { return compareNames(a.name, b.name) })
		bridge, a, b := byName[0], byName[3], byName[4]
		far := ps[6] // a node two hops away, linking a and b
		for _, p := range byName {
			ns := append([]wire.Name{f.me.name}, ghosts(int(p.name[0])<<8|int(p.name[1]), 4)...)
			if p.name == a.name || p.name == b.name {
				ns[1] = far.name
			}
			f.linkListing(p, ns[1:]...)
		}
		farLists := []wire.Name{a.name, b.name}
		if !full {
			farLists = farLists[:1] // b lists far, but far does not list b
		}
		f.store(far.concealed(t, 1, farLists...))
		x := newPeer(100)
		version := f.db.Version()
		res := f.accept(x, body(x.addressed(t, 1)))
		wantNoBan(t, res)
		if !full {
			if m := only(t, res); m.Type != Pass || f.db.Version() != version {
				t.Fatalf("with a half link on the only path around: got %s, want a Pass and no change", describe(res))
			}
			continue
		}
		out := a.name // a sorts below b
		if f.db.Version() != version+1 || !f.db.lists(f.me.name, x.name) || f.db.lists(f.me.name, out) || !f.db.lists(f.me.name, bridge.name) {
			t.Fatalf("own neighbors %v after %s: want the debutant in place of %s, the lower of the two with a path around", f.db.own.Neighbors, describe(res), short(out))
		}
		wantRecords(t, messagesTo(res, x.name)[0], Introduction, f.me.name, out)
	}
}

// Rulebook 58 (proper_debut_of_node_cant_be_passed_because_of_common_neighbors): when every
// neighbor is excluded the debutant gets GossipFailure NoSuitableNeighbors.
func TestDebutAtDegreeFiveFailsWhenNobodySuits(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 6)
	var names []wire.Name
	for _, p := range ps[:5] {
		f.link(p, true, true, 5)
		names = append(names, p.name)
	}
	x := ps[5]
	res := f.accept(x, body(x.addressed(t, 2, names...)))
	wantNoBan(t, res)
	m := only(t, res)
	if m.Kind != KindFailure || m.To != x.name {
		t.Fatalf("got %s, want a failure to the debutant", describe(res))
	}
	if r, err := DecodeFailure(m.Body); err != nil || r != NoSuitableNeighbors {
		t.Fatalf("failure %v, %v; want NoSuitableNeighbors", r, err)
	}
	if f.db.lists(f.me.name, x.name) || f.db.degree() != 5 {
		t.Fatal("the degree limit was exceeded")
	}
}

// Sskit settlement 7, both sides of the limit: at degree 4 a Debut is accepted, at degree 5
// (half neighbors counted) it is not.
func TestDebutIsAcceptedOnlyBelowDegreeFive(t *testing.T) {
	for degree := 4; degree <= 5; degree++ {
		f := newFixture(t)
		for _, p := range peers(1, degree) {
			f.link(p, false, true, 1)
		}
		x := newPeer(100)
		res := f.accept(x, body(x.addressed(t, 1)))
		if accepted := f.db.lists(f.me.name, x.name); accepted != (degree < 5) {
			t.Fatalf("degree %d: accepted=%v: %s", degree, accepted, describe(res))
		}
	}
}

func TestDebutMessageCarriesTheAddressedOwnRecord(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	m := f.db.Debut(a.name, a.addr, t0)
	if m.To != a.name || m.Addr != a.addr || m.Type != Debut || m.Kind != KindGossip {
		t.Fatalf("Debut message %+v", m)
	}
	if !bytes.Equal(m.Body, body(f.db.debutRecord())) {
		t.Fatal("the Debut body is not the addressed own record alone")
	}
	if p := f.db.PendingDebuts(); len(p) != 1 || p[0] != a.name {
		t.Fatal("the Debut is not pending")
	}
}

// Rulebook 54, 55 and 58: of the suitable neighbors of equal lowest degree, a Pass (step 1 and
// step 3) and an Introduction name the one with the lowest name.
func TestDebutPlacementTiesGoToTheLowerName(t *testing.T) {
	// lowerFirst returns the two peers ordered by name.
	lowerFirst := func(a, b peer) (peer, peer) {
		if compareNames(a.name, b.name) < 0 {
			return a, b
		}
		return b, a
	}
	x := newPeer(100)
	t.Run("step 1 Pass", func(t *testing.T) {
		f := newFixture(t)
		ps := peers(1, 4)
		f.link(ps[0], true, true, 3)
		f.link(ps[1], true, true, 3)
		f.link(ps[2], true, true, 4)
		f.link(ps[3], true, true, 4)
		low, _ := lowerFirst(ps[0], ps[1])
		wantRecords(t, only(t, f.accept(x, body(x.addressed(t, 1)))), Pass, low.name)
	})
	t.Run("step 2 Introduction", func(t *testing.T) {
		f := newFixture(t)
		ps := peers(1, 2)
		f.link(ps[0], true, true, 2)
		f.link(ps[1], true, true, 2)
		low, _ := lowerFirst(ps[0], ps[1])
		res := f.accept(x, body(x.addressed(t, 1)))
		wantRecords(t, res.Messages[0], Introduction, f.me.name, low.name)
	})
	t.Run("step 3 Pass", func(t *testing.T) {
		f := newFixture(t)
		ps := peers(1, 5)
		for _, p := range ps[:3] {
			f.link(p, true, true, 5)
		}
		f.link(ps[3], false, true, 1) // two half neighbors, least connected alike
		f.link(ps[4], false, true, 1)
		low, _ := lowerFirst(ps[3], ps[4])
		wantRecords(t, only(t, f.accept(x, body(x.addressed(t, 1)))), Pass, low.name)
	})
}

// A Debut that changes nothing (the debutant listed already, its record held at that version)
// is still answered, but the other neighbors are told nothing: there is nothing new for them.
func TestDebutThatChangesNothingIsAnsweredAlone(t *testing.T) {
	f := newFixture(t)
	ann, bob, x := newPeer(1), newPeer(2), newPeer(3)
	f.link(ann, true, true, 2)
	f.link(bob, true, true, 2)
	debut := body(x.addressed(t, 1, ann.name))
	if res := f.accept(x, debut); !res.Changed || !f.db.lists(f.me.name, x.name) {
		t.Fatalf("first Debut: got %s, want the debutant listed", describe(res))
	}
	version := f.db.Version()
	res := f.accept(x, debut)
	wantNoBan(t, res)
	if res.Changed || f.db.Version() != version || len(res.Messages) != 1 || res.Messages[0].To != x.name {
		t.Fatalf("the same Debut again: got %s, want one answer to the debutant and no change", describe(res))
	}
}

// SPEC.md NB-5: a debutant sent on to a neighbor counts towards that neighbor's degree until a
// newer record of it arrives, or for placementMemory. Debutants that arrive one after another
// are spread over the neighbors instead of all going to the one the records rank first, which
// passed most of them on again when 64 nodes debuted through one at once.
func TestDebutantsSentOnCountTowardsTheNeighborsDegree(t *testing.T) {
	f := newFixture(t)
	ps := peers(1, 5)
	for _, p := range ps {
		f.link(p, true, true, 2)
	}
	byName := slices.Clone(ps)
	slices.SortFunc(byName, func(a, b peer) int { return compareNames(a.name, b.name) })
	debut := func(i int, at time.Time) Message {
		x := newPeer(100 + i)
		res := f.db.Accept(x.name, x.addr, body(x.addressed(t, 1)), at)
		wantNoBan(t, res)
		return only(t, res)
	}
	// Each of the first five goes to another neighbor, in order of name.
	for i, want := range byName {
		wantRecords(t, debut(i, t0), Pass, want.name)
	}
	// All five now count one more; the sixth goes to the lowest name again.
	wantRecords(t, debut(5, t0), Pass, byName[0].name)
	// A newer record of the second, at the same degree, replaces what was counted for it.
	f.store(byName[1].sign(t, rec{version: 2, accepts: true, neighbors: append([]wire.Name{f.me.name}, ghosts(900, 1)...)}))
	wantRecords(t, debut(6, t0), Pass, byName[1].name)
	// After placementMemory the records alone count again.
	wantRecords(t, debut(7, t0.Add(placementMemory)), Pass, byName[0].name)
	wantRecords(t, debut(8, t0.Add(placementMemory)), Pass, byName[1].name)
}
