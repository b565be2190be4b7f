// Package raftcmp measures one membership change, "add one voter to a 4-node cluster", with
// hashicorp/raft over loopback TCP (or QUIC, see quic.go), so that sskit's witness consensus can
// be compared with it.
//
// Each node runs raft.NewRaft with in-memory log, stable and snapshot stores and a
// raft.NewTCPTransport on 127.0.0.1 (port 0), or the same NetworkTransport over QUIC, wrapped
// in a CountingTransport that counts every RPC request and response between the nodes. The FSM implements raft.ConfigurationStore, so
// each node records the moment it applies a committed configuration entry; that gives the time
// until all nodes have applied the new configuration without polling.
//
// See README.md for what is measured and the caveats.
package raftcmp

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Raft timing used by every node. Small, so that a cluster elects a leader in about 100 ms.
const (
	HeartbeatTimeout   = 50 * time.Millisecond
	ElectionTimeout    = 50 * time.Millisecond
	LeaderLeaseTimeout = 50 * time.Millisecond
	CommitTimeout      = 5 * time.Millisecond

	// waitTimeout bounds every wait for the cluster (leader election, apply).
	waitTimeout = 10 * time.Second
)

// Config returns the raft configuration of node id: the timing constants above, a silent
// logger, and snapshots effectively disabled.
func Config(id raft.ServerID) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = id
	c.HeartbeatTimeout = HeartbeatTimeout
	c.ElectionTimeout = ElectionTimeout
	c.LeaderLeaseTimeout = LeaderLeaseTimeout
	c.CommitTimeout = CommitTimeout
	c.SnapshotInterval = time.Hour
	c.SnapshotThreshold = 1 << 30
	c.Logger = hclog.NewNullLogger()
	return c
}

// Timer is the part of testing.B that Cluster.AddVoter uses to time only the change itself.
type Timer interface {
	StartTimer()
	StopTimer()
}

// Node is one raft server of a Cluster.
type Node struct {
	ID    raft.ServerID
	Addr  raft.ServerAddress
	Raft  *raft.Raft
	Trans *CountingTransport
	fsm   *fsm
	logs  *raft.InmemStore
	snaps raft.SnapshotStore
}

// Cluster is a set of raft nodes on loopback that share one message Counter.
type Cluster struct {
	Counter *Counter
	Nodes   []*Node
	// Transport is the stream layer every node's raft.NetworkTransport runs over.
	Transport TransportKind
}

// NewNode starts a raft node listening on 127.0.0.1 (a free port) whose transport counts into
// c.Counter. The node is not part of any configuration: it waits to be added with AddVoter.
func (c *Cluster) NewNode(id raft.ServerID) (*Node, error) {
	nt, err := newTransport(c.Transport)
	if err != nil {
		return nil, err
	}
	return startNode(id, nt, nil, c.Counter)
}

// newTransport listens on a free loopback port, TCP or UDP (QUIC) as kind says. Both kinds are
// a raft.NetworkTransport with the same configuration (transportConfig); only the stream layer
// differs.
func newTransport(kind TransportKind) (*raft.NetworkTransport, error) {
	switch kind {
	case TransportTCP:
		return raft.NewTCPTransportWithConfig("127.0.0.1:0", nil, transportConfig())
	case TransportQUIC:
		return newQUICTransport()
	}
	return nil, fmt.Errorf("raftcmp: unknown transport %q", kind)
}

// transportConfig is the raft.NetworkTransportConfig of every node; newQUICTransport sets its
// Stream.
func transportConfig() *raft.NetworkTransportConfig {
	return &raft.NetworkTransportConfig{
		MaxPool: 3,
		Timeout: time.Second,
		Logger:  hclog.NewNullLogger(),
		// Pipelining is refused by CountingTransport anyway; say so here too.
		MaxRPCsInFlight: 1,
	}
}

// startNode starts raft node id on transport nt, counting its messages into counter and
// bootstrapping it with conf if conf is not nil. Both a Cluster and a node process (process.go)
// build their nodes with it, so the two benchmarks run the same node.
func startNode(id raft.ServerID, nt *raft.NetworkTransport, conf *raft.Configuration, counter *Counter) (*Node, error) {
	n := &Node{
		ID:    id,
		Addr:  nt.LocalAddr(),
		Trans: NewCountingTransport(nt, counter),
		fsm:   newFSM(),
		logs:  raft.NewInmemStore(),
		snaps: raft.NewInmemSnapshotStore(),
	}
	if conf != nil {
		if err := raft.BootstrapCluster(Config(id), n.logs, n.logs, n.snaps, n.Trans, *conf); err != nil {
			_ = nt.Close()
			return nil, fmt.Errorf("bootstrap %s: %w", id, err)
		}
	}
	var err error
	n.Raft, err = raft.NewRaft(Config(id), n.fsm, n.logs, n.logs, n.snaps, n.Trans)
	if err != nil {
		_ = nt.Close()
		return nil, fmt.Errorf("start %s: %w", id, err)
	}
	return n, nil
}

// NewCluster starts voters raft nodes n1..nN on loopback over transport, bootstraps them as one
// configuration and waits until the cluster is stable: one leader, and every node follows it and
// has applied the leader's whole log (the bootstrap configuration and the leader's no-op).
func NewCluster(voters int, transport TransportKind) (*Cluster, error) {
	c := &Cluster{Counter: new(Counter), Transport: transport}
	// Listen first: the bootstrap configuration needs every address.
	var conf raft.Configuration
	nts := make([]*raft.NetworkTransport, voters)
	for i := range voters {
		nt, err := newTransport(transport)
		if err != nil {
			closeAll(nts)
			return nil, err
		}
		nts[i] = nt
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(fmt.Sprintf("n%d", i+1)),
			Address:  nt.LocalAddr(),
		})
	}
	for i, s := range conf.Servers {
		n, err := startNode(s.ID, nts[i], &conf, c.Counter)
		nts[i] = nil // owned by the node now (or closed)
		if err != nil {
			closeAll(nts)
			c.Shutdown()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	if _, err := c.WaitStable(waitTimeout); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

func closeAll(nts []*raft.NetworkTransport) {
	for _, nt := range nts {
		if nt != nil {
			_ = nt.Close()
		}
	}
}

// WaitStable waits until exactly one node is leader, every node follows it, and every node has
// applied the leader's last log index. It returns the leader.
func (c *Cluster) WaitStable(timeout time.Duration) (*Node, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l := c.stableLeader(); l != nil {
			return l, nil
		}
		time.Sleep(time.Millisecond)
	}
	return nil, errors.New("raftcmp: cluster did not become stable")
}

func (c *Cluster) stableLeader() *Node {
	var leader *Node
	for _, n := range c.Nodes {
		if n.Raft.State() == raft.Leader {
			if leader != nil {
				return nil
			}
			leader = n
		}
	}
	if leader == nil {
		return nil
	}
	last := leader.Raft.LastIndex()
	for _, n := range c.Nodes {
		if _, id := n.Raft.LeaderWithID(); id != leader.ID {
			return nil
		}
		if n.Raft.AppliedIndex() < last {
			return nil
		}
	}
	return leader
}

// Leader returns the current leader, or nil.
func (c *Cluster) Leader() *Node {
	for _, n := range c.Nodes {
		if n.Raft.State() == raft.Leader {
			return n
		}
	}
	return nil
}

// Sample is the measurement of one membership change.
type Sample struct {
	// Index is the log index of the configuration entry.
	Index uint64
	// Commit is the time from calling AddVoter on the leader until its future returned, i.e.
	// until the leader committed the entry and applied it to its FSM.
	Commit time.Duration
	// AllApplied is the time from calling AddVoter until the last node (including the new one)
	// applied the configuration entry.
	AllApplied time.Duration
	// Window is the length of the counting window: from just before AddVoter until every node
	// had applied the entry and the waiting goroutine noticed.
	Window time.Duration
	// Msgs are the messages between the nodes in Window.
	Msgs Counts
	// Background are the messages in a second, idle window of the same length right after
	// Window, with nothing changing: raft's steady-state traffic of the 5-node cluster.
	// It is only measured when AddVoter is asked to.
	Background Counts
}

// AddVoter adds n, a node made with NewNode, as a voter through the current leader and waits
// until every node, n included, has applied the new configuration. If t is not nil, it is
// started just before AddVoter and stopped as soon as the future returns. If background is set,
// it then counts the messages of an idle window as long as the measured one. On success n joins
// c.Nodes.
func (c *Cluster) AddVoter(n *Node, t Timer, background bool) (Sample, error) {
	var s Sample
	leader := c.Leader()
	if leader == nil {
		return s, errors.New("raftcmp: no leader")
	}
	before := c.Counter.Snapshot()
	if t != nil {
		// testing.B's StartTimer and StopTimer read memory statistics (stopping the world),
		// so keep them outside of the measured interval.
		t.StartTimer()
	}
	start := time.Now()
	f := leader.Raft.AddVoter(n.ID, n.Addr, 0, 0)
	err := f.Error()
	s.Commit = time.Since(start)
	if t != nil {
		t.StopTimer()
	}
	if err != nil {
		return s, fmt.Errorf("raftcmp: AddVoter: %w", err)
	}
	s.Index = f.Index()
	all := append(c.Nodes[:len(c.Nodes):len(c.Nodes)], n)
	var last time.Time
	for _, m := range all {
		at, err := m.fsm.waitIndex(s.Index, start.Add(waitTimeout))
		if err != nil {
			return s, fmt.Errorf("raftcmp: %s: %w", m.ID, err)
		}
		if at.After(last) {
			last = at
		}
	}
	s.Msgs = c.Counter.Snapshot().Sub(before)
	s.Window = time.Since(start)
	s.AllApplied = last.Sub(start)
	c.Nodes = all
	if background {
		b0 := c.Counter.Snapshot()
		time.Sleep(s.Window)
		s.Background = c.Counter.Snapshot().Sub(b0)
	}
	return s, nil
}

// Configuration returns node n's latest configuration.
func (n *Node) Configuration() (raft.Configuration, error) {
	f := n.Raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, err
	}
	return f.Configuration(), nil
}

// Shutdown stops every node (in parallel) and closes their transports.
func (c *Cluster) Shutdown() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Go(func() { _ = n.Raft.Shutdown().Error() })
	}
	wg.Wait()
	c.Nodes = nil
}

// Voters returns the number of voters in conf.
func Voters(conf raft.Configuration) int {
	v := 0
	for _, s := range conf.Servers {
		if s.Suffrage == raft.Voter {
			v++
		}
	}
	return v
}

// fsm is a state machine without state. It implements raft.ConfigurationStore to record when
// this node applies each committed configuration entry.
type fsm struct {
	appliedConfig
}

var _ raft.ConfigurationStore = (*fsm)(nil)

func newFSM() *fsm { return &fsm{appliedConfig{changed: make(chan struct{})}} }

func (f *fsm) Apply(*raft.Log) any { return nil }

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return emptySnapshot{}, nil }

func (f *fsm) Restore(rc io.ReadCloser) error { return rc.Close() }

func (f *fsm) StoreConfiguration(index uint64, _ raft.Configuration) {
	f.record(index, time.Now())
}

// appliedConfig is the last configuration entry a node applied and when. A node's fsm keeps it,
// and so does the parent's handle of a node process, from what the process reports.
type appliedConfig struct {
	mu      sync.Mutex
	index   uint64        // index of the last configuration entry applied
	at      time.Time     // when it was applied
	changed chan struct{} // closed and replaced on every record
}

// record notes that the configuration entry at index was applied at time at.
func (a *appliedConfig) record(index uint64, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.index, a.at = index, at
	close(a.changed)
	a.changed = make(chan struct{})
}

// last returns the last entry recorded, when it was applied, and a channel closed by the next
// record.
func (a *appliedConfig) last() (index uint64, at time.Time, changed <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.index, a.at, a.changed
}

// waitIndex waits until a configuration entry at index or later was applied and returns when.
func (a *appliedConfig) waitIndex(index uint64, deadline time.Time) (time.Time, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		idx, at, ch := a.last()
		if idx >= index {
			return at, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return time.Time{}, fmt.Errorf("configuration entry %d not applied (last %d)", index, idx)
		}
	}
}

type emptySnapshot struct{}

func (emptySnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (emptySnapshot) Release()                             {}
