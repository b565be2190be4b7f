package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stableset/sskit/harness"
)

// neighborhood is the part of GET /v1/neighborhood (SPEC.md ADM-9) convergence is judged by.
type neighborhood struct {
	Name    string   `json:"name"`
	Version uint64   `json:"version"`
	Half    []string `json:"half"`
	Records []struct {
		Name    string `json:"name"`
		Version uint64 `json:"version"`
	} `json:"records"`
	Changed string `json:"changed"` // SPEC.md ADM-12, a SHOULD: "" from a node that leaves it out
}

// GossipResult is one run of GossipConvergence.
type GossipResult struct {
	// Converged is false when the nodes had not converged by the deadline; Time is then the
	// time waited, and Missing says what was still missing.
	Converged bool
	Time      time.Duration
	// Polled is when the polls first saw the nodes converged. Time is the same unless every
	// node gives its neighborhood's last change (SPEC.md ADM-12, changed): Time is then from the
	// debuts to the latest of those, the moment the last node reached its final state, as
	// memberlist's time comes from its nodes' own clocks; a poll notices it up to one round and
	// pause later.
	Polled    time.Duration
	FromNodes bool
	// Known is when every node first held a record, of any version, of every other node: the
	// moment memberlist's convergence is judged by (every node lists every node), read by the
	// same polls, and at most Time (convergence implies it); zero if that never happened.
	Known time.Duration
	// Frames is the GOSSIP and GOSSIP_FAILURE frames every node sent, from just before the
	// debuts until convergence (GET /v1/counters).
	Frames  int64
	Missing string
}

// GossipConvergence has every node but the first debut through the first at once
// (POST /v1/debut), and waits until every node holds the current record of every other node and
// lists no half link (SPEC.md NB-9, NB-13): the neighborhood a network of nodes that all debuted
// through one node converges to. The cluster's nodes must not have gossiped before.
func (c *Cluster) GossipConvergence(ctx context.Context, deadline time.Duration) (GossipResult, error) {
	before, err := c.gossipFrames(ctx)
	if err != nil {
		return GossipResult{}, err
	}
	start := time.Now()
	body := fmt.Sprintf(`{"peer": %q}`, c.first.Bootstrap())
	err = c.forEach(without(c.live, c.first), func(_ int, n *harness.Node) error {
		code, resp, err := n.Do(ctx, "POST", "/v1/debut", body)
		if err == nil && code != 202 {
			err = fmt.Errorf("%s: POST /v1/debut answered %d: %s", n.Label(), code, resp)
		}
		return err
	})
	if err != nil {
		return GossipResult{}, err
	}
	out := GossipResult{}
	for {
		hoods, err := c.neighborhoods(ctx)
		if err != nil {
			return out, err
		}
		missing, known := describeMissing(hoods)
		out.Time = time.Since(start)
		if known && out.Known == 0 {
			out.Known = out.Time
		}
		if missing == "" {
			out.Converged, out.Polled = true, out.Time
			out.Time, out.FromNodes = convergedAt(start, out.Time, hoods)
			// Every node holding every current record implies every node holding some record
			// of every other: known was true by then, whatever the coarser polls saw.
			out.Known = min(out.Known, out.Time)
			break
		}
		if out.Time > deadline {
			out.Missing = missing
			break
		}
		time.Sleep(roundPause(len(c.live)))
	}
	after, err := c.gossipFrames(ctx)
	if err != nil {
		return out, err
	}
	for name, f := range after {
		out.Frames += grown(before[name], f)
	}
	return out, nil
}

// neighborhoods reads every live node's GET /v1/neighborhood.
func (c *Cluster) neighborhoods(ctx context.Context) ([]neighborhood, error) {
	hoods := make([]neighborhood, len(c.live))
	err := c.forEach(c.live, func(i int, n *harness.Node) error { return n.GetJSON(ctx, "/v1/neighborhood", &hoods[i]) })
	return hoods, err
}

// convergedAt times a convergence the polls saw at polled (counted from start): it returns the
// latest changed among the nodes (ADM-12) and true when every node gives one that lies between
// start and the polls, and otherwise the polls' time and false.
func convergedAt(start time.Time, polled time.Duration, hoods []neighborhood) (time.Duration, bool) {
	if last, ok := lastChange(hoods); ok && last.After(start) && last.Sub(start) <= polled {
		return last.Sub(start), true
	}
	return polled, false
}

// lastChange is the latest changed (SPEC.md ADM-12) among the neighborhoods; false when a node
// gives none, or one that is not an RFC 3339 time.
func lastChange(hoods []neighborhood) (time.Time, bool) {
	var last time.Time
	for _, h := range hoods {
		at, err := time.Parse(time.RFC3339Nano, h.Changed)
		if err != nil {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, len(hoods) > 0
}

// describeMissing says what keeps the nodes whose neighborhoods these are from having
// converged, or "" once they have; known reports whether every node holds a record, of any
// version, of every other node.
func describeMissing(hoods []neighborhood) (string, bool) {
	known := true
	current := map[string]uint64{}
	for _, h := range hoods {
		current[h.Name] = h.Version
	}
	var missing []string
	for _, h := range hoods {
		held := map[string]uint64{}
		for _, r := range h.Records {
			held[r.Name] = r.Version
		}
		var stale []string
		for name, v := range current {
			if name == h.Name {
				continue
			}
			got, ok := held[name]
			known = known && ok
			if got != v {
				stale = append(stale, fmt.Sprintf("%s v%d (current v%d)", name[:8], got, v))
			}
		}
		slices.Sort(stale)
		if len(stale) > 0 || len(h.Half) > 0 {
			missing = append(missing, fmt.Sprintf("%s (v%d) holds %d records missing or old %v, %d half links", h.Name[:8], h.Version, len(stale), stale, len(h.Half)))
		}
	}
	slices.Sort(missing)
	if len(missing) > 8 {
		missing = append(missing[:8], fmt.Sprintf("and %d more nodes", len(missing)-8))
	}
	return strings.Join(missing, "; "), known
}

// gossipFrames reads, per live node, the GOSSIP and GOSSIP_FAILURE frames it has sent.
func (c *Cluster) gossipFrames(ctx context.Context) (map[string]int64, error) {
	var mu sync.Mutex
	out := map[string]int64{}
	err := c.forEach(c.live, func(_ int, n *harness.Node) error {
		counters, err := n.Counters(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		out[n.Name.String()] = counters.Sent["GOSSIP"] + counters.Sent["GOSSIP_FAILURE"]
		mu.Unlock()
		return nil
	})
	return out, err
}

// SaveNeighborhoods writes every live node's GET /v1/neighborhood, as it answered, to
// dir/neighborhoods.json: what a run that did not converge left behind (degrees, pending Debuts,
// the records each node held), to read after its cluster is gone.
func (c *Cluster) SaveNeighborhoods(ctx context.Context, dir string) error {
	hoods := make([]json.RawMessage, len(c.live))
	err := c.forEach(c.live, func(i int, n *harness.Node) error { return n.GetJSON(ctx, "/v1/neighborhood", &hoods[i]) })
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(hoods, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "neighborhoods.json"), b, 0o644)
}
