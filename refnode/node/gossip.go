package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stableset/sskit/refnode/admin"
	"github.com/stableset/sskit/refnode/gossip"
	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

// GossipConfig sets up neighborhood gossip (SPEC.md §9). Zero values take the defaults, which
// are MASQ's constants (rulebook "Numbers used in code").
type GossipConfig struct {
	MaxDegree     int           // most neighbors a node's own record lists; default 5
	MinHops       int           // shortest route GET /v1/route returns; default 3
	PassExpiry    time.Duration // pass-loop guard and unanswered Debuts; default 60s
	IsolatedGrace time.Duration // an unreferenced record is dropped after this; default 30s
	CullInterval  time.Duration // least time between culls; default 60s
	// Interval is how often the node sends its neighbors Standard gossip although nothing
	// changed, so that a gossip lost with a connection is made good; default 10s
	// (ASK_ABOUT_GOSSIP_INTERVAL).
	Interval time.Duration
	// Pace is the least time between two Standard gossips to one target: what changes in
	// between goes out in one gossip at the end of it, the newest made for the target. A run of
	// changes, such as many nodes debuting at once, then costs each link a gossip per Pace
	// rather than one per change. Default 100ms; negative sends each at once.
	Pace time.Duration
}

func (c *GossipConfig) setDefaults() {
	if c.MaxDegree == 0 {
		c.MaxDegree = gossip.DefaultMaxDegree
	}
	if c.MinHops == 0 {
		c.MinHops = gossip.DefaultMinHops
	}
	if c.PassExpiry == 0 {
		c.PassExpiry = gossip.DefaultPassExpiry
	}
	if c.IsolatedGrace == 0 {
		c.IsolatedGrace = gossip.DefaultIsolatedGrace
	}
	if c.CullInterval == 0 {
		c.CullInterval = gossip.DefaultCullInterval
	}
	if c.Interval == 0 {
		c.Interval = 10 * time.Second
	}
	if c.Pace == 0 {
		c.Pace = DefaultGossipPace
	}
}

// DefaultGossipPace is GossipConfig.Pace's default. With N nodes debuting through one at once
// (bench/cluster gossip-convergence, 4 runs per size), it cut the gossip frames to convergence
// at N = 8, 16, 32, 64 from 169, 819, 4242, 15156 to 93, 351, 1090, 6143, and the time at 64
// from 4.6 to 3.6 s (p50); at 8 nodes the time rose from 61 to 219 ms. A pace of 50 ms left
// about 10 000 frames at 64.
const DefaultGossipPace = 100 * time.Millisecond

// A node that holds the records of CrowdedGossipRecords nodes or more paces its Standard gossip
// twice as long as GossipConfig.Pace, up to MaxCrowdedGossipPace, NB-4's bound on how long a
// change may wait. There, each gossip carries more of what changed and the frames sent fall; in
// a small network the wait only slows the gossip down. Measured with every node debuting through one at once
// (bench/cluster gossip-convergence, 3 runs a side, alternated twice): at 64 nodes the frames
// fell from 3 543 and 3 692 to 2 818 and 2 770, convergence 2 022 and 2 072 ms against 1 911 and
// 2 080; a threshold of 24 records at 32 nodes cut the frames by a tenth but took convergence
// from 660 and 764 ms to 946 and 972, and a pace of 200 ms at 8 nodes from 220 to 430 ms.
const (
	CrowdedGossipRecords = 48
	MaxCrowdedGossipPace = 200 * time.Millisecond
)

// neighborhood drives the pure gossip core (refnode/gossip) from frames, the admin API and a
// timer. The database has a lock of its own, apart from the consensus core's, and bans are
// mirrored in a sync.Map because the transport asks about them during handshakes, while it
// holds its own lock.
type neighborhood struct {
	n      *Node
	cfg    GossipConfig
	store  *stateStore
	banned sync.Map // wire.Name → struct{}: read by transport.Config.Refuse

	loaded savedState // what the data directory held at start

	mu         sync.Mutex // guards db, saved, lastBans, lastTarget, retry, retryWait
	db         *gossip.DB
	saved      uint64       // the version last written to the data directory
	lastBans   int          // the number of bans last written
	lastTarget *debutTarget // where the operator last asked us to debut, to try again
	retry      *time.Timer  // the next Debut to lastTarget, while one is scheduled (NB-16)
	retryWait  time.Duration
	// changedAt is when the database last changed what it holds of records (ADM-12), found by
	// its change count moving from seenChanges.
	changedAt   time.Time
	seenChanges uint64

	// held is how many records the database holds, as of the last messages queued: drain reads
	// it for the pace without taking mu, which enqueue holds while it takes qmu.
	held atomic.Int64

	qmu      sync.Mutex // guards queues, busy, lastPace and pacing
	queues   map[wire.Name][]gossip.Message
	busy     map[wire.Name]bool
	lastPace map[wire.Name]time.Time // when each target was last sent a Standard gossip
	// pacing holds, per target whose drain waits out the pace, a channel enqueue closes when it
	// queues a message the held gossip cannot absorb: only Standard gossip is paced (NB-4).
	pacing map[wire.Name]chan struct{}

	watchMu sync.Mutex
	watched map[*transport.Peer]bool
}

type debutTarget struct {
	name wire.Name
	addr netip.AddrPort
}

// newNeighborhood loads the saved state before the endpoint exists, so that the transport
// refuses banned names from its first handshake.
func newNeighborhood(n *Node, cfg GossipConfig, dataDir string) (*neighborhood, error) {
	cfg.setDefaults()
	g := &neighborhood{n: n, cfg: cfg, store: newStateStore(dataDir),
		queues: map[wire.Name][]gossip.Message{}, busy: map[wire.Name]bool{}, lastPace: map[wire.Name]time.Time{}, pacing: map[wire.Name]chan struct{}{}, watched: map[*transport.Peer]bool{}}
	var err error
	if g.loaded, err = g.store.load(); err != nil {
		return nil, err
	}
	for _, b := range g.loaded.Bans {
		g.banned.Store(b.name, struct{}{})
	}
	g.saved, g.lastBans = g.loaded.Version, len(g.loaded.Bans)
	return g, nil
}

// refuse is transport.Config.Refuse.
func (g *neighborhood) refuse(name wire.Name) bool {
	_, ok := g.banned.Load(name)
	return ok
}

// start makes the database once the endpoint knows its address. A node that signed versions
// before starts one above the last (rulebook 75: its neighbors would keep the old record
// otherwise), so its version never goes back across restarts.
func (g *neighborhood) start(addr netip.AddrPort) error {
	st := g.loaded
	if mutant.Is("version-not-saved") {
		st.Version = 0
	}
	if addr.Addr().IsUnspecified() {
		g.n.cfg.Logger.Warn("listening on an unspecified address: the gossip record says the node accepts no connections", "listen", addr)
		addr = netip.AddrPort{}
	}
	db, err := gossip.New(gossip.Config{Key: g.n.cfg.Identity.Key, Addr: addr, MaxDegree: g.cfg.MaxDegree, DeferStandard: true,
		PassExpiry: g.cfg.PassExpiry, IsolatedGrace: g.cfg.IsolatedGrace, CullInterval: g.cfg.CullInterval,
		FirstVersion: st.Version + 1})
	if err != nil {
		return err
	}
	for _, b := range st.Bans {
		db.Ban(b.name, errors.New(b.Reason), b.At)
	}
	g.mu.Lock()
	g.db = db
	g.changedAt, g.seenChanges = time.Now(), db.Changes() // the own record's first version
	err = g.saveLocked()
	g.mu.Unlock()
	if err != nil {
		return err
	}
	g.n.wg.Add(1)
	go g.clock()
	return nil
}

// noteChangesLocked keeps the time of the database's last change to the records it holds, for
// GET /v1/neighborhood's changed (ADM-12): a benchmark takes the latest among the nodes as the
// moment their gossip converged, rather than when its polls saw it.
func (g *neighborhood) noteChangesLocked() {
	if c := g.db.Changes(); c != g.seenChanges && !mutant.Is("changed-never-moves") {
		g.changedAt, g.seenChanges = time.Now(), c
	}
}

// saveLocked writes the version and the bans when either changed since the last write. It
// runs before the messages of a change are sent, so no version leaves the node unsaved.
func (g *neighborhood) saveLocked() error {
	bans := g.db.Bans()
	if g.db.Version() == g.saved && len(bans) == g.lastBans {
		return nil
	}
	st := savedState{Version: g.db.Version()}
	for _, b := range bans {
		st.Bans = append(st.Bans, savedBan{Name: b.Name.String(), Reason: b.Reason.Error(), At: b.At})
	}
	if err := g.store.save(st); err != nil {
		return err
	}
	g.saved, g.lastBans = st.Version, len(bans)
	return nil
}

// update runs one event through the database under its lock, saves what changed and then acts
// on the result outside the lock: bans close connections, messages go out in order per peer.
func (g *neighborhood) update(event func(db *gossip.DB) gossip.Result) gossip.Result {
	g.mu.Lock()
	res := event(g.db)
	g.noteChangesLocked()
	if res.Ban != nil {
		g.banned.Store(res.Ban.Name, struct{}{})
	}
	if err := g.saveLocked(); err != nil {
		g.n.cfg.Logger.Error("saving the neighborhood state failed", "err", err)
	}
	if res.Ban != nil && mutant.Is("ban-without-gossip") {
		res.Messages = nil // the withdrawal waits for the clock's next Broadcast
	}
	// Queued before the lock is let go: two updates in a row must reach each target in the
	// order they were made, or a target sees the own record's version go down (NB-10 bans that).
	g.enqueue(res.Messages)
	g.scheduleRetryLocked()
	g.mu.Unlock()
	if res.Ban != nil {
		g.n.cfg.Logger.Warn("malefactor banned", "peer", res.Ban.Name, "reason", res.Ban.Reason.Error())
		g.closeBanned(res.Ban.Name, "banned: "+res.Ban.Reason.Error())
	}
	return res
}

// closeBanned ends the connection to a banned name: the handshake refuses it from now on.
func (g *neighborhood) closeBanned(name wire.Name, reason string) {
	if p := g.n.ep.Peer(name); p != nil {
		p.Close(wire.CodeProtocolViolation, reason)
	}
}

// receive handles a GOSSIP or GOSSIP_FAILURE frame on the peer's reader goroutine; body is
// valid only during the call, and the database copies what it keeps.
func (g *neighborhood) receive(p *transport.Peer, h wire.Header, body []byte) {
	g.watch(p)
	from, fromAddr, now := p.Name(), p.RemoteAddr(), time.Now()
	res := g.update(func(db *gossip.DB) gossip.Result {
		if h.Type == wire.TypeGossipFailure {
			return db.AcceptFailure(from, body, now)
		}
		if mutant.Is("gossip-never-bans") {
			if r := db.AcceptOn(from, p.ID(), fromAddr, body, now); r.Ban == nil {
				return r
			}
			return gossip.Result{Note: "ban skipped"}
		}
		return db.AcceptOn(from, p.ID(), fromAddr, body, now)
	})
	if res.Refused {
		g.closeBanned(from, "banned")
	}
	g.n.cfg.Logger.Debug("gossip received", "peer", from, "frame", h.Type, "as", res.Type.String(), "changed", res.Changed,
		"replies", len(res.Messages), "note", res.Note)
	if res.Failure != 0 {
		g.n.cfg.Logger.Info("debut failed", "peer", from, "reason", res.Failure.String())
	}
}

// watch disconnects the peer in the database when its connection ends (rulebook 87), unless
// another connection to it took over (TRN-3), which is then watched instead.
func (g *neighborhood) watch(p *transport.Peer) {
	if g.n.ctx.Err() != nil {
		return // shutting down: the node's goroutines are being waited for
	}
	g.watchMu.Lock()
	if g.watched[p] {
		g.watchMu.Unlock()
		return
	}
	g.watched[p] = true
	g.watchMu.Unlock()
	g.n.wg.Add(1)
	go func() {
		defer g.n.wg.Done()
		select {
		case <-p.Done():
		case <-g.n.ctx.Done():
			return
		}
		g.watchMu.Lock()
		delete(g.watched, p)
		g.watchMu.Unlock()
		if next := g.n.ep.Peer(p.Name()); next != nil {
			g.watch(next)
			return
		}
		name := p.Name()
		res := g.update(func(db *gossip.DB) gossip.Result { return db.Disconnect(name) })
		if res.Changed {
			g.n.cfg.Logger.Info("neighbor disconnected", "peer", name)
		}
	}()
}

// enqueue sends messages in order per destination, as the core expects of a QUIC stream, each
// destination on a goroutine of its own while it has messages waiting. Callers hold g.mu, so
// that messages are queued in the order the database made them.
func (g *neighborhood) enqueue(msgs []gossip.Message) {
	if len(msgs) == 0 || g.n.ctx.Err() != nil {
		return
	}
	g.held.Store(int64(g.db.Held()))
	g.qmu.Lock()
	defer g.qmu.Unlock()
	for _, m := range msgs {
		q := g.queues[m.To]
		if n := len(q); n > 0 && isStandard(m) && isStandard(q[n-1]) && g.mergeable(q[n-1], m) {
			// A Standard gossip carries the whole of what the target may have, so a newer one
			// still waiting to go makes the older one needless; sending only the newer keeps
			// each target's versions going up (NB-10) with fewer frames while a dial runs or
			// the pace holds it. Only for the same own version: each one reaches every neighbor.
			q[n-1] = m
			continue
		}
		g.queues[m.To] = append(q, m)
		if wake, ok := g.pacing[m.To]; ok {
			close(wake) // the held gossip goes now, so that m does not wait out its pace
			delete(g.pacing, m.To)
		}
		if !g.busy[m.To] {
			g.busy[m.To] = true
			g.n.wg.Add(1)
			go g.drain(m.To)
		}
	}
}

// mergeable reports whether a newer Standard gossip may replace an older one still queued: only
// within one version of the own record, so that every version reaches every neighbor (NB-4).
func (g *neighborhood) mergeable(older, newer gossip.Message) bool {
	return older.OwnVersion == newer.OwnVersion || mutant.Enabled && mutant.Is("gossip-merges-own-versions")
}

func isStandard(m gossip.Message) bool {
	return m.Kind == gossip.KindGossip && m.Type == gossip.Standard
}

// drain sends a target's messages in order. A Standard gossip alone in the queue waits until Pace
// has passed since the target's last one; meanwhile a newer one replaces it (enqueue), and any
// other message queued behind it ends the wait.
func (g *neighborhood) drain(to wire.Name) {
	defer g.n.wg.Done()
	for {
		g.qmu.Lock()
		q := g.queues[to]
		if len(q) == 0 || g.n.ctx.Err() != nil {
			delete(g.queues, to)
			delete(g.busy, to)
			g.qmu.Unlock()
			return
		}
		m := q[0]
		// Only a message nothing waits behind is held: what waits behind it could not replace it.
		if pace := g.pace(); isStandard(m) && len(q) == 1 && pace > 0 {
			now := time.Now()
			if wait := g.lastPace[to].Add(pace).Sub(now); wait > 0 {
				wake := make(chan struct{})
				g.pacing[to] = wake
				g.qmu.Unlock()
				select {
				case <-time.After(wait):
				case <-wake:
				case <-g.n.ctx.Done():
				}
				g.qmu.Lock()
				if g.pacing[to] == wake {
					delete(g.pacing, to)
				}
				g.qmu.Unlock()
				continue
			}
			g.lastPace[to] = now
		}
		g.queues[to] = q[1:]
		g.qmu.Unlock()
		g.send(m)
	}
}

func (g *neighborhood) pace() time.Duration {
	if mutant.Enabled && mutant.Is("gossip-pace-unbounded") {
		return time.Second
	}
	if p := g.cfg.Pace; g.held.Load() >= CrowdedGossipRecords && p < MaxCrowdedGossipPace {
		return min(2*p, MaxCrowdedGossipPace)
	}
	return g.cfg.Pace
}

// forgetPace drops the pace of targets last sent a Standard gossip over Pace ago, which
// no longer hold anything back.
func (g *neighborhood) forgetPace(now time.Time) {
	g.qmu.Lock()
	defer g.qmu.Unlock()
	for to, at := range g.lastPace {
		if now.Sub(at) >= g.pace() {
			delete(g.lastPace, to)
		}
	}
}

// send writes one message on the connection to its target, dialing the address the target
// signed when there is no connection. A target whose address is unknown and that is not
// connected cannot be reached; the periodic gossip makes up for a lost message.
func (g *neighborhood) send(m gossip.Message) {
	ctx, cancel := context.WithTimeout(g.n.ctx, 3*time.Second)
	defer cancel()
	p := g.n.ep.Peer(m.To)
	if p == nil && m.Addr.IsValid() {
		var err error
		if p, err = g.n.ep.Connect(ctx, m.To, m.Addr); err != nil {
			g.n.cfg.Logger.Debug("gossip target unreachable", "peer", m.To, "addr", m.Addr, "err", err)
			if m.Type == gossip.Debut {
				g.n.cfg.Logger.Info("debut target unreachable", "peer", m.To, "addr", m.Addr, "err", err)
			}
			return
		}
	}
	if p == nil {
		g.n.cfg.Logger.Debug("gossip target not connected and its address unknown", "peer", m.To)
		return
	}
	g.watch(p)
	typ := wire.TypeGossip
	if m.Kind == gossip.KindFailure {
		typ = wire.TypeGossipFailure
	}
	body := m.Body
	if m.Deferred() {
		// Made now, once the pace and the dial are behind it: the newest the target may have.
		var ok bool
		g.mu.Lock()
		body, ok = g.db.StandardBody(m)
		g.mu.Unlock()
		if !ok {
			return // the target's record is gone: nothing to gossip to it
		}
	}
	if err := p.Send(ctx, typ, body); err != nil {
		g.n.cfg.Logger.Debug("gossip send failed", "peer", m.To, "err", err)
	}
}

// clock broadcasts on the gossip interval and culls; it also looks for a node stranded by a
// Debut that expired unanswered, which no frame would bring to light.
func (g *neighborhood) clock() {
	defer g.n.wg.Done()
	t := time.NewTicker(g.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-g.n.ctx.Done():
			return
		case now := <-t.C:
			g.mu.Lock()
			g.db.Cull(now)
			g.noteChangesLocked()
			msgs := g.db.Broadcast()
			g.enqueue(msgs) // under the lock, in the order made (see update)
			g.scheduleRetryLocked()
			g.mu.Unlock()
			g.forgetPace(now)
		}
	}
}

// The first Debut again after a node is left with no neighbor waits retryFirst; each further
// one waits twice as long as the one before, up to the gossip interval (NB-16).
const retryFirst = 100 * time.Millisecond

// stranded reports whether the node debuted, has no neighbor, no Debut of its own unanswered
// and has not banned its target: every Pass it was sent on ended in NB-6's guard, a
// GOSSIP_FAILURE or a lost link. MASQ stops such a node (rulebook 59); a node that debuted
// among many at once is better off asking again, since the degrees that sent it round in a
// circle change within milliseconds.
func (g *neighborhood) strandedLocked() bool {
	if g.lastTarget == nil || g.hasNeighborLocked() || len(g.db.PendingDebuts()) > 0 {
		return false
	}
	_, banned := g.db.Banned(g.lastTarget.name)
	return !banned
}

// hasNeighborLocked reports whether the own record lists a neighbor, full or half. It runs on
// every gossip received, so it reads the degree instead of building the lists of Neighbors.
func (g *neighborhood) hasNeighborLocked() bool {
	d, _ := g.db.Degree(g.db.Name())
	return d > 0
}

// scheduleRetryLocked schedules a Debut to the last target when the node is stranded and none
// is scheduled, and starts the back-off afresh once the node has a neighbor. The wait is drawn
// between half and all of the current step, so that nodes stranded by one pass circle do not
// come back at the same moment.
func (g *neighborhood) scheduleRetryLocked() {
	if g.lastTarget == nil {
		return // never debuted: nothing to try again
	}
	if g.hasNeighborLocked() {
		g.retryWait = 0
	}
	if g.retry != nil || !g.strandedLocked() || g.n.ctx.Err() != nil {
		return
	}
	if g.retryWait == 0 {
		g.retryWait = retryFirst
	}
	wait := g.retryWait/2 + rand.N(g.retryWait/2+1)
	g.retryWait = min(2*g.retryWait, g.cfg.Interval)
	g.retry = time.AfterFunc(wait, g.debutAgain)
}

// debutAgain sends the scheduled Debut, if the node is still stranded.
func (g *neighborhood) debutAgain() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.retry = nil
	if g.n.ctx.Err() != nil || !g.strandedLocked() {
		return
	}
	g.n.cfg.Logger.Debug("debuting again: no neighbor and no Debut unanswered", "peer", g.lastTarget.name)
	g.enqueue([]gossip.Message{g.db.DebutAfresh(g.lastTarget.name, g.lastTarget.addr, time.Now())})
}

// errNoGossip is what Debut and Route say in a node that leaves gossip out; the admin API
// answers 501 before it asks them.
var errNoGossip = errors.New("this node leaves out neighborhood gossip")

// Debut implements admin.Node (POST /v1/debut): it connects to the target, then sends it a
// Debut. An unreachable target is an error; what the target answers arrives later as gossip.
func (n *Node) Debut(ctx context.Context, to wire.Name, addr netip.AddrPort) error {
	g := n.nb
	if g == nil {
		return errNoGossip
	}
	if to == n.cfg.Identity.Name {
		return admin.ErrSelf
	}
	if g.refuse(to) {
		return admin.ErrBanned
	}
	p, err := n.ep.Connect(ctx, to, addr)
	if err != nil {
		return fmt.Errorf("cannot reach %s at %s: %w", to, addr, err)
	}
	g.watch(p)
	g.mu.Lock()
	m := g.db.Debut(to, addr, time.Now())
	g.lastTarget = &debutTarget{name: to, addr: addr}
	g.retryWait = 0
	g.enqueue([]gossip.Message{m}) // under the lock, in the order made (see update)
	g.mu.Unlock()
	return nil
}

// Route implements admin.Node (GET /v1/route).
func (n *Node) Route(to wire.Name) ([]wire.Name, error) {
	g := n.nb
	if g == nil {
		return nil, errNoGossip
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.db.Route(n.cfg.Identity.Name, to, g.cfg.MinHops)
}

// Neighborhood implements admin.Node (GET /v1/neighborhood).
func (n *Node) Neighborhood() admin.Neighborhood {
	g := n.nb
	if g == nil {
		return admin.Neighborhood{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	db := g.db
	own := db.Own()
	out := admin.Neighborhood{
		Name: own.Name.String(), Version: own.Version, Accepts: own.Accepts,
		Full: names(nil), Half: names(nil), Records: []admin.NodeRecord{}, Bans: []admin.Ban{},
		PendingDebuts: names(db.PendingDebuts()), DroppedRecords: db.DroppedRecords(),
		Changed: g.changedAt.UTC().Format(time.RFC3339Nano),
	}
	if own.Addr.IsValid() {
		out.Addr = own.Addr.String()
	}
	full, half := db.Neighbors()
	out.Full, out.Half = names(full), names(half)
	for _, name := range db.Known() {
		v, _ := db.Record(name)
		r := admin.NodeRecord{Name: name.String(), Version: v.Version(), Accepts: v.Accepts(), Neighbors: []string{}}
		if a, ok := db.Addr(name); ok {
			r.Addr = a.String()
		}
		for i := range v.NumNeighbors() {
			r.Neighbors = append(r.Neighbors, v.Neighbor(i).String())
		}
		out.Records = append(out.Records, r)
	}
	for _, b := range db.Bans() {
		out.Bans = append(out.Bans, admin.Ban{Name: b.Name.String(), Reason: b.Reason.Error(), At: b.At.UTC().Format(time.RFC3339Nano)})
	}
	return out
}

func names(ns []wire.Name) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.String())
	}
	return out
}
