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
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// Options set what counts as a regression.
type Options struct {
	// Threshold is the relative change in the worse direction that fails the gate, e.g. 0.10.
	Threshold float64
	// Alpha is the significance level of the Mann-Whitney U test; default 0.05.
	Alpha float64
	// Units limits the comparison to these units; empty compares every unit present in both.
	Units []string
}

// Row is one benchmark and unit in both files.
type Row struct {
	Name, Unit  string
	Old, New    benchmath.Summary
	Delta       float64 // new centre / old centre - 1
	P           float64
	Significant bool
	Regressed   bool
}

// Report is the comparison of two files.
type Report struct {
	Rows    []Row
	Missing []string // benchmark/unit pairs in the baseline but not in the new results
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
	keep := func(unit string) bool {
		if len(opts.Units) == 0 {
			return true
		}
		for _, u := range opts.Units {
			if u == unit {
				return true
			}
		}
		return false
	}
	thresholds := &benchmath.Thresholds{CompareAlpha: opts.Alpha}
	assume := benchmath.AssumeNothing
	rep := &Report{}
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
		limit := opts.Threshold
		if exactUnit(k[1]) {
			limit = 0
		}
		row.Regressed = row.Significant && worse && math.Abs(row.Delta) > limit
		rep.Rows = append(rep.Rows, row)
	}
	if len(rep.Rows) == 0 {
		return nil, fmt.Errorf("no benchmark is in both %s and %s", oldName, newName)
	}
	return rep, nil
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
			delta = fmt.Sprintf("%+.2f%%", 100*row.Delta)
		}
		verdict := "ok"
		if row.Regressed {
			verdict = "REGRESSED"
		} else if row.Significant && row.Delta != 0 {
			verdict = "changed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t±%s\t%s\t±%s\t%s\t%.3f\t%s\t\n", row.Name, row.Unit,
			format(row.Old.Center), row.Old.PctRangeString(), format(row.New.Center), row.New.PctRangeString(),
			delta, row.P, verdict)
	}
	tw.Flush()
	for _, m := range r.Missing {
		fmt.Fprintf(w, "missing from the new results: %s\n", m)
	}
}

func format(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.4g", v)
	case a >= 1:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.4g", v)
}
