package memberlistcmp

// A ProcessCluster runs the nodes of a Cluster one per OS process, as sskit's refnode does, so
// that the two can be compared like for like: each node then has a Go runtime (scheduler, GC) of
// its own instead of sharing one with every other node.
//
// Each node process is a program that calls ServeNodeProcess when NodeProcessEnv is set (the
// test binary, re-executed). It talks with the parent over its stdin and stdout, one JSON object
// a line:
//
//	child → parent  {"kind":"listening","addr":"127.0.0.1:port"}   once, when the node listens
//	child → parent  {"kind":"members","members":m,"alive":a,"at":ns} whenever what it lists changes
//	parent → child  {"op":"join","addr":"127.0.0.1:port"}          Join through that node
//	child → parent  {"kind":"joined","error":"…"}                  when the Join returned
//	parent → child  {"op":"counts"}                                 stop reporting, send counts
//	child → parent  {"kind":"counts","counts":{…},"members":m,"alive":a}
//
// "at" is the child's wall clock (Unix ns), which every process of the machine shares. A child
// shuts its node down and exits when its stdin closes, so it does not outlive the parent.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

const (
	// NodeProcessEnv, set to a node's name, makes a process serve that one node.
	NodeProcessEnv = "MEMBERLISTCMP_CHILD"
	// clusterSizeEnv is the number of nodes of the child's cluster: it tells the child when it
	// lists them all, and only then must it watch for suspicions, which fire no event.
	clusterSizeEnv = "MEMBERLISTCMP_CLUSTER_SIZE"
)

// Commands (parent → child) and reports (child → parent).
const (
	opJoin   = "join"
	opCounts = "counts"

	kindListening = "listening"
	kindMembers   = "members"
	kindJoined    = "joined"
	kindCounts    = "counts"
)

// answerTimeout bounds how long the parent waits for node processes that owe it an answer: their
// address after starting, the end of their Join (memberlist gives a push/pull 10 s) and their
// counts. A node process that takes longer is taken to be stuck.
const answerTimeout = 30 * time.Second

// exitGrace is how long node processes get to exit after their stdin closed before they are
// killed.
const exitGrace = 5 * time.Second

type command struct {
	Op   string `json:"op"`
	Addr string `json:"addr,omitempty"` // opJoin: the node to join through
}

type report struct {
	Kind string `json:"kind"`
	Addr string `json:"addr,omitempty"` // kindListening
	// Members and Alive are what the node lists (kindMembers, kindCounts).
	Members int `json:"members,omitempty"`
	Alive   int `json:"alive,omitempty"`
	// At is when the node noticed what it lists, in Unix ns (kindMembers).
	At     int64   `json:"at,omitempty"`
	Error  string  `json:"error,omitempty"`  // kindJoined: why the Join failed
	Counts *Counts `json:"counts,omitempty"` // kindCounts: all the node sent since it started
}

// ServeNodeProcess serves the node named by NodeProcessEnv over stdin and stdout (see the top of
// this file) until stdin closes, and returns the process's exit code.
func ServeNodeProcess() int {
	name := os.Getenv(NodeProcessEnv)
	size, err := strconv.Atoi(os.Getenv(clusterSizeEnv))
	if err == nil {
		err = serveNode(name, size, os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "memberlistcmp node process %s: %v\n", name, err)
		return 1
	}
	return 0
}

// reportWriter writes reports, one a line, from the goroutines of a node process.
type reportWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *reportWriter) send(r report) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(r)
}

// serveNode runs node name of a cluster of size nodes, taking commands from in and writing
// reports to out, until in closes.
func serveNode(name string, size int, in io.Reader, out io.Writer) error {
	w := &reportWriter{enc: json.NewEncoder(out)}
	counter := new(Counter)
	changed := make(chan struct{}, 1)
	node, err := NewNode(name, counter, wakeup(changed))
	if err != nil {
		return err
	}
	defer func() { _ = node.List.Shutdown() }()
	if err := w.send(report{Kind: kindListening, Addr: node.Addr}); err != nil {
		return err
	}
	stopWatching := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchMembers(node, size, changed, stopWatching, w)
	}()
	stop := sync.OnceFunc(func() {
		close(stopWatching)
		<-watched
	})
	defer stop()

	commands := bufio.NewScanner(in)
	for commands.Scan() {
		var cmd command
		if err := json.Unmarshal(commands.Bytes(), &cmd); err != nil {
			return fmt.Errorf("unreadable command %q: %w", commands.Text(), err)
		}
		switch cmd.Op {
		case opJoin:
			go func() {
				r := report{Kind: kindJoined}
				if _, err := node.List.Join([]string{cmd.Addr}); err != nil {
					r.Error = fmt.Sprintf("%s joining %s: %v", name, cmd.Addr, err)
				}
				_ = w.send(r) // if the parent is gone, stdin closes too
			}()
		case opCounts:
			// No report may follow the counts: the parent has stopped reading them.
			stop()
			counts := counter.Snapshot()
			r := report{Kind: kindCounts, Counts: &counts, Members: node.List.NumMembers(), Alive: node.AliveMembers()}
			if err := w.send(r); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown command %q", commands.Text())
		}
	}
	return commands.Err()
}

// watchMembers reports what node lists whenever that changes, until stop closes. A member list
// change fires an event, but a suspicion or its refutation does not; so while the node lists
// all size members, whether they are all alive is also checked every fallbackPoll, as
// Cluster.Converge does.
func watchMembers(node *Node, size int, changed <-chan struct{}, stop <-chan struct{}, w *reportWriter) {
	poll := time.NewTicker(fallbackPoll)
	defer poll.Stop()
	var last report
	for {
		r := report{Kind: kindMembers, Members: node.List.NumMembers(), Alive: node.AliveMembers()}
		if r.Members != last.Members || r.Alive != last.Alive {
			r.At = time.Now().UnixNano()
			_ = w.send(r) // if the parent is gone, stdin closes too
			last = r
		}
		var fallback <-chan time.Time // nil, never ready, unless the node lists all
		if r.Members == size {
			fallback = poll.C
		}
		select {
		case <-changed:
		case <-fallback:
		case <-stop:
			return
		}
	}
}

// ProcessCluster is a cluster whose nodes each run in a node process of their own. As in a
// Cluster, the nodes are started alone, and none knows any other until Converge has them join.
type ProcessCluster struct {
	Nodes []*ProcessNode
	// reports carries every node process's reports, in order for each one.
	reports chan nodeReport
	// done closes on Shutdown; reports are then dropped.
	done chan struct{}
}

// ProcessNode is one node process of a ProcessCluster.
type ProcessNode struct {
	Name string
	// Addr is the host:port the node listens on (UDP and TCP).
	Addr string
	// Members and Alive are what the node last reported listing. After Converge they are what it
	// listed when asked for its counts.
	Members, Alive int
	// reportedAt is when the node noticed what it last reported listing, in Unix ns.
	reportedAt int64

	cmd   *exec.Cmd
	stdin io.WriteCloser
	// exited closes when the process's stdout has closed: it has exited, or is about to.
	exited chan struct{}
}

// nodeReport is a report of node process Nodes[node], or err if it could not be read.
type nodeReport struct {
	node int
	report
	err error
}

// NewProcessCluster starts n node processes running executable, which must call
// ServeNodeProcess when NodeProcessEnv is set, and waits until each one's node listens.
func NewProcessCluster(n int, executable string) (*ProcessCluster, error) {
	c := &ProcessCluster{reports: make(chan nodeReport, n), done: make(chan struct{})}
	seq := clusterSeq.Add(1)
	for i := range n {
		if err := c.start(executable, nodeName(seq, i), n); err != nil {
			_ = c.Shutdown()
			return nil, err
		}
	}
	timeout := time.NewTimer(answerTimeout)
	defer timeout.Stop()
	for listening := 0; listening < n; {
		select {
		case r := <-c.reports:
			if r.err == nil && r.Kind == kindListening {
				c.Nodes[r.node].Addr = r.Addr
				listening++
				continue
			}
			// A node that listens reports at once what it lists: itself.
			if err := c.take(r, new(tally)); err != nil || r.Kind != kindMembers {
				_ = c.Shutdown()
				return nil, fmt.Errorf("memberlistcmp: node process %s, starting: %w", c.Nodes[r.node].Name, r.problem())
			}
		case <-timeout.C:
			_ = c.Shutdown()
			return nil, fmt.Errorf("memberlistcmp: %d of %d node processes listening after %v", listening, n, answerTimeout)
		}
	}
	return c, nil
}

// start starts node process name of a cluster of size nodes.
func (c *ProcessCluster) start(executable, name string, size int) error {
	cmd := exec.Command(executable)
	cmd.Env = append(os.Environ(), NodeProcessEnv+"="+name, clusterSizeEnv+"="+strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("memberlistcmp: start node process %s: %w", name, err)
	}
	node := &ProcessNode{Name: name, cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	c.Nodes = append(c.Nodes, node)
	go c.read(len(c.Nodes)-1, stdout, node.exited)
	return nil
}

// read passes on node process i's reports until its stdout closes, then reports that it exited.
func (c *ProcessCluster) read(i int, stdout io.Reader, exited chan<- struct{}) {
	defer close(exited)
	deliver := func(r nodeReport) {
		select {
		case c.reports <- r:
		case <-c.done:
		}
	}
	// Read to the end even after a bad line, so that the child never blocks on a full pipe.
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		r := nodeReport{node: i}
		if err := json.Unmarshal(lines.Bytes(), &r.report); err != nil {
			r.err = fmt.Errorf("unreadable report %q: %w", lines.Text(), err)
		}
		deliver(r)
	}
	err := lines.Err()
	if err == nil {
		err = errors.New("exited")
	}
	deliver(nodeReport{node: i, err: err})
}

// problem says what is wrong with a report that was not expected.
func (r nodeReport) problem() error {
	if r.err != nil {
		return r.err
	}
	return fmt.Errorf("unexpected report %q", r.Kind)
}

// tally is what the node processes have reported during one Converge, besides what they list.
type tally struct {
	joined   int
	joinErrs []error
	counted  int
	sent     Counts
}

// take records report r.
func (c *ProcessCluster) take(r nodeReport, t *tally) error {
	node := c.Nodes[r.node]
	switch {
	case r.err != nil:
	case r.Kind == kindMembers:
		node.Members, node.Alive, node.reportedAt = r.Members, r.Alive, r.At
		return nil
	case r.Kind == kindJoined:
		t.joined++
		if r.Error != "" {
			t.joinErrs = append(t.joinErrs, errors.New(r.Error))
		}
		return nil
	case r.Kind == kindCounts && r.Counts != nil:
		node.Members, node.Alive = r.Members, r.Alive
		t.sent = t.sent.Add(*r.Counts)
		t.counted++
		return nil
	}
	return fmt.Errorf("memberlistcmp: node process %s: %w", node.Name, r.problem())
}

// Converge does what Cluster.Converge does, with the nodes in their processes: every node but the
// first joins through the first at once, and it waits until every node lists all nodes as
// alive. The time runs from just before the parent tells the nodes to join until the node that
// got there last noticed it, by that node's clock. Then it asks each node for what it sent, and
// waits for every Join to return. A failed Join is an error, not a run that did not converge.
func (c *ProcessCluster) Converge(deadline time.Duration) (Result, error) {
	first := c.Nodes[0]
	join, err := json.Marshal(command{Op: opJoin, Addr: first.Addr})
	if err != nil {
		return Result{}, err
	}
	join = append(join, '\n')
	var t tally
	var out Result
	start := time.Now()
	for _, n := range c.Nodes[1:] {
		if err := n.send(join); err != nil {
			return out, err
		}
	}
	timeout := time.NewTimer(deadline)
	defer timeout.Stop()
wait:
	for len(t.joinErrs) == 0 {
		if c.converged() {
			out.Converged = true
			out.Time = time.Duration(c.lastReportedAt() - start.UnixNano())
			break
		}
		select {
		case r := <-c.reports:
			if err := c.take(r, &t); err != nil {
				return out, err
			}
		case <-timeout.C:
			out.Time = time.Since(start)
			out.Missing = describeMissing(c.states(), len(c.Nodes))
			break wait
		}
	}

	counts, err := json.Marshal(command{Op: opCounts})
	if err != nil {
		return out, err
	}
	counts = append(counts, '\n')
	for _, n := range c.Nodes {
		if err := n.send(counts); err != nil {
			return out, err
		}
	}
	answers := time.NewTimer(answerTimeout)
	defer answers.Stop()
	for t.counted < len(c.Nodes) || t.joined < len(c.Nodes)-1 {
		select {
		case r := <-c.reports:
			if err := c.take(r, &t); err != nil {
				return out, err
			}
		case <-answers.C:
			return out, fmt.Errorf("memberlistcmp: after %v, %d of %d node processes sent their counts and %d of %d joins returned",
				answerTimeout, t.counted, len(c.Nodes), t.joined, len(c.Nodes)-1)
		}
	}
	out.Msgs = t.sent
	return out, errors.Join(t.joinErrs...)
}

// converged reports whether every node last reported listing every node as alive.
func (c *ProcessCluster) converged() bool {
	want := len(c.Nodes)
	for _, n := range c.Nodes {
		if n.Members != want || n.Alive != want {
			return false
		}
	}
	return true
}

// lastReportedAt is the latest time a node noticed what it last reported listing.
func (c *ProcessCluster) lastReportedAt() int64 {
	var last int64
	for _, n := range c.Nodes {
		last = max(last, n.reportedAt)
	}
	return last
}

func (c *ProcessCluster) states() []memberState {
	states := make([]memberState, len(c.Nodes))
	for i, n := range c.Nodes {
		states[i] = memberState{Name: n.Name, Members: n.Members, Alive: n.Alive}
	}
	return states
}

// send writes one command line to the node process.
func (n *ProcessNode) send(line []byte) error {
	if _, err := n.stdin.Write(line); err != nil {
		return fmt.Errorf("memberlistcmp: node process %s: %w", n.Name, err)
	}
	return nil
}

// Shutdown closes every node process's stdin, which has it shut its node down and exit, and
// waits for them all. A process that has not exited within exitGrace is killed, and Shutdown
// then returns an error naming it.
func (c *ProcessCluster) Shutdown() error {
	close(c.done)
	for _, n := range c.Nodes {
		_ = n.stdin.Close()
	}
	grace, cancel := context.WithTimeout(context.Background(), exitGrace)
	defer cancel()
	var errs []error
	for _, n := range c.Nodes {
		select {
		case <-n.exited:
		case <-grace.Done():
			_ = n.cmd.Process.Kill()
			errs = append(errs, fmt.Errorf("memberlistcmp: node process %s killed: not exited %v after its stdin closed", n.Name, exitGrace))
			<-n.exited
		}
		_ = n.cmd.Wait() // its exit status says nothing more: failures are reported on stderr
	}
	c.Nodes = nil
	return errors.Join(errs...)
}
