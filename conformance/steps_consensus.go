package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/stableset/sskit/harness"
)

// The consensus steps (SPEC.md §8) look at a whole cluster of nodes under test through the admin
// API only: GET /v1/stableset for agreement, GET /v1/decisions for what each decision cost.

type stablesetJSON struct {
	ID      string       `json:"id"`
	Phase   string       `json:"phase"`
	Members []memberJSON `json:"members"`
	Elders  []string     `json:"elders"`
}

type memberJSON struct {
	Name    string `json:"name"`
	Addr    string `json:"addr"`
	Ordinal uint64 `json:"ordinal"`
}

type decisionsJSON struct {
	Decisions []decisionJSON `json:"decisions"`
	Applied   int            `json:"applied"` // decisions applied since the node started
}

// decisionJSON is one decision of GET /v1/decisions (ST-12).
type decisionJSON struct {
	Kind   string `json:"kind"`
	Member struct {
		Name    string `json:"name"`
		Ordinal uint64 `json:"ordinal"`
	} `json:"member"`
	Applied         *string `json:"applied"`
	ElderFramesSent int     `json:"elder_frames_sent"`
	Peers           map[string]struct {
		Sent     int `json:"sent"`
		Received int `json:"received"`
	} `json:"peers"`
}

func registerConsensusSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^a cluster of (\d+) nodes under test started from one bootstrap$`, w.clusterFromOneBootstrap)
	sc.Step(`^within (\d+) seconds every live node is a member of one stableset of (\d+) members$`, w.allAgree)
	sc.Step(`^every node's elders are the first (\d+) members in \(ordinal, name\) order$`, w.eldersAreEldest)
	sc.Step(`^a new node under test joins through the first node$`, w.newNodeJoins)
	sc.Step(`^the youngest member leaves through POST /v1/leave$`, w.youngestLeaves)
	sc.Step(`^the node that joined and left holds its own join in its decision log, applied no earlier than it started \[ST-12\]$`, w.joinerLogsOwnJoin)
	sc.Step(`^the eldest elder is killed$`, w.killEldest)
	sc.Step(`^the killed node is a member nowhere and the next eldest member is an elder everywhere$`, w.killedGoneNextPromoted)
	sc.Step(`^the left node is a member nowhere$`, w.leftGone)
	sc.Step(`^every decision cost at most (\d+) frames among the elders, by their own counts$`, w.decisionsWithinBudget)
	registerPartitionSteps(sc, w)
}

func (w *world) live() []*harness.Node {
	var out []*harness.Node
	for _, n := range w.cluster.Nodes() {
		if exited, _ := n.Exited(); !exited && n.Name.String() != w.gone {
			out = append(out, n)
		}
	}
	return out
}

func (w *world) clusterFromOneBootstrap(n int) error {
	if err := w.newCluster(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(harness.Closing(), 60*time.Second)
	defer cancel()
	err := w.cluster.Start(ctx, n)
	if err == nil {
		w.node = w.cluster.Node(0)
		w.run.noteVersion(ctx, w.node)
	}
	return w.started(err)
}

func (w *world) stablesets(ctx context.Context) (map[string]stablesetJSON, error) {
	return stablesetsOf(ctx, w.live())
}

func stablesetsOf(ctx context.Context, nodes []*harness.Node) (map[string]stablesetJSON, error) {
	out := map[string]stablesetJSON{}
	for _, n := range nodes {
		var s stablesetJSON
		if err := n.GetJSON(ctx, "/v1/stableset", &s); err != nil {
			return nil, fmt.Errorf("%s: %w", n.Label(), err)
		}
		out[n.Label()] = s
	}
	return out, nil
}

// allAgree waits until every live node reports phase member and the same id over want members.
func (w *world) allAgree(seconds, want int) error { return w.agree(nil, seconds, want) }

// agree waits until every one of nodes (nil: every live node, looked up afresh each time)
// reports phase member and the same id over want members.
func (w *world) agree(nodes []*harness.Node, seconds, want int) error {
	ctx, cancel := context.WithTimeout(harness.Closing(), time.Duration(seconds)*time.Second)
	defer cancel()
	var last string
	for {
		of := nodes
		if of == nil {
			of = w.live()
		}
		sets, err := stablesetsOf(ctx, of)
		if err == nil {
			last = agreement(sets, want)
			if last == "" {
				return nil
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no agreement within %ds: %s", seconds, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func agreement(sets map[string]stablesetJSON, want int) string {
	ids := map[string][]string{}
	for label, s := range sets {
		if s.Phase != "member" {
			return fmt.Sprintf("%s is %q", label, s.Phase)
		}
		if len(s.Members) != want {
			return fmt.Sprintf("%s has %d members, want %d", label, len(s.Members), want)
		}
		ids[s.ID] = append(ids[s.ID], label)
	}
	if len(ids) != 1 {
		return fmt.Sprintf("%d different stableset ids: %v", len(ids), ids)
	}
	return ""
}

func (w *world) eldersAreEldest(size int) error {
	ctx, cancel := stepContext()
	defer cancel()
	sets, err := w.stablesets(ctx)
	if err != nil {
		return err
	}
	for label, s := range sets {
		members := eldestFirst(s.Members)
		var want []string
		for _, m := range members[:min(size, len(members))] {
			want = append(want, m.Name)
		}
		if !slices.Equal(want, s.Elders) {
			return fmt.Errorf("%s: elders %v, want the eldest %v", label, short(s.Elders), short(want))
		}
	}
	return nil
}

func short(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n[:min(8, len(n))]
	}
	return out
}

func (w *world) newNodeJoins() error {
	ctx, cancel := stepContext()
	defer cancel()
	_, err := w.cluster.AddNode(ctx, w.cluster.Node(0))
	return err
}

// joinerLogsOwnJoin judges the decision log youngestLeaves read from the node before it left: a
// joiner takes part in its own join, so it records it (ST-12), from its first request to taking
// the stableset (ST-5).
func (w *world) joinerLogsOwnJoin() error {
	l := w.leaverLog
	if l.name == "" {
		return errors.New("no decision log was read from a node before it left")
	}
	for _, d := range l.log.Decisions {
		if d.Kind != "JOIN" || d.Member.Name != l.name {
			continue
		}
		if d.Applied == nil {
			return violates(fmt.Errorf("%s was a member, yet its log held its own join as not applied", l.label), "ST-12")
		}
		started, err1 := time.Parse(time.RFC3339Nano, d.Started)
		applied, err2 := time.Parse(time.RFC3339Nano, *d.Applied)
		if err := errors.Join(err1, err2); err != nil {
			return violates(fmt.Errorf("%s's own join: %w", l.label, err), "ADM-8")
		}
		if applied.Before(started) {
			return violates(fmt.Errorf("%s's own join applied at %s, before it started at %s", l.label, *d.Applied, d.Started), "ST-12")
		}
		return nil
	}
	return violates(fmt.Errorf("%s was a member, yet GET /v1/decisions held no record of its own join (%d records)", l.label, len(l.log.Decisions)), "ST-12")
}

// ownLog is the part of a node's GET /v1/decisions (ADM-8) that says what it recorded of its own join.
type ownLog struct {
	name, label string
	log         struct {
		Decisions []struct {
			Kind   string `json:"kind"`
			Member struct {
				Name string `json:"name"`
			} `json:"member"`
			Started string  `json:"started"`
			Applied *string `json:"applied"`
		} `json:"decisions"`
	}
}

func (w *world) youngestLeaves() error {
	ctx, cancel := stepContext()
	defer cancel()
	nodes := w.live()
	youngest := nodes[len(nodes)-1] // nodes join in order, so the last started is the youngest
	w.leaverLog = ownLog{name: youngest.Name.String(), label: youngest.Label()}
	if err := youngest.GetJSON(ctx, "/v1/decisions", &w.leaverLog.log); err != nil {
		return err
	}
	status, body, err := youngest.Do(ctx, "POST", "/v1/leave", "")
	if err != nil {
		return err
	}
	if status != 202 {
		return fmt.Errorf("POST /v1/leave answered %d: %s", status, body)
	}
	w.gone = youngest.Name.String()
	return nil
}

func (w *world) leftGone() error { return w.absentEverywhere(w.gone) }

func (w *world) absentEverywhere(name string) error {
	ctx, cancel := stepContext()
	defer cancel()
	sets, err := w.stablesets(ctx)
	if err != nil {
		return err
	}
	for label, s := range sets {
		for _, m := range s.Members {
			if m.Name == name {
				return fmt.Errorf("%s still lists %s as a member", label, name[:8])
			}
		}
	}
	return nil
}

func (w *world) killEldest() error {
	ctx, cancel := stepContext()
	defer cancel()
	var s stablesetJSON
	if err := w.cluster.Node(1).GetJSON(ctx, "/v1/stableset", &s); err != nil {
		return err
	}
	if len(s.Elders) < 2 {
		return errors.New("fewer than 2 elders")
	}
	w.formerElders = s.Elders
	for _, n := range w.cluster.Nodes() {
		if n.Name.String() == s.Elders[0] {
			w.gone = s.Elders[0]
			return w.cluster.Kill(ctx, n)
		}
	}
	return fmt.Errorf("eldest elder %s is not a node of this cluster", s.Elders[0][:8])
}

func (w *world) killedGoneNextPromoted() error {
	if err := w.absentEverywhere(w.gone); err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	sets, err := w.stablesets(ctx)
	if err != nil {
		return err
	}
	for label, s := range sets {
		for _, e := range w.formerElders[1:] {
			if !slices.Contains(s.Elders, e) {
				return fmt.Errorf("%s: former elder %s is no longer an elder", label, e[:8])
			}
		}
		if len(s.Elders) != len(w.formerElders) {
			return fmt.Errorf("%s: %d elders, want %d after a promotion", label, len(s.Elders), len(w.formerElders))
		}
	}
	return nil
}

// decisionsWithinBudget sums, per decision, the frames every node sent to elders while an elder
// itself (SPEC.md ST-9, ST-12), and checks that every applied decision is within the budget.
func (w *world) decisionsWithinBudget(budget int) error {
	ctx, cancel := stepContext()
	defer cancel()
	type key struct {
		kind, name string
		ordinal    uint64
	}
	sent := map[key]int{}
	applied := map[key]int{}
	for _, n := range w.live() {
		var d decisionsJSON
		if err := n.GetJSON(ctx, "/v1/decisions", &d); err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		for _, x := range d.Decisions {
			k := key{x.Kind, x.Member.Name, x.Member.Ordinal}
			sent[k] += x.ElderFramesSent
			if x.Applied != nil {
				applied[k]++
			}
		}
	}
	if len(applied) == 0 {
		return errors.New("no node reports an applied decision")
	}
	var over []string
	for k := range applied {
		if sent[k] > budget {
			over = append(over, fmt.Sprintf("%s %s@%d: %d frames", k.kind, k.name[:8], k.ordinal, sent[k]))
		}
	}
	if len(over) > 0 {
		sort.Strings(over)
		return fmt.Errorf("over the budget of %d: %s", budget, strings.Join(over, "; "))
	}
	return nil
}
