package raftcmp

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// defaultBenchtime replaces go test's default -benchtime=1s when -benchtime is not given. Each
// iteration builds a fresh 4-node cluster (about 100 ms, mostly the first election), but only
// the change itself (about 1 ms) is timed, so the time-based default would ask for ~1000
// iterations per sample. A fixed count keeps `-count 6` well under a minute.
const defaultBenchtime = "30x"

// votersFlag lists the cluster sizes a voter is added to: sskit's report compares refnode's
// join at N nodes with raft's AddVoter at N voters, for each N both measured.
var votersFlag = flag.String("raft.voters", "4,16", "comma-separated numbers of voters before the change")

// transportFlag chooses the stream layer under raft's NetworkTransport in both benchmarks:
// loopback TCP, as raft ships it, or QUIC, as refnode sends its frames (see quic.go), so that
// the part of the gap between the two that is the transport shows.
var transportFlag = flag.String("raft.transport", string(TransportTCP), "raft's transport in the benchmarks: tcp or quic")

// nodeProcessEnv, set to 1 in a child's environment, makes the test binary run one raft node
// (ServeNodeProcess) instead of the tests: the per-process benchmark re-executes itself so.
// transportEnv tells that child its transport (TransportKind; empty means tcp).
const (
	nodeProcessEnv = "RAFTCMP_NODE_PROCESS"
	transportEnv   = "RAFTCMP_TRANSPORT"
)

func TestMain(m *testing.M) {
	if os.Getenv(nodeProcessEnv) == "1" {
		// Before m.Run, so that the testing package writes nothing to stdout, which carries the
		// node's replies.
		if err := serveNodeProcess(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	transport, err := ParseTransportKind(*transportFlag)
	if err != nil {
		fmt.Fprintf(os.Stderr, "-raft.transport: %v\n", err)
		os.Exit(2)
	}
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// A configuration line of the benchmark format (benchfmt reads it as a label), so that
		// the output says which transport its results are from.
		fmt.Printf("raft-transport: %s\n", transport)
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.benchtime" })
	if !set {
		if err := flag.Set("test.benchtime", defaultBenchtime); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// serveNodeProcess runs this process as one node over the transport transportEnv names.
func serveNodeProcess() error {
	kind := TransportTCP
	if v := os.Getenv(transportEnv); v != "" {
		var err error
		if kind, err = ParseTransportKind(v); err != nil {
			return err
		}
	}
	return ServeNodeProcess(os.Stdin, os.Stdout, kind)
}

// transports are the stream layers the tests run raft over.
var transports = []TransportKind{TransportTCP, TransportQUIC}

// benchTransport is -raft.transport (TestMain has checked it).
func benchTransport(b *testing.B) TransportKind {
	kind, err := ParseTransportKind(*transportFlag)
	if err != nil {
		b.Fatal(err)
	}
	return kind
}

// quicDials returns the QUIC streams (raft's connections) this process has opened and accepted
// so far.
func quicDials() (dials, accepts int64) {
	return quicStats.streams.Load(), quicStats.accepts.Load()
}

// checkQUICUse fails t unless raft's connections went over QUIC exactly when kind is QUIC: at
// least minDials QUIC streams opened and accepted since d0 and a0 (from quicDials), or none.
func checkQUICUse(t *testing.T, kind TransportKind, d0, a0, minDials int64) {
	t.Helper()
	d1, a1 := quicDials()
	d, a := d1-d0, a1-a0
	switch kind {
	case TransportQUIC:
		if d < minDials || a < minDials {
			t.Errorf("over QUIC: %d streams opened and %d accepted, want at least %d each", d, a, minDials)
		}
	default:
		if d != 0 || a != 0 {
			t.Errorf("over %s: %d QUIC streams opened and %d accepted, want none", kind, d, a)
		}
	}
	t.Logf("QUIC streams: %d opened, %d accepted", d, a)
}

// checkNoGoroutineLeak registers a cleanup that fails t unless the number of goroutines falls
// back to what it is now within a few seconds.
func checkNoGoroutineLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines left, %d before:\n%s", n, before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestAddVoter checks the measured path, over TCP and over QUIC: after AddVoter every node, the
// new one included, has a configuration with 5 voters, and the counter saw the configuration
// entry go out in an AppendEntries. Over QUIC it also checks that the traffic went over QUIC
// and that shutting the cluster down leaves no goroutine behind.
func TestAddVoter(t *testing.T) {
	for _, kind := range transports {
		t.Run(string(kind), func(t *testing.T) { testAddVoter(t, kind) })
	}
}

func testAddVoter(t *testing.T, kind TransportKind) {
	if kind == TransportQUIC {
		checkNoGoroutineLeak(t)
	}
	d0, a0 := quicDials()
	c, err := NewCluster(4, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	n, err := c.NewNode("n5")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.AddVoter(n, nil, true)
	if err != nil {
		_ = n.Raft.Shutdown().Error()
		t.Fatal(err)
	}
	if len(c.Nodes) != 5 {
		t.Fatalf("cluster has %d nodes, want 5", len(c.Nodes))
	}
	for _, m := range c.Nodes {
		conf, err := m.Configuration()
		if err != nil {
			t.Fatalf("%s: %v", m.ID, err)
		}
		if v := Voters(conf); v != 5 {
			t.Errorf("%s: configuration has %d voters, want 5: %+v", m.ID, v, conf.Servers)
		}
		if !slices.ContainsFunc(conf.Servers, func(s raft.Server) bool {
			return s.ID == n.ID && s.Address == n.Addr && s.Suffrage == raft.Voter
		}) {
			t.Errorf("%s: configuration lacks voter %s at %s: %+v", m.ID, n.ID, n.Addr, conf.Servers)
		}
		if m.Raft.AppliedIndex() < s.Index {
			t.Errorf("%s: applied index %d < configuration entry %d", m.ID, m.Raft.AppliedIndex(), s.Index)
		}
	}
	if s.Msgs.ConfigAppends < 1 {
		t.Errorf("no AppendEntries carrying the configuration entry was counted: %+v", s.Msgs)
	}
	if s.Msgs.Req[EntriesAppend] < 1 || s.Msgs.Resp[EntriesAppend] < 1 {
		t.Errorf("no AppendEntries with entries (request and response) was counted: %+v", s.Msgs)
	}
	if s.Msgs.Total() != s.Msgs.NonHeartbeat()+s.Msgs.Msgs(Heartbeat) {
		t.Errorf("inconsistent counts: %+v", s.Msgs)
	}
	t.Logf("index %d, commit %v, all applied %v, window %v", s.Index, s.Commit, s.AllApplied, s.Window)
	for k := range numKinds {
		t.Logf("%-15s req %3d resp %3d   (background: req %3d resp %3d)", k, s.Msgs.Req[k], s.Msgs.Resp[k], s.Background.Req[k], s.Background.Resp[k])
	}
	t.Logf("AppendEntries carrying the configuration entry: %d", s.Msgs.ConfigAppends)
	// The leader dialed each of the 4 others at least once.
	checkQUICUse(t, kind, d0, a0, 4)
}

// TestAddVoterProcesses is TestAddVoter with every node in its own OS process, over TCP and
// over QUIC: after AddVoter the 5 processes have each applied the configuration entry and hold
// a configuration with 5 voters, and the summed counters saw the configuration entry go out in
// an AppendEntries. Every process says which transport it runs over, and NewProcessCluster and
// NewNode refuse one that runs over another.
func TestAddVoterProcesses(t *testing.T) {
	for _, kind := range transports {
		t.Run(string(kind), func(t *testing.T) { testAddVoterProcesses(t, kind) })
	}
}

func testAddVoterProcesses(t *testing.T, kind TransportKind) {
	c, err := NewProcessCluster(4, kind, nodeProcessCommand(kind))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	n, err := c.NewNode("n5")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.AddVoter(n, nil, true)
	if err != nil {
		n.Stop()
		t.Fatal(err)
	}
	if len(c.Nodes) != 5 {
		t.Fatalf("cluster has %d node processes, want 5", len(c.Nodes))
	}
	pids := map[int]raft.ServerID{os.Getpid(): "the test"}
	for _, p := range c.Nodes {
		if other, ok := pids[p.Pid()]; ok {
			t.Errorf("%s runs in the process of %s (pid %d)", p.ID, other, p.Pid())
		}
		pids[p.Pid()] = p.ID
		if p.Transport != kind {
			t.Errorf("%s runs over %q, want %q", p.ID, p.Transport, kind)
		}
		if idx, _, _ := p.applied.last(); idx < s.Index {
			t.Errorf("%s: last configuration entry applied %d < %d", p.ID, idx, s.Index)
		}
		conf, err := p.Configuration()
		if err != nil {
			t.Fatal(err)
		}
		if v := Voters(conf); v != 5 {
			t.Errorf("%s: configuration has %d voters, want 5: %+v", p.ID, v, conf.Servers)
		}
		if !slices.ContainsFunc(conf.Servers, func(s raft.Server) bool {
			return s.ID == n.ID && s.Address == n.Addr && s.Suffrage == raft.Voter
		}) {
			t.Errorf("%s: configuration lacks voter %s at %s: %+v", p.ID, n.ID, n.Addr, conf.Servers)
		}
	}
	if s.Commit <= 0 || s.AllApplied <= 0 {
		t.Errorf("commit %v and all applied %v should both be positive", s.Commit, s.AllApplied)
	}
	if s.Msgs.ConfigAppends < 1 {
		t.Errorf("no AppendEntries carrying the configuration entry was counted: %+v", s.Msgs)
	}
	if s.Msgs.Req[EntriesAppend] < 1 || s.Msgs.Resp[EntriesAppend] < 1 {
		t.Errorf("no AppendEntries with entries (request and response) was counted: %+v", s.Msgs)
	}
	t.Logf("index %d, commit %v, all applied %v, window %v", s.Index, s.Commit, s.AllApplied, s.Window)
	for k := range numKinds {
		t.Logf("%-15s req %3d resp %3d   (background: req %3d resp %3d)", k, s.Msgs.Req[k], s.Msgs.Resp[k], s.Background.Req[k], s.Background.Resp[k])
	}
}

// TestClassifyAppend pins the heartbeat rule to raft's request shapes.
func TestClassifyAppend(t *testing.T) {
	for _, tc := range []struct {
		req  raft.AppendEntriesRequest
		want Kind
	}{
		{raft.AppendEntriesRequest{Term: 2}, Heartbeat},
		{raft.AppendEntriesRequest{Term: 2, PrevLogEntry: 3, PrevLogTerm: 2, LeaderCommitIndex: 3}, EmptyAppend},
		{raft.AppendEntriesRequest{Term: 2, LeaderCommitIndex: 2}, EmptyAppend},
		{raft.AppendEntriesRequest{Term: 2, Entries: []*raft.Log{{Index: 1}}}, EntriesAppend},
	} {
		if got := ClassifyAppend(&tc.req); got != tc.want {
			t.Errorf("ClassifyAppend(%+v) = %v, want %v", tc.req, got, tc.want)
		}
	}
}

// BenchmarkRaftAddVoter measures "add one voter to an N-node cluster" with hashicorp/raft over
// loopback TCP (or QUIC with -raft.transport=quic), for each N in -raft.voters (sub-benchmarks
// voters=N). Every iteration starts a fresh, stable N-voter cluster (not timed), then times
// leader.AddVoter(nN+1) until its future returns (ns/op: the leader has committed and applied
// the configuration entry), and counts the messages between the nodes from just before
// AddVoter until all N+1 nodes have applied the entry.
func BenchmarkRaftAddVoter(b *testing.B) {
	for _, v := range voterSizes(b) {
		b.Run(fmt.Sprintf("voters=%d", v), func(b *testing.B) { benchmarkAddVoter(b, v) })
	}
}

func benchmarkAddVoter(b *testing.B, voters int) {
	b.StopTimer()
	kind := benchTransport(b)
	var st changeStats
	for i := 0; i < b.N; i++ {
		c, err := NewCluster(voters, kind)
		if err != nil {
			b.Fatal(err)
		}
		n, err := c.NewNode(raft.ServerID(fmt.Sprintf("n%d", voters+1)))
		if err != nil {
			c.Shutdown()
			b.Fatal(err)
		}
		s, err := c.AddVoter(n, b, true)
		if err != nil {
			_ = n.Raft.Shutdown().Error()
			c.Shutdown()
			b.Fatal(err)
		}
		c.Shutdown()
		st.add(s)
	}
	st.report(b)
}

// BenchmarkRaftAddVoterProcesses is BenchmarkRaftAddVoter with every raft node in its own OS
// process (the test binary re-executed, see TestMain), as refnode runs one process per node.
// Starting the processes and the cluster is not timed. ns/op is reported, not timed: it is the
// mean commit latency measured inside the leader's process, as ns/op is in
// BenchmarkRaftAddVoter. The timer only runs while the parent waits for the leader's reply, so
// that a time-based -benchtime still picks a sane b.N; B/op and allocs/op are the parent's and
// mean nothing.
func BenchmarkRaftAddVoterProcesses(b *testing.B) {
	for _, v := range voterSizes(b) {
		b.Run(fmt.Sprintf("voters=%d", v), func(b *testing.B) { benchmarkAddVoterProcesses(b, v) })
	}
}

func benchmarkAddVoterProcesses(b *testing.B, voters int) {
	b.StopTimer()
	kind := benchTransport(b)
	var st changeStats
	for i := 0; i < b.N; i++ {
		s, err := addVoterInProcesses(voters, kind, b)
		if err != nil {
			b.Fatal(err)
		}
		st.add(s)
	}
	st.report(b)
	b.ReportMetric(float64(mean(st.commits).Nanoseconds()), "ns/op")
}

// addVoterInProcesses adds a node process to a fresh cluster of voters node processes over
// transport and stops them all again.
func addVoterInProcesses(voters int, transport TransportKind, t Timer) (Sample, error) {
	c, err := NewProcessCluster(voters, transport, nodeProcessCommand(transport))
	if err != nil {
		return Sample{}, err
	}
	defer c.Shutdown()
	n, err := c.NewNode(raft.ServerID(fmt.Sprintf("n%d", voters+1)))
	if err != nil {
		return Sample{}, err
	}
	s, err := c.AddVoter(n, t, true)
	if err != nil {
		n.Stop()
	}
	return s, err
}

// nodeProcessCommand returns a command that re-executes the test binary as one raft node over
// transport.
func nodeProcessCommand(transport TransportKind) func() *exec.Cmd {
	return func() *exec.Cmd {
		self, err := os.Executable()
		if err != nil {
			self = os.Args[0]
		}
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), nodeProcessEnv+"=1", transportEnv+"="+string(transport))
		return cmd
	}
}

// voterSizes parses -raft.voters.
func voterSizes(b *testing.B) []int {
	var sizes []int
	for _, f := range strings.Split(*votersFlag, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			b.Fatalf("-raft.voters: %q is not a number of voters", f)
		}
		sizes = append(sizes, v)
	}
	return sizes
}

// changeStats collects the Samples of one sub-benchmark and reports the metrics both AddVoter
// benchmarks share.
type changeStats struct {
	commits, applied                  []time.Duration
	msgs, nonHeartbeat, entries, idle int64
}

func (st *changeStats) add(s Sample) {
	st.commits = append(st.commits, s.Commit)
	st.applied = append(st.applied, s.AllApplied)
	st.msgs += s.Msgs.Total()
	st.nonHeartbeat += s.Msgs.NonHeartbeat()
	st.entries += s.Msgs.WithEntries()
	st.idle += s.Background.Total()
}

func (st *changeStats) report(b *testing.B) {
	perOp := func(v int64) float64 { return float64(v) / float64(b.N) }
	b.ReportMetric(float64(mean(st.applied).Nanoseconds()), "applied-ns/op")
	// What the new voter waited, as refnode's joiner-in: until every node, it included, applied.
	b.ReportMetric(float64(percentile(st.applied, 50).Nanoseconds()), "applied-p50-ns")
	b.ReportMetric(float64(percentile(st.applied, 99).Nanoseconds()), "applied-p99-ns")
	b.ReportMetric(float64(percentile(st.commits, 50).Nanoseconds()), "latency-p50-ns")
	b.ReportMetric(float64(percentile(st.commits, 99).Nanoseconds()), "latency-p99-ns")
	b.ReportMetric(perOp(st.msgs), "msgs/change")
	b.ReportMetric(perOp(st.nonHeartbeat), "msgs-nonheartbeat/change")
	b.ReportMetric(perOp(st.entries), "msgs-entries/change")
	b.ReportMetric(perOp(st.idle), "msgs-idle/change")
}

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return sum / time.Duration(len(d))
}

// percentile returns the nearest-rank p-th percentile of d (sorting d).
func percentile(d []time.Duration, p int) time.Duration {
	slices.Sort(d)
	i := (p*len(d)+99)/100 - 1
	return d[max(i, 0)]
}
