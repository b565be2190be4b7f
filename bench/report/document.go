package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/montanaflynn/stats"
)

// document is the whole report: what was measured, the tables, the figures that were drawn,
// how to read them, and the machine.
func (r *Run) document(drawn map[string]bool) []block {
	var out []block
	add := func(b ...block) { out = append(out, b...) }
	fig := func(file, alt string) {
		if drawn[file] {
			add(image{src: file, alt: alt})
		}
	}
	add(heading{1, "sskit cluster benchmarks: " + r.Name()})
	add(paragraph(r.intro()))
	add(heading{2, "Summary"}, bullets(r.summary()))

	add(heading{2, "Frames per decision"})
	add(paragraph("Frames among the elders are the frames every node sent to elders while an elder itself, " +
		"summed over the nodes for one decision: what SPEC.md ST-9 bounds by 24. All frames adds everything else " +
		"the nodes sent for the decision, mostly the STABLESET announcements every elder sends to every member that " +
		"is not an elder (ST-10) and anti-entropy within 2 s of applying it (ST-12)."))
	add(r.framesTable())
	fig("scaling-msgs.svg", "frames among the elders per decision against N")
	fig("scaling-all-frames.svg", "all frames per decision against N")

	add(heading{2, "Decision latency"})
	add(paragraph(r.latencyDefinition()))
	add(r.latencyTable())
	if r.fromRequestMeasured() {
		add(paragraph("The same decisions from the subject's own request: the joiner's first request or the leaver's " +
			"`POST /v1/leave`, to the latest `applied` among the elders. This puts a join and a leave on one footing " +
			"with what their subjects wait; a join's includes the joiner's QUIC handshake with its bootstrap peer."))
		add(r.fromRequestTable())
	}
	if r.breakdownMeasured() {
		add(paragraph("Where a decision's time goes, from the nodes' own records: from the first elder hearing of " +
			"the change, when every elder had heard of it (the latest `started` among the elders) and when the first " +
			"and the last elder applied it (p50 of each, so the columns need not add up). A join takes two deliveries in a row: " +
			"the first elder's WITNESS_REQUESTs reach the other elders, then their witnesses reach each other, since an " +
			"elder witnesses a join only when asked and counts a witness only from its sender (SPEC.md ST-2, ST-9). " +
			"A leave's first deliveries are the leaver's own requests to every elder (ST-7). One-way trips divide " +
			"the last elder's p50 by half the idle round trip's: 2 is the floor, and raft's AddVoter commit is " +
			"two deliveries in a row too (the leader's append out, the followers' answers back)."))
		add(r.breakdownTable())
	}
	fig("cdf-join.svg", "CDF of join latency per N")
	fig("cdf-leave.svg", "CDF of leave latency per N")
	fig("scaling-latency.svg", "decision latency percentiles against N")

	add(heading{2, "Concurrent joins and leaves"})
	add(paragraph(fmt.Sprintf("%s new nodes join at once through the first node, which is paused while they start so "+
		"that it hears all their requests when it resumes; when every node agrees, the same nodes leave at once; "+
		"%s rounds of that. Decisions per second is their number over the time from resuming the first node (or sending the leave "+
		"requests) to the last elder applying the last of them, summed over the rounds: the joiners' process starts are not the cluster's "+
		"work. An elder takes up to 8 joins at once (SPEC.md ST-5, one at a time below 4 members) and holds the "+
		"joiners it cannot take yet, taking the next as soon as one of its joins applies. Latency is per decision, defined as above; a node records a "+
		"join only once an elder takes it up, so the latency leaves out a joiner's wait in that queue.",
		r.configOr("cluster-joiners", "Several"), r.configOr("cluster-rounds", "1"))))
	add(r.concurrentTable())
	fig("scaling-throughput.svg", "decisions per second under concurrent changes against N")

	add(heading{2, "Anti-entropy convergence after a partition"})
	if r.has("anti-entropy") {
		add(paragraph("The network splits one elder and the youngest other members (a quarter of the nodes in all) " +
			"from the rest. The majority side removes them after the peer timeout (3 s by default); then the " +
			"network heals and anti-entropy brings everyone back (SPEC.md ST-8, ST-11): the cut-off nodes find " +
			"themselves removed and join again as new instances. Convergence is from healing until every node, " +
			"polled every 50 ms or 3 ms per node, whichever is longer, is a member of one stableset of all N nodes. Anti-entropy frames are the " +
			"`anti_entropy_frames` counters summed over the nodes; all frames are every frame sent (`GET /v1/counters`, " +
			"pings included), both from just before healing to just after convergence."))
		add(r.antiEntropyTable())
		fig("scaling-convergence.svg", "partition removal and convergence time against N")
	} else {
		add(paragraph("Not measured in this run: there are no anti-entropy results in `cluster.txt`. The partition " +
			"needs root and iptables; without them the benchmark skips it and says so on stderr."))
	}

	add(heading{2, "Gossip convergence"})
	if r.has("gossip-convergence") {
		add(r.genericTable("gossip-convergence"))
	} else {
		add(paragraph("Not measured in this run: no `BenchmarkCluster/nodes=N/gossip-convergence` result " +
			"(run it with `go test -bench 'Cluster/nodes=N/gossip-convergence' -count K ./bench/cluster/`)."))
	}

	add(heading{2, "Gossip convergence beside hashicorp/memberlist"})
	add(r.memberlistSection(drawn)...)

	add(heading{2, "How each cost grows with N"})
	add(paragraph("The exponent b of a least-squares fit of value = a·N^b over the sizes measured: 0 is flat, 1 grows " +
		"like N. With few sizes and a shared machine, read it as a direction, not a law."))
	add(r.growthTable())

	add(heading{2, "Comparison: adding one member to a 4-node cluster"})
	add(r.raftSection()...)

	add(heading{2, "Machine and run"})
	if r.machine != "" {
		add(preformatted(strings.TrimSpace(r.machine)))
	}
	add(r.configTable())
	add(heading{2, "Files"}, bullets{
		"`" + ClusterFile + "`, `" + RaftFile + "`, `" + RaftQUICFile + "` (raft over QUIC), `" + MemberlistFile + "`: the benchmark output, Go benchmark format: `benchstat cluster.txt` " +
			"shows one table per unit with a row per size and experiment, and `benchstat old/cluster.txt new/cluster.txt` " +
			"compares two runs (make bench-report CLUSTER_COUNT=6 gives confidence intervals).",
		"`" + SamplesFile + "`: one row per decision (size, experiment, kind, member, latency, frames); the CDFs come from it.",
		"`*.svg`: the figures, drawn with gonum.org/v1/plot by `sskit bench report`.",
		"`" + MarkdownFile + "`, `" + HTMLFile + "`: this report.",
	})
	return out
}

func (r *Run) configOr(key, def string) string {
	if v := r.config[key]; v != "" {
		return v
	}
	return def
}

func (r *Run) intro() string {
	s := fmt.Sprintf("Clusters of %s nodes of %s on the %s backend, measured from outside through the admin API "+
		"(`GET /v1/stableset`, `GET /v1/decisions`, `GET /v1/counters`). Every number here was measured in this run; "+
		"the raw data are in this directory.",
		joinInts(r.sizes), r.configOr("cluster-impl", "the node under test"), r.configOr("cluster-backend", "process"))
	if runs := r.runs(r.sizes[0]); runs > 1 {
		s += fmt.Sprintf(" Each benchmark ran %d times; the tables show medians over the runs.", runs)
	}
	return s
}

// summary states the acceptance points from the data.
func (r *Run) summary() []string {
	var out []string
	var means, maxes []float64
	for _, n := range r.sizes {
		if v, k := r.value("decisions", n, "msgs/decision"); k > 0 {
			means = append(means, v)
		}
		if v, k := r.value("decisions", n, "max-msgs/decision"); k > 0 {
			maxes = append(maxes, v)
		}
		if v, k := r.value("concurrent", n, "max-msgs/decision"); k > 0 {
			maxes = append(maxes, v)
		}
	}
	if len(means) > 0 {
		worst := slices.Max(maxes)
		verdict := "within the budget"
		if worst > Budget {
			verdict = "**over the budget**"
		}
		b, _ := r.growth("decisions", "msgs/decision")
		out = append(out, fmt.Sprintf("Frames among the elders per decision: %s–%s on average and at most %s for any decision, "+
			"from N = %d to N = %d (%s of %d; growth exponent %.2f, %s).",
			num(slices.Min(means)), num(slices.Max(means)), num(worst), r.sizes[0], r.sizes[len(r.sizes)-1], verdict, Budget, b, reading(b)))
	}
	first, last := r.sizes[0], r.sizes[len(r.sizes)-1]
	out = append(out, fmt.Sprintf("Decision latency p50/p99: joins %s/%s ms at N = %d and %s/%s ms at N = %d; leaves %s/%s ms and %s/%s ms.",
		r.cell("decisions", first, "join-p50-ms"), r.cell("decisions", first, "join-p99-ms"), first,
		r.cell("decisions", last, "join-p50-ms"), r.cell("decisions", last, "join-p99-ms"), last,
		r.cell("decisions", first, "leave-p50-ms"), r.cell("decisions", first, "leave-p99-ms"),
		r.cell("decisions", last, "leave-p50-ms"), r.cell("decisions", last, "leave-p99-ms")))
	if r.has("concurrent") {
		out = append(out, fmt.Sprintf("Changes requested at once: %s–%s joins/s and %s–%s leaves/s over the sizes.",
			r.rangeOf("concurrent", "joins/s")[0], r.rangeOf("concurrent", "joins/s")[1],
			r.rangeOf("concurrent", "leaves/s")[0], r.rangeOf("concurrent", "leaves/s")[1]))
	}
	if r.has("anti-entropy") {
		out = append(out, fmt.Sprintf("After a partition that cut off a quarter of the nodes, one stableset again %s ms after healing at N = %d and %s ms at N = %d.",
			r.cell("anti-entropy", first, "converge-ms"), first, r.cell("anti-entropy", last, "converge-ms"), last))
	}
	if _, k := r.value("decisions", 4, "idle-rtt-p50-ms"); k > 0 {
		out = append(out, fmt.Sprintf("refnode's join at N = 4 takes %s idle round trips (p50 %s ms; a PING to an idle node, p50 %s ms, in the same run).",
			r.ratioCell("decisions", 4, "join-p50-ms", "idle-rtt-p50-ms"), r.cell("decisions", 4, "join-p50-ms"), r.cell("decisions", 4, "idle-rtt-p50-ms")))
	}
	if v, n := r.raftValue("msgs/change"); n > 0 {
		p50, _ := r.raftValue("latency-p50-ns")
		out = append(out, fmt.Sprintf("hashicorp/raft, same change (AddVoter, 4 → 5 voters): %s messages (%s of them carrying log entries), "+
			"commit p50 %s ms; refnode's join at N = 4: %s frames among the elders, %s in all, p50 %s ms.",
			num(v), r.raftCell("msgs-entries/change", 1), num(p50/1e6),
			r.cell("decisions", 4, "join-msgs/decision"), r.cell("decisions", 4, "join-all-msgs/decision"), r.cell("decisions", 4, "join-p50-ms")))
	}
	if p50, n := median(r.raftProcs[sizeUnit{raftVoters, "latency-p50-ns"}]); n > 0 {
		out = append(out, fmt.Sprintf("With every raft node in its own process, as refnode's are, raft commits that change in %s ms (p50).",
			num(p50/1e6)))
	}
	return out
}

// rangeOf returns the smallest and largest value of unit over the sizes, formatted.
func (r *Run) rangeOf(exp, unit string) [2]string {
	var vs []float64
	for _, n := range r.sizes {
		if v, k := r.value(exp, n, unit); k > 0 {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return [2]string{"–", "–"}
	}
	return [2]string{num(slices.Min(vs)), num(slices.Max(vs))}
}

func numericColumns(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

func (r *Run) framesTable() table {
	t := table{header: []string{"N", "decisions", "among elders: mean", "max", "joins", "leaves", "all frames: mean", "within 24"}}
	t.numeric = numericColumns(len(t.header) - 1)
	for _, n := range r.sizes {
		within := "yes"
		if v, k := r.value("decisions", n, "max-msgs/decision"); k == 0 {
			within = "–"
		} else if v > Budget {
			within = "**no**"
		}
		t.rows = append(t.rows, []string{strconv.Itoa(n), r.cell("decisions", n, "decisions"),
			r.cell("decisions", n, "msgs/decision"), r.cell("decisions", n, "max-msgs/decision"),
			r.cell("decisions", n, "join-msgs/decision"), r.cell("decisions", n, "leave-msgs/decision"),
			r.cell("decisions", n, "all-msgs/decision"), within})
	}
	return t
}

// fromRequestMeasured reports whether the run measured the decisions from the subject's request
// (join-from-request-ms). Such runs also start a leave's latency at the first elder hearing of
// it, as a join's; earlier runs started it at the leaver's request.
func (r *Run) fromRequestMeasured() bool {
	for _, n := range r.sizes {
		if _, k := r.value("decisions", n, "join-from-request-p50-ms"); k > 0 {
			return true
		}
	}
	return false
}

// latencyDefinition says what the latency table measures, as the run measured it.
func (r *Run) latencyDefinition() string {
	const common = "One change at a time: a new node joins through the first node, every node agrees, the new " +
		"node leaves through `POST /v1/leave`, every node agrees, and again. \"Joiner in\" is " +
		"what the joiner waited, by its own record: from its first request to taking the stableset a majority of " +
		"the elders sent it, the elders' announcements (ST-10) included. \"Leaver out\" is what the leaver " +
		"waited, by its own record: from asking to leave to applying its leave. These two are what a user " +
		"waits for. Percentiles are nearest-rank over the decisions of the run; with fewer than 100 decisions " +
		"p99 is the maximum. "
	if r.fromRequestMeasured() {
		return common + "Latency is from the earliest `started` any node other than the subject recorded for the " +
			"decision to the latest `applied` among the elders: from the first member hearing of the change, for a " +
			"join and a leave alike, as raft's AddVoter is timed from the leader's call."
	}
	return common + "Latency is from the earliest `started` any member recorded for the decision to the latest " +
		"`applied` among the elders: a join's starts after the joiner's request has arrived, a leave's (in this run, " +
		"measured before the two were put on one footing) at the leaver's request, since the leaver is a member " +
		"whose record counts."
}

// fromRequestTable gives the decisions from the subject's request, and how a leave compares
// with a join on that footing and on the latency's.
func (r *Run) fromRequestTable() table {
	t := table{header: []string{"N", "join from request p50 ms", "p99", "leave from request p50 ms", "p99",
		"leave ÷ join, from request p50", "leave ÷ join, latency p50"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range r.sizes {
		over := func(num, den string) string {
			a, ka := r.value("decisions", n, num)
			b, kb := r.value("decisions", n, den)
			return ratio(a, ka, b, kb)
		}
		t.rows = append(t.rows, []string{strconv.Itoa(n),
			r.cell("decisions", n, "join-from-request-p50-ms"), r.cell("decisions", n, "join-from-request-p99-ms"),
			r.cell("decisions", n, "leave-from-request-p50-ms"), r.cell("decisions", n, "leave-from-request-p99-ms"),
			over("leave-from-request-p50-ms", "join-from-request-p50-ms"), over("leave-p50-ms", "join-p50-ms")})
	}
	return t
}

// breakdownMeasured reports whether the run split its decisions at every elder hearing and
// the first elder applying (join-heard-p50-ms).
func (r *Run) breakdownMeasured() bool {
	for _, n := range r.sizes {
		if _, k := r.value("decisions", n, "join-heard-p50-ms"); k > 0 {
			return true
		}
	}
	return false
}

// breakdownTable gives, per size and kind, the p50 moments of a decision from the first elder
// hearing of it, and its latency in one-way trips of the idle round trip.
func (r *Run) breakdownTable() table {
	t := table{header: []string{"N", "half the idle round trip ms",
		"join: every elder heard", "first applied", "last applied", "one-way trips",
		"leave: every elder heard", "first applied", "last applied", "one-way trips"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range r.sizes {
		rtt, krtt := r.value("decisions", n, "idle-rtt-p50-ms")
		row := []string{strconv.Itoa(n), cellOf(rtt/2, krtt)}
		for _, kind := range []string{"join", "leave"} {
			last, klast := r.value("decisions", n, kind+"-p50-ms")
			trips := "–"
			if klast > 0 && krtt > 0 && rtt > 0 {
				trips = fmt.Sprintf("%.1f", last/(rtt/2))
			}
			row = append(row, r.cell("decisions", n, kind+"-heard-p50-ms"), r.cell("decisions", n, kind+"-first-applied-p50-ms"),
				r.cell("decisions", n, kind+"-p50-ms"), trips)
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func (r *Run) latencyTable() table {
	t := table{header: []string{"N", "join p50 ms", "p90", "p99", "max", "leave p50 ms", "p90", "p99", "max",
		"joiner in p50 ms", "p99", "leaver out p50 ms", "p99"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range r.sizes {
		row := []string{strconv.Itoa(n)}
		for _, kind := range []string{"join", "leave"} {
			for _, p := range []string{"p50", "p90", "p99", "max"} {
				row = append(row, r.cell("decisions", n, kind+"-"+p+"-ms"))
			}
		}
		// What the joiner waited, by its own log: its request to taking the stableset (ST-12).
		// What the subject waited, by its own log (ST-12): the joiner from its request to taking
		// the stableset that lists it, the leaver from asking to leave to applying its leave.
		row = append(row, r.cell("decisions", n, "joiner-in-p50-ms"), r.cell("decisions", n, "joiner-in-p99-ms"),
			r.cell("decisions", n, "leaver-out-p50-ms"), r.cell("decisions", n, "leaver-out-p99-ms"))
		t.rows = append(t.rows, row)
	}
	return t
}

func (r *Run) concurrentTable() table {
	t := table{header: []string{"N", "joins/s", "leaves/s", "join p50 ms", "join max", "leave p50 ms", "leave max",
		"frames among elders: mean", "max"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range r.sizes {
		row := []string{strconv.Itoa(n)}
		for _, u := range []string{"joins/s", "leaves/s", "join-p50-ms", "join-max-ms", "leave-p50-ms", "leave-max-ms", "msgs/decision", "max-msgs/decision"} {
			row = append(row, r.cell("concurrent", n, u))
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func (r *Run) antiEntropyTable() table {
	t := table{header: []string{"N", "cut off", "removed after (ms)", "converged after healing (ms)", "anti-entropy frames", "all frames", "rejoined"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range r.sizes {
		row := []string{strconv.Itoa(n)}
		for _, u := range []string{"cut-off-nodes", "split-ms", "converge-ms", "anti-entropy-frames", "frames", "rejoined-nodes"} {
			row = append(row, r.cell("anti-entropy", n, u))
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// genericTable shows every unit of an experiment, for experiments the report does not know.
func (r *Run) genericTable(exp string) table {
	var units []string
	for k := range r.cluster {
		if k.Experiment == exp && !slices.Contains(units, k.Unit) {
			units = append(units, k.Unit)
		}
	}
	slices.Sort(units)
	t := table{header: append([]string{"N"}, units...), numeric: numericColumns(len(units) + 1)}
	for _, n := range r.sizes {
		row := []string{strconv.Itoa(n)}
		for _, u := range units {
			row = append(row, r.cell(exp, n, u))
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func (r *Run) growthTable() table {
	first, last := r.sizes[0], r.sizes[len(r.sizes)-1]
	t := table{header: []string{"cost", fmt.Sprintf("N = %d", first), fmt.Sprintf("N = %d", last), "exponent b", "reading"},
		numeric: []bool{false, true, true, true, false}}
	for _, m := range []struct{ name, exp, unit string }{
		{"frames among the elders per decision (mean)", "decisions", "msgs/decision"},
		{"frames among the elders per decision (max)", "decisions", "max-msgs/decision"},
		{"all frames per decision (mean)", "decisions", "all-msgs/decision"},
		{"join latency p50 (ms)", "decisions", "join-p50-ms"},
		{"join latency p99 (ms)", "decisions", "join-p99-ms"},
		{"leave latency p50 (ms)", "decisions", "leave-p50-ms"},
		{"leave latency p99 (ms)", "decisions", "leave-p99-ms"},
		{"concurrent joins per second", "concurrent", "joins/s"},
		{"concurrent leaves per second", "concurrent", "leaves/s"},
		{"removal after a partition (ms)", "anti-entropy", "split-ms"},
		{"convergence after healing (ms)", "anti-entropy", "converge-ms"},
		{"anti-entropy frames after healing", "anti-entropy", "anti-entropy-frames"},
	} {
		b, ok := r.growth(m.exp, m.unit)
		if !ok {
			continue
		}
		words := reading(b)
		// A fit that had to leave out sizes whose value is 0 (no frame at all, say) reads only
		// the others, and its exponent says nothing of the sizes below them: say which it read.
		if fitted := r.positiveSizes(m.exp, m.unit); len(fitted) < len(r.sizes) {
			words += fmt.Sprintf(" (fit over N = %s only; 0 or none at the other sizes)", joinInts(fitted))
		}
		t.rows = append(t.rows, []string{m.name, r.cell(m.exp, first, m.unit), r.cell(m.exp, last, m.unit),
			strconv.FormatFloat(b, 'f', 2, 64), words})
	}
	return t
}

// ratioCell formats the ratio of two of the cluster benchmark's values, or "–" without both.
func (r *Run) ratioCell(experiment string, n int, num, den string) string {
	a, ka := r.value(experiment, n, num)
	b, kb := r.value(experiment, n, den)
	if ka == 0 || kb == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// raftCell formats a raft value divided by scale.
func (r *Run) raftCell(unit string, scale float64) string { return raftCellIn(r.raft, unit, scale) }

// raftProcsCell is raftCell for raft with a process per node.
func (r *Run) raftProcsCell(unit string, scale float64) string {
	return raftCellIn(r.raftProcs, unit, scale)
}

// raftCellIn formats the median of values' unit at raftVoters divided by scale, or a dash.
func raftCellIn(values map[sizeUnit][]float64, unit string, scale float64) string {
	v, n := median(values[sizeUnit{raftVoters, unit}])
	return cellOf(v/scale, n)
}

func (r *Run) raftSection() []block {
	if len(r.raft) == 0 {
		return []block{paragraph("Not in this run: there is no `" + RaftFile + "` (bench/raftcmp).")}
	}
	const nsPerMs = 1e6
	_, runs := r.raftValue("msgs/change")
	t := table{header: []string{"", "refnode: join at N = 4 (one at a time)", "hashicorp/raft v1.8.0: AddVoter, 4 → 5 voters"}}
	t.rows = [][]string{
		{"latency p50", r.cell("decisions", 4, "join-p50-ms") + " ms: first heard → every elder applied",
			r.raftCell("latency-p50-ns", nsPerMs) + " ms: AddVoter → committed and applied at the leader"},
		{"latency p99", r.cell("decisions", 4, "join-p99-ms") + " ms", r.raftCell("latency-p99-ns", nsPerMs) + " ms"},
		{"idle round trip (PING, p50)", r.cell("decisions", 4, "idle-rtt-p50-ms") + " ms: the benchmark's process → the first node, over QUIC, 20 ms apart", "–"},
		{"latency p50 ÷ idle round trip", r.ratioCell("decisions", 4, "join-p50-ms", "idle-rtt-p50-ms") + " (#17's target: at most 2)", "–"},
		{"until the new member knows", r.cell("decisions", 4, "joiner-in-p50-ms") + " ms (p50): the joiner's first request → it took the elders' STABLESET",
			r.newVoterApplied()},
		{"messages, the consensus itself", r.cell("decisions", 4, "join-msgs/decision") + " frames among the elders",
			r.raftCell("msgs-entries/change", 1) + " (AppendEntries carrying entries, and their responses)"},
		{"messages, everything in the window", r.cell("decisions", 4, "join-all-msgs/decision") +
			" frames: also the STABLESET to the joiner and anti-entropy (not the joiner's own requests)",
			r.raftCell("msgs/change", 1) + " (" + r.raftCell("msgs-nonheartbeat/change", 1) + " without heartbeats)"},
		{"background traffic", "PING to every member every 500 ms, not counted", r.raftCell("msgs-idle/change", 1) + " in an idle window as long"},
	}
	if _, n := median(r.raftProcs[sizeUnit{raftVoters, "latency-p50-ns"}]); n > 0 {
		t.rows = slices.Insert(t.rows, 2, []string{"latency p50 / p99, a process per node", "the same: refnode always runs a process per node",
			r.raftProcsCell("latency-p50-ns", nsPerMs) + " / " + r.raftProcsCell("latency-p99-ns", nsPerMs) + " ms (BenchmarkRaftAddVoterProcesses)"})
	}
	return append([]block{
		paragraph(fmt.Sprintf("The same membership change, measured in the same run: bench/raftcmp (its own Go module) "+
			"adds a fifth voter to a fresh 4-node hashicorp/raft cluster over loopback TCP, %d iterations per "+
			"benchmark run, %d runs (medians shown). One message is one frame or one RPC request or response, "+
			"counted at the sender. See bench/raftcmp/README.md for what raft's numbers include.", r.raftIterations(), runs)),
		t,
		paragraph("Read with care: raft's commit needs the leader and a quorum and is one log append; a stableset " +
			"decision needs a strict majority of the elders to witness it, and every elder applies it. raft's " +
			"message count depends on its timers (heartbeats every 5–10 ms here), refnode's does not."),
	}, r.raftPerSize()...)
}

// newVoterApplied is raft's "until the new member knows" at raftVoters: the p50, as the joiner's
// figure beside it and the size-by-size table give it, or the mean from a raft.txt written
// before bench/raftcmp reported percentiles.
func (r *Run) newVoterApplied() string {
	const nsPerMs = 1e6
	if _, n := r.raftValue("applied-p50-ns"); n > 0 {
		return r.raftCell("applied-p50-ns", nsPerMs) + " ms (p50): AddVoter → the last of the 5 applied"
	}
	return r.raftCell("applied-ns/op", nsPerMs) + " ms (mean): AddVoter → the last of the 5 applied"
}

// raftPerSize sets refnode's join and leave at N nodes beside raft's AddVoter at N voters, for
// every N both measured, as ratios: #17 asks for at most 1 at N = 4 and 16.
func (r *Run) raftPerSize() []block {
	t := r.raftTable(r.raft, "raft AddVoter")
	if len(t.rows) == 0 {
		return nil
	}
	out := []block{
		paragraph("Size by size: refnode's decisions at N nodes (one at a time, first heard → every elder applied) beside " +
			"raft adding a voter to N voters (AddVoter → committed at the leader), each the median over raft's runs. " +
			"The ratios are refnode ÷ raft: above 1, refnode took longer (#17's target: at most 1 at N = 4 and 16)."),
		t,
	}
	if procs := r.raftTable(r.raftProcs, "raft, a process per node"); len(procs.rows) > 0 {
		out = append(out,
			paragraph("The same with every raft node in its own process (BenchmarkRaftAddVoterProcesses), as refnode "+
				"runs its nodes: a message between two nodes is then a hop between processes, as refnode's are, and "+
				"not between goroutines of one process. This is the like-for-like comparison; the one above is the "+
				"figure #17 set its target by."),
			procs)
	}
	if quic := r.raftTable(r.raftQUICProcs, "raft over QUIC, a process per node"); len(quic.rows) > 0 {
		out = append(out,
			paragraph("The same again over QUIC (`"+RaftQUICFile+"`: bench/raftcmp with -raft.transport=quic), the "+
				"transport refnode sends every frame over, with a process per node: only raft's stream layer differs "+
				"from the table above, so the two tell the transport's share of the gap from the protocol's."),
			quic)
	}
	if quic := r.raftTable(r.raftQUIC, "raft over QUIC, one process"); len(quic.rows) > 0 {
		out = append(out, paragraph("And over QUIC with every raft node in one process:"), quic)
	}
	return append(out, r.newMemberWaits()...)
}

// raftTable sets refnode's join and leave at N nodes beside raft's AddVoter at N voters as
// values holds it (r.raft or r.raftProcs), for every N both measured; raftName heads raft's
// column.
func (r *Run) raftTable(values map[sizeUnit][]float64, raftName string) table {
	const nsPerMs = 1e6
	t := table{header: []string{"N", "refnode join p50 / p99 ms", "refnode leave p50 / p99 ms", raftName + " p50 / p99 ms",
		"join ÷ raft p50", "p99", "leave ÷ raft p50", "p99"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range sizesOf(values) {
		if _, k := r.value("decisions", n, "join-p50-ms"); k == 0 {
			continue
		}
		p50, _ := median(values[sizeUnit{n, "latency-p50-ns"}])
		p99, _ := median(values[sizeUnit{n, "latency-p99-ns"}])
		ratio := func(unit string, raft float64) string {
			v, k := r.value("decisions", n, unit)
			return msOverNs(v, k, raft)
		}
		t.rows = append(t.rows, []string{strconv.Itoa(n),
			r.cell("decisions", n, "join-p50-ms") + " / " + r.cell("decisions", n, "join-p99-ms"),
			r.cell("decisions", n, "leave-p50-ms") + " / " + r.cell("decisions", n, "leave-p99-ms"),
			num(p50/nsPerMs) + " / " + num(p99/nsPerMs),
			ratio("join-p50-ms", p50), ratio("join-p99-ms", p99), ratio("leave-p50-ms", p50), ratio("leave-p99-ms", p99)})
	}
	return t
}

// msOverNs is a refnode figure in ms (k values) divided by a raft figure in ns, or a dash when
// either is missing.
func msOverNs(ms float64, k int, ns float64) string {
	if k == 0 || ns == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", ms/(ns/1e6))
}

// newMemberWaits sets what refnode's joiner waits (its first request → it took the elders'
// STABLESET) beside what raft's new voter waits (AddVoter → every voter, the new one included,
// applied the entry), size by size: the figure #17 says covers what a user waits for.
func (r *Run) newMemberWaits() []block {
	const nsPerMs = 1e6
	t := table{header: []string{"N", "refnode joiner in p50 / p99 ms", "its legs p50 ms: reach / decide / told",
		"raft every voter applied p50 / p99 ms", "÷ raft p50", "p99"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range r.raftSizes() {
		in50, k50 := r.value("decisions", n, "joiner-in-p50-ms")
		in99, k99 := r.value("decisions", n, "joiner-in-p99-ms")
		raft50, kr50 := r.raftValueAt(n, "applied-p50-ns")
		raft99, kr99 := r.raftValueAt(n, "applied-p99-ns")
		if k50 == 0 || kr50 == 0 {
			continue
		}
		raftCell := func(v float64, k int) string {
			if k == 0 {
				return "–"
			}
			return num(v / nsPerMs)
		}
		t.rows = append(t.rows, []string{strconv.Itoa(n),
			r.cell("decisions", n, "joiner-in-p50-ms") + " / " + r.cell("decisions", n, "joiner-in-p99-ms"),
			r.cell("decisions", n, "joiner-reach-p50-ms") + " / " + r.cell("decisions", n, "join-p50-ms") + " / " + r.cell("decisions", n, "joiner-told-p50-ms"),
			raftCell(raft50, kr50) + " / " + raftCell(raft99, kr99),
			msOverNs(in50, k50, raft50), msOverNs(in99, k99, raft99)})
	}
	if len(t.rows) == 0 {
		return nil
	}
	return []block{
		paragraph("What the new member waits, size by size: refnode's joiner from its first request (a QUIC handshake " +
			"with its bootstrap peer included) until it took the STABLESET of a majority of the elders, and its legs: " +
			"reach, its request's way to the first member; decide, the join latency; told, from the last elder applying " +
			"until the joiner took the stableset (its handshakes with the elders it had not asked, then their STABLESETs). " +
			"Beside it, raft from AddVoter until the last node, the new voter included, applied the entry. raft's " +
			"followers learn of a commit from the leader's next AppendEntries, sent every CommitTimeout to 2 × " +
			"CommitTimeout (5–10 ms here), so its figure is mostly that setting: compare with care."),
		t,
	}
}

// memberlistSection puts refnode's gossip convergence beside hashicorp/memberlist's join
// convergence (bench/memberlistcmp), size by size, with the figures among drawn.
func (r *Run) memberlistSection(drawn map[string]bool) []block {
	if len(r.memberlist) == 0 {
		return []block{paragraph("Not in this run: there is no `" + MemberlistFile + "` (bench/memberlistcmp).")}
	}
	out := []block{paragraph("The same experiment on hashicorp/memberlist v0.7.0, measured in the same run by " +
		"bench/memberlistcmp (its own Go module): on each of a number of fresh clusters per size, every node but the " +
		"first joins through the first at once, and the clock stops when every node lists all N nodes as alive " +
		"(deadline 60 s). Times are the nearest-rank p50 and the maximum over the runs that converged; frames and " +
		"messages are means over those runs, counted at the sender. The ratios are refnode ÷ memberlist: above 1, " +
		"refnode took longer or sent more.")}
	t, both := r.memberlistTable(memberlistInProcess, "memberlist")
	out = append(out, t)
	sides := []struct {
		name, what string
		side       gossipSide
	}{{"refnode", "frames", refnodeGossip}, {"hashicorp/memberlist", "messages", memberlistInProcess}}
	if len(r.memberlistProcs) > 0 {
		procs, _ := r.memberlistTable(memberlistProcesses, "memberlist, a process per node")
		out = append(out, paragraph("The same with every memberlist node in its own process "+
			"(BenchmarkJoinConvergenceProcesses), as refnode runs its nodes: like for like in how the nodes share the "+
			"machine. Its nodes start over a longer spell than in one process, so their gossip rounds are less in step."),
			procs)
		sides = append(sides, struct {
			name, what string
			side       gossipSide
		}{"hashicorp/memberlist, a process per node", "messages", memberlistProcesses})
	}
	if known := r.knownTable(); len(known.rows) > 0 {
		out = append(out, paragraph("memberlist's criterion is weaker than refnode's: every node lists every node. "+
			"Judged the same way, refnode had converged when every node held a record, of any version, of every "+
			"other node (known, read by the same polls as its convergence). The ratios are refnode's known ÷ "+
			"memberlist's p50."), known)
	}
	// Fit every side over the sizes refnode and in-process memberlist both measured, so that the
	// exponents compare; failing two of those, each side over its own.
	var lines bullets
	for _, side := range sides {
		sizes, which := both, "the sizes both measured"
		if len(both) < 2 {
			sizes, which = nil, "the sizes it measured; too few in common"
			for _, n := range r.gossipSizes() {
				if _, k := r.gossipValue(side.side, n, "gossip-frames"); k > 0 {
					sizes = append(sizes, n)
				}
			}
		}
		var ns, vs []float64
		var names []string
		for _, n := range sizes {
			v, k := r.gossipValue(side.side, n, "gossip-frames")
			if k == 0 {
				continue
			}
			ns, vs, names = append(ns, float64(n)), append(vs, v), append(names, strconv.Itoa(n))
		}
		if b, ok := exponent(ns, vs); ok {
			lines = append(lines, fmt.Sprintf("%s: %s grow as N^%.2f over N = %s (%s; least squares of ln frames on ln N), %s.",
				side.name, side.what, b, strings.Join(names, ", "), which, reading(b)))
		}
	}
	if len(lines) > 0 {
		out = append(out, lines)
	} else {
		out = append(out, paragraph("Too few sizes with frames for a growth exponent."))
	}
	for _, f := range []image{
		{"gossip-convergence.svg", "gossip convergence p50 against N, refnode and hashicorp/memberlist"},
		{"gossip-frames.svg", "gossip frames against N, refnode and hashicorp/memberlist, log-log"},
	} {
		if drawn[f.src] {
			out = append(out, f)
		}
	}
	layout := "one process"
	if len(r.memberlistProcs) > 0 {
		layout = "one process (in the first table; in the second, each in its own)"
	}
	out = append(out, paragraph("What differs (see bench/memberlistcmp/README.md): memberlist runs all N nodes in "+layout+
		", over UDP and TCP on loopback without encryption, and counts every packet and stream, its failure "+
		"detector's pings and acks included. refnode runs one process per node over QUIC with TLS and counts only "+
		"GOSSIP and GOSSIP_FAILURE frames. memberlist has converged when every node lists every node as alive; "+
		"refnode only when every node also holds every other's current record and no link of its bounded "+
		"neighborhood is half (SPEC.md NB-9), polled every 50 ms or 3 ms per node, whichever is longer; once the polls see it, "+
		"refnode's time is taken from its nodes' own clocks (the latest last change among them, SPEC.md ADM-12), as memberlist's is, "+
		"and the polls' time is kept beside it (converge-polled-p50-ms). Compare the converged shares and the growth "+
		"of the frames before absolute times."))
	return out
}

// knownTable sets the time by which every refnode node knew every other beside memberlist's
// convergence, in one process and with a process per node; no rows when the run has no
// known-p50-ms.
func (r *Run) knownTable() table {
	const gossip = "gossip-convergence"
	t := table{header: []string{"N", "refnode known p50 ms", "refnode converged p50 ms", "memberlist p50 ms", "ratio",
		"memberlist, a process per node p50 ms", "ratio"}}
	t.numeric = numericColumns(len(t.header))
	for _, n := range r.gossipSizes() {
		known, k := r.value(gossip, n, "known-p50-ms")
		if k == 0 {
			continue
		}
		in, kin := r.gossipValue(memberlistInProcess, n, "converge-p50-ms")
		procs, kp := r.gossipValue(memberlistProcesses, n, "converge-p50-ms")
		t.rows = append(t.rows, []string{strconv.Itoa(n), num(known), r.cell(gossip, n, "converge-p50-ms"),
			r.memberlistCell(n, "converge-p50-ms"), ratio(known, k, in, kin),
			cellOf(procs, kp), ratio(known, k, procs, kp)})
	}
	return t
}

// cellOf formats a value, or a dash when there were none.
func cellOf(v float64, k int) string {
	if k == 0 {
		return "–"
	}
	return num(v)
}

// memberlistTable sets refnode's gossip convergence beside one memberlist side, size by size,
// headed by name; it also returns the sizes with frames on both sides.
func (r *Run) memberlistTable(side gossipSide, name string) (table, []int) {
	const gossip = "gossip-convergence"
	values := r.memberlistValues(side)
	cell := func(n int, unit string) string { return cellOf(r.gossipValue(side, n, unit)) }
	t := table{header: []string{"N", "refnode converged", "refnode p50 / max ms", "refnode frames",
		name + " converged", name + " p50 / max ms", name + " messages", "p50 ratio", "frames ratio"}}
	t.numeric = numericColumns(len(t.header))
	var both []int // sizes with frames on both sides
	for _, n := range r.gossipSizes() {
		refP50, kr := r.value(gossip, n, "converge-p50-ms")
		mlP50, km := r.gossipValue(side, n, "converge-p50-ms")
		refFrames, kfr := r.value(gossip, n, "gossip-frames")
		mlFrames, kfm := r.gossipValue(side, n, "gossip-frames")
		if kfr > 0 && kfm > 0 {
			both = append(both, n)
		}
		t.rows = append(t.rows, []string{strconv.Itoa(n),
			convergedOf(r.cluster[metricKey{gossip, n, "converged"}], r.cluster[metricKey{gossip, n, "runs"}]),
			r.cell(gossip, n, "converge-p50-ms") + " / " + r.cell(gossip, n, "converge-max-ms"),
			r.cell(gossip, n, "gossip-frames"),
			convergedOf(values[sizeUnit{n, "converged"}], values[sizeUnit{n, "runs"}]),
			cell(n, "converge-p50-ms") + " / " + cell(n, "converge-max-ms"),
			cell(n, "gossip-frames"),
			ratio(refP50, kr, mlP50, km), ratio(refFrames, kfr, mlFrames, kfm)})
	}
	return t, both
}

// gossipSizes are the sizes with a refnode gossip-convergence result or a memberlist result, ascending.
func (r *Run) gossipSizes() []int {
	set := map[int]bool{}
	for k := range r.cluster {
		if k.Experiment == "gossip-convergence" {
			set[k.Nodes] = true
		}
	}
	for _, m := range []map[sizeUnit][]float64{r.memberlist, r.memberlistProcs} {
		for k := range m {
			set[k.Nodes] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// memberlistCell formats memberlist's value of unit at nodes, or a dash when it was not measured.
func (r *Run) memberlistCell(nodes int, unit string) string {
	v, n := r.memberlistValue(nodes, unit)
	if n == 0 {
		return "–"
	}
	return num(v)
}

// convergedOf says how many runs converged, "k of n", from each benchmark result's share of
// converged runs and its number of runs (several results with go test -count).
func convergedOf(shares, runs []float64) string {
	if len(runs) == 0 || len(shares) != len(runs) {
		return "–"
	}
	var k, n float64
	for i := range runs {
		k += math.Round(shares[i] * runs[i])
		n += runs[i]
	}
	return fmt.Sprintf("%.0f of %.0f", k, n)
}

// ratio formats a ÷ b as "2.3×", or a dash when either was not measured.
func ratio(a float64, ka int, b float64, kb int) string {
	if ka == 0 || kb == 0 || b <= 0 {
		return "–"
	}
	switch v := a / b; {
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64) + "×"
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	}
}

// raftIterations is the mean iterations per raft benchmark run at raftVoters, read from the
// file's results.
func (r *Run) raftIterations() int {
	its := r.raft[sizeUnit{raftVoters, "iterations"}]
	if len(its) == 0 {
		return 0
	}
	m, _ := stats.Mean(its)
	return int(math.Round(m))
}

func (r *Run) configTable() table {
	keys := make([]string, 0, len(r.config))
	for k := range r.config {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t := table{header: []string{"cluster.txt setting", "value"}}
	for _, k := range keys {
		t.rows = append(t.rows, []string{k, r.config[k]})
	}
	return t
}
