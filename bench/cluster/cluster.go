package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/stableset/sskit/harness"
)

// Options configure the clusters the benchmarks run on.
type Options struct {
	Impl    harness.Implementation
	Backend string // "process" (default) or "docker"
	Seed    int64  // node keys derive from it
	LogDir  string // node logs; default a new temporary directory
	// StartParallel is how many nodes are started, and join, at once while a cluster forms; a
	// 64-node cluster on two cores forms more reliably in waves than in one burst.
	StartParallel int
	// Pollers is how many admin requests are in flight at once when every node is asked.
	Pollers int
	// Progress gets one line per step; nil for silence.
	Progress io.Writer
}

// Cluster is a running cluster of nodes under test and the benchmarks' bookkeeping: which
// nodes are members now, in start order. It is not safe for concurrent use.
type Cluster struct {
	h     *harness.Cluster
	opts  Options
	live  []*harness.Node // members (and nodes asked to join), in start order
	first *harness.Node   // the bootstrap peer of every joiner; the eldest member
}

// settleTime is waited before decision logs are read for their frame counts: a node charges a
// decision with the anti-entropy STABLESET frames it sends within 2 s of applying it (SPEC.md
// ST-12), so counts read earlier could still grow.
const settleTime = 2500 * time.Millisecond

// pollInterval is the least pause between two rounds of asking every node for its stableset.
const pollInterval = 50 * time.Millisecond

// roundPause is the pause between two rounds of polling n nodes: pollInterval, or 3 ms per node
// when that is longer. A round asks every node once, and at 64 nodes rounds every 50 ms took a
// sixth of the nodes' CPU (profiled), slowing the very work being timed. Decision times come
// from the nodes' own logs and do not depend on the pause; a convergence time read by polling is
// late by up to one pause.
func roundPause(n int) time.Duration {
	return max(pollInterval, time.Duration(n)*3*time.Millisecond)
}

// pause waits one round pause for the live nodes, or until ctx ends.
func (c *Cluster) pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(roundPause(len(c.live))):
		return nil
	}
}

// agreementTimeout is how long a cluster of n members may take to agree after a change. It
// grows with n because one round of polling does, on a machine shared by every node.
func agreementTimeout(n int) time.Duration {
	return 20*time.Second + time.Duration(n)*500*time.Millisecond
}

// Form starts a cluster of n nodes, the first alone and the others through it in waves of
// Options.StartParallel, and waits until every node is a member of one stableset of n members.
// It returns the cluster and how long forming took.
func Form(ctx context.Context, n int, opts Options) (*Cluster, time.Duration, error) {
	if opts.StartParallel < 1 {
		opts.StartParallel = 8
	}
	if opts.Pollers < 1 {
		opts.Pollers = 8
	}
	h, err := harness.NewCluster(ctx, harness.Options{Impl: opts.Impl, Backend: opts.Backend, Seed: opts.Seed, LogDir: opts.LogDir})
	if err != nil {
		return nil, 0, err
	}
	c := &Cluster{h: h, opts: opts}
	start := time.Now()
	if c.first, err = h.AddNode(ctx); err != nil {
		return c, 0, errors.Join(err, h.Close())
	}
	c.live = []*harness.Node{c.first}
	for len(c.live) < n {
		wave := min(opts.StartParallel, n-len(c.live))
		if _, err := c.startJoiners(ctx, wave); err != nil {
			return c, 0, errors.Join(err, h.Close())
		}
		if err := c.awaitAgreement(ctx, c.live, len(c.live)); err != nil {
			return c, 0, errors.Join(fmt.Errorf("forming %d nodes: %w", n, err), h.Close())
		}
		c.progress("%d of %d nodes are members (%v)", len(c.live), n, time.Since(start).Round(time.Millisecond))
	}
	return c, time.Since(start), nil
}

// Close stops every node and removes what the harness made.
func (c *Cluster) Close() error { return c.h.Close() }

// Size is the number of members.
func (c *Cluster) Size() int { return len(c.live) }

func (c *Cluster) progress(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, "cluster bench: "+format+"\n", args...)
	}
}

// startJoiners starts k nodes at once, each with the first node as bootstrap peer, and adds them
// to the live nodes. It returns them in start order.
func (c *Cluster) startJoiners(ctx context.Context, k int) ([]*harness.Node, error) {
	nodes := make([]*harness.Node, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() { nodes[i], errs[i] = c.h.AddNode(ctx, c.first) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Index < nodes[j].Index })
	c.live = append(c.live, nodes...)
	return nodes, nil
}

// forEach calls f for every node, Options.Pollers at a time, and returns the first error.
func (c *Cluster) forEach(nodes []*harness.Node, f func(i int, n *harness.Node) error) error {
	errs := make([]error, len(nodes))
	sem := make(chan struct{}, c.opts.Pollers)
	var wg sync.WaitGroup
	for i, n := range nodes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(i, n)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// views reads GET /v1/stableset of every node.
func (c *Cluster) views(ctx context.Context, nodes []*harness.Node) ([]stablesetView, error) {
	out := make([]stablesetView, len(nodes))
	err := c.forEach(nodes, func(i int, n *harness.Node) error {
		if err := n.GetJSON(ctx, "/v1/stableset", &out[i]); err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		return nil
	})
	return out, err
}

// logs reads GET /v1/decisions of every node, keyed by node name.
func (c *Cluster) logs(ctx context.Context, nodes []*harness.Node) (map[string]decisionLog, error) {
	got := make([]decisionLog, len(nodes))
	err := c.forEach(nodes, func(i int, n *harness.Node) error {
		if err := n.GetJSON(ctx, "/v1/decisions", &got[i]); err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		return nil
	})
	out := make(map[string]decisionLog, len(nodes))
	for i, n := range nodes {
		out[n.Name.String()] = got[i]
	}
	return out, err
}

// agreement returns "" when every view is phase member of one stableset of want members, and
// otherwise what is still missing.
func agreement(nodes []*harness.Node, views []stablesetView, want int) string {
	ids := map[string]int{}
	for i, v := range views {
		if v.Phase != "member" {
			return fmt.Sprintf("%s is %s", nodes[i].Label(), v.Phase)
		}
		if len(v.Members) != want {
			return fmt.Sprintf("%s has %d members, want %d", nodes[i].Label(), len(v.Members), want)
		}
		ids[v.ID]++
	}
	if len(ids) > 1 {
		return fmt.Sprintf("%d different stableset ids", len(ids))
	}
	return ""
}

// awaitAgreement polls nodes until every one is a member of one stableset of want members, and
// returns that stableset as the first node sees it.
func (c *Cluster) awaitAgreement(ctx context.Context, nodes []*harness.Node, want int) error {
	_, err := c.agreedView(ctx, nodes, want)
	return err
}

func (c *Cluster) agreedView(ctx context.Context, nodes []*harness.Node, want int) (stablesetView, error) {
	ctx, cancel := context.WithTimeout(ctx, agreementTimeout(want))
	defer cancel()
	last := "no answer yet"
	for {
		views, err := c.views(ctx, nodes)
		if err == nil {
			if last = agreement(nodes, views, want); last == "" {
				return views[0], nil
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return stablesetView{}, fmt.Errorf("no agreement on %d members within %v: %s", want, agreementTimeout(want), last)
		case <-time.After(roundPause(len(nodes))):
		}
	}
}

// awaitLeft polls n until it reports phase left.
func (c *Cluster) awaitLeft(ctx context.Context, n *harness.Node) error {
	ctx, cancel := context.WithTimeout(ctx, agreementTimeout(1))
	defer cancel()
	for {
		var v stablesetView
		err := n.GetJSON(ctx, "/v1/stableset", &v)
		if err == nil && v.Phase == "left" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not reach phase left (phase %q, err %v)", n.Label(), v.Phase, err)
		case <-time.After(pollInterval):
		}
	}
}

// requestLeave asks n to leave (POST /v1/leave).
func requestLeave(ctx context.Context, n *harness.Node) error {
	status, body, err := n.Do(ctx, http.MethodPost, "/v1/leave", "")
	if err != nil {
		return fmt.Errorf("%s: POST /v1/leave: %w", n.Label(), err)
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("%s: POST /v1/leave answered %d: %s", n.Label(), status, body)
	}
	return nil
}

// without returns nodes minus drop.
func without(nodes []*harness.Node, drop ...*harness.Node) []*harness.Node {
	return slices.DeleteFunc(slices.Clone(nodes), func(n *harness.Node) bool { return slices.Contains(drop, n) })
}

// ordinalOf returns name's ordinal in v.
func ordinalOf(v stablesetView, name string) (uint64, bool) {
	for _, m := range v.Members {
		if m.Name == name {
			return m.Ordinal, true
		}
	}
	return 0, false
}

// leaveAll asks every node of leavers to leave at once, waits until the remaining nodes agree
// without them and each leaver is in phase left, reads the leavers' decision logs and stops
// them. The leavers' logs are merged into logs.
func (c *Cluster) leaveAll(ctx context.Context, leavers []*harness.Node, logs map[string]decisionLog) error {
	errs := make([]error, len(leavers))
	var wg sync.WaitGroup
	for i, n := range leavers {
		wg.Go(func() { errs[i] = requestLeave(ctx, n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.live = without(c.live, leavers...)
	if err := c.pause(ctx); err != nil { // as decidedView does
		return err
	}
	if err := c.awaitAgreement(ctx, c.live, len(c.live)); err != nil {
		return err
	}
	for _, n := range leavers {
		if err := c.awaitLeft(ctx, n); err != nil {
			return err
		}
	}
	// A node that left answers its admin API until it stops: read its own records first.
	got, err := c.logs(ctx, leavers)
	if err != nil {
		return err
	}
	for name, l := range got {
		logs[name] = l
	}
	return c.forEach(leavers, func(_ int, n *harness.Node) error {
		code, err := c.h.Stop(ctx, n)
		if err == nil && code != 0 {
			err = fmt.Errorf("%s exited with code %d after leaving", n.Label(), code)
		}
		return err
	})
}
