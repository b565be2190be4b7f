package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/admin"
	"github.com/stableset/sskit/refnode/gossip"
	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

func startTestNode(t *testing.T, id *identity.Identity, dataDir string) *Node {
	t.Helper()
	if id == nil {
		var err error
		if id, err = identity.Generate(); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Start(Config{Identity: id, Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", ElderSize: 4, DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopTestNode(t, n) })
	return n
}

func stopTestNode(t *testing.T, n *Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("shutdown: %v", err)
	}
}

// eventually polls check until it passes or 10 s are up.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDebutsMakeFullNeighborsAndVersionsCountChanges(t *testing.T) {
	a, b, c := startTestNode(t, nil, ""), startTestNode(t, nil, ""), startTestNode(t, nil, "")
	if v := a.Neighborhood().Version; v != 1 {
		t.Fatalf("a fresh node's version is %d, want 1", v)
	}
	for _, n := range []*Node{b, c} {
		if err := n.Debut(testCtx(t), a.cfg.Identity.Name, a.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "a lists b and c as full neighbors", func() error {
		nb := a.Neighborhood()
		if !slices.Contains(nb.Full, b.cfg.Identity.Name.String()) || !slices.Contains(nb.Full, c.cfg.Identity.Name.String()) {
			return fmt.Errorf("full %v half %v", nb.Full, nb.Half)
		}
		return nil
	})
	// a listed two neighbors and changed nothing else: exactly two versions more.
	if v := a.Neighborhood().Version; v != 3 {
		t.Fatalf("a's version after two neighbors is %d, want 3", v)
	}
	if err := b.Debut(testCtx(t), b.cfg.Identity.Name, b.Addr()); !errors.Is(err, admin.ErrSelf) {
		t.Fatalf("debut to self: %v", err)
	}
}

// A peer that sends gossip that does not decode is banned: its connection closes, it cannot
// connect again, and the ban and the version survive a restart from the same data directory.
func TestBanClosesRefusesAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, id, dir)
	bad, err := transport.Listen(transport.Config{Identity: mustIdentity(t), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	p, err := bad.Connect(testCtx(t), id.Name, n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(testCtx(t), wire.TypeGossip, []byte("not gossip")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the node kept the malefactor's connection open")
	}
	bans := n.Neighborhood().Bans
	if len(bans) != 1 || bans[0].Name != bad.Name().String() {
		t.Fatalf("bans %+v", bans)
	}
	if _, err := bad.Request(testCtx(t), id.Name, n.Addr(), wire.TypePing, nil, nil); err == nil {
		t.Fatal("a banned peer got a PONG")
	}
	if err := n.Debut(testCtx(t), bad.Name(), bad.Addr()); !errors.Is(err, admin.ErrBanned) {
		t.Fatalf("debut to a banned name: %v", err)
	}
	before := n.Neighborhood().Version
	stopTestNode(t, n)

	var st savedState
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil || json.Unmarshal(raw, &st) != nil || st.Version != before || len(st.Bans) != 1 {
		t.Fatalf("saved state %s (%v), want version %d and one ban", raw, err, before)
	}
	again := startTestNode(t, id, dir)
	nb := again.Neighborhood()
	if nb.Version != before+1 || len(nb.Bans) != 1 || nb.Bans[0].Name != bad.Name().String() {
		t.Fatalf("after restart: version %d (want %d), bans %+v", nb.Version, before+1, nb.Bans)
	}
	if _, err := bad.Request(testCtx(t), id.Name, again.Addr(), wire.TypePing, nil, nil); err == nil {
		t.Fatal("a banned peer got a PONG after the restart")
	}
}

func mustIdentity(t *testing.T) *identity.Identity {
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The core's failure reasons are the frame's (SPEC.md §4), byte for byte.
func TestFailureReasonsMatchTheCatalogue(t *testing.T) {
	for _, r := range []gossip.FailureReason{gossip.NoNeighbors, gossip.NoSuitableNeighbors, gossip.ManualRejection, gossip.UnknownFailure} {
		if err := wire.CheckGossipFailure(gossip.AppendFailure(nil, r)); err != nil {
			t.Errorf("%v: %v", r, err)
		}
	}
}

// A node that holds many records paces its Standard gossip twice as long, never past NB-4's
// 200 ms, and never shorter than it was asked to; a pace of 0 stays 0.
func TestPaceDoublesInACrowdUpToNB4sBound(t *testing.T) {
	for _, c := range []struct {
		pace time.Duration
		held int64
		want time.Duration
	}{
		{100 * time.Millisecond, CrowdedGossipRecords - 1, 100 * time.Millisecond},
		{100 * time.Millisecond, CrowdedGossipRecords, 200 * time.Millisecond},
		{150 * time.Millisecond, CrowdedGossipRecords, 200 * time.Millisecond},
		{300 * time.Millisecond, CrowdedGossipRecords, 300 * time.Millisecond},
		{0, CrowdedGossipRecords, 0},
	} {
		g := &neighborhood{cfg: GossipConfig{Pace: c.pace}}
		g.held.Store(c.held)
		if got := g.pace(); got != c.want {
			t.Errorf("pace %v holding %d records: %v, want %v", c.pace, c.held, got, c.want)
		}
	}
}
