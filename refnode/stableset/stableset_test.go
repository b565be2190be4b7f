package stableset

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

func node(i int) wire.Name {
	var n wire.Name
	n[0], n[31] = byte(i), byte(i)
	return n
}

func member(i int, ordinal uint64) wire.Member {
	return wire.Member{Name: node(i), Ordinal: ordinal, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)}), 7000)}
}

func names(ms []wire.Member) []int {
	var out []int
	for _, m := range ms {
		out = append(out, int(m.Name[0]))
	}
	return out
}

// four is node self's set after nodes 1..3 joined node 0's genesis with ordinals 1..3.
func four(self int) *Set {
	s := New(member(self, 0), 4)
	s.Reset([]wire.Member{member(0, 0), member(1, 1), member(2, 2), member(3, 3)})
	return s
}

func witness(s *Set, kind wire.ChangeKind, m wire.Member, by ...int) []Change {
	for _, b := range by {
		s.Witness(kind, m, node(b), time.Time{})
	}
	return s.Apply(nil)
}

func TestMajorityIsStrict(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3} {
		if got := Majority(n); got != want || 2*got <= n {
			t.Errorf("Majority(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestANodeAloneIsItsOwnGenesis(t *testing.T) {
	s := New(member(7, 5), 4)
	if got := s.Members(); len(got) != 1 || got[0].Name != node(7) || got[0].Ordinal != 0 {
		t.Fatalf("members %+v", got)
	}
	if s.ID() != AloneID(node(7)) {
		t.Fatal("id is not the hash of the node alone at ordinal 0")
	}
	// Alone, it is its own elder and a majority: it admits a joiner by itself.
	if got := witness(s, wire.ChangeJoin, member(8, 1), 7); len(got) != 1 {
		t.Fatalf("applied %v", got)
	}
}

func TestJoinAppliesWithElderMajorityOnly(t *testing.T) {
	s := four(0)
	j := member(9, 4)
	if got := witness(s, wire.ChangeJoin, j, 0, 1, 7); len(got) != 0 {
		t.Fatalf("applied with 2 of 4 elders and a non-elder: %v", got)
	}
	if p := s.Pending(); len(p) != 1 || len(p[0].Witnesses) != 3 {
		t.Fatalf("pending %+v", p)
	}
	if got := witness(s, wire.ChangeJoin, j, 2); len(got) != 1 {
		t.Fatal("3 of 4 elders did not apply the join")
	}
	if len(s.Pending()) != 0 {
		t.Fatal("an applied change is still pending")
	}
}

func TestRepeatedWitnessIsIgnored(t *testing.T) {
	s := four(0)
	j := member(9, 4)
	if !s.Witness(wire.ChangeJoin, j, node(1), time.Time{}) || s.Witness(wire.ChangeJoin, j, node(1), time.Time{}) {
		t.Fatal("a repeated witness was recorded twice")
	}
	if got := witness(s, wire.ChangeJoin, j, 1, 1, 1); len(got) != 0 {
		t.Fatal("one elder witnessing three times made a majority")
	}
}

func TestElderLeavePromotesNextEldest(t *testing.T) {
	s := four(0)
	witness(s, wire.ChangeJoin, member(4, 4), 0, 1, 2)
	if got := names(s.Elders()); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("elders %v", got)
	}
	witness(s, wire.ChangeLeave, member(2, 2), 0, 1, 3)
	if got := names(s.Elders()); !slices.Equal(got, []int{0, 1, 3, 4}) {
		t.Fatalf("elders after the leave %v, want 4 promoted", got)
	}
}

func TestSmallSetsUseAllMembers(t *testing.T) {
	s := New(member(0, 0), 4)
	s.Reset([]wire.Member{member(0, 0), member(1, 1)})
	if got := witness(s, wire.ChangeJoin, member(2, 2), 0); len(got) != 0 {
		t.Fatal("1 of 2 elders applied a change")
	}
	if got := witness(s, wire.ChangeJoin, member(2, 2), 1); len(got) != 1 {
		t.Fatal("2 of 2 elders did not apply")
	}
}

func TestRejoinIsANewInstance(t *testing.T) {
	s := four(0)
	old := member(3, 3)
	witness(s, wire.ChangeLeave, old, 0, 1, 2)
	if _, ok := s.Member(node(3)); ok {
		t.Fatal("left but still a member")
	}
	if s.Live(wire.ChangeJoin, old) || s.Witness(wire.ChangeJoin, old, node(0), time.Time{}) {
		t.Fatal("the departed instance can join again")
	}
	if got := witness(s, wire.ChangeJoin, member(3, 5), 0, 1, 2); len(got) != 1 {
		t.Fatal("a new instance with a higher ordinal was not admitted")
	}
	if m, _ := s.Member(node(3)); m.Ordinal != 5 {
		t.Fatalf("member 3 has ordinal %d", m.Ordinal)
	}
}

func TestStateIsALattice(t *testing.T) {
	// Applying the same events in any order gives the same members and id (ST-1).
	events := []Change{
		{wire.ChangeJoin, member(4, 4)}, {wire.ChangeLeave, member(4, 4)}, {wire.ChangeJoin, member(4, 6)},
		{wire.ChangeJoin, member(5, 5)}, {wire.ChangeLeave, member(3, 3)},
	}
	r := rand.New(rand.NewPCG(1, 2))
	var want wire.StablesetID
	for round := range 50 {
		s := New(member(0, 0), 1) // node 0 alone is the elder: only the order of events varies
		s.Reset([]wire.Member{member(0, 0), member(3, 3)})
		order := r.Perm(len(events))
		for _, i := range order {
			witness(s, events[i].Kind, events[i].Member, 0)
		}
		if round == 0 {
			want = s.ID()
			if got := names(s.Members()); !slices.Equal(got, []int{0, 5, 4}) {
				t.Fatalf("members %v", got)
			}
		} else if s.ID() != want {
			t.Fatalf("order %v gave another id", order)
		}
	}
}

func TestViewRoundTripsThroughTheWire(t *testing.T) {
	s := four(0)
	witness(s, wire.ChangeLeave, member(3, 3), 0, 1, 2)
	s.Witness(wire.ChangeJoin, member(9, 4), node(0), time.Time{}) // pending, witnessed by self: listed
	s.Witness(wire.ChangeJoin, member(8, 4), node(1), time.Time{}) // pending, heard from another: not listed
	body, _, _ := s.AppendView(nil, nil, nil)
	var v wire.StablesetView
	if err := v.Decode(body); err != nil {
		t.Fatal(err)
	}
	if v.Len(wire.ListMembers) != 3 || v.Len(wire.ListJoining) != 1 || v.Len(wire.ListLeaving) != 1 {
		t.Fatalf("counts %d/%d/%d", v.Len(0), v.Len(1), v.Len(2))
	}
	other := four(1)
	other.Merge(node(0), &v, time.Time{})
	if !other.Witnessed(wire.ChangeLeave, member(3, 3), node(0)) || !other.Witnessed(wire.ChangeJoin, member(9, 4), node(0)) {
		t.Fatal("merge did not record the sender's witnesses")
	}
	if other.Witnessed(wire.ChangeJoin, member(8, 4), node(1)) {
		t.Fatal("a witness was passed along")
	}
	if !s.Lacks(mustView(t, other), time.Time{}) {
		t.Fatal("Lacks missed that the other view still lists a departed member")
	}
	if s.Lacks(mustView(t, s), time.Time{}) {
		t.Fatal("a node's own view lacks something")
	}
}

// A view ahead of a node lacks nothing: node 3 left at ordinal 3 and came back at 5, and a node
// that knows only the leave must not answer the view that lists the new instance (ST-8), while
// the node that knows the new instance answers the view that lists only the leave.
func TestAViewAheadLacksNothing(t *testing.T) {
	behind := four(0)
	witness(behind, wire.ChangeLeave, member(3, 3), 0, 1, 2)
	ahead := four(1)
	witness(ahead, wire.ChangeLeave, member(3, 3), 0, 1, 2)
	witness(ahead, wire.ChangeJoin, member(3, 5), 0, 1, 2)
	if behind.Lacks(mustView(t, ahead), time.Time{}) {
		t.Fatal("a view listing the later instance of a departed one lacks something")
	}
	if !ahead.Lacks(mustView(t, behind), time.Time{}) {
		t.Fatal("a view listing only the departed instance lacks nothing to a node that has the later one")
	}
	// A member the view lists at a later ordinal (the node missed its leave and its rejoin).
	missed := four(2)
	if missed.Lacks(mustView(t, ahead), time.Time{}) {
		t.Fatal("a view listing a later instance of a member lacks something")
	}
	if !ahead.Lacks(mustView(t, missed), time.Time{}) {
		t.Fatal("a view listing an instance that left lacks nothing")
	}
	// What the view does not mention at all is missing, whatever else it is ahead on.
	witness(behind, wire.ChangeJoin, member(7, 4), 0, 1, 2)
	if !behind.Lacks(mustView(t, ahead), time.Time{}) {
		t.Fatal("a view without a member the node applied lacks nothing")
	}
}

// What a node applied after the settled time does not count as lacking: the sender may be
// learning it from the decision itself (ST-8, ST-10).
func TestARecentChangeIsNotLackedYet(t *testing.T) {
	s := four(0)
	applied := time.Unix(100, 0)
	for _, by := range []int{0, 1, 2} {
		s.Witness(wire.ChangeJoin, member(7, 4), node(by), applied.Add(-time.Duration(by)*time.Millisecond))
	}
	if len(s.Apply(nil)) != 1 {
		t.Fatal("the join did not apply")
	}
	v := mustView(t, four(1))
	if s.Lacks(v, applied.Add(-time.Millisecond)) {
		t.Fatal("a view lacks a join applied after the settled time")
	}
	if !s.Lacks(v, applied) {
		t.Fatal("a view does not lack a join applied when its last witness was said")
	}
}

// AloneID, which hashes without allocating, is the id ID gives a stableset of that name alone.
func TestAloneIDIsTheIDOfOneName(t *testing.T) {
	for i := range 3 {
		if got, want := AloneID(node(i)), ID([]wire.Member{{Name: node(i)}}); got != want {
			t.Fatalf("AloneID(node %d) = %x, ID of it alone = %x", i, got[:4], want[:4])
		}
	}
	if AloneID(node(1)) == AloneID(node(2)) {
		t.Fatal("two names alone have one id")
	}
}

func mustView(t *testing.T, s *Set) *wire.StablesetView {
	body, _, _ := s.AppendView(nil, nil, nil)
	var v wire.StablesetView
	if err := v.Decode(body); err != nil {
		t.Fatal(err)
	}
	return &v
}

func TestAdoptOnlyWhatDominates(t *testing.T) {
	behind := four(1)
	ahead := four(0)
	witness(ahead, wire.ChangeLeave, member(3, 3), 0, 1, 2)
	witness(ahead, wire.ChangeJoin, member(4, 4), 0, 1, 2)
	if !behind.Dominated(mustView(t, ahead)) {
		t.Fatal("a view with strictly later events does not dominate")
	}
	if ahead.Dominated(mustView(t, behind)) {
		t.Fatal("an older view dominates a newer state")
	}
	behind.Adopt(mustView(t, ahead))
	if behind.ID() != ahead.ID() {
		t.Fatal("adopting did not give the same members")
	}
	if behind.Live(wire.ChangeJoin, member(3, 3)) {
		t.Fatal("the departed instance was forgotten on adoption")
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	s, v := cluster16(t)
	m := member(9, 9)
	allocs := testing.AllocsPerRun(100, func() {
		s.Witness(wire.ChangeJoin, m, node(1), time.Time{})
		s.Merge(node(1), v, time.Time{})
		s.Apply(nil)
		_ = s.Lacks(v, time.Time{})
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per repeated witness, merge and apply", allocs)
	}
}

// Two lists that hold one name at two ordinals have two ids (WIRE-10 is over instances), so that
// anti-entropy sees the difference (ST-8) and votes for a stableset to take over count them apart
// (ST-5, ST-11). The order the members come in does not matter, and ID leaves them as they were.
func TestIDTellsTwoInstancesOfANameApart(t *testing.T) {
	older := []wire.Member{member(0, 0), member(1, 1), member(2, 5)}
	newer := []wire.Member{member(0, 0), member(1, 1), member(2, 7)}
	if ID(older) == ID(newer) {
		t.Fatal("one name at two ordinals must make two ids")
	}
	reversed := slices.Clone(older)
	slices.Reverse(reversed)
	kept := slices.Clone(reversed)
	if ID(older) != ID(reversed) {
		t.Fatal("the id of one list depends on the order its members come in")
	}
	if !slices.Equal(reversed, kept) {
		t.Fatal("ID reordered the caller's members")
	}
}
