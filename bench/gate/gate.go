// Package gate decides whether a set of Go benchmark results regressed against a baseline. It
// compares the way benchstat does (golang.org/x/perf: medians with confidence intervals and the
// Mann-Whitney U test) and calls a change a regression only when it is statistically significant,
// in the worse direction for its unit, and larger than a threshold. On a shared, noisy machine
// gate on ratios measured within one run (such as sskit's round trip over raw quic-go's) rather
// than on absolute times.
package gate

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchunit"
)

// Options set what counts as a regression.
type Options struct {
	// Threshold is the relative change in the worse direction that fails the gate, e.g. 0.10.
	Threshold float64
	// Alpha is the significance level of the Mann-Whitney U test; default 0.05.
	Alpha float64
	// Units limits the comparison to these units; empty compares every unit present in both.
	// They are read the way the files are (benchunit.Tidy): "ns/op" is "sec/op", "MB/s" is "B/s".
	Units []string
}

// Row is one benchmark and unit in both files.
type Row struct {
	Name, Unit  string
	Old, New    benchmath.Summary
	Delta       float64 // new centre / old centre - 1
	P           float64
	Significant bool
	// Limit is the relative change in the worse direction a significant change must exceed to
	// fail: the threshold, or 0 for allocs/op.
	Limit     float64
	Regressed bool
}

// Report is the comparison of two files.
type Report struct {
	OldName, NewName string
	Threshold, Alpha float64
	Rows             []Row
	Missing          []string // benchmark/unit pairs in the baseline but not in the new results
}

// UnitError reports units asked for that no benchmark in either file reports.
type UnitError struct {
	Unknown   []string // the units asked for that neither file has
	Available []string // every unit the two files have
}

func (e *UnitError) Error() string {
	quoted := make([]string, len(e.Unknown))
	for i, u := range e.Unknown {
		quoted[i] = strconv.Quote(u)
	}
	what := "the unit " + quoted[0]
	if len(quoted) > 1 {
		what = "the units " + strings.Join(quoted, ", ")
	}
	return fmt.Sprintf("no benchmark reports %s; the files have: %s", what, strings.Join(e.Available, ", "))
}

// higherIsBetter: throughput units end in "/s"; for everything else (time, bytes, allocations,
// ratios of times) lower is better.
func higherIsBetter(unit string) bool { return strings.HasSuffix(unit, "/s") }

// exactUnit: allocation counts do not vary by noise, so any significant increase fails.
func exactUnit(unit string) bool { return unit == "allocs/op" }

// samples reads benchmark results into values per "name unit".
func samples(r io.Reader, file string) (map[[2]string][]float64, error) {
	out := map[[2]string][]float64{}
	br := benchfmt.NewReader(r, file)
	for br.Scan() {
		res, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue // a syntax error line or unit metadata
		}
		name := res.Name.String()
		for _, v := range res.Values {
			k := [2]string{name, v.Unit}
			out[k] = append(out[k], v.Value)
		}
	}
	return out, br.Err()
}

// Compare reads a baseline and new results and compares every benchmark present in both.
func Compare(oldR io.Reader, oldName string, newR io.Reader, newName string, opts Options) (*Report, error) {
	if opts.Alpha == 0 {
		opts.Alpha = 0.05
	}
	old, err := samples(oldR, oldName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", oldName, err)
	}
	cur, err := samples(newR, newName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", newName, err)
	}
	if len(old) == 0 || len(cur) == 0 {
		return nil, fmt.Errorf("no benchmark results in %s or %s", oldName, newName)
	}
	wanted, err := checkUnits(opts.Units, old, cur)
	if err != nil {
		return nil, err
	}
	keep := func(unit string) bool { return len(wanted) == 0 || wanted[unit] }
	thresholds := &benchmath.Thresholds{CompareAlpha: opts.Alpha}
	assume := benchmath.AssumeNothing
	rep := &Report{OldName: oldName, NewName: newName, Threshold: opts.Threshold, Alpha: opts.Alpha}
	keys := make([][2]string, 0, len(old))
	for k := range old {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		if !keep(k[1]) {
			continue
		}
		nv, ok := cur[k]
		if !ok {
			rep.Missing = append(rep.Missing, k[0]+" "+k[1])
			continue
		}
		so := benchmath.NewSample(append([]float64(nil), old[k]...), thresholds)
		sn := benchmath.NewSample(append([]float64(nil), nv...), thresholds)
		row := Row{Name: k[0], Unit: k[1], Old: assume.Summary(so, 0.95), New: assume.Summary(sn, 0.95)}
		cmp := assume.Compare(so, sn)
		row.P = cmp.P
		row.Significant = cmp.P < cmp.Alpha
		switch {
		case row.Old.Center != 0:
			row.Delta = row.New.Center/row.Old.Center - 1
		case row.New.Center != 0:
			row.Delta = math.Inf(1)
		}
		worse := row.Delta > 0
		if higherIsBetter(k[1]) {
			worse = row.Delta < 0
		}
		row.Limit = opts.Threshold
		if exactUnit(k[1]) {
			row.Limit = 0
		}
		row.Regressed = row.Significant && worse && math.Abs(row.Delta) > row.Limit
		rep.Rows = append(rep.Rows, row)
	}
	if len(rep.Rows) == 0 {
		if len(wanted) > 0 {
			return nil, fmt.Errorf("no benchmark reports %s in both %s and %s", strings.Join(sortedKeys(wanted), ", "), oldName, newName)
		}
		return nil, fmt.Errorf("no benchmark is in both %s and %s", oldName, newName)
	}
	return rep, nil
}

// checkUnits tidies the units asked for, as benchfmt tidies the files' units, and fails with a
// *UnitError for any that neither file reports: a misspelt unit would otherwise gate nothing.
func checkUnits(units []string, old, cur map[[2]string][]float64) (map[string]bool, error) {
	if len(units) == 0 {
		return nil, nil
	}
	have := map[string]bool{}
	for _, m := range []map[[2]string][]float64{old, cur} {
		for k := range m {
			have[k[1]] = true
		}
	}
	wanted := map[string]bool{}
	var unknown []string
	for _, u := range units {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		_, tidy := benchunit.Tidy(1, u)
		wanted[tidy] = true
		if !have[tidy] {
			unknown = append(unknown, u)
		}
	}
	if len(unknown) > 0 {
		return nil, &UnitError{Unknown: unknown, Available: sortedKeys(have)}
	}
	return wanted, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Regressions are the rows that fail the gate.
func (r *Report) Regressions() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Regressed {
			out = append(out, row)
		}
	}
	return out
}

// WriteTable prints a benchstat-like table: old and new medians with their 95% intervals, the
// change, the p-value, and a verdict per row.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tunit\told\t\tnew\t\tdelta\tp\tverdict\t")
	for _, row := range r.Rows {
		delta := "~"
		if row.Significant {
			delta = FormatDelta(row.Delta)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t±%s\t%s\t±%s\t%s\t%s\t%s\t\n", row.Name, row.Unit,
			FormatValue(row.Old.Center, row.Unit), row.Old.PctRangeString(), FormatValue(row.New.Center, row.Unit), row.New.PctRangeString(),
			delta, formatP(row.P), row.verdict())
	}
	tw.Flush()
	for _, m := range r.Missing {
		fmt.Fprintf(w, "missing from the new results: %s\n", m)
	}
}

// verdict names what the gate decided for the row.
func (row Row) verdict() string {
	switch {
	case row.Regressed:
		return "REGRESSED"
	case !row.Significant || row.Delta == 0:
		return "ok"
	case row.worse():
		return "worse, within threshold"
	}
	return "better"
}

func (row Row) worse() bool {
	if higherIsBetter(row.Unit) {
		return row.Delta < 0
	}
	return row.Delta > 0
}

// WriteSummary prints the gate's decision: each regression with its measured change and the
// rule it broke, or which rules every row kept.
func (r *Report) WriteSummary(w io.Writer) {
	test := fmt.Sprintf("Mann-Whitney U test, α = %s", formatPlain(r.Alpha, 6))
	if regs := r.Regressions(); len(regs) > 0 {
		fmt.Fprintf(w, "REGRESSION against %s: %d of %d results fail the gate (%s):\n", r.OldName, len(regs), len(r.Rows), test)
		for _, row := range regs {
			fmt.Fprintf(w, "  %s\n", row.Explain())
		}
		return
	}
	var exact, thresholded bool
	for _, row := range r.Rows {
		if exactUnit(row.Unit) {
			exact = true
		} else {
			thresholded = true
		}
	}
	var kept []string
	if thresholded {
		kept = append(kept, fmt.Sprintf("nothing is significantly worse by more than the %s%% threshold", formatPlain(100*r.Threshold, 6)))
	}
	if exact {
		kept = append(kept, "allocs/op did not increase significantly")
	}
	fmt.Fprintf(w, "no regression against %s: %s (%s)\n", r.OldName, strings.Join(kept, ", and "), test)
}

// Explain says what a row measured and, if it regressed, which rule it broke.
func (row Row) Explain() string {
	change := fmt.Sprintf("%s %s: %s → %s", row.Name, row.Unit, FormatValue(row.Old.Center, row.Unit), FormatValue(row.New.Center, row.Unit))
	if !math.IsInf(row.Delta, 0) {
		change += ", " + FormatDelta(row.Delta)
	}
	change += fmt.Sprintf(" (p %s)", formatPComparison(row.P))
	switch {
	case !row.Regressed:
		return change + ": " + row.verdict()
	case exactUnit(row.Unit):
		return change + ": any significant increase in allocs/op fails, whatever the threshold"
	}
	direction := "higher"
	if higherIsBetter(row.Unit) {
		direction = "lower"
	}
	return fmt.Sprintf("%s: significantly %s, by more than the %s%% threshold", change, direction, formatPlain(100*row.Limit, 6))
}

// FormatValue prints a value of the unit in plain decimal with four significant digits (never
// in exponent notation). Times (sec/op and the like) get a prefixed unit: 80.38µs, 1.234ms;
// so do bytes from 10000 up: 1157, 2.78GB.
func FormatValue(v float64, unit string) string {
	switch num, _, _ := strings.Cut(unit, "/"); {
	case num == "sec" || strings.HasSuffix(num, "-sec"): // benchfmt's names for ns/op, x-ns/op
		return withPrefix(v, "s", []prefix{{1, ""}, {1e-3, "m"}, {1e-6, "µ"}, {1e-9, "n"}})
	case num == "B" && math.Abs(v) >= 1e4:
		return withPrefix(v, "B", []prefix{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}})
	}
	return formatPlain(v, 4)
}

type prefix struct {
	factor float64
	name   string
}

// withPrefix scales v by the largest of the prefixes (largest first) that leaves at least 1 once
// rounded to four digits, or else the smallest.
func withPrefix(v float64, symbol string, prefixes []prefix) string {
	if v == 0 {
		return "0" + symbol
	}
	p := prefixes[len(prefixes)-1]
	for _, q := range prefixes {
		if math.Abs(v) >= 0.99995*q.factor {
			p = q
			break
		}
	}
	return formatPlain(v/p.factor, 4) + p.name + symbol
}

// FormatDelta prints a relative change as a signed percentage with three significant digits.
func FormatDelta(d float64) string {
	switch {
	case math.IsInf(d, 1):
		return "+∞%"
	case math.IsInf(d, -1):
		return "-∞%"
	case d < 0:
		return "-" + formatPlain(-100*d, 3) + "%"
	}
	return "+" + formatPlain(100*d, 3) + "%"
}

// formatPlain prints v in plain decimal rounded to sig significant digits, but keeping every
// integer digit, and with no trailing zeros after the point.
func formatPlain(v float64, sig int) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	decimals := sig - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	if decimals < 0 {
		decimals = 0
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func formatP(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

func formatPComparison(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return "= " + strconv.FormatFloat(p, 'f', 3, 64)
}
