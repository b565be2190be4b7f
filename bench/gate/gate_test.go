package gate

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// results makes a benchmark file: n samples per benchmark around the given centres, with the
// given relative noise.
func results(seed uint64, n int, noise float64, centres map[string]float64) string {
	r := rand.New(rand.NewPCG(seed, 9))
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: example\n")
	for i := 0; i < n; i++ {
		for _, name := range []string{"WitnessRatio", "RoundTrip/impl=sskit"} {
			c := centres[name]
			v := c * (1 + noise*(2*r.Float64()-1))
			fmt.Fprintf(&b, "Benchmark%s-2\t1000\t%.1f ns/op\t%.4f sskit/rawquic\t14 allocs/op\n", name, v*40000, v)
		}
	}
	return b.String()
}

func compare(t *testing.T, old, cur string, threshold float64, units ...string) *Report {
	t.Helper()
	rep, err := Compare(strings.NewReader(old), "old", strings.NewReader(cur), "new", Options{Threshold: threshold, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestSameDistributionPasses(t *testing.T) {
	base := map[string]float64{"WitnessRatio": 1.0, "RoundTrip/impl=sskit": 1.0}
	rep := compare(t, results(1, 8, 0.15, base), results(2, 8, 0.15, base), 0.10)
	if r := rep.Regressions(); len(r) != 0 {
		var b strings.Builder
		rep.WriteTable(&b)
		t.Fatalf("noise alone failed the gate:\n%s", b.String())
	}
}

func TestSlowdownBeyondThresholdFails(t *testing.T) {
	old := results(1, 8, 0.05, map[string]float64{"WitnessRatio": 1.0, "RoundTrip/impl=sskit": 1.0})
	cur := results(2, 8, 0.05, map[string]float64{"WitnessRatio": 1.3, "RoundTrip/impl=sskit": 1.0})
	rep := compare(t, old, cur, 0.10, "sskit/rawquic")
	regs := rep.Regressions()
	if len(regs) != 1 || !strings.HasPrefix(regs[0].Name, "WitnessRatio") || regs[0].Delta < 0.2 {
		var b strings.Builder
		rep.WriteTable(&b)
		t.Fatalf("want exactly the 30%% slowdown of WitnessRatio to fail the gate:\n%s", b.String())
	}
}

func TestSmallSignificantChangeUnderThresholdPasses(t *testing.T) {
	old := results(1, 10, 0.01, map[string]float64{"WitnessRatio": 1.0, "RoundTrip/impl=sskit": 1.0})
	cur := results(2, 10, 0.01, map[string]float64{"WitnessRatio": 1.05, "RoundTrip/impl=sskit": 1.0})
	rep := compare(t, old, cur, 0.10, "sskit/rawquic")
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Name, "WitnessRatio") && (!r.Significant || r.Regressed) {
			t.Fatalf("a significant 5%% change against a 10%% threshold: %+v", r)
		}
	}
}

func TestFasterIsNotARegression(t *testing.T) {
	old := results(1, 8, 0.05, map[string]float64{"WitnessRatio": 1.0, "RoundTrip/impl=sskit": 1.0})
	cur := results(2, 8, 0.05, map[string]float64{"WitnessRatio": 0.7, "RoundTrip/impl=sskit": 0.7})
	if regs := compare(t, old, cur, 0.10).Regressions(); len(regs) != 0 {
		t.Fatalf("getting faster failed the gate: %+v", regs)
	}
}

func TestOneMoreAllocationFails(t *testing.T) {
	old := "BenchmarkX-2\t100\t10 ns/op\t14 allocs/op\n"
	cur := "BenchmarkX-2\t100\t10 ns/op\t15 allocs/op\n"
	rep := compare(t, strings.Repeat(old, 6), strings.Repeat(cur, 6), 0.50, "allocs/op")
	if regs := rep.Regressions(); len(regs) != 1 {
		t.Fatalf("14 -> 15 allocs/op with a 50%% threshold: %+v", rep.Rows)
	}
}

func TestThroughputDroppingFails(t *testing.T) {
	old := strings.Repeat("BenchmarkX-2\t100\t10 ns/op\t2000 MB/s\n", 3) + strings.Repeat("BenchmarkX-2\t100\t10 ns/op\t2010 MB/s\n", 3)
	cur := strings.Repeat("BenchmarkX-2\t100\t10 ns/op\t1000 MB/s\n", 3) + strings.Repeat("BenchmarkX-2\t100\t10 ns/op\t1005 MB/s\n", 3)
	if regs := compare(t, old, cur, 0.10, "B/s").Regressions(); len(regs) != 1 { // benchfmt reads MB/s as B/s
		t.Fatal("halved throughput passed the gate")
	}
}

func TestMissingAndEmptyInputs(t *testing.T) {
	rep := compare(t, "BenchmarkA-2\t1\t1 ns/op\nBenchmarkB-2\t1\t1 ns/op\n", "BenchmarkA-2\t1\t1 ns/op\n", 0.1)
	if len(rep.Missing) != 1 || !strings.Contains(rep.Missing[0], "B") {
		t.Fatalf("missing benchmark not reported: %v", rep.Missing)
	}
	if _, err := Compare(strings.NewReader(""), "old", strings.NewReader("BenchmarkA-2\t1\t1 ns/op\n"), "new", Options{}); err == nil {
		t.Fatal("an empty baseline was accepted")
	}
}
