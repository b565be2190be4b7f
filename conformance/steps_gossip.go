package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v21"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// The gossip steps (SPEC.md §9) put scripted peers next to the node under test as neighbors,
// have them send honest or deceptive gossip, and check the outcome from outside: the frames the
// node sends, its handshakes, and GET /v1/neighborhood and /v1/route. Cluster steps debut nodes
// under test through one another and check the whole neighborhood they build.

type neighborhoodJSON struct {
	Name    string   `json:"name"`
	Version uint64   `json:"version"`
	Accepts bool     `json:"accepts"`
	Addr    string   `json:"addr"`
	Full    []string `json:"full"`
	Half    []string `json:"half"`
	Records []struct {
		Name      string   `json:"name"`
		Version   uint64   `json:"version"`
		Neighbors []string `json:"neighbors"`
	} `json:"records"`
	Bans []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
		At     string `json:"at"`
	} `json:"bans"`
	PendingDebuts  []string `json:"pending_debuts"`
	DroppedRecords uint64   `json:"dropped_records"`
	Changed        string   `json:"changed"` // ADM-12, a SHOULD: "" from a node that leaves it out
}

type routeJSON struct {
	Hops  int      `json:"hops"`
	Route []string `json:"route"`
}

// gossiper is a scripted peer's side of the neighborhood: the versions of its record it signed.
type gossiper struct {
	accepts bool
	addr    netip.AddrPort // the address its records give, when it accepts connections
	version uint64         // the last version it sent

	// What the harness signed for it, so that the node's gossip can be judged against it:
	// the highest version signed (its exact bytes, which a relay must pass on unchanged, NB-3)
	// and every name any version listed (the targets NB-4 lets learn its address).
	held        []byte
	heldVersion uint64
	everListed  map[wire.Name]bool
}

type gossipSteps struct {
	w         *world
	gossipers map[string]*gossiper
	before    uint64    // the node's version before a restart
	changed   time.Time // the node's neighborhood's changed as last read (ADM-12)

	// event is when the scenario's latest run of When steps began: what a Then step says
	// happens "on the change" is judged from the frames received after it.
	event    time.Time
	inAction bool // the step before this one was a When step (or an And after one)
}

// gossipInterval is how often a node gossips to each neighbor although nothing changed (NB-14,
// refnode --gossip-interval). It is not a setting of the node contract (SPEC.md §6): the
// harness starts every node without one, so a node's periodic rounds are this far apart.
const gossipInterval = 10 * time.Second

func registerGossipSteps(sc *godog.ScenarioContext, w *world) {
	g := &gossipSteps{w: w, gossipers: map[string]*gossiper{}}
	w.gossip = g
	registerNeighborSteps(sc, g)
	sc.StepContext().Before(func(ctx context.Context, st *godog.Step) (context.Context, error) {
		action := st.Type == messages.PickleStepType_ACTION
		if action && !g.inAction {
			g.event = time.Now()
		}
		g.inAction = action
		return ctx, nil
	})
	sc.Step(`^scripted peers? "([^"]+)" (?:is a|are) full neighbors? of the node$`, func(names string) error { return g.fullNeighbors(names, true) })
	sc.Step(`^scripted peers? "([^"]+)" (?:is a|are) full neighbors? of the node that accepts? no connections$`, func(names string) error { return g.fullNeighbors(names, false) })
	sc.Step(`^scripted peer "([^"]+)" debuts to the node$`, g.debuts)
	sc.Step(`^scripted peer "([^"]+)" debuts to the node with (a record giving an address on another IP|an address while accepting no connections)$`, g.debutsLying)
	sc.Step(`^peer "([^"]+)" receives a Pass naming the least-connected of the node's neighbors, the lowest name among equals, with its address$`, g.receivesPass)
	sc.Step(`^peer "([^"]+)" receives a GOSSIP_FAILURE with reason NO_SUITABLE_NEIGHBORS$`, g.receivesFailure)
	sc.Step(`^peer "([^"]+)" receives a debut back: the node's record alone, with its address, listing "([^"]+)"$`, g.receivesDebutBack)
	sc.Step(`^the node lists (\d+) full neighbors and is at version (\d+)$`, g.nodeListsFull)
	sc.Step(`^the node's neighborhood says when it last changed, a time that stays put while nothing changes$`, g.changedStaysPut)
	sc.Step(`^the node's neighborhood last changed after the debut began, and stays put again$`, g.changedSinceEvent)
	sc.Step(`^peer "([^"]+)" sends gossip holding (.+)$`, g.sendsGossip)
	sc.Step(`^the node lists "([^"]+)" among its bans$`, g.nodeBans)
	sc.Step(`^peer "([^"]+)" receives within (\d+) seconds? gossip in which the node's next version no longer lists "([^"]+)"$`, g.receivesWithdrawal)
	sc.Step(`^peer "([^"]+)" is refused when it connects to the node again$`, g.refusedAgain)
	sc.Step(`^the node has banned no one and lists "([^"]+)" as full neighbors$`, g.noBans)
	sc.Step(`^the node has banned no one else: "([^"]+)" is still a full neighbor$`, g.noOtherBans)
	sc.Step(`^the node holds version (\d+) of "([^"]+)"'s record$`, g.holdsVersion)
	sc.Step(`^peer "([^"]+)" never receives its own record from the node$`, g.neverOwnRecord)
	sc.Step(`^peer "([^"]+)" sends a GOSSIP_FAILURE with reason (\d+)$`, g.sendsFailure)
	sc.Step(`^the node is restarted$`, g.restart)
	sc.Step(`^the node's version is one above what it was before the restart$`, g.versionAboveRestart)
	sc.Step(`^POST /v1/debut naming peer "([^"]+)" answers (\d+) with code "([^"]+)"$`, g.debutAnswers)
	sc.Step(`^GET /v1/route to peer "([^"]+)" answers 404 with code "no_route" and a reason$`, g.noRoute)
	sc.Step(`^(\d+) nodes under test debut in sequence through the first one$`, g.clusterDebuts)
	sc.Step(`^within (\d+) seconds every node has degree at most (\d+), only full links, and every other node's current record$`, g.converged)
	sc.Step(`^every two nodes at least 3 hops apart have a route, and every route a node gives keeps NB-13$`, g.routes)
}

// --- scripted neighbors ---------------------------------------------------------------------

func (g *gossipSteps) gossiper(name string) *gossiper {
	gp := g.gossipers[name]
	if gp == nil {
		gp = &gossiper{}
		g.gossipers[name] = gp
	}
	return gp
}

// record is the peer's own record at version v, with its address when addressed.
func (g *gossipSteps) record(name string, v uint64, addressed bool, neighbors ...wire.Name) []byte {
	p, gp := g.w.peer(name), g.gossiper(name)
	r := peer.Record{Name: p.id.Name(), Version: v, Accepts: gp.accepts, Neighbors: neighbors}
	if addressed && gp.accepts {
		r.Addr = gp.addr
	}
	b := p.id.SignRecord(r)
	g.signed(gp, v, b, neighbors)
	return b
}

// heldRecord is the record the harness signed last for the peer, read back, if it signed one.
func (gp *gossiper) heldRecord() (peer.SignedRecord, bool) {
	if gp.held == nil {
		return peer.SignedRecord{}, false
	}
	recs, err := peer.ParseGossip(peer.GossipBody(gp.held))
	if err != nil {
		return peer.SignedRecord{}, false // a record the harness signed always parses
	}
	return recs[0], true
}

// signed notes a record the harness signed for a scripted peer (see gossiper).
func (g *gossipSteps) signed(gp *gossiper, v uint64, b []byte, neighbors []wire.Name) {
	if v > gp.heldVersion {
		gp.held, gp.heldVersion = slices.Clone(b), v // a malefactor's step may damage b after
	}
	if gp.everListed == nil {
		gp.everListed = map[wire.Name]bool{}
	}
	for _, n := range neighbors {
		gp.everListed[n] = true
	}
}

// debut connects the peer and sends its Debut: its record alone at version 1, with the
// address its connection comes from when it accepts connections.
//
// A peer that accepts connections listens, and dials from its listening socket, so that the
// address its record gives is one the node can reach it at (for a Pass or an Introduction).
// The record lists the names given, as the Debut of a node that answers a Pass or an
// Introduction does.
func (g *gossipSteps) debut(name string, accepts bool, lists ...wire.Name) error {
	dial := func(name string, n *harness.Node) error { return g.w.dial(name, n) }
	if accepts {
		dial = g.w.dialFromListener
	}
	if err := dial(name, g.w.node); err != nil {
		return err
	}
	c, _ := g.w.conn(name)
	gp := g.gossiper(name)
	gp.accepts, gp.addr, gp.version = accepts, c.LocalAddr(), 1
	return c.SendGossip(peer.GossipBody(g.record(name, 1, true, lists...)))
}

func (g *gossipSteps) debuts(name string) error { return g.debut(name, true) }

// answerToDebut is the first GOSSIP the node sent the peer: its answer to the peer's Debut.
func (g *gossipSteps) answerToDebut(name string) ([]peer.SignedRecord, error) {
	c, err := g.w.conn(name)
	if err != nil {
		return nil, err
	}
	return g.nextGossip(c, 0)
}

// debutsLying sends a Debut that NB-10 bans: an address the sender's packets do not come from,
// or an address on a record that says the node accepts no connections.
func (g *gossipSteps) debutsLying(name, lie string) error {
	if err := g.w.dial(name, g.w.node); err != nil {
		return err
	}
	c, _ := g.w.conn(name)
	id := g.w.peer(name).id
	r := peer.Record{Name: id.Name(), Version: 1, Accepts: true, Addr: netip.MustParseAddrPort("192.0.2.77:4000")}
	if lie == "an address while accepting no connections" {
		r.Accepts, r.Addr = false, c.LocalAddr()
	}
	return c.SendGossip(peer.GossipBody(id.SignRecord(r)))
}

// fullNeighbors makes each peer a full neighbor: it debuts, waits for the node's answer, then
// sends version 2 of its record listing the node, and waits until the node lists it as full.
func (g *gossipSteps) fullNeighbors(names string, accepts bool) error {
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		if err := g.debut(name, accepts); err != nil {
			return err
		}
		c, _ := g.w.conn(name)
		if _, err := g.nextGossip(c, 0); err != nil {
			return fmt.Errorf("expected the node to answer the Debut of peer %q: %w", name, err)
		}
		g.gossiper(name).version = 2
		if err := c.SendGossip(peer.GossipBody(g.record(name, 2, false, g.w.node.Name))); err != nil {
			return err
		}
		id := g.w.peer(name).id.Name().String()
		if err := g.awaitNeighborhood(func(nb neighborhoodJSON) error {
			if !slices.Contains(nb.Full, id) {
				return fmt.Errorf("expected peer %q among the node's full neighbors, got full %v half %v", name, nb.Full, nb.Half)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func isGossip(f peer.Frame) bool { return f.Header.Type == wire.TypeGossip }

// nextGossip waits for a GOSSIP from the node after the first `from` frames the peer received.
func (g *gossipSteps) nextGossip(c *peer.Conn, from int) ([]peer.SignedRecord, error) {
	ctx, cancel := stepContext()
	defer cancel()
	seen := 0
	f, err := c.WaitFrame(ctx, func(f peer.Frame) bool {
		seen++
		return seen > from && isGossip(f)
	})
	if err != nil {
		return nil, err
	}
	recs, err := peer.ParseGossip(f.Body)
	if err != nil {
		return nil, fmt.Errorf("the node sent a GOSSIP that is not valid (NB-1): %w", err)
	}
	return recs, nil
}

func (g *gossipSteps) neighborhood(n *harness.Node) (neighborhoodJSON, error) {
	ctx, cancel := stepContext()
	defer cancel()
	var nb neighborhoodJSON
	err := g.w.admin(n.GetJSON(ctx, "/v1/neighborhood", &nb))
	return nb, err
}

func (g *gossipSteps) awaitNeighborhood(check func(neighborhoodJSON) error) error {
	return await(func() error {
		nb, err := g.neighborhood(g.w.node)
		if err != nil {
			return err
		}
		return check(nb)
	})
}

// receivesPass judges a debutant's answer at the degree limit (NB-5): a Pass naming the
// least-connected neighbor that suits (accepts connections, is not the debutant), the lowest
// name among equals, with that neighbor's address. Degrees are those of the records the
// scripted neighbors signed last.
func (g *gossipSteps) receivesPass(name string) error {
	recs, err := g.answerToDebut(name)
	if err != nil {
		return err
	}
	nb, err := g.neighborhood(g.w.node)
	if err != nil {
		return err
	}
	best, bestDegree, bestName := "", -1, ""
	for peerName, gp := range g.gossipers {
		id := g.w.peer(peerName).id.Name().String()
		held, ok := gp.heldRecord()
		if peerName == name || !gp.accepts || !ok || !(slices.Contains(nb.Full, id) || slices.Contains(nb.Half, id)) {
			continue
		}
		if d := len(held.Neighbors); bestDegree < 0 || d < bestDegree || d == bestDegree && id < best {
			best, bestDegree, bestName = id, d, peerName
		}
	}
	if best == "" {
		return errors.New("the scenario gave the node no neighbor that suits a Pass")
	}
	if len(recs) != 1 || recs[0].Name.String() != best || recs[0].Addr != g.gossiper(bestName).addr {
		return violates(fmt.Errorf("expected a Pass naming %q (degree %d, the lowest name among the least-connected neighbors), with its address %v; got %d records %v",
			bestName, bestDegree, g.gossiper(bestName).addr, len(recs), describeRecords(recs)), "NB-5")
	}
	return nil
}

func (g *gossipSteps) receivesFailure(name string) error {
	c, err := g.w.conn(name)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	f, err := c.WaitFrame(ctx, func(f peer.Frame) bool { return isGossip(f) || f.Header.Type == wire.TypeGossipFailure })
	if err != nil {
		return err
	}
	if f.Header.Type != wire.TypeGossipFailure || !bytes.Equal(f.Body, []byte{wire.FailureNoSuitableNeighbors}) {
		return violates(fmt.Errorf("expected GOSSIP_FAILURE with reason 2, got %v body %x", f.Header.Type, f.Body), "NB-5")
	}
	return nil
}

func (g *gossipSteps) receivesDebutBack(name, listed string) error {
	recs, err := g.answerToDebut(name)
	if err != nil {
		return err
	}
	want := g.w.peer(listed).id.Name()
	if len(recs) != 1 || recs[0].Name != g.w.node.Name || recs[0].Addr != g.w.node.QUIC() || !recs[0].Accepts || !recs[0].Lists(want) {
		return violates(fmt.Errorf("expected the node's record alone, with address %v, listing %q; got %v", g.w.node.QUIC(), listed, describeRecords(recs)), "NB-5")
	}
	return nil
}

func describeRecords(recs []peer.SignedRecord) string {
	var parts []string
	for _, r := range recs {
		parts = append(parts, fmt.Sprintf("{%s v%d addr=%v neighbors=%d}", r.Name.String()[:8], r.Version, r.Addr, len(r.Neighbors)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (g *gossipSteps) nodeListsFull(count int, version uint64) error {
	return g.awaitNeighborhood(func(nb neighborhoodJSON) error {
		if len(nb.Full) != count || len(nb.Half) != 0 || nb.Version != version {
			err := fmt.Errorf("expected %d full neighbors, no half one and version %d; got full %d half %d version %d",
				count, version, len(nb.Full), len(nb.Half), nb.Version)
			if len(nb.Full) == count && len(nb.Half) == 0 {
				return violates(err, "NB-2") // the right links at the wrong version: each change adds exactly 1
			}
			return err
		}
		return nil
	})
}

// --- when the neighborhood last changed (ADM-12) ---------------------------------------------

// changedQuiet is how long an idle node's changed is watched for not moving: two reads this far
// apart, with a GET /v1/neighborhood between them that must not move it either.
const changedQuiet = 300 * time.Millisecond

// changedSlack is how much earlier than the harness's clock a node's changed may read: a node
// that gives milliseconds only truncates up to one.
const changedSlack = 2 * time.Millisecond

// readChanged reads ADM-12's changed from the node under test.
func (g *gossipSteps) readChanged() (time.Time, error) {
	nb, err := g.neighborhood(g.w.node)
	if err != nil {
		return time.Time{}, err
	}
	if nb.Changed == "" {
		return time.Time{}, violates(errors.New("GET /v1/neighborhood gives no changed"), "ADM-12")
	}
	at, err := time.Parse(time.RFC3339Nano, nb.Changed)
	if err != nil {
		return time.Time{}, violates(fmt.Errorf("changed %q is not an RFC 3339 time: %w", nb.Changed, err), "ADM-12")
	}
	if now := time.Now(); at.After(now) {
		return time.Time{}, violates(fmt.Errorf("changed %s is after the harness's now, %s", nb.Changed, now.UTC().Format(time.RFC3339Nano)), "ADM-12")
	}
	return at, nil
}

// changedStaysPut reads changed three times over changedQuiet and requires the same time each
// time: nothing changed, so the admin requests themselves must not move it.
func (g *gossipSteps) changedStaysPut() error {
	first, err := g.readChanged()
	if err != nil {
		return err
	}
	for range 2 {
		time.Sleep(changedQuiet / 2) // nothing to await: the point is that nothing happens
		again, err := g.readChanged()
		if err != nil {
			return err
		}
		if !again.Equal(first) {
			return violates(fmt.Errorf("changed moved from %s to %s while nothing changed but admin requests",
				first.UTC().Format(time.RFC3339Nano), again.UTC().Format(time.RFC3339Nano)), "ADM-12")
		}
	}
	g.changed = first
	return nil
}

// changedSinceEvent requires changed to have moved into the time since the scenario's When step
// began (its debut stored a record and raised the node's version), then to stay put again.
func (g *gossipSteps) changedSinceEvent() error {
	at, err := g.readChanged()
	if err != nil {
		return err
	}
	if at.Before(g.event.Add(-changedSlack)) {
		return violates(fmt.Errorf("changed %s (before: %s) is before the debut began at %s, although the debut changed the node's records",
			at.UTC().Format(time.RFC3339Nano), g.changed.UTC().Format(time.RFC3339Nano), g.event.UTC().Format(time.RFC3339Nano)), "ADM-12")
	}
	return g.changedStaysPut()
}

// --- deceptive and honest gossip ------------------------------------------------------------

// sendsGossip sends one gossip that breaks a rule of NB-10, or keeps them all.
func (g *gossipSteps) sendsGossip(name, what string) error {
	c, err := g.w.conn(name)
	if err != nil {
		return err
	}
	me := g.w.peer(name)
	gp := g.gossiper(name)
	node := g.w.node.Name
	next := func() []byte { return g.record(name, gp.version+1, false, node) }
	var body []byte
	switch {
	case what == "bytes that are not gossip":
		body = []byte("these bytes are no gossip")
	case what == "its own record with a bad signature":
		r := next()
		r[len(r)-1] ^= 0x01
		body = peer.GossipBody(r)
	case strings.HasPrefix(what, `"`) && strings.HasSuffix(what, `"'s record tampered with`):
		other := g.w.peer(strings.Split(what, `"`)[1])
		relayed := other.id.SignRecord(peer.Record{Name: other.id.Name(), Version: 9, Neighbors: []wire.Name{node}})
		relayed[9] ^= 0x01 // version 9 becomes 8: the payload no longer matches its signature
		body = peer.GossipBody(peer.SortRecords(next(), relayed)...)
	case what == "the node's own record":
		own, err := g.nodeRecordSeenBy(c)
		if err != nil {
			return err
		}
		body = peer.GossipBody(peer.SortRecords(next(), own)...)
	case what == "its own record with another address":
		r := peer.Record{Name: me.id.Name(), Version: gp.version + 1, Accepts: true,
			Addr: netip.AddrPortFrom(gp.addr.Addr(), gp.addr.Port()+1), Neighbors: []wire.Name{node}}
		body = peer.GossipBody(me.id.SignRecord(r))
	case what == "its own record at a lower version than it sent before":
		body = peer.GossipBody(g.record(name, gp.version-1, false, node))
	case what == "a record claiming the node's address":
		stranger := peer.RandomIdentity()
		forged := stranger.SignRecord(peer.Record{Name: stranger.Name(), Version: 1, Accepts: true, Addr: g.w.node.QUIC()})
		body = peer.GossipBody(peer.SortRecords(next(), forged)...)
	case what == "two records claiming one address":
		a, b := peer.RandomIdentity(), peer.RandomIdentity()
		addr := netip.MustParseAddrPort("192.0.2.78:4000")
		ra := a.SignRecord(peer.Record{Name: a.Name(), Version: 1, Accepts: true, Addr: addr})
		rb := b.SignRecord(peer.Record{Name: b.Name(), Version: 1, Accepts: true, Addr: addr})
		body = peer.GossipBody(peer.SortRecords(next(), ra, rb)...)
	case what == "records out of name order":
		stranger := peer.RandomIdentity()
		other := stranger.SignRecord(peer.Record{Name: stranger.Name(), Version: 1})
		sorted := peer.SortRecords(next(), other)
		body = peer.GossipBody(sorted[1], sorted[0])
	case what == "its own record followed by other bytes":
		body = append(peer.GossipBody(next()), 0x00, 0x01) // NB-1: nothing follows the last record
	case what == "a Pass without an address":
		stranger := peer.RandomIdentity()
		body = peer.GossipBody(stranger.SignRecord(peer.Record{Name: stranger.Name(), Version: 1, Accepts: true}))
	case strings.HasPrefix(what, `a newer record of its own and "`):
		// Honest: a higher version of its own record, and another neighbor's record signed by
		// that neighbor, as a relay passes it on.
		other := strings.Split(what, `"`)[1]
		og := g.gossiper(other)
		og.version++
		relayed := g.record(other, og.version, false, node)
		gp.version++
		return c.SendGossip(peer.GossipBody(peer.SortRecords(g.record(name, gp.version, false, node), relayed)...))
	case what == "its current record again":
		body = peer.GossipBody(g.record(name, gp.version, false, node))
	default:
		return fmt.Errorf("no gossip described as %q", what)
	}
	return c.SendGossip(body)
}

func (g *gossipSteps) sendsFailure(name string, reason int) error {
	c, err := g.w.conn(name)
	if err != nil {
		return err
	}
	return c.Send(wire.TypeGossipFailure, c.NextID(), g.w.peer(name).id.StablesetID(), []byte{byte(reason)})
}

// nodeRecordSeenBy returns the node's own record from the gossip the peer has received.
func (g *gossipSteps) nodeRecordSeenBy(c *peer.Conn) ([]byte, error) {
	for _, f := range c.Frames() {
		if !isGossip(f) {
			continue
		}
		recs, _ := peer.ParseGossip(f.Body)
		for _, r := range recs {
			if r.Name == g.w.node.Name {
				return r.Bytes, nil
			}
		}
	}
	return nil, errors.New("the peer has received no record of the node to relay")
}

func (g *gossipSteps) nodeBans(name string) error {
	id := g.w.peer(name).id.Name().String()
	return g.awaitNeighborhood(func(nb neighborhoodJSON) error {
		for _, b := range nb.Bans {
			if b.Name == id {
				if b.Reason == "" {
					return fmt.Errorf("the ban of %q gives no reason", name)
				}
				if slices.Contains(nb.Full, id) || slices.Contains(nb.Half, id) {
					return fmt.Errorf("the node banned %q but still lists it as a neighbor", name)
				}
				return nil
			}
		}
		return violates(fmt.Errorf("expected a ban of peer %q in GET /v1/neighborhood, got %v", name, nb.Bans), "NB-10")
	})
}

// receivesWithdrawal judges the gossip that NB-11 (a ban) and NB-12 (a closed link) have the
// node send its remaining neighbors when it withdraws a neighbor from its own record: among the
// frames the peer received after the scenario's When step (so not the answer to its own Debut,
// nor anything else sent before the change), within the given seconds of that step, a GOSSIP
// whose record of the node no longer lists the withdrawn name and is the next version after the
// last one that listed it (NB-2: a withdrawal adds exactly 1), relaying no record of it.
//
// The node must gossip the change when it makes it (NB-4), not at its next periodic round
// (NB-14), which would carry the same record. The bound must therefore be shorter than the
// periodic interval, gossipInterval (10 s; not a contract setting, so every node runs with it):
// a node that only gossips periodically then meets it only when a round happens to fall within
// the bound after the change, and fails the rest of the time.
func (g *gossipSteps) receivesWithdrawal(name string, seconds int, gone string) error {
	within := time.Duration(seconds) * time.Second
	if within <= 0 {
		return fmt.Errorf("a bound of %v leaves the node no time to gossip", within)
	}
	if within >= gossipInterval {
		return fmt.Errorf("a bound of %v would let the node's periodic gossip, every %v (NB-14), stand in for the gossip of the change; give fewer seconds", within, gossipInterval)
	}
	if g.event.IsZero() {
		return errors.New("this step judges the gossip the node sends on a change, and the scenario has no When step to make one")
	}
	name, gone = g.pick(name), g.pick(gone)
	c, err := g.w.conn(name)
	if err != nil {
		return err
	}
	goneName, node := g.w.peer(gone).id.Name(), g.w.node.Name
	event, deadline := g.event, g.event.Add(within)
	var (
		listed  uint64   // the highest version of the node's record listing gone the peer received
		before  uint64   // the highest version of the node's record the peer received before the event
		seen    []string // what the peer received after the event, for the error
		verdict error    // a withdrawal that breaks NB-2
	)
	ctx, cancel := context.WithDeadline(harness.Closing(), deadline)
	defer cancel()
	_, err = c.WaitFrame(ctx, func(f peer.Frame) bool {
		if !isGossip(f) {
			return false
		}
		after := !f.At.Before(event)
		at := fmt.Sprintf("%+.3fs", f.At.Sub(event).Seconds())
		recs, perr := peer.ParseGossip(f.Body)
		if perr != nil {
			if after {
				seen = append(seen, at+" a GOSSIP that is not valid (NB-1): "+perr.Error())
			}
			return false
		}
		var own *peer.SignedRecord
		relays := false
		for i := range recs {
			if recs[i].Name == node {
				own = &recs[i]
			}
			relays = relays || recs[i].Name == goneName
		}
		if own != nil && own.Lists(goneName) {
			listed = max(listed, own.Version)
		}
		if !after {
			if own != nil {
				before = max(before, own.Version)
			}
			return false
		}
		switch {
		case own == nil:
			seen = append(seen, at+" gossip without the node's record")
		case own.Lists(goneName):
			seen = append(seen, fmt.Sprintf("%s version %d, still listing %q", at, own.Version, gone))
		case relays:
			seen = append(seen, fmt.Sprintf("%s version %d, not listing %q but relaying its record", at, own.Version, gone))
		case own.Version <= before:
			seen = append(seen, fmt.Sprintf("%s version %d, no newer than the records before the When step (up to version %d)", at, own.Version, before))
		case listed == 0:
			seen = append(seen, fmt.Sprintf("%s version %d, not listing %q, but no version listing it came before", at, own.Version, gone))
		case f.At.After(deadline):
			seen = append(seen, fmt.Sprintf("%s version %d, not listing %q: later than %v after the When step", at, own.Version, gone, within))
		case own.Version != listed+1:
			verdict = fmt.Errorf("peer %q received the node's record without %q at version %d, %s after the When step, but the last version listing it was %d: a withdrawal adds exactly 1 (NB-2)",
				name, gone, own.Version, at, listed)
			return true
		default:
			return true
		}
		return false
	})
	if verdict != nil {
		return verdict
	}
	if err == nil {
		return nil
	}
	why := fmt.Sprintf("peer %q received no gossip withdrawing %q within %v of the When step: the node must gossip the change when it makes it (NB-11, NB-12, NB-4), and its periodic gossip every %v (NB-14) does not stand in for that", name, gone, within, gossipInterval)
	if listed == 0 {
		why += fmt.Sprintf("; besides, the peer never received a record of the node listing %q", gone)
	}
	if len(seen) == 0 {
		return fmt.Errorf("%s; after the When step it received no gossip (%v)", why, err)
	}
	return fmt.Errorf("%s; after the When step it received: %s (%v)", why, strings.Join(seen, "; "), err)
}

// refusedAgain dials once more: the node must fail the handshake (ID-6's alert) or close the
// connection at once, and never answer a PING on it.
func (g *gossipSteps) refusedAgain(name string) error {
	ctx, cancel := stepContext()
	defer cancel()
	c, err := peer.Dial(ctx, g.w.peer(name).id, g.w.node.Name, g.w.node.QUIC(), peer.FromIP(g.w.cluster.HostIP()), g.w.traceFor(name))
	if err != nil {
		return nil // the handshake failed outright
	}
	defer c.Close(wire.CodeNoError)
	pingCtx, cancelPing := context.WithTimeout(ctx, 2*time.Second)
	defer cancelPing()
	if _, err := c.Ping(pingCtx, []byte("banned?")); err == nil {
		return violates(errors.New("expected the node to refuse a banned peer, but it answered its PING"), "NB-11")
	}
	info, err := c.WaitClosed(ctx)
	if err != nil {
		return fmt.Errorf("expected the node to fail the banned peer's handshake: %v", err)
	}
	if !info.Remote || info.Application || info.TransportCode != 0x12a {
		return violates(fmt.Errorf("expected the handshake to fail with CRYPTO_ERROR 0x12a (bad_certificate), got %v", info), "NB-11")
	}
	return nil
}

func (g *gossipSteps) noBans(names string) error {
	var want []string
	for _, n := range strings.Split(names, ",") {
		want = append(want, g.w.peer(strings.TrimSpace(n)).id.Name().String())
	}
	// A gossip just sent may not have been read yet, and an honest node's answer to gossip it
	// must not ban may be no frame at all: the check holds for noBanWindow, so that a ban the
	// node makes on reading it shows.
	var nb neighborhoodJSON
	for deadline := time.Now().Add(noBanWindow); ; {
		var err error
		if nb, err = g.neighborhood(g.w.node); err != nil {
			return err
		}
		if len(nb.Bans) != 0 {
			return violates(fmt.Errorf("expected no ban of honest peers, got %v", nb.Bans), "NB-10")
		}
		if !time.Now().Before(deadline) {
			break
		}
		time.Sleep(noBanWindow / 10)
	}
	for _, id := range want {
		if !slices.Contains(nb.Full, id) {
			return fmt.Errorf("expected %s among the full neighbors, got %v", id[:8], nb.Full)
		}
	}
	for _, n := range strings.Split(names, ",") {
		c, err := g.w.conn(strings.TrimSpace(n))
		if err != nil {
			return err
		}
		if info := c.Closed(); info != nil {
			return fmt.Errorf("expected the connection of honest peer %q to stay open, it ended: %v", n, info)
		}
	}
	return nil
}

// noBanWindow is how long noBans watches for a ban that must not come.
const noBanWindow = 500 * time.Millisecond

// noOtherBans checks that the one ban of the scenario did not catch an honest bystander.
func (g *gossipSteps) noOtherBans(name string) error {
	id := g.w.peer(name).id.Name().String()
	nb, err := g.neighborhood(g.w.node)
	if err != nil {
		return err
	}
	if len(nb.Bans) != 1 || !slices.Contains(nb.Full, id) {
		return violates(fmt.Errorf("expected one ban and %q still a full neighbor, got bans %v and full %v", name, nb.Bans, shortNames(nb.Full)), "NB-10")
	}
	return nil
}

func (g *gossipSteps) holdsVersion(version uint64, name string) error {
	id := g.w.peer(name).id.Name().String()
	return g.awaitNeighborhood(func(nb neighborhoodJSON) error {
		for _, r := range nb.Records {
			if r.Name == id {
				if r.Version != version {
					return violates(fmt.Errorf("the node holds version %d of %q's record, expected %d", r.Version, name, version), "NB-3")
				}
				return nil
			}
		}
		return fmt.Errorf("the node holds no record of %q", name)
	})
}

func (g *gossipSteps) neverOwnRecord(name string) error {
	c, err := g.w.conn(name)
	if err != nil {
		return err
	}
	self := g.w.peer(name).id.Name()
	for _, f := range c.Frames() {
		if !isGossip(f) {
			continue
		}
		recs, err := peer.ParseGossip(f.Body)
		if err != nil {
			return fmt.Errorf("the node sent a GOSSIP that is not valid (NB-1): %w", err)
		}
		for _, r := range recs {
			if r.Name == self {
				return violates(fmt.Errorf("the node sent peer %q its own record (NB-4)", name), "NB-4")
			}
		}
	}
	return nil
}

// --- restarts and the admin API -------------------------------------------------------------

func (g *gossipSteps) restart() error {
	nb, err := g.neighborhood(g.w.node)
	if err != nil {
		return err
	}
	g.before = nb.Version
	ctx, cancel := context.WithTimeout(harness.Closing(), 30*time.Second)
	defer cancel()
	return g.w.cluster.Restart(ctx, g.w.node)
}

func (g *gossipSteps) versionAboveRestart() error {
	nb, err := g.neighborhood(g.w.node)
	if err != nil {
		return err
	}
	if nb.Version != g.before+1 {
		return violates(fmt.Errorf("expected version %d after a restart from version %d, got %d", g.before+1, g.before, nb.Version), "NB-2")
	}
	return nil
}

func (g *gossipSteps) debutAnswers(name string, status int, code string) error {
	p := g.w.peer(name)
	addr := p.reserved
	if !addr.IsValid() {
		addr = netip.AddrPortFrom(g.w.cluster.HostIP(), 9)
	}
	body, _ := json.Marshal(map[string]string{"peer": p.id.Name().String() + "@" + addr.String()})
	ctx, cancel := stepContext()
	defer cancel()
	got, resp, err := g.w.node.Do(ctx, http.MethodPost, "/v1/debut", string(body))
	if err != nil {
		return err
	}
	if got == http.StatusNotImplemented {
		return g.w.admin(&harness.StatusError{Node: g.w.node.Label(), Method: http.MethodPost, Path: "/v1/debut", Status: got})
	}
	var e struct {
		Code string `json:"code"`
	}
	if got != status || json.Unmarshal(resp, &e) != nil || e.Code != code {
		return fmt.Errorf("expected %d with code %q, got %d %s", status, code, got, resp)
	}
	return nil
}

func (g *gossipSteps) noRoute(name string) error {
	ctx, cancel := stepContext()
	defer cancel()
	got, resp, err := g.w.node.Do(ctx, http.MethodGet, "/v1/route?to="+g.w.peer(name).id.Name().String(), "")
	if err != nil {
		return err
	}
	if got == http.StatusNotImplemented {
		return g.w.admin(&harness.StatusError{Node: g.w.node.Label(), Path: "/v1/route", Status: got})
	}
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if got != http.StatusNotFound || json.Unmarshal(resp, &e) != nil || e.Code != "no_route" || e.Error == "" {
		return fmt.Errorf("expected 404 with code no_route and a reason, got %d %s", got, resp)
	}
	return nil
}

// --- clusters -------------------------------------------------------------------------------

// clusterDebuts starts n nodes without bootstrap peers, so that no consensus traffic runs,
// and has every node after the first debut through the first, each once the one before has a
// full neighbor.
func (g *gossipSteps) clusterDebuts(n int) error {
	w := g.w
	if err := w.newCluster(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(harness.Closing(), 2*time.Minute)
	defer cancel()
	for i := 0; i < n; i++ {
		node, err := w.cluster.AddNode(ctx)
		if err != nil {
			return w.started(err)
		}
		if i == 0 {
			w.node = node
			w.run.noteVersion(ctx, node)
		}
	}
	first := w.cluster.Node(0)
	for _, node := range w.cluster.Nodes()[1:] {
		body := fmt.Sprintf(`{"peer": %q}`, first.Bootstrap())
		status, resp, err := node.Do(ctx, http.MethodPost, "/v1/debut", body)
		if err != nil {
			return err
		}
		if status == http.StatusNotImplemented {
			return w.admin(&harness.StatusError{Node: node.Label(), Method: http.MethodPost, Path: "/v1/debut", Status: status})
		}
		if status != http.StatusAccepted {
			return fmt.Errorf("%s: POST /v1/debut answered %d %s, expected 202", node.Label(), status, resp)
		}
		if err := await(func() error {
			nb, err := g.neighborhood(node)
			if err != nil {
				return err
			}
			if len(nb.Full) == 0 {
				return fmt.Errorf("%s has no full neighbor after its Debut (half %v, pending %v)", node.Label(), nb.Half, nb.PendingDebuts)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (g *gossipSteps) all(ctx context.Context) (map[string]neighborhoodJSON, error) {
	out := map[string]neighborhoodJSON{}
	for _, n := range g.w.cluster.Nodes() {
		var nb neighborhoodJSON
		if err := g.w.admin(n.GetJSON(ctx, "/v1/neighborhood", &nb)); err != nil {
			return nil, err
		}
		out[nb.Name] = nb
	}
	return out, nil
}

func (g *gossipSteps) converged(seconds, maxDegree int) error {
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		ctx, cancel := stepContext()
		all, err := g.all(ctx)
		cancel()
		if err == nil {
			if err = convergence(all, maxDegree); err == nil {
				return nil
			}
		}
		if errors.Is(err, godog.ErrSkip) || time.Now().After(deadline) || !pause(200*time.Millisecond) {
			return fmt.Errorf("not converged within %ds: %w", seconds, err)
		}
	}
}

// convergence says what keeps the neighborhoods from NB-8 and NB-9, or nil.
func convergence(all map[string]neighborhoodJSON, maxDegree int) error {
	for name, nb := range all {
		if d := len(nb.Full) + len(nb.Half); d > maxDegree {
			return violates(fmt.Errorf("%s has degree %d, above the limit of %d (NB-8)", name[:8], d, maxDegree), "NB-8")
		} else if d == 0 {
			return violates(fmt.Errorf("%s has no neighbor", name[:8]), "NB-9")
		}
		if len(nb.Half) > 0 {
			return violates(fmt.Errorf("%s has half links to %v", name[:8], shortNames(nb.Half)), "NB-9")
		}
		if len(nb.Bans) > 0 {
			return violates(fmt.Errorf("%s banned honest nodes: %v (NB-10: gossip that keeps the rules never gets its sender banned)", name[:8], nb.Bans), "NB-10")
		}
		held := map[string]uint64{}
		for _, r := range nb.Records {
			held[r.Name] = r.Version
		}
		for other, o := range all {
			if other == name {
				continue
			}
			if v, ok := held[other]; !ok || v != o.Version {
				return violates(fmt.Errorf("%s holds %s at version %d (held: %v), not its current %d", name[:8], other[:8], v, ok, o.Version), "NB-9")
			}
		}
	}
	return nil
}

func shortNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n[:8]
	}
	return out
}

// routes checks GET /v1/route between every two nodes against the full-link graph the nodes
// report: nodes 3 or more hops apart must have a route, and every route given must have at
// least 3 hops over full links without a repeated node, its exit not listing its origin.
func (g *gossipSteps) routes() error { return violates(g.checkRoutes(), "NB-13") }

func (g *gossipSteps) checkRoutes() error {
	ctx, cancel := context.WithTimeout(harness.Closing(), 60*time.Second)
	defer cancel()
	all, err := g.all(ctx)
	if err != nil {
		return err
	}
	graph := map[string][]string{}
	for name, nb := range all {
		graph[name] = nb.Full
	}
	full := func(a, b string) bool { return slices.Contains(graph[a], b) && slices.Contains(graph[b], a) }
	routed := 0
	for _, from := range g.w.cluster.Nodes() {
		a := from.Name.String()
		dist := distances(graph, a)
		for b, d := range dist {
			if d < 2 {
				continue
			}
			status, body, err := from.Do(ctx, http.MethodGet, "/v1/route?to="+b, "")
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				if d >= 3 {
					return fmt.Errorf("%s and %s are %d hops apart but GET /v1/route answered %d %s", a[:8], b[:8], d, status, body)
				}
				continue
			}
			var r routeJSON
			if err := json.Unmarshal(body, &r); err != nil {
				return err
			}
			if len(r.Route) < 4 || r.Hops != len(r.Route)-1 || r.Route[0] != a || r.Route[len(r.Route)-1] != b {
				return fmt.Errorf("route %s -> %s is not one of at least 3 hops between them: %s", a[:8], b[:8], body)
			}
			seen := map[string]bool{}
			for i, hop := range r.Route {
				if seen[hop] {
					return fmt.Errorf("route %s -> %s names %s twice", a[:8], b[:8], hop[:8])
				}
				seen[hop] = true
				if i > 0 && !full(r.Route[i-1], hop) {
					return fmt.Errorf("route %s -> %s uses %s-%s, which is not a full link", a[:8], b[:8], r.Route[i-1][:8], hop[:8])
				}
			}
			if full(b, a) || slices.Contains(all[b].Half, a) {
				return fmt.Errorf("route %s -> %s ends at a node that lists its origin", a[:8], b[:8])
			}
			routed++
		}
	}
	if routed == 0 {
		return errors.New("no two nodes had a route of at least 3 hops")
	}
	return nil
}

func distances(graph map[string][]string, from string) map[string]int {
	dist := map[string]int{from: 0}
	queue := []string{from}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, j := range graph[k] {
			if _, ok := dist[j]; !ok {
				dist[j] = dist[k] + 1
				queue = append(queue, j)
			}
		}
	}
	return dist
}
