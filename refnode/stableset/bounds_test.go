package stableset

import (
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// ST-13: one sender is recorded for at most members + 16 pending changes; this node's own
// witnesses are never refused; a slot comes free when its change applies or its witness lapses.
func TestASendersWitnessesStopAtItsQuota(t *testing.T) {
	s := four(0)
	t0 := time.Unix(1000, 0)
	quota := s.Quota()
	if quota != 4+QuotaSlack {
		t.Fatalf("quota %d, want members + %d", quota, QuotaSlack)
	}
	for i := range quota + 5 {
		s.Witness(wire.ChangeJoin, member(100+i, uint64(10+i)), node(1), t0)
	}
	if got := len(s.Pending()); got != quota {
		t.Fatalf("%d pending changes recorded from one sender, want its quota %d", got, quota)
	}
	if s.Dropped() != 5 {
		t.Fatalf("dropped %d, want 5", s.Dropped())
	}
	// Another sender has its own quota, and this node's own witness is never refused.
	if !s.Witness(wire.ChangeJoin, member(100+quota, uint64(10+quota)), node(2), t0) {
		t.Fatal("a second sender's witness was refused because of the first sender's quota")
	}
	if !s.Witness(wire.ChangeJoin, member(100+quota+1, uint64(10+quota+1)), node(0), t0) {
		t.Fatal("the node's own witness was refused")
	}
	// Two more witnesses apply the first made-up join: node 1 gets one slot back.
	first := member(100, 10)
	if got := witness(s, wire.ChangeJoin, first, 0, 2); len(got) != 1 {
		t.Fatalf("applied %v, want the first join", got)
	}
	if !s.Witness(wire.ChangeLeave, member(3, 3), node(1), t0) {
		t.Fatal("node 1 is still at its quota after one of its changes applied")
	}
}

// ST-13 and ST-7: a witness stands while its sender says it again; this node's own stands until
// it withdraws it; a change with no witness left is no longer pending.
func TestWitnessesLapseUnlessSaidAgain(t *testing.T) {
	s := four(0)
	t0 := time.Unix(1000, 0)
	leave := member(3, 3)
	s.Witness(wire.ChangeLeave, leave, node(0), t0)
	s.Witness(wire.ChangeLeave, leave, node(1), t0)
	s.Witness(wire.ChangeLeave, leave, node(2), t0)
	s.Witness(wire.ChangeLeave, leave, node(2), t0.Add(4*time.Second)) // said again
	s.Lapse(t0.Add(time.Second))
	p := s.Pending()
	if len(p) != 1 || !slices.Equal(p[0].Witnesses, []wire.Name{node(0), node(2)}) {
		t.Fatalf("after the lapse: %+v, want the leave witnessed by nodes 0 (itself) and 2 (said again)", p)
	}
	s.Unwitness(wire.ChangeLeave, leave, node(0))
	s.Lapse(t0.Add(5 * time.Second))
	if p := s.Pending(); len(p) != 0 {
		t.Fatalf("a change with no witness left is still pending: %+v", p)
	}
	if !s.Witness(wire.ChangeLeave, leave, node(1), t0) {
		t.Fatal("a lapsed witness said again is not recorded as new")
	}
}
