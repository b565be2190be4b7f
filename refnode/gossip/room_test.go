package gossip

import (
	"testing"
	"time"
)

// Sskit's reading of the degree limit under concurrency: each Debut in progress holds a place
// for its answer, so a newcomer does not fill up with debutants passed to it while the answer
// to its own Debut, often its only link to the rest of the network, is on the way.
func TestDebutInProgressHoldsAPlaceForItsAnswer(t *testing.T) {
	f := newFixture(t)
	for _, p := range peers(10, 4) {
		f.link(p, true, true, 1)
	}
	target, x := newPeer(1), newPeer(2)
	f.db.Debut(target.name, target.addr, t0) // 4 listed and 1 held: full
	res := f.accept(x, body(x.addressed(t, 1)))
	if f.db.lists(f.me.name, x.name) {
		t.Fatalf("a debutant took the place held for the Debut in progress: %s", describe(res))
	}
	// The answer takes the held place.
	res = f.accept(target, body(target.addressed(t, 2, f.me.name)))
	if !f.db.lists(f.me.name, target.name) || f.db.degree() != 5 {
		t.Fatalf("the answer to our Debut was not taken: %s", describe(res))
	}
	if len(f.db.PendingDebuts()) != 0 {
		t.Fatal("the answered Debut is still in progress")
	}
}

// A held place is freed once the Debut expires unanswered.
func TestExpiredDebutHoldsNoPlace(t *testing.T) {
	f := newFixture(t)
	for _, p := range peers(10, 4) {
		f.link(p, true, false, 1) // not passable: step 1 and 3 find nobody
	}
	target, x := newPeer(1), newPeer(2)
	f.db.Debut(target.name, target.addr, t0)
	f.db.Accept(x.name, x.addr, body(x.addressed(t, 1)), t0.Add(DefaultPassExpiry+time.Second))
	if !f.db.lists(f.me.name, x.name) {
		t.Fatal("an expired Debut still held a place")
	}
}

// A debut back (a Debut whose record already lists us) answers our own Debut: it is taken if
// there is room and never passed on, even when a better-placed neighbor exists.
func TestDebutBackIsTakenNotPassedOn(t *testing.T) {
	f := newFixture(t)
	ps := peers(10, 4)
	f.link(ps[0], true, true, 3) // better placed than our degree 4
	for _, p := range ps[1:] {
		f.link(p, true, true, 5)
	}
	a := newPeer(1)
	f.db.Debut(a.name, a.addr, t0)
	res := f.accept(a, body(a.addressed(t, 2, f.me.name)))
	wantNoBan(t, res)
	for _, m := range res.Messages {
		if m.Type != Standard {
			t.Fatalf("sent %v to %s, want only Standard gossip", m.Type, short(m.To))
		}
	}
	if !f.db.lists(f.me.name, a.name) {
		t.Fatal("the debut back was not taken")
	}
	// At the limit it is left half, and nothing is sent.
	b := newPeer(2)
	f.db.Debut(b.name, b.addr, t0)
	res = f.accept(b, body(b.addressed(t, 2, f.me.name)))
	if f.db.lists(f.me.name, b.name) || len(res.Messages) != 0 {
		t.Fatalf("a debut back beyond the limit: %s", describe(res))
	}
}

// A node at the degree limit does not follow a Pass: its Debut would leave the target listing
// it for good.
func TestPassIsIgnoredAtTheDegreeLimit(t *testing.T) {
	f := newFixture(t)
	for _, p := range peers(10, 5) {
		f.link(p, true, true, 1)
	}
	s, target := newPeer(1), newPeer(2)
	if res := f.accept(s, body(target.addressed(t, 1))); len(res.Messages) != 0 {
		t.Fatalf("got %s", describe(res))
	}
}

// An Introduction that takes the last place adds the introducer but sends the introducee no
// Debut; with a place to spare, the Debut goes out and holds it.
func TestIntroductionDebutsTheIntroduceeOnlyWithAPlaceLeft(t *testing.T) {
	for degree := 3; degree <= 4; degree++ {
		f := newFixture(t)
		for _, p := range peers(10, degree) {
			f.link(p, true, true, 1)
		}
		a, b := newPeer(1), newPeer(2)
		res := f.accept(a, introduction(t, a, b, 1, f.me.name))
		debuted := len(messagesTo(res, b.name)) == 1
		if !f.db.lists(f.me.name, a.name) || debuted != (degree == 3) {
			t.Fatalf("degree %d: %s", degree, describe(res))
		}
	}
}

// A half neighbor whose record lists the most neighbors, none of them us, cannot complete the
// link; it is withdrawn so that it does not hold one of our places for good.
func TestHalfNeighborThatFilledUpElsewhereIsWithdrawn(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.link(a, true, true, 2)
	f.link(c, false, true, 1)
	version := f.db.Version()
	res := f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), c.concealed(t, 2, append(ghosts(7, 4), a.name)...)))
	wantNoBan(t, res)
	if f.db.lists(f.me.name, c.name) || f.db.Version() != version+1 || !res.Changed {
		t.Fatalf("the hopeless half link was kept: %s", describe(res))
	}
	// A half neighbor with room left keeps its place.
	f = newFixture(t)
	f.link(a, true, true, 2)
	f.link(c, false, true, 1)
	f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), c.concealed(t, 2, append(ghosts(7, 3), a.name)...)))
	if !f.db.lists(f.me.name, c.name) {
		t.Fatal("a half neighbor with room left was withdrawn")
	}
}

// Receiving the concealed form of a version held only with its address is news: that version
// can now be relayed to nodes that do not list the node, so it is gossiped on.
func TestConcealedFormOfAVersionHeldWithAddressIsGossipedOn(t *testing.T) {
	f := newFixture(t)
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	f.link(a, true, true, 2)
	f.link(b, true, true, 1)
	f.store(c.addressed(t, 3, a.name)) // only the addressed form, as a relay revealing it to a neighbor of c brings it
	if m, _ := f.db.Gossip(b.name); func() bool { _, ok := find(decode(t, m), c.name); return ok }() {
		t.Fatal("c's addressed record went to b, which does not list c")
	}
	res := f.accept(a, body(a.concealed(t, 2, f.me.name, c.name), c.concealed(t, 3, a.name)))
	if !res.Changed || len(messagesTo(res, b.name)) != 1 {
		t.Fatalf("the concealed form was not gossiped on: %s", describe(res))
	}
	if _, ok := find(decode(t, messagesTo(res, b.name)[0]), c.name); !ok {
		t.Fatal("b still does not hear of c")
	}
}
