package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stableset/sskit/harness"
)

// Decisions is what an experiment measured: every decision it caused, as all nodes saw it.
type Decisions struct {
	Joins, Leaves []*Decision
	// Requested is when the harness asked for the changes: started the joiners, or sent the
	// leave requests. Last is when the last elder applied the last of them.
	Requested, Last time.Time
	// Records counts the decision records every node kept of these decisions, and Unapplied
	// those of them without an applied time although every node agreed on the outcome.
	Records, Unapplied int
	// Incomplete lists the decisions that some elder did not record as applied: their latency is
	// unknown and they are not in Joins or Leaves.
	Incomplete []DecisionKey
}

// All returns the joins and then the leaves.
func (d Decisions) All() []*Decision { return append(slices.Clone(d.Joins), d.Leaves...) }

// collect waits settleTime, reads every live node's decision log into logs (which already
// holds the logs of nodes that left) and merges the decisions in want, with elders as the
// elders of the whole experiment.
func (c *Cluster) collect(ctx context.Context, logs map[string]decisionLog, elders []string, want []DecisionKey) (Decisions, error) {
	select {
	case <-ctx.Done():
		return Decisions{}, ctx.Err()
	case <-time.After(settleTime):
	}
	got, err := c.logs(ctx, c.live)
	if err != nil {
		return Decisions{}, err
	}
	for name, l := range got {
		logs[name] = l
	}
	wanted := map[DecisionKey]bool{}
	for _, k := range want {
		wanted[k] = true
	}
	merged, err := mergeDecisions(logs, elders, wanted)
	if err != nil {
		return Decisions{}, err
	}
	var out Decisions
	for _, k := range want {
		d := merged[k]
		if d == nil || d.EldersApplied.IsZero() {
			out.Incomplete = append(out.Incomplete, k)
			continue
		}
		out.Records += d.Records
		out.Unapplied += d.Records - d.Applied
		if d.EldersApplied.After(out.Last) {
			out.Last = d.EldersApplied
		}
		if k.Kind == "JOIN" {
			out.Joins = append(out.Joins, d)
		} else {
			out.Leaves = append(out.Leaves, d)
		}
	}
	return out, nil
}

// view returns the stableset every live node agrees on.
func (c *Cluster) view(ctx context.Context) (stablesetView, error) {
	return c.agreedView(ctx, c.live, len(c.live))
}

// decidedView is view for a change just requested. Its first poll waits one round pause: asking
// every node for its stableset while they decide slows the very decision being timed, and at
// once it could only find the change still undecided.
func (c *Cluster) decidedView(ctx context.Context) (stablesetView, error) {
	if err := c.pause(ctx); err != nil {
		return stablesetView{}, err
	}
	return c.view(ctx)
}

// JoinLeave makes samples decisions of each kind, one at a time: a new node joins through the
// first node, every node agrees on the larger stableset, then that node leaves through POST
// /v1/leave and every node agrees on the smaller one. The elders do not change throughout.
func (c *Cluster) JoinLeave(ctx context.Context, samples int) (Decisions, error) {
	before, err := c.view(ctx)
	if err != nil {
		return Decisions{}, err
	}
	logs := map[string]decisionLog{}
	var want []DecisionKey
	start := time.Now()
	for i := range samples {
		joiners, err := c.startJoiners(ctx, 1)
		if err != nil {
			return Decisions{}, err
		}
		j := joiners[0]
		v, err := c.decidedView(ctx)
		if err != nil {
			return Decisions{}, fmt.Errorf("after %s joined: %w", j.Label(), err)
		}
		ordinal, ok := ordinalOf(v, j.Name.String())
		if !ok {
			return Decisions{}, fmt.Errorf("%s joined, but the stableset every node agrees on lacks it", j.Label())
		}
		want = append(want, DecisionKey{"JOIN", j.Name.String(), ordinal}, DecisionKey{"LEAVE", j.Name.String(), ordinal})
		if err := c.leaveAll(ctx, []*harness.Node{j}, logs); err != nil {
			return Decisions{}, fmt.Errorf("after %s left: %w", j.Label(), err)
		}
		if (i+1)%10 == 0 || i+1 == samples {
			c.progress("%d nodes: %d of %d join+leave samples (%v)", len(c.live), i+1, samples, time.Since(start).Round(time.Millisecond))
		}
	}
	return c.collectWithElders(ctx, logs, before, want)
}

// collectWithElders collects with the elders of before, and checks they are still the elders.
func (c *Cluster) collectWithElders(ctx context.Context, logs map[string]decisionLog, before stablesetView, want []DecisionKey) (Decisions, error) {
	d, err := c.collect(ctx, logs, before.Elders, want)
	if err != nil {
		return d, err
	}
	after, err := c.view(ctx)
	if err != nil {
		return d, err
	}
	if !slices.Equal(after.Elders, before.Elders) {
		return d, fmt.Errorf("the elders changed during the experiment: %.8s before, %.8s after", before.Elders, after.Elders)
	}
	return d, nil
}

// ConcurrentJoins starts k new nodes, each joining through the first node, and waits until every
// node agrees on the larger stableset. It returns the k joins and the joiners. The first node is
// paused while the joiners start, so that their requests wait in its socket and it hears them
// all at once when it resumes: Requested is then, and the joiners' process starts (tens of
// milliseconds each on a loaded machine) are not counted as the cluster's work.
func (c *Cluster) ConcurrentJoins(ctx context.Context, k int) (Decisions, []*harness.Node, error) {
	before, err := c.view(ctx)
	if err != nil {
		return Decisions{}, nil, err
	}
	if err := c.h.Pause(ctx, c.first); err != nil {
		return Decisions{}, nil, err
	}
	joiners, err := c.startJoiners(ctx, k)
	requested := time.Now()
	if rerr := c.h.Resume(ctx, c.first); err == nil {
		err = rerr
	}
	if err != nil {
		return Decisions{}, nil, err
	}
	v, err := c.decidedView(ctx)
	if err != nil {
		return Decisions{}, joiners, fmt.Errorf("after %d concurrent joins: %w", k, err)
	}
	var want []DecisionKey
	for _, j := range joiners {
		ordinal, ok := ordinalOf(v, j.Name.String())
		if !ok {
			return Decisions{}, joiners, fmt.Errorf("%s joined, but the stableset every node agrees on lacks it", j.Label())
		}
		want = append(want, DecisionKey{"JOIN", j.Name.String(), ordinal})
	}
	d, err := c.collectWithElders(ctx, map[string]decisionLog{}, before, want)
	d.Requested = requested
	return d, joiners, err
}

// ConcurrentLeaves asks every node of leavers to leave at once (POST /v1/leave), waits until the
// others agree without them, and stops them. leavers must not be elders.
func (c *Cluster) ConcurrentLeaves(ctx context.Context, leavers []*harness.Node) (Decisions, error) {
	before, err := c.view(ctx)
	if err != nil {
		return Decisions{}, err
	}
	var want []DecisionKey
	for _, n := range leavers {
		if slices.Contains(before.Elders, n.Name.String()) {
			return Decisions{}, fmt.Errorf("%s is an elder", n.Label())
		}
		ordinal, ok := ordinalOf(before, n.Name.String())
		if !ok {
			return Decisions{}, fmt.Errorf("%s is not a member", n.Label())
		}
		want = append(want, DecisionKey{"LEAVE", n.Name.String(), ordinal})
	}
	logs := map[string]decisionLog{}
	requested := time.Now()
	if err := c.leaveAll(ctx, leavers, logs); err != nil {
		return Decisions{}, err
	}
	d, err := c.collectWithElders(ctx, logs, before, want)
	d.Requested = requested
	return d, err
}

// Convergence is what PartitionHeal measured.
type Convergence struct {
	// Minority is how many nodes were cut off: one elder and the youngest other members.
	Minority int
	// Split is from the partition until every node on the majority side agreed on a stableset
	// without the minority: failure detection (the peer timeout) and the leave decisions.
	Split time.Duration
	// Converge is from healing until every node agreed on one stableset of every node again.
	Converge time.Duration
	// AntiEntropyFrames is the sum over every node of the STABLESET frames it sent because a
	// peer's stableset differed or lacked something (anti_entropy_frames), from just before
	// healing until just after convergence; Frames is every frame every node sent in that time
	// (GET /v1/counters), the pings every elder sends every 500 ms included.
	AntiEntropyFrames, Frames int64
	// Rejoined is how many nodes are members again as new instances (a higher ordinal).
	Rejoined int
}

// PartitionHeal cuts the cluster in two, the minority side holding one elder and the youngest
// quarter of the other members (size/4 nodes in all, at least the elder), waits until the
// majority side has removed them, heals, and measures how long anti-entropy takes to bring every
// node back into one stableset (SPEC.md ST-8, ST-11). It needs harness.NetworkFaultsSupported.
func (c *Cluster) PartitionHeal(ctx context.Context) (Convergence, error) {
	before, err := c.view(ctx)
	if err != nil {
		return Convergence{}, err
	}
	byName := map[string]*harness.Node{}
	for _, n := range c.live {
		byName[n.Name.String()] = n
	}
	// Members in (ordinal, name) order, eldest first, as the stableset lists its elders.
	members := slices.Clone(before.Members)
	slices.SortFunc(members, func(a, b viewMember) int {
		return cmp.Or(cmp.Compare(a.Ordinal, b.Ordinal), strings.Compare(a.Name, b.Name))
	})
	size := len(members)
	if len(before.Elders) < 4 {
		return Convergence{}, fmt.Errorf("%d elders: the split needs 4", len(before.Elders))
	}
	// The youngest elder, and the youngest members up to a quarter: never another elder, since
	// size/4 - 1 <= size - 4 for every size of at least 4.
	minority := []*harness.Node{byName[before.Elders[len(before.Elders)-1]]}
	for i := size - 1; len(minority) < max(1, size/4); i-- {
		minority = append(minority, byName[members[i].Name])
	}
	if slices.Contains(minority, nil) {
		return Convergence{}, errors.New("a member of the stableset is not a live node")
	}
	majority := without(c.live, minority...)
	out := Convergence{Minority: len(minority)}

	start := time.Now()
	if err := c.h.Partition(ctx, majority, minority); err != nil {
		return out, err
	}
	healed := false
	defer func() {
		if !healed {
			_ = c.h.Heal(context.WithoutCancel(ctx))
		}
	}()
	if err := c.awaitAgreement(ctx, majority, len(majority)); err != nil {
		return out, fmt.Errorf("majority side: %w", err)
	}
	out.Split = time.Since(start)
	c.progress("%d nodes: the majority side removed %d nodes in %v; healing", size, len(minority), out.Split.Round(time.Millisecond))

	aeBefore, framesBefore, err := c.sentTotals(ctx)
	if err != nil {
		return out, err
	}
	start = time.Now()
	if err := c.h.Heal(ctx); err != nil {
		return out, err
	}
	healed = true
	after, err := c.agreedView(ctx, c.live, size)
	if err != nil {
		return out, fmt.Errorf("after healing: %w", err)
	}
	out.Converge = time.Since(start)
	aeAfter, framesAfter, err := c.sentTotals(ctx)
	if err != nil {
		return out, err
	}
	for name, ae := range aeAfter {
		out.AntiEntropyFrames += grown(aeBefore[name], ae)
		out.Frames += grown(framesBefore[name], framesAfter[name])
	}
	for _, n := range minority {
		was, _ := ordinalOf(before, n.Name.String())
		if now, ok := ordinalOf(after, n.Name.String()); ok && now > was {
			out.Rejoined++
		}
	}
	return out, nil
}

// grown is how much a counter grew from before to after; a counter that went down started
// again from zero in between.
func grown(before, after int64) int64 {
	if after < before {
		return after
	}
	return after - before
}

// sentTotals reads, per live node, its anti-entropy STABLESET count (GET /v1/decisions) and the
// total of frames it sent (GET /v1/counters).
func (c *Cluster) sentTotals(ctx context.Context) (antiEntropy, frames map[string]int64, err error) {
	ae := make([]int64, len(c.live))
	sent := make([]int64, len(c.live))
	err = c.forEach(c.live, func(i int, n *harness.Node) error {
		var l decisionLog
		if err := n.GetJSON(ctx, "/v1/decisions", &l); err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		counters, err := n.Counters(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		ae[i], sent[i] = int64(l.AntiEntropy), counters.Sent.Total()
		return nil
	})
	antiEntropy, frames = map[string]int64{}, map[string]int64{}
	for i, n := range c.live {
		antiEntropy[n.Name.String()], frames[n.Name.String()] = ae[i], sent[i]
	}
	return antiEntropy, frames, err
}
