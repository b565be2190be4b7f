package gossip

import (
	"bytes"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/record"
)

// viewOf decodes a stored record for inspection.
func viewOf(b []byte) *record.View {
	var v record.View
	_ = v.Decode(b)
	return &v
}

// Rulebook 68 (non_useful_gossip_is_ignored) and 75
// (standard_gossip_with_current_and_obsolete_versions_doesnt_change_anything).
func TestGossipWithCurrentAndObsoleteVersionsChangesNothing(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	f.store(a.concealed(t, 100, f.me.name))
	f.store(c.concealed(t, 100, a.name))
	res := f.accept(a, body(a.concealed(t, 100, f.me.name), c.concealed(t, 99, a.name)))
	wantNoBan(t, res)
	if res.Type != Standard || res.Changed || len(res.Messages) != 0 {
		t.Fatalf("got %s, want ignored", describe(res))
	}
	if v, _ := f.db.Record(c.name); v.Version() != 100 {
		t.Fatalf("version %d replaced 100", v.Version())
	}
}

// Rulebook 68 (proper_standard_gossip_is_matched_and_handled): new records are stored and the
// change is gossiped to every neighbor, the sender included.
func TestStandardGossipIsIncorporatedAndGossipedOn(t *testing.T) {
	f := newFixture(t)
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	f.link(a, true, true, 2)
	f.link(b, true, true, 1)
	res := f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), c.concealed(t, 1, a.name)))
	wantNoBan(t, res)
	if !res.Changed || len(res.Messages) != 2 {
		t.Fatalf("got %s, want Standard gossip to both neighbors", describe(res))
	}
	rs := decode(t, messagesTo(res, b.name)[0])
	if _, ok := find(rs, c.name); !ok {
		t.Fatal("the new record was not gossiped on")
	}
}

// Rulebook 69 (standard_gossip_that_contains_record_describing_local_node_by_public_key_is_
// malformed): "you don't know me".
func TestGossipCarryingTargetsOwnRecordIsBanned(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	res := f.accept(a, body(a.concealed(t, 1), f.db.OwnRecord()))
	wantBan(t, res, a.name, ErrYouDontKnowMe)
}

// Rulebook 70 (..._describing_local_node_by_ip_address_is_malformed,
// standard_gossip_that_contains_multiple_records_with_same_ip_is_malformed).
func TestGossipClaimingOneAddressTwiceOrOursIsBanned(t *testing.T) {
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	f := newFixture(t)
	f.store(b.concealed(t, 1))
	mine := b
	mine.addr = f.me.addr
	wantBan(t, f.accept(a, body(a.concealed(t, 1), mine.addressed(t, 2))), a.name, ErrClaimsMyAddress)

	f = newFixture(t)
	f.store(b.concealed(t, 1))
	f.store(c.concealed(t, 1))
	twin := c
	twin.addr = b.addr
	wantBan(t, f.accept(a, body(a.concealed(t, 1), b.addressed(t, 2), twin.addressed(t, 2))), a.name, ErrDuplicateAddress)
}

// Nodes on one IP with different ports are different addresses: not a duplicate.
func TestNodesSharingAnIPOnDifferentPortsAreNotDuplicates(t *testing.T) {
	f := newFixture(t)
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	f.store(b.concealed(t, 1))
	f.store(c.concealed(t, 1))
	c.addr = netipWithPort(b.addr, 7001)
	wantNoBan(t, f.accept(a, body(a.concealed(t, 1), b.addressed(t, 2), c.addressed(t, 2))))
}

// Rulebook 71 (standard_gossip_containing_unfamiliar_node_addrs_leads_to_them_being_ignored): a
// relay may not reveal the address of a node we do not know; the record is dropped, the
// relay is not banned.
func TestUnfamiliarNodeWithAddressIsIgnored(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	res := f.accept(a, body(a.concealed(t, 1, c.name), c.addressed(t, 1, a.name)))
	wantNoBan(t, res)
	if _, ok := f.db.Record(c.name); ok {
		t.Fatal("a third node revealed by a relay was stored")
	}
	if _, ok := f.db.Record(a.name); !ok {
		t.Fatal("the sender's own record was not stored")
	}
}

// Rulebook 77 (update_adopts_new_node_addr_when_current_version_has_none,
// update_keeps_existing_node_addr_when_new_version_has_none).
func TestAddressIsAdoptedWhenUnknownAndKeptWhenOmitted(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	f.store(c.concealed(t, 1, a.name))
	wantNoBan(t, f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), c.addressed(t, 2, a.name))))
	if addr, ok := f.db.Addr(c.name); !ok || addr != c.addr {
		t.Fatal("the address of a known node was not adopted")
	}
	wantNoBan(t, f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), c.concealed(t, 3, a.name))))
	if v, _ := f.db.Record(c.name); v.Version() != 3 {
		t.Fatal("the newer record without an address was not stored")
	}
	if addr, ok := f.db.Addr(c.name); !ok || addr != c.addr {
		t.Fatal("the address was lost when an update omitted it")
	}
}

// Rulebook 77 (update_complains_when_node_addr_opt_tries_to_change_from_existing_to_different_
// existing): in Standard gossip a relayed record that changes its address is skipped, and the
// relay is not to blame.
func TestRelayedRecordChangingItsAddressIsSkipped(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.store(c.addressed(t, 1))
	moved := c
	moved.addr = newPeer(60).addr
	f.store(c.concealed(t, 1)) // hold the concealed form too
	res := f.accept(a, body(a.concealed(t, 1), moved.addressed(t, 2)))
	wantNoBan(t, res)
	if v, _ := f.db.Record(c.name); v.Version() != 1 {
		t.Fatal("the record with a changed address replaced the stored one")
	}
}

// The sender's own record changing its address is a lie by the sender.
func TestSendersRecordChangingItsAddressIsBanned(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	f.store(a.addressed(t, 1))
	moved := a
	moved.addr = newPeer(60).addr
	wantBan(t, f.accept(moved, body(moved.addressed(t, 2))), a.name, ErrImmutableChanged)
}

// A version that goes backwards in a record the sender signed itself is a ban; the sender's
// messages on one link arrive in order, so an honest sender never does it.
func TestSendersVersionGoingBackwardsIsBanned(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	wantNoBan(t, f.accept(a, body(a.concealed(t, 3))))
	wantBan(t, f.accept(a, body(a.concealed(t, 2))), a.name, ErrVersionBackwards)
}

// Honest races never ban: a newer version relayed by someone else may overtake the sender's
// own older message, and a node that reconnects after a restart starts its link afresh.
func TestOlderOwnVersionAfterRelayedNewerOrReconnectIsNotBanned(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	wantNoBan(t, f.accept(c, body(c.concealed(t, 1), a.concealed(t, 5))))
	res := f.accept(a, body(a.concealed(t, 4)))
	wantNoBan(t, res)
	if res.Changed {
		t.Fatal("an older version changed the database")
	}
	wantNoBan(t, f.accept(a, body(a.concealed(t, 6))))
	f.db.Disconnect(a.name)
	wantNoBan(t, f.accept(a, body(a.concealed(t, 1))))
}

// An honest node signs each version once, in two forms that differ only in the address. A
// second, different record with a stored version is kept out, but not banned: a node restarted
// without its data directory signs old version numbers again, honestly.
func TestSendersTwoDifferentRecordsWithOneVersionAreIgnored(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	wantNoBan(t, f.accept(a, body(a.addressed(t, 2, ghosts(1, 1)...))))
	wantNoBan(t, f.accept(a, body(a.concealed(t, 2, ghosts(1, 1)...)))) // the other form
	if e := f.db.nodes[a.name]; e.concealed == nil {
		t.Fatal("the concealed form of the same record was not kept")
	}
	res := f.accept(a, body(a.concealed(t, 2, ghosts(2, 1)...)))
	wantNoBan(t, res)
	if v, _ := f.db.Record(a.name); res.Changed || v.Neighbor(0) != ghosts(1, 1)[0] {
		t.Fatal("the second record with one version was used")
	}
	if e := f.db.nodes[a.name]; e.view.Neighbor(0) != ghosts(1, 1)[0] || viewOf(e.concealed).Neighbor(0) != ghosts(1, 1)[0] {
		t.Fatal("the second record with one version was stored")
	}
}

func TestRelayedEquivocationIsSkipped(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.store(c.concealed(t, 2, ghosts(1, 1)...))
	res := f.accept(a, body(a.concealed(t, 1), c.concealed(t, 2, ghosts(2, 1)...)))
	wantNoBan(t, res)
	if v, _ := f.db.Record(c.name); v.Neighbor(0) != ghosts(1, 1)[0] {
		t.Fatal("the equivocating record replaced the stored one")
	}
}

// Rulebook 73 (standard_gossip_handler_doesnt_add_gossipping_node_if_already_max_degree), with
// sskit settlement 7 (contrary to initial_standard_gossip_does_not_produce_neighborship_if_
// destination_degree_is_already_full, where 5 half neighbors did not block): the sender becomes
// a neighbor, one version more, only while the own record lists fewer than 5. Both sides.
func TestSenderBecomesNeighborOnlyBelowDegreeFive(t *testing.T) {
	for degree := 4; degree <= 5; degree++ {
		f := newFixture(t)
		for _, p := range peers(10, degree) {
			f.link(p, false, true, 1)
		}
		a := newPeer(1)
		version := f.db.Version()
		res := f.accept(a, body(a.concealed(t, 1, f.me.name)))
		wantNoBan(t, res)
		took := f.db.lists(f.me.name, a.name)
		if took != (degree < 5) || (took && f.db.Version() != version+1) {
			t.Fatalf("degree %d: took=%v version %d->%d", degree, took, version, f.db.Version())
		}
	}
}

// Only a sender that lists us is taken as a neighbor: its link is then full.
func TestSenderThatDoesNotListUsIsNotANeighbor(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	f.accept(a, body(a.concealed(t, 1)))
	if f.db.lists(f.me.name, a.name) {
		t.Fatal("a sender that does not list us became a neighbor")
	}
}

// Rulebook 74: a neighbor name without a record is legal.
func TestRaggedEdgesAreLegal(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	res := f.accept(a, body(a.concealed(t, 1, append(ghosts(1, 4), c.name, f.me.name)...), c.concealed(t, 1, ghosts(2, 3)...)))
	wantNoBan(t, res)
	if !res.Changed {
		t.Fatalf("got %s", describe(res))
	}
}

// Rulebook 80 with sskit settlement 5: a bad signature on any record bans the sender, naming
// whether its own record or a relayed one was bad; nothing from the gossip is used.
func TestBadSignatureBansTheSender(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	own := a.concealed(t, 2, f.me.name)
	own[len(own)-1] ^= 1
	wantBan(t, f.accept(a, body(own)), a.name, ErrBadSignature)

	// Rulebook 81, no tattling: a relayed record cannot be altered; the relay is banned, not
	// the node the record is about.
	f = newFixture(t)
	f.link(a, true, true, 1)
	relayed := c.concealed(t, 5, a.name)
	relayed[9] ^= 1 // the low byte of the version
	res := f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), relayed))
	wantBan(t, res, a.name, ErrTamperedRecord)
	if _, banned := f.db.Banned(c.name); banned {
		t.Fatal("the subject of a tampered record was banned")
	}
	if _, ok := f.db.Record(c.name); ok {
		t.Fatal("a record from the banned gossip was stored")
	}
}

// A record already held is not verified again (holdsExactly), so the skip must match the held
// bytes exactly: the held record with one signature bit flipped is still a tampered record.
func TestHeldRecordWithAlteredSignatureIsStillTampered(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	held := c.concealed(t, 5, a.name)
	if res := f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), held)); res.Ban != nil || !res.Changed {
		t.Fatalf("first gossip: %s", describe(res))
	}
	again := bytes.Clone(held)
	again[len(again)-1] ^= 1
	wantBan(t, f.accept(a, body(a.concealed(t, 3, f.me.name, c.name), again)), a.name, ErrTamperedRecord)
}

func TestMalformedGossipBansTheSender(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	b := body(a.concealed(t, 1))
	wantBan(t, f.accept(a, b[:len(b)-1]), a.name, ErrMalformed)
}

// Rulebook 79 as sskit settles it (5): the ban disconnects the malefactor (the own record stops
// listing it), gossips the disconnection to the other neighbors, records the ban, and refuses
// the malefactor for ever.
func TestBanWithdrawsTheLinkGossipsItAndRefusesForever(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	f.link(b, true, true, 1)
	version := f.db.Version()
	res := f.accept(a, body(a.concealed(t, 2, f.me.name), f.db.OwnRecord()))
	wantBan(t, res, a.name, ErrYouDontKnowMe)
	if !res.Changed || f.db.Version() != version+1 || f.db.lists(f.me.name, a.name) {
		t.Fatalf("the link to the malefactor was not withdrawn: %s", describe(res))
	}
	m := only(t, res)
	if m.To != b.name {
		t.Fatalf("the disconnection went to %s, want the remaining neighbor", short(m.To))
	}
	rs := decode(t, m)
	if own, _ := find(rs, f.me.name); len(own.Neighbors) != 1 || own.Neighbors[0] != b.name {
		t.Fatal("the gossip does not show the disconnection")
	}
	if _, ok := find(rs, a.name); ok {
		t.Fatal("the malefactor's record was gossiped")
	}
	if ban, banned := f.db.Banned(a.name); !banned || ban.Reason != ErrYouDontKnowMe || ban.At != t0 {
		t.Fatal("the ban was not recorded")
	}
	if bans := f.db.Bans(); len(bans) != 1 || bans[0].Name != a.name {
		t.Fatalf("Bans() = %v", bans)
	}
	// Rulebook 82: its later Debuts, and anything else from it, are refused.
	for _, later := range [][]byte{body(a.addressed(t, 9)), body(a.concealed(t, 10, f.me.name))} {
		if res := f.db.Accept(a.name, a.addr, later, t0.Add(time.Hour)); !res.Refused || res.Changed || len(res.Messages) != 0 {
			t.Fatalf("a banned node's gossip was read: %s", describe(res))
		}
	}
	if res := f.db.Ban(a.name, nil, t0); !res.Refused {
		t.Fatal("banning twice did something")
	}
}

// Rulebook 82: records about a banned node are not used, whoever relays them; the relay is
// innocent.
func TestBannedNodesRecordsAreNotUsed(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.db.Ban(c.name, ErrMalformed, t0)
	res := f.accept(a, body(a.concealed(t, 1, c.name), c.concealed(t, 1, a.name)))
	wantNoBan(t, res)
	if _, ok := f.db.Record(c.name); ok {
		t.Fatal("a banned node's record was stored")
	}
}

func TestBanRestoredAtStartupSendsNothing(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	res := f.db.Ban(a.name, nil, t0)
	if res.Ban == nil || res.Changed || len(res.Messages) != 0 {
		t.Fatalf("got %s", describe(res))
	}
	if res := f.db.Ban(f.me.name, nil, t0); res.Ban != nil {
		t.Fatal("a node banned itself")
	}
}

func TestGossipFromSelfIsIgnored(t *testing.T) {
	f := newFixture(t)
	res := f.db.Accept(f.me.name, f.me.addr, body(f.db.OwnRecord()), t0)
	if res.Ban != nil || res.Changed || len(res.Messages) != 0 {
		t.Fatalf("got %s", describe(res))
	}
}

// The acceptor keeps no reference to the caller's body.
func TestAcceptKeepsNoReferenceToTheBody(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	b := body(a.concealed(t, 1, f.me.name))
	keep := bytes.Clone(b)
	f.accept(a, b)
	clear(b)
	m, _ := f.db.Gossip(a.name)
	_ = m
	v, _ := f.db.Record(a.name)
	if !bytes.Equal(v.Bytes(), keep[4:]) {
		t.Fatal("the stored record changed with the caller's buffer")
	}
	for _, v := range f.db.views[:cap(f.db.views)] {
		if v.Bytes() != nil {
			t.Fatal("scratch views still point into the body")
		}
	}
}

// While a network converges, neighbors relay versions the node has gone past. A version whose
// signature verified once, stored and then superseded or relayed late, is not verified again
// (holdsExactly), yet the same version with its signature altered is still a tampered record.
func TestOlderVersionsCheckedOnceAreNotCheckedAgain(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	v4, v5, v6 := c.concealed(t, 4, a.name), c.concealed(t, 5, a.name), c.concealed(t, 6, a.name)
	for i, relayed := range [][]byte{v5, v6, v4} {
		if res := f.accept(a, body(a.concealed(t, uint64(2+i), f.me.name, c.name), relayed)); res.Ban != nil {
			t.Fatalf("gossip %d: %s", i+1, describe(res))
		}
	}
	if held, _ := f.db.Record(c.name); held.Version() != 6 {
		t.Fatalf("holds version %d of c, want 6", held.Version())
	}
	for _, older := range []struct {
		name string
		b    []byte
	}{{"v5, stored and then superseded", v5}, {"v4, relayed after v6", v4}} {
		var v record.View
		if err := v.Decode(older.b); err != nil {
			t.Fatal(err)
		}
		if !f.db.holdsExactly(&v) {
			t.Errorf("%s: its signature would be checked again", older.name)
		}
	}
	altered := bytes.Clone(v5)
	altered[len(altered)-1] ^= 1
	wantBan(t, f.accept(a, body(a.concealed(t, 5, f.me.name, c.name), altered)), a.name, ErrTamperedRecord)
}
