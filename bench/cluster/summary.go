package cluster

import (
	"math"
	"slices"

	"github.com/montanaflynn/stats"
)

// Summary describes one sample of values (latencies in milliseconds, or frame counts).
type Summary struct {
	Count              int
	Mean               float64
	P50, P90, P99, Max float64
	StandardDeviation  float64
}

// Summarize returns the count, mean, standard deviation, nearest-rank p50/p90/p99 and maximum
// of values, without changing values. An empty sample gives a Summary with Count 0 and NaNs.
//
// montanaflynn/stats' percentile functions copy and sort their input on every call; a summary
// needs four ranks of the same sample, so Summarize sorts one copy once and reads every rank
// from it. The rank is the nearest rank (ceil(p/100·n)), as stats.PercentileNearestRank and
// bench/raftcmp compute it, so with fewer than 100 values p99 is the maximum.
func Summarize(values []float64) Summary {
	if len(values) == 0 {
		nan := math.NaN()
		return Summary{Mean: nan, P50: nan, P90: nan, P99: nan, Max: nan, StandardDeviation: nan}
	}
	sorted := stats.Float64Data(slices.Clone(values))
	slices.Sort(sorted)
	s := Summary{Count: len(sorted)}
	s.Mean, _ = stats.Mean(sorted)
	s.StandardDeviation, _ = stats.StandardDeviationPopulation(sorted)
	s.P50 = NearestRank(sorted, 50)
	s.P90 = NearestRank(sorted, 90)
	s.P99 = NearestRank(sorted, 99)
	s.Max = sorted[len(sorted)-1]
	return s
}

// NearestRank returns the p-th percentile (0 < p ≤ 100) of sorted, an ascending non-empty
// slice, by the nearest-rank method: the smallest value with at least p% of the values at or
// below it.
func NearestRank(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
