package accumulator

import (
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// benchKey is shaped like the design's accumulator key: (group or sender name, message id).
type benchKey struct {
	from wire.Name
	id   uint64
}

// BenchmarkAdd measures Add in the shapes witness collection produces.
func BenchmarkAdd(b *testing.B) {
	var digest [32]byte
	digest[0] = 1
	from := name(500)

	// A copy from a sender already counted for a pending key: the steady state.
	b.Run("known_sender_pending", func(b *testing.B) {
		a := mustNew[benchKey, [32]byte](b, Config{})
		k := benchKey{from, 1}
		for i := 0; i < DefaultQuorum-1; i++ {
			a.Add(k, digest, name(i), t0)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			a.Add(k, digest, name(i%(DefaultQuorum-1)), t0)
		}
	})

	// A late copy for a key that has already resolved.
	b.Run("late_copy_resolved", func(b *testing.B) {
		a := mustNew[benchKey, [32]byte](b, Config{Quorum: 1})
		k := benchKey{from, 1}
		a.Add(k, digest, name(0), t0)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			a.Add(k, digest, name(i%DefaultGroupSize), t0)
		}
	})

	// Full rounds at capacity with expiry on: each key gets one vote from every member of the
	// group and evicts an old key when it is first seen; ns/add is the cost per Add.
	for _, g := range []struct {
		name          string
		quorum, group int
	}{{"witness_round_q3_of_4", 3, 4}, {"design_round_q28_of_32", DefaultQuorum, DefaultGroupSize}} {
		b.Run(g.name, func(b *testing.B) {
			a := mustNew[benchKey, [32]byte](b, Config{Quorum: g.quorum, Capacity: 1000, Expiry: time.Minute})
			members := names(0, g.group)
			now := t0
			id := uint64(0)
			round := func() {
				id++
				now = now.Add(time.Millisecond)
				for _, m := range members {
					a.Add(benchKey{from, id}, digest, m, now)
				}
			}
			for range 2000 { // fill, and warm the entry free list
				round()
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				round()
				n += len(members)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/add")
		})
	}
}
