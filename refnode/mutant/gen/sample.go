package gen

import (
	"math/rand/v2"
	"slices"
)

// Sample returns n mutants of all (all of them when n is larger) in a random order that seed
// fixes: the same seed and the same sources give the same sample. The order is a shuffle of the
// whole list cut to n, so a smaller n gives a prefix of a larger one's sample: a caller that
// discards mutants that do not compile asks for more and takes the next ones in order.
func Sample(all []Mutant, n int, seed uint64) []Mutant {
	shuffled := slices.Clone(all)
	r := rand.New(rand.NewPCG(seed, seed))
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	return shuffled[:max(0, min(n, len(shuffled)))]
}
