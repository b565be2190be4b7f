package gossip

import (
	"bytes"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// Rulebook 69 (GP produce filters k != target) and 84 (custom reporting): one gossip per listed
// neighbor, half neighbors included, none holding its target's record.
func TestOneCustomGossipPerNeighborNeverWithTheTargetsRecord(t *testing.T) {
	f := newFixture(t)
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	f.link(a, true, true, 1)
	f.link(b, true, true, 1)
	f.link(c, false, true, 1)
	msgs := f.db.Broadcast()
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want one per listed neighbor", len(msgs))
	}
	for _, m := range msgs {
		if m.Type != Standard || m.Kind != KindGossip {
			t.Fatalf("message to %s is %v", short(m.To), m.Type)
		}
		rs := decode(t, m)
		if _, ok := find(rs, m.To); ok {
			t.Fatalf("gossip to %s holds its own record", short(m.To))
		}
		if _, ok := find(rs, f.me.name); !ok {
			t.Fatalf("gossip to %s lacks the sender's record", short(m.To))
		}
		if len(rs) != 3 {
			t.Fatalf("gossip to %s has %d records, want ours and the 2 other neighbors'", short(m.To), len(rs))
		}
	}
}

// Rulebook 84 (produce_reveals_and_conceals_node_addrs_appropriately,
// produce_does_not_reveal_root_node_addr_if_root_does_not_accept_connections): the own record
// goes without its address; another node's address goes only to a node that lists it, and
// only when no concealed form is held; otherwise the record is left out.
func TestGossipRevealsAddressesOnlyAsAllowed(t *testing.T) {
	f := newFixture(t)
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	f.link(a, true, true, 2)
	f.store(a.addressed(t, 2, f.me.name, c.name)) // a lists c
	f.link(b, true, true, 1)                      // b does not
	f.store(c.addressed(t, 1, a.name))            // only c's addressed form is held
	toA, _ := f.db.Gossip(a.name)
	toB, _ := f.db.Gossip(b.name)
	ra, rb := decode(t, toA), decode(t, toB)
	if r, ok := find(ra, c.name); !ok || r.Addr != c.addr {
		t.Fatal("c's address was not revealed to its neighbor a")
	}
	if _, ok := find(rb, c.name); ok {
		t.Fatal("c's record with its address went to b, which does not list c")
	}
	for _, rs := range [][]wireRecord{toWire(ra), toWire(rb)} {
		for _, r := range rs {
			if r.name == f.me.name && r.hasAddr {
				t.Fatal("the own record was sent with its address")
			}
			if r.name == a.name && r.hasAddr {
				t.Fatal("a's address was revealed although its concealed form is not held... or to a itself")
			}
		}
	}
	// Once the concealed form of c's version is held, everyone gets that.
	f.store(c.concealed(t, 1, a.name))
	toB, _ = f.db.Gossip(b.name)
	if r, ok := find(decode(t, toB), c.name); !ok || r.Addr.IsValid() {
		t.Fatal("c's concealed record did not go to b")
	}
}

type wireRecord struct {
	name    wire.Name
	hasAddr bool
}

func toWire(rs []record.Record) []wireRecord {
	var out []wireRecord
	for _, r := range rs {
		out = append(out, wireRecord{r.Name, r.Addr.IsValid()})
	}
	return out
}

// Rulebook 85 (produce_does_not_gossip_about_isolated_nodes_but_does_not_immediately_remove_
// them, produce_removes_nodes_that_are_isolated_and_stale, cull_dead_nodes_*).
func TestUnreferencedNodesAreNotGossipedAndAreCulledWhenStale(t *testing.T) {
	f := newFixture(t)
	a, z, y := newPeer(1), newPeer(2), newPeer(3)
	f.link(a, true, true, 1)
	f.store(z.concealed(t, 1, y.name)) // nobody lists z
	f.store(y.concealed(t, 1))         // only z lists y
	m, _ := f.db.Gossip(a.name)
	rs := decode(t, m)
	if _, ok := find(rs, z.name); ok {
		t.Fatal("an unreferenced node was gossiped")
	}
	if _, ok := find(rs, y.name); !ok {
		t.Fatal("a referenced node was left out")
	}
	if _, ok := f.db.Record(z.name); !ok {
		t.Fatal("the unreferenced node was removed at once")
	}
	if dead := f.db.Cull(t0.Add(10 * time.Second)); len(dead) != 0 {
		t.Fatal("a node was culled inside its grace period")
	}
	if dead := f.db.Cull(t0.Add(50 * time.Second)); len(dead) != 0 {
		t.Fatal("culling ran twice within the interval")
	}
	dead := f.db.Cull(t0.Add(71 * time.Second))
	if len(dead) != 1 || dead[0] != z.name {
		t.Fatalf("culled %d nodes, want z alone (culling does not recurse)", len(dead))
	}
	if dead := f.db.Cull(t0.Add(132 * time.Second)); len(dead) != 1 || dead[0] != y.name {
		t.Fatal("y, unreferenced once z was gone, was not culled next time")
	}
	if _, ok := f.db.Record(a.name); !ok {
		t.Fatal("a neighbor was culled")
	}
}

// Rulebook 86 (produce_does_not_make_gossip_about_nonexistent_or_removed_nodes).
func TestNoGossipForATargetWithoutRecord(t *testing.T) {
	f := newFixture(t)
	if _, ok := f.db.Gossip(newPeer(1).name); ok {
		t.Fatal("gossip was made for an unknown node")
	}
	f.db.addNeighbor(newPeer(2).name)
	if msgs := f.db.Broadcast(); len(msgs) != 0 {
		t.Fatal("gossip was made for a neighbor without a record")
	}
}

// Rulebook 87 (gossips_after_removing_a_neighbor, remove_neighbor_*): a closed link is withdrawn
// and gossiped, with one version more, and the address it signed forgotten; a node that was not
// a neighbor gets nothing.
func TestDisconnectWithdrawsTheLinkAndGossipsIt(t *testing.T) {
	f := newFixture(t)
	a, b := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	f.link(b, true, true, 1)
	version := f.db.Version()
	res := f.db.Disconnect(a.name)
	if !res.Changed || f.db.Version() != version+1 || f.db.lists(f.me.name, a.name) {
		t.Fatalf("got %s", describe(res))
	}
	if m := only(t, res); m.To != b.name {
		t.Fatal("the disconnection did not go to the remaining neighbor")
	}
	if _, ok := f.db.Addr(a.name); ok {
		t.Fatal("the address was kept")
	}
	if res := f.db.Disconnect(newPeer(3).name); res.Changed || len(res.Messages) != 0 || f.db.Version() != version+1 {
		t.Fatal("disconnecting a non-neighbor did something")
	}
}

// A body never exceeds MaxBodySize; the own record always fits.
func TestGossipStaysWithinTheBodySize(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	f.link(a, true, true, 1)
	hub := newPeer(2)
	var spokes []wire.Name
	for _, p := range peers(10, 400) {
		f.store(p.concealed(t, 1, hub.name))
		spokes = append(spokes, p.name)
	}
	for i := 0; i < len(spokes); i += 250 {
		end := min(i+250, len(spokes))
		h := hub
		h.key, h.name = newPeer(3+i).key, newPeer(3+i).name
		f.store(h.concealed(t, 1, spokes[i:end]...))
	}
	m, _ := f.db.Gossip(a.name)
	if len(m.Body) > MaxBodySize {
		t.Fatalf("body of %d bytes", len(m.Body))
	}
	if _, ok := find(decode(t, m), f.me.name); !ok {
		t.Fatal("the own record was left out")
	}
}

// NB-4: with DeferStandard, a Standard gossip is made when the runtime sends it, for its target
// as things then stand, but with the own record of the version it was made for: each version
// goes to every neighbor it lists, and a newer one follows it.
func TestDeferredStandardGossipIsMadeWhenSent(t *testing.T) {
	f := newFixture(t)
	f.db.cfg.DeferStandard = true
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	f.link(a, true, true, 1)
	f.link(b, true, true, 1)
	toA, ok := f.db.Gossip(a.name)
	if !ok || !toA.Deferred() || toA.Body != nil {
		t.Fatalf("gossip to a made at once (deferred %v, %d bytes), want its body left for later", toA.Deferred(), len(toA.Body))
	}
	made := f.db.Version()
	// After it was made: b lists c, whose record arrives, and c becomes a neighbor (a new version).
	f.store(b.concealed(t, 2, f.me.name, c.name))
	f.store(c.concealed(t, 1, b.name))
	f.link(c, true, true, 1)
	if f.db.Version() == made {
		t.Fatal("linking c did not change the own record")
	}
	body, ok := f.db.StandardBody(toA)
	if !ok {
		t.Fatal("no body for a, whose record is held")
	}
	rs := decode(t, Message{To: a.name, Kind: KindGossip, Body: body})
	if own, _ := find(rs, f.me.name); own.Version != made {
		t.Errorf("own record at version %d, want %d, the one the gossip was made for", own.Version, made)
	}
	if r, ok := find(rs, b.name); !ok || r.Version != 2 {
		t.Errorf("b's record %+v (held %v), want version 2, as things stand", r, ok)
	}
	if _, ok := find(rs, c.name); !ok {
		t.Error("c's record, stored after the gossip was made, is not in it")
	}
	// Of the present version, the body is what a node that makes it at once sends.
	now, _ := f.db.Gossip(a.name)
	deferred, _ := f.db.StandardBody(now)
	f.db.cfg.DeferStandard = false
	eager, _ := f.db.Gossip(a.name)
	if !bytes.Equal(deferred, eager.Body) {
		t.Error("a deferred gossip of the present version differs from one made at once")
	}
	if _, ok := f.db.StandardBody(eager); ok {
		t.Error("StandardBody made a body for a gossip that already had one")
	}
	f.db.Ban(a.name, nil, t0)
	if _, ok := f.db.StandardBody(toA); ok {
		t.Error("a body for a banned target, whose record is gone")
	}
}
