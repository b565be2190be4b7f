package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/montanaflynn/stats"
	"golang.org/x/perf/benchfmt"
)

// The files of a run directory.
const (
	ClusterFile    = "cluster.txt"    // go test -bench output of bench/cluster
	RaftFile       = "raft.txt"       // go test -bench output of bench/raftcmp
	RaftQUICFile   = "raft-quic.txt"  // the same with -raft.transport=quic: raft over QUIC, as refnode's frames
	MemberlistFile = "memberlist.txt" // go test -bench output of bench/memberlistcmp
	SamplesFile    = "decisions.csv"  // one row per decision, written by bench/cluster
	MachineFile    = "MACHINE.md"     // where and how the run was made
)

// metricKey names one reported value of the cluster benchmarks.
type metricKey struct {
	Experiment string // decisions, concurrent, anti-entropy
	Nodes      int
	Unit       string
}

// sizeUnit names one reported value of a benchmark with one sub-benchmark per size.
type sizeUnit struct {
	Nodes int
	Unit  string
}

// sample is one row of SamplesFile.
type sample struct {
	Nodes       int
	Experiment  string // the sub-benchmark: decisions or concurrent
	Kind        string // JOIN or LEAVE
	LatencyMs   float64
	ElderFrames int
}

// Run is everything a run directory holds.
type Run struct {
	Dir string
	// cluster holds every value reported per key; several with go test -count.
	cluster map[metricKey][]float64
	// sizes are the cluster sizes measured, ascending.
	sizes []int
	// raft holds BenchmarkRaftAddVoter's values per number of voters before the change and unit,
	// as go test wrote them (ns, not sec).
	raft map[sizeUnit][]float64
	// raftProcs holds BenchmarkRaftAddVoterProcesses's values the same way: the same change with
	// every raft node in its own process, as refnode runs its nodes.
	raftProcs map[sizeUnit][]float64
	// raftQUIC and raftQUICProcs are the same two over QUIC (RaftQUICFile), the transport refnode
	// sends every frame over, so that the transport can be told from the protocol.
	raftQUIC, raftQUICProcs map[sizeUnit][]float64
	// memberlist holds BenchmarkJoinConvergence's values per size and unit (bench/memberlistcmp).
	memberlist map[sizeUnit][]float64
	// memberlistProcs holds BenchmarkJoinConvergenceProcesses's: every memberlist node in its own
	// process, as refnode runs its nodes.
	memberlistProcs map[sizeUnit][]float64
	samples         []sample
	// config is the cluster file's configuration (goos, goarch, cpu, pkg).
	config  map[string]string
	machine string
}

// Load reads a run directory. The cluster benchmark output is required; the raft and memberlist
// comparisons, the samples and the machine description are shown when present.
func Load(dir string) (*Run, error) {
	r := &Run{Dir: dir, cluster: map[metricKey][]float64{}, raft: map[sizeUnit][]float64{}, raftProcs: map[sizeUnit][]float64{},
		raftQUIC: map[sizeUnit][]float64{}, raftQUICProcs: map[sizeUnit][]float64{},
		memberlist: map[sizeUnit][]float64{}, memberlistProcs: map[sizeUnit][]float64{}, config: map[string]string{}}
	if err := r.loadCluster(filepath.Join(dir, ClusterFile)); err != nil {
		return nil, err
	}
	if err := loadRaft(filepath.Join(dir, RaftFile), r.raft, r.raftProcs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := loadRaft(filepath.Join(dir, RaftQUICFile), r.raftQUIC, r.raftQUICProcs); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := r.loadMemberlist(filepath.Join(dir, MemberlistFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := r.loadSamples(filepath.Join(dir, SamplesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, MachineFile)); err == nil {
		r.machine = string(b)
	}
	return r, nil
}

// results calls f for every benchmark result in file.
func results(file string, f func(*benchfmt.Result)) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	br := benchfmt.NewReader(bytes.NewReader(data), file)
	for br.Scan() {
		if res, ok := br.Result().(*benchfmt.Result); ok {
			f(res)
		}
	}
	return br.Err()
}

func (r *Run) loadCluster(file string) error {
	sizes := map[int]bool{}
	err := results(file, func(res *benchfmt.Result) {
		base, parts := res.Name.Parts()
		if string(base) != "Cluster" || len(parts) < 2 {
			return
		}
		nodes, err := strconv.Atoi(strings.TrimPrefix(string(parts[0]), "/nodes="))
		if err != nil {
			return
		}
		exp := strings.TrimPrefix(string(parts[1]), "/")
		sizes[nodes] = true
		for _, cfg := range res.Config {
			if cfg.File {
				r.config[cfg.Key] = string(cfg.Value)
			}
		}
		for _, v := range res.Values {
			unit, value := original(v)
			k := metricKey{exp, nodes, unit}
			r.cluster[k] = append(r.cluster[k], value)
		}
	})
	if err != nil {
		return err
	}
	if len(sizes) == 0 {
		return fmt.Errorf("%s: no BenchmarkCluster results", file)
	}
	for n := range sizes {
		r.sizes = append(r.sizes, n)
	}
	slices.Sort(r.sizes)
	return nil
}

// original is a value as go test reported it, in its unit: benchfmt turns "ns" into "sec" and
// scales the value, and the report keeps go test's units.
func original(v benchfmt.Value) (unit string, value float64) {
	if v.OrigUnit != "" {
		return v.OrigUnit, v.OrigValue
	}
	return v.Unit, v.Value
}

// raftVoters is the size the raft section's first table compares with refnode's join at N = 4,
// and the size of a raft result that names none, as bench/raftcmp wrote before it measured more.
const raftVoters = 4

// loadRaft reads BenchmarkRaftAddVoter/voters=N of bench/raftcmp into oneProcess, and
// BenchmarkRaftAddVoterProcesses/voters=N into procs; a result without a size added a voter to
// raftVoters.
func loadRaft(file string, oneProcess, procs map[sizeUnit][]float64) error {
	return results(file, func(res *benchfmt.Result) {
		base, parts := res.Name.Parts()
		into := oneProcess
		switch string(base) {
		case "RaftAddVoter":
		case "RaftAddVoterProcesses":
			into = procs
		default:
			return
		}
		voters := raftVoters
		for _, p := range parts {
			if v, ok := strings.CutPrefix(string(p), "/voters="); ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					return
				}
				voters = n
			}
		}
		k := sizeUnit{voters, "iterations"}
		into[k] = append(into[k], float64(res.Iters))
		for _, v := range res.Values {
			unit, value := original(v)
			k := sizeUnit{voters, unit}
			into[k] = append(into[k], value)
		}
	})
}

// loadMemberlist reads BenchmarkJoinConvergence/nodes=N of bench/memberlistcmp into
// r.memberlist, and BenchmarkJoinConvergenceProcesses/nodes=N into r.memberlistProcs.
func (r *Run) loadMemberlist(file string) error {
	return results(file, func(res *benchfmt.Result) {
		base, parts := res.Name.Parts()
		into := r.memberlist
		switch string(base) {
		case "JoinConvergence":
		case "JoinConvergenceProcesses":
			into = r.memberlistProcs
		default:
			return
		}
		if len(parts) < 1 {
			return
		}
		nodes, err := strconv.Atoi(strings.TrimPrefix(string(parts[0]), "/nodes="))
		if err != nil {
			return
		}
		for _, v := range res.Values {
			unit, value := original(v)
			k := sizeUnit{nodes, unit}
			into[k] = append(into[k], value)
		}
	})
}

func (r *Run) loadSamples(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, need := range []string{"nodes", "experiment", "kind", "latency_ms", "elder_frames"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("%s: no column %q", file, need)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		var s sample
		var errs [3]error
		s.Nodes, errs[0] = strconv.Atoi(rec[col["nodes"]])
		s.LatencyMs, errs[1] = strconv.ParseFloat(rec[col["latency_ms"]], 64)
		s.ElderFrames, errs[2] = strconv.Atoi(rec[col["elder_frames"]])
		if err := errors.Join(errs[:]...); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		s.Experiment, s.Kind = rec[col["experiment"]], rec[col["kind"]]
		r.samples = append(r.samples, s)
	}
}

// Name is the run's name: its directory's, or the name of the directory a link (such as
// results/bench/latest) points at.
func (r *Run) Name() string {
	if resolved, err := filepath.EvalSymlinks(r.Dir); err == nil {
		return filepath.Base(resolved)
	}
	return filepath.Base(r.Dir)
}

// value is the median of the values reported for k over every run of the benchmark, and how
// many there were.
func (r *Run) value(exp string, nodes int, unit string) (float64, int) {
	return median(r.cluster[metricKey{exp, nodes, unit}])
}

// raftValue is raft's value at raftVoters.
func (r *Run) raftValue(unit string) (float64, int) { return r.raftValueAt(raftVoters, unit) }

func (r *Run) raftValueAt(voters int, unit string) (float64, int) {
	return median(r.raft[sizeUnit{voters, unit}])
}

// raftSizes are the numbers of voters raft added one to, ascending.
func (r *Run) raftSizes() []int { return sizesOf(r.raft) }

// sizesOf returns the sizes values holds, ascending.
func sizesOf(values map[sizeUnit][]float64) []int {
	set := map[int]bool{}
	for k := range values {
		set[k.Nodes] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// gossipSide is one of the gossip convergence results the report compares.
type gossipSide int

const (
	refnodeGossip       gossipSide = iota // bench/cluster's gossip-convergence
	memberlistInProcess                   // bench/memberlistcmp, every node in one process
	memberlistProcesses                   // bench/memberlistcmp, a process per node
)

// gossipValue is the side's median value of unit at nodes, and how many values there were.
func (r *Run) gossipValue(side gossipSide, nodes int, unit string) (float64, int) {
	if side == refnodeGossip {
		return r.value("gossip-convergence", nodes, unit)
	}
	return median(r.memberlistValues(side)[sizeUnit{nodes, unit}])
}

// memberlistValues is the memberlist side's values: r.memberlist or r.memberlistProcs.
func (r *Run) memberlistValues(side gossipSide) map[sizeUnit][]float64 {
	if side == memberlistProcesses {
		return r.memberlistProcs
	}
	return r.memberlist
}

// memberlistValue is the median of the values memberlist.txt reports for unit at nodes, and how
// many there were.
func (r *Run) memberlistValue(nodes int, unit string) (float64, int) {
	return median(r.memberlist[sizeUnit{nodes, unit}])
}

func median(vs []float64) (float64, int) {
	if len(vs) == 0 {
		return 0, 0
	}
	m, _ := stats.Median(vs)
	return m, len(vs)
}

// latencies returns the sorted latencies of kind in experiment at nodes.
func (r *Run) latencies(exp string, nodes int, kind string) []float64 {
	var out []float64
	for _, s := range r.samples {
		if s.Experiment == exp && s.Nodes == nodes && s.Kind == kind {
			out = append(out, s.LatencyMs)
		}
	}
	slices.Sort(out)
	return out
}

// runs is how many times BenchmarkCluster ran at nodes (go test -count).
func (r *Run) runs(nodes int) int {
	_, n := r.value("decisions", nodes, "msgs/decision")
	return n
}
