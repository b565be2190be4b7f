package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// Steps that observe the node's gossip from scripted neighbors (features/gossip_observed.feature):
// every GOSSIP the node sends a scripted peer is decoded and compared with exactly what SPEC.md §9
// says that target may get, and scripted records build the neighborhoods whose routes the node
// must compute. After every scenario that captured gossip, gossipPrivacy reads all of it once
// more: no address reaches a target NB-4 does not allow, and no target gets its own record.

func registerNeighborSteps(sc *godog.ScenarioContext, g *gossipSteps) {
	sc.Step(`^"([^"]+)" receives within (\d+(?:\.\d+)?) seconds? gossip holding exactly the node's record without its address(?:,? and the records of "([^"]+)"| and no other record)$`, g.receivesExactly)
	sc.Step(`^scripted peer "([^"]+)" introduces "([^"]+)" to the node$`, g.introduces)
	sc.Step(`^peer "([^"]+)" receives a Debut from the node: its record alone, with its address$`, g.receivesDebut)
	sc.Step(`^the node lists "([^"]+)" as a full neighbor and holds no record of "([^"]+)"$`, g.listsButHoldsNot)
	sc.Step(`^peer "([^"]+)" passes the node to "([^"]+)"(?: again)?$`, g.passes)
	sc.Step(`^peer "([^"]+)" answers the node's Debut with a GOSSIP_FAILURE NO_SUITABLE_NEIGHBORS$`, g.answersDebutWithFailure)
	sc.Step(`^peer "([^"]+)" receives no other Debut from the node within (\d+) seconds?$`, g.noOtherDebut)
	sc.Step(`^the node is told to debut to scripted peer "([^"]+)"$`, g.toldToDebut)
	sc.Step(`^peer "([^"]+)" receives (\d+) Debuts from the node within (\d+) seconds? \[([A-Z]+-\d+)\]$`, g.receivesDebuts)
	sc.Step(`^the node's Debut to "([^"]+)" is no longer pending$`, g.debutAnswered)
	sc.Step(`^peer "([^"]+)" relays the records of (\d+) made-up nodes$`, g.relaysMadeUp)
	sc.Step(`^the node holds exactly (\d+) records of other nodes and counts the other (\d+) in dropped_records$`, g.holdsAtBound)
	sc.Step(`^peer "([^"]+)" relays the records of a neighborhood:$`, g.relaysNeighborhood)
	sc.Step(`^the node's routes are:$`, g.routesAre)
	sc.Step(`^peer "([^"]+)" relays (another )?version (\d+) of "([^"]+)"'s record, listing "([^"]+)"$`, g.relaysVersion)
	sc.Step(`^peer "([^"]+)" relays "([^"]+)"'s record as its Debut will carry it, without the address$`, g.relaysDebutRecord)
	sc.Step(`^the node holds version (\d+) of "([^"]+)"'s record, listing "([^"]+)"$`, g.holdsVersionListing)
	sc.Step(`^the node sends no gossip for (\d+) seconds? after the When step$`, g.sendsNoGossip)
	sc.Step(`^peer "([^"]+)" relays "([^"]+)"'s record with its address and "([^"]+)"'s record without one$`, g.relaysStrangers)
	sc.Step(`^the node holds a record of "([^"]+)" and none of "([^"]+)"$`, func(held, dropped string) error {
		return violates(g.holdsOneNotOther(held, dropped, "a node it knew nothing of whose address another node relayed"), "NB-7")
	})
	sc.Step(`^the node holds a record of "([^"]+)" and none of the banned "([^"]+)"$`, func(held, banned string) error {
		return violates(g.holdsOneNotOther(held, banned, "a node it banned, relayed by another"), "NB-11")
	})
	sc.Step(`^peer "([^"]+)" sends its next record, listing the node((?:,? (?:and )?"[^"]+")*)$`, g.sendsNextListing)
	sc.Step(`^the node lists "([^"]+)" as a (full|half) neighbor$`, g.listsAs)
	sc.Step(`^peer "([^"]+)" receives a Pass naming "([^"]+)", with its address$`, g.receivesPassNaming)
	sc.Step(`^peer "([^"]+)" receives Standard gossip as the answer to its Debut: the node's record without its address, listing "([^"]+)", and no record with an address$`, g.receivesStandardAnswer)
	sc.Step(`^scripted peer "([^"]+)" debuts to the node with a record listing "([^"]+)"$`, g.debutsListing)
	sc.Step(`^the debutants the node placed while its neighbors joined no longer count$`, placementsLapse)
	sc.Step(`^peer "([^"]+)" receives an Introduction: the node's record with its address, listing "([^"]+)", and the addressed record of "([^"]+)"$`, g.receivesIntroduction)
}

// placementLapse is how long a scenario waits for the debutants a node sent on to count no
// more towards its neighbors' degrees: NB-5 counts each until 1 s after the last, and the
// margin allows for a loaded machine.
const placementLapse = 1300 * time.Millisecond

// placementsLapse waits out NB-5's placement count after the Introductions and Passes the node
// made while its scripted neighbors joined, so that the next placement goes by the records the
// node holds alone.
func placementsLapse() error {
	time.Sleep(placementLapse)
	return nil
}

// nodeName is the name a script line uses for the node under test.
const nodeName = "node"

// nameOf is a scripted peer's name on the wire, or the node's for "node".
func (g *gossipSteps) nameOf(name string) wire.Name {
	if name == nodeName {
		return g.w.node.Name
	}
	return g.w.peer(name).id.Name()
}

var quotedNames = regexp.MustCompile(`"([^"]+)"`)

func splitNames(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// pick reads "the lower of A, B" and "the higher of A, B" as the peer whose name is lower or
// higher (names compare as their bytes, and so as hex), "the second lowest of A, B, C" as the
// one next above the lowest, and any other text as a peer's name: a scenario about ties cannot
// know its random names in advance.
func (g *gossipSteps) pick(text string) string {
	byName := func(a, b string) int { return strings.Compare(g.nameOf(a).String(), g.nameOf(b).String()) }
	if among, ok := strings.CutPrefix(text, "the lower of "); ok {
		return slices.MinFunc(splitNames(among), byName)
	}
	if among, ok := strings.CutPrefix(text, "the second lowest of "); ok {
		names := splitNames(among)
		slices.SortFunc(names, byName)
		return names[min(1, len(names)-1)]
	}
	if among, ok := strings.CutPrefix(text, "the higher of "); ok {
		return slices.MaxFunc(splitNames(among), byName)
	}
	return text
}

// debutsListing sends a Debut whose record already lists other nodes, as a node that answers a
// Pass or an Introduction debuts.
func (g *gossipSteps) debutsListing(name, listed string) error {
	var lists []wire.Name
	if strings.HasPrefix(listed, "the ") {
		lists = append(lists, g.nameOf(g.pick(listed)))
	} else {
		for _, n := range splitNames(listed) {
			lists = append(lists, g.nameOf(n))
		}
	}
	return g.debut(name, true, lists...)
}

// dialFromListener connects the peer to target from its listening socket (listening first if
// it is not yet), so that the node sees it come from the address its records give.
func (w *world) dialFromListener(name string, target *harness.Node) error {
	p := w.peer(name)
	if p.listener == nil {
		if err := w.listen(name); err != nil {
			return err
		}
	}
	ctx, cancel := stepContext()
	defer cancel()
	c, err := p.listener.Dial(ctx, target.Name, target.QUIC())
	if err != nil {
		p.dialErr = err
		return err
	}
	p.dialed = append(p.dialed, c)
	return nil
}

// listeningGossiper makes a peer listen and gives its records the address it listens on.
func (g *gossipSteps) listeningGossiper(name string) (*gossiper, error) {
	p := g.w.peer(name)
	if p.listener == nil {
		if err := g.w.listen(name); err != nil {
			return nil, err
		}
	}
	gp := g.gossiper(name)
	gp.accepts, gp.addr = true, p.listener.Addr()
	return gp, nil
}

// conns is every connection of the peer, dialed and accepted.
func (w *world) conns(name string) []*peer.Conn {
	p := w.peer(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(slices.Clone(p.dialed), p.accepted...)
}

// gossipReceived is every GOSSIP frame the peer received from the node, on any connection.
func (g *gossipSteps) gossipReceived(name string) []peer.Frame {
	var out []peer.Frame
	for _, c := range g.w.conns(name) {
		if c.RemoteName() != g.w.node.Name {
			continue
		}
		for _, f := range c.Frames() {
			if isGossip(f) {
				out = append(out, f)
			}
		}
	}
	slices.SortFunc(out, func(a, b peer.Frame) int { return a.At.Compare(b.At) })
	return out
}

// --- what a target receives -----------------------------------------------------------------

// receivesExactly waits for a GOSSIP to the target, sent after the scenario's When step, that
// holds the node's own record without its address and, besides, exactly the named peers' records
// as the harness last signed them, byte for byte (NB-3: a relay passes on the exact bytes; NB-4:
// every record some held record lists, never the target's own, an address only to a target that
// lists its node). Earlier gossip after the step may differ: the node may send a change in more
// than one gossip; what it must not send, the shared privacy check catches.
func (g *gossipSteps) receivesExactly(target string, seconds float64, others string) error {
	want := map[wire.Name][]byte{}
	for _, n := range splitNames(others) {
		gp := g.gossiper(n)
		if gp.held == nil {
			return fmt.Errorf("the harness signed no record of %q to expect", n)
		}
		want[g.nameOf(n)] = gp.held
	}
	label := func(n wire.Name) string {
		for name, p := range g.w.peers {
			if p.id.Name() == n {
				return name
			}
		}
		if n == g.w.node.Name {
			return nodeName
		}
		return n.String()[:8]
	}
	judge := func(recs []peer.SignedRecord) string {
		var wrong []string
		own := false
		for _, r := range recs {
			switch exp, ok := want[r.Name]; {
			case r.Name == g.w.node.Name:
				own = true
				if r.Addr.IsValid() {
					wrong = append(wrong, "the node's own record with its address")
				}
			case !ok:
				wrong = append(wrong, fmt.Sprintf("a record of %s (version %d, address %v) it should not hold", label(r.Name), r.Version, r.Addr))
			case !bytes.Equal(r.Bytes, exp):
				wrong = append(wrong, fmt.Sprintf("%s's record at version %d, not the bytes signed last (version %d)", label(r.Name), r.Version, g.gossiper(label(r.Name)).heldVersion))
			}
		}
		if !own {
			wrong = append(wrong, "no record of the node")
		}
		for n := range want {
			if !slices.ContainsFunc(recs, func(r peer.SignedRecord) bool { return r.Name == n }) {
				wrong = append(wrong, "no record of "+label(n))
			}
		}
		slices.Sort(wrong)
		return strings.Join(wrong, "; ")
	}
	event := g.event
	if event.IsZero() {
		return errors.New("this step judges gossip sent after a When step, and the scenario has none before it")
	}
	deadline := event.Add(time.Duration(seconds * float64(time.Second)))
	var seen []string
	for {
		seen = seen[:0]
		for _, f := range g.gossipReceived(target) {
			if f.At.Before(event) {
				continue
			}
			recs, err := peer.ParseGossip(f.Body)
			if err != nil {
				return violates(fmt.Errorf("the node sent %q a GOSSIP that is not valid: %w", target, err), "NB-1")
			}
			at := fmt.Sprintf("%+.3fs", f.At.Sub(event).Seconds())
			if f.At.After(deadline) {
				seen = append(seen, at+" (too late)")
				continue
			}
			wrong := judge(recs)
			if wrong == "" {
				return nil
			}
			seen = append(seen, at+": "+wrong)
		}
		if time.Now().After(deadline) || !pause(25*time.Millisecond) {
			break
		}
	}
	what := "none"
	if len(seen) > 0 {
		what = strings.Join(seen, " | ")
	}
	return violates(fmt.Errorf("peer %q received no gossip within %gs of the When step holding exactly the node's record without its address and the records of [%s]; gossip it received after the step: %s",
		target, seconds, others, what), "NB-4")
}

// receivesDebut waits for the node's Debut on any of the peer's connections: one record, the
// node's own, with the node's address, accepting connections.
func (g *gossipSteps) receivesDebut(name string) error {
	return await(func() error {
		for _, f := range g.gossipReceived(name) {
			recs, err := peer.ParseGossip(f.Body)
			if err == nil && g.isNodeDebut(recs) {
				return nil
			}
		}
		return fmt.Errorf("peer %q received no Debut from the node (its record alone, with address %v); gossip received: %d frames", name, g.w.node.QUIC(), len(g.gossipReceived(name)))
	})
}

func (g *gossipSteps) isNodeDebut(recs []peer.SignedRecord) bool {
	return len(recs) == 1 && recs[0].Name == g.w.node.Name && recs[0].Accepts && recs[0].Addr == g.w.node.QUIC()
}

func (g *gossipSteps) debutsReceived(name string) int {
	n := 0
	for _, f := range g.gossipReceived(name) {
		if recs, err := peer.ParseGossip(f.Body); err == nil && g.isNodeDebut(recs) {
			n++
		}
	}
	return n
}

func (g *gossipSteps) noOtherDebut(name string, seconds int) error {
	before := g.debutsReceived(name)
	if before == 0 {
		return fmt.Errorf("peer %q has received no Debut from the node yet, so none can be another", name)
	}
	return violates(holdsFor(time.Duration(seconds)*time.Second, 50*time.Millisecond, func() error {
		if n := g.debutsReceived(name); n != before {
			return fmt.Errorf("peer %q received %d more Debut(s) from the node: a Pass to a node passed within 60 s must not make another (NB-6)", name, n-before)
		}
		return nil
	}), "NB-6")
}

// toldToDebut has the node debut to a scripted peer that listens (POST /v1/debut, ADM-10).
func (g *gossipSteps) toldToDebut(name string) error {
	gp, err := g.listeningGossiper(name)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"peer": g.nameOf(name).String() + "@" + gp.addr.String()})
	ctx, cancel := stepContext()
	defer cancel()
	code, resp, err := g.w.node.Do(ctx, http.MethodPost, "/v1/debut", string(body))
	if err != nil {
		return err
	}
	if code == http.StatusNotImplemented {
		return g.w.admin(&harness.StatusError{Node: g.w.node.Label(), Method: http.MethodPost, Path: "/v1/debut", Status: code})
	}
	if code != http.StatusAccepted {
		return violates(fmt.Errorf("POST /v1/debut naming peer %q answered %d: %s", name, code, resp), "ADM-10")
	}
	return nil
}

// receivesDebuts waits, from the start of the step, until the peer has received n Debuts from
// the node in all: the rule named judges the node's coming back on its own.
func (g *gossipSteps) receivesDebuts(name string, n, seconds int, rule string) error {
	return violates(awaitFor(time.Duration(seconds)*time.Second, 20*time.Millisecond, func() error {
		if got := g.debutsReceived(name); got < n {
			return fmt.Errorf("peer %q received %d Debut(s) from the node, not %d, within %d s of the step's start", name, got, n, seconds)
		}
		return nil
	}), rule)
}

// debutAnswered waits until GET /v1/neighborhood no longer lists the peer among the pending
// Debuts (ADM-9): the node took the peer's answer in, so that what the scenario sends next meets
// a Debut that is over, not one in progress.
func (g *gossipSteps) debutAnswered(name string) error {
	id := g.nameOf(name).String()
	return violates(g.awaitNeighborhood(func(nb neighborhoodJSON) error {
		if slices.Contains(nb.PendingDebuts, id) {
			return fmt.Errorf("the node still lists its Debut to %q as pending after %q answered it with a GOSSIP_FAILURE", name, name)
		}
		return nil
	}), "ADM-9")
}

// receivesIntroduction judges a debutant's answer below the degree limit when a neighbor suits
// (NB-5): two records, the node's own with its address and listing the debutant, and the
// expected neighbor's record with its address, exactly as that neighbor signed it.
func (g *gossipSteps) receivesIntroduction(name, listed, introduced string) error {
	recs, err := g.answerToDebut(name)
	if err != nil {
		return err
	}
	introduced = g.pick(introduced)
	node, want := g.w.node.Name, g.nameOf(introduced)
	var own, other *peer.SignedRecord
	for i := range recs {
		switch recs[i].Name {
		case node:
			own = &recs[i]
		case want:
			other = &recs[i]
		}
	}
	switch {
	case len(recs) != 2 || own == nil || other == nil:
		return violates(fmt.Errorf("expected an Introduction of the node and %q, got %s", introduced, describeRecords(recs)), "NB-5")
	case own.Addr != g.w.node.QUIC() || !own.Lists(g.nameOf(listed)):
		return violates(fmt.Errorf("expected the node's record with address %v listing %q, got %s", g.w.node.QUIC(), listed, describeRecords(recs)), "NB-5")
	case other.Addr != g.gossiper(introduced).addr:
		return violates(fmt.Errorf("expected %q's record with its address %v, got %v", introduced, g.gossiper(introduced).addr, other.Addr), "NB-5")
	}
	return nil
}

// receivesPassNaming judges NB-5's first step: a debutant passed on, below the degree limit, to
// a better placed neighbor.
func (g *gossipSteps) receivesPassNaming(name, named string) error {
	recs, err := g.answerToDebut(name)
	if err != nil {
		return err
	}
	named = g.pick(named)
	if len(recs) != 1 || recs[0].Name != g.nameOf(named) || recs[0].Addr != g.gossiper(named).addr {
		return violates(fmt.Errorf("expected a Pass naming %q with its address %v; got %s", named, g.gossiper(named).addr, g.namesIn([]byte(describeRecords(recs)))), "NB-5")
	}
	return nil
}

// receivesStandardAnswer checks the node's answer to a Debut from a node that already has a
// neighbor (NB-5): Standard gossip showing the debutant listed, not an Introduction (which would
// carry the node's address and another node's).
func (g *gossipSteps) receivesStandardAnswer(name, listed string) error {
	recs, err := g.answerToDebut(name)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Addr.IsValid() {
			return violates(fmt.Errorf("expected Standard gossip, records without addresses; got %s", g.namesIn([]byte(describeRecords(recs)))), "NB-5")
		}
		if r.Name == g.w.node.Name && !r.Lists(g.nameOf(listed)) {
			return violates(fmt.Errorf("the node's record in its answer does not list %q", listed), "NB-5")
		}
	}
	if !slices.ContainsFunc(recs, func(r peer.SignedRecord) bool { return r.Name == g.w.node.Name }) {
		return violates(fmt.Errorf("the answer holds no record of the node: %s", g.namesIn([]byte(describeRecords(recs)))), "NB-5")
	}
	return nil
}

// --- what the node holds --------------------------------------------------------------------

// findRecord finds name's record in what GET /v1/neighborhood reports.
func findRecord(nb neighborhoodJSON, name wire.Name) (uint64, []string, bool) {
	for _, r := range nb.Records {
		if r.Name == name.String() {
			return r.Version, r.Neighbors, true
		}
	}
	return 0, nil, false
}

// steadily awaits check, then requires it to keep holding for a while: a record the node has
// not taken in yet cannot pass for one it dropped.
func (g *gossipSteps) steadily(check func(neighborhoodJSON) error) error {
	if err := g.awaitNeighborhood(check); err != nil {
		return err
	}
	return holdsFor(500*time.Millisecond, 50*time.Millisecond, func() error {
		nb, err := g.neighborhood(g.w.node)
		if err != nil {
			return err
		}
		return check(nb)
	})
}

func (g *gossipSteps) listsButHoldsNot(listed, absent string) error {
	in, out := g.nameOf(listed), g.nameOf(absent)
	return violates(g.steadily(func(nb neighborhoodJSON) error {
		if !slices.Contains(nb.Full, in.String()) {
			return fmt.Errorf("expected %q among the full neighbors, got full %v half %v", listed, shortNames(nb.Full), shortNames(nb.Half))
		}
		if _, _, ok := findRecord(nb, out); ok {
			return fmt.Errorf("the node holds a record of %q, which it learned only as an introducee (NB-6)", absent)
		}
		if slices.Contains(nb.Full, out.String()) || slices.Contains(nb.Half, out.String()) {
			return fmt.Errorf("the node lists %q, which never answered its Debut", absent)
		}
		return nil
	}), "NB-6")
}

// listsAs judges the link to a peer as the node reports it: full when each record lists the
// other, half when only the node's does.
func (g *gossipSteps) listsAs(name, kind string) error {
	id := g.nameOf(name).String()
	return g.steadily(func(nb neighborhoodJSON) error {
		in := nb.Full
		if kind == "half" {
			in = nb.Half
		}
		if !slices.Contains(in, id) {
			return fmt.Errorf("expected %q as a %s neighbor; got full %s, half %s", name, kind, g.namesIn([]byte(strings.Join(nb.Full, " "))), g.namesIn([]byte(strings.Join(nb.Half, " "))))
		}
		return nil
	})
}

func (g *gossipSteps) holdsVersionListing(version uint64, name, listing string) error {
	id := g.nameOf(name)
	var want []string
	for _, n := range splitNames(listing) {
		want = append(want, g.nameOf(n).String())
	}
	slices.Sort(want)
	return violates(g.steadily(func(nb neighborhoodJSON) error {
		v, neighbors, ok := findRecord(nb, id)
		if !ok {
			return fmt.Errorf("the node holds no record of %q", name)
		}
		got := slices.Sorted(slices.Values(neighbors))
		if v != version || !slices.Equal(got, want) {
			return fmt.Errorf("the node holds version %d of %q's record listing %v; expected version %d listing %v, as first received: a record of the same or a lower version replaces nothing (NB-3)",
				v, name, shortNames(got), version, shortNames(want))
		}
		return nil
	}), "NB-3")
}

func (g *gossipSteps) holdsOneNotOther(held, dropped, why string) error {
	in, out := g.nameOf(held), g.nameOf(dropped)
	return g.steadily(func(nb neighborhoodJSON) error {
		if _, _, ok := findRecord(nb, in); !ok {
			return fmt.Errorf("the node holds no record of %q", held)
		}
		if _, _, ok := findRecord(nb, out); ok {
			return fmt.Errorf("the node holds the record of %q, %s", dropped, why)
		}
		return nil
	})
}

// sendsNoGossip waits until the given time after the When step has passed and then requires
// that no scripted peer received a GOSSIP since that step that differs from the last one it
// received before: gossip that changes nothing makes the node send nothing (NB-4). A periodic
// round (NB-14) may fall in the window; it repeats the last gossip, and passes.
func (g *gossipSteps) sendsNoGossip(seconds int) error {
	within := time.Duration(seconds) * time.Second
	if within >= gossipInterval {
		return fmt.Errorf("a window of %v would take in the node's periodic gossip (every %v)", within, gossipInterval)
	}
	event := g.event
	if event.IsZero() {
		return errors.New("no When step to judge from")
	}
	if !pause(time.Until(event.Add(within))) {
		return errors.New("interrupted")
	}
	for name := range g.w.peers {
		var last []byte
		for _, f := range g.gossipReceived(name) {
			if f.At.Before(event) {
				last = f.Body
				continue
			}
			if !bytes.Equal(f.Body, last) {
				return violates(fmt.Errorf("peer %q received a GOSSIP %+.3fs after the When step, whose gossip changed nothing at the node (NB-3: a record of the same or a lower version replaces nothing; NB-4: a gossip that changes nothing makes the node send nothing)",
					name, f.At.Sub(event).Seconds()), "NB-3", "NB-4")
			}
		}
	}
	return nil
}

// --- what scripted peers send ---------------------------------------------------------------

// introduces has the introducer connect and send an Introduction: its own record at version 1
// with its address, listing the node, and the introducee's record with its address. Both listen.
func (g *gossipSteps) introduces(introducer, introducee string) error {
	gi, err := g.listeningGossiper(introducer)
	if err != nil {
		return err
	}
	if _, err := g.listeningGossiper(introducee); err != nil {
		return err
	}
	if err := g.w.dialFromListener(introducer, g.w.node); err != nil {
		return err
	}
	c, _ := g.w.conn(introducer)
	gi.version = 1
	body := peer.GossipBody(peer.SortRecords(g.record(introducer, 1, true, g.w.node.Name), g.record(introducee, 1, true))...)
	return c.SendGossip(body)
}

// passes sends a Pass: one record, the target's at version 1 with its address.
func (g *gossipSteps) passes(from, target string) error {
	c, err := g.w.conn(from)
	if err != nil {
		return err
	}
	if _, err := g.listeningGossiper(target); err != nil {
		return err
	}
	return c.SendGossip(peer.GossipBody(g.record(target, 1, true)))
}

func (g *gossipSteps) answersDebutWithFailure(name string) error {
	for _, c := range g.w.conns(name) {
		if c.RemoteName() != g.w.node.Name {
			continue
		}
		for _, f := range c.Frames() {
			if recs, err := peer.ParseGossip(f.Body); isGossip(f) && err == nil && g.isNodeDebut(recs) {
				return c.Send(wire.TypeGossipFailure, c.NextID(), g.w.peer(name).id.StablesetID(), []byte{wire.FailureNoSuitableNeighbors})
			}
		}
	}
	return fmt.Errorf("peer %q has no connection on which the node debuted to it", name)
}

// ownNext is the sender's own record for a Standard gossip: the record it last signed when that
// lists every name given, or else its next version listing the node and those names.
func (g *gossipSteps) ownNext(name string, alsoLists ...wire.Name) []byte {
	gp := g.gossiper(name)
	lists := []wire.Name{g.w.node.Name}
	if r, ok := gp.heldRecord(); ok {
		if !r.Addr.IsValid() && r.Lists(g.w.node.Name) && !slices.ContainsFunc(alsoLists, func(n wire.Name) bool { return !r.Lists(n) }) {
			return gp.held
		}
		lists = r.Neighbors
		if !slices.Contains(lists, g.w.node.Name) {
			lists = append(lists, g.w.node.Name)
		}
	}
	for _, n := range alsoLists {
		if !slices.Contains(lists, n) {
			lists = append(lists, n)
		}
	}
	gp.version++
	return g.record(name, gp.version, false, lists...)
}

func (g *gossipSteps) sendsNextListing(name, others string) error {
	c, err := g.w.conn(name)
	if err != nil {
		return err
	}
	var names []wire.Name
	for _, n := range quotedNames.FindAllStringSubmatch(others, -1) {
		names = append(names, g.nameOf(n[1]))
	}
	gp := g.gossiper(name)
	gp.version++
	return c.SendGossip(peer.GossipBody(g.record(name, gp.version, false, append([]wire.Name{g.w.node.Name}, names...)...)))
}

// relaysVersion sends Standard gossip from the sender: its own record (listing the subject, so
// that the node relays the subject's record on) and the subject's record at the given version,
// without an address, listing the names given. "another" signs other bytes for the same version.
func (g *gossipSteps) relaysVersion(from, another string, version uint64, subject, listing string) error {
	var lists []wire.Name
	for _, n := range splitNames(listing) {
		lists = append(lists, g.nameOf(n))
	}
	return g.relay(from, subject, version, lists)
}

// relay sends Standard gossip from the sender: its own next record, listing the subject (so
// that the node relays the subject's record on), and the subject's record at version, without
// an address, listing lists.
func (g *gossipSteps) relay(from, subject string, version uint64, lists []wire.Name) error {
	c, err := g.w.conn(from)
	if err != nil {
		return err
	}
	g.gossiper(subject).accepts = true
	rec := g.record(subject, version, false, lists...)
	return c.SendGossip(peer.GossipBody(peer.SortRecords(g.ownNext(from, g.nameOf(subject)), rec)...))
}

// relaysDebutRecord sends Standard gossip from the sender: its own next record, listing the
// subject, and the subject's record as the subject's Debut carries it (version 1, accepting
// connections, no neighbor), without the address. A node that took the subject relays just
// that to its other neighbors, and it may arrive before the subject's own Debut to one of them.
func (g *gossipSteps) relaysDebutRecord(from, subject string) error {
	return g.relay(from, subject, 1, nil)
}

// relaysStrangers sends the sender's own record listing both and two records of nodes the node
// knows nothing of: one with an address (which NB-7 drops) and one without.
func (g *gossipSteps) relaysStrangers(from, addressed, concealed string) error {
	c, err := g.w.conn(from)
	if err != nil {
		return err
	}
	if _, err := g.listeningGossiper(addressed); err != nil {
		return err
	}
	g.gossiper(concealed).accepts = true
	body := peer.GossipBody(peer.SortRecords(
		g.ownNext(from, g.nameOf(addressed), g.nameOf(concealed)),
		g.record(addressed, 1, true, g.nameOf(from)),
		g.record(concealed, 1, false, g.nameOf(from)),
	)...)
	return c.SendGossip(body)
}

// relaysMadeUp has the sender relay records of n nodes that do not exist, each signed by a key
// of its own and listing the sender, in bodies of at most 400 records, each with the sender's
// own record: the flood of NB-15 that one neighbor can send.
func (g *gossipSteps) relaysMadeUp(from string, n int) error {
	c, err := g.w.conn(from)
	if err != nil {
		return err
	}
	own := g.ownNext(from)
	sender := g.nameOf(from)
	for sent := 0; sent < n; {
		batch := [][]byte{own}
		for ; sent < n && len(batch) <= 400; sent++ {
			id := peer.RandomIdentity()
			batch = append(batch, id.SignRecord(peer.Record{Name: id.Name(), Version: 1, Accepts: true, Neighbors: []wire.Name{sender}}))
		}
		if err := c.SendGossip(peer.GossipBody(peer.SortRecords(batch...)...)); err != nil {
			return err
		}
	}
	return nil
}

// holdsAtBound judges NB-15 from GET /v1/neighborhood: the node took in relayed records until it
// held the bound, and counted every one after that.
func (g *gossipSteps) holdsAtBound(held int, dropped uint64) error {
	return violates(g.steadily(func(nb neighborhoodJSON) error {
		if len(nb.Records) != held || nb.DroppedRecords != dropped {
			return fmt.Errorf("the node holds %d records of other nodes and counts %d dropped; expected %d held (NB-15: at most 1000, and every relayed record stored below that) and %d dropped",
				len(nb.Records), nb.DroppedRecords, held, dropped)
		}
		return nil
	}), "NB-15")
}

// --- scripted neighborhoods and routes ------------------------------------------------------

// topologyLine is one line of a scripted neighborhood: "bob lists ann, cid" or
// "cid lists bob (accepts no connections)".
type topologyLine struct {
	name    string
	lists   []string
	accepts bool
}

func parseTopology(doc string) ([]topologyLine, error) {
	var out []topologyLine
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		t := topologyLine{accepts: true}
		if rest, ok := strings.CutSuffix(line, "(accepts no connections)"); ok {
			line, t.accepts = strings.TrimSpace(rest), false
		}
		name, lists, ok := strings.Cut(line, " lists ")
		if !ok {
			return nil, fmt.Errorf("script line %q is not \"NAME lists A, B\"", line)
		}
		t.name, t.lists = strings.TrimSpace(name), splitNames(lists)
		out = append(out, t)
	}
	return out, nil
}

// relaysNeighborhood has the sender send one Standard gossip holding its own next record and
// a record, without an address, of every other node the script names: the node learns a
// whole neighborhood it can compute routes over (NB-13). Each line is one node's record.
func (g *gossipSteps) relaysNeighborhood(from string, doc *godog.DocString) error {
	lines, err := parseTopology(doc.Content)
	if err != nil {
		return err
	}
	c, err := g.w.conn(from)
	if err != nil {
		return err
	}
	var recs [][]byte
	for _, t := range lines {
		var lists []wire.Name
		for _, n := range t.lists {
			lists = append(lists, g.nameOf(n))
		}
		gp := g.gossiper(t.name)
		if t.name == from {
			gp.version++
			recs = append(recs, g.record(from, gp.version, false, lists...))
			continue
		}
		gp.accepts = t.accepts
		gp.version++
		recs = append(recs, g.record(t.name, gp.version, false, lists...))
	}
	return c.SendGossip(peer.GossipBody(peer.SortRecords(recs...)...))
}

// routesAre judges GET /v1/route to each named peer: "a route" must be one that keeps NB-13
// over the links the scripted records and the node's own record give; "none" must be 404
// no_route. It first waits until the node holds every record the harness signed last for a peer
// it has not banned, so that a "none" cannot pass only because the records had not arrived.
func (g *gossipSteps) routesAre(table *godog.Table) error {
	nb, err := g.awaitHolding()
	if err != nil {
		return err
	}
	topo, err := g.topology(nb)
	if err != nil {
		return err
	}
	var problems []string
	for i, row := range table.Rows {
		if i == 0 {
			continue
		}
		to, want := row.Cells[0].Value, row.Cells[1].Value
		target := g.nameOf(to)
		ctx, cancel := stepContext()
		status, body, err := g.w.node.Do(ctx, http.MethodGet, "/v1/route?to="+target.String(), "")
		cancel()
		if err != nil {
			return err
		}
		if status == http.StatusNotImplemented {
			return g.w.admin(&harness.StatusError{Node: g.w.node.Label(), Path: "/v1/route", Status: status})
		}
		switch want {
		case "none":
			var e struct{ Code, Error string }
			if status != http.StatusNotFound || json.Unmarshal(body, &e) != nil || e.Code != "no_route" {
				problems = append(problems, fmt.Sprintf("to %s: expected 404 no_route (no route keeps NB-13), got %d %s", to, status, g.namesIn(body)))
			}
		case "a route":
			var r routeJSON
			if status != http.StatusOK || json.Unmarshal(body, &r) != nil {
				problems = append(problems, fmt.Sprintf("to %s: expected 200 with a route, got %d %s", to, status, g.namesIn(body)))
				continue
			}
			if why := g.breaksNB13(r, target, topo); why != "" {
				problems = append(problems, fmt.Sprintf("to %s: route %s %s", to, g.namesIn(body), why))
			}
		default:
			return fmt.Errorf("row %d: the route column says %q; write \"a route\" or \"none\"", i, want)
		}
	}
	if len(problems) > 0 {
		return violates(errors.New(strings.Join(problems, "; ")), "NB-13")
	}
	return nil
}

// topology is what a route is judged against: every node's neighbors and whether it accepts
// connections, from the node's own record (GET /v1/neighborhood) and the records the harness
// signed last for the scripted peers, and the node's bans.
type topology struct {
	lists   map[wire.Name][]wire.Name
	accepts map[wire.Name]bool
	banned  map[wire.Name]bool
}

func (g *gossipSteps) topology(nb neighborhoodJSON) (topology, error) {
	t := topology{
		lists:   map[wire.Name][]wire.Name{g.w.node.Name: nil},
		accepts: map[wire.Name]bool{g.w.node.Name: nb.Accepts},
		banned:  map[wire.Name]bool{},
	}
	for _, n := range append(slices.Clone(nb.Full), nb.Half...) {
		name, err := wire.ParseName(n)
		if err != nil {
			return t, err
		}
		t.lists[g.w.node.Name] = append(t.lists[g.w.node.Name], name)
	}
	for _, b := range nb.Bans {
		if name, err := wire.ParseName(b.Name); err == nil {
			t.banned[name] = true
		}
	}
	for name, gp := range g.gossipers {
		if r, ok := gp.heldRecord(); ok {
			t.lists[g.nameOf(name)], t.accepts[g.nameOf(name)] = r.Neighbors, r.Accepts
		}
	}
	return t, nil
}

func (t topology) full(a, b wire.Name) bool {
	return slices.Contains(t.lists[a], b) && slices.Contains(t.lists[b], a)
}

// breaksNB13 says how a route breaks NB-13, or "".
func (g *gossipSteps) breaksNB13(r routeJSON, target wire.Name, t topology) string {
	var names []wire.Name
	for _, s := range r.Route {
		n, err := wire.ParseName(s)
		if err != nil {
			return "names something that is not a name"
		}
		names = append(names, n)
	}
	switch {
	case len(names) < 4 || r.Hops != len(names)-1:
		return fmt.Sprintf("has %d names and says %d hops: a route has at least 3 hops, one fewer than its names", len(names), r.Hops)
	case names[0] != g.w.node.Name || names[len(names)-1] != target:
		return "does not run from the node to the target"
	case slices.Contains(t.lists[target], g.w.node.Name):
		return "ends at a node whose record lists the node"
	}
	seen := map[wire.Name]bool{}
	for i, n := range names {
		if seen[n] {
			return "names a node twice"
		}
		seen[n] = true
		if i > 0 && !t.full(names[i-1], n) {
			return "runs over a link that is not full"
		}
		if i > 0 && !t.accepts[n] {
			return "runs through or to a node that accepts no connections"
		}
		if t.banned[n] {
			return "runs through a banned node"
		}
	}
	return ""
}

// awaitHolding waits until the node holds, at the version the harness signed last, the record
// of every scripted peer it has not banned, and returns its neighborhood then.
func (g *gossipSteps) awaitHolding() (neighborhoodJSON, error) {
	var last neighborhoodJSON
	err := g.awaitNeighborhood(func(nb neighborhoodJSON) error {
		last = nb
		banned := map[string]bool{}
		for _, b := range nb.Bans {
			banned[b.Name] = true
		}
		for name, gp := range g.gossipers {
			id := g.nameOf(name)
			if gp.held == nil || banned[id.String()] {
				continue
			}
			if v, _, ok := findRecord(nb, id); !ok || v < gp.heldVersion {
				return fmt.Errorf("the node holds %q's record at version %d (held: %v), not the version %d relayed to it", name, v, ok, gp.heldVersion)
			}
		}
		return nil
	})
	return last, err
}

// namesIn replaces the names in an answer by the scenario's names for them, for errors.
func (g *gossipSteps) namesIn(body []byte) string {
	s := strings.TrimSpace(string(body))
	for name, p := range g.w.peers {
		s = strings.ReplaceAll(s, p.id.Name().String(), name)
	}
	return strings.ReplaceAll(s, g.w.node.Name.String(), nodeName)
}

// --- the shared privacy check ---------------------------------------------------------------

// gossipPrivacy reads every GOSSIP the node sent any scripted peer in the scenario and says how
// one broke NB-4's rules on what a target may get, or nil:
//   - never the target's own record;
//   - the node's own record with its address only in a Debut (that record alone) or an
//     Introduction (it and one other record with an address), the answers that let the
//     receiver reach it; in Standard gossip it goes without;
//   - in Standard gossip, another node's record with an address only to a target whose record
//     (any version the harness signed) lists that node, and only if that node accepts
//     connections. A Pass (one record, not the node's) carries the passed-to neighbor's address
//     by design (NB-5).
func (g *gossipSteps) gossipPrivacy() error {
	if g.w.node == nil {
		return nil
	}
	node := g.w.node.Name
	for name, p := range g.w.peers {
		self := p.id.Name()
		gp := g.gossipers[name]
		for _, f := range g.gossipReceived(name) {
			recs, err := peer.ParseGossip(f.Body)
			if err != nil {
				return violates(fmt.Errorf("the node sent peer %q a GOSSIP that is not valid: %w", name, err), "NB-1")
			}
			var ownAddressed bool
			for _, r := range recs {
				if r.Name == self {
					return violates(fmt.Errorf("the node sent peer %q its own record (NB-4)", name), "NB-4")
				}
				if r.Name == node && r.Addr.IsValid() {
					ownAddressed = true
				}
			}
			pass := len(recs) == 1 && recs[0].Name != node
			debut := len(recs) == 1 && ownAddressed
			introduction := len(recs) == 2 && ownAddressed && recs[0].Addr.IsValid() && recs[1].Addr.IsValid()
			if pass || debut || introduction {
				continue
			}
			for _, r := range recs {
				switch {
				case !r.Addr.IsValid():
				case r.Name == node:
					return violates(fmt.Errorf("the node sent peer %q Standard gossip holding its own record with its address: Standard gossip carries it without (NB-4)", name), "NB-4")
				case !r.Accepts || gp == nil || !gp.everListed[r.Name]:
					return violates(fmt.Errorf("the node revealed %s's address %v to peer %q, whose record never listed that node (NB-4: an address only to nodes that list its node)",
						g.namesIn([]byte(r.Name.String())), r.Addr, name), "NB-4")
				}
			}
		}
	}
	return nil
}
