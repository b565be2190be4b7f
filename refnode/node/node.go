// Package node is refnode's runtime: it owns the transport, the clock and the admin API and drives
// the pure consensus core (refnode/consensus) from them: frames and ticks go in under one lock,
// and the messages the core returns are sent on their own goroutines. Neighborhood gossip
// (refnode/gossip) is driven the same way under a lock of its own, in gossip.go.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/stableset/sskit/refnode/admin"
	"github.com/stableset/sskit/refnode/consensus"
	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

// Implementation and SpecVersion are reported by GET /v1/node.
const (
	Implementation = "refnode"
	SpecVersion    = "16"
)

// Bootstrap is a peer given on the command line as NAME@IP:PORT.
type Bootstrap struct {
	Name wire.Name
	Addr netip.AddrPort
}

// ParseBootstrap reads NAME@IP:PORT.
func ParseBootstrap(s string) (Bootstrap, error) {
	nameText, addrText, ok := strings.Cut(s, "@")
	if !ok {
		return Bootstrap{}, fmt.Errorf("bootstrap %q: want NAME@IP:PORT", s)
	}
	name, err := wire.ParseName(nameText)
	if err != nil {
		return Bootstrap{}, fmt.Errorf("bootstrap %q: %w", s, err)
	}
	addr, err := netip.ParseAddrPort(addrText)
	if err != nil || addr.Port() == 0 {
		return Bootstrap{}, fmt.Errorf("bootstrap %q: address must be IP:PORT with a non-zero port", s)
	}
	return Bootstrap{Name: name, Addr: addr}, nil
}

// Config is everything refnode's flags set.
type Config struct {
	Identity  *identity.Identity
	Listen    string // UDP
	Admin     string // TCP, HTTP
	Bootstrap []Bootstrap
	ElderSize int
	// SectionBits is the section prefix length (SPEC.md §10); 0 is one section.
	SectionBits uint8
	Version     string
	Logger      *slog.Logger
	// PeerTimeout is how long an elder waits without hearing from a member before it witnesses
	// that member's leave (SPEC.md ST-7); default 3s.
	PeerTimeout time.Duration
	// TickInterval is how often the core's clock advances; default 100ms.
	TickInterval time.Duration
	// DataDir keeps what survives a restart (gossip version and bans); empty keeps nothing.
	DataDir string
	// Gossip sets up neighborhood gossip (gossip.go).
	Gossip GossipConfig
	// Parts is the node's profile, the parts of the spec it implements; empty is every part. For
	// a part left out the node sends none of the part's frames, ignores those it receives (WIRE-9)
	// and answers 501 on the part's endpoints (ADM-7).
	Parts Parts
}

// Node is a running refnode.
type Node struct {
	cfg   Config
	ep    *transport.Endpoint
	http  *http.Server
	admin net.Listener

	mu   sync.Mutex // guards core
	core *consensus.Core
	left chan struct{} // closed once this node's own leave has applied

	nb *neighborhood // neighborhood gossip, under a lock of its own (gossip.go); nil without gossip

	inFlight inFlight // messages dispatch has under way, per peer

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start opens the QUIC endpoint and the admin API and begins contacting bootstrap peers. When
// it returns without error, /healthz answers 200.
func Start(cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = 100 * time.Millisecond
	}
	n := &Node{cfg: cfg, left: make(chan struct{})}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	var err error
	var refuse func(wire.Name) bool // without gossip there are no bans to refuse
	if cfg.Parts.Has(admin.PartGossip) {
		if n.nb, err = newNeighborhood(n, cfg.Gossip, cfg.DataDir); err != nil {
			return nil, err
		}
		refuse = n.nb.refuse
	}
	n.ep, err = transport.Listen(transport.Config{Identity: cfg.Identity, Listen: cfg.Listen, Logger: cfg.Logger,
		Handler: n.handle, Observe: n.observe, Refuse: refuse})
	if err != nil {
		return nil, err
	}
	if n.nb != nil {
		if err := n.nb.start(n.ep.Addr()); err != nil {
			n.ep.Close()
			return nil, err
		}
	}
	// Without consensus the core is never driven: it only holds the node alone, whose id every
	// frame carries (WIRE-10), so it gets no bootstrap peers to join through.
	self := wire.Member{Name: cfg.Identity.Name, Addr: n.ep.Addr()}
	ccfg := consensus.Config{Self: self, ElderSize: cfg.ElderSize, PeerTimeout: cfg.PeerTimeout, SectionBits: cfg.SectionBits}
	if !cfg.Parts.Has(admin.PartSections) && cfg.SectionBits != 0 {
		cfg.Logger.Warn("section bits ignored: this node leaves out sections", "section_bits", cfg.SectionBits)
		ccfg.SectionBits = 0
	}
	if cfg.Parts.Has(admin.PartConsensus) {
		for _, b := range cfg.Bootstrap {
			ccfg.Bootstrap = append(ccfg.Bootstrap, wire.Member{Name: b.Name, Addr: b.Addr})
		}
	}
	n.core = consensus.New(ccfg, time.Now())
	n.publishID()
	n.admin, err = net.Listen("tcp", cfg.Admin)
	if err != nil {
		n.cancel()
		n.ep.Close()
		return nil, fmt.Errorf("admin listen on %s: %w", cfg.Admin, err)
	}
	n.http = &http.Server{Handler: admin.Handler(n, cfg.Logger), ReadHeaderTimeout: 5 * time.Second}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.http.Serve(n.admin); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("admin server stopped", "err", err)
		}
	}()
	if cfg.Parts.Has(admin.PartConsensus) {
		n.wg.Add(1)
		go n.clock()
	} else {
		for _, b := range cfg.Bootstrap {
			n.wg.Add(1)
			go n.greet(b)
		}
	}
	cfg.Logger.Info("refnode started", "name", cfg.Identity.Name, "listen", n.ep.Addr(), "admin", n.admin.Addr(),
		"bootstrap", len(cfg.Bootstrap), "parts", cfg.Parts.String())
	return n, nil
}

// clock ticks the core until the node stops. The first tick is at once, so that a joiner asks
// its bootstrap peers as it starts (NC-8) rather than a tick later.
func (n *Node) clock() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.TickInterval)
	defer t.Stop()
	n.step(func(c *consensus.Core) { c.Tick(time.Now()) })
	for {
		select {
		case <-n.ctx.Done():
			return
		case now := <-t.C:
			n.step(func(c *consensus.Core) { c.Tick(now) })
		}
	}
}

// greet pings a bootstrap peer every second until it answers (NC-8). It stands in for the
// core's joining when the node leaves consensus out: with nothing to join, a PING is all the
// node sends its bootstrap peers.
func (n *Node) greet(b Bootstrap) {
	defer n.wg.Done()
	const retry = time.Second // as often as a joiner asks again (ST-5)
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(n.ctx, 3*time.Second)
		_, err := n.ep.Request(ctx, b.Name, b.Addr, wire.TypePing, nil, nil)
		cancel()
		if err == nil {
			n.cfg.Logger.Info("bootstrap peer answered", "peer", b.Name, "addr", b.Addr, "rtt", time.Since(start))
			return
		}
		n.cfg.Logger.Info("bootstrap peer not reachable yet", "peer", b.Name, "addr", b.Addr, "err", err)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(retry - time.Since(start)):
		}
	}
}

// step runs one event through the core under the lock, then sends what it asks for. A node that
// leaves consensus out never drives its core.
func (n *Node) step(event func(*consensus.Core)) {
	if !n.cfg.Parts.Has(admin.PartConsensus) {
		return
	}
	n.mu.Lock()
	before, phase := n.core.Set().ID(), n.core.Phase()
	event(n.core)
	out := n.core.Outbox()
	msgs := make([]consensus.Message, len(out))
	for i, m := range out {
		msgs[i] = m
		msgs[i].Body = append([]byte(nil), m.Body...)
	}
	nowPhase, members := n.core.Phase(), len(n.core.Set().Members())
	if n.core.Set().ID() != before {
		n.publishID()
	}
	n.mu.Unlock()
	if nowPhase != phase {
		n.cfg.Logger.Info("stableset phase", "from", phase.String(), "to", nowPhase.String(), "members", members)
		if nowPhase == consensus.Left {
			close(n.left)
		}
	}
	for _, m := range msgs {
		n.dispatch(m, nowPhase == consensus.Joining)
	}
}

// publishID makes the transport carry the current stableset id in every frame header (WIRE-10).
func (n *Node) publishID() {
	if !mutant.Is("stableset-field-zero") {
		n.ep.SetStablesetID(n.core.Set().ID())
	}
}

// MaxInFlightPerPeer bounds the messages to one peer that wait at once for a dial, a write or an
// answer. To a peer that cannot be reached each waits out its timeout, and without a bound they
// would pile up with every PING, announcement and anti-entropy frame.
const MaxInFlightPerPeer = 32

// inFlight counts, per peer, the messages dispatched and not yet done with.
type inFlight struct {
	mu    sync.Mutex
	count map[wire.Name]int // no entry at zero, so peer names do not accumulate
}

// begin takes a place for one more message to name and reports whether there was one.
func (f *inFlight) begin(name wire.Name) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count[name] >= MaxInFlightPerPeer {
		return false
	}
	if f.count == nil {
		f.count = map[wire.Name]int{}
	}
	f.count[name]++
	return true
}

// done gives back the place a message to name took.
func (f *inFlight) done(name wire.Name) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count[name] <= 1 {
		delete(f.count, name)
		return
	}
	f.count[name]--
}

// dispatch sends one message. Requests wait for their answer on their own goroutine and feed it
// back to the core; a failure is left to the core's timers and anti-entropy, and so is a message
// not sent because MaxInFlightPerPeer to its peer are under way (counted in dropped_sends).
func (n *Node) dispatch(m consensus.Message, joining bool) {
	if n.ctx.Err() != nil {
		return
	}
	if !n.inFlight.begin(m.To.Name) {
		n.ep.CountDroppedSend()
		n.cfg.Logger.Debug("message not sent: too many to the peer under way", "peer", m.To.Name, "type", m.Type,
			"in_flight", MaxInFlightPerPeer)
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.inFlight.done(m.To.Name)
		ctx, cancel := context.WithTimeout(n.ctx, 3*time.Second)
		defer cancel()
		switch m.Type {
		case wire.TypeWitness:
			if p := n.ep.Peer(m.To.Name); p != nil {
				_ = p.Respond(m.ReplyTo, m.Type, m.Body)
			}
		case wire.TypePing, wire.TypeWitnessRequest:
			if m.Type == wire.TypeWitnessRequest && joining {
				// A joiner greets with a PING first (NC-8): a peer that cannot answer one is no contact.
				start := time.Now()
				if _, err := n.ep.Request(ctx, m.To.Name, m.To.Addr, wire.TypePing, nil, nil); err != nil {
					n.cfg.Logger.Info("bootstrap peer not reachable yet", "peer", m.To.Name, "addr", m.To.Addr, "err", err)
					return
				}
				n.cfg.Logger.Info("bootstrap peer answered", "peer", m.To.Name, "addr", m.To.Addr, "rtt", time.Since(start))
			}
			resp, err := n.ep.Request(ctx, m.To.Name, m.To.Addr, m.Type, m.Body, nil)
			if err != nil {
				n.cfg.Logger.Debug("request failed", "peer", m.To.Name, "type", m.Type, "err", err)
				return
			}
			if m.Type == wire.TypeWitnessRequest {
				n.step(func(c *consensus.Core) {
					c.Receive(time.Now(), m.To, wire.Header{Type: wire.TypeWitness}, resp)
				})
			}
		default:
			p, err := n.ep.Connect(ctx, m.To.Name, m.To.Addr)
			if err == nil {
				err = p.Send(ctx, m.Type, m.Body)
			}
			if err != nil {
				n.cfg.Logger.Debug("send failed", "peer", m.To.Name, "type", m.Type, "err", err)
			}
		}
	}()
}

// observe feeds every frame's header to the core: liveness and anti-entropy (SPEC.md ST-8).
func (n *Node) observe(p *transport.Peer, h wire.Header) {
	if !n.cfg.Parts.Has(admin.PartConsensus) {
		return
	}
	from := wire.Member{Name: p.Name(), Addr: p.RemoteAddr()}
	n.step(func(c *consensus.Core) { c.Heard(time.Now(), from, h) })
}

// handle receives requests and one-way frames (PING is answered by the transport).
func (n *Node) handle(p *transport.Peer, h wire.Header, body []byte) {
	if mutant.Is("answer-witness-request") && h.Type == wire.TypeWitnessRequest {
		_ = p.Respond(h.ID, wire.TypeWitness, body)
		return
	}
	if part := partOfType(h.Type); !n.cfg.Parts.Has(part) {
		// A well-formed frame of a known type this node has no use for (WIRE-9): no reply, and
		// the connection stays open. The transport has counted it already (ADM-4).
		n.cfg.Logger.Debug("frame of a part this node leaves out ignored", "peer", p.Name(), "frame", h.Type, "part", part)
		return
	}
	if h.Type == wire.TypeGossip || h.Type == wire.TypeGossipFailure {
		n.nb.receive(p, h, body)
		return
	}
	from := wire.Member{Name: p.Name(), Addr: p.RemoteAddr()}
	n.step(func(c *consensus.Core) { c.Receive(time.Now(), from, h, body) })
}

// Leave starts a graceful leave (POST /v1/leave) and returns the phase the node is then in.
func (n *Node) Leave() string {
	n.step(func(c *consensus.Core) { c.Leave(time.Now()) })
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.core.Phase().String()
}

// LeaveAndWait leaves and waits until the leave has applied here or ctx ends. A node that
// leaves consensus out has no stableset to leave.
func (n *Node) LeaveAndWait(ctx context.Context) bool {
	if !n.cfg.Parts.Has(admin.PartConsensus) {
		return true
	}
	n.Leave()
	select {
	case <-n.left:
		return true
	case <-ctx.Done():
		return false
	}
}

// AdminAddr is where the admin API listens.
func (n *Node) AdminAddr() net.Addr { return n.admin.Addr() }

// Addr is the QUIC address.
func (n *Node) Addr() netip.AddrPort { return n.ep.Addr() }

// Info implements admin.Node.
func (n *Node) Info() admin.NodeInfo {
	return admin.NodeInfo{
		Name: n.cfg.Identity.Name.String(), Addr: n.ep.Addr().String(),
		Implementation: Implementation, Version: n.cfg.Version, SpecVersion: SpecVersion,
		ElderSize: n.cfg.ElderSize,
	}
}

// Implements implements admin.Node: whether the node's profile includes part p.
func (n *Node) Implements(p admin.Part) bool { return n.cfg.Parts.Has(p) }

// Counters implements admin.Node.
func (n *Node) Counters() transport.Counters { return n.ep.Counters() }

// Stableset implements admin.Node (SPEC.md ADM-3).
func (n *Node) Stableset() admin.Stableset {
	n.mu.Lock()
	defer n.mu.Unlock()
	set := n.core.Set()
	id := set.ID()
	out := admin.Stableset{
		ID: fmt.Sprintf("%x", id[:]), Phase: n.core.Phase().String(),
		Members: []admin.Member{}, Elders: []string{}, Joining: []admin.Change{}, Leaving: []admin.Change{},
		DroppedWitnesses: set.Dropped(),
	}
	for _, m := range set.Members() {
		am := adminMember(m)
		if mutant.Is("stableset-ordinal-1") && m.Ordinal == 0 {
			am.Ordinal = 1
		}
		out.Members = append(out.Members, am)
	}
	for _, e := range set.Elders() {
		out.Elders = append(out.Elders, e.Name.String())
	}
	for _, p := range set.Pending() {
		ch := admin.Change{Member: adminMember(p.Member), Witnesses: []string{}}
		for _, w := range p.Witnesses {
			ch.Witnesses = append(ch.Witnesses, w.String())
		}
		if p.Kind == wire.ChangeJoin {
			out.Joining = append(out.Joining, ch)
		} else {
			out.Leaving = append(out.Leaving, ch)
		}
	}
	return out
}

func adminMember(m wire.Member) admin.Member {
	return admin.Member{Name: m.Name.String(), Addr: m.Addr.String(), Ordinal: m.Ordinal}
}

// Decisions implements admin.Node (SPEC.md ST-12).
func (n *Node) Decisions() admin.Decisions {
	n.mu.Lock()
	log, totals := n.core.Decisions(), n.core.Totals()
	n.mu.Unlock()
	out := admin.Decisions{Decisions: make([]admin.Decision, 0, len(log)), Applied: totals.Decisions, AntiEntropy: totals.AntiEntropy}
	for _, d := range log {
		ad := admin.Decision{
			Kind: d.Kind.String(), Member: adminMember(d.Member), Started: d.Started.Format(time.RFC3339Nano),
			ElderFramesSent: d.ElderSent, ElderFramesReceived: d.ElderReceived,
			OtherFramesSent: d.OtherSent, OtherFramesReceived: d.OtherReceived,
			Peers: map[string]admin.Frames{},
		}
		if !d.Applied.IsZero() {
			at := d.Applied.Format(time.RFC3339Nano)
			ms := float64(d.Applied.Sub(d.Started)) / float64(time.Millisecond)
			ad.Applied, ad.LatencyMillis = &at, &ms
		}
		for name, f := range d.Peers {
			ad.Peers[name.String()] = admin.Frames{Sent: f.Sent, Received: f.Received}
		}
		out.Decisions = append(out.Decisions, ad)
	}
	return out
}

// Sections implements admin.Node (SPEC.md SEC-7).
func (n *Node) Sections() admin.Sections {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := admin.Sections{SectionBits: int(n.cfg.SectionBits), Prefix: n.core.Prefix().String(), Sections: []admin.Section{}}
	for _, k := range n.core.Sections().Sections() {
		s := admin.Section{
			Prefix: k.List.Prefix.String(), StablesetID: fmt.Sprintf("%x", k.List.ID[:]),
			Age:     k.List.Age,
			Members: []admin.Member{}, Elders: []string{}, Senders: []string{},
			Accepted: k.Accepted.Format(time.RFC3339Nano),
		}
		for _, m := range k.List.Members {
			s.Members = append(s.Members, adminMember(m))
		}
		for _, e := range k.List.Elders(n.cfg.ElderSize) {
			s.Elders = append(s.Elders, e.Name.String())
		}
		for _, name := range k.Senders {
			s.Senders = append(s.Senders, name.String())
		}
		if mutant.Is("senders-are-elders") {
			s.Senders = append(s.Senders[:0], s.Elders...)
		}
		out.Sections = append(out.Sections, s)
	}
	return out
}

// Shutdown stops the admin API, closes every peer connection with SHUTDOWN and waits for the
// node's goroutines.
func (n *Node) Shutdown(ctx context.Context) error {
	n.cancel()
	err := n.http.Shutdown(ctx)
	if cerr := n.ep.Close(); err == nil {
		err = cerr
	}
	n.wg.Wait()
	return err
}
