package consensus

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

// testMember is a member with a name made from i and a loopback address of its own.
func testMember(i int, ordinal uint64) wire.Member {
	return wire.Member{Name: simName(i), Ordinal: ordinal,
		Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 3, byte(i + 1)}), 7000)}
}

// formedElder is node 1 of a fault-free simulation of 4 nodes that have all joined: an elder that
// takes no join itself.
func formedElder(t *testing.T) (*Core, time.Time) {
	t.Helper()
	s := newFixedSim(t, 4)
	s.runUntil(4*time.Second + time.Second)
	c := s.nodes[1].core
	if len(c.Set().Members()) != 4 || !c.Set().IsElder(c.self.Name) {
		t.Fatalf("node 1 holds %s, want an elder of 4 members", s.names(s.nodes[1]))
	}
	c.Outbox()
	return c, epoch.Add(s.now)
}

// askJoin has each of elders ask c to witness j's join, as an elder that took it would (ST-9).
func askJoin(c *Core, now time.Time, j wire.Member, elders ...wire.Member) {
	for i, e := range elders {
		o := wire.Observation{Kind: wire.ChangeJoin, Member: j}
		c.Receive(now, e, wire.Header{Type: wire.TypeWitnessRequest, ID: uint64(100 + i)}, o.Append(nil))
	}
}

// stablesetsTo returns the STABLESET bodies among out addressed to n.
func stablesetsTo(out []Message, n wire.Name) [][]byte {
	var got [][]byte
	for _, m := range out {
		if m.Type == wire.TypeStableset && m.To.Name == n {
			got = append(got, append([]byte(nil), m.Body...))
		}
	}
	return got
}

// viewHas reports whether a STABLESET body lists n as a member.
func viewHas(t *testing.T, body []byte, n wire.Name) bool {
	t.Helper()
	var v wire.StablesetView
	if err := v.Decode(body); err != nil {
		t.Fatal(err)
	}
	var m wire.Member
	for i := range v.Len(wire.ListMembers) {
		v.Entry(wire.ListMembers, i, &m)
		if m.Name == n {
			return true
		}
	}
	return false
}

// An elder that a joiner never spoke to holds the joiner's STABLESET until the joiner speaks,
// and then sends the one it held when the join applied (ST-10): a joiner's elders must send it
// the same stableset (ST-5). An announcement held back from it meanwhile follows.
func TestSubjectNotHeardIsToldOnceItSpeaks(t *testing.T) {
	c, now := formedElder(t)
	e := c.Set().Elders()
	j, k := testMember(10, 4), testMember(11, 5)
	askJoin(c, now, j, e[0], e[2])
	if _, in := c.Set().Member(j.Name); !in {
		t.Fatal("j's join did not apply with 3 of 4 elders")
	}
	if got := stablesetsTo(c.Outbox(), j.Name); len(got) != 0 {
		t.Fatalf("sent j %d STABLESETs before j spoke to it, want none yet", len(got))
	}
	// Another join applies meanwhile: j must still get the stableset of its own join.
	now = now.Add(time.Millisecond)
	askJoin(c, now, k, e[0], e[2])
	c.Outbox()
	now = now.Add(10 * time.Millisecond)
	c.Heard(now, j, wire.Header{Type: wire.TypePing, Stableset: stableset.AloneID(j.Name)})
	got := stablesetsTo(c.Outbox(), j.Name)
	if len(got) != 1 {
		t.Fatalf("sent j %d STABLESETs when it spoke, want 1: its own join's", len(got))
	}
	if !viewHas(t, got[0], j.Name) || viewHas(t, got[0], k.Name) {
		t.Fatal("the STABLESET j got is not the one the node held when j's join applied")
	}
	// k's announcement, held until the tick, reaches j with the other members: the present
	// stableset, with k.
	c.Tick(now)
	got = stablesetsTo(c.Outbox(), j.Name)
	if len(got) != 1 || !viewHas(t, got[0], k.Name) {
		t.Fatalf("sent j %d STABLESETs at the tick, want 1, the present one with k", len(got))
	}
	// Told once: j speaking again costs nothing more.
	c.Heard(now, j, wire.Header{Type: wire.TypePing})
	if got := stablesetsTo(c.Outbox(), j.Name); len(got) != 0 {
		t.Fatalf("sent j %d more STABLESETs, want none", len(got))
	}
}

// A subject that never speaks gets its STABLESET at the elder's first tick SubjectWait after the
// change applied, within ST-10's 200 ms; one that spoke lately gets it at once.
func TestSubjectIsToldWithinTheBound(t *testing.T) {
	c, now := formedElder(t)
	e := c.Set().Elders()
	j, k := testMember(10, 4), testMember(11, 5)
	askJoin(c, now, j, e[0], e[2])
	c.Outbox()
	c.Tick(now.Add(SubjectWait / 2))
	if got := stablesetsTo(c.Outbox(), j.Name); len(got) != 0 {
		t.Fatalf("sent j %d STABLESETs %v after applying, want it held until %v", len(got), SubjectWait/2, SubjectWait)
	}
	now = now.Add(SubjectWait)
	c.Tick(now)
	if got := stablesetsTo(c.Outbox(), j.Name); len(got) != 1 || !viewHas(t, got[0], j.Name) {
		t.Fatalf("sent j %d STABLESETs %v after applying, want 1 listing it", len(got), SubjectWait)
	}
	const tick = 100 * time.Millisecond // refnode's tick (node.Config.TickInterval's default)
	if SubjectWait+tick > 200*time.Millisecond {
		t.Fatalf("SubjectWait %v and a tick exceed ST-10's 200 ms", SubjectWait)
	}
	c.Heard(now, k, wire.Header{Type: wire.TypePing})
	askJoin(c, now, k, e[0], e[2])
	if got := stablesetsTo(c.Outbox(), k.Name); len(got) != 1 {
		t.Fatalf("sent k, which spoke just before its join applied, %d STABLESETs at once, want 1", len(got))
	}
}

// joinerAt is a node joining through b, which has asked b once.
func joinerAt(self, b wire.Member, now time.Time) *Core {
	c := New(Config{Self: self, Bootstrap: []wire.Member{b}}, now)
	c.Tick(now)
	c.Outbox()
	return c
}

// viewOf is the STABLESET body of a stableset of exactly these members.
func viewOf(members ...wire.Member) []byte {
	s := stableset.New(members[0], 4)
	s.Reset(members)
	body, _, _ := s.AppendView(nil, nil, nil)
	return body
}

// A joiner that one elder told it is in pings the others once, so that an elder that waits to
// hear from it (ST-10) answers at once.
func TestJoinerPingsTheOtherEldersOnce(t *testing.T) {
	now := epoch
	e := []wire.Member{testMember(0, 0), testMember(1, 1), testMember(2, 2), testMember(3, 3)}
	j := testMember(10, 4)
	c := joinerAt(wire.Member{Name: j.Name, Addr: j.Addr}, e[0], now)
	body := viewOf(e[0], e[1], e[2], e[3], j)
	c.Receive(now, e[0], wire.Header{Type: wire.TypeStableset}, body)
	pinged := map[wire.Name]bool{}
	for _, m := range c.Outbox() {
		if m.Type == wire.TypePing {
			pinged[m.To.Name] = true
		}
	}
	if len(pinged) != 3 || pinged[e[0].Name] {
		t.Fatalf("pinged %d elders (the sender among them: %v), want the 3 others", len(pinged), pinged[e[0].Name])
	}
	c.Receive(now, e[1], wire.Header{Type: wire.TypeStableset}, body)
	for _, m := range c.Outbox() {
		if m.Type == wire.TypePing {
			t.Fatal("pinged again for the same stableset")
		}
	}
	c.Receive(now, e[2], wire.Header{Type: wire.TypeStableset}, body)
	if c.Phase() != Member {
		t.Fatalf("phase %v after 3 of 4 elders sent the same stableset, want member", c.Phase())
	}
}

// A lone node's STABLESET is another joiner's: it must not take the joiner's contacts, or the
// joiner asks that joiner, and after it perhaps a node that left, for ever (ST-5).
func TestJoinerIgnoresALoneJoinersStableset(t *testing.T) {
	now := epoch
	b, other := testMember(0, 0), testMember(5, 0)
	self := testMember(10, 0)
	c := joinerAt(self, b, now)
	c.Receive(now, other, wire.Header{Type: wire.TypeStableset}, viewOf(other))
	for _, m := range c.Outbox() {
		if m.To.Name == other.Name {
			t.Fatalf("sent the lone joiner a %v", m.Type)
		}
	}
	c.Tick(now.Add(time.Second))
	asked := false
	for _, m := range c.Outbox() {
		if m.Type == wire.TypeWitnessRequest {
			if m.To.Name != b.Name {
				t.Fatalf("asked %x to join, want only the bootstrap peer", m.To.Name[:4])
			}
			asked = true
		}
	}
	if !asked {
		t.Fatal("did not ask its bootstrap peer again after the retry interval")
	}
}

// A leaver's record of its own leave ends when it takes the stableset without it (ST-12): that
// is what a leaver waits for, as a joiner waits for the stableset that lists it.
func TestLeaverRecordsItsLeaveApplied(t *testing.T) {
	s := newFixedSim(t, 5)
	s.runUntil(6 * time.Second)
	leaver := s.nodes[4]
	if len(leaver.core.Set().Members()) != 5 || leaver.core.Set().IsElder(leaver.member.Name) {
		t.Fatalf("node 4 holds %s, want a member that is not an elder, of 5", s.names(leaver))
	}
	self, _ := leaver.core.Set().Member(leaver.member.Name)
	s.left[4] = true
	s.push(event{at: s.now, kind: evLeave, node: 4})
	s.runUntil(s.now + 2*time.Second)
	if leaver.core.Phase() != Left {
		t.Fatalf("node 4 is %v 2 s after asking to leave, want left", leaver.core.Phase())
	}
	var own *Decision
	for _, d := range leaver.core.Decisions() {
		if d.Kind == wire.ChangeLeave && d.Member.Name == self.Name && d.Member.Ordinal == self.Ordinal {
			own = &d
		}
	}
	switch {
	case own == nil:
		t.Fatalf("node 4 logged no record of its own leave of %d", self.Ordinal)
	case own.Applied.IsZero():
		t.Fatal("node 4's record of its own leave has no applied time though it has left")
	case own.Applied.Before(own.Started):
		t.Fatalf("node 4's leave applied at %v, before it started at %v", own.Applied, own.Started)
	}
}

// A join that one elder took and the other applied, and whose joiner then left, stays pending at
// the first for ever unless it learns what the other applied: both hold the same names, so the
// same stableset id, and the other ignores requests for a change it has gone past. Below
// elder_size that pending join keeps the first from taking any other (simulation seed 2660).
// When its push for the stuck join goes unanswered, the elder sends its STABLESET too, which
// lacks the leave, and ST-8 has the other answer with its own.
func TestStuckJoinIsResolvedByTheOtherElderStableset(t *testing.T) {
	s := newFixedSim(t, 2)
	s.runUntil(3 * time.Second)
	c0, c1 := s.nodes[0].core, s.nodes[1].core
	m0, m1 := s.nodes[0].member, s.nodes[1].member
	if len(c0.Set().Members()) != 2 || len(c1.Set().Members()) != 2 {
		t.Fatalf("before: node 0 holds %s, node 1 %s, want both of 2 members", s.names(s.nodes[0]), s.names(s.nodes[1]))
	}
	c0.Outbox()
	c1.Outbox()
	now := epoch.Add(s.now)
	j := testMember(10, 0)
	ask := func(c *Core, at time.Time, from wire.Member, kind wire.ChangeKind, m wire.Member) {
		o := wire.Observation{Kind: kind, Member: m}
		c.Receive(at, from, wire.Header{Type: wire.TypeWitnessRequest, ID: 7}, o.Append(nil))
	}
	// j asks node 0, which takes the join; its request reaches node 1, which applies it, but
	// node 1's witness never reaches node 0. Then j leaves through node 1.
	ask(c0, now, j, wire.ChangeJoin, j)
	var taken wire.Member
	for _, p := range c0.Set().Pending() {
		if p.Member.Name == j.Name {
			taken = p.Member
		}
	}
	if taken.Ordinal == 0 {
		t.Fatal("node 0 did not take j's join")
	}
	c0.Outbox()
	ask(c1, now, m0, wire.ChangeJoin, taken)
	ask(c1, now.Add(10*time.Millisecond), taken, wire.ChangeLeave, taken)
	if got := len(c1.Set().Members()); got != 2 || c1.Set().Live(wire.ChangeLeave, taken) {
		t.Fatalf("node 1 holds %d members and j's leave is live there, want j joined and left", got)
	}
	c1.Outbox()

	// Node 0's push of the stuck join goes with its STABLESET.
	later := now.Add(c0.cfg.RequestTimeout + 100*time.Millisecond)
	c0.Tick(later)
	views := stablesetsTo(c0.Outbox(), m1.Name)
	if len(views) == 0 {
		t.Fatal("node 0 pushed its stuck join without its STABLESET to node 1")
	}
	// Node 1 finds it lacking j's leave and answers with its own (ST-8), which settles node 0.
	c1.Receive(later, m0, wire.Header{Type: wire.TypeStableset, Stableset: c0.Set().ID()}, views[0])
	answers := stablesetsTo(c1.Outbox(), m0.Name)
	if len(answers) == 0 {
		t.Fatal("node 1 did not answer a STABLESET lacking j's leave with its own")
	}
	c0.Receive(later, m1, wire.Header{Type: wire.TypeStableset, Stableset: c1.Set().ID()}, answers[0])
	for _, p := range c0.Set().Pending() {
		if p.Member.Name == j.Name && p.Kind == wire.ChangeJoin {
			t.Fatalf("node 0 still holds j's join pending after node 1's STABLESET: %+v", p)
		}
	}
	// And it takes the next joiner.
	k := testMember(11, 0)
	c0.Outbox()
	ask(c0, later, k, wire.ChangeJoin, k)
	took := false
	for _, m := range c0.Outbox() {
		took = took || (m.Type == wire.TypeWitness && m.To.Name == k.Name)
	}
	if !took {
		t.Fatal("node 0 did not take the next joiner")
	}
}

// An elder holds its announcements to the members that are not elders until its next tick, so
// that they do not compete with the decision's own frames (ST-10: at the latest 200 ms after
// applying), and charges them to the decision they announce (ST-12).
func TestAnnouncementsWaitForTheTick(t *testing.T) {
	c, now := formedElder(t)
	e := c.Set().Elders()
	j, k := testMember(10, 4), testMember(11, 5)
	c.Heard(now, j, wire.Header{Type: wire.TypePing, Stableset: stableset.AloneID(j.Name)})
	askJoin(c, now, j, e[0], e[2])
	if got := stablesetsTo(c.Outbox(), j.Name); len(got) != 1 {
		t.Fatalf("sent j %d STABLESETs as its join applied, want 1: a subject that spoke is told at once", len(got))
	}
	now = now.Add(time.Millisecond)
	askJoin(c, now, k, e[0], e[2])
	if _, in := c.Set().Member(k.Name); !in {
		t.Fatal("k's join did not apply with 3 of 4 elders")
	}
	if got := stablesetsTo(c.Outbox(), j.Name); len(got) != 0 {
		t.Fatalf("sent member j %d STABLESETs as k's join applied, want them held until the tick", len(got))
	}
	c.Tick(now.Add(time.Millisecond))
	if got := stablesetsTo(c.Outbox(), j.Name); len(got) != 1 || !viewHas(t, got[0], k.Name) {
		t.Fatalf("sent member j %d STABLESETs at the tick, want 1 listing k", len(got))
	}
	for _, d := range c.Decisions() {
		if d.Kind == wire.ChangeJoin && d.Member.Name == k.Name {
			if p := d.Peers[j.Name]; p == nil || p.Sent != 1 {
				t.Fatalf("k's join charged %+v frames to j, want the announcement", p)
			}
			return
		}
	}
	t.Fatal("no decision recorded for k's join")
}
