package raftcmp

import (
	"flag"
	"fmt"
	"os"
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

// TestAddVoter checks the measured path: after AddVoter every node, the new one included, has a
// configuration with 5 voters, and the counter saw the configuration entry go out in an
// AppendEntries.
func TestAddVoter(t *testing.T) {
	c, err := NewCluster(4)
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
// loopback TCP, for each N in -raft.voters (sub-benchmarks voters=N). Every iteration starts a
// fresh, stable N-voter cluster (not timed), then times leader.AddVoter(nN+1) until its future
// returns (ns/op: the leader has committed and applied the configuration entry), and counts the
// messages between the nodes from just before AddVoter until all N+1 nodes have applied the
// entry.
func BenchmarkRaftAddVoter(b *testing.B) {
	var sizes []int
	for _, f := range strings.Split(*votersFlag, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			b.Fatalf("-raft.voters: %q is not a number of voters", f)
		}
		sizes = append(sizes, v)
	}
	for _, v := range sizes {
		b.Run(fmt.Sprintf("voters=%d", v), func(b *testing.B) { benchmarkAddVoter(b, v) })
	}
}

func benchmarkAddVoter(b *testing.B, voters int) {
	b.StopTimer()
	var (
		commits, applied                      []time.Duration
		msgs, nonHeartbeat, entries, backgrnd int64
	)
	for i := 0; i < b.N; i++ {
		c, err := NewCluster(voters)
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
		commits = append(commits, s.Commit)
		applied = append(applied, s.AllApplied)
		msgs += s.Msgs.Total()
		nonHeartbeat += s.Msgs.NonHeartbeat()
		entries += s.Msgs.WithEntries()
		backgrnd += s.Background.Total()
	}
	perOp := func(v int64) float64 { return float64(v) / float64(b.N) }
	b.ReportMetric(float64(mean(applied).Nanoseconds()), "applied-ns/op")
	// What the new voter waited, as refnode's joiner-in: until every node, it included, applied.
	b.ReportMetric(float64(percentile(applied, 50).Nanoseconds()), "applied-p50-ns")
	b.ReportMetric(float64(percentile(applied, 99).Nanoseconds()), "applied-p99-ns")
	b.ReportMetric(float64(percentile(commits, 50).Nanoseconds()), "latency-p50-ns")
	b.ReportMetric(float64(percentile(commits, 99).Nanoseconds()), "latency-p99-ns")
	b.ReportMetric(perOp(msgs), "msgs/change")
	b.ReportMetric(perOp(nonHeartbeat), "msgs-nonheartbeat/change")
	b.ReportMetric(perOp(entries), "msgs-entries/change")
	b.ReportMetric(perOp(backgrnd), "msgs-idle/change")
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
