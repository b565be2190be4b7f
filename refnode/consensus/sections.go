package consensus

import (
	"slices"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/sections"
	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

// This file is the core's part in a network of sections (SPEC.md §10; design in
// conformance/drafts/sections.md). With Config.SectionBits 0 there is one section and none of it
// runs: the Directory stays empty, the outside quorum is always held and no elder loss is ever
// decided.
//
// A node of section P keeps a stableset of P's names only and a Directory of the other
// sections' top-20 lists. Its elders send P's list to the members of every list they hold after
// each applied change and every list interval, and ping the elders of every list they hold: that
// is how the outside quorum is judged, and how another section notices that P's elders went
// silent. A join from a name of another section is answered with the list of that section (or,
// when none is known, with P's own list, which tells the joiner to found its section).

// sectionState is what a core keeps about the other sections.
type sectionState struct {
	prefix   sections.Prefix
	dir      *sections.Directory
	lastSent time.Time // P's list last sent to the other sections
	loss     *elderLoss
	lossSent time.Time
	listIn   wire.SectionList // decode buffers
	lossIn   wire.ElderLoss
}

// elderLoss is the tally, at one of the acting elders of P, of the votes to remove all of P's
// elders at once (SEC-8).
type elderLoss struct {
	elders  []wire.Member // the lost elders, as this node holds them
	inside  []wire.Name   // acting elders of P that voted, this node included
	outside map[sections.Prefix][]wire.Name
}

// Sections is what the node knows of the other sections; callers must not change it.
func (c *Core) Sections() *sections.Directory { return c.sec.dir }

// Prefix is the node's own section.
func (c *Core) Prefix() sections.Prefix { return c.sec.prefix }

// inSection reports whether name belongs to this node's section.
func (c *Core) inSection(name wire.Name) bool {
	return c.cfg.SectionBits == 0 || c.sec.prefix.Contains(name)
}

// outsideQuorum reports whether this node has heard, within the peer timeout, from a strict
// majority of the elders of each of a strict majority of the other sections it knows (SEC-10).
// A node that knows no other section has it.
func (c *Core) outsideQuorum() bool {
	if c.cfg.SectionBits == 0 || c.sec.dir.Len() == 0 {
		return true
	}
	known := c.sec.dir.Sections()
	heard := 0
	for _, k := range known {
		elders := k.List.Elders(c.cfg.ElderSize)
		n := 0
		for _, e := range elders {
			// A peer met for the first time counts as heard from now: a list just accepted
			// does not cut the node off before its first ping could be answered.
			if c.now.Sub(c.peer(e.Name).lastHeard) < c.cfg.PeerTimeout {
				n++
			}
		}
		if n >= stableset.Majority(len(elders)) {
			heard++
		}
	}
	return heard >= stableset.Majority(len(known))
}

// redirect answers a join request from a name of another section with the list this node holds
// for that section, or, when it holds none, with its own section's list (SEC-5, SEC-6).
func (c *Core) redirect(to wire.Member) {
	if k, ok := c.sec.dir.Lookup(to.Name); ok {
		c.sendList(to, &k.List)
		return
	}
	own := sections.OwnList(c.sec.prefix, c.set)
	c.sendList(to, &own)
}

func (c *Core) sendList(to wire.Member, l *sections.List) {
	start := len(c.buf)
	w := l.Wire()
	c.buf = w.Append(c.buf)
	c.emit(Message{To: to, Type: wire.TypeSectionList, Body: c.buf[start:]}, -1)
}

// sendOwnList sends this elder's list of its own section to every member of every list it holds
// (SEC-2).
func (c *Core) sendOwnList() {
	if c.cfg.SectionBits == 0 || c.sec.dir.Len() == 0 || !c.set.IsElder(c.self.Name) {
		return
	}
	c.sec.lastSent = c.now
	own := sections.OwnList(c.sec.prefix, c.set)
	start := len(c.buf)
	w := own.Wire()
	c.buf = w.Append(c.buf)
	body := c.buf[start:]
	for _, k := range c.sec.dir.Sections() {
		for _, m := range k.List.Members {
			c.emit(Message{To: m, Type: wire.TypeSectionList, Body: body}, -1)
		}
	}
	c.totals.ListsSent++
}

// onSectionList: a joiner follows a list to its own section's elders, or founds its section when
// a contact of another section knows none; a member offers the list to its Directory (SEC-3).
func (c *Core) onSectionList(from wire.Member, body []byte) {
	if c.cfg.SectionBits == 0 || c.sec.listIn.Decode(body) != nil || c.sec.listIn.Bits != c.cfg.SectionBits {
		return
	}
	l := sections.FromWire(&c.sec.listIn)
	if c.inSection(from.Name) {
		// A list another section sent to this section: the elders pass what they hold on to a
		// member that has just joined, which trusts them as it trusts their stableset.
		if wire.HasName(c.contacts, from.Name) && c.phase == Joining && !(mutant.Enabled && mutant.Is("joiner-drops-lists")) ||
			c.set.IsElder(from.Name) && c.phase != Joining {
			_ = c.sec.dir.Seed(l, c.now)
		}
		return
	}
	switch c.phase {
	case Joining:
		if !wire.HasName(c.contacts, from.Name) && !(mutant.Enabled && mutant.Is("joiner-takes-any-list")) {
			return // only a peer this joiner asked may point it anywhere
		}
		if l.Prefix == c.sec.prefix {
			if elders := l.Elders(c.cfg.ElderSize); !slices.Equal(c.contacts, elders) {
				c.contacts = slices.Clone(elders)
				c.askToJoin()
			}
			return
		}
		if l.Prefix == sections.PrefixOf(from.Name, c.cfg.SectionBits) && l.Has(from.Name) {
			c.found(l)
		}
	case Member, Leaving:
		first := c.sec.dir.Len()
		if c.sec.dir.Receive(c.now, from.Name, l) == nil {
			c.totals.ListsAccepted++
			if c.sec.dir.Len() > first {
				c.sendOwnList() // a section met for the first time learns this one at once
			}
		}
	}
}

// passLists gives a member that has just joined the lists this elder holds (SEC-2).
func (c *Core) passLists(to wire.Member) {
	if c.cfg.SectionBits == 0 {
		return
	}
	for _, k := range c.sec.dir.Sections() {
		c.sendList(to, &k.List)
	}
}

// found makes this joiner the first member of its section, which no node it asked knows (SEC-6).
func (c *Core) found(contact sections.List) {
	c.phase = Member
	c.self.Ordinal = 0
	c.set.Reset([]wire.Member{c.self})
	clear(c.tracks)
	_ = c.sec.dir.Seed(contact, c.now)
	c.sendOwnList()
	if c.leaveOnceIn {
		c.Leave(c.now)
	}
}

// pingSections: an elder pings the elders of every other section it knows (SEC-10).
func (c *Core) pingSections() {
	if c.cfg.SectionBits == 0 || !c.set.IsElder(c.self.Name) {
		return
	}
	for _, k := range c.sec.dir.Sections() {
		for _, e := range k.List.Elders(c.cfg.ElderSize) {
			c.pingOne(e)
		}
	}
}

// tickSections sends this elder's list every list interval and watches for an elder loss.
func (c *Core) tickSections() {
	if c.cfg.SectionBits == 0 {
		return
	}
	if c.set.IsElder(c.self.Name) && c.now.Sub(c.sec.lastSent) >= c.cfg.ListInterval {
		c.sendOwnList()
	}
	c.watchElders()
}

// acting are the members that become elders when all the elders go: the next elder-size eldest.
func (c *Core) acting() []wire.Member {
	m := c.set.Members()
	return m[min(c.cfg.ElderSize, len(m)):min(2*c.cfg.ElderSize, len(m))]
}

func (c *Core) allSilent(list []wire.Member) bool {
	for _, m := range list {
		if !c.silentFor(m.Name, c.cfg.ElderLossTimeout) {
			return false
		}
	}
	return len(list) > 0
}

// watchElders: an acting elder that has heard none of its elders for the elder-loss timeout
// votes for their loss, to the other acting elders and to the elders of the other sections, and
// applies it once enough of both agree (SEC-8).
func (c *Core) watchElders() {
	elders := c.set.Elders()
	if c.phase != Member || c.sec.dir.Len() == 0 || c.set.IsElder(c.self.Name) || mutant.Enabled && mutant.Is("elder-loss-never") ||
		!wire.HasName(c.acting(), c.self.Name) || !c.allSilent(elders) {
		c.sec.loss = nil
		return
	}
	if c.sec.loss == nil || !slices.Equal(c.sec.loss.elders, elders) {
		c.sec.loss = &elderLoss{elders: slices.Clone(elders), inside: []wire.Name{c.self.Name},
			outside: map[sections.Prefix][]wire.Name{}}
	}
	if c.now.Sub(c.sec.lossSent) >= c.cfg.RetryInterval {
		c.sec.lossSent = c.now
		body := c.lossBody(elders)
		for _, a := range c.acting() {
			if a.Name != c.self.Name {
				c.emit(Message{To: a, Type: wire.TypeElderLoss, Body: body}, -1)
			}
		}
		for _, k := range c.sec.dir.Sections() {
			for _, e := range k.List.Elders(c.cfg.ElderSize) {
				c.emit(Message{To: e, Type: wire.TypeElderLoss, Body: body}, -1)
			}
		}
	}
	c.tryElderLoss()
}

func (c *Core) lossBody(elders []wire.Member) []byte {
	start := len(c.buf)
	p := sections.PrefixOf(elders[0].Name, c.cfg.SectionBits)
	e := wire.ElderLoss{Bits: p.Bits, Value: p.Value, Elders: elders}
	c.buf = e.Append(c.buf)
	return c.buf[start:]
}

// onElderLoss counts a vote or a confirmation at an acting elder, or, at an elder of another
// section, confirms a vote when it too hears none of those elders (SEC-8).
func (c *Core) onElderLoss(from wire.Member, body []byte) {
	if c.cfg.SectionBits == 0 || c.phase != Member || c.sec.lossIn.Decode(body) != nil || c.sec.lossIn.Bits != c.cfg.SectionBits {
		return
	}
	e := &c.sec.lossIn
	if (sections.Prefix{Bits: e.Bits, Value: e.Value}) == c.sec.prefix {
		l := c.sec.loss
		if l == nil || !slices.Equal(l.elders, e.Elders) {
			return
		}
		if c.inSection(from.Name) {
			acting := wire.HasName(c.acting(), from.Name) || mutant.Enabled && mutant.Is("any-member-votes-loss")
			if acting && !slices.Contains(l.inside, from.Name) {
				l.inside = append(l.inside, from.Name)
			}
		} else if k, ok := c.sec.dir.Lookup(from.Name); ok && wire.HasName(k.List.Elders(c.cfg.ElderSize), from.Name) {
			if p := k.List.Prefix; !slices.Contains(l.outside[p], from.Name) {
				l.outside[p] = append(l.outside[p], from.Name)
			}
		}
		c.tryElderLoss()
		return
	}
	// A vote from a member of another section about that section's elders.
	k, ok := c.sec.dir.Lookup(from.Name)
	if !ok || !c.set.IsElder(c.self.Name) || !k.List.Has(from.Name) {
		return
	}
	held := k.List.Elders(c.cfg.ElderSize)
	if !slices.Equal(held, e.Elders) || wire.HasName(held, from.Name) || !c.allSilent(held) && !(mutant.Enabled && mutant.Is("elder-loss-echoed")) {
		return
	}
	c.emit(Message{To: from, Type: wire.TypeElderLoss, Body: c.lossBody(held)}, -1)
}

// tryElderLoss applies the loss once a strict majority of the acting elders voted for it and a
// strict majority of the elders of each of a strict majority of the other sections confirmed it.
func (c *Core) tryElderLoss() {
	l := c.sec.loss
	acting := c.acting()
	inside := 0
	for _, n := range l.inside {
		if wire.HasName(acting, n) || mutant.Enabled && mutant.Is("any-member-votes-loss") {
			inside++
		}
	}
	known := c.sec.dir.Sections()
	confirmed := 0
	for _, k := range known {
		elders := k.List.Elders(c.cfg.ElderSize)
		n := 0
		for _, name := range l.outside[k.List.Prefix] {
			if wire.HasName(elders, name) {
				n++
			}
		}
		if n >= stableset.Majority(len(elders)) {
			confirmed++
		}
	}
	if len(known) == 0 || inside < stableset.Majority(len(acting)) || confirmed < stableset.Majority(len(known)) {
		return
	}
	c.applyElderLoss(l.elders)
}

// applyElderLoss applies the leave of every lost elder at once; this node is one of the new
// elders and tells the section and the other sections as after any applied change.
func (c *Core) applyElderLoss(elders []wire.Member) {
	changes := make([]stableset.Change, len(elders))
	for i, e := range elders {
		changes[i] = stableset.Change{Kind: wire.ChangeLeave, Member: e}
		c.track(changes[i])
	}
	c.sec.loss = nil
	c.elderBuf = append(c.elderBuf[:0], elders...)
	c.applied = c.set.ApplyDecided(c.applied[:0], changes)
	c.totals.ElderLosses++
	if len(c.applied) > 0 && c.react(false) {
		c.settle()
	}
}
