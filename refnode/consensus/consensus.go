// Package consensus is refnode's witness protocol as a pure state machine (SPEC.md §8): events go
// in — a frame from a peer, a tick of the clock, a request to leave — and messages to send come
// out. There are no goroutines, clocks or sockets inside; refnode's runtime and the deterministic
// simulation in this package's tests drive it the same way.
//
// A node joins by asking a member to witness its join; an elder gives it the next ordinal and
// asks the other elders to witness too, each elder telling each other elder exactly once (a
// WITNESS_REQUEST, or the WITNESS that answers one), which is what bounds a decision to 24
// frames among 4 elders. A change applies at each node once a strict majority of that node's
// elders witnessed it. Leaves work the same way, started by the leaver itself or by an elder that
// has not heard from a member for the peer timeout. Anti-entropy repairs whatever is lost: every
// frame carries the sender's stableset id, and a node that keeps seeing a different id from a
// peer sends it its STABLESET.
package consensus

import (
	"bytes"
	"maps"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/sections"
	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

// Config sets up a Core. Zero durations take the defaults in SPEC.md §8.
type Config struct {
	Self      wire.Member // name and address; the ordinal is assigned when it joins
	ElderSize int         // default 4
	Bootstrap []wire.Member
	// PeerTimeout is how long an elder waits without hearing from a member before it witnesses
	// that member's leave; default 3s.
	PeerTimeout time.Duration
	// PingInterval is how often elders ping members (and members ping elders); default 500ms.
	PingInterval time.Duration
	// RequestTimeout is how long a WITNESS_REQUEST waits to be answered (TRN-7); default 2s.
	RequestTimeout time.Duration
	// AntiEntropyDelay is how long two frames from a peer must show a different stableset id
	// before this node sends its STABLESET; default 200ms.
	AntiEntropyDelay time.Duration
	// RetryInterval is how often a joiner or leaver asks again while nothing has happened; default 1s.
	RetryInterval time.Duration
	// DecisionLog bounds how many decisions Decisions keeps; default 1000.
	DecisionLog int
	// SectionBits is the length of the section prefix, the same at every node of a network
	// (SPEC.md §10); 0, the default, makes the whole name space one section.
	SectionBits uint8
	// ListInterval is how often an elder sends its section's top-20 list to the other sections
	// besides after every applied change; default 10s.
	ListInterval time.Duration
	// ElderLossTimeout is how long no elder of a section may be heard from before its acting
	// elders and the other sections decide the loss of them all; default twice the peer timeout.
	ElderLossTimeout time.Duration
	// WitnessLapse is how long a witness recorded from another node stands without being said
	// again (ST-13); default 5s, so that it survives one lost re-say of ST-9's every 2 s.
	WitnessLapse time.Duration
}

func (c *Config) setDefaults() {
	if c.ElderSize == 0 {
		c.ElderSize = 4
	}
	if c.PeerTimeout == 0 {
		c.PeerTimeout = 3 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 500 * time.Millisecond
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 2 * time.Second
	}
	if c.AntiEntropyDelay == 0 {
		c.AntiEntropyDelay = 200 * time.Millisecond
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = time.Second
	}
	if c.DecisionLog == 0 {
		c.DecisionLog = 1000
	}
	if c.ListInterval == 0 {
		c.ListInterval = 10 * time.Second
	}
	if c.ElderLossTimeout == 0 {
		c.ElderLossTimeout = 2 * c.PeerTimeout
	}
	if c.WitnessLapse == 0 {
		c.WitnessLapse = 5 * time.Second
	}
}

// Message is a frame the runtime must send. WITNESS_REQUEST and PING are requests: the runtime
// sends them as such and feeds the answer back through Receive. A WITNESS with ReplyTo answers
// the request with that message id.
type Message struct {
	To      wire.Member
	Type    wire.Type
	ReplyTo uint64
	Body    []byte // valid until the next call into the Core
}

// Phase is where a node stands in its stableset.
type Phase int

const (
	Joining Phase = iota // asking to be let in
	Member               // a member
	Leaving              // a member that asked to leave
	Left                 // its leave applied; nothing more to do
)

func (p Phase) String() string {
	return [...]string{"joining", "member", "leaving", "left"}[p]
}

// heldRequest is a WITNESS_REQUEST this node has not answered yet because it does not witness the
// change (yet); it answers if it comes to, before the requester gives up.
type heldRequest struct {
	from  wire.Member
	id    uint64
	until time.Time
}

// hold keeps a request to answer later: one per requester, the newest, since an answer goes to
// the newest request and a peer repeating its request must not grow the list (ST-13).
func (tr *track) hold(from wire.Member, id uint64, until time.Time) {
	tr.held = holdNewest(tr.held, heldRequest{from: from, id: id, until: until}, -1)
}

// holdNewest puts r in held in place of the request its sender made before, keeping that one's
// place, or else at the end while held has fewer than limit entries (limit < 0: no limit).
func holdNewest(held []heldRequest, r heldRequest, limit int) []heldRequest {
	for i := range held {
		if held[i].from.Name == r.from.Name {
			held[i] = r
			return held
		}
	}
	if limit >= 0 && len(held) >= limit {
		return held
	}
	return append(held, r)
}

// track is what this node did about one change.
type track struct {
	change   stableset.Change // as first seen, address included
	mine     bool             // this node witnessed it
	told     []wire.Name      // elders this node sent its witness to, by request or answer
	held     []heldRequest
	lastPush time.Time // when this node last asked for missing witnesses
	decision int       // index into the decision log, or -1
}

// vote is a stableset an elder of it sent this node, as a candidate to adopt (ST-11). A voter
// counts once, for the stableset it sent last, so that no peer can grow the votes by sending
// many stablesets; votes older than the witness lapse are forgotten.
type vote struct {
	id wire.StablesetID
	at time.Time
}

type peerState struct {
	addr      netip.AddrPort
	lastHeard time.Time
	// pingedSince is when this node started pinging the peer without a break, lastPinged its
	// latest ping: a peer's silence means something only after a peer timeout of pinging it.
	pingedSince, lastPinged time.Time
	// lastSaid is when the peer last sent a frame of its own, one answering none of this node's:
	// it shows the peer alive as well as a PONG would, so a ping due before then is not sent.
	lastSaid time.Time
	// lastFrame is when the peer last sent any frame at all; zero if it never did. A subject
	// heard from lately is sent its stableset at once (ST-10): a connection to it is open.
	lastFrame     time.Time
	mismatchSince time.Time
	mismatchMine  wire.StablesetID
	lastSync      time.Time
}

// Core is one node's witness protocol.
type Core struct {
	cfg   Config
	self  wire.Member
	set   *stableset.Set
	phase Phase

	tracks   map[stableset.Change]*track
	peers    map[wire.Name]*peerState
	asked    map[wire.Name]uint64 // members that asked to leave, by the ordinal they left as
	contacts []wire.Member        // whom a joiner asks
	votes    map[wire.Name]vote   // each peer's latest vote for a stableset to adopt (ST-11)
	catchUp  catchUp
	// queued are joiners this elder could not take up because as many joins as it takes at once
	// were pending: it takes them up, in the order they first asked, as soon as it can (ST-5),
	// instead of leaving each to ask again a second later. One entry per joiner, its newest request.
	queued []heldRequest
	// owed are the changes this elder applied whose announcements (ST-10) it holds until its next
	// tick, so that they do not compete with the decision's own frames and a run of changes costs
	// each member one STABLESET rather than one per change (with sections: while other changes it
	// witnessed are pending, and then at once).
	owed []owedChange
	// waiting are subjects of changes this elder applied that had not spoken to it lately: it
	// sends them its stableset as soon as they do, or at its first tick SubjectWait after
	// applying (ST-10), instead of opening a connection to each while the decision is still
	// being taken by the other elders.
	waiting []waitingSubject
	// pingedFor is the stableset a joiner last pinged the elders of, having been sent it by one
	// of them (ST-5): it pings the elders of each such stableset once.
	pingedFor wire.StablesetID
	lastPing  time.Time
	// leaveOnceIn: asked to leave while joining; leaves as soon as it is in.
	leaveOnceIn bool
	lastTry     time.Time
	// firstAsked is when this node first asked to join, this time round: its own join's start
	// in its decision log (ST-12); zero while it is a member.
	firstAsked time.Time
	now        time.Time

	decisions []Decision
	decBase   int // decisions dropped from the front of the log
	totals    Totals

	sec sectionState

	out      []Message
	buf      []byte
	applied  []stableset.Change
	elderBuf []wire.Member
	joinBuf  []wire.Member
	leftBuf  []wire.Member
}

// New returns a node's core: a genesis node (no bootstrap peers) is a member of a stableset of
// one at once; any other node starts alone and joins through its bootstrap peers.
func New(cfg Config, now time.Time) *Core {
	cfg.setDefaults()
	c := &Core{
		cfg: cfg, self: cfg.Self, set: stableset.New(cfg.Self, cfg.ElderSize), now: now,
		tracks: map[stableset.Change]*track{}, peers: map[wire.Name]*peerState{},
		asked: map[wire.Name]uint64{}, votes: map[wire.Name]vote{},
	}
	c.self.Ordinal = 0
	c.sec.prefix = sections.PrefixOf(cfg.Self.Name, cfg.SectionBits)
	c.sec.dir = sections.NewDirectory(c.sec.prefix, cfg.ElderSize)
	c.contacts = slices.Clone(cfg.Bootstrap)
	c.phase = Member
	if len(cfg.Bootstrap) > 0 {
		c.phase = Joining
		c.lastTry = now.Add(-cfg.RetryInterval)
	}
	return c
}

// Set is the node's stableset; callers must not change it.
func (c *Core) Set() *stableset.Set { return c.set }

// Phase is where the node stands.
func (c *Core) Phase() Phase { return c.phase }

// Outbox returns the messages to send and empties it. The slice and bodies are valid until the
// next call into the Core.
func (c *Core) Outbox() []Message {
	out := c.out
	c.out = c.out[:0]
	c.buf = c.buf[:0]
	return out
}

func (c *Core) peer(n wire.Name) *peerState {
	p := c.peers[n]
	if p == nil {
		p = &peerState{lastHeard: c.now}
		c.peers[n] = p
	}
	return p
}

// Heard tells the core that a frame (any type, a PONG included) arrived from a peer with the
// given stableset id in its header. It drives failure detection and anti-entropy (ST-8).
func (c *Core) Heard(now time.Time, from wire.Member, h wire.Header) {
	c.now = now
	id := h.Stableset
	p := c.peer(from.Name)
	p.lastHeard, p.lastFrame = now, now
	if len(c.waiting) > 0 {
		c.tellWaitingSubject(from.Name)
	}
	if !h.Type.IsResponse() {
		p.lastSaid = now
	}
	if from.Addr.IsValid() {
		p.addr = from.Addr
	}
	c.withdrawSilence(from.Name)
	mine := c.set.ID()
	// Another section's frames carry its own stableset's id: no mismatch to repair. Nor has a
	// node that is joining, whose frames carry its own alone: it learns the stableset when it is
	// in (ST-5), and sending it ours every 200 ms while it waits its turn would only cost frames.
	if id == mine || c.phase == Joining || c.phase == Left || !c.inSection(from.Name) || id == stableset.AloneID(from.Name) {
		p.mismatchSince = time.Time{}
		return
	}
	// A node that is not a member (one removed while it could not be heard) takes over only what
	// a majority of the elders send it (ST-11): another member's STABLESET is nothing to it.
	if _, member := c.set.Member(from.Name); !member && !c.set.IsElder(c.self.Name) {
		p.mismatchSince = time.Time{}
		return
	}
	if p.mismatchSince.IsZero() || p.mismatchMine != mine {
		p.mismatchSince, p.mismatchMine = now, mine
		return
	}
	if now.Sub(p.mismatchSince) >= c.cfg.AntiEntropyDelay {
		p.mismatchSince = time.Time{}
		c.sync(c.addrOf(from), true)
	}
}

// withdrawSilence takes back this node's witness of n's leave when that witness rests on n's
// silence and n has just been heard (ST-7): a member that speaks is not silent, and a witness
// left standing would count, with others' old ones, towards removing a healthy member later.
func (c *Core) withdrawSilence(n wire.Name) {
	cur, ok := c.set.Member(n)
	if !ok || n == c.self.Name || mutant.Enabled && mutant.Is("silence-witness-kept") {
		return
	}
	if o, asked := c.asked[n]; asked && o == cur.Ordinal {
		return // it asked to leave: the witness stands whatever it says now
	}
	cur.Addr = netip.AddrPort{}
	tr := c.tracks[stableset.Change{Kind: wire.ChangeLeave, Member: cur}]
	if tr == nil || !tr.mine {
		return
	}
	tr.mine = false
	tr.told = tr.told[:0]
	c.set.Unwitness(wire.ChangeLeave, cur, c.self.Name)
}

// addrOf completes a peer's address from what the stableset or earlier frames say.
func (c *Core) addrOf(m wire.Member) wire.Member {
	if m.Addr.IsValid() {
		return m
	}
	if cur, ok := c.set.Member(m.Name); ok {
		return cur
	}
	if p := c.peers[m.Name]; p != nil {
		m.Addr = p.addr
	}
	return m
}

// Receive handles a WITNESS_REQUEST (with its message id), a WITNESS answering one of this node's
// requests, or a STABLESET. The body has passed the codec's checks (MSG-3, MSG-4).
func (c *Core) Receive(now time.Time, from wire.Member, h wire.Header, body []byte) {
	c.now = now
	from = c.addrOf(from)
	switch h.Type {
	case wire.TypeWitnessRequest, wire.TypeWitness:
		var o wire.Observation
		if o.Decode(body) != nil {
			return
		}
		if h.Type == wire.TypeWitnessRequest {
			c.onRequest(from, h.ID, o)
		} else {
			c.onWitness(from, o)
		}
		c.countReceived(from.Name, c.decisionOf(stableset.Change{Kind: o.Kind, Member: o.Member}))
	case wire.TypeSectionList:
		c.onSectionList(from, body)
		return
	case wire.TypeElderLoss:
		c.onElderLoss(from, body)
		return
	case wire.TypeStableset:
		if !c.inSection(from.Name) {
			return // another section's stableset is none of this one's business
		}
		var v wire.StablesetView
		if v.Decode(body) != nil {
			return
		}
		c.onStableset(from, &v)
		c.settle()
		// The header carries the view's id: a view equal to ours offers nothing to adopt.
		if (c.phase == Member || c.phase == Leaving) && h.Stableset != c.set.ID() {
			c.considerAdopting(from, &v)
		}
		return
	}
	c.settle()
}

func (c *Core) onRequest(from wire.Member, id uint64, o wire.Observation) {
	if c.phase == Joining || c.phase == Left {
		return // not a member of anything yet: WIRE-9
	}
	ch := stableset.Change{Kind: o.Kind, Member: o.Member}
	if !c.inSection(o.Member.Name) && !(mutant.Enabled && mutant.Is("foreign-join-witnessed") && from.Name != o.Member.Name) {
		if from.Name == o.Member.Name && o.Kind == wire.ChangeJoin && !(mutant.Enabled && mutant.Is("no-redirect")) {
			c.redirect(from) // SEC-5: a joiner of another section is pointed there
		}
		return
	}
	if from.Name == o.Member.Name { // the subject asks for itself
		c.onOwnRequest(from, id, ch)
		return
	}
	if !c.set.Known(from.Name) && !(mutant.Enabled && mutant.Is("stranger-witness-recorded")) {
		return // a stranger's request means nothing here (WIRE-9)
	}
	c.record(ch, from)
	if !c.set.Live(ch.Kind, ch.Member) {
		return
	}
	tr := c.track(ch)
	if tr.mine {
		c.answer(ch, from, id, tr)
		return
	}
	tr.hold(from, id, c.now.Add(c.cfg.RequestTimeout))
	// A member that is not an elder here is one to the asker, whose view is ahead of or behind
	// ours. It answers for a leave it agrees with: that is how an asker whose elders include a
	// dead one completes a removal that the members it lags behind have already applied.
	// An elder witnesses a join for the joiner itself (onOwnRequest) or when another elder asks,
	// so that a member that is not an elder cannot have made-up names admitted (ST-9).
	askedByElder := c.set.IsElder(from.Name) || mutant.Enabled && mutant.Is("member-invites")
	switch {
	case ch.Kind == wire.ChangeLeave && c.agrees(ch):
		c.witness(ch)
	case ch.Kind == wire.ChangeJoin && c.set.IsElder(c.self.Name) && askedByElder && c.agrees(ch):
		c.witness(ch)
	}
}

// onOwnRequest is a joiner asking to join or a member asking to leave (ST-5, ST-7).
func (c *Core) onOwnRequest(from wire.Member, id uint64, ch stableset.Change) {
	elder := c.set.IsElder(c.self.Name)
	switch ch.Kind {
	case wire.ChangeJoin:
		if cur, ok := c.set.Member(from.Name); ok {
			// Already in (it restarted before anyone noticed): tell it so.
			c.reply(from, id, stableset.Change{Kind: wire.ChangeJoin, Member: cur}, -1)
			c.sync(from, false)
			return
		}
		if !elder {
			c.sync(from, false) // the view tells the joiner who the elders are
			return
		}
		if c.joinsTaken(from.Name) >= c.joinsAtOnce() {
			c.queueJoin(from, id) // a bounded number of joins at a time (ST-5)
			return
		}
		ch.Member.Ordinal = c.ordinalFor(from.Name)
		ch.Member.Addr = from.Addr
		c.takeUp(ch, from, id)
	case wire.ChangeLeave:
		cur, ok := c.set.Member(from.Name)
		if !ok || cur.Ordinal != ch.Member.Ordinal {
			return
		}
		ch.Member = cur
		c.asked[from.Name] = cur.Ordinal
		c.record(ch, from)
		if !elder {
			return
		}
		c.takeUp(ch, from, id)
	}
}

// MaxQueuedJoins bounds the joiners an elder holds while it takes as many joins as it may at
// once (ST-5, ST-13).
const MaxQueuedJoins = 64

// MaxJoinsAtOnce is how many joins an elder of a stableset of at least elder_size members, in a
// network of one section, takes at once (ST-5). Their ordinals are above every member's, so
// none of them can change the elders, and the elders never depend on the order in which they
// apply. ST-13's quota of M + 16 per sender leaves room for them beside the leave of every member.
const MaxJoinsAtOnce = 8

// queueJoin holds a joiner's request until the join this elder is taking applies. A joiner that
// asks again replaces its request and keeps its place; one that stops asking is forgotten after
// the request timeout and a retry interval.
func (c *Core) queueJoin(from wire.Member, id uint64) {
	if mutant.Enabled && mutant.Is("turned-away-joiner-dropped") {
		return
	}
	until := c.now.Add(c.cfg.RequestTimeout + c.cfg.RetryInterval)
	c.queued = holdNewest(c.queued, heldRequest{from: from, id: id, until: until}, MaxQueuedJoins)
}

// takeQueued takes up the oldest queued joiners while this elder can take more joins (ST-5).
func (c *Core) takeQueued() {
	for len(c.queued) > 0 && (c.phase == Member || c.phase == Leaving) && c.set.IsElder(c.self.Name) && c.joinsTaken(wire.Name{}) < c.joinsAtOnce() {
		q := c.queued[0]
		c.queued = slices.Delete(c.queued, 0, 1)
		if _, in := c.set.Member(q.from.Name); in || !c.now.Before(q.until) {
			continue
		}
		ch := stableset.Change{Kind: wire.ChangeJoin, Member: wire.Member{Name: q.from.Name, Ordinal: c.ordinalFor(q.from.Name), Addr: q.from.Addr}}
		c.takeUp(ch, q.from, q.id)
	}
}

// takeUp is an elder's answer to a member asking about its own join or leave: it holds the
// request and answers it at once if it witnessed the change already, else witnesses it now.
func (c *Core) takeUp(ch stableset.Change, from wire.Member, id uint64) {
	tr := c.track(ch)
	tr.hold(from, id, c.now.Add(c.cfg.RequestTimeout))
	if tr.mine {
		c.answerHeld(ch, tr)
	} else {
		c.witness(ch)
	}
}

// joinsAtOnce is how many joins this elder takes at once (ST-5): MaxJoinsAtOnce once its
// stableset has elder_size members; else one. Below elder_size a join makes the joiner an elder,
// and the majority the next join needs depends on it.
func (c *Core) joinsAtOnce() int {
	if mutant.Enabled && mutant.Is("concurrent-joins") {
		return math.MaxInt
	}
	if len(c.set.Members()) < c.cfg.ElderSize && !(mutant.Enabled && mutant.Is("small-stableset-concurrent-joins")) {
		return 1
	}
	if mutant.Enabled && c.cfg.SectionBits > 0 && mutant.Is("sections-joins-one-at-a-time") {
		return 1
	}
	return MaxJoinsAtOnce
}

// joinsTaken counts the pending joins of nodes other than except that this node witnessed itself.
// A join that others merely claim is pending does not count: it must not keep this elder from
// taking joins (ST-13 bounds those claims, but any member can make them).
func (c *Core) joinsTaken(except wire.Name) int {
	taken := 0
	c.set.EachPending(func(ch stableset.Change, witnesses []wire.Name) {
		if ch.Kind == wire.ChangeJoin && ch.Member.Name != except && slices.Contains(witnesses, c.self.Name) {
			taken++
		}
	})
	return taken
}

// ordinalFor is the ordinal an elder gives a joiner: the one of a join it already witnessed for
// that name, else one more than any ordinal applied and any ordinal of a join it witnessed that
// is pending, so that the joins it takes at once each have their own (ST-5).
func (c *Core) ordinalFor(n wire.Name) uint64 {
	var same, above uint64
	c.set.EachPending(func(ch stableset.Change, witnesses []wire.Name) {
		if ch.Kind != wire.ChangeJoin || !slices.Contains(witnesses, c.self.Name) {
			return
		}
		if ch.Member.Name == n {
			same = max(same, ch.Member.Ordinal)
		}
		above = max(above, ch.Member.Ordinal)
	})
	if same > 0 {
		return same
	}
	if mutant.Enabled && mutant.Is("concurrent-joins-share-ordinal") {
		above = 0
	}
	if mutant.Enabled && mutant.Is("ordinal-above-members") {
		var found uint64
		for _, m := range c.set.Members() {
			found = max(found, m.Ordinal)
		}
		return max(found, above) + 1
	}
	return max(c.set.MaxOrdinal(), above) + 1
}

func (c *Core) onWitness(from wire.Member, o wire.Observation) {
	ch := stableset.Change{Kind: o.Kind, Member: o.Member}
	if c.phase == Joining {
		return // an elder took our join; the stableset it sends once it applies is what counts
	}
	if !c.set.Known(from.Name) {
		return
	}
	c.record(ch, from)
	if c.set.IsElder(c.self.Name) && c.set.Live(ch.Kind, ch.Member) && !c.track(ch).mine && c.agrees(ch) {
		c.witness(ch)
	}
}

func (c *Core) onStableset(from wire.Member, v *wire.StablesetView) {
	switch c.phase {
	case Joining:
		c.considerAdopting(from, v)
		return
	case Left:
		return
	}
	if !c.set.Known(from.Name) {
		return // a stranger's stableset means nothing here (WIRE-9)
	}
	c.mergeView(from, v)
}

// mergeView records what a member's STABLESET says as its witnesses (ST-6).
func (c *Core) mergeView(from wire.Member, v *wire.StablesetView) {
	fromElder := c.set.IsElder(from.Name)
	_, fromMember := c.set.Member(from.Name)
	var m wire.Member
	for _, l := range [...]struct {
		list int
		kind wire.ChangeKind
	}{{wire.ListMembers, wire.ChangeJoin}, {wire.ListJoining, wire.ChangeJoin}, {wire.ListLeaving, wire.ChangeLeave}} {
		for i := 0; i < v.Len(l.list); i++ {
			v.Entry(l.list, i, &m)
			ch := stableset.Change{Kind: l.kind, Member: m}
			if !c.set.Live(ch.Kind, ch.Member) {
				continue
			}
			// An elder takes up what another elder vouches for, so that a change some elders
			// applied reaches a majority everywhere (ST-8); not what it could not record, so
			// that an elder listing made-up joins gets no more of them witnessed than its quota.
			if c.record(ch, from) && fromElder && c.set.IsElder(c.self.Name) && !c.track(ch).mine && c.agrees(ch) {
				c.witness(ch)
			}
		}
	}
	// A sender that is no member takes over only what a majority of the elders send it (ST-11).
	if !fromMember && !c.set.IsElder(c.self.Name) {
		return
	}
	// What this node applied within the anti-entropy delay, the sender may be learning from the
	// decision itself; if it is not, its frames' stableset id shows it (ST-8's first rule).
	if c.set.Lacks(v, c.now.Add(-c.cfg.AntiEntropyDelay)) && !(mutant.Enabled && mutant.Is("lacking-stableset-unanswered")) {
		c.sync(from, true)
	}
}

// considerAdopting is how a joiner learns it is in, and how a member that fell behind catches up
// when the elders that could have witnessed what it missed are gone: a node takes over a
// stableset once a strict majority of that stableset's own elders each sent it the same one, and
// only if it loses nothing by doing so (ST-11). A joiner waits for one that lists it.
func (c *Core) considerAdopting(from wire.Member, v *wire.StablesetView) {
	members := make([]wire.Member, v.Len(wire.ListMembers))
	in := false
	for i := range members {
		v.Entry(wire.ListMembers, i, &members[i])
		in = in || members[i].Name == c.self.Name
	}
	elders := members[:min(c.cfg.ElderSize, len(members))]
	isElder := func(n wire.Name) bool {
		return slices.ContainsFunc(elders, func(m wire.Member) bool { return m.Name == n })
	}
	if c.phase == Joining && (!in || !isElder(from.Name)) {
		// Pointed elsewhere, or told it is in by a member that is not an elder, whose word
		// alone lets no one in: ask that stableset's elders from now on (ST-5). Not when the
		// sender is alone and no contact: that is another joiner asking for votes (askVoters),
		// and asking it instead of the elders would leave this node asking a joiner forever.
		lone := len(members) == 1 && members[0].Name == from.Name && !wire.HasName(c.contacts, from.Name) &&
			!(mutant.Enabled && mutant.Is("joiner-follows-lone-stableset"))
		if len(elders) > 0 && !slices.Equal(c.contacts, elders) && !lone {
			c.contacts = slices.Clone(elders)
			c.askToJoin()
		}
		return
	}
	// The stableset voted for is its members with their ordinals, which its id is over
	// (WIRE-10): elders that took one joiner at once each give it an ordinal, both joins may be
	// decided, and a joiner must not take the older instance from one elder counted with two
	// that hold the newer (ST-5).
	voted := stableset.ID(members)
	if mutant.Enabled && mutant.Is("stableset-votes-by-names") {
		names := make([]wire.Member, len(members))
		for i := range members {
			names[i] = wire.Member{Name: members[i].Name}
		}
		voted = stableset.ID(names)
	}
	if !isElder(from.Name) || voted == c.set.ID() || !c.set.Dominated(v) {
		return
	}
	if mutant.Enabled && c.phase == Joining && mutant.Is("joiner-votes-any-stableset") {
		voted = wire.StablesetID{}
	}
	c.votes[from.Name] = vote{id: voted, at: c.now}
	// A node vouches for a stableset that makes it an elder, since it loses nothing by it.
	if in && isElder(c.self.Name) {
		c.votes[c.self.Name] = vote{id: voted, at: c.now}
	}
	votedFor := func(n wire.Name) bool { v, ok := c.votes[n]; return ok && v.id == voted }
	count := 0
	for _, e := range elders {
		if votedFor(e.Name) {
			count++
		}
	}
	need := stableset.Majority(len(elders))
	if mutant.Enabled && c.phase == Joining && mutant.Is("joiner-trusts-one") {
		need = 1
	}
	if count < need && c.phase == Joining && c.pingedFor != voted {
		// In, by one elder's word: ping the others, which may wait to hear from this node
		// before they open a connection to it (ST-10).
		c.pingedFor = voted
		for _, e := range elders {
			if e.Name != c.self.Name && !votedFor(e.Name) {
				c.out = append(c.out, Message{To: e, Type: wire.TypePing})
			}
		}
	}
	if count < need {
		// Wait before asking: the other elders' own STABLESETs for a change they applied are on
		// their way to every member and to a joiner (ST-10), and asking each time a node hears
		// the first of them would cost every member a frame to every elder per decision.
		if c.catchUp.since.IsZero() || c.catchUp.id != voted {
			c.catchUp = catchUp{id: voted, mine: c.set.ID(), since: c.now, elders: append(c.catchUp.elders[:0], elders...)}
		}
		return
	}
	c.catchUp.reset()
	clear(c.votes)
	c.set.Adopt(v)
	for _, m := range members {
		if p := c.peer(m.Name); c.phase == Joining {
			p.lastHeard = c.now
		}
	}
	if !in {
		c.removed(elders)
		return
	}
	c.self, _ = c.set.Member(c.self.Name)
	if c.phase == Joining {
		c.phase = Member
		clear(c.tracks)
		c.recordOwnJoin()
		c.mergeView(from, v)
	} else {
		c.closeAdopted()
	}
	c.settle()
	if c.leaveOnceIn && c.phase == Member {
		c.Leave(c.now)
	}
}

// closeAdopted records as applied the decisions whose changes taking over a stableset applied
// (ST-12): a member that catches up so applies them as surely as by its elders' witnesses, and
// its log would otherwise show them pending until the tick forgets their tracks.
// Tracks outlive their change until the next tick, so one the witnesses applied is skipped, or
// it would count twice in the totals.
func (c *Core) closeAdopted() {
	for ch, tr := range c.tracks {
		if d := c.entry(tr.decision); d != nil && d.Applied.IsZero() && c.set.Applied(ch.Kind, ch.Member) {
			c.closeDecision(ch)
		}
	}
}

// catchUp is a stableset a node heard from fewer of its elders than a majority: once it has
// waited AntiEntropyDelay for the others without its own stableset changing, it asks them.
type catchUp struct {
	id, mine wire.StablesetID
	since    time.Time
	elders   []wire.Member
}

// reset forgets the stableset waited for, keeping the elders' backing array for the next.
func (cu *catchUp) reset() { *cu = catchUp{elders: cu.elders[:0]} }

// askVoters asks the elders of a stableset that have not sent it for theirs: a view of ours that
// lacks what they hold makes them answer with their own (rulebook rule 30).
func (c *Core) askVoters(voted wire.StablesetID, elders []wire.Member) {
	for _, e := range elders {
		if v, ok := c.votes[e.Name]; e.Name != c.self.Name && (!ok || v.id != voted) {
			c.sync(e, true)
		}
	}
}

// askToCatchUp asks the elders of a stableset a node heard from some of them, once it has
// waited for the rest as long as anti-entropy waits, and only if nothing it heard since moved
// its own stableset: then the elders' announcements (ST-10) were not all coming.
func (c *Core) askToCatchUp() {
	cu := &c.catchUp
	if cu.since.IsZero() || c.now.Sub(cu.since) < c.cfg.AntiEntropyDelay {
		return
	}
	if c.set.ID() == cu.mine {
		c.askVoters(cu.id, cu.elders)
	}
	cu.reset()
}

// agrees reports whether this node, as an elder, witnesses the change itself: every live join,
// and a leave the member asked for or whose member it has not heard from for the peer timeout.
func (c *Core) agrees(ch stableset.Change) bool {
	if !c.set.Live(ch.Kind, ch.Member) {
		return false
	}
	if ch.Kind == wire.ChangeJoin || mutant.Enabled && mutant.Is("witness-any-leave") {
		return true
	}
	if ch.Member.Name == c.self.Name {
		return c.phase == Leaving
	}
	if o, ok := c.asked[ch.Member.Name]; ok && o == ch.Member.Ordinal {
		return true
	}
	cur, ok := c.set.Member(ch.Member.Name)
	if !ok || cur.Ordinal != ch.Member.Ordinal {
		return true // a leave of an instance this node never had, or has already replaced
	}
	return c.silent(ch.Member.Name)
}

// silent reports whether this node has been pinging n for the peer timeout without hearing from
// it for as long. Elders ping every member and other members ping the elders, so an elder can
// tell any member's silence and a member an elder's; a node that has only just started pinging
// n (a new elder, or n newly an elder) counts from then.
func (c *Core) silent(n wire.Name) bool { return c.silentFor(n, c.cfg.PeerTimeout) }

// silentFor reports whether this node has been pinging n for d without hearing from it.
func (c *Core) silentFor(n wire.Name, d time.Duration) bool {
	p := c.peers[n]
	if p == nil || p.pingedSince.IsZero() || c.now.Sub(p.lastPinged) > 2*c.cfg.PingInterval {
		return false
	}
	return c.now.Sub(p.pingedSince) >= d && c.now.Sub(p.lastHeard) >= d
}

// record stores by's witness of a change and opens the change's decision log entry. It reports
// whether by is recorded as a witness of it now: not if the change is not live, or by is at its
// quota (ST-13).
func (c *Core) record(ch stableset.Change, by wire.Member) bool {
	if c.set.Witness(ch.Kind, ch.Member, by.Name, c.now) {
		c.track(ch)
		return true
	}
	return c.set.Witnessed(ch.Kind, ch.Member, by.Name)
}

func (c *Core) track(ch stableset.Change) *track {
	full := ch
	ch.Member.Addr = netip.AddrPort{}
	tr := c.tracks[ch]
	if tr == nil {
		tr = &track{change: full, decision: c.openDecision(full)}
		c.tracks[ch] = tr
	}
	return tr
}

// witness makes this node a witness of the change: it answers every request it held for it and
// tells every other elder it has not told yet, once (ST-9).
func (c *Core) witness(ch stableset.Change) {
	tr := c.track(ch)
	if tr.mine {
		return
	}
	// An elder cut off from most of the other sections decides nothing (SEC-10); its own leave
	// it still witnesses, since that is its own observation.
	if ch.Member.Name != c.self.Name && !c.outsideQuorum() {
		return
	}
	tr.mine = true
	tr.lastPush = c.now
	c.set.Witness(ch.Kind, ch.Member, c.self.Name, c.now)
	c.answerHeld(ch, tr)
	c.tellElders(ch, tr)
}

func (c *Core) answerHeld(ch stableset.Change, tr *track) {
	for _, h := range tr.held {
		c.answer(ch, h.from, h.id, tr)
	}
	tr.held = tr.held[:0]
}

func (c *Core) answer(ch stableset.Change, to wire.Member, id uint64, tr *track) {
	c.reply(to, id, ch, tr.decision)
	if !slices.Contains(tr.told, to.Name) {
		tr.told = append(tr.told, to.Name)
	}
}

func (c *Core) tellElders(ch stableset.Change, tr *track) {
	if !c.set.IsElder(c.self.Name) && ch.Member.Name != c.self.Name {
		return
	}
	for _, e := range c.set.Elders() {
		if e.Name == c.self.Name || slices.Contains(tr.told, e.Name) {
			continue
		}
		tr.told = append(tr.told, e.Name)
		c.send(e, wire.TypeWitnessRequest, 0, ch, tr.decision)
		if mutant.Enabled && mutant.Is("tell-elders-twice") {
			c.send(e, wire.TypeWitnessRequest, 0, ch, tr.decision)
		}
	}
}

// Leave starts this node's graceful leave (ST-7): it witnesses its own leave and asks the elders
// to witness it.
func (c *Core) Leave(now time.Time) {
	c.now = now
	switch c.phase {
	case Joining:
		// Elders may have let it in already: finish joining, then leave like any member.
		c.leaveOnceIn = true
		return
	case Left, Leaving:
		return
	}
	c.phase = Leaving
	ch := stableset.Change{Kind: wire.ChangeLeave, Member: c.self}
	c.witness(ch)
	c.settle()
}

// Tick advances time: joiners and leavers ask again, elders ping members and witness the leave
// of members they have not heard from, stuck changes are pushed again, held requests expire.
func (c *Core) Tick(now time.Time) {
	c.now = now
	switch c.phase {
	case Left:
		return
	case Joining:
		if now.Sub(c.lastTry) >= c.cfg.RetryInterval {
			c.askToJoin()
		}
		c.askToCatchUp()
		return
	}
	if now.Sub(c.lastPing) >= c.cfg.PingInterval {
		c.lastPing = now
		c.ping()
	}
	if c.set.IsElder(c.self.Name) && !(mutant.Enabled && mutant.Is("silent-member-kept")) {
		for _, m := range c.set.Members() {
			ch := stableset.Change{Kind: wire.ChangeLeave, Member: m}
			if m.Name != c.self.Name && c.silent(m.Name) && !c.track(ch).mine {
				c.witness(ch)
			}
		}
	}
	c.tickSections()
	if !(mutant.Enabled && mutant.Is("witnesses-never-lapse")) {
		c.set.Lapse(now.Add(-c.cfg.WitnessLapse))
	}
	c.forgetStrangers()
	c.askToCatchUp()
	c.pushStuck()
	c.settle()
	// What was held for a tick goes out whatever is still pending (ST-10's bound).
	if len(c.owed) > 0 && !(mutant.Enabled && mutant.Is("announcements-wait-for-quiet")) {
		c.announceOwed()
	}
	if len(c.waiting) > 0 {
		c.tellSubjectsWaited()
	}
}

// forgetStrangers drops what this node keeps about peers that are neither members nor contacts
// and have been neither heard from nor pinged for the witness lapse, and votes as old: any QUIC identity can
// send a frame, and must not leave state behind for the node's whole life (ST-13).
func (c *Core) forgetStrangers() {
	before := c.now.Add(-c.cfg.WitnessLapse)
	for n, p := range c.peers {
		// A peer this node pings (another section's elder, say) stays: its silence is counted.
		if p.lastHeard.Before(before) && p.lastPinged.Before(before) && !c.set.Known(n) && !wire.HasName(c.contacts, n) {
			delete(c.peers, n)
		}
	}
	for n, v := range c.votes {
		if v.at.Before(before) {
			delete(c.votes, n)
		}
	}
}

func (c *Core) askToJoin() {
	c.lastTry = c.now
	if c.firstAsked.IsZero() {
		c.firstAsked = c.now
	}
	for _, to := range c.contacts {
		c.send(to, wire.TypeWitnessRequest, 0, stableset.Change{Kind: wire.ChangeJoin, Member: c.self}, -1)
	}
}

// ping: elders ping every member, other members ping the elders, so that failures are noticed
// and stableset ids are compared on both sides.
func (c *Core) ping() {
	list := c.set.Elders()
	if c.set.IsElder(c.self.Name) {
		list = c.set.Members()
	}
	for _, m := range list {
		if m.Name != c.self.Name {
			c.pingOne(m)
		}
	}
	c.pingSections()
}

// pingOne pings m, unless m sent a frame of its own since this node's last ping to it: that frame
// showed m alive, as its PONG would have (ST-7). So two nodes that ping each other, such as an
// elder and a member, send one ping a round between them instead of two.
func (c *Core) pingOne(m wire.Member) {
	p := c.peer(m.Name)
	if p.pingedSince.IsZero() || c.now.Sub(p.lastPinged) > 2*c.cfg.PingInterval {
		p.pingedSince = c.now
	}
	heard := !p.pingedSince.Equal(c.now) && p.lastSaid.After(p.lastPinged)
	p.lastPinged = c.now
	if heard {
		return
	}
	c.out = append(c.out, Message{To: m, Type: wire.TypePing})
	c.totals.Pings++
}

// pushStuck asks again, after the request timeout, for the witnesses a change this node
// witnessed still lacks, and lets held requests expire. A fault-free decision never gets here.
func (c *Core) pushStuck() {
	// In a fixed order, not the map's: what this sends must not vary from run to run of one
	// simulation seed.
	for _, ch := range slices.SortedFunc(maps.Keys(c.tracks), stableset.CompareChanges) {
		tr := c.tracks[ch]
		tr.held = slices.DeleteFunc(tr.held, func(h heldRequest) bool { return !c.now.Before(h.until) })
		if !c.set.Live(ch.Kind, ch.Member) {
			delete(c.tracks, ch)
			continue
		}
		if !tr.mine || c.now.Sub(tr.lastPush) < c.cfg.RequestTimeout {
			continue
		}
		tr.lastPush = c.now
		full := tr.change
		// Every other elder, whether or not it witnessed: a witness stands only while it is said
		// again (ST-13), and an elder that witnessed answers with its own, renewing it here.
		for _, e := range c.set.Elders() {
			if e.Name != c.self.Name && (!(mutant.Enabled && mutant.Is("resay-to-lacking-only")) || !c.set.Witnessed(full.Kind, full.Member, e.Name)) {
				c.send(e, wire.TypeWitnessRequest, 0, full, tr.decision)
			}
		}
		// A change stuck this long may be one the other elders have gone past: they applied it
		// and a later event of its name, and ignore requests for it. The stableset id covers
		// the members only, not departed instances, so nothing else shows that this node fell
		// behind. The STABLESET, which lists the change, lacks what they applied, and ST-8 has
		// them answer with theirs. It keeps ST-8's bound of one per member per 200 ms, but is
		// not itself sent because of ST-8, so it is not counted as anti-entropy (ADM-8).
		for _, e := range c.set.Elders() {
			if e.Name != c.self.Name && !c.syncedRecently(c.peer(e.Name)) {
				c.sync(e, false)
			}
		}
		if full.Kind == wire.ChangeLeave && full.Member.Name == c.self.Name && !c.set.IsElder(c.self.Name) {
			c.tellElders(full, tr)
		}
	}
}

// settle applies what has a majority, then reacts: new elders are told of the changes this node
// witnessed, a new elder takes up changes other elders witnessed, the members that need to know
// are sent the stableset, and a node that finds itself removed starts over.
func (c *Core) settle() {
	for c.phase == Member || c.phase == Leaving {
		wasElder := c.set.IsElder(c.self.Name)
		c.elderBuf = append(c.elderBuf[:0], c.set.Elders()...)
		c.applied = c.set.Apply(c.applied[:0])
		if len(c.applied) == 0 || !c.react(wasElder) {
			break
		}
	}
	if len(c.queued) > 0 {
		c.takeQueued()
	}
	// In a network of one section the announcements wait for the tick: sent at once, an elder's
	// STABLESETs to every other member went out while the other elders were still deciding, on
	// the same cores and links, and at 16 nodes made a join take 3.2 ms instead of 1.2 (ST-10).
	// Sections keep announcing at once; their lists ride on the same timing (SEC-2). The mutant
	// announces once nothing it witnessed is pending, and never at the tick (see Tick).
	waitsForQuiet := mutant.Enabled && mutant.Is("announcements-wait-for-quiet")
	if len(c.owed) > 0 && (c.cfg.SectionBits > 0 || waitsForQuiet) && !c.awaitsOwnWitnessed() {
		c.announceOwed()
	}
}

// react follows the changes just applied (c.applied; c.elderBuf holds the elders before them). It
// reports false when this node is no longer a member.
func (c *Core) react(wasElder bool) bool {
	for _, ch := range c.applied {
		c.closeDecision(ch)
		if ch.Kind == wire.ChangeJoin {
			c.peer(ch.Member.Name).lastHeard = c.now
		}
	}
	if _, in := c.set.Member(c.self.Name); !in {
		c.removed(c.elderBuf)
		return false
	}
	c.self, _ = c.set.Member(c.self.Name)
	if !c.set.IsElder(c.self.Name) {
		return true
	}
	for _, p := range c.set.Pending() {
		tr := c.track(p.Change)
		if tr.mine {
			c.tellElders(p.Change, tr)
		} else if !wasElder && c.agrees(p.Change) && c.witnessedByAnElder(p) {
			c.witness(p.Change)
		}
	}
	// Tell the subjects at once, and the members that are not elders now or once the changes
	// pending beside these have applied (ST-10); elders know already.
	for _, ch := range c.applied {
		if ch.Member.Name != c.self.Name {
			c.tellSubject(ch)
		}
		c.owed = append(c.owed, owedChange{ch, c.now, c.decisionOf(ch)})
		if ch.Kind == wire.ChangeJoin && ch.Member.Name != c.self.Name {
			c.passLists(ch.Member)
		}
	}
	c.sendOwnList() // and the other sections (SEC-2)
	return true
}

func (c *Core) witnessedByAnElder(p stableset.Pending) bool {
	for _, w := range p.Witnesses {
		if w != c.self.Name && c.set.IsElder(w) {
			return true
		}
	}
	return false
}

// awaitsOwnWitnessed reports whether a change this node witnessed is still pending: one more
// apply is on its way, and the announcements it owes can cover it too (ST-10).
func (c *Core) awaitsOwnWitnessed() bool {
	waiting := false
	c.set.EachPending(func(_ stableset.Change, witnesses []wire.Name) {
		waiting = waiting || slices.Contains(witnesses, c.self.Name)
	})
	return waiting
}

// SubjectHeardWithin is how recently a subject must have sent this elder a frame to be sent
// its stableset at once when its change applies (ST-10).
const SubjectHeardWithin = 2 * time.Second

// SubjectWait is how long after applying a change an elder waits, at the least, for its subject
// to speak before sending it the stableset anyway: it sends at its first tick from then, so
// within SubjectWait and a tick interval (ST-10's bound is 200 ms).
const SubjectWait = 50 * time.Millisecond

// waitingSubject is the subject of an applied change whose stableset this elder holds until the
// subject speaks to it, and when the change applied.
type waitingSubject struct {
	member   wire.Member
	decision int
	at       time.Time
	// view is the STABLESET body as the change applied: the subject gets what it would have had
	// at once, so that a joiner's elders send it the same stableset however long each waited,
	// and not stablesets that differ by the changes applied meanwhile (ST-5).
	view []byte
	// announced: a held announcement went to the other members while the subject waited; the
	// subject gets the present stableset too when it is told, over the same connection, instead
	// of the announcement opening one while the subject opens its own to ping (ST-5).
	announced bool
}

// tellSubject sends the subject of a change that just applied this node's stableset: at once if
// the subject spoke to it lately, such as a joiner that asked it or a member that asked to
// leave; else once the subject speaks, or after SubjectWait (ST-10). A joiner that asked one
// elder pings the others once that elder's stableset shows it in (ST-5), and the others answer
// over the connection that opens: an elder does not open one to it while the other elders are
// still deciding, sharing the machine with them.
func (c *Core) tellSubject(ch stableset.Change) {
	p := c.peer(ch.Member.Name)
	if !p.lastFrame.IsZero() && c.now.Sub(p.lastFrame) < SubjectHeardWithin {
		c.syncFor(ch.Member, c.decisionOf(ch))
		return
	}
	c.waiting = slices.DeleteFunc(c.waiting, func(w waitingSubject) bool { return w.member.Name == ch.Member.Name })
	var view []byte
	view, c.joinBuf, c.leftBuf = c.set.AppendView(nil, c.joinBuf, c.leftBuf)
	c.waiting = append(c.waiting, waitingSubject{member: ch.Member, decision: c.decisionOf(ch), at: c.now, view: view})
}

// tellWaited sends a waiting subject the stableset it waited for.
func (c *Core) tellWaited(w waitingSubject) {
	c.emit(Message{To: w.member, Type: wire.TypeStableset, Body: w.view}, w.decision)
	if w.announced {
		c.syncFor(w.member, w.decision)
	}
}

// tellWaitingSubject sends a waiting subject that just spoke the stableset it waits for.
func (c *Core) tellWaitingSubject(n wire.Name) {
	i := slices.IndexFunc(c.waiting, func(w waitingSubject) bool { return w.member.Name == n })
	if i < 0 {
		return
	}
	w := c.waiting[i]
	c.waiting = slices.Delete(c.waiting, i, i+1)
	if c.phase == Member || c.phase == Leaving {
		c.tellWaited(w)
	}
}

// tellSubjectsWaited sends the stableset to the subjects that have waited SubjectWait.
func (c *Core) tellSubjectsWaited() {
	if mutant.Enabled && mutant.Is("subject-waits-to-be-heard") {
		return
	}
	c.waiting = slices.DeleteFunc(c.waiting, func(w waitingSubject) bool {
		if c.now.Sub(w.at) < SubjectWait {
			return false
		}
		c.tellWaited(w)
		return true
	})
}

// owedChange is an applied change whose announcement to the members is held, when it applied
// (its subject was sent the stableset then), and its decision, which the announcement is charged
// to (ST-12): by the tick the change's track may be gone.
type owedChange struct {
	stableset.Change
	at       time.Time
	decision int
}

// announceOwed sends the stableset once to every member that is not an elder. A subject was sent
// it as its change applied: it is sent the present one too unless its change applied with the
// last ones owed, so that nothing applied since (a subject still waiting gets it when it is
// told), since a joiner takes the stableset only once a majority of its elders sent the same one,
// and the elders' first ones may differ by the changes that applied beside its own (ST-5). The
// frames are charged to the last decision owed.
func (c *Core) announceOwed() {
	if c.phase != Member && c.phase != Leaving {
		c.owed = c.owed[:0]
		return
	}
	last := c.owed[len(c.owed)-1]
	for _, m := range c.set.Members() {
		if m.Name == c.self.Name || c.set.IsElder(m.Name) || mutant.Enabled && mutant.Is("announce-to-subject-only") ||
			slices.ContainsFunc(c.owed, func(o owedChange) bool { return o.Member.Name == m.Name && o.at.Equal(last.at) }) {
			continue
		}
		if i := slices.IndexFunc(c.waiting, func(w waitingSubject) bool { return w.member.Name == m.Name }); i >= 0 {
			c.waiting[i].announced = true
			continue
		}
		c.syncFor(m, last.decision)
	}
	c.owed = c.owed[:0]
}

// removed: this node's own leave applied. A leaver is done; any other node was removed while it
// could not be heard and joins again as a new instance (ST-11).
func (c *Core) removed(elders []wire.Member) {
	if c.phase == Leaving || (mutant.Enabled && mutant.Is("removed-stays-out")) {
		c.phase = Left
		return
	}
	// Ask the elders that removed it, the ones it knew before, and its bootstrap peers.
	c.contacts = append(append(append([]wire.Member(nil), c.set.Elders()...), elders...), c.cfg.Bootstrap...)
	c.contacts = slices.DeleteFunc(c.contacts, func(m wire.Member) bool { return m.Name == c.self.Name })
	slices.SortFunc(c.contacts, func(a, b wire.Member) int { return bytes.Compare(a.Name[:], b.Name[:]) })
	c.contacts = slices.CompactFunc(c.contacts, func(a, b wire.Member) bool { return a.Name == b.Name })
	c.self.Ordinal = 0
	c.set.Reset([]wire.Member{c.self})
	c.catchUp.reset()
	clear(c.tracks)
	clear(c.asked)
	c.queued = c.queued[:0]
	c.owed = c.owed[:0]
	c.waiting = c.waiting[:0]
	c.pingedFor = wire.StablesetID{}
	c.phase = Joining
	c.askToJoin()
}

// syncedRecently reports whether this node sent p its STABLESET within the anti-entropy delay
// (ST-8's bound of one per member per 200 ms).
func (c *Core) syncedRecently(p *peerState) bool {
	return !p.lastSync.IsZero() && c.now.Sub(p.lastSync) < c.cfg.AntiEntropyDelay
}

// sync sends this node's STABLESET to a peer; for anti-entropy, at most once per anti-entropy
// delay.
func (c *Core) sync(to wire.Member, antiEntropy bool) {
	p := c.peer(to.Name)
	if antiEntropy && c.syncedRecently(p) {
		return
	}
	p.lastSync = c.now
	d := -1
	if antiEntropy {
		c.totals.AntiEntropy++
		d = c.recentDecision()
	}
	c.syncFor(to, d)
}

func (c *Core) syncFor(to wire.Member, decision int) {
	start := len(c.buf)
	c.buf, c.joinBuf, c.leftBuf = c.set.AppendView(c.buf, c.joinBuf, c.leftBuf)
	c.emit(Message{To: to, Type: wire.TypeStableset, Body: c.buf[start:]}, decision)
}

func (c *Core) send(to wire.Member, typ wire.Type, replyTo uint64, ch stableset.Change, decision int) {
	start := len(c.buf)
	o := wire.Observation{Kind: ch.Kind, Member: ch.Member}
	c.buf = o.Append(c.buf)
	c.emit(Message{To: c.addrOf(to), Type: typ, ReplyTo: replyTo, Body: c.buf[start:]}, decision)
}

func (c *Core) reply(to wire.Member, id uint64, ch stableset.Change, decision int) {
	if mutant.Enabled && mutant.Is("log-misses-answers") {
		decision = -1
	}
	c.send(to, wire.TypeWitness, id, ch, decision)
}

func (c *Core) emit(m Message, decision int) {
	c.out = append(c.out, m)
	c.countSent(m, decision)
}
