// Package transport carries stableset frames over QUIC (SPEC.md TRN-*): one UDP socket per node,
// one connection and one long-lived bidirectional stream per peer, requests matched to responses
// by message id, keep-alive, redial on demand, and per-peer, per-type frame counters. It knows
// the frame layout (package wire) but not what the messages mean; that is the node's job.
package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/wire"
)

// Handler receives every request and one-way frame a peer sends (responses are matched to
// requests instead). It runs on the peer's reader goroutine: body is valid only during the call,
// and a slow handler holds up that peer alone. PING is answered by the transport itself.
type Handler func(p *Peer, h wire.Header, body []byte)

// Config sets up an Endpoint. Zero durations take the defaults in SPEC.md TRN-6.
type Config struct {
	Identity *identity.Identity
	Listen   string // UDP IP:PORT; port 0 picks one
	Handler  Handler
	// Observe, if set, sees the header of every frame decoded from a peer, responses and PINGs
	// included, before it is handled; it runs on the peer's reader goroutine.
	Observe func(p *Peer, h wire.Header)
	// Refuse, if set, names peers this node will not talk to (malefactor bans, SPEC.md §9): a
	// dialer that proves a refused name fails the handshake once its certificate names it,
	// Connect never dials one, and a connection that a ban overtook is closed when registered.
	// It must be safe to call from any goroutine.
	Refuse         func(wire.Name) bool
	Logger         *slog.Logger
	RequestTimeout time.Duration // default 2s
	KeepAlive      time.Duration // default 2s
	IdleTimeout    time.Duration // default 10s
	// HandshakeTimeout bounds a dial to a peer that does not answer; default 2s (a handshake
	// with mutual authentication takes about 2 ms on loopback).
	HandshakeTimeout time.Duration
	DialAttempts     int           // default 3
	DialRetryWait    time.Duration // default 100ms
	// FrameTimeout is how long a frame may take to arrive whole, counted from its first byte,
	// before the connection is closed with FRAME_TRUNCATED (SPEC.md WIRE-12); default 5s.
	FrameTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 2 * time.Second
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = 2 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 10 * time.Second
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = 2 * time.Second
	}
	if c.DialAttempts == 0 {
		c.DialAttempts = 3
	}
	if c.DialRetryWait == 0 {
		c.DialRetryWait = 100 * time.Millisecond
	}
	if c.FrameTimeout == 0 {
		c.FrameTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Handler == nil {
		c.Handler = func(*Peer, wire.Header, []byte) {}
	}
}

// Errors of the request path.
var (
	ErrTimeout      = errors.New("transport: request timed out")
	ErrPeerClosed   = errors.New("transport: peer connection closed")
	ErrClosed       = errors.New("transport: endpoint closed")
	ErrWrongAnswer  = errors.New("transport: response type does not answer the request")
	ErrNotARequest  = errors.New("transport: type is not a request")
	ErrUnknownPeer  = errors.New("transport: no connection to that peer")
	ErrRefused      = errors.New("transport: peer refused (banned)")
	errDuplicateRun = errors.New("transport: connection replaced by the one kept for this pair")
)

// Endpoint is a node's QUIC presence: it accepts peers, dials them and keeps one connection each.
type Endpoint struct {
	cfg     Config
	udp     *net.UDPConn
	tr      *quic.Transport
	ln      *quic.Listener
	addr    netip.AddrPort
	dialCfg *quic.Config

	mu        sync.Mutex
	peers     map[wire.Name]*Peer
	dials     map[wire.Name]*dialCall
	closed    bool
	stableset wire.StablesetID

	counters counterSet
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

type dialCall struct {
	done chan struct{}
	peer *Peer
	err  error
}

// Listen opens the UDP socket and starts accepting peers.
func Listen(cfg Config) (*Endpoint, error) {
	cfg.setDefaults()
	if cfg.Identity == nil {
		return nil, errors.New("transport: no identity")
	}
	laddr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", cfg.Listen, err)
	}
	udp, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	ep := &Endpoint{
		cfg:   cfg,
		udp:   udp,
		tr:    &quic.Transport{Conn: udp},
		addr:  udp.LocalAddr().(*net.UDPAddr).AddrPort(),
		peers: map[wire.Name]*Peer{},
		dials: map[wire.Name]*dialCall{},
	}
	ep.counters.init()
	ep.ctx, ep.cancel = context.WithCancel(context.Background())
	// The dialer opens the pair's one stream, so a dialer accepts none and an acceptor accepts
	// one, which is never replaced once it ends (TRN-2).
	base := quic.Config{KeepAlivePeriod: cfg.KeepAlive, MaxIdleTimeout: cfg.IdleTimeout, MaxIncomingUniStreams: -1,
		HandshakeIdleTimeout: cfg.HandshakeTimeout}
	ep.dialCfg = &base
	ep.dialCfg.MaxIncomingStreams = -1
	listenCfg := base
	listenCfg.MaxIncomingStreams = 1
	if mutant.Is("second-stream-allowed") {
		listenCfg.MaxIncomingStreams = 2
	}
	listenCfg.RequireStreamCreditRelease = true
	tlsConf := cfg.Identity.ServerTLS()
	if cfg.Refuse != nil {
		// VerifyConnection runs once the client's certificate has been checked, so the name is
		// proven; failing here sends the bad_certificate alert, as a rejected certificate does.
		tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
			name, err := identity.PeerName(cs)
			if err == nil && cfg.Refuse(name) {
				return fmt.Errorf("%w: %s", ErrRefused, name)
			}
			return nil
		}
	}
	if mutant.Is("any-alpn") {
		tlsConf.NextProtos = append(tlsConf.NextProtos, "h3")
	}
	ep.ln, err = ep.tr.Listen(tlsConf, &listenCfg)
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("quic listen: %w", err)
	}
	ep.wg.Add(1)
	go ep.acceptLoop()
	return ep, nil
}

// Addr is the UDP address the endpoint listens on.
func (e *Endpoint) Addr() netip.AddrPort { return e.addr }

// Name is this node's name.
func (e *Endpoint) Name() wire.Name { return e.cfg.Identity.Name }

// SetStablesetID sets the id carried in the header of every frame sent from now on.
func (e *Endpoint) SetStablesetID(id wire.StablesetID) {
	e.mu.Lock()
	e.stableset = id
	e.mu.Unlock()
}

func (e *Endpoint) stablesetID() wire.StablesetID {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stableset
}

func (e *Endpoint) acceptLoop() {
	defer e.wg.Done()
	for {
		conn, err := e.ln.Accept(e.ctx)
		if err != nil {
			return // listener closed
		}
		name, err := identity.PeerName(conn.ConnectionState().TLS)
		if err != nil { // the TLS config already checked this; keep the guard cheap and loud
			e.cfg.Logger.Warn("accepted connection without a usable name", "remote", conn.RemoteAddr(), "err", err)
			if conn.Context().Err() == nil { // every close counts (ADM-4)
				e.counters.closedByUs(wire.CodeProtocolViolation)
			}
			_ = conn.CloseWithError(quic.ApplicationErrorCode(wire.CodeProtocolViolation), "no usable name")
			continue
		}
		p := e.newPeer(name, conn, false)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			// Registering may wait for a probe of the connection it would replace (TRN-3), so
			// it runs here, not in the loop, which goes on accepting other peers meanwhile.
			if !e.register(p) {
				return
			}
			stream, err := conn.AcceptStream(e.ctx)
			if err != nil {
				p.fail(ErrPeerClosed)
				return
			}
			p.setStream(stream)
			p.readLoop()
		}()
	}
}

// Connect returns the live connection to name, dialing addr when there is none. Concurrent calls
// for one name share one dial. A peer that proves another name fails with *identity.NameMismatchError
// and is not retried.
func (e *Endpoint) Connect(ctx context.Context, name wire.Name, addr netip.AddrPort) (*Peer, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if p := e.peers[name]; p != nil && p.alive() {
		e.mu.Unlock()
		return p, nil
	}
	if call := e.dials[name]; call != nil {
		e.mu.Unlock()
		select {
		case <-call.done:
			return call.peer, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	call := &dialCall{done: make(chan struct{})}
	e.dials[name] = call
	e.mu.Unlock()

	call.peer, call.err = e.dial(ctx, name, addr)
	e.mu.Lock()
	delete(e.dials, name)
	e.mu.Unlock()
	close(call.done)
	return call.peer, call.err
}

func (e *Endpoint) dial(ctx context.Context, name wire.Name, addr netip.AddrPort) (*Peer, error) {
	if name == e.Name() {
		return nil, errors.New("transport: refusing to dial self")
	}
	if e.refused(name) {
		return nil, fmt.Errorf("dial %s@%s: %w", name, addr, ErrRefused)
	}
	attempts := e.cfg.DialAttempts
	if mutant.Is("no-dial-retry") {
		attempts = 1
	}
	var lastErr error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(e.cfg.DialRetryWait):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		conn, err := e.tr.Dial(ctx, net.UDPAddrFromAddrPort(addr), e.cfg.Identity.ClientTLS(name), e.dialCfg)
		if err != nil {
			lastErr = err
			var mismatch *identity.NameMismatchError
			if errors.As(err, &mismatch) {
				e.counters.handshakeFailure(reasonNameMismatch)
				e.cfg.Logger.Error("handshake failed", "peer", addr, "reason", reasonNameMismatch,
					"expected", mismatch.Expected, "got", mismatch.Got)
				return nil, fmt.Errorf("dial %s@%s: %w", name, addr, mismatch)
			}
			e.counters.handshakeFailure(reasonOther)
			continue
		}
		stream, err := conn.OpenStream()
		if err != nil {
			if conn.Context().Err() == nil { // every close counts (ADM-4)
				e.counters.closedByUs(wire.CodeInternal)
			}
			_ = conn.CloseWithError(quic.ApplicationErrorCode(wire.CodeInternal), "open stream")
			lastErr = err
			continue
		}
		p := e.newPeer(name, conn, true)
		p.setStream(stream)
		if !e.register(p) {
			if kept := e.Peer(name); kept != nil {
				return kept, nil
			}
			lastErr = errDuplicateRun
			continue
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			p.readLoop()
		}()
		return p, nil
	}
	return nil, fmt.Errorf("dial %s@%s after %d attempts: %w", name, addr, attempts, lastErr)
}

// register makes p the connection for its name. When one already exists and the two were
// dialed by different ends, the pair keeps the one dialed by the node with the lower name, so
// both ends choose the same one; when the same end dialed both, the one established later wins,
// since the older is most likely stale (TRN-3). When the tie-break would keep the existing
// connection over p, that one is probed first: if nothing arrives on it within probeWait of a
// PING, it is left over from a previous instance of the peer, killed or cut off without closing
// it, and p replaces it. It reports whether p was kept.
func (e *Endpoint) register(p *Peer) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		p.close(wire.CodeShutdown, "endpoint closed")
		return false
	}
	if e.refused(p.name) {
		e.mu.Unlock()
		p.close(wire.CodeProtocolViolation, "peer is banned")
		return false
	}
	old := e.peers[p.name]
	if old != nil && old.alive() && old.dialed != p.dialed {
		self := e.Name()
		selfLower := bytes.Compare(self[:], p.name[:]) < 0
		if mutant.Is("tiebreak-inverted") {
			selfLower = !selfLower
		}
		if p.dialed != selfLower { // p was dialed by the higher name: it loses, if old is alive
			e.mu.Unlock()
			if mutant.Is("dead-duplicate-kept") || old.probe(probeWait) {
				p.close(wire.CodeDuplicateConnection, "duplicate connection")
				return false
			}
			e.cfg.Logger.Info("closing a connection left over from a previous instance of the peer: nothing arrived on it within "+probeWait.String()+" of a PING",
				"peer", p.name, "remote", old.conn.RemoteAddr(), "new_remote", p.conn.RemoteAddr())
			old.close(wire.CodeDuplicateConnection, "left over from a previous instance of the peer")
			return e.register(p) // decide again: another connection may have come meanwhile
		}
	}
	if old != nil && old.alive() && old.dialed == p.dialed && old.seq > p.seq {
		// Registered out of order (accepted connections register concurrently): old was
		// established after p, so old is kept.
		e.mu.Unlock()
		p.close(wire.CodeDuplicateConnection, "duplicate connection")
		return false
	}
	if mutant.Is("keep-old-connection") && old != nil && old.alive() && old.dialed == p.dialed {
		e.mu.Unlock()
		p.close(wire.CodeDuplicateConnection, "duplicate connection")
		return false
	}
	e.peers[p.name] = p
	e.mu.Unlock()
	if old != nil {
		old.close(wire.CodeDuplicateConnection, "duplicate connection")
	}
	e.cfg.Logger.Debug("peer connected", "peer", p.name, "remote", p.conn.RemoteAddr(), "dialed", p.dialed)
	return true
}

func (e *Endpoint) refused(name wire.Name) bool { return e.cfg.Refuse != nil && e.cfg.Refuse(name) }

func (e *Endpoint) unregister(p *Peer) {
	e.mu.Lock()
	if e.peers[p.name] == p {
		delete(e.peers, p.name)
	}
	e.mu.Unlock()
}

// Peer returns the live connection to name, or nil.
func (e *Endpoint) Peer(name wire.Name) *Peer {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.peers[name]; p != nil && p.alive() {
		return p
	}
	return nil
}

// Peers lists the names with a live connection.
func (e *Endpoint) Peers() []wire.Name {
	e.mu.Lock()
	defer e.mu.Unlock()
	names := make([]wire.Name, 0, len(e.peers))
	for n, p := range e.peers {
		if p.alive() {
			names = append(names, n)
		}
	}
	return names
}

// Request sends a request to name (dialing addr if needed) and appends the response body to dst.
// A request that fails because its connection was replaced by the pair's kept one is sent again
// once on the kept connection.
func (e *Endpoint) Request(ctx context.Context, name wire.Name, addr netip.AddrPort, typ wire.Type, body, dst []byte) ([]byte, error) {
	for try := 0; ; try++ {
		p, err := e.Connect(ctx, name, addr)
		if err != nil {
			return dst, err
		}
		resp, err := p.Request(ctx, typ, body, dst)
		if err == nil || try == 1 || !p.replaced() {
			return resp, err
		}
	}
}

// Close ends every connection with SHUTDOWN and releases the socket.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	peers := make([]*Peer, 0, len(e.peers))
	for _, p := range e.peers {
		peers = append(peers, p)
	}
	e.mu.Unlock()
	code := wire.CodeShutdown
	if mutant.Is("shutdown-no-error") {
		code = wire.CodeNoError
	}
	for _, p := range peers {
		p.close(code, "node shutting down")
	}
	e.cancel()
	_ = e.ln.Close()
	err := e.tr.Close()
	_ = e.udp.Close()
	e.wg.Wait()
	return err
}
