package cluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stableset/sskit/harness"
)

type zzHood struct {
	Name          string   `json:"name"`
	Version       uint64   `json:"version"`
	Full          []string `json:"full"`
	Half          []string `json:"half"`
	PendingDebuts []string `json:"pending_debuts"`
	Records       []struct {
		Name    string `json:"name"`
		Version uint64 `json:"version"`
	} `json:"records"`
}

func TestZZGossipTimeline(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	n := 64
	impl, err := harness.Refnode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Form(context.Background(), n, Options{Impl: impl, Seed: 1001, StartParallel: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	before, _ := c.gossipFrames(ctx)
	start := time.Now()
	body := fmt.Sprintf(`{"peer": %q}`, c.first.Bootstrap())
	_ = c.forEach(without(c.live, c.first), func(_ int, nd *harness.Node) error {
		_, _, err := nd.Do(ctx, "POST", "/v1/debut", body)
		return err
	})
	for time.Since(start) < 30*time.Second {
		hoods := make([]zzHood, len(c.live))
		_ = c.forEach(c.live, func(i int, nd *harness.Node) error { return nd.GetJSON(ctx, "/v1/neighborhood", &hoods[i]) })
		current := map[string]uint64{}
		for _, h := range hoods {
			current[h.Name] = h.Version
		}
		stale, half, noNb, pend, staleNodes := 0, 0, 0, 0, 0
		full := 0
		for _, h := range hoods {
			held := map[string]uint64{}
			for _, r := range h.Records {
				held[r.Name] = r.Version
			}
			s := 0
			for name, v := range current {
				if name != h.Name && held[name] != v {
					s++
				}
			}
			stale += s
			if s > 0 {
				staleNodes++
			}
			half += len(h.Half)
			full += len(h.Full)
			if len(h.Full)+len(h.Half) == 0 {
				noNb++
			}
			pend += len(h.PendingDebuts)
		}
		after, _ := c.gossipFrames(ctx)
		var frames int64
		for name, f := range after {
			frames += grown(before[name], f)
		}
		fmt.Printf("%6dms stale=%d (nodes %d) full=%d half=%d no-neighbor=%d pending-debuts=%d frames=%d\n",
			time.Since(start).Milliseconds(), stale, staleNodes, full, half, noNb, pend, frames)
		if stale == 0 && half == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
}
