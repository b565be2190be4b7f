package gate

import (
	"errors"
	"fmt"
	"math"
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

// lines repeats a benchmark line once per value, with the value in place of %v.
func lines(format string, values ...float64) string {
	var b strings.Builder
	for _, v := range values {
		fmt.Fprintf(&b, format+"\n", v)
	}
	return b.String()
}

var ratios = []float64{1.00, 1.01, 0.99, 1.02, 0.98, 1.00}

func scaled(vs []float64, f float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = v * f
	}
	return out
}

func summary(rep *Report) string {
	var b strings.Builder
	rep.WriteTable(&b)
	b.WriteString("--\n")
	rep.WriteSummary(&b)
	return b.String()
}

// A user saw 28 -> 29 allocs/op reported as worse "by more than 15%": the summary must give the
// measured change and say that allocs/op fails on any significant increase.
func TestGateAllocationRegressionStatesMeasuredChangeAndRule(t *testing.T) {
	old := lines("BenchmarkX-2\t3000\t1 sskit/rawquic\t%v allocs/op", 28, 28, 28, 28, 28, 28)
	cur := lines("BenchmarkX-2\t3000\t1 sskit/rawquic\t%v allocs/op", 29, 29, 29, 29, 29, 29)
	out := summary(compare(t, old, cur, 0.15))
	for _, want := range []string{"allocs/op: 28 → 29, +3.57%", "any significant increase in allocs/op fails, whatever the threshold", "1 of 2 results"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "15%") {
		t.Errorf("the 15%% threshold did not decide the allocs/op failure, yet the summary cites it:\n%s", out)
	}
}

func TestGateThresholdRegressionStatesMeasuredChangeAndThreshold(t *testing.T) {
	old := lines("BenchmarkWitnessRatio-2\t3000\t%v sskit/rawquic", ratios...)
	cur := lines("BenchmarkWitnessRatio-2\t3000\t%v sskit/rawquic", scaled(ratios, 1.3)...)
	out := summary(compare(t, old, cur, 0.15))
	if want := "sskit/rawquic: 1 → 1.3, +30% (p = 0.002): significantly higher, by more than the 15% threshold"; !strings.Contains(out, want) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}

	oldTput := lines("BenchmarkX-2\t100\t%v MB/s", 2000, 2010, 2005, 1995, 2000, 2002)
	curTput := lines("BenchmarkX-2\t100\t%v MB/s", 1000, 1005, 1002, 998, 1000, 1001)
	out = summary(compare(t, oldTput, curTput, 0.10))
	if want := "B/s: 2.001GB → 1GB, -50% (p = 0.002): significantly lower, by more than the 10% threshold"; !strings.Contains(out, want) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}
}

func TestGatePassingSummaryNamesTheRulesKept(t *testing.T) {
	old := lines("BenchmarkX-2\t3000\t%v sskit/rawquic\t28 allocs/op", ratios...)
	cur := lines("BenchmarkX-2\t3000\t%v sskit/rawquic\t28 allocs/op", scaled(ratios, 1.05)...)
	out := summary(compare(t, old, cur, 0.15))
	for _, want := range []string{"worse, within threshold", "no regression against old: nothing is significantly worse by more than the 15% threshold, and allocs/op did not increase significantly (Mann-Whitney U test, α = 0.05)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestGateUnknownUnitIsNamedWithTheUnitsPresent(t *testing.T) {
	file := "BenchmarkX-2\t100\t10 ns/op\t1.02 sskit/rawquic\t14 allocs/op\n"
	_, err := Compare(strings.NewReader(file), "old", strings.NewReader(file), "new", Options{Units: []string{"allocs/op", "nosuchunit"}})
	var unitErr *UnitError
	if !errors.As(err, &unitErr) {
		t.Fatalf("want a *UnitError, got %v", err)
	}
	if want := `no benchmark reports the unit "nosuchunit"; the files have: allocs/op, sec/op, sskit/rawquic`; err.Error() != want {
		t.Fatalf("got  %q\nwant %q", err.Error(), want)
	}
	// The units go test prints are accepted, though benchfmt reads them as sec/op and B/s.
	if _, err := Compare(strings.NewReader(file), "old", strings.NewReader(file), "new", Options{Units: []string{"ns/op"}}); err != nil {
		t.Fatalf("--units ns/op: %v", err)
	}
	// A unit only the new results have is there to compare, but not in both files.
	_, err = Compare(strings.NewReader(file), "old", strings.NewReader(file+"BenchmarkY-2\t1\t3 frames/op\n"), "new", Options{Units: []string{"frames/op"}})
	if err == nil || errors.As(err, &unitErr) || !strings.Contains(err.Error(), "no benchmark reports frames/op in both old and new") {
		t.Fatalf("a unit only in the new file: %v", err)
	}
}

func TestGateValuesArePlainDecimal(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{8.038e-05, "sec/op", "80.38µs"},
		{2.231e-08, "sec/op", "22.31ns"},
		{1.234e-3, "rawquic-sec/op", "1.234ms"},
		{2.5, "sec/op", "2.5s"},
		{0.99996e-3, "sec/op", "1ms"},
		{1.5e-10, "sec/op", "0.15ns"},
		{0, "sec/op", "0s"},
		{2.78e9, "B/s", "2.78GB"},
		{1157, "B/op", "1157"},
		{28, "allocs/op", "28"},
		{1.0195, "sskit/rawquic", "1.02"},
		{0.0123, "sskit/rawquic", "0.0123"},
		{1e-7, "x", "0.0000001"},
		{12345, "msgs/decision", "12345"},
		{123456789, "msgs/decision", "123456789"},
		{-0.05, "x", "-0.05"},
	} {
		if got := FormatValue(c.v, c.unit); got != c.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	for _, c := range []struct {
		d    float64
		want string
	}{{1.0 / 28, "+3.57%"}, {-0.5, "-50%"}, {0.3, "+30%"}, {0.00012345, "+0.0123%"}, {math.Inf(1), "+∞%"}} {
		if got := FormatDelta(c.d); got != c.want {
			t.Errorf("FormatDelta(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}
