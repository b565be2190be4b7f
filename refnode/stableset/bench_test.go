package stableset

import (
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// cluster16 is node 0's 16-member stableset and node 1's view of the same.
func cluster16(tb testing.TB) (*Set, *wire.StablesetView) {
	members := make([]wire.Member, 16)
	for i := range members {
		members[i] = member(i, uint64(i))
	}
	s := New(member(0, 0), 4)
	s.Reset(members)
	other := New(member(1, 1), 4)
	other.Reset(members)
	body, _, _ := other.AppendView(nil, nil, nil)
	var v wire.StablesetView
	if err := v.Decode(body); err != nil {
		tb.Fatal(err)
	}
	return s, &v
}

// BenchmarkWitnessRepeated is the witness path for a copy that adds nothing new.
func BenchmarkWitnessRepeated(b *testing.B) {
	s, _ := cluster16(b)
	m := member(20, 20)
	s.Witness(wire.ChangeJoin, m, node(1), time.Time{})
	b.ReportAllocs()
	for b.Loop() {
		s.Witness(wire.ChangeJoin, m, node(1), time.Time{})
		s.Apply(nil)
	}
}

// BenchmarkMergeKnownView merges a 16-member view that holds nothing new (steady anti-entropy).
func BenchmarkMergeKnownView(b *testing.B) {
	s, v := cluster16(b)
	b.ReportAllocs()
	for b.Loop() {
		s.Merge(node(1), v, time.Time{})
	}
}

// BenchmarkID computes the stableset id of 16 members, as after every applied change.
func BenchmarkID(b *testing.B) {
	s, _ := cluster16(b)
	b.ReportAllocs()
	for b.Loop() {
		s.derive()
	}
}

// BenchmarkAppendView encodes a 16-member STABLESET body into a reused buffer.
func BenchmarkAppendView(b *testing.B) {
	s, _ := cluster16(b)
	var buf []byte
	var j, l []wire.Member
	b.ReportAllocs()
	for b.Loop() {
		buf, j, l = s.AppendView(buf[:0], j, l)
	}
}
