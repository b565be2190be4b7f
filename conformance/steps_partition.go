package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/stableset/sskit/harness"
)

// The partition and mixed-cluster steps of SPEC.md §8: a split of a cluster into a side with a
// majority of the elders and one without (ST-3, ST-11), and a budget check (ST-9) that trusts
// only what reference nodes counted.

// partition is the split a scenario made: both sides, and what the minority side held before it.
type partition struct {
	majority, minority []*harness.Node
	idBefore           string         // the one stableset id before the split
	appliedBefore      map[string]int // per minority node: decisions applied before the split
}

func registerPartitionSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^the network splits (\d+) elders and (\d+) other members from (\d+) elders? and (\d+) other members$`, w.splitNetwork)
	sc.Step(`^within (\d+) seconds every node on the majority side is a member of one stableset of (\d+) members$`, w.majorityAgrees)
	sc.Step(`^the minority side still holds the stableset from before the split, and applied no decision during it$`, w.minorityUnchanged)
	sc.Step(`^the network heals$`, w.healNetwork)
	sc.Step(`^within (\d+) seconds no live node holds a pending change$`, w.nothingPendingAnywhere)
	sc.Step(`^a cluster of (\d+) reference nodes started from one bootstrap, and the node under test joined as the fourth elder$`, w.mixedCluster)
	sc.Step(`^a reference node joins through the node under test$`, w.referenceJoinsThroughNodeUnderTest)
	sc.Step(`^every decision cost at most (\d+) frames among the elders, counting the node under test's frames as the reference elders received them$`, w.mixedDecisionsWithinBudget)
}

// splitNetwork cuts the cluster in two: the eldest majorityElders elders with majorityOthers
// non-elders on one side, the remaining elders with minorityOthers non-elders on the other.
func (w *world) splitNetwork(majorityElders, majorityOthers, minorityElders, minorityOthers int) error {
	if err := harness.NetworkFaultsSupported(); err != nil {
		w.unsupported = err.Error()
		return fmt.Errorf("%w: %v", godog.ErrSkip, err)
	}
	ctx, cancel := stepContext()
	defer cancel()
	sets, err := w.stablesets(ctx)
	if err != nil {
		return err
	}
	var view stablesetJSON
	for _, s := range sets {
		view = s // all agree (the previous step checked it)
		break
	}
	if len(view.Elders) != majorityElders+minorityElders {
		return fmt.Errorf("the cluster has %d elders, the split needs %d", len(view.Elders), majorityElders+minorityElders)
	}
	byName := map[string]*harness.Node{}
	for _, n := range w.live() {
		byName[n.Name.String()] = n
	}
	var others []*harness.Node
	for _, n := range w.live() {
		if !slices.Contains(view.Elders, n.Name.String()) {
			others = append(others, n)
		}
	}
	if len(others) != majorityOthers+minorityOthers {
		return fmt.Errorf("the cluster has %d non-elders, the split needs %d", len(others), majorityOthers+minorityOthers)
	}
	w.split = partition{idBefore: view.ID, appliedBefore: map[string]int{}}
	for i, e := range view.Elders {
		n := byName[e]
		if n == nil {
			return fmt.Errorf("elder %s is not a live node of this cluster", e[:8])
		}
		if i < majorityElders {
			w.split.majority = append(w.split.majority, n)
		} else {
			w.split.minority = append(w.split.minority, n)
		}
	}
	w.split.majority = append(w.split.majority, others[:majorityOthers]...)
	w.split.minority = append(w.split.minority, others[majorityOthers:]...)
	for _, n := range w.split.minority {
		var d decisionsJSON
		if err := n.GetJSON(ctx, "/v1/decisions", &d); err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		w.split.appliedBefore[n.Label()] = d.Applied
	}
	return w.cluster.Partition(ctx, w.split.majority, w.split.minority)
}

func (w *world) majorityAgrees(seconds, want int) error {
	return w.agree(w.split.majority, seconds, want)
}

// minorityQuietWindow is how long the minority side is watched after the majority side decided:
// its elder noticed the silence at the same time as the majority's elders, so a node that
// decided without a majority would have done so by now or within this window.
const minorityQuietWindow = 2 * time.Second

// minorityUnchanged checks, over minorityQuietWindow, that every minority node keeps the id it
// held before the split and has applied no decision since.
func (w *world) minorityUnchanged() error {
	ctx, cancel := stepContext()
	defer cancel()
	return holdsFor(minorityQuietWindow, 200*time.Millisecond, func() error {
		for _, n := range w.split.minority {
			var s stablesetJSON
			if err := n.GetJSON(ctx, "/v1/stableset", &s); err != nil {
				return fmt.Errorf("%s: %w", n.Label(), err)
			}
			if s.ID != w.split.idBefore {
				return fmt.Errorf("%s (minority side) changed its stableset id to %s (%d members) without a majority of the elders",
					n.Label(), s.ID[:8], len(s.Members))
			}
			var d decisionsJSON
			if err := n.GetJSON(ctx, "/v1/decisions", &d); err != nil {
				return fmt.Errorf("%s: %w", n.Label(), err)
			}
			if before := w.split.appliedBefore[n.Label()]; d.Applied != before {
				return fmt.Errorf("%s (minority side) applied %d decisions during the split", n.Label(), d.Applied-before)
			}
		}
		return nil
	})
}

func (w *world) healNetwork() error {
	ctx, cancel := stepContext()
	defer cancel()
	return w.cluster.Heal(ctx)
}

// mixedCluster starts refs reference nodes (the first alone, the others through it) and then
// the node under test through the first, so that with 4 elders every member is an elder.
func (w *world) mixedCluster(refs int) error {
	if err := w.newCluster(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(harness.Closing(), 60*time.Second)
	defer cancel()
	ref, err := harness.Refnode(ctx)
	if err != nil {
		return err
	}
	w.reference = ref
	var first *harness.Node
	for i := 0; i < refs; i++ {
		n, err := w.cluster.AddNodeOf(ctx, ref, func(s *harness.Settings) {
			if first != nil {
				s.Bootstrap = []string{first.Bootstrap()}
			}
		})
		if err != nil {
			return err
		}
		if first == nil {
			first = n
		}
	}
	n, err := w.cluster.AddNode(ctx, first)
	w.node = n
	if err == nil {
		w.run.noteVersion(ctx, n)
	}
	return w.started(err)
}

func (w *world) referenceJoinsThroughNodeUnderTest() error {
	ctx, cancel := stepContext()
	defer cancel()
	_, err := w.cluster.AddNodeOf(ctx, w.reference, func(s *harness.Settings) {
		s.Bootstrap = []string{w.node.Bootstrap()}
	})
	return err
}

// mixedDecisionsWithinBudget checks ST-9 without trusting the node under test's own counts: per
// decision about another node, the frames the reference elders sent to elders, plus the frames
// the reference elders received from the node under test, which is an elder throughout.
func (w *world) mixedDecisionsWithinBudget(budget int) error {
	ctx, cancel := stepContext()
	defer cancel()
	var view stablesetJSON
	if err := w.cluster.Node(0).GetJSON(ctx, "/v1/stableset", &view); err != nil {
		return err
	}
	nut := w.node.Name.String()
	if !slices.Contains(view.Elders, nut) {
		return fmt.Errorf("the node under test %s is not an elder", nut[:8])
	}
	type key struct {
		kind, name string
		ordinal    uint64
	}
	frames := map[key]int{}
	appliedAt := map[key]int{}
	refElders := 0
	for _, n := range w.live() {
		if n == w.node || !slices.Contains(view.Elders, n.Name.String()) {
			continue
		}
		refElders++
		var d decisionsJSON
		if err := n.GetJSON(ctx, "/v1/decisions", &d); err != nil {
			return fmt.Errorf("%s: %w", n.Label(), err)
		}
		for _, x := range d.Decisions {
			if x.Member.Name == nut {
				continue // its own join: it was a joiner then, not an elder
			}
			k := key{x.Kind, x.Member.Name, x.Member.Ordinal}
			frames[k] += x.ElderFramesSent + x.Peers[nut].Received
			if x.Applied != nil {
				appliedAt[k]++
			}
		}
	}
	checked := 0
	var over []string
	for k, n := range appliedAt {
		if n < refElders {
			continue // not applied by every reference elder: not a finished decision
		}
		checked++
		if frames[k] > budget {
			over = append(over, fmt.Sprintf("%s %s@%d: %d frames", k.kind, k.name[:8], k.ordinal, frames[k]))
		}
	}
	if checked < 2 {
		return fmt.Errorf("only %d decisions were applied by all %d reference elders; the scenario made a join and a leave", checked, refElders)
	}
	if len(over) > 0 {
		slices.Sort(over)
		return fmt.Errorf("over the budget of %d: %v", budget, over)
	}
	return nil
}

// nothingPendingAnywhere: once a partition has healed and the nodes agree, no witness of the
// partition's silences stands for long (ST-13), on any live node, as GET /v1/stableset shows.
func (w *world) nothingPendingAnywhere(seconds int) error {
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		var held []string
		for _, n := range w.live() {
			ctx, cancel := stepContext()
			var st adminStableset
			err := n.GetJSON(ctx, "/v1/stableset", &st)
			cancel()
			if err != nil {
				return w.admin(err)
			}
			if p := len(st.Joining) + len(st.Leaving); p > 0 {
				held = append(held, fmt.Sprintf("%s holds %d joining and %d leaving", n.Label(), len(st.Joining), len(st.Leaving)))
			}
		}
		if len(held) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return violates(fmt.Errorf("expected no pending change %d s after the nodes agreed again; %s", seconds, strings.Join(held, "; ")), "ST-13")
		}
		if !pause(200 * time.Millisecond) {
			return fmt.Errorf("interrupted")
		}
	}
}
