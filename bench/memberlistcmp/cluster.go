// Package memberlistcmp measures how fast hashicorp/memberlist's gossip converges after a
// crowd of nodes joins through one node, and what it sends on the way, so that sskit's
// neighborhood gossip (bench/cluster, gossip-convergence) can be compared with it.
//
// All nodes of a Cluster run in this one process; a ProcessCluster (process.go) runs the same
// nodes one per OS process. Each is a memberlist with memberlist.DefaultLANConfig and a
// memberlist.NetTransport on 127.0.0.1 (a free port), wrapped in a CountingTransport that counts
// every UDP packet and every TCP stream the node sends and refuses anything not addressed to
// 127.0.0.1. An EventDelegate wakes the waiter whenever a node's member list changes, so
// convergence is noticed when it happens rather than at the next poll.
//
// See README.md for what is measured and the caveats.
package memberlistcmp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// fallbackPoll bounds how long a change can go unnoticed. Every change that adds a member to a
// node's list fires an event, so this only matters when a suspected node refutes the suspicion,
// which memberlist does not report.
const fallbackPoll = 10 * time.Millisecond

// clusterSeq makes node names unique across the clusters of one process, so a late packet from
// a node of an earlier cluster can never be taken for a member of the current one.
var clusterSeq atomic.Int64

// Config returns the configuration of node name: memberlist's LAN defaults, silent, on transport
// t, advertising the address t listens on, and reporting member changes to events.
func Config(name string, t *CountingTransport, events memberlist.EventDelegate) *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	c.Name = name
	// With a custom Transport memberlist binds nothing itself, but it still uses BindPort as
	// the port of nodes that announce none, so it must be the real one.
	c.BindAddr = Loopback
	c.BindPort = t.Port()
	c.AdvertisePort = t.Port()
	// AdvertiseAddr stays empty: the transport then advertises the address it is bound to.
	c.Transport = t
	c.Events = events
	c.LogOutput = io.Discard
	return c
}

// Node is one memberlist of a Cluster.
type Node struct {
	Name string
	// Addr is the host:port the node listens on (UDP and TCP) and others join it through.
	Addr string
	List *memberlist.Memberlist
}

// Cluster is a set of memberlist nodes on loopback that share one message Counter. The nodes
// are created alone: none knows any other until Converge has them join.
type Cluster struct {
	Counter *Counter
	Nodes   []*Node
	// changed receives (without blocking, so it holds at most one wakeup) whenever any node's
	// member list changes.
	changed chan struct{}
}

// NewNode starts memberlist node name on loopback, alone, counting what it sends in counter and
// reporting its member changes to events.
func NewNode(name string, counter *Counter, events memberlist.EventDelegate) (*Node, error) {
	t, err := NewCountingTransport(counter)
	if err != nil {
		return nil, err
	}
	list, err := memberlist.Create(Config(name, t, events))
	if err != nil {
		_ = t.Shutdown()
		return nil, fmt.Errorf("memberlistcmp: create %s: %w", name, err)
	}
	addr := net.JoinHostPort(Loopback, strconv.Itoa(t.Port()))
	return &Node{Name: name, Addr: addr, List: list}, nil
}

// nodeName is the name of node i (from 0) of the cluster numbered seq.
func nodeName(seq int64, i int) string { return fmt.Sprintf("c%d-n%d", seq, i+1) }

// NewCluster starts n memberlist nodes on loopback, none joined to any other.
func NewCluster(n int) (*Cluster, error) {
	c := &Cluster{Counter: new(Counter), changed: make(chan struct{}, 1)}
	seq := clusterSeq.Add(1)
	for i := range n {
		node, err := NewNode(nodeName(seq, i), c.Counter, wakeup(c.changed))
		if err != nil {
			c.Shutdown()
			return nil, err
		}
		c.Nodes = append(c.Nodes, node)
	}
	return c, nil
}

// Result is one run of Converge.
type Result struct {
	// Converged is false when the nodes had not converged by the deadline; Time is then the
	// time waited, and Missing says what was still missing.
	Converged bool
	Time      time.Duration
	// Msgs is what every node sent from just before the joins until convergence (or the
	// deadline).
	Msgs    Counts
	Missing string
}

// Converge has every node but the first join through the first at once (one goroutine each),
// and waits until every node lists all nodes of the cluster, itself included, as alive: the
// membership a cluster whose nodes all joined through one node converges to. The nodes must not
// have joined before. A failed Join is an error, not a run that did not converge.
func (c *Cluster) Converge(deadline time.Duration) (Result, error) {
	first := c.Nodes[0]
	select { // drop the wakeup of the nodes' own creation
	case <-c.changed:
	default:
	}
	before := c.Counter.Snapshot()
	start := time.Now()
	joins := make(chan error, len(c.Nodes)-1)
	for _, n := range c.Nodes[1:] {
		go func() {
			_, err := n.List.Join([]string{first.Addr})
			if err != nil {
				err = fmt.Errorf("%s joining %s: %w", n.Name, first.Addr, err)
			}
			joins <- err
		}()
	}
	var joinErrs []error
	var out Result
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
	poll := time.NewTicker(fallbackPoll)
	defer poll.Stop()
wait:
	for {
		if c.converged() {
			out.Time = time.Since(start)
			out.Converged = true
			break
		}
		select {
		case <-c.changed:
		case <-poll.C:
		case err := <-joins:
			joinErrs = append(joinErrs, err)
			if err != nil {
				break wait
			}
		case <-timeout.C:
			out.Time = time.Since(start)
			out.Missing = c.missing()
			break wait
		}
	}
	out.Msgs = c.Counter.Snapshot().Sub(before)
	// Every Join returns once its push/pull is done (within TCPTimeout), usually before
	// convergence; wait for the rest so that Shutdown does not cut one short.
	for len(joinErrs) < len(c.Nodes)-1 {
		joinErrs = append(joinErrs, <-joins)
	}
	return out, errors.Join(joinErrs...)
}

// converged reports whether every node lists every node of the cluster as alive. NumMembers is
// cheap (a count under a read lock), so the states are read only once every node has the full
// count.
func (c *Cluster) converged() bool {
	want := len(c.Nodes)
	for _, n := range c.Nodes {
		if n.List.NumMembers() != want {
			return false
		}
	}
	for _, n := range c.Nodes {
		if n.AliveMembers() != want {
			return false
		}
	}
	return true
}

// missing says what keeps the nodes from having converged, or "" once they have: the nodes that
// do not list every node of the cluster as alive.
func (c *Cluster) missing() string {
	states := make([]memberState, len(c.Nodes))
	for i, n := range c.Nodes {
		states[i] = memberState{Name: n.Name, Members: n.List.NumMembers(), Alive: n.AliveMembers()}
	}
	return describeMissing(states, len(c.Nodes))
}

// memberState is what one node lists: how many members, and how many of them as alive.
type memberState struct {
	Name           string
	Members, Alive int
}

// describeMissing says which of the nodes do not list all want members as alive, or "" if
// every one does. While some node lists too few members, only those are named; the nodes that
// list all but hold some as suspect are named once none lists too few.
func describeMissing(nodes []memberState, want int) string {
	var short []string
	for _, n := range nodes {
		if n.Members != want {
			short = append(short, fmt.Sprintf("%s lists %d of %d", n.Name, n.Members, want))
		}
	}
	if len(short) == 0 {
		for _, n := range nodes {
			if n.Alive != want {
				short = append(short, fmt.Sprintf("%s holds %d of %d alive (the rest suspect)", n.Name, n.Alive, want))
			}
		}
	}
	slices.Sort(short)
	if len(short) > 8 {
		short = append(short[:8], fmt.Sprintf("and %d more nodes", len(short)-8))
	}
	return strings.Join(short, "; ")
}

// AliveMembers returns how many members n lists as alive.
func (n *Node) AliveMembers() int {
	alive := 0
	for _, m := range n.List.Members() {
		if m.State == memberlist.StateAlive {
			alive++
		}
	}
	return alive
}

// Shutdown stops every node (in parallel) without leaving: the cluster is thrown away.
func (c *Cluster) Shutdown() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Go(func() { _ = n.List.Shutdown() })
	}
	wg.Wait()
	c.Nodes = nil
}

// wakeup is a memberlist.EventDelegate that signals a channel on every member change. memberlist
// calls it with its node lock held, so it must neither block nor call back into the memberlist.
type wakeup chan struct{}

func (w wakeup) signal() {
	select {
	case w <- struct{}{}:
	default:
	}
}

func (w wakeup) NotifyJoin(*memberlist.Node)   { w.signal() }
func (w wakeup) NotifyLeave(*memberlist.Node)  { w.signal() }
func (w wakeup) NotifyUpdate(*memberlist.Node) { w.signal() }
