package raftcmp

// One raft node per OS process. A Cluster runs all its nodes in one process, where a message
// between two nodes is a hop between goroutines. sskit's refnode runs one process per node, and
// on a small machine a hop between processes costs much more, so ProcessCluster runs the same
// node (startNode) in a process of its own for the like-for-like figure.
//
// The parent drives each node process over the process's stdin and stdout, one JSON object per
// line. The process first writes the address it listens on and its transport. Then it answers each request
// (nodeRequest) with one reply, in order, and between replies it pushes a report whenever it has
// applied a configuration entry. It exits when its stdin ends, so a parent that dies leaves no
// node processes behind.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

const (
	// statePollInterval is the pause between two rounds of asking every node process for its
	// state while waiting for a stable cluster (raft pushes no "applied the whole log" event).
	statePollInterval = 2 * time.Millisecond
	// stopTimeout bounds how long a node process may take to exit once its stdin is closed
	// before it is killed.
	stopTimeout = 5 * time.Second
)

// nodeOp names a request from the parent to a node process.
type nodeOp string

const (
	opStart         nodeOp = "start"         // start raft as ID, bootstrapped with Bootstrap if any
	opState         nodeOp = "state"         // report raft state, leader, last and applied index
	opAddVoter      nodeOp = "add-voter"     // (to the leader) AddVoter(ID, Addr) and time it
	opCounts        nodeOp = "counts"        // report the messages this node has sent so far
	opConfiguration nodeOp = "configuration" // report this node's latest configuration
)

// nodeRequest is one line from the parent to a node process.
type nodeRequest struct {
	Op nodeOp
	// ID is the node itself for opStart, the new voter for opAddVoter.
	ID raft.ServerID `json:",omitempty"`
	// Addr is the new voter's address for opAddVoter.
	Addr raft.ServerAddress `json:",omitempty"`
	// Bootstrap is the initial configuration for opStart; empty for a node that waits to be
	// added.
	Bootstrap []raft.Server `json:",omitempty"`
}

// nodeMessage is one line from a node process to the parent: a reply, or a pushed report.
type nodeMessage struct {
	Reply   *nodeReply     `json:",omitempty"`
	Applied *appliedReport `json:",omitempty"`
}

// appliedReport says that the node applied the configuration entry at Index at AtUnixNano.
// All node processes run on one machine, so their wall clocks agree.
type appliedReport struct {
	Index      uint64
	AtUnixNano int64
}

// nodeReply answers one request; the first one, sent unasked, carries Addr and Transport. Error
// is set if the request failed.
type nodeReply struct {
	Error     string             `json:",omitempty"`
	Addr      raft.ServerAddress `json:",omitempty"`
	Transport TransportKind      `json:",omitempty"`

	// opState
	State        string        `json:",omitempty"`
	Leader       raft.ServerID `json:",omitempty"`
	LastIndex    uint64        `json:",omitempty"`
	AppliedIndex uint64        `json:",omitempty"`

	// opAddVoter: AddVoter was called at StartUnixNano (wall clock), and its future returned
	// Commit later with the configuration entry at Index.
	StartUnixNano int64         `json:",omitempty"`
	Commit        time.Duration `json:",omitempty"`
	Index         uint64        `json:",omitempty"`

	Counts  *Counts       `json:",omitempty"` // opCounts
	Servers []raft.Server `json:",omitempty"` // opConfiguration
}

// ServeNodeProcess runs one raft node in this process for a parent that drives it through in
// and out (see the top of this file). It listens on 127.0.0.1 at once over transport, writes the
// address, and returns when in ends. The node is not shut down: the caller is expected to exit,
// which closes its sockets, and a raft shutdown would only delay that.
func ServeNodeProcess(in io.Reader, out io.Writer, transport TransportKind) error {
	nt, err := newTransport(transport)
	if err != nil {
		return fmt.Errorf("raftcmp node process: %w", err)
	}
	s := &nodeServer{
		nt:      nt,
		counter: new(Counter),
		out:     &messageWriter{enc: json.NewEncoder(out)},
		done:    make(chan struct{}),
	}
	defer close(s.done)
	if err := s.out.reply(nodeReply{Addr: nt.LocalAddr(), Transport: transport}); err != nil {
		return fmt.Errorf("raftcmp node process: %w", err)
	}
	dec := json.NewDecoder(in)
	for {
		var req nodeRequest
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("raftcmp node process: reading a request: %w", err)
		}
		if err := s.out.reply(s.handle(req)); err != nil {
			return fmt.Errorf("raftcmp node process: %w", err)
		}
	}
}

// nodeServer is the node process's side: one node, started by opStart.
type nodeServer struct {
	nt      *raft.NetworkTransport // listening before opStart; the node's afterwards
	counter *Counter               // this node's messages only; the parent sums all nodes
	node    *Node
	out     *messageWriter
	done    chan struct{} // closed when ServeNodeProcess returns
}

func (s *nodeServer) handle(req nodeRequest) nodeReply {
	if s.node == nil && req.Op != opStart {
		return nodeReply{Error: fmt.Sprintf("%q before %q", req.Op, opStart)}
	}
	switch req.Op {
	case opStart:
		if s.node != nil {
			return nodeReply{Error: "started twice"}
		}
		var conf *raft.Configuration
		if len(req.Bootstrap) > 0 {
			conf = &raft.Configuration{Servers: req.Bootstrap}
		}
		n, err := startNode(req.ID, s.nt, conf, s.counter)
		if err != nil {
			return nodeReply{Error: err.Error()}
		}
		s.node = n
		go s.pushApplied()
		return nodeReply{}
	case opState:
		r := s.node.Raft
		_, leader := r.LeaderWithID()
		return nodeReply{State: r.State().String(), Leader: leader, LastIndex: r.LastIndex(), AppliedIndex: r.AppliedIndex()}
	case opAddVoter:
		start := time.Now()
		f := s.node.Raft.AddVoter(req.ID, req.Addr, 0, 0)
		err := f.Error()
		commit := time.Since(start)
		if err != nil {
			return nodeReply{Error: fmt.Sprintf("AddVoter: %v", err)}
		}
		return nodeReply{StartUnixNano: start.UnixNano(), Commit: commit, Index: f.Index()}
	case opCounts:
		c := s.counter.Snapshot()
		return nodeReply{Counts: &c}
	case opConfiguration:
		conf, err := s.node.Configuration()
		if err != nil {
			return nodeReply{Error: fmt.Sprintf("configuration: %v", err)}
		}
		return nodeReply{Servers: conf.Servers}
	}
	return nodeReply{Error: fmt.Sprintf("unknown request %q", req.Op)}
}

// pushApplied reports every configuration entry the node applies, as soon as it is applied.
// It runs beside raft's FSM goroutine rather than in StoreConfiguration, so that writing to the
// parent does not delay the apply (and with it the leader's AddVoter future).
func (s *nodeServer) pushApplied() {
	var reported uint64
	for {
		index, at, changed := s.node.fsm.last()
		if index > reported {
			if s.out.write(nodeMessage{Applied: &appliedReport{Index: index, AtUnixNano: at.UnixNano()}}) != nil {
				return
			}
			reported = index
		}
		select {
		case <-changed:
		case <-s.done:
			return
		}
	}
}

// messageWriter writes whole lines from the request loop and pushApplied.
type messageWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *messageWriter) write(m nodeMessage) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(m)
}

func (w *messageWriter) reply(r nodeReply) error { return w.write(nodeMessage{Reply: &r}) }

// NodeProcess is the parent's handle of one node process.
type NodeProcess struct {
	ID   raft.ServerID
	Addr raft.ServerAddress
	// Transport is the stream layer the process says its node runs over.
	Transport TransportKind

	cmd      *exec.Cmd
	stdin    io.WriteCloser
	enc      *json.Encoder
	replies  chan nodeReply // the reply to the one request in flight
	ended    chan struct{}  // closed when the process's stdout ended
	endErr   error          // why it ended (io.EOF when the process exited); set before ended closes
	stopping chan struct{}  // closed by Stop
	stopOnce sync.Once
	// applied is the last configuration entry the process reported applied.
	applied appliedConfig
}

// spawnNodeProcess starts cmd, which must run ServeNodeProcess, as node id. Its address is
// known after awaitAddr.
func spawnNodeProcess(cmd *exec.Cmd, id raft.ServerID) (*NodeProcess, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("raftcmp: node process %s: %w", id, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("raftcmp: node process %s: %w", id, err)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr // a node's panic shows in the parent's output
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("raftcmp: starting node process %s: %w", id, err)
	}
	p := &NodeProcess{
		ID:       id,
		cmd:      cmd,
		stdin:    stdin,
		enc:      json.NewEncoder(stdin),
		replies:  make(chan nodeReply, 1),
		ended:    make(chan struct{}),
		stopping: make(chan struct{}),
		applied:  appliedConfig{changed: make(chan struct{})},
	}
	go p.read(stdout)
	return p, nil
}

// read dispatches the process's lines: pushed reports to p.applied, replies to p.replies.
func (p *NodeProcess) read(stdout io.Reader) {
	defer close(p.ended)
	dec := json.NewDecoder(stdout)
	for {
		var m nodeMessage
		if err := dec.Decode(&m); err != nil {
			p.endErr = err
			return
		}
		if a := m.Applied; a != nil {
			p.applied.record(a.Index, time.Unix(0, a.AtUnixNano))
		}
		if m.Reply != nil {
			select {
			case p.replies <- *m.Reply:
			case <-p.stopping:
				return
			}
		}
	}
}

// awaitAddr waits for the address the process listens on and checks that it listens over
// transport.
func (p *NodeProcess) awaitAddr(transport TransportKind) error {
	r, err := p.recv()
	if err != nil {
		return err
	}
	if r.Addr == "" {
		return fmt.Errorf("raftcmp: node process %s: first line carries no address", p.ID)
	}
	p.Addr, p.Transport = r.Addr, r.Transport
	if r.Transport != transport {
		return fmt.Errorf("raftcmp: node process %s runs over %q, want %q", p.ID, r.Transport, transport)
	}
	return nil
}

func (p *NodeProcess) send(req nodeRequest) error {
	if err := p.enc.Encode(req); err != nil {
		return fmt.Errorf("raftcmp: node process %s: sending %q: %w", p.ID, req.Op, err)
	}
	return nil
}

// recv waits for the reply to the request in flight.
func (p *NodeProcess) recv() (nodeReply, error) {
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	var r nodeReply
	select {
	case r = <-p.replies:
	case <-p.ended:
		select {
		case r = <-p.replies:
		default:
			return r, fmt.Errorf("raftcmp: node process %s ended: %v", p.ID, p.endErr)
		}
	case <-timer.C:
		return r, fmt.Errorf("raftcmp: node process %s did not answer within %v", p.ID, waitTimeout)
	}
	if r.Error != "" {
		return r, fmt.Errorf("raftcmp: node process %s: %s", p.ID, r.Error)
	}
	return r, nil
}

func (p *NodeProcess) call(req nodeRequest) (nodeReply, error) {
	if err := p.send(req); err != nil {
		return nodeReply{}, err
	}
	return p.recv()
}

// callAll sends req to every process before it collects the replies, so that the processes
// answer at the same time rather than one round trip after another. After an error the
// processes are out of step with their replies and must be stopped.
func callAll(ps []*NodeProcess, req nodeRequest) ([]nodeReply, error) {
	for _, p := range ps {
		if err := p.send(req); err != nil {
			return nil, err
		}
	}
	return recvAll(ps)
}

func recvAll(ps []*NodeProcess) ([]nodeReply, error) {
	replies := make([]nodeReply, len(ps))
	for i, p := range ps {
		r, err := p.recv()
		if err != nil {
			return nil, err
		}
		replies[i] = r
	}
	return replies, nil
}

// Configuration returns the process's latest raft configuration.
func (p *NodeProcess) Configuration() (raft.Configuration, error) {
	r, err := p.call(nodeRequest{Op: opConfiguration})
	return raft.Configuration{Servers: r.Servers}, err
}

// Pid returns the process id.
func (p *NodeProcess) Pid() int { return p.cmd.Process.Pid }

// Stop closes the process's stdin, which makes it exit, and kills it if it has not exited
// within stopTimeout. It waits for the process either way.
func (p *NodeProcess) Stop() {
	p.stopOnce.Do(func() {
		close(p.stopping)
		_ = p.stdin.Close()
		exited := make(chan struct{})
		go func() {
			_ = p.cmd.Wait() // also closes stdout, which ends read
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-exited
		}
	})
}

// ProcessCluster is a raft cluster whose every node runs in its own OS process, made by
// command (the process must run ServeNodeProcess over Transport). Each process counts the
// messages its node sends; the cluster sums them.
type ProcessCluster struct {
	Nodes []*NodeProcess
	// Transport is the stream layer every node process must report running over.
	Transport TransportKind
	command   func() *exec.Cmd
}

// NewProcessCluster starts voters node processes n1..nN, bootstraps them as one configuration
// and waits until the cluster is stable, as NewCluster does. command must start a process that
// runs ServeNodeProcess over transport; a process that reports another transport is an error.
func NewProcessCluster(voters int, transport TransportKind, command func() *exec.Cmd) (*ProcessCluster, error) {
	c := &ProcessCluster{Transport: transport, command: command}
	// Start every process before waiting for any, so that they start up in parallel.
	for i := range voters {
		p, err := spawnNodeProcess(command(), raft.ServerID(fmt.Sprintf("n%d", i+1)))
		if err != nil {
			c.Shutdown()
			return nil, err
		}
		c.Nodes = append(c.Nodes, p)
	}
	var conf []raft.Server
	for _, p := range c.Nodes {
		if err := p.awaitAddr(transport); err != nil {
			c.Shutdown()
			return nil, err
		}
		conf = append(conf, raft.Server{Suffrage: raft.Voter, ID: p.ID, Address: p.Addr})
	}
	for _, p := range c.Nodes {
		if err := p.send(nodeRequest{Op: opStart, ID: p.ID, Bootstrap: conf}); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if _, err := recvAll(c.Nodes); err != nil {
		c.Shutdown()
		return nil, err
	}
	if _, err := c.WaitStable(waitTimeout); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

// NewNode starts a node process id without any configuration: it waits to be added with
// AddVoter. It is not one of c.Nodes until then; stop it if AddVoter is not called or fails.
func (c *ProcessCluster) NewNode(id raft.ServerID) (*NodeProcess, error) {
	p, err := spawnNodeProcess(c.command(), id)
	if err != nil {
		return nil, err
	}
	if err := p.awaitAddr(c.Transport); err != nil {
		p.Stop()
		return nil, err
	}
	if _, err := p.call(nodeRequest{Op: opStart, ID: id}); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// WaitStable waits until exactly one node is leader, every node follows it, and every node has
// applied the leader's last log index. It returns the leader.
func (c *ProcessCluster) WaitStable(timeout time.Duration) (*NodeProcess, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		states, err := callAll(c.Nodes, nodeRequest{Op: opState})
		if err != nil {
			return nil, err
		}
		if i := stableLeader(states); i >= 0 {
			return c.Nodes[i], nil
		}
		time.Sleep(statePollInterval)
	}
	return nil, errors.New("raftcmp: process cluster did not become stable")
}

// stableLeader returns the index of the leader in states if the cluster is stable, else -1.
func stableLeader(states []nodeReply) int {
	leader := leaderIn(states)
	if leader < 0 {
		return -1
	}
	for i, s := range states {
		if s.State == raft.Leader.String() && i != leader {
			return -1 // a second leader
		}
	}
	for _, s := range states {
		if s.Leader != states[leader].Leader || s.AppliedIndex < states[leader].LastIndex {
			return -1
		}
	}
	return leader
}

func leaderIn(states []nodeReply) int {
	for i, s := range states {
		if s.State == raft.Leader.String() {
			return i
		}
	}
	return -1
}

// Leader returns the current leader, or nil.
func (c *ProcessCluster) Leader() (*NodeProcess, error) {
	states, err := callAll(c.Nodes, nodeRequest{Op: opState})
	if err != nil {
		return nil, err
	}
	if i := leaderIn(states); i >= 0 {
		return c.Nodes[i], nil
	}
	return nil, nil
}

// counts returns the sum of the message counts of ps.
func counts(ps []*NodeProcess) (Counts, error) {
	var sum Counts
	replies, err := callAll(ps, nodeRequest{Op: opCounts})
	if err != nil {
		return sum, err
	}
	for i, r := range replies {
		if r.Counts == nil {
			return sum, fmt.Errorf("raftcmp: node process %s: counts missing", ps[i].ID)
		}
		sum = sum.Add(*r.Counts)
	}
	return sum, nil
}

// AddVoter adds n, a node process made with NewNode, as a voter through the current leader and
// waits until every node process, n included, has reported applying the new configuration, as
// Cluster.AddVoter does. The differences:
//   - Commit is timed inside the leader's process. If t is not nil, it runs while the parent
//     waits for the leader's reply, which adds two pipe hops to the commit.
//   - AllApplied is the last apply time a process reported minus the leader's start time.
//   - The message counts are collected from every process, so each node's counting window
//     starts when its "before" request reaches it and ends when its "after" request does.
//     Window is the time between sending the two.
//
// On success n joins c.Nodes.
func (c *ProcessCluster) AddVoter(n *NodeProcess, t Timer, background bool) (Sample, error) {
	var s Sample
	leader, err := c.Leader()
	if err != nil {
		return s, err
	}
	if leader == nil {
		return s, errors.New("raftcmp: no leader")
	}
	all := append(c.Nodes[:len(c.Nodes):len(c.Nodes)], n)
	windowStart := time.Now()
	before, err := counts(all)
	if err != nil {
		return s, err
	}
	if t != nil {
		t.StartTimer()
	}
	r, err := leader.call(nodeRequest{Op: opAddVoter, ID: n.ID, Addr: n.Addr})
	if t != nil {
		t.StopTimer()
	}
	if err != nil {
		return s, err
	}
	s.Index, s.Commit = r.Index, r.Commit
	start := time.Unix(0, r.StartUnixNano)
	var last time.Time
	for _, p := range all {
		at, err := p.applied.waitIndex(s.Index, start.Add(waitTimeout))
		if err != nil {
			return s, fmt.Errorf("raftcmp: node process %s: %w", p.ID, err)
		}
		if at.After(last) {
			last = at
		}
	}
	s.Window = time.Since(windowStart)
	after, err := counts(all)
	if err != nil {
		return s, err
	}
	s.Msgs = after.Sub(before)
	s.AllApplied = last.Sub(start)
	c.Nodes = all
	if background {
		idleStart := time.Now()
		b0, err := counts(c.Nodes)
		if err != nil {
			return s, err
		}
		time.Sleep(time.Until(idleStart.Add(s.Window)))
		b1, err := counts(c.Nodes)
		if err != nil {
			return s, err
		}
		s.Background = b1.Sub(b0)
	}
	return s, nil
}

// Shutdown stops every node process (in parallel), killing those that do not exit.
func (c *ProcessCluster) Shutdown() {
	var wg sync.WaitGroup
	for _, p := range c.Nodes {
		wg.Go(p.Stop)
	}
	wg.Wait()
	c.Nodes = nil
}
