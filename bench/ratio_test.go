package bench

import (
	"testing"
	"time"
)

// BenchmarkWitnessRatio measures sskit's witness round trip against raw quic-go's within one
// loop, alternating the two so that whatever else the machine is doing slows both alike. It
// reports their ratio (unit sskit/rawquic) beside the absolute times; make bench-check gates on the
// ratio, which stays steady on a shared machine where absolute times wander by 15-20%.
func BenchmarkWitnessRatio(b *testing.B) {
	sskit, raw := newSskitRig(b), newRawQUICRig(b)
	dst := make([]byte, 0, 256)
	var ours, theirs time.Duration
	roundTrip := func(r rig) time.Duration {
		start := time.Now()
		var err error
		if dst, err = r.roundTrip(dst[:0]); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	i := 0
	b.ReportAllocs() // both round trips together; any rise fails the gate
	for b.Loop() {
		if i%2 == 0 { // alternate which goes first, so neither always follows the other
			ours += roundTrip(sskit)
			theirs += roundTrip(raw)
		} else {
			theirs += roundTrip(raw)
			ours += roundTrip(sskit)
		}
		i++
	}
	b.ReportMetric(float64(ours)/float64(theirs), "sskit/rawquic")
	b.ReportMetric(float64(ours.Nanoseconds())/float64(i), "sskit-ns/op")
	b.ReportMetric(float64(theirs.Nanoseconds())/float64(i), "rawquic-ns/op")
}
