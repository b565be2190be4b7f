package conformance

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"time"

	"github.com/cucumber/godog"
	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// Steps about identities and scripted peers: who connects to whom, and what the handshake proves.

var lowerHexName = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (w *world) info() (harness.NodeInfo, error) {
	ctx, cancel := stepContext()
	defer cancel()
	info, err := w.node.Info(ctx)
	return info, w.admin(err)
}

// admin turns a 501 from the node into "unsupported" and leaves other errors alone.
func (w *world) admin(err error) error {
	var se *harness.StatusError
	if errors.As(err, &se) && se.Unsupported() {
		w.unsupported = se.Error()
		return fmt.Errorf("%w: %v", godog.ErrSkip, err)
	}
	return err
}

func (w *world) nodeReportsSeedName() error {
	info, err := w.info()
	if err != nil {
		return err
	}
	if !lowerHexName.MatchString(info.Name) {
		return fmt.Errorf("expected 64 lowercase hex characters, got %q", info.Name)
	}
	if info.Name != w.node.Name.String() {
		return fmt.Errorf("expected the name of seed %s: %s, got %s", w.node.Settings.Seed, w.node.Name, info.Name)
	}
	return nil
}

func (w *world) nodeReportsAddress() error {
	info, err := w.info()
	if err != nil {
		return err
	}
	if info.Addr != w.node.QUIC().String() {
		return fmt.Errorf("expected addr %s, got %q", w.node.QUIC(), info.Addr)
	}
	return nil
}

func (w *world) peerSawCertificate(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	certs := c.State().TLS.PeerCertificates
	if len(certs) != 1 {
		return fmt.Errorf("expected exactly one certificate, got %d", len(certs))
	}
	cert := certs[0]
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return fmt.Errorf("expected a self-signed certificate: %v", err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("expected an ed25519 key in the certificate, got %T", cert.PublicKey)
	}
	if !bytes.Equal(pub, w.node.Name[:]) {
		return fmt.Errorf("expected the certificate's key to be the node's name %s, got %x", w.node.Name, []byte(pub))
	}
	if c.RemoteName() != w.node.Name {
		return fmt.Errorf("expected the handshake to prove %s, got %s", w.node.Name, c.RemoteName())
	}
	return nil
}

func (w *world) peerNegotiated(name, alpn string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	st := c.State()
	if st.TLS.NegotiatedProtocol != alpn {
		return fmt.Errorf("expected ALPN %q, got %q", alpn, st.TLS.NegotiatedProtocol)
	}
	if st.TLS.Version != 0x0304 {
		return fmt.Errorf("expected TLS 1.3, got version 0x%04x", st.TLS.Version)
	}
	if st.Version != quic.Version1 {
		return fmt.Errorf("expected QUIC version 1, got %v", st.Version)
	}
	return nil
}

// await polls check until it returns nil or the step timeout passes, and returns its last error.
func await(check func() error) error { return awaitFor(stepTimeout, 25*time.Millisecond, check) }

// awaitFor polls check every interval until it returns nil, it skips (a 501), or d passes, and
// returns its last error.
func awaitFor(d, every time.Duration, check func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil || errors.Is(err, godog.ErrSkip) || time.Now().After(deadline) {
			return err
		}
		if !pause(every) {
			return fmt.Errorf("interrupted while waiting: %w", err)
		}
	}
}

// pause waits d and reports true, or reports false at once when the run is interrupted.
func pause(d time.Duration) bool {
	select {
	case <-harness.Closing().Done():
		return false
	case <-time.After(d):
		return true
	}
}

// holdsFor checks, every interval, that check keeps returning nil for d, and returns its first
// error: the quiet windows in which a node must not do something.
func holdsFor(d, every time.Duration, check func() error) error {
	deadline := time.Now().Add(d)
	for {
		if err := check(); err != nil || time.Now().After(deadline) {
			return err
		}
		if !pause(every) {
			return errors.New("interrupted during a quiet window")
		}
	}
}

func (w *world) secondNodeCountsFailedHandshake() error {
	return await(func() error {
		c, err := w.countersOf(w.second)
		if err != nil {
			return err
		}
		var total int64
		for _, n := range c.HandshakeFailures {
			total += n
		}
		if total == 0 {
			return fmt.Errorf("expected a failed handshake in handshake_failures, got %v", c.HandshakeFailures)
		}
		return nil
	})
}

func (w *world) secondNodeCountsNameMismatches(n int) error {
	return await(func() error {
		c, err := w.countersOf(w.second)
		if err != nil {
			return err
		}
		if got := c.HandshakeFailures["name_mismatch"]; got != int64(n) {
			return fmt.Errorf("expected handshake_failures.name_mismatch = %d, got %d", n, got)
		}
		return nil
	})
}

func (w *world) handshakeFails(name string) error {
	p := w.peer(name)
	if p.dialErr != nil {
		return nil // the dial itself failed
	}
	c := p.dialed[len(p.dialed)-1]
	ctx, cancel := stepContext()
	defer cancel()
	info, err := c.WaitClosed(ctx)
	if err != nil {
		return fmt.Errorf("expected the node to fail the handshake, but the connection stayed open: %v", err)
	}
	if !info.Remote || info.Application || info.TransportCode < 0x100 || info.TransportCode > 0x1ff {
		return fmt.Errorf("expected the node to fail the handshake with a CRYPTO_ERROR, got %v", info)
	}
	return nil
}

func (w *world) peer(name string) *scriptedPeer {
	p := w.peers[name]
	if p == nil {
		p = &scriptedPeer{id: peer.RandomIdentity(), arrived: make(chan struct{})}
		w.peers[name] = p
	}
	return p
}

// conn is the peer's newest connection: the last it dialed, or else the last a node dialed to it.
func (w *world) conn(name string) (*peer.Conn, error) {
	p := w.peer(name)
	if len(p.dialed) > 0 {
		return p.dialed[len(p.dialed)-1], nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.accepted) > 0 {
		return p.accepted[len(p.accepted)-1], nil
	}
	if p.dialErr != nil {
		return nil, fmt.Errorf("peer %q has no connection: its dial failed: %v", name, p.dialErr)
	}
	return nil, fmt.Errorf("peer %q has no connection", name)
}

func (w *world) dial(name string, target *harness.Node, opts ...peer.Option) error {
	p := w.peer(name)
	ctx, cancel := stepContext()
	defer cancel()
	opts = append([]peer.Option{peer.FromIP(w.cluster.HostIP()), w.traceFor(name)}, opts...)
	c, err := peer.Dial(ctx, p.id, target.Name, target.QUIC(), opts...)
	if err != nil {
		p.dialErr = err
		return err
	}
	p.dialed = append(p.dialed, c)
	return nil
}

func (w *world) peerConnects(name string) error { return w.dial(name, w.node) }

func (w *world) peerConnectsToSecond(name string) error { return w.dial(name, w.second) }

func (w *world) peerCanConnectAgain(name string) error {
	if err := w.dial(name, w.node); err != nil {
		return fmt.Errorf("expected the node to accept the peer again: %v", err)
	}
	return w.peerGetsPong(name)
}

func (w *world) peerConnectsWithForeignSignature(name string) error {
	_ = w.dial(name, w.node, peer.WithCertificate(peer.CertNotSelfSigned))
	return nil // the outcome is checked by "the handshake fails"
}

func (w *world) peerConnectsWithoutKeepAlive(name string) error {
	return w.dial(name, w.node, peer.WithoutKeepAlive())
}

// quietFor is how long nothing may arrive before the connection counts as quiet: longer than any
// delayed acknowledgement, shorter than the 2 s keep-alive period of TRN-6.
const quietFor = 500 * time.Millisecond

// peerReceivesKeepAlive waits for the connection to fall quiet (the handshake's last packets and
// acknowledgements have arrived), then, with neither side sending anything, for the node's next
// packet: only a keep-alive can be it.
func (w *world) peerReceivesKeepAlive(name string, seconds int) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	last, quietSince := c.PacketsReceived(), time.Now()
	settle := time.Now().Add(stepTimeout)
	for time.Since(quietSince) < quietFor {
		if time.Now().After(settle) {
			return fmt.Errorf("the connection never fell quiet for %v", quietFor)
		}
		if !pause(20 * time.Millisecond) {
			return errors.New("interrupted")
		}
		if n := c.PacketsReceived(); n != last {
			last, quietSince = n, time.Now()
		}
	}
	deadline := quietSince.Add(time.Duration(seconds) * time.Second)
	for time.Now().Before(deadline) {
		if c.PacketsReceived() > last {
			return nil
		}
		if !pause(20 * time.Millisecond) {
			return errors.New("interrupted")
		}
	}
	return fmt.Errorf("expected a keep-alive from the node within %ds of silence; none arrived", seconds)
}

func (w *world) peerConnectsWithALPN(name, alpn string) error {
	_ = w.dial(name, w.node, peer.WithALPN(alpn))
	return nil
}

func (w *world) listening(name string) (*scriptedPeer, error) {
	p := w.peer(name)
	if p.listener == nil {
		return nil, fmt.Errorf("peer %q is not listening", name)
	}
	return p, nil
}

func (w *world) peerListens(name string) error {
	if err := w.newCluster(); err != nil {
		return err
	}
	return w.listen(name)
}

// peerReservesAddress picks a free UDP address for the peer without listening on it yet, so
// that a node can be told to contact a peer that is not there.
func (w *world) peerReservesAddress(name string) error {
	if err := w.newCluster(); err != nil {
		return err
	}
	probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(w.cluster.HostIP(), 0)))
	if err != nil {
		return err
	}
	w.peer(name).reserved = probe.LocalAddr().(*net.UDPAddr).AddrPort()
	return probe.Close()
}

func (w *world) peerStartsListening(name string) error { return w.listen(name) }

// listen opens the peer's listener (on its reserved address, if it has one) and accepts
// connections in the background.
func (w *world) listen(name string) error {
	p := w.peer(name)
	addr := netip.AddrPortFrom(w.cluster.HostIP(), 0)
	if p.reserved.IsValid() {
		addr = p.reserved
	}
	l, err := peer.Listen(p.id, addr, w.traceFor(name))
	if err != nil {
		return err
	}
	p.listener = l
	go func() {
		for {
			c, err := l.Accept(harness.Closing())
			if err != nil {
				return
			}
			p.mu.Lock()
			p.accepted = append(p.accepted, c)
			close(p.arrived)
			p.arrived = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	return nil
}

func (w *world) peerWithOrderedNameListens(name, order string) error {
	if err := w.newCluster(); err != nil {
		return err
	}
	next := w.cluster.NextName()
	p := w.peer(name)
	for {
		mine := p.id.Name()
		cmp := bytes.Compare(mine[:], next[:])
		if (order == "lower" && cmp < 0) || (order == "higher" && cmp > 0) {
			break
		}
		p.id = peer.RandomIdentity()
	}
	return w.listen(name)
}

// accepted waits for the first connection a node dialed to the peer.
func (w *world) accepted(name string) (*peer.Conn, error) {
	p := w.peer(name)
	deadline := time.After(stepTimeout)
	for {
		p.mu.Lock()
		if len(p.accepted) > 0 {
			c := p.accepted[0]
			p.mu.Unlock()
			return c, nil
		}
		arrived := p.arrived
		p.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline:
			return nil, fmt.Errorf("expected the node to connect to peer %q, it did not within %v", name, stepTimeout)
		}
	}
}

func (w *world) peerReceivedNoFrame(name string) error {
	p := w.peer(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.accepted {
		if n := len(c.Frames()); n > 0 {
			return fmt.Errorf("expected no frame after the failed name check, peer %q got %d: %v", name, n, c.Frames()[0])
		}
	}
	return nil
}

func isStreamLimit(err error) bool {
	var limit *quic.StreamLimitReachedError
	return errors.As(err, &limit)
}

func (w *world) peerCannotOpenSecondStream(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	if err := c.TryOpenStream(); !isStreamLimit(err) {
		return fmt.Errorf("expected the node to allow no second stream, but opening one gave %v", err)
	}
	return nil
}

func (w *world) peerCannotOpenStreamTowardsSecond(name string) error {
	c, err := w.accepted(name)
	if err != nil {
		return err
	}
	if err := c.TryOpenStream(); !isStreamLimit(err) {
		return fmt.Errorf("expected a dialing node to allow no stream, but opening one gave %v", err)
	}
	return nil
}

func (w *world) peerGetsPong(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	if _, err := c.Ping(ctx, []byte("sskit")); err != nil {
		return fmt.Errorf("expected a PONG: %v", err)
	}
	return nil
}

func isPing(f peer.Frame) bool { return f.Header.Type == wire.TypePing }

func (w *world) peerReceivesPingFromSecond(name string) error {
	c, err := w.accepted(name)
	if err != nil {
		return err
	}
	if c.RemoteName() != w.second.Name {
		return fmt.Errorf("expected the second node (%s) to connect, got %s", w.second.Name, c.RemoteName())
	}
	ctx, cancel := stepContext()
	defer cancel()
	if _, err := c.WaitFrame(ctx, isPing); err != nil {
		return fmt.Errorf("expected a PING on the stream the node opened: %v", err)
	}
	return nil
}

func (w *world) answerPing(name string, typ wire.Type, body func(wire.Header, []byte) []byte) error {
	c, err := w.accepted(name)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	f, err := c.WaitFrame(ctx, isPing)
	if err != nil {
		return fmt.Errorf("expected a PING from the second node: %v", err)
	}
	return c.Send(typ, f.Header.ID, w.peer(name).id.StablesetID(), body(f.Header, f.Body))
}

func (w *world) peerAnswersPing(name string) error {
	return w.answerPing(name, wire.TypePong, func(_ wire.Header, b []byte) []byte { return b })
}

func (w *world) peerAnswersPingWithWitness(name string) error {
	obs := testObservation(wire.ChangeJoin)
	return w.answerPing(name, wire.TypeWitness, func(wire.Header, []byte) []byte { return obs.Append(nil) })
}

func (w *world) nodeAnswersNewPeer() error {
	ctx, cancel := stepContext()
	defer cancel()
	c, err := peer.Dial(ctx, peer.RandomIdentity(), w.node.Name, w.node.QUIC(), peer.FromIP(w.cluster.HostIP()), w.traceFor("newcomer"))
	if err != nil {
		return fmt.Errorf("expected the node to accept a new peer: %v", err)
	}
	defer c.Close(wire.CodeNoError)
	if _, err := c.Ping(ctx, []byte("still there?")); err != nil {
		return fmt.Errorf("expected the node to answer a new peer's PING: %v", err)
	}
	return nil
}

func (w *world) nodeCountsPingFromSecond() error {
	return await(func() error {
		c, err := w.counters()
		if err != nil {
			return err
		}
		if got := c.Peers[w.second.Name.String()].Received["PING"]; got < 1 {
			return fmt.Errorf("expected a PING from the second node in the node's counters, got %d", got)
		}
		return nil
	})
}
