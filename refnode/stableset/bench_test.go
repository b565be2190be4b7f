package stableset

import (
	"testing"

	"github.com/stableset/sskit/refnode/wire"
)

// cluster16 is node 0's knowledge of a 16-member stableset, and node 1's view of it.
func cluster16(b *testing.B) (*Set, *wire.StablesetView) {
	s := genesis4(nil)
	for i := 4; i < 16; i++ {
		for _, w := range []int{0, 1, 2} {
			s.Witness(wire.ChangeJoin, member(i, uint64(i)), node(w))
		}
	}
	if len(s.Members()) != 16 {
		b.Fatalf("setup: %d members", len(s.Members()))
	}
	other := genesis4As(node(1), nil)
	for i := 4; i < 16; i++ {
		for _, w := range []int{0, 1, 2} {
			other.Witness(wire.ChangeJoin, member(i, uint64(i)), node(w))
		}
	}
	var v wire.StablesetView
	if err := v.Decode(other.AppendView(nil)); err != nil {
		b.Fatal(err)
	}
	s.Merge(node(1), &v)
	return s, &v
}

// BenchmarkWitnessRepeated is the witness path for a copy that adds nothing new.
func BenchmarkWitnessRepeated(b *testing.B) {
	s, _ := cluster16(b)
	m := member(9, 9)
	b.ReportAllocs()
	for b.Loop() {
		s.Witness(wire.ChangeJoin, m, node(1))
	}
}

// BenchmarkMergeKnownView merges a 16-member view that holds nothing new (steady anti-entropy).
func BenchmarkMergeKnownView(b *testing.B) {
	s, v := cluster16(b)
	b.ReportAllocs()
	for b.Loop() {
		s.Merge(node(1), v)
	}
}

// BenchmarkID reads the cached id of a 16-member set.
func BenchmarkID(b *testing.B) {
	s, _ := cluster16(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.ID()
	}
}

// BenchmarkEvaluate derives a 16-member membership from scratch, as after a new witness.
func BenchmarkEvaluate(b *testing.B) {
	s, _ := cluster16(b)
	b.ReportAllocs()
	for b.Loop() {
		s.ContactabilityChanged()
		_ = s.ID()
	}
}
