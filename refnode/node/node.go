// Package node is refnode's runtime: it owns the transport and the admin API and drives the
// protocol from them. Protocol logic lives in pure packages that this one feeds; in spec v0
// the node has no consensus yet, so its stableset is itself alone.
package node

import (
	"context"
	"crypto/sha256"
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
	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

// Implementation and SpecVersion are reported by GET /v1/node.
const (
	Implementation = "refnode"
	SpecVersion    = "0"
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
	Identity   *identity.Identity
	Listen     string // UDP
	Admin      string // TCP, HTTP
	Bootstrap  []Bootstrap
	ElderSize  int
	Version    string
	Logger     *slog.Logger
	PingPeriod time.Duration // how often a bootstrap peer is pinged while unreachable; default 500ms
}

// Node is a running refnode.
type Node struct {
	cfg   Config
	ep    *transport.Endpoint
	http  *http.Server
	admin net.Listener

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
	if cfg.PingPeriod == 0 {
		cfg.PingPeriod = 500 * time.Millisecond
	}
	n := &Node{cfg: cfg}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	var err error
	n.ep, err = transport.Listen(transport.Config{Identity: cfg.Identity, Listen: cfg.Listen, Logger: cfg.Logger, Handler: n.handle})
	if err != nil {
		return nil, err
	}
	if !mutant.Is("stableset-field-zero") {
		n.ep.SetStablesetID(n.stablesetID())
	}
	n.admin, err = net.Listen("tcp", cfg.Admin)
	if err != nil {
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
	for _, b := range cfg.Bootstrap {
		n.wg.Add(1)
		go n.greet(b)
	}
	cfg.Logger.Info("refnode started", "name", cfg.Identity.Name, "listen", n.ep.Addr(), "admin", n.admin.Addr())
	return n, nil
}

// greet pings a bootstrap peer until it answers, the handshake proves the wrong name, or the node stops.
func (n *Node) greet(b Bootstrap) {
	defer n.wg.Done()
	for {
		start := time.Now()
		_, err := n.ep.Request(n.ctx, b.Name, b.Addr, wire.TypePing, nil, nil)
		if err == nil {
			n.cfg.Logger.Info("bootstrap peer answered", "peer", b.Name, "addr", b.Addr, "rtt", time.Since(start))
			return
		}
		var mismatch *identity.NameMismatchError
		if errors.As(err, &mismatch) {
			n.cfg.Logger.Error("bootstrap peer has the wrong name; giving up on it", "addr", b.Addr,
				"expected", mismatch.Expected, "got", mismatch.Got)
			return
		}
		if n.ctx.Err() != nil {
			return
		}
		n.cfg.Logger.Warn("bootstrap peer not reachable yet", "peer", b.Name, "addr", b.Addr, "err", err)
		select {
		case <-time.After(n.cfg.PingPeriod):
		case <-n.ctx.Done():
			return
		}
	}
}

// handle receives requests and one-way frames. Spec v0 gives WITNESS_REQUEST and STABLESET no
// effect yet: a well-formed frame the node has no use for is counted and ignored (WIRE-9).
func (n *Node) handle(p *transport.Peer, h wire.Header, body []byte) {
	if mutant.Is("answer-witness-request") && h.Type == wire.TypeWitnessRequest {
		_ = p.Respond(h.ID, wire.TypeWitness, body)
		return
	}
	n.cfg.Logger.Debug("frame ignored", "peer", p.Name(), "type", h.Type)
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

// Counters implements admin.Node.
func (n *Node) Counters() transport.Counters { return n.ep.Counters() }

// Stableset implements admin.Node: the node alone, ordinal 0 (genesis).
func (n *Node) Stableset() admin.Stableset {
	id := n.stablesetID()
	self := n.cfg.Identity.Name.String()
	var ordinal uint64 // genesis
	if mutant.Is("stableset-ordinal-1") {
		ordinal = 1
	}
	return admin.Stableset{
		ID:      fmt.Sprintf("%x", id[:]),
		Members: []admin.Member{{Name: self, Addr: n.ep.Addr().String(), Ordinal: ordinal}},
		Elders:  []string{self},
		Joining: []admin.Change{}, Leaving: []admin.Change{},
	}
}

// stablesetID is SHA-256 over the sorted member names (ST-1); here the node alone.
func (n *Node) stablesetID() wire.StablesetID {
	return sha256.Sum256(n.cfg.Identity.Name[:])
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
