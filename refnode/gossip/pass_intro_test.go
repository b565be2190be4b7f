package gossip

import (
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// Rulebook 60 (pass_without_node_addr_is_rejected): a Pass must say where to debut.
func TestPassWithoutAddressIsBanned(t *testing.T) {
	f := newFixture(t)
	s, target := newPeer(1), newPeer(2)
	res := f.accept(s, body(target.concealed(t, 1)))
	wantBan(t, res, s.name, ErrPassWithoutAddress)
	if res.Type != Pass {
		t.Fatalf("classified as %v", res.Type)
	}
}

// Rulebook 61 (pass_is_properly_handled, proper_pass_is_identified_and_processed): a Pass is
// answered by a Debut to its target; the database does not change.
func TestPassIsAnsweredWithDebutToTarget(t *testing.T) {
	f := newFixture(t)
	s, target := newPeer(1), newPeer(2)
	f.db.Debut(s.name, s.addr, t0)
	res := f.accept(s, body(target.addressed(t, 3, s.name)))
	wantNoBan(t, res)
	if res.Type != Pass || res.Changed {
		t.Fatalf("got %s", describe(res))
	}
	m := only(t, res)
	if m.To != target.name || m.Addr != target.addr {
		t.Fatalf("Debut went to %s at %v", short(m.To), m.Addr)
	}
	rs := wantRecords(t, m, Debut, f.me.name)
	if rs[0].Addr != f.me.addr {
		t.Fatal("the Debut lacks our address")
	}
	wantUnchanged(t, f.db, 1, 0)
	if p := f.db.PendingDebuts(); len(p) != 1 || p[0] != target.name {
		t.Fatalf("pending Debuts %d, want only the pass target", len(p))
	}
}

// Rulebook 62 (handles_pass_target_that_is_not_yet_expired, handles_pass_target_that_has_expired):
// a target passed within 60 s is a loop and is ignored, refreshing its time; after more than
// 60 s it counts as new.
func TestPassLoopGuardIgnoresRecentTargetUntilExpired(t *testing.T) {
	f := newFixture(t)
	s, target := newPeer(1), newPeer(2)
	pass := body(target.addressed(t, 1))
	at := func(d time.Duration) Result { return f.db.Accept(s.name, s.addr, pass, t0.Add(d)) }
	fail := func(d time.Duration) {
		f.db.AcceptFailure(target.name, AppendFailure(nil, NoSuitableNeighbors), t0.Add(d))
	}
	if res := at(0); len(res.Messages) != 1 {
		t.Fatalf("first pass: %s", describe(res))
	}
	fail(time.Second)
	if res := at(30 * time.Second); len(res.Messages) != 0 || res.Note == "" {
		t.Fatalf("pass after 30 s: %s, want ignored as a loop", describe(res))
	}
	// The ignored pass refreshed the time: 80 s after the first is 50 s after the second.
	if res := at(80 * time.Second); len(res.Messages) != 0 {
		t.Fatalf("pass 50 s after the refreshed one: %s, want ignored", describe(res))
	}
	if res := at(141 * time.Second); len(res.Messages) != 1 {
		t.Fatalf("pass 61 s after the last: %s, want a Debut", describe(res))
	}
}

// Rulebook 62 (handles_pass_target_that_is_a_part_of_a_different_connection_progress).
func TestPassToTargetWithDebutInProgressIsIgnored(t *testing.T) {
	f := newFixture(t)
	s, target := newPeer(1), newPeer(2)
	f.db.Debut(target.name, target.addr, t0)
	res := f.accept(s, body(target.addressed(t, 1)))
	wantNoBan(t, res)
	if len(res.Messages) != 0 {
		t.Fatalf("got %s, want ignored", describe(res))
	}
}

func TestPassToBannedNodeOrNeighborIsIgnored(t *testing.T) {
	f := newFixture(t)
	s, banned, neighbor := newPeer(1), newPeer(2), newPeer(3)
	f.db.Ban(banned.name, nil, t0)
	f.link(neighbor, true, true, 1)
	for _, target := range []peer{banned, neighbor} {
		res := f.accept(s, body(target.addressed(t, 1)))
		wantNoBan(t, res)
		if len(res.Messages) != 0 {
			t.Fatalf("pass to %s: %s, want ignored", short(target.name), describe(res))
		}
	}
}

// introduction builds the Introduction a (the introducer) sends to the node under test,
// introducing b.
func introduction(t *testing.T, a, b peer, aVersion uint64, aNeighbors ...wire.Name) []byte {
	return body(a.addressed(t, aVersion, aNeighbors...), b.addressed(t, 1, a.name))
}

// Rulebook 65 (introduction_with_no_problems_is_processed_correctly_when_introducer_is_not_in_
// database): the introducer is stored and becomes a neighbor; the introducee gets a Debut but
// is not stored; the introducer hears of the change.
func TestIntroductionFromUnknownIntroducer(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	res := f.accept(a, introduction(t, a, b, 1, f.me.name))
	wantNoBan(t, res)
	if res.Type != Introduction || !res.Changed || f.db.Version() != 2 {
		t.Fatalf("got %s at version %d", describe(res), f.db.Version())
	}
	if known := f.db.Known(); len(known) != 1 || known[0] != a.name {
		t.Fatalf("stored %d records, want only the introducer", len(known))
	}
	debut := messagesTo(res, b.name)
	if len(debut) != 1 || debut[0].Addr != b.addr {
		t.Fatalf("want one Debut to the introducee at its address: %s", describe(res))
	}
	rs := wantRecords(t, debut[0], Debut, f.me.name)
	if len(rs[0].Neighbors) != 1 || rs[0].Neighbors[0] != a.name {
		t.Fatal("the Debut to the introducee does not list the introducer")
	}
	if std := messagesTo(res, a.name); len(std) != 1 || std[0].Type != Standard {
		t.Fatalf("want Standard gossip to the introducer: %s", describe(res))
	}
	if addr, ok := f.db.Addr(b.name); !ok || addr != b.addr {
		t.Fatal("the introducee's signed address was not kept for dialing")
	}
}

// Rulebook 65 (..._is_in_database_and_obsolete): a newer introducer record replaces the old one.
func TestIntroductionFromObsoleteIntroducerUpdatesIt(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	f.store(a.addressed(t, 1))
	res := f.accept(a, introduction(t, a, b, 4, f.me.name))
	wantNoBan(t, res)
	if v, _ := f.db.Record(a.name); v.Version() != 4 {
		t.Fatalf("introducer at version %d, want 4", v.Version())
	}
}

// Rulebook 65 (..._is_in_database_and_up_to_date): nothing new, no version change; the Debut to
// the introducee still goes out.
func TestIntroductionFromUpToDateNeighborChangesNothing(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	f.store(a.addressed(t, 3, f.me.name))
	f.db.addNeighbor(a.name)
	version := f.db.Version()
	res := f.accept(a, introduction(t, a, b, 3, f.me.name))
	wantNoBan(t, res)
	if res.Changed || f.db.Version() != version {
		t.Fatalf("got %s, version %d; want nothing changed", describe(res), f.db.Version())
	}
	if m := only(t, res); m.To != b.name || m.Type != Debut {
		t.Fatalf("want only the Debut to the introducee: %s", describe(res))
	}
}

// Rulebook 66 (introduction_with_no_problems_is_ignored_when_target_is_already_max_degree), with
// sskit settlement 7: the limit counts every neighbor the own record lists. Both sides.
func TestIntroductionIsIgnoredAtDegreeFive(t *testing.T) {
	for degree := 4; degree <= 5; degree++ {
		f := newFixture(t)
		for _, p := range peers(10, degree) {
			f.link(p, false, true, 1)
		}
		a, b := newPeer(1), newPeer(2)
		res := f.accept(a, introduction(t, a, b, 1, f.me.name))
		wantNoBan(t, res)
		if took := f.db.lists(f.me.name, a.name); took != (degree < 5) || (len(res.Messages) == 0) != (degree == 5) {
			t.Fatalf("degree %d: %s", degree, describe(res))
		}
	}
}

// Rulebook 67 (introduction_that_tries_to_change_immutable_characteristics_of_introducer_is_
// suspicious): the stored record stays as it was.
func TestIntroductionChangingIntroducersAddressIsBanned(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	f.store(a.addressed(t, 1))
	moved := a
	moved.addr = newPeer(50).addr
	res := f.accept(moved, introduction(t, moved, b, 2, f.me.name))
	wantBan(t, res, a.name, ErrImmutableChanged)
	if res.Type != Unclassified {
		t.Fatalf("type %v", res.Type)
	}
	if _, ok := f.db.Record(a.name); ok {
		t.Fatal("the malefactor's record is still used")
	}
}

// Rulebook 64: two records that do not fit an Introduction are Standard gossip
// (gossip_where_no_record_has_the_gossip_source_ip_is_not_introduction,
// gossip_where_introducee_does_not_provide_node_addr_is_not_introduction, and an introducee
// already known).
func TestTwoRecordsThatAreNotAnIntroductionAreStandardGossip(t *testing.T) {
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	for _, tc := range []struct {
		name  string
		prep  func(f *fixture)
		body  func(f *fixture) []byte
		store int // records stored afterwards
	}{
		{"neither record is the sender's", nil, func(f *fixture) []byte { return body(b.addressed(t, 1), c.addressed(t, 1)) }, 0},
		{"introducee has no address", nil, func(f *fixture) []byte { return body(a.addressed(t, 1, f.me.name), b.concealed(t, 1)) }, 2},
		{"introducee already known", func(f *fixture) { f.store(b.concealed(t, 1)) },
			func(f *fixture) []byte { return body(a.addressed(t, 1, f.me.name), b.addressed(t, 1, a.name)) }, 2},
		{"introducer has no address", nil, func(f *fixture) []byte { return body(a.concealed(t, 1, f.me.name), b.addressed(t, 1)) }, 1},
	} {
		f := newFixture(t)
		if tc.prep != nil {
			tc.prep(f)
		}
		res := f.accept(a, tc.body(f))
		wantNoBan(t, res)
		if res.Type != Standard || len(f.db.Known()) != tc.store {
			t.Errorf("%s: %s with %d records stored, want Standard with %d", tc.name, describe(res), len(f.db.Known()), tc.store)
		}
	}
}

// Rulebook 64, the Malformed Introductions (introduction_where_*): the introducer claims our
// address or has our key, or both records claim the same address.
func TestMalformedIntroductionsAreBanned(t *testing.T) {
	f := newFixture(t)
	b := newPeer(2)
	impostor := newPeer(1)
	impostor.addr = f.me.addr
	wantBan(t, f.accept(impostor, introduction(t, impostor, b, 1)), impostor.name, ErrClaimsMyAddress)

	f = newFixture(t)
	a := newPeer(1)
	twin := b
	twin.addr = a.addr
	wantBan(t, f.accept(a, introduction(t, a, twin, 1)), a.name, ErrDuplicateAddress)

	f = newFixture(t)
	own := f.db.debutRecord()
	wantBan(t, f.accept(a, body(own, b.addressed(t, 1))), a.name, ErrYouDontKnowMe)
}

// An Introduction to a banned node takes the introducer but sends no Debut.
func TestIntroductionToBannedNodeSendsNoDebut(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	f.db.Ban(b.name, nil, t0)
	res := f.accept(a, introduction(t, a, b, 1, f.me.name))
	wantNoBan(t, res)
	if len(messagesTo(res, b.name)) != 0 || !f.db.lists(f.me.name, a.name) {
		t.Fatalf("got %s", describe(res))
	}
}

// Rulebook 59's input: a failure ends the Debut in progress; one nobody asked for is ignored;
// a malformed one is malformed gossip.
func TestGossipFailureEndsTheDebut(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	f.db.Debut(a.name, a.addr, t0)
	res := f.db.AcceptFailure(a.name, AppendFailure(nil, NoSuitableNeighbors), t0)
	if res.Failure != NoSuitableNeighbors || len(f.db.PendingDebuts()) != 0 {
		t.Fatalf("got %s, pending %d", describe(res), len(f.db.PendingDebuts()))
	}
	if res := f.db.AcceptFailure(b.name, AppendFailure(nil, NoNeighbors), t0); res.Ban != nil || res.Note == "" {
		t.Fatalf("unsolicited failure: %s", describe(res))
	}
	wantBan(t, f.db.AcceptFailure(b.name, []byte{9}, t0), b.name, ErrMalformed)
	if res := f.db.AcceptFailure(b.name, AppendFailure(nil, NoNeighbors), t0); !res.Refused {
		t.Fatal("a banned node's failure was read")
	}
}

// NB-16: a Debut again starts a new walk, so a target passed in the walk before it is debuted
// to again; within one walk the guard still holds.
func TestDebutAfreshStartsANewWalk(t *testing.T) {
	f := newFixture(t)
	s, target := newPeer(1), newPeer(2)
	pass := body(target.addressed(t, 1))
	at := func(d time.Duration) Result { return f.db.Accept(s.name, s.addr, pass, t0.Add(d)) }
	if res := at(0); len(res.Messages) != 1 {
		t.Fatalf("first pass: %s", describe(res))
	}
	f.db.AcceptFailure(target.name, AppendFailure(nil, NoSuitableNeighbors), t0.Add(time.Second))
	if res := at(2 * time.Second); len(res.Messages) != 0 {
		t.Fatalf("pass in the same walk: %s, want ignored as a loop", describe(res))
	}
	if m := f.db.DebutAfresh(s.name, s.addr, t0.Add(3*time.Second)); m.Type != Debut || m.To != s.name {
		t.Fatalf("DebutAfresh made %v to %v, want a Debut to the sender", m.Type, m.To)
	}
	if res := at(4 * time.Second); len(res.Messages) != 1 || res.Messages[0].To != target.name {
		t.Fatalf("pass in the new walk: %s, want a Debut to the target", describe(res))
	}
	if res := at(5 * time.Second); len(res.Messages) != 0 {
		t.Fatalf("second pass in the new walk: %s, want ignored as a loop", describe(res))
	}
}
