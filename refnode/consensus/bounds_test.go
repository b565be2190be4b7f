package consensus

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

// newFixedSim is n nodes joining node 0 one second apart, without faults, for tests that then
// cut the links they choose.
func newFixedSim(t *testing.T, n int) *sim {
	s := &sim{t: t, r: rand.New(rand.NewPCG(4, 0x1a95e)), byKey: map[wire.Name]int{}, left: map[int]bool{}}
	s.sc = scenario{n: n, faultFree: true, maxDelay: 5 * time.Millisecond}
	for i := range s.sc.n {
		m := wire.Member{Name: simName(i), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 2, byte(i + 1)}), 7000)}
		s.nodes = append(s.nodes, &simNode{member: m, pending: map[uint64]time.Duration{}})
		s.byKey[m.Name] = i
		s.push(event{at: time.Duration(i) * time.Second, kind: evStart, node: i})
	}
	return s
}

// #18's fourth finding, in the simulation: a 2|2 cut of 4 elders removes nobody (no side has a
// strict majority) but leaves witnesses of each other's silence behind; after the heal they must
// go, or a short second cut between just two elders adds the third witness and removes healthy
// members.
func TestHealedPartitionLeavesNoStaleWitnesses(t *testing.T) {
	s := newFixedSim(t, 4)
	s.runUntil(10 * time.Second)
	for i, nd := range s.nodes {
		if got := len(nd.core.Set().Members()); got != 4 {
			t.Fatalf("node %d holds %s before the cut, want 4 members", i, s.names(nd))
		}
	}
	side := func(i int) bool { return i < 2 }
	s.cutFn = func(a, b int) bool { return side(a) != side(b) }
	s.runUntil(20 * time.Second)
	stale := 0
	for _, nd := range s.nodes {
		stale += len(nd.core.Set().Pending())
	}
	if stale == 0 {
		t.Fatal("the 2|2 cut left no pending leave: the test no longer makes the witnesses it is about")
	}
	s.cutFn = nil
	heal := s.now
	s.runUntil(heal + 6*time.Second) // the witness lapse (5 s) and a tick
	for i, nd := range s.nodes {
		if p := nd.core.Set().Pending(); len(p) > 0 {
			t.Errorf("node %d still holds %d pending changes 6 s after the heal: %v", i, len(p), p)
		}
	}
	// A second cut, between nodes 2 and 3 only (they were on one side), for longer than the
	// peer timeout: node 2's witness of node 3's silence would be the third, with nodes 0's and
	// 1's from the first cut.
	before := s.names(s.nodes[0])
	s.cutFn = func(a, b int) bool { return a == 2 && b == 3 || a == 3 && b == 2 }
	s.runUntil(s.now + 9*time.Second)
	s.cutFn = nil
	s.runUntil(s.now + 10*time.Second)
	for i, nd := range s.nodes {
		if got := s.names(nd); got != before {
			t.Errorf("node %d holds %s after a cut between two elders, want the same instances as before it: %s", i, got, before)
		}
	}
	if len(s.audit) > 0 {
		t.Fatalf("majority rule broken: %v", s.audit)
	}
}

// One member that keeps sending stablesets listing made-up joins is recorded for at most
// members + 16 pending changes; the rest are counted as dropped, every time; an elder that does
// so gets no more of them witnessed by the other elders than its quota; and what it did get
// recorded lapses once it stops saying it (ST-13).
func TestOneMembersMadeUpJoinsStayWithinItsQuota(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attacker int
	}{{"member", 4}, {"elder", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFixedSim(t, 5)
			s.runUntil(12 * time.Second)
			victim := s.nodes[0].core
			attacker, ok := victim.Set().Member(s.nodes[tc.attacker].member.Name)
			if !ok || victim.Set().IsElder(attacker.Name) != (tc.name == "elder") {
				t.Fatalf("node %d is not a %s: %s", tc.attacker, tc.name, s.names(s.nodes[0]))
			}
			members := slices.Clone(victim.Set().Members())
			var joining []wire.Member
			for i := range 200 {
				var n wire.Name
				n[0], n[1], n[2] = 0xEE, byte(i), byte(i>>8)
				joining = append(joining, wire.Member{Name: n, Ordinal: uint64(10 + i), Addr: attacker.Addr})
			}
			slices.SortFunc(joining, wire.CompareMembers)
			body := wire.AppendStableset(nil, members, joining, nil)
			now := epoch.Add(s.now)
			for range 3 {
				victim.Receive(now, attacker, wire.Header{Type: wire.TypeStableset, Stableset: victim.Set().ID()}, body)
			}
			quota := victim.Set().Quota()
			if quota != 5+16 {
				t.Fatalf("quota %d, want members + 16 = 21", quota)
			}
			byAttacker, byVictim := 0, 0
			victim.Set().EachPending(func(_ stableset.Change, w []wire.Name) {
				if slices.Contains(w, attacker.Name) {
					byAttacker++
				}
				if slices.Contains(w, victim.self.Name) {
					byVictim++
				}
			})
			if byAttacker != quota {
				t.Errorf("the attacker is recorded for %d pending changes, want its quota %d", byAttacker, quota)
			}
			if want := map[string]int{"member": 0, "elder": quota}[tc.name]; byVictim != want {
				t.Errorf("the node witnessed %d of the made-up joins itself, want %d", byVictim, want)
			}
			if got, want := victim.Set().Dropped(), uint64(3*(200-quota)); got != want {
				t.Errorf("dropped %d witnesses, want %d: 200 - quota for each of 3 stablesets", got, want)
			}
			if tc.name == "member" {
				victim.Tick(now.Add(6 * time.Second))
				if p := victim.Set().Pending(); len(p) > 0 {
					t.Errorf("%d pending changes survive 6 s after the attacker last said them", len(p))
				}
			}
		})
	}
}

// ST-5: an elder holds the joiners beyond the MaxJoinsAtOnce it takes and takes each up as soon
// as one of its joins applies, so 12 joiners asking at once are in within a second, not one
// retry interval (1 s) later. The simulation runs with a one-section network, where an elder
// takes joins 8 at a time.
func TestHeldJoinersAreTakenUpOneDecisionApart(t *testing.T) {
	s := newJoinRush(t, 12, 0, simName)
	s.runUntil(5*time.Second + 900*time.Millisecond)
	if got := len(s.nodes[0].core.Set().Members()); got != 16 {
		t.Fatalf("0.9 s after 12 joiners asked at once node 0 holds %d members (%s), want 16", got, s.names(s.nodes[0]))
	}
	if len(s.audit) > 0 {
		t.Fatalf("majority rule broken: %v", s.audit)
	}
}

// ST-10: an elder announces the changes it applies while others it witnessed are pending with
// one STABLESET per member once they have applied, not one per change: 16 joiners taken 8 at a
// time cost the 4 elders a STABLESET to each joiner as its join applies, and a few more to every
// member, rather than one to every member per join (4 × (1 + 2 + … + 16) = 544).
func TestJoinsAtOnceAreAnnouncedOnceTheyHaveApplied(t *testing.T) {
	s := newJoinRush(t, 16, 0, simName)
	s.runUntil(5 * time.Second)
	before, antiEntropy := 0, 0
	for i := range 4 {
		before += s.stablesetsFrom[i]
		antiEntropy -= s.nodes[i].core.Totals().AntiEntropy
	}
	s.runUntil(5*time.Second + 900*time.Millisecond)
	if got := len(s.nodes[0].core.Set().Members()); got != 20 {
		t.Fatalf("0.9 s after 16 joiners asked at once node 0 holds %d members (%s), want 20", got, s.names(s.nodes[0]))
	}
	sent := -before
	for i := range 4 {
		sent += s.stablesetsFrom[i]
		antiEntropy += s.nodes[i].core.Totals().AntiEntropy
	}
	announced := sent - antiEntropy
	t.Logf("the 4 elders sent %d STABLESETs for the 16 joins (%d more by anti-entropy)", announced, antiEntropy)
	// Each joiner as its join applies (64), and every member after each run of joins: the 8
	// taken at once apply in a few runs, the held ones as the first ones apply (163 measured).
	if most := 4 * (16 + 3*16); announced > most {
		t.Errorf("the 4 elders sent %d STABLESETs for the 16 joins, want at most %d", announced, most)
	}
}

// ST-5: an elder of a stableset of at least elder_size members takes up to MaxJoinsAtOnce joins
// at once, each with its own ordinal, and holds the others: 16 joiners asking a 4-member
// stableset at once are taken 8 at a time, never more, and every member ends with its own ordinal.
func TestJoinsAreTakenEightAtATimeWithTheirOwnOrdinals(t *testing.T) {
	s, most := joinsAtOnce(t, 16, 0, simName)
	if most != MaxJoinsAtOnce {
		t.Errorf("node 0 had at most %d joins it witnessed pending at once, want %d", most, MaxJoinsAtOnce)
	}
	checkOwnOrdinals(t, s)
}

// ST-5: in a network of sections too an elder of elder_size members takes joins at once: every
// applied change raises the section's age (SPEC.md section 10), and an id over instances
// (WIRE-10) lets anti-entropy mend a name that two elders each gave an ordinal.
func TestJoinsAreTakenAtOnceWithSections(t *testing.T) {
	inSectionZero := func(i int) wire.Name { n := sectionName(i); n[0] &= 0x7f; return n }
	s, most := joinsAtOnce(t, 16, 1, inSectionZero)
	if most != MaxJoinsAtOnce {
		t.Errorf("node 0 had at most %d joins it witnessed pending at once, want %d", most, MaxJoinsAtOnce)
	}
	checkOwnOrdinals(t, s)
}

// checkOwnOrdinals fails the test if two of node 0's members share an ordinal.
func checkOwnOrdinals(t *testing.T, s *sim) {
	t.Helper()
	ordinals := map[uint64]wire.Name{}
	for _, m := range s.nodes[0].core.Set().Members() {
		if other, dup := ordinals[m.Ordinal]; dup {
			t.Errorf("%x and %x share ordinal %d", other[:4], m.Name[:4], m.Ordinal)
		}
		ordinals[m.Ordinal] = m.Name
	}
}

// newJoinRush is a simulation of a 4-member stableset, one node started a second, and joiners
// more nodes that all ask node 0 to join 5 s in.
func newJoinRush(t *testing.T, joiners int, sectionBits uint8, name func(int) wire.Name) *sim {
	s := &sim{t: t, r: rand.New(rand.NewPCG(6, 0x8)), byKey: map[wire.Name]int{}, left: map[int]bool{}, sectionBits: sectionBits}
	s.sc = scenario{n: 4 + joiners, faultFree: true, maxDelay: 2 * time.Millisecond}
	for i := range s.sc.n {
		m := wire.Member{Name: name(i), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 4, byte(i + 1)}), 7000)}
		s.nodes = append(s.nodes, &simNode{member: m, pending: map[uint64]time.Duration{}})
		s.byKey[m.Name] = i
		at := time.Duration(i) * time.Second
		if i >= 4 {
			at = 5 * time.Second // every joiner asks node 0 at once
		}
		s.push(event{at: at, kind: evStart, node: i})
	}
	return s
}

// joinsAtOnce starts a 4-member stableset, one node a second, then has joiners more nodes ask
// node 0 to join at once, and returns the most joins node 0 had witnessed and pending at any
// millisecond of the next 0.4 s, by when every joiner must be in.
func joinsAtOnce(t *testing.T, joiners int, sectionBits uint8, name func(int) wire.Name) (*sim, int) {
	t.Helper()
	s := newJoinRush(t, joiners, sectionBits, name)
	s.runUntil(5 * time.Second)
	most := 0
	for at := 5 * time.Second; at <= 5*time.Second+400*time.Millisecond; at += time.Millisecond {
		s.runUntil(at)
		taken := 0
		s.nodes[0].core.Set().EachPending(func(ch stableset.Change, witnesses []wire.Name) {
			if ch.Kind == wire.ChangeJoin && slices.Contains(witnesses, s.nodes[0].member.Name) {
				taken++
			}
		})
		most = max(most, taken)
	}
	if n := len(s.nodes[0].core.Set().Members()); n != s.sc.n {
		t.Fatalf("0.4 s after %d joiners asked at once node 0 holds %d members (%s), want %d", joiners, n, s.names(s.nodes[0]), s.sc.n)
	}
	if len(s.audit) > 0 {
		t.Fatalf("majority rule broken: %v", s.audit)
	}
	return s, most
}

// After a partition that cut off a quarter of the nodes heals, the removed nodes join again and
// everyone agrees, with anti-entropy STABLESETs that grow with the nodes, not with the members
// times the changes (ST-8): a STABLESET that is ahead of the receiver, or behind it only by what
// the receiver applied within 200 ms, draws no answer; a node that heard a stableset from some
// of its elders waits for the others' announcements before asking them; and only elders answer a
// node that is no member. What the heal needs is about 2.5 frames per node: the removed elder,
// which still pings every member, sends each its STABLESET once (n), and each removed member and
// the 3 other elders send each other theirs (6 per removed member, 1.5 n). So at most 3 per node,
// and doubling the nodes must not much more than double the frames.
func TestHealedQuarterRejoinsWithAntiEntropyLinearInTheNodes(t *testing.T) {
	frames := map[int]int{}
	for _, n := range []int{16, 32} {
		frames[n] = healQuarter(t, n)
		if frames[n] == 0 {
			t.Fatalf("%d nodes: no anti-entropy frame after the heal: the removed nodes cannot have learned they were removed", n)
		}
		if frames[n] > 3*n {
			t.Errorf("%d nodes: %d anti-entropy STABLESETs after the heal, want at most %d (3 per node)", n, frames[n], 3*n)
		}
	}
	t.Logf("anti-entropy STABLESETs after the heal: %d at 16 nodes, %d at 32", frames[16], frames[32])
	if ratio := float64(frames[32]) / float64(frames[16]); ratio > 2.5 {
		t.Fatalf("anti-entropy STABLESETs grew %.2f times from 16 to 32 nodes (%d to %d), want at most 2.5", ratio, frames[16], frames[32])
	}
}

// healQuarter forms n nodes, cuts off the youngest elder and the youngest members, a quarter in
// all, until the others removed them, heals, and returns the anti-entropy STABLESETs sent from
// the heal until every node holds all n members again.
func healQuarter(t *testing.T, n int) int {
	s := newFixedSim(t, n)
	s.runUntil(time.Duration(n)*time.Second + 2*time.Second)
	for i, nd := range s.nodes {
		if got := len(nd.core.Set().Members()); got != n {
			t.Fatalf("%d nodes: node %d holds %s before the cut, want %d members", n, i, s.names(nd), n)
		}
	}
	minority := map[int]bool{3: true}
	for i := n - 1; len(minority) < n/4; i-- {
		minority[i] = true
	}
	s.cutFn = func(a, b int) bool { return minority[a] != minority[b] }
	s.runUntil(s.now + 10*time.Second)
	if got := len(s.nodes[0].core.Set().Members()); got != n-len(minority) {
		t.Fatalf("%d nodes: the majority side holds %s 10 s after the cut, want %d members", n, s.names(s.nodes[0]), n-len(minority))
	}
	antiEntropy := func() int {
		sum := 0
		for _, nd := range s.nodes {
			sum += nd.core.Totals().AntiEntropy
		}
		return sum
	}
	before := antiEntropy()
	s.cutFn = nil
	s.runUntil(s.now + 10*time.Second)
	id := s.nodes[0].core.Set().ID()
	for i, nd := range s.nodes {
		if got := len(nd.core.Set().Members()); got != n || nd.core.Set().ID() != id {
			t.Fatalf("%d nodes: node %d holds %s 10 s after the heal, want the members node 0 holds", n, i, s.names(nd))
		}
	}
	if len(s.audit) > 0 {
		t.Fatalf("%d nodes: majority rule broken: %v", n, s.audit)
	}
	return antiEntropy() - before
}

// Of an elder and a member, which ping each other, each leaves out a ping the other's own PING
// made needless (ST-7): about half the pings of pinging every round, and a member that dies is
// still removed within the peer timeout and a few ping rounds.
func TestPingsAFrameOfItsOwnMadeNeedlessAreLeftOut(t *testing.T) {
	const n = 8
	s := newFixedSim(t, n)
	s.runUntil(n*time.Second + 2*time.Second)
	pings := func() int {
		sum := 0
		for _, nd := range s.nodes {
			sum += nd.core.Totals().Pings
		}
		return sum
	}
	// Every round, an elder would ping every other member and a member every elder.
	perRound := 0
	for _, nd := range s.nodes {
		set := nd.core.Set()
		if len(set.Members()) != n {
			t.Fatalf("a node holds %s, want %d members", s.names(nd), n)
		}
		if set.IsElder(nd.member.Name) {
			perRound += n - 1
		} else {
			perRound += len(set.Elders())
		}
	}
	const window = 10 * time.Second
	before := pings()
	s.runUntil(s.now + window)
	sent, everyRound := pings()-before, perRound*int(window/(500*time.Millisecond))
	t.Logf("%d pings in %v, %d if every node pinged every round", sent, window, everyRound)
	if sent > everyRound*6/10 || sent < everyRound*3/10 {
		t.Fatalf("%d pings in %v, want about half of the %d of pinging every round", sent, window, everyRound)
	}
	victim := n - 1
	killed := s.now
	s.push(event{at: killed, kind: evKill, node: victim})
	deadline := killed + 3*time.Second + 2*time.Second // the peer timeout and a few rounds
	for s.now < deadline && len(s.nodes[0].core.Set().Members()) == n {
		s.runUntil(s.now + 100*time.Millisecond)
	}
	if got := len(s.nodes[0].core.Set().Members()); got != n-1 {
		t.Fatalf("node 0 holds %s %v after node %d died, want it removed", s.names(s.nodes[0]), s.now-killed, victim)
	}
	t.Logf("the dead member was removed %v after it died", s.now-killed)
}
