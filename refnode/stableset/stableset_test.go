package stableset

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

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

// genesis4 is a set whose genesis members are nodes 0..3 (all elders).
func genesis4(contactable func(wire.Name) bool) *Set { return genesis4As(node(0), contactable) }

func genesis4As(self wire.Name, contactable func(wire.Name) bool) *Set {
	return New(self, 4, []wire.Member{member(0, 0), member(1, 0), member(2, 0), member(3, 0)}, contactable)
}

func TestMajorityIsStrict(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3} {
		if got := Majority(n); got != want || 2*got <= n {
			t.Errorf("Majority(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestJoinAppliesWithElderMajorityOnly(t *testing.T) {
	s := genesis4(nil)
	j := member(9, 1)
	s.Witness(wire.ChangeJoin, j, node(0))
	s.Witness(wire.ChangeJoin, j, node(1))
	s.Witness(wire.ChangeJoin, j, node(7)) // not an elder: stored, not counted
	if _, ok := s.Member(j.Name); ok {
		t.Fatal("joined with 2 of 4 elders")
	}
	if p := s.Pending(); len(p) != 1 || len(p[0].Witnesses) != 3 {
		t.Fatalf("pending %+v", p)
	}
	s.Witness(wire.ChangeJoin, j, node(2))
	if _, ok := s.Member(j.Name); !ok {
		t.Fatal("3 of 4 elders did not apply the join")
	}
	if len(s.Pending()) != 0 {
		t.Fatalf("applied change still pending: %+v", s.Pending())
	}
	if got := names(s.Elders()); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("a joiner with a higher ordinal changed the elders: %v", got)
	}
}

func TestRepeatedWitnessIsIgnored(t *testing.T) {
	s := genesis4(nil)
	j := member(9, 1)
	if !s.Witness(wire.ChangeJoin, j, node(0)) || s.Witness(wire.ChangeJoin, j, node(0)) {
		t.Fatal("a witness set is not a set")
	}
	if len(s.Pending()[0].Witnesses) != 1 {
		t.Fatal("repeated witness counted twice")
	}
}

func TestElderLeavePromotesNextEldest(t *testing.T) {
	s := genesis4(nil)
	for _, w := range []int{0, 1, 2} {
		s.Witness(wire.ChangeJoin, member(4, 1), node(w))
	}
	old := s.ID()
	for _, w := range []int{1, 2, 3} {
		s.Witness(wire.ChangeLeave, member(0, 0), node(w))
	}
	if got := names(s.Elders()); !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Fatalf("elders after node 0 left: %v, want [1 2 3 4]", got)
	}
	if s.ID() == old {
		t.Fatal("id did not change with the members")
	}
}

func TestUncontactableElderIsPassedOver(t *testing.T) {
	down := map[wire.Name]bool{}
	s := genesis4(func(n wire.Name) bool { return !down[n] })
	for _, w := range []int{0, 1, 2} {
		s.Witness(wire.ChangeJoin, member(4, 1), node(w))
	}
	down[node(1)] = true
	s.ContactabilityChanged()
	if got := names(s.Elders()); !slices.Equal(got, []int{0, 2, 3, 4}) {
		t.Fatalf("elders with node 1 unreachable: %v", got)
	}
	// The leave of node 1 is now decided by the new elders, node 4 among them.
	for _, w := range []int{0, 2, 4} {
		s.Witness(wire.ChangeLeave, member(1, 0), node(w))
	}
	if _, ok := s.Member(node(1)); ok {
		t.Fatal("leave witnessed by 3 of the 4 current elders did not apply")
	}
}

func TestSmallSetsUseAllMembers(t *testing.T) {
	s := New(node(0), 4, []wire.Member{member(0, 0)}, nil)
	s.Witness(wire.ChangeJoin, member(1, 1), node(0)) // 1 of 1
	s.Witness(wire.ChangeJoin, member(2, 2), node(0)) // 1 of 2: not enough
	if got := names(s.Members()); !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("members %v, want [0 1]", got)
	}
	s.Witness(wire.ChangeJoin, member(2, 2), node(1)) // 2 of 2
	if got := names(s.Members()); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("members %v, want [0 1 2]", got)
	}
}

func TestRejoinIsANewInstance(t *testing.T) {
	s := genesis4(nil)
	for _, w := range []int{0, 1, 2} {
		s.Witness(wire.ChangeJoin, member(5, 1), node(w))
		s.Witness(wire.ChangeLeave, member(5, 1), node(w))
	}
	if _, ok := s.Member(node(5)); ok {
		t.Fatal("left member still present")
	}
	for _, w := range []int{0, 1, 2} {
		s.Witness(wire.ChangeJoin, member(5, 1), node(w)) // an old record again: stays applied and left
	}
	if _, ok := s.Member(node(5)); ok {
		t.Fatal("a replayed join brought back a left instance")
	}
	for _, w := range []int{0, 1, 2} {
		s.Witness(wire.ChangeJoin, member(5, 2), node(w))
	}
	if m, ok := s.Member(node(5)); !ok || m.Ordinal != 2 {
		t.Fatalf("rejoin: %+v %v", m, ok)
	}
}

func TestViewRoundTripsThroughTheWire(t *testing.T) {
	a := genesis4As(node(1), nil) // the view is node 1's
	for _, w := range []int{0, 1, 2} {
		a.Witness(wire.ChangeJoin, member(4, 1), node(w))
		a.Witness(wire.ChangeLeave, member(3, 0), node(w))
	}
	a.Witness(wire.ChangeJoin, member(6, 2), node(0))  // pending, witnessed by node 0 only
	a.Witness(wire.ChangeLeave, member(2, 0), node(1)) // pending, witnessed by node 1 itself
	body := a.AppendView(nil)
	var v wire.StablesetView
	if err := v.Decode(body); err != nil {
		t.Fatalf("view breaks MSG-4: %v", err)
	}
	// Members 0,1,2,4; no joining (node 6's join is node 0's word, not node 1's); leaving: its own
	// pending leave of node 2 and the tombstone of node 3.
	if v.Len(wire.ListMembers) != 4 || v.Len(wire.ListJoining) != 0 || v.Len(wire.ListLeaving) != 2 {
		t.Fatalf("lists %d/%d/%d, want 4 members, 0 joining, 2 leaving",
			v.Len(wire.ListMembers), v.Len(wire.ListJoining), v.Len(wire.ListLeaving))
	}
	b := genesis4As(node(3), nil)
	b.Merge(node(1), &v)
	if !b.Witnessed(wire.ChangeLeave, member(2, 0), node(1)) || b.Witnessed(wire.ChangeJoin, member(6, 2), node(1)) {
		t.Fatal("the merge did not record exactly what node 1 vouched for")
	}
	if _, ok := b.Member(node(4)); ok {
		t.Fatal("one elder's view alone applied a join")
	}
	if b.Merge(node(1), &v) != 0 {
		t.Fatal("merging the same view again recorded something new")
	}
}

// record is one witness record for the property tests.
type record struct {
	kind wire.ChangeKind
	m    wire.Member
	by   wire.Name
}

// randomHistory makes records the way a cluster produces them: a change (a join of one of nodes
// 4..9, or a leave of any node) collects one to four witnesses, mostly from the nodes that are or
// may become elders. Many changes apply, elders leave and are replaced, and some stay pending.
func randomHistory(r *rand.Rand, changes int) []record {
	var out []record
	for range changes {
		subject := r.IntN(10)
		ordinal := uint64(0)
		if subject >= 4 {
			ordinal = uint64(1 + r.IntN(2))
		}
		kind := wire.ChangeJoin
		if subject < 4 || r.IntN(3) == 0 {
			kind = wire.ChangeLeave
		}
		for range 1 + r.IntN(4) {
			by := r.IntN(6)
			if r.IntN(5) == 0 {
				by = r.IntN(10)
			}
			out = append(out, record{kind, member(subject, ordinal), node(by)})
		}
	}
	return out
}

func fingerprint(s *Set) string {
	return fmt.Sprintf("%v %x %v %d", names(s.Members()), s.ID(), names(s.Elders()), len(s.Pending()))
}

// Knowledge is a set: the membership it gives does not depend on the order records arrive in,
// and repeating records changes nothing (idempotent, commutative, associative merge).
func TestDerivedMembershipIgnoresArrivalOrder(t *testing.T) {
	changed, eldersChanged := 0, 0
	defer func() {
		// The property means little unless the histories move the membership and the elders.
		if changed < 150 || eldersChanged < 80 {
			t.Errorf("histories too tame: %d/300 changed members, %d/300 changed the eldest elder", changed, eldersChanged)
		}
	}()
	for seed := uint64(0); seed < 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		down := map[wire.Name]bool{node(r.IntN(6)): true}
		contactable := func(n wire.Name) bool { return !down[n] }
		history := randomHistory(r, 14)
		var want string
		// Genesis sizes 1 to 4: small sets are where each applied join moves the elders.
		var genesis []wire.Member
		for i := range 1 + int(seed%4) {
			genesis = append(genesis, member(i, 0))
		}
		for perm := 0; perm < 5; perm++ {
			s := New(node(0), 4, genesis, contactable)
			order := r.Perm(len(history))
			for _, i := range order {
				h := history[i]
				s.Witness(h.kind, h.m, h.by)
				if r.IntN(4) == 0 {
					_ = s.Members() // evaluate at arbitrary points in between
				}
			}
			for _, i := range order[:len(order)/2] { // repeats change nothing
				h := history[i]
				s.Witness(h.kind, h.m, h.by)
			}
			got := fingerprint(s)
			if perm == 0 {
				want = got
				if len(s.Members()) != len(genesis) {
					changed++
				}
				if e := s.Elders(); len(e) == 0 || e[0].Name != node(0) {
					eldersChanged++
				}
			} else if got != want {
				t.Fatalf("seed %d: order %d gives %s, first order gave %s", seed, perm, got, want)
			}
		}
	}
}

// Merging views through the wire: merge(merge(X, a), b) equals merge(merge(X, b), a), and a
// grouping of three views does not matter either.
func TestMergeOfViewsCommutesAndAssociates(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 2))
		views := make([]wire.StablesetView, 3)
		srcs := []wire.Name{node(r.IntN(4)), node(r.IntN(4)), node(r.IntN(12))}
		for i := range views {
			s := genesis4As(srcs[i], nil)
			for _, h := range randomHistory(r, 12) {
				s.Witness(h.kind, h.m, h.by)
			}
			if err := views[i].Decode(s.AppendView(nil)); err != nil {
				t.Fatal(err)
			}
		}
		base := randomHistory(r, 4)
		merged := func(order ...int) string {
			s := genesis4(nil)
			for _, h := range base {
				s.Witness(h.kind, h.m, h.by)
			}
			for _, i := range order {
				s.Merge(srcs[i], &views[i])
				_ = s.Members()
			}
			return fingerprint(s)
		}
		want := merged(0, 1, 2)
		for _, order := range [][]int{{1, 0, 2}, {2, 1, 0}, {0, 2, 1}, {0, 1, 2, 1, 0}} {
			if got := merged(order...); got != want {
				t.Fatalf("seed %d: order %v gives %s, want %s", seed, order, got, want)
			}
		}
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	s := genesis4(nil)
	for _, w := range []int{0, 1, 2} {
		s.Witness(wire.ChangeJoin, member(4, 1), node(w))
	}
	var v wire.StablesetView
	if err := v.Decode(s.AppendView(nil)); err != nil {
		t.Fatal(err)
	}
	s.Merge(node(1), &v)
	_ = s.ID()
	allocs := testing.AllocsPerRun(200, func() {
		s.Witness(wire.ChangeJoin, member(4, 1), node(0)) // a repeated witness
		s.Merge(node(1), &v)                              // a view already known
		_ = s.ID()
	})
	if allocs != 0 {
		t.Fatalf("witness path, merge and id allocate %.1f per message", allocs)
	}
}
