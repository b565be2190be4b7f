package report

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRun makes a run directory with results shaped like the benchmarks' output: frames flat
// in N, latency growing like sqrt(N), and a raft file.
func writeRun(t *testing.T, withRaft bool) string {
	t.Helper()
	dir := t.TempDir()
	var cluster, samples strings.Builder
	cluster.WriteString("cluster-impl: refnode\ncluster-backend: process\ncluster-samples: 3\ncluster-joiners: 8\n" +
		"goos: linux\ngoarch: amd64\npkg: github.com/stableset/sskit/bench/cluster\ncpu: Test CPU\n")
	samples.WriteString("nodes,experiment,kind,member,ordinal,started,latency_ms,elder_frames,all_frames\n")
	for _, n := range []int{4, 8, 16} {
		lat := 2 * math.Sqrt(float64(n))
		fmt.Fprintf(&cluster, "BenchmarkCluster/nodes=%d/decisions-2 \t 1 \t %.1f all-msgs/decision \t 6 decisions \t %.3f join-p50-ms \t %.3f join-p99-ms \t %.3f join-max-ms \t 15 join-msgs/decision \t %.1f join-all-msgs/decision \t %.3f leave-p50-ms \t %.3f leave-p99-ms \t 14 leave-msgs/decision \t 14.5 msgs/decision \t 17 max-msgs/decision \t %.4f idle-rtt-p50-ms\n",
			n, 8*float64(n), lat, 2*lat, 2*lat, 7*float64(n), lat, 2*lat, lat/3)
		fmt.Fprintf(&cluster, "BenchmarkCluster/nodes=%d/concurrent-2 \t 1 \t 3.5 joins/s \t 40 leaves/s \t 16 msgs/decision \t 20 max-msgs/decision\n", n)
		fmt.Fprintf(&cluster, "BenchmarkCluster/nodes=%d/anti-entropy-2 \t 1 \t 3100 split-ms \t %d converge-ms \t %d anti-entropy-frames \t %d cut-off-nodes\n", n, 100*n, 10*n, n/4)
		for i, kind := range []string{"JOIN", "JOIN", "JOIN", "LEAVE", "LEAVE", "LEAVE"} {
			fmt.Fprintf(&samples, "%d,decisions,%s,00112233aabbccdd,%d,2026-11-21T12:00:00Z,%.3f,15,30\n", n, kind, i, lat+float64(i))
		}
	}
	files := map[string]string{ClusterFile: cluster.String(), SamplesFile: samples.String(), MachineFile: "# Machine of this run\n\n- cpu: Test CPU\n"}
	if withRaft {
		files[RaftFile] = "goos: linux\nBenchmarkRaftAddVoter-2 \t 30 \t 340000 ns/op \t 9800000 applied-ns/op \t 300000 latency-p50-ns \t 900000 latency-p99-ns \t 23.1 msgs/change \t 15 msgs-nonheartbeat/change \t 8 msgs-entries/change \t 20.5 msgs-idle/change\n"
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWriteReport(t *testing.T) {
	dir := writeRun(t, true)
	run, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Write(run)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{MarkdownFile, HTMLFile, "cdf-join.svg", "cdf-leave.svg", "scaling-msgs.svg", "scaling-latency.svg",
		"scaling-all-frames.svg", "scaling-throughput.svg", "scaling-convergence.svg"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Size() == 0 {
			t.Errorf("%s not written (%v); wrote %v", f, err, files)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, MarkdownFile))
	wantIn(t, "report.md", string(md),
		"Clusters of 4, 8, 16 nodes of refnode on the process backend",
		"14.5–14.5 on average and at most 20 for any decision", // the concurrent maximum counts too
		"within the budget of 24",
		"| 16 | 6 | 14.5 | 17 | 15 | 14 | 128 | yes |",
		"| frames among the elders per decision (mean) | 14.5 | 14.5 | 0.00 | flat |",
		"| join latency p50 (ms) | 4 | 8 | 0.50 | grows slower than N |",
		"| convergence after healing (ms) | 400 | 1600 | 1.00 | grows like N |",
		"hashicorp/raft v1.8.0",
		"0.30 ms: AddVoter → committed and applied at the leader",
		"| messages, the consensus itself | 15 frames among the elders | 8 (AppendEntries",
		"no `BenchmarkCluster/nodes=N/gossip-convergence` result",
		"![CDF of join latency per N](cdf-join.svg)",
		"- cpu: Test CPU",
		"| cpu | Test CPU |",
	)
	page, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	wantIn(t, "report.html", string(page), "<table>", `<td class="num">14.5</td>`, `<img src="scaling-msgs.svg"`, "<code>POST /v1/leave</code>")
	if t.Failed() {
		t.Logf("report.md:\n%s", md)
	}
}

func TestReportWithoutOptionalFiles(t *testing.T) {
	dir := writeRun(t, false)
	md := renderMarkdown(t, dir)
	if !strings.Contains(md, "there is no `raft.txt`") {
		t.Errorf("report.md does not say the raft comparison is missing:\n%s", md)
	}
}

func TestLoadNeedsClusterResults(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
	if err := os.WriteFile(filepath.Join(dir, ClusterFile), []byte("goos: linux\nPASS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no BenchmarkCluster results") {
		t.Errorf("Load without results: %v", err)
	}
}

func TestInline(t *testing.T) {
	got := inline("a <b> `x<y>` **bold** [link](https://example.com/a)")
	want := `a &lt;b&gt; <code>x&lt;y&gt;</code> <strong>bold</strong> <a href="https://example.com/a">link</a>`
	if got != want {
		t.Errorf("inline = %q, want %q", got, want)
	}
}

func TestCDF(t *testing.T) {
	xs, ys := cdf([]float64{1, 2, 2, 5})
	if fmt.Sprint(xs, ys) != "[1 1 2 2 5] [0 0.25 0.5 0.75 1]" {
		t.Errorf("cdf = %v %v", xs, ys)
	}
}

// addGossip appends refnode gossip-convergence results for N = 8 and 16 to the run's cluster.txt
// and, with memberlist, writes memberlist.txt for the same sizes.
func addGossip(t *testing.T, dir string, memberlist bool) {
	t.Helper()
	appendTo(t, dir, ClusterFile, "BenchmarkCluster/nodes=8/gossip-convergence-2 \t 1 \t 1500 converge-max-ms \t 920 converge-p50-ms \t 1.000 converged \t 60 gossip-frames \t 5 runs\n"+
		"BenchmarkCluster/nodes=16/gossip-convergence-2 \t 1 \t 3000 converge-max-ms \t 1200 converge-p50-ms \t 0.8000 converged \t 130 gossip-frames \t 5 runs\n")
	if !memberlist {
		return
	}
	text := "goos: linux\ngoarch: amd64\npkg: github.com/stableset/sskit/bench/memberlistcmp\n" +
		"BenchmarkJoinConvergence/nodes=8-2 \t 1 \t 51040 converge-max-ms \t 400 converge-p50-ms \t 1.000 converged \t 38 frames-p50 \t 40 gossip-frames \t 9000 packet-bytes \t 33 packets \t 20.00 runs \t 7 streams\n" +
		"BenchmarkJoinConvergence/nodes=16-2 \t 1 \t 1500 converge-max-ms \t 800 converge-p50-ms \t 0.9000 converged \t 98 frames-p50 \t 100 gossip-frames \t 40000 packet-bytes \t 85 packets \t 20.00 runs \t 15 streams\n" +
		"PASS\n"
	if err := os.WriteFile(filepath.Join(dir, MemberlistFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// renderMarkdown loads the run in dir, writes its report and returns report.md.
func renderMarkdown(t *testing.T, dir string) string {
	t.Helper()
	run, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(run); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(md)
}

func TestMemberlistComparison(t *testing.T) {
	dir := writeRun(t, true)
	addGossip(t, dir, true)
	report := renderMarkdown(t, dir)
	section := report[strings.Index(report, "## Gossip convergence beside hashicorp/memberlist"):]
	section = section[:strings.Index(section, "\n## ")]
	wantIn(t, "memberlist section", section,
		"| N | refnode converged | refnode p50 / max ms | refnode frames | memberlist converged | memberlist p50 / max ms | memberlist messages | p50 ratio | frames ratio |",
		"| 8 | 5 of 5 | 920 / 1500 | 60 | 20 of 20 | 400 / 51040 | 40 | 2.3× | 1.5× |",
		"| 16 | 4 of 5 | 1200 / 3000 | 130 | 18 of 20 | 800 / 1500 | 100 | 1.5× | 1.3× |",
		"- refnode: frames grow as N^1.12 over N = 8, 16",                // log2(130/60)
		"- hashicorp/memberlist: messages grow as N^1.32 over N = 8, 16", // log2(100/40)
		"![gossip convergence p50 against N, refnode and hashicorp/memberlist](gossip-convergence.svg)",
		"![gossip frames against N, refnode and hashicorp/memberlist, log-log](gossip-frames.svg)",
		"GOSSIP_FAILURE",
	)
	if strings.Contains(section, "| 4 |") {
		t.Error("memberlist section has a row for N = 4, which neither side measured")
	}
	// The comparison comes right after refnode's own gossip-convergence table.
	if g, m := strings.Index(report, "## Gossip convergence\n"), strings.Index(report, "## Gossip convergence beside"); g < 0 || m < g ||
		strings.Contains(report[g:m], "\n## How each cost") {
		t.Errorf("the memberlist section is not right after the gossip convergence section (%d, %d)", g, m)
	}
	for _, f := range []string{"gossip-convergence.svg", "gossip-frames.svg"} {
		if info, err := os.Stat(filepath.Join(dir, f)); err != nil || info.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if t.Failed() {
		t.Logf("section:\n%s", section)
	}
}

// The raft section sets the join latency beside the idle round trip measured in the same run:
// writeRun gives N = 4 a join p50 of 4 ms and an idle round trip of a third of it.
func TestIdleRoundTripBesideTheJoin(t *testing.T) {
	report := renderMarkdown(t, writeRun(t, true))
	wantIn(t, "report", report,
		"| idle round trip (PING, p50) | 1.33 ms: the benchmark's process → the first node, over QUIC, 20 ms apart | – |",
		"| latency p50 ÷ idle round trip | 3.00 (#17's target: at most 2) | – |",
		"refnode's join at N = 4 takes 3.00 idle round trips (p50 4 ms; a PING to an idle node, p50 1.33 ms, in the same run).",
		// A raft.txt from before raftcmp reported percentiles of the new voter's wait: the mean.
		"| until the new member knows | – ms (p50): the joiner's first request → it took the elders' STABLESET | 9.80 ms (mean): AddVoter → the last of the 5 applied |",
	)
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
}

func TestMemberlistMissing(t *testing.T) {
	dir := writeRun(t, true)
	addGossip(t, dir, false)
	md := renderMarkdown(t, dir)
	if !strings.Contains(md, "## Gossip convergence beside hashicorp/memberlist\n\nNot in this run: there is no `memberlist.txt` (bench/memberlistcmp).") {
		t.Errorf("report.md does not say the memberlist comparison is missing:\n%s", md)
	}
	for _, f := range []string{"gossip-convergence.svg", "gossip-frames.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s drawn without memberlist.txt", f)
		}
	}
}

// A growth exponent fit over fewer sizes than measured, because some measured 0, says so: here
// N = 4 had no anti-entropy frame, and the fit reads only N = 8 and 16.
func TestGrowthSaysWhichSizesItFit(t *testing.T) {
	dir := writeRun(t, true)
	path := filepath.Join(dir, ClusterFile)
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zeroAtFour := strings.Replace(string(text), "\t 40 anti-entropy-frames", "\t 0 anti-entropy-frames", 1)
	if zeroAtFour == string(text) {
		t.Fatal("the fixture no longer has 40 anti-entropy frames at N = 4")
	}
	if err := os.WriteFile(path, []byte(zeroAtFour), 0o644); err != nil {
		t.Fatal(err)
	}
	md := renderMarkdown(t, dir)
	want := "| anti-entropy frames after healing | 0 | 160 | 1.00 | grows like N (fit over N = 8, 16 only; 0 or none at the other sizes) |"
	if !strings.Contains(md, want) {
		t.Errorf("report.md lacks %q:\n%s", want, md)
	}
	if strings.Count(md, "fit over N =") != 1 {
		t.Errorf("a row whose fit read every size says it left some out:\n%s", md)
	}
}

// raft measured at several sizes (BenchmarkRaftAddVoter/voters=N) is set beside refnode's
// decisions size by size, as ratios; a size only one side measured has no row.
func TestRaftBesideRefnodeSizeBySize(t *testing.T) {
	dir := writeRun(t, false)
	raft := "goos: linux\n" +
		"BenchmarkRaftAddVoter/voters=4-2 \t 30 \t 340000 ns/op \t 300000 latency-p50-ns \t 900000 latency-p99-ns \t 10000000 applied-p50-ns \t 16000000 applied-p99-ns \t 23.1 msgs/change \t 8 msgs-entries/change\n" +
		"BenchmarkRaftAddVoter/voters=16-2 \t 30 \t 2100000 ns/op \t 2000000 latency-p50-ns \t 4000000 latency-p99-ns \t 124 msgs/change \t 32 msgs-entries/change\n" +
		"BenchmarkRaftAddVoter/voters=32-2 \t 30 \t 4100000 ns/op \t 4000000 latency-p50-ns \t 8000000 latency-p99-ns \t 250 msgs/change \t 64 msgs-entries/change\n"
	if err := os.WriteFile(filepath.Join(dir, RaftFile), []byte(raft), 0o644); err != nil {
		t.Fatal(err)
	}
	joinerIn := "BenchmarkCluster/nodes=4/decisions-2 \t 1 \t 5 joiner-in-p50-ms \t 12 joiner-in-p99-ms \t 1.5 joiner-reach-p50-ms \t -0.5 joiner-told-p50-ms\n" +
		"BenchmarkCluster/nodes=16/decisions-2 \t 1 \t 7 joiner-in-p50-ms \t 14 joiner-in-p99-ms\n"
	appendTo(t, dir, ClusterFile, joinerIn)
	report := renderMarkdown(t, dir)
	wantIn(t, "report", report,
		"| latency p50 | 4 ms: first heard → every elder applied | 0.30 ms: AddVoter → committed and applied at the leader |",
		"| 4 | 4 / 8 | 4 / 8 | 0.30 / 0.90 | 13.33 | 8.89 | 13.33 | 8.89 |",
		"| 16 | 8 / 16 | 8 / 16 | 2 / 4 | 4.00 | 4.00 | 4.00 | 4.00 |",
		"| until the new member knows | 5 ms (p50): the joiner's first request → it took the elders' STABLESET | 10 ms (p50): AddVoter → the last of the 5 applied |",
		// What the new member waits: only where raft measured it (not at 16, an older raft.txt's line).
		"| 4 | 5 / 12 | 1.50 / 4 / -0.50 | 10 / 16 | 0.50 | 0.75 |",
	)
	_, section, _ := strings.Cut(report, "Size by size")
	section, _, _ = strings.Cut(section, "## ")
	if strings.Contains(section, "| 32 |") || strings.Contains(section, "| 8 |") {
		t.Errorf("a size only one side measured has a row:\n%s", section)
	}
	_, waits, _ := strings.Cut(report, "What the new member waits")
	waits, _, _ = strings.Cut(waits, "## ")
	if strings.Contains(waits, "| 16 |") {
		t.Errorf("a size raft measured no applied time for has a row:\n%s", waits)
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
}

// A run that measured the decisions from the subject's request says that a leave's latency
// starts, as a join's, at the first member hearing of it, and sets the two side by side from
// the request; a run before that keeps the definition it was measured with.
func TestLeaveAndJoinOnOneFooting(t *testing.T) {
	dir := writeRun(t, true)
	old := renderMarkdown(t, dir)
	if !strings.Contains(old, "a leave's (in this run, measured before the two were put on one footing) at the leaver's request") ||
		strings.Contains(old, "leave from request") {
		t.Errorf("a run without from-request figures is described as one with them:\n%s", old)
	}
	appendTo(t, dir, ClusterFile, "BenchmarkCluster/nodes=4/decisions-2 \t 1 \t 3.1 join-from-request-p50-ms \t 6.2 join-from-request-p99-ms \t 1.55 leave-from-request-p50-ms \t 2.5 leave-from-request-p99-ms\n")
	md := renderMarkdown(t, dir)
	wantIn(t, "report", md,
		"from the first member hearing of the change, for a join and a leave alike",
		"| N | join from request p50 ms | p99 | leave from request p50 ms | p99 | leave ÷ join, from request p50 | leave ÷ join, latency p50 |",
		// writeRun's N = 4 join and leave p50 are both 4 ms.
		"| 4 | 3.10 | 6.20 | 1.55 | 2.50 | 0.50× | 1.0× |",
		"| 8 | – | – | – | – | – | 1.0× |",
	)
	if t.Failed() {
		t.Logf("report:\n%s", md)
	}
}

// A run that split its decisions at every elder hearing and the first applying shows where the
// time goes, with the latency in one-way trips; a run without the split shows no such table.
func TestDecisionBreakdown(t *testing.T) {
	dir := writeRun(t, false)
	const header = "| N | half the idle round trip ms | join: every elder heard | first applied | last applied | one-way trips |"
	if md := renderMarkdown(t, dir); strings.Contains(md, header) || strings.Contains(md, "Where a decision's time goes") {
		t.Errorf("a run without the breakdown shows one:\n%s", md)
	}
	appendTo(t, dir, ClusterFile, "BenchmarkCluster/nodes=4/decisions-2 \t 1 \t 1.5 join-heard-p50-ms \t 2.5 join-first-applied-p50-ms \t 0.75 leave-heard-p50-ms \t 3.25 leave-first-applied-p50-ms\n")
	md := renderMarkdown(t, dir)
	wantIn(t, "report", md,
		header,
		// writeRun's N = 4: join and leave p50 4 ms, idle round trip 4/3 ms, so 6 one-way trips.
		"| 4 | 0.67 | 1.50 | 2.50 | 4 | 6.0 | 0.75 | 3.25 | 4 | 6.0 |",
		// N = 8: no breakdown measured, the trips still from its latency and round trip.
		"| 8 | 0.94 | – | – | 5.66 | 6.0 | – | – | 5.66 | 6.0 |",
	)
	if t.Failed() {
		t.Logf("report:\n%s", md)
	}
}

// raft with a process per node gets its own size-by-size table and row, beside the in-process
// one, and a raft.txt without it gets neither.
func TestRaftWithAProcessPerNode(t *testing.T) {
	dir := writeRun(t, false)
	raft := "goos: linux\n" +
		"BenchmarkRaftAddVoter/voters=4-2 \t 30 \t 340000 ns/op \t 400000 latency-p50-ns \t 1200000 latency-p99-ns \t 23.1 msgs/change \t 8 msgs-entries/change\n" +
		"BenchmarkRaftAddVoterProcesses/voters=4-2 \t 30 \t 700000 ns/op \t 800000 latency-p50-ns \t 1600000 latency-p99-ns \t 27.7 msgs/change \t 8 msgs-entries/change\n"
	if err := os.WriteFile(filepath.Join(dir, RaftFile), []byte(raft), 0o644); err != nil {
		t.Fatal(err)
	}
	report := renderMarkdown(t, dir)
	wantIn(t, "report", report,
		// writeRun's N = 4 join and leave: p50 4 ms, p99 8 ms.
		"| 4 | 4 / 8 | 4 / 8 | 0.40 / 1.20 | 10.00 | 6.67 | 10.00 | 6.67 |",
		"| N | refnode join p50 / p99 ms | refnode leave p50 / p99 ms | raft, a process per node p50 / p99 ms | join ÷ raft p50 | p99 | leave ÷ raft p50 | p99 |",
		"| 4 | 4 / 8 | 4 / 8 | 0.80 / 1.60 | 5.00 | 5.00 | 5.00 | 5.00 |",
		"| latency p50 / p99, a process per node | the same: refnode always runs a process per node | 0.80 / 1.60 ms (BenchmarkRaftAddVoterProcesses) |",
		"With every raft node in its own process, as refnode's are, raft commits that change in 0.80 ms (p50).",
	)
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
	if err := os.WriteFile(filepath.Join(dir, RaftFile), []byte(strings.SplitAfter(raft, "\n")[0]+strings.SplitAfter(raft, "\n")[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if report := renderMarkdown(t, dir); strings.Contains(report, "a process per node") || strings.Contains(report, "With every raft node in its own process") {
		t.Errorf("a raft.txt without the per-process benchmark shows it:\n%s", report)
	}
}

// raft over QUIC (raft-quic.txt) gets its own tables beside raft over TCP, with and without a
// process per node, and the TCP tables keep their figures.
func TestRaftOverQUIC(t *testing.T) {
	dir := writeRun(t, false)
	tcp := "goos: linux\n" +
		"BenchmarkRaftAddVoter/voters=4-2 \t 30 \t 340000 ns/op \t 400000 latency-p50-ns \t 1200000 latency-p99-ns \t 23.1 msgs/change \t 8 msgs-entries/change\n" +
		"BenchmarkRaftAddVoterProcesses/voters=4-2 \t 30 \t 700000 ns/op \t 800000 latency-p50-ns \t 1600000 latency-p99-ns \t 27.7 msgs/change \t 8 msgs-entries/change\n"
	quic := "goos: linux\nraft-transport: quic\n" +
		"BenchmarkRaftAddVoter/voters=4-2 \t 30 \t 500000 ns/op \t 500000 latency-p50-ns \t 2000000 latency-p99-ns \t 23.1 msgs/change \t 8 msgs-entries/change\n" +
		"BenchmarkRaftAddVoterProcesses/voters=4-2 \t 30 \t 900000 ns/op \t 1000000 latency-p50-ns \t 4000000 latency-p99-ns \t 27.7 msgs/change \t 8 msgs-entries/change\n"
	for file, text := range map[string]string{RaftFile: tcp, RaftQUICFile: quic} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := renderMarkdown(t, dir)
	// Each table's first row, under its header: writeRun's N = 4 join and leave are p50 4 ms,
	// p99 8 ms.
	for raft, row := range map[string]string{
		"raft, a process per node":           "| 4 | 4 / 8 | 4 / 8 | 0.80 / 1.60 | 5.00 | 5.00 | 5.00 | 5.00 |",
		"raft over QUIC, a process per node": "| 4 | 4 / 8 | 4 / 8 | 1 / 4 | 4.00 | 2.00 | 4.00 | 2.00 |",
		"raft over QUIC, one process":        "| 4 | 4 / 8 | 4 / 8 | 0.50 / 2 | 8.00 | 4.00 | 8.00 | 4.00 |",
	} {
		header := "| N | refnode join p50 / p99 ms | refnode leave p50 / p99 ms | " + raft + " p50 / p99 ms | join ÷ raft p50 | p99 | leave ÷ raft p50 | p99 |\n"
		i := strings.Index(report, header)
		if i < 0 {
			t.Errorf("no table headed %q", header)
			continue
		}
		if lines := strings.SplitN(report[i:], "\n", 4); len(lines) < 3 || lines[2] != row {
			t.Errorf("the table of %s starts %q, want %q", raft, lines[2], row)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
	if err := os.Remove(filepath.Join(dir, RaftQUICFile)); err != nil {
		t.Fatal(err)
	}
	if report := renderMarkdown(t, dir); strings.Contains(report, "raft over QUIC, a process per node") || strings.Contains(report, "raft over QUIC, one process") {
		t.Errorf("a run without %s shows raft over QUIC:\n%s", RaftQUICFile, report)
	}
}

// memberlist with a process per node gets its own table and growth line beside the in-process
// one; the in-process table keeps its figures.
func TestMemberlistWithAProcessPerNode(t *testing.T) {
	dir := writeRun(t, true)
	addGossip(t, dir, true)
	appendTo(t, dir, MemberlistFile, "BenchmarkJoinConvergenceProcesses/nodes=8-2 \t 1 \t 900 converge-max-ms \t 200 converge-p50-ms \t 1.000 converged \t 20 gossip-frames \t 20.00 runs\n"+
		"BenchmarkJoinConvergenceProcesses/nodes=16-2 \t 1 \t 1000 converge-max-ms \t 400 converge-p50-ms \t 0.5000 converged \t 80 gossip-frames \t 20.00 runs\n")
	report := renderMarkdown(t, dir)
	section := report[strings.Index(report, "## Gossip convergence beside hashicorp/memberlist"):]
	section = section[:strings.Index(section, "\n## ")]
	wantIn(t, "memberlist section", section,
		"| 8 | 5 of 5 | 920 / 1500 | 60 | 20 of 20 | 400 / 51040 | 40 | 2.3× | 1.5× |",
		"| N | refnode converged | refnode p50 / max ms | refnode frames | memberlist, a process per node converged | memberlist, a process per node p50 / max ms | memberlist, a process per node messages | p50 ratio | frames ratio |",
		"| 8 | 5 of 5 | 920 / 1500 | 60 | 20 of 20 | 200 / 900 | 20 | 4.6× | 3.0× |",
		"| 16 | 4 of 5 | 1200 / 3000 | 130 | 10 of 20 | 400 / 1000 | 80 | 3.0× | 1.6× |",
		"- hashicorp/memberlist, a process per node: messages grow as N^2.00 over N = 8, 16", // log2(80/20)
		"memberlist runs all N nodes in one process (in the first table; in the second, each in its own), over UDP",
	)
	if t.Failed() {
		t.Logf("section:\n%s", section)
	}
}

// refnode's time until every node knew every other is set beside memberlist's convergence, which
// is judged by that alone.
func TestKnownBesideMemberlist(t *testing.T) {
	dir := writeRun(t, true)
	addGossip(t, dir, true)
	appendTo(t, dir, ClusterFile, "BenchmarkCluster/nodes=8/gossip-convergence-2 \t 1 \t 600 known-p50-ms\n")
	report := renderMarkdown(t, dir)
	// N = 8: known 600 ms, converged 920, memberlist 400 (no per-process result).
	if want := "| 8 | 600 | 920 | 400 | 1.5× | – | – |"; !strings.Contains(report, want) {
		t.Errorf("report lacks %q:\n%s", want, report)
	}
	if strings.Contains(report, "| 16 | – | 1200 |") {
		t.Error("a size without known-p50-ms has a row in the known table")
	}
}

// appendTo appends text to the run file name in dir, as a later benchmark run would.
func appendTo(t *testing.T, dir, name, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(text)
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
}

// wantIn reports each of wants that text, named what in the message, lacks.
func wantIn(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", what, want)
		}
	}
}
