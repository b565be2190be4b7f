package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stableset/sskit/harness"
)

var (
	nodesFlag    = flag.String("cluster.nodes", "4,8,16,32,64", "comma-separated cluster sizes")
	samplesFlag  = flag.Int("cluster.samples", 100, "sequential join+leave pairs per cluster size (decisions)")
	joinersFlag  = flag.Int("cluster.joiners", 8, "nodes that join at once, then leave at once (concurrent)")
	roundsFlag   = flag.Int("cluster.rounds", 6, "rounds of joins at once and leaves at once per concurrent run: one round at 64 nodes ranged from 24 to 84 joins/s; 3 rounds gave 37 in one report, 5 rounds 58 and 72 in two runs a day later")
	backendFlag  = flag.String("cluster.backend", envOr("BACKEND", "process"), "process or docker [BACKEND]")
	parallelFlag = flag.Int("cluster.start-parallel", 8, "nodes started (and joining) at once while a cluster forms")
	outFlag      = flag.String("cluster.out", os.Getenv("SSKIT_BENCH_OUT"), "directory for "+SamplesFile+" (one row per decision, for latency CDFs); empty: none [SSKIT_BENCH_OUT]")
	seedFlag     = flag.Int64("cluster.seed", 1, "seed of the node keys")
	gossipRuns   = flag.Int("cluster.gossip-runs", 5, "fresh clusters per size for gossip-convergence (gossip starts from nothing once per cluster)")
	quietFlag    = flag.Bool("cluster.quiet", false, "no progress lines on stderr")
)

// defaultBenchtime: every cluster benchmark runs its experiment once per -count; the sample
// sizes are the -cluster.* flags. go test's time-based default would repeat whole experiments.
const defaultBenchtime = "1x"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.benchtime" })
	if !set {
		if err := flag.Set("test.benchtime", defaultBenchtime); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// requested reports whether the cluster benchmarks were asked for by name (-bench Cluster) or
// with SSKIT_BENCH_CLUSTER set. They start up to 64+ node processes for minutes, so "every
// benchmark" (make bench: -bench . over ./bench/...) must not run them by accident.
func requested() bool {
	if os.Getenv("SSKIT_BENCH_CLUSTER") != "" {
		return true
	}
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), "Cluster")
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 4 {
			return nil, fmt.Errorf("-cluster.nodes: %q is not a cluster size of at least 4 (one per elder)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// BenchmarkCluster measures refnode clusters of every size in -cluster.nodes; see the package
// documentation for what each sub-benchmark measures and reports.
func BenchmarkCluster(b *testing.B) {
	if !requested() {
		b.Skip("cluster benchmarks run only when named: go test -bench Cluster ./bench/cluster/ (or make bench-cluster)")
	}
	sizes, err := parseSizes(*nodesFlag)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	impl, err := harness.Refnode(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if *outFlag != "" {
		if err := os.MkdirAll(*outFlag, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	// Configuration lines of the Go benchmark format: benchstat and sskit bench report show them
	// with the results that follow.
	fmt.Printf("cluster-impl: %s\ncluster-backend: %s\ncluster-samples: %d\ncluster-joiners: %d\ncluster-rounds: %d\n",
		impl.Name, *backendFlag, *samplesFlag, *joinersFlag, max(1, *roundsFlag))
	for _, n := range sizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) { benchmarkSize(b, impl, n) })
	}
}

func benchmarkSize(b *testing.B, impl harness.Implementation, n int) {
	ctx := context.Background()
	logDir, err := os.MkdirTemp("", fmt.Sprintf("sskit-bench-%d-", n))
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{Impl: impl, Backend: *backendFlag, Seed: *seedFlag + int64(n), LogDir: logDir, StartParallel: *parallelFlag}
	if !*quietFlag {
		opts.Progress = os.Stderr
	}
	c, formed, err := Form(ctx, n, opts)
	if err != nil {
		b.Fatalf("%v (node logs in %s)", err, logDir)
	}
	closed := false
	closeCluster := func() {
		if closed {
			return
		}
		closed = true
		if err := c.Close(); err != nil {
			b.Errorf("close: %v", err)
		}
		if b.Failed() {
			b.Logf("node logs kept in %s", logDir)
		} else {
			_ = os.RemoveAll(logDir)
		}
	}
	defer closeCluster()
	c.progress("%d nodes formed one stableset in %v", n, formed.Round(time.Millisecond))

	b.Run("decisions", func(b *testing.B) { benchmarkDecisions(b, c) })
	b.Run("concurrent", func(b *testing.B) { benchmarkConcurrent(b, c) })
	b.Run("anti-entropy", func(b *testing.B) { benchmarkAntiEntropy(b, c) })
	// Gossip runs on fresh clusters of its own; the cluster above would only take CPU from them
	// (at 64 nodes, its PINGs alone are about 900 frames a second), so it stops first, and each
	// gossip run has the machine to itself, as memberlist's does.
	closeCluster()
	b.Run("gossip-convergence", func(b *testing.B) { benchmarkGossip(b, c) })
}

// gossipDeadline is how long the nodes get to converge after debuting through one node.
const gossipDeadline = 60 * time.Second

// benchmarkGossip: on each of -cluster.gossip-runs fresh clusters of the size of c, every node
// debuts through the first at once; time and GOSSIP frames until every node holds every other's
// current record and no link is half (SPEC.md NB-9). It reports the share of runs that converged
// within gossipDeadline, and the time (p50, max) and frames (mean) of those that did.
func benchmarkGossip(b *testing.B, c *Cluster) {
	reportNothingPerOp(b)
	n := c.Size()
	var times, polled, known []float64
	var frames, runs, converged, fromNodes int
	for range b.N {
		for run := range *gossipRuns {
			opts := c.opts
			opts.Seed = c.opts.Seed*1000 + int64(run) + 1 // other keys, another neighborhood
			logDir, err := os.MkdirTemp("", fmt.Sprintf("sskit-bench-gossip-%d-", n))
			if err != nil {
				b.Fatal(err)
			}
			opts.LogDir = logDir
			fresh, _, err := Form(context.Background(), n, opts)
			if err != nil {
				b.Fatal(err)
			}
			r, err := fresh.GossipConvergence(context.Background(), gossipDeadline)
			if err == nil && !r.Converged {
				err = fresh.SaveNeighborhoods(context.Background(), logDir)
			}
			if cerr := fresh.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Fatal(err)
			}
			runs++
			if !r.Converged {
				c.progress("%d nodes, run %d: gossip did not converge within %v (%d frames; node logs and neighborhoods.json kept in %s); still missing: %s",
					n, run+1, gossipDeadline, r.Frames, logDir, r.Missing)
				continue
			}
			_ = os.RemoveAll(logDir)
			converged++
			times, polled, known = append(times, ms(r.Time)), append(polled, ms(r.Polled)), append(known, ms(r.Known))
			frames += int(r.Frames)
			how := "by the polls (a node gave no changed, ADM-12)"
			if r.FromNodes {
				fromNodes++
				how = fmt.Sprintf("by the nodes' last change; the polls saw it at %v", r.Polled.Round(time.Millisecond))
			}
			c.progress("%d nodes, run %d: gossip converged in %v with %d frames, timed %s", n, run+1, r.Time.Round(time.Millisecond), r.Frames, how)
		}
	}
	b.ReportMetric(float64(converged)/float64(runs), "converged")
	b.ReportMetric(float64(runs), "runs")
	if converged > 0 {
		sum := Summarize(times)
		b.ReportMetric(sum.P50, "converge-p50-ms")
		b.ReportMetric(sum.Max, "converge-max-ms")
		b.ReportMetric(Summarize(polled).P50, "converge-polled-p50-ms")
		b.ReportMetric(float64(fromNodes)/float64(converged), "timed-by-nodes")
		b.ReportMetric(Summarize(known).P50, "known-p50-ms")
		b.ReportMetric(float64(frames)/float64(converged), "gossip-frames")
	}
}

// reportNothingPerOp drops ns/op: a sub-benchmark runs one experiment whose time is mostly
// waiting for agreement, and its own metrics say what was measured.
func reportNothingPerOp(b *testing.B) { b.ReportMetric(0, "ns/op") }

func writeSamples(b *testing.B, nodes int, experiment string, d []*Decision) {
	if *outFlag == "" {
		return
	}
	if err := AppendSamples(filepath.Join(*outFlag, SamplesFile), nodes, experiment, d); err != nil {
		b.Error(err)
	}
}

func checkComplete(b *testing.B, d Decisions) {
	if len(d.Incomplete) > 0 {
		b.Errorf("%d decisions were not recorded as applied by every elder: %v", len(d.Incomplete), d.Incomplete)
	}
}

// latencies returns the decisions' latencies in milliseconds.
func latencies(ds []*Decision) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d.Latency())
	}
	return out
}

func frames(ds []*Decision, all bool) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d.ElderFrames)
		if all {
			out[i] = float64(d.AllFrames)
		}
	}
	return out
}

// reportLatency reports the p50, p90, p99 and max of ds' latencies as <prefix>-pNN-ms.
func reportLatency(b *testing.B, prefix string, ds []*Decision, p90p99 bool) {
	s := Summarize(latencies(ds))
	b.ReportMetric(s.P50, prefix+"-p50-ms")
	if p90p99 {
		b.ReportMetric(s.P90, prefix+"-p90-ms")
		b.ReportMetric(s.P99, prefix+"-p99-ms")
	}
	b.ReportMetric(s.Max, prefix+"-max-ms")
}

// reportSubjectWait reports what the subjects of ds waited, by their own logs, as
// <prefix>-p50-ms, -p99-ms and -max-ms: wait gives a decision's figure, 0 when its subject logged
// none. It reports nothing when no subject did.
func reportSubjectWait(b *testing.B, prefix string, ds []*Decision, wait func(*Decision) time.Duration) {
	var in []float64
	for _, d := range ds {
		if w := wait(d); w > 0 {
			in = append(in, ms(w))
		}
	}
	if len(in) == 0 {
		return
	}
	s := Summarize(in)
	b.ReportMetric(s.P50, prefix+"-p50-ms")
	b.ReportMetric(s.P99, prefix+"-p99-ms")
	b.ReportMetric(s.Max, prefix+"-max-ms")
}

// reportPairP50 reports the p50 of two figures of each decision of ds, as names[0] and
// names[1]: pair gives them, with ok false for a decision that lacks them. It reports nothing
// when none has them.
func reportPairP50(b *testing.B, ds []*Decision, names [2]string, pair func(*Decision) (x, y time.Duration, ok bool)) {
	var xs, ys []float64
	for _, d := range ds {
		if x, y, ok := pair(d); ok {
			xs, ys = append(xs, ms(x)), append(ys, ms(y))
		}
	}
	if len(xs) == 0 {
		return
	}
	b.ReportMetric(Summarize(xs).P50, names[0])
	b.ReportMetric(Summarize(ys).P50, names[1])
}

// joinerReachAndTold are the first and last of JoinerLegs (the middle one is the join
// latency): where a joiner's wait goes besides the decision.
func joinerReachAndTold(d *Decision) (reach, told time.Duration, ok bool) {
	reach, _, told, ok = d.JoinerLegs()
	return reach, told, ok
}

// heardAndFirstApplied are the first two moments of Breakdown (the last is the latency):
// where a decision's time goes.
func heardAndFirstApplied(d *Decision) (heard, first time.Duration, ok bool) {
	heard, first, _, ok = d.Breakdown()
	return heard, first, ok
}

// idleRoundTrips PINGs, one every idleGap, measure the idle round trip beside the decisions.
const (
	idleRoundTrips = 100
	idleGap        = 20 * time.Millisecond
)

// benchmarkDecisions: the idle round trip to the first node, then -cluster.samples joins and
// leaves, one at a time.
func benchmarkDecisions(b *testing.B, c *Cluster) {
	reportNothingPerOp(b)
	n := c.Size()
	var joins, leaves []*Decision
	var rtts []float64
	records, unapplied := 0, 0
	for range b.N {
		idle, err := c.IdleRoundTrips(context.Background(), idleRoundTrips, idleGap)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range idle {
			rtts = append(rtts, ms(d))
		}
		d, err := c.JoinLeave(context.Background(), *samplesFlag)
		if err != nil {
			b.Fatal(err)
		}
		checkComplete(b, d)
		joins, leaves = append(joins, d.Joins...), append(leaves, d.Leaves...)
		records, unapplied = records+d.Records, unapplied+d.Unapplied
	}
	all := append(joins[:len(joins):len(joins)], leaves...)
	writeSamples(b, n, "decisions", all)
	reportLatency(b, "join", joins, true)
	reportLatency(b, "leave", leaves, true)
	for kind, ds := range map[string][]*Decision{"join": joins, "leave": leaves} {
		reportPairP50(b, ds, [2]string{kind + "-heard-p50-ms", kind + "-first-applied-p50-ms"}, heardAndFirstApplied)
	}
	// What the subject waited: the joiner from its first request to taking the stableset that
	// lists it, the leaver from asking to leave to taking the one without it.
	reportSubjectWait(b, "joiner-in", joins, func(d *Decision) time.Duration { return d.JoinerIn })
	reportSubjectWait(b, "leaver-out", leaves, func(d *Decision) time.Duration { return d.LeaverOut })
	reportPairP50(b, joins, [2]string{"joiner-reach-p50-ms", "joiner-told-p50-ms"}, joinerReachAndTold)
	// The elders' figure again, from the subject's request: a join and a leave on one footing
	// with what their subjects wait.
	reportSubjectWait(b, "join-from-request", joins, (*Decision).FromRequest)
	reportSubjectWait(b, "leave-from-request", leaves, (*Decision).FromRequest)
	rtt := Summarize(rtts)
	b.ReportMetric(rtt.P50, "idle-rtt-p50-ms")
	b.ReportMetric(rtt.P99, "idle-rtt-p99-ms")
	elder := Summarize(frames(all, false))
	b.ReportMetric(elder.Mean, "msgs/decision")
	b.ReportMetric(elder.Max, "max-msgs/decision")
	b.ReportMetric(Summarize(frames(joins, false)).Mean, "join-msgs/decision")
	b.ReportMetric(Summarize(frames(leaves, false)).Mean, "leave-msgs/decision")
	b.ReportMetric(Summarize(frames(all, true)).Mean, "all-msgs/decision")
	b.ReportMetric(Summarize(frames(joins, true)).Mean, "join-all-msgs/decision")
	b.ReportMetric(float64(len(all)), "decisions")
	c.progress("%d nodes: join p50 %.1f ms, leave p50 %.1f ms (idle round trip p50 %.2f ms), %.1f msgs/decision among elders (max %.0f), %.1f in all",
		n, Summarize(latencies(joins)).P50, Summarize(latencies(leaves)).P50, rtt.P50, elder.Mean, elder.Max, Summarize(frames(all, true)).Mean)
	if unapplied > 0 {
		c.progress("%d nodes: %d of %d decision records (over all nodes) never recorded an applied time", n, unapplied, records)
	}
}

// benchmarkConcurrent: -cluster.joiners nodes join at once, then the same nodes leave at once.
func benchmarkConcurrent(b *testing.B, c *Cluster) {
	reportNothingPerOp(b)
	n := c.Size()
	k := *joinersFlag
	var joins, leaves []*Decision
	var joinTime, leaveTime time.Duration // from requesting the changes until the last applied
	for range b.N * max(1, *roundsFlag) {
		jd, joiners, err := c.ConcurrentJoins(context.Background(), k)
		if err != nil {
			b.Fatal(err)
		}
		checkComplete(b, jd)
		ld, err := c.ConcurrentLeaves(context.Background(), joiners)
		if err != nil {
			b.Fatal(err)
		}
		checkComplete(b, ld)
		joins, leaves = append(joins, jd.Joins...), append(leaves, ld.Leaves...)
		joinTime += jd.Last.Sub(jd.Requested)
		leaveTime += ld.Last.Sub(ld.Requested)
	}
	writeSamples(b, n, "concurrent", append(joins[:len(joins):len(joins)], leaves...))
	joinRate := float64(len(joins)) / joinTime.Seconds()
	leaveRate := float64(len(leaves)) / leaveTime.Seconds()
	b.ReportMetric(joinRate, "joins/s")
	b.ReportMetric(leaveRate, "leaves/s")
	reportLatency(b, "join", joins, false)
	reportLatency(b, "leave", leaves, false)
	all := append(joins[:len(joins):len(joins)], leaves...)
	elder := Summarize(frames(all, false))
	b.ReportMetric(elder.Mean, "msgs/decision")
	b.ReportMetric(elder.Max, "max-msgs/decision")
	b.ReportMetric(Summarize(frames(all, true)).Mean, "all-msgs/decision")
	c.progress("%d nodes: %d joins at once at %.1f/s, %d leaves at once at %.1f/s, %.1f msgs/decision among elders (max %.0f)",
		n, k, joinRate, k, leaveRate, elder.Mean, elder.Max)
}

// benchmarkAntiEntropy: a partition that removes a quarter of the nodes, then convergence after
// healing.
func benchmarkAntiEntropy(b *testing.B, c *Cluster) {
	if err := harness.NetworkFaultsSupported(); err != nil {
		if !*quietFlag {
			fmt.Fprintln(os.Stderr, "cluster bench: skipped anti-entropy:", err)
		}
		b.Skipf("anti-entropy convergence needs a partition: %v", err)
	}
	reportNothingPerOp(b)
	var split, converge time.Duration
	var ae, sent int64
	var minority, rejoined int
	for range b.N {
		r, err := c.PartitionHeal(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		split += r.Split
		converge += r.Converge
		ae += r.AntiEntropyFrames
		sent += r.Frames
		minority += r.Minority
		rejoined += r.Rejoined
	}
	per := func(v float64) float64 { return v / float64(b.N) }
	b.ReportMetric(per(ms(split)), "split-ms")
	b.ReportMetric(per(ms(converge)), "converge-ms")
	b.ReportMetric(per(float64(ae)), "anti-entropy-frames")
	b.ReportMetric(per(float64(sent)), "frames")
	b.ReportMetric(per(float64(minority)), "cut-off-nodes")
	b.ReportMetric(per(float64(rejoined)), "rejoined-nodes")
	c.progress("%d nodes: %d cut off, removed in %v; after healing one stableset again in %v with %d anti-entropy frames (%d frames in all)",
		c.Size(), minority/b.N, (split / time.Duration(b.N)).Round(time.Millisecond), (converge / time.Duration(b.N)).Round(time.Millisecond), ae/int64(b.N), sent/int64(b.N))
}
