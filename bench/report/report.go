package report

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Budget is the most frames among the elders one decision may cost (SPEC.md ST-9).
const Budget = 24

// The files Write makes in the run directory.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
)

// Write draws the figures and writes report.md and report.html into the run's directory. It
// returns the files it wrote.
func Write(r *Run) ([]string, error) {
	var written []string
	figs := r.figures()
	drawn := map[string]bool{}
	for _, f := range figs {
		err := f.save(r.Dir)
		if errors.Is(err, errNoData) {
			continue
		}
		if err != nil {
			return written, err
		}
		drawn[f.file] = true
		written = append(written, filepath.Join(r.Dir, f.file))
	}
	blocks := r.document(drawn)
	title := "sskit cluster benchmarks: " + r.Name()
	for _, out := range []struct {
		name  string
		write func(*os.File) error
	}{
		{MarkdownFile, func(f *os.File) error { return writeMarkdown(f, blocks) }},
		{HTMLFile, func(f *os.File) error { return writeHTML(f, title, blocks) }},
	} {
		path := filepath.Join(r.Dir, out.name)
		f, err := os.Create(path)
		if err != nil {
			return written, err
		}
		err = errors.Join(out.write(f), f.Close())
		if err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// num formats a measured value with about three significant digits, and whole numbers as such.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case v == math.Trunc(v) && a < 1e9:
		return strconv.FormatFloat(v, 'f', 0, 64) // counts, and maxima of counts
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// cell formats the run's value of unit at nodes, or a dash when it was not measured.
func (r *Run) cell(exp string, nodes int, unit string) string {
	v, n := r.value(exp, nodes, unit)
	if n == 0 {
		return "–"
	}
	return num(v)
}

// has reports whether any value of the experiment was measured.
func (r *Run) has(exp string) bool {
	for k := range r.cluster {
		if k.Experiment == exp {
			return true
		}
	}
	return false
}

// growth fits value = a·N^b over the sizes measured (least squares of ln value on ln N) and
// returns b: 0 is flat, 1 linear in N. ok is false with fewer than two positive values.
func (r *Run) growth(exp, unit string) (b float64, ok bool) {
	var ns, vs []float64
	for _, n := range r.sizes {
		if v, k := r.value(exp, n, unit); k > 0 {
			ns, vs = append(ns, float64(n)), append(vs, v)
		}
	}
	return exponent(ns, vs)
}

// positiveSizes are the sizes whose value of unit is above 0: the ones growth can fit.
func (r *Run) positiveSizes(exp, unit string) []int {
	var out []int
	for _, n := range r.sizes {
		if v, k := r.value(exp, n, unit); k > 0 && v > 0 {
			out = append(out, n)
		}
	}
	return out
}

// joinInts writes ns as "4, 8, 16".
func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// exponent fits v = a·n^b (least squares of ln v on ln n) and returns b, skipping pairs that are
// not both positive. ok is false with fewer than two distinct n left.
func exponent(ns, vs []float64) (b float64, ok bool) {
	var xs, ys []float64
	for i := range ns {
		if ns[i] > 0 && vs[i] > 0 {
			xs, ys = append(xs, math.Log(ns[i])), append(ys, math.Log(vs[i]))
		}
	}
	if len(xs) < 2 {
		return 0, false
	}
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i], my+ys[i]
	}
	mx, my = mx/float64(len(xs)), my/float64(len(xs))
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0, false
	}
	return sxy / sxx, true
}

// reading puts a growth exponent into words.
func reading(b float64) string {
	switch {
	case b < -0.15:
		return "falls as N grows"
	case b < 0.15:
		return "flat"
	case b < 0.85:
		return "grows slower than N"
	case b < 1.15:
		return "grows like N"
	default:
		return "grows faster than N"
	}
}

func (r *Run) sizeTicks() []float64 {
	out := make([]float64, len(r.sizes))
	for i, n := range r.sizes {
		out[i] = float64(n)
	}
	return out
}

// scaling returns one series of unit over the sizes.
func (r *Run) scaling(name, exp, unit string) series {
	s := series{name: name}
	for _, n := range r.sizes {
		v, k := r.value(exp, n, unit)
		if k == 0 {
			v = math.NaN()
		}
		s.xs, s.ys = append(s.xs, float64(n)), append(s.ys, v)
	}
	return s
}

// gossipSeries returns one series of unit over the gossip sizes: memberlist.txt's values with
// memberlist, refnode's gossip-convergence otherwise.
func (r *Run) gossipSeries(name string, side gossipSide, unit string) series {
	s := series{name: name}
	for _, n := range r.gossipSizes() {
		v, k := r.gossipValue(side, n, unit)
		if k == 0 {
			v = math.NaN()
		}
		s.xs, s.ys = append(s.xs, float64(n)), append(s.ys, v)
	}
	return s
}

func (r *Run) figures() []figure {
	ticks := r.sizeTicks()
	budget := series{name: fmt.Sprintf("budget (%d, SPEC.md ST-9)", Budget), dashed: true,
		xs: []float64{ticks[0], ticks[len(ticks)-1]}, ys: []float64{Budget, Budget}}
	zero, one, budgetTop := 0.0, 1.0, Budget*1.5
	figs := []figure{
		{file: "scaling-msgs.svg", title: "Frames among the elders per decision", xLabel: "cluster size N (nodes)",
			yLabel: "frames per decision", logX: true, xTicks: ticks, yMin: &zero, yMax: &budgetTop, series: []series{
				r.scaling("mean, sequential joins and leaves", "decisions", "msgs/decision"),
				r.scaling("max, sequential joins and leaves", "decisions", "max-msgs/decision"),
				r.scaling("max, concurrent joins and leaves", "concurrent", "max-msgs/decision"),
				budget,
			}},
		{file: "scaling-all-frames.svg", title: "Frames per decision sent by every node (announcements included)",
			xLabel: "cluster size N (nodes)", yLabel: "frames per decision", logX: true, logY: true, xTicks: ticks, series: []series{
				r.scaling("all frames, mean", "decisions", "all-msgs/decision"),
				r.scaling("frames among the elders, mean", "decisions", "msgs/decision"),
			}},
		{file: "scaling-latency.svg", title: "Decision latency (first heard → last elder applied)", xLabel: "cluster size N (nodes)",
			yLabel: "milliseconds", logX: true, xTicks: ticks, yMin: &zero, series: []series{
				r.scaling("join p50", "decisions", "join-p50-ms"),
				r.scaling("join p99", "decisions", "join-p99-ms"),
				r.scaling("leave p50", "decisions", "leave-p50-ms"),
				r.scaling("leave p99", "decisions", "leave-p99-ms"),
			}},
		{file: "scaling-throughput.svg", title: "Decisions per second, changes requested at once", xLabel: "cluster size N (nodes)",
			yLabel: "decisions per second", logX: true, logY: true, xTicks: ticks, series: []series{
				r.scaling("concurrent joins", "concurrent", "joins/s"),
				r.scaling("concurrent leaves", "concurrent", "leaves/s"),
			}},
		{file: "scaling-convergence.svg", title: "Partition of a quarter of the nodes: removal and anti-entropy convergence",
			xLabel: "cluster size N (nodes)", yLabel: "milliseconds", logX: true, xTicks: ticks, yMin: &zero, series: []series{
				r.scaling("partition → majority side removed the cut-off nodes", "anti-entropy", "split-ms"),
				r.scaling("heal → one stableset of every node", "anti-entropy", "converge-ms"),
			}},
	}
	if len(r.memberlist) > 0 {
		sizes := r.gossipSizes()
		gticks := make([]float64, len(sizes))
		for i, n := range sizes {
			gticks[i] = float64(n)
		}
		times := []series{
			r.gossipSeries("refnode", refnodeGossip, "converge-p50-ms"),
			r.gossipSeries("hashicorp/memberlist", memberlistInProcess, "converge-p50-ms"),
		}
		frames := []series{
			r.gossipSeries("refnode: GOSSIP + GOSSIP_FAILURE frames", refnodeGossip, "gossip-frames"),
			r.gossipSeries("hashicorp/memberlist: packets + streams", memberlistInProcess, "gossip-frames"),
		}
		if len(r.memberlistProcs) > 0 {
			times = append(times, r.gossipSeries("hashicorp/memberlist, a process per node", memberlistProcesses, "converge-p50-ms"))
			frames = append(frames, r.gossipSeries("hashicorp/memberlist, a process per node", memberlistProcesses, "gossip-frames"))
		}
		figs = append(figs,
			figure{file: "gossip-convergence.svg", title: "Gossip convergence p50 (ms) vs N: refnode and hashicorp/memberlist",
				xLabel: "cluster size N (nodes)", yLabel: "milliseconds, p50 over converged runs", logX: true, xTicks: gticks,
				yMin: &zero, series: times},
			figure{file: "gossip-frames.svg", title: "Frames vs N until gossip converged: refnode and hashicorp/memberlist",
				xLabel: "cluster size N (nodes)", yLabel: "frames or messages per run (mean)", logX: true, logY: true, xTicks: gticks,
				series: frames})
	}
	for _, kind := range []string{"JOIN", "LEAVE"} {
		// A log axis keeps both the bulk of the decisions and the tail of the largest clusters readable.
		f := figure{file: "cdf-" + strings.ToLower(kind) + ".svg", steps: true, yMin: &zero, yMax: &one, legendBottomRight: true, logX: true,
			title:  fmt.Sprintf("%s decision latency, one change at a time (CDF)", kind),
			xLabel: "milliseconds from first heard to last elder applied (log scale)", yLabel: "fraction of decisions"}
		for _, n := range r.sizes {
			xs, ys := cdf(r.latencies("decisions", n, kind))
			f.series = append(f.series, series{name: fmt.Sprintf("N = %d", n), xs: xs, ys: ys})
		}
		figs = append(figs, f)
	}
	return figs
}
