package conformance

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// stepTimeout bounds every wait on the node; a conforming node answers well within it.
const stepTimeout = 10 * time.Second

// world is one scenario's state. godog makes a new one for every scenario.
type world struct {
	run     *suiteRun
	logDir  string
	cluster *harness.Cluster
	node    *harness.Node // the node under test
	second  *harness.Node // a second node of the same implementation
	peers   map[string]*scriptedPeer

	pingIDs      []uint64
	payload      []byte
	status       int
	body         []byte
	stateBefore  string
	startErr     error
	stopped      chan struct{}
	stopCode     int
	stopErr      error
	stopDuration time.Duration
	unsupported  string
}

// scriptedPeer is a named peer with the connections it dialed and the ones nodes dialed to it.
type scriptedPeer struct {
	id       *peer.Identity
	dialed   []*peer.Conn
	dialErr  error
	listener *peer.Listener

	mu       sync.Mutex
	accepted []*peer.Conn
	arrived  chan struct{} // closed and replaced on every accepted connection
}

func (r *suiteRun) initScenario(sc *godog.ScenarioContext) {
	w := &world{run: r, peers: map[string]*scriptedPeer{}}
	var failedStep, failedErr string
	var started time.Time
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		started = time.Now()
		d, _ := r.lookup(s)
		feature := strings.TrimSuffix(filepath.Base(d.File), ".feature")
		w.logDir = filepath.Join(r.res.Dir, "logs", safeName(fmt.Sprintf("%s-%02d-%s", feature, d.index+1, d.Name)))
		return ctx, nil
	})
	sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
		if err != nil && failedStep == "" {
			failedStep, failedErr = st.Text, err.Error()
		}
		return ctx, nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		w.close()
		d, idx := r.lookup(s)
		res := ScenarioResult{Name: d.Name, Variant: d.Variant, File: d.File, Rules: d.Rules, Level: d.Level,
			Duration: time.Since(started), index: idx}
		switch {
		case w.unsupported != "":
			res.Status, res.Error = Unsupported, w.unsupported
		case err != nil:
			res.Status, res.FailedStep, res.Error = Failed, failedStep, failedErr
			if failedErr == "" {
				res.Error = err.Error()
			}
		default:
			res.Status = Passed
		}
		res.Logs = w.logs()
		r.record(res)
		return ctx, nil
	})
	w.register(sc)
}

func (w *world) register(sc *godog.ScenarioContext) {
	// Nodes and clusters.
	sc.Step(`^a node under test$`, w.aNodeUnderTest)
	sc.Step(`^a second node starts with bootstrap peer "([^"]+)" under another name$`, w.secondNodeBootstrapsToPeerUnderAnotherName)
	sc.Step(`^a second node starts with bootstrap peer "([^"]+)"$`, w.secondNodeBootstrapsToPeer)
	sc.Step(`^a second node starts with the node as bootstrap peer, its name in uppercase$`, w.secondNodeBootstrapsUppercase)
	sc.Step(`^a node is started with (\w+) set to "([^"]*)"$`, w.nodeStartedWithSetting)
	sc.Step(`^it exits with code (\d+) before it is ready$`, w.itExitsBeforeReady)
	sc.Step(`^the node became ready within (\d+) seconds$`, w.nodeReadyWithin)
	sc.Step(`^the node's log has at least one line from the node$`, w.nodeLogHasLines)
	sc.Step(`^the node is stopped with SIGTERM$`, w.nodeStoppedWithSIGTERM)
	sc.Step(`^the node exits with code (\d+) within (\d+) seconds$`, w.nodeExitsWithin)

	// Identity.
	sc.Step(`^the node reports the name its seed gives, as 64 lowercase hex characters$`, w.nodeReportsSeedName)
	sc.Step(`^the node reports the QUIC address it was given$`, w.nodeReportsAddress)
	sc.Step(`^peer "([^"]+)" was shown one self-signed ed25519 certificate holding the node's name$`, w.peerSawCertificate)
	sc.Step(`^peer "([^"]+)" negotiated ALPN "([^"]+)" with TLS 1\.3 over QUIC version 1$`, w.peerNegotiated)
	sc.Step(`^the second node counts a failed handshake$`, w.secondNodeCountsFailedHandshake)
	sc.Step(`^the second node counts (\d+) name mismatch(?:es)?$`, w.secondNodeCountsNameMismatches)
	sc.Step(`^the handshake of peer "([^"]+)" fails$`, w.handshakeFails)

	// Scripted peers.
	sc.Step(`^scripted peer "([^"]+)" connects to the node$`, w.peerConnects)
	sc.Step(`^scripted peer "([^"]+)" connects to the node again$`, w.peerConnects)
	sc.Step(`^scripted peer "([^"]+)" can connect to the node again$`, w.peerCanConnectAgain)
	sc.Step(`^scripted peer "([^"]+)" connects to the node with a certificate signed by another key$`, w.peerConnectsWithForeignSignature)
	sc.Step(`^scripted peer "([^"]+)" connects to the node offering ALPN "([^"]+)"$`, w.peerConnectsWithALPN)
	sc.Step(`^scripted peer "([^"]+)" listens for connections$`, w.peerListens)
	sc.Step(`^scripted peer "([^"]+)" with a name (lower|higher) than the second node's listens for connections$`, w.peerWithOrderedNameListens)
	sc.Step(`^peer "([^"]+)" connects to the second node$`, w.peerConnectsToSecond)
	sc.Step(`^peer "([^"]+)" has received no frame$`, w.peerReceivedNoFrame)
	sc.Step(`^peer "([^"]+)" cannot open a second stream$`, w.peerCannotOpenSecondStream)
	sc.Step(`^peer "([^"]+)" cannot open a stream towards the second node$`, w.peerCannotOpenStreamTowardsSecond)
	sc.Step(`^peer "([^"]+)" gets a PONG for a PING$`, w.peerGetsPong)
	sc.Step(`^peer "([^"]+)" receives a PING on the stream the second node opened$`, w.peerReceivesPingFromSecond)
	sc.Step(`^peer "([^"]+)" answers the PING of the second node with a WITNESS$`, w.peerAnswersPingWithWitness)
	sc.Step(`^peer "([^"]+)" answers the PING of the second node$`, w.peerAnswersPing)
	sc.Step(`^the node answers a PING from a new peer$`, w.nodeAnswersNewPeer)
	sc.Step(`^the node counts a PING from the second node$`, w.nodeCountsPingFromSecond)

	// Frames.
	sc.Step(`^peer "([^"]+)" sends a PING with id (\d+) and payload "([^"]*)"$`, w.peerSendsPing)
	sc.Step(`^peer "([^"]+)" receives a PONG with id (\d+) and payload "([^"]*)"$`, w.peerReceivesPong)
	sc.Step(`^peer "([^"]+)" sends (\d+) PINGs in one write$`, w.peerSendsPingsInOneWrite)
	sc.Step(`^peer "([^"]+)" receives (\d+) PONGs with their ids$`, w.peerReceivesPongs)
	sc.Step(`^peer "([^"]+)" sends a PING with a payload of (\d+) bytes and then ends its stream$`, w.peerSendsBigPingThenFIN)
	sc.Step(`^peer "([^"]+)" sends a PING with a payload of (\d+) bytes$`, w.peerSendsBigPing)
	sc.Step(`^peer "([^"]+)" receives a PONG with the same payload$`, w.peerReceivesSamePayload)
	sc.Step(`^peer "([^"]+)" sends a well-formed (WITNESS_REQUEST|STABLESET)$`, w.peerSendsWellFormed)
	sc.Step(`^peer "([^"]+)" sends a PONG with id (\d+) that answers nothing$`, w.peerSendsUnmatchedPong)
	sc.Step(`^peer "([^"]+)" closes its connection with code (0x[0-9a-fA-F]+)$`, w.peerClosesWithCode)
	sc.Step(`^peer "([^"]+)" sends ((?:a frame (?:whose|of) |half a frame |two bytes |a WITNESS_REQUEST (?:with|of|naming) |a STABLESET (?:whose|with|listing) ).+)$`, w.peerSendsBadFrame)
	sc.Step(`^peer "([^"]+)" has received nothing but PONGs$`, w.peerReceivedOnlyPongs)
	sc.Step(`^the node closes peer "([^"]+)"'s first connection with ([A-Z_]+)$`, w.nodeClosesFirstConnection)
	sc.Step(`^the node closes peer "([^"]+)"'s connection with ([A-Z_]+)$`, w.nodeClosesConnection)
	sc.Step(`^the second node closes peer "([^"]+)"'s connection with ([A-Z_]+)$`, w.secondClosesAcceptedConnection)
	sc.Step(`^the second node closes the connection it dialed with ([A-Z_]+)$`, w.secondClosesItsOwnConnection)
	sc.Step(`^the second node closes the connection peer "([^"]+)" dialed with ([A-Z_]+)$`, w.secondClosesPeersConnection)
	sc.Step(`^the connection of peer "([^"]+)" ends with ([A-Z_]+)$`, w.connectionEndsWith)
	sc.Step(`^the node counts (\d+) connections? it closed with ([A-Z_]+)$`, w.nodeCountsClosed)
	sc.Step(`^the stableset field of every frame peer "([^"]+)" received is the id the node reports$`, w.stablesetFieldMatches)
	sc.Step(`^the node's stableset id is the SHA-256 of its members' sorted names$`, w.stablesetIDIsHash)

	// Admin API.
	sc.Step(`^GET /healthz answers 200 with status "ok"$`, w.healthz)
	sc.Step(`^GET /v1/node answers with the node's name, address, implementation, version and spec version "([^"]+)"$`, w.nodeInfo)
	sc.Step(`^GET /v1/stableset lists the node alone with ordinal 0, as its own elder, with nothing joining or leaving$`, w.stablesetAlone)
	sc.Step(`^the node's counters show (\d+) PING received from peer "([^"]+)" and (\d+) PONG sent to it$`, w.countersShowPing)
	sc.Step(`^the node's counters list every message type$`, w.countersListEveryType)
	sc.Step(`^GET /v1/counters\?peer= for peer "([^"]+)" shows the same counts$`, w.peerCounters)
	sc.Step(`^I send (\w+) (\S+) to the admin API$`, w.sendAdmin)
	sc.Step(`^the answer is (\d+) with error code "([^"]+)"$`, w.answerIs)
	sc.Step(`^the node's state is as it was before the request$`, w.stateUnchanged)
}

func stepContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), stepTimeout)
}

// --- nodes ---------------------------------------------------------------------------------

func (w *world) newCluster() error {
	if w.cluster != nil {
		return nil
	}
	ctx, cancel := stepContext()
	defer cancel()
	c, err := harness.NewCluster(ctx, harness.Options{
		Impl: w.run.opts.Impl, Backend: w.run.opts.Backend, Seed: w.run.opts.Seed, LogDir: w.logDir,
	})
	if err != nil {
		return err
	}
	w.cluster = c
	return nil
}

func (w *world) aNodeUnderTest() error {
	if err := w.newCluster(); err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	n, err := w.cluster.AddNode(ctx)
	w.node = n
	if err == nil {
		w.run.noteVersion(ctx, n)
	}
	return err
}

func (w *world) startSecond(modify func(*harness.Settings)) error {
	ctx, cancel := stepContext()
	defer cancel()
	n, err := w.cluster.AddNodeWith(ctx, modify)
	w.second = n
	return err
}

func (w *world) secondNodeBootstrapsToPeer(name string) error {
	p, err := w.listening(name)
	if err != nil {
		return err
	}
	return w.startSecond(func(s *harness.Settings) { s.Bootstrap = []string{p.listener.Bootstrap()} })
}

func (w *world) secondNodeBootstrapsToPeerUnderAnotherName(name string) error {
	p, err := w.listening(name)
	if err != nil {
		return err
	}
	other := peer.RandomIdentity().Name()
	return w.startSecond(func(s *harness.Settings) { s.Bootstrap = []string{other.String() + "@" + p.listener.Addr().String()} })
}

func (w *world) secondNodeBootstrapsUppercase() error {
	boot := strings.ToUpper(w.node.Name.String()) + "@" + w.node.QUIC().String()
	return w.startSecond(func(s *harness.Settings) { s.Bootstrap = []string{boot} })
}

func (w *world) nodeStartedWithSetting(setting, value string) error {
	if err := w.newCluster(); err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	w.node, w.startErr = w.cluster.AddNodeWith(ctx, func(s *harness.Settings) {
		s.Raw = map[string]string{setting: value}
	})
	return nil
}

func (w *world) itExitsBeforeReady(code int) error {
	var se *harness.StartError
	if !errors.As(w.startErr, &se) {
		return fmt.Errorf("expected the node to exit with code %d before it was ready, but it started (err %v)", code, w.startErr)
	}
	if !se.Exited || se.ExitCode != code {
		return fmt.Errorf("expected exit code %d, got: %v", code, se)
	}
	return nil
}

func (w *world) nodeReadyWithin(seconds int) error {
	if w.node.ReadyIn > time.Duration(seconds)*time.Second {
		return fmt.Errorf("expected readiness within %ds, took %v", seconds, w.node.ReadyIn)
	}
	return nil
}

func (w *world) nodeLogHasLines() error {
	b, err := os.ReadFile(w.node.LogPath)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "=== sskit:") {
			return nil
		}
	}
	return fmt.Errorf("expected the node to write its log to stdout or stderr; %s has no line from it", w.node.LogPath)
}

func (w *world) nodeStoppedWithSIGTERM() error {
	w.stopped = make(chan struct{})
	go func() {
		defer close(w.stopped)
		ctx, cancel := stepContext()
		defer cancel()
		start := time.Now()
		w.stopCode, w.stopErr = w.cluster.Stop(ctx, w.node)
		w.stopDuration = time.Since(start)
	}()
	return nil
}

func (w *world) nodeExitsWithin(code, seconds int) error {
	<-w.stopped
	if w.stopErr != nil {
		return w.stopErr
	}
	if w.stopDuration > time.Duration(seconds)*time.Second {
		return fmt.Errorf("expected an exit within %ds of SIGTERM, took %v (the harness then killed it)", seconds, w.stopDuration)
	}
	if w.stopCode != code {
		return fmt.Errorf("expected exit code %d after SIGTERM, got %d", code, w.stopCode)
	}
	return nil
}

// --- identity ------------------------------------------------------------------------------

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

func (w *world) secondCounters() (harness.Counters, error) {
	ctx, cancel := stepContext()
	defer cancel()
	c, err := w.second.Counters(ctx)
	return c, w.admin(err)
}

// await polls check until it returns nil or the step timeout passes, and returns its last error.
func await(check func() error) error {
	deadline := time.Now().Add(stepTimeout)
	for {
		err := check()
		if err == nil || errors.Is(err, godog.ErrSkip) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (w *world) secondNodeCountsFailedHandshake() error {
	return await(func() error {
		c, err := w.secondCounters()
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
		c, err := w.secondCounters()
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

// --- scripted peers ------------------------------------------------------------------------

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
	return w.listen(w.peer(name))
}

// listen opens the peer's listener on the loopback and accepts connections in the background.
func (w *world) listen(p *scriptedPeer) error {
	l, err := peer.Listen(p.id, netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		return err
	}
	p.listener = l
	go func() {
		for {
			c, err := l.Accept(context.Background())
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
	return w.listen(p)
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
	c, err := peer.Dial(ctx, peer.RandomIdentity(), w.node.Name, w.node.QUIC())
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
		ctx, cancel := stepContext()
		defer cancel()
		c, err := w.node.Counters(ctx)
		if err != nil {
			return w.admin(err)
		}
		if got := c.Peers[w.second.Name.String()].Received["PING"]; got < 1 {
			return fmt.Errorf("expected a PING from the second node in the node's counters, got %d", got)
		}
		return nil
	})
}

// --- frames ----------------------------------------------------------------------------------

func (w *world) peerSendsPing(name string, id int, payload string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	return c.Send(wire.TypePing, uint64(id), w.peer(name).id.StablesetID(), []byte(payload))
}

func (w *world) waitFrame(name string, match func(peer.Frame) bool, what string) (peer.Frame, error) {
	c, err := w.conn(name)
	if err != nil {
		return peer.Frame{}, err
	}
	ctx, cancel := stepContext()
	defer cancel()
	f, err := c.WaitFrame(ctx, match)
	if err != nil {
		return f, fmt.Errorf("expected %s; received %v (connection: %v)", what, c.Frames(), c.Err())
	}
	return f, nil
}

func (w *world) peerReceivesPong(name string, id int, payload string) error {
	f, err := w.waitFrame(name, func(f peer.Frame) bool { return f.Header.Type == wire.TypePong }, "a PONG")
	if err != nil {
		return err
	}
	if f.Header.ID != uint64(id) || string(f.Body) != payload {
		return fmt.Errorf("expected PONG id %d payload %q, got id %d payload %q", id, payload, f.Header.ID, f.Body)
	}
	return nil
}

func (w *world) peerSendsPingsInOneWrite(name string, n int) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	var buf []byte
	w.pingIDs = nil
	for i := 0; i < n; i++ {
		id := uint64(1000 + i)
		w.pingIDs = append(w.pingIDs, id)
		if buf, err = wire.AppendFrame(buf, wire.Header{Type: wire.TypePing, ID: id}, []byte{byte(i)}); err != nil {
			return err
		}
	}
	return c.SendRaw(buf)
}

func (w *world) peerReceivesPongs(name string, n int) error {
	for _, id := range w.pingIDs {
		if _, err := w.waitFrame(name, func(f peer.Frame) bool { return f.Header.Type == wire.TypePong && f.Header.ID == id },
			fmt.Sprintf("a PONG with id %d", id)); err != nil {
			return err
		}
	}
	if len(w.pingIDs) != n {
		return fmt.Errorf("sent %d PINGs, expected %d", len(w.pingIDs), n)
	}
	return nil
}

func (w *world) sendBigPing(name string, size int) (*peer.Conn, error) {
	c, err := w.conn(name)
	if err != nil {
		return nil, err
	}
	w.payload = make([]byte, size)
	_, _ = rand.Read(w.payload)
	return c, c.Send(wire.TypePing, 4242, w.peer(name).id.StablesetID(), w.payload)
}

func (w *world) peerSendsBigPing(name string, size int) error {
	_, err := w.sendBigPing(name, size)
	return err
}

func (w *world) peerSendsBigPingThenFIN(name string, size int) error {
	c, err := w.sendBigPing(name, size)
	if err != nil {
		return err
	}
	return c.CloseWrite()
}

func (w *world) peerReceivesSamePayload(name string) error {
	f, err := w.waitFrame(name, func(f peer.Frame) bool { return f.Header.Type == wire.TypePong && f.Header.ID == 4242 }, "a PONG with id 4242")
	if err != nil {
		return err
	}
	if !bytes.Equal(f.Body, w.payload) {
		return fmt.Errorf("expected the PING's %d-byte payload back, got %d bytes that differ", len(w.payload), len(f.Body))
	}
	return nil
}

func testMember(b byte, ordinal uint64, addr string) wire.Member {
	var m wire.Member
	for i := range m.Name {
		m.Name[i] = b
	}
	m.Ordinal, m.Addr = ordinal, netip.MustParseAddrPort(addr)
	return m
}

func testObservation(kind wire.ChangeKind) wire.Observation {
	return wire.Observation{Kind: kind, Member: testMember(0x5a, 3, "127.0.0.9:7000")}
}

func (w *world) peerSendsWellFormed(name, typ string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	ss := w.peer(name).id.StablesetID()
	switch typ {
	case "WITNESS_REQUEST":
		obs := testObservation(wire.ChangeJoin)
		return c.Send(wire.TypeWitnessRequest, 31, ss, obs.Append(nil))
	default:
		members := []wire.Member{testMember(1, 0, "127.0.0.1:7000"), testMember(2, 0, "127.0.0.2:7000")}
		return c.Send(wire.TypeStableset, 32, ss, wire.AppendStableset(nil, members, nil, nil))
	}
}

func (w *world) peerReceivedOnlyPongs(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	for _, f := range c.Frames() {
		if f.Header.Type != wire.TypePong {
			return fmt.Errorf("expected no answer to the ignored frame, got %v", f)
		}
	}
	if info := c.Closed(); info != nil {
		return fmt.Errorf("expected the connection to stay open, it ended: %v", info)
	}
	return nil
}

func (w *world) peerSendsUnmatchedPong(name string, id int) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	return c.Send(wire.TypePong, uint64(id), w.peer(name).id.StablesetID(), []byte("late"))
}

func (w *world) peerClosesWithCode(name, code string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(code, 0, 64)
	if err != nil {
		return err
	}
	return c.Close(wire.Code(n))
}

var (
	lengthFrame  = regexp.MustCompile(`^a frame whose length is (\d+)$`)
	typeFrame    = regexp.MustCompile(`^a frame of type (0x[0-9a-fA-F]{2})$`)
	bodyFrame    = regexp.MustCompile(`^a WITNESS_REQUEST with a (\d+)-byte body$`)
	kindFrame    = regexp.MustCompile(`^a WITNESS_REQUEST of kind (\d+)$`)
	portFrame    = regexp.MustCompile(`^a WITNESS_REQUEST naming port 0$`)
	addressFrame = regexp.MustCompile(`^a WITNESS_REQUEST naming address (\S+)$`)
)

// badFrame builds the bytes of a frame that breaks one rule, and whether the peer then ends its stream.
func badFrame(desc string) ([]byte, bool, error) {
	h := wire.Header{Type: wire.TypeWitnessRequest, ID: 9}
	frame := func(h wire.Header, body []byte) []byte {
		f, _ := wire.AppendFrame(nil, h, body)
		return f
	}
	sample := testObservation(wire.ChangeJoin)
	obs := sample.Append(nil)
	ping := frame(wire.Header{Type: wire.TypePing, ID: 5}, []byte("a whole ping"))
	switch {
	case lengthFrame.MatchString(desc):
		n, _ := strconv.ParseUint(lengthFrame.FindStringSubmatch(desc)[1], 10, 32)
		b := binary.BigEndian.AppendUint32(nil, uint32(n))
		if n <= wire.HeaderSize { // short frames come whole, so either reading of WIRE-3 applies
			b = append(b, make([]byte, n)...)
			if n > 0 {
				b[4] = byte(wire.TypePing)
			}
		}
		return b, false, nil
	case desc == "half a frame and then ends its stream":
		return ping[:len(ping)/2], true, nil
	case desc == "two bytes of a length and then ends its stream":
		return ping[:2], true, nil
	case typeFrame.MatchString(desc):
		t, _ := strconv.ParseUint(typeFrame.FindStringSubmatch(desc)[1], 0, 8)
		return frame(wire.Header{Type: wire.Type(t), ID: 9}, nil), false, nil
	case bodyFrame.MatchString(desc):
		n, _ := strconv.Atoi(bodyFrame.FindStringSubmatch(desc)[1])
		body := make([]byte, n)
		copy(body, obs)
		return frame(h, body), false, nil
	case kindFrame.MatchString(desc):
		k, _ := strconv.Atoi(kindFrame.FindStringSubmatch(desc)[1])
		body := append([]byte{byte(k)}, obs[1:]...)
		return frame(h, body), false, nil
	case portFrame.MatchString(desc):
		body := append(append([]byte{}, obs[:len(obs)-2]...), 0, 0)
		return frame(h, body), false, nil
	case addressFrame.MatchString(desc):
		ip, err := netip.ParseAddr(addressFrame.FindStringSubmatch(desc)[1])
		if err != nil {
			return nil, false, err
		}
		ip16 := ip.As16()
		body := append([]byte{}, obs...)
		copy(body[1+32+8:], ip16[:])
		return frame(h, body), false, nil
	case desc == "a STABLESET whose counts do not match its body":
		body := wire.AppendStableset(nil, []wire.Member{testMember(1, 0, "127.0.0.1:7000")}, nil, nil)
		body[1] = 2 // says two members, holds one
		return frame(wire.Header{Type: wire.TypeStableset, ID: 9}, body), false, nil
	case desc == "a STABLESET with two members out of order":
		body := wire.AppendStableset(nil, []wire.Member{testMember(2, 0, "127.0.0.1:7000"), testMember(1, 0, "127.0.0.2:7000")}, nil, nil)
		return frame(wire.Header{Type: wire.TypeStableset, ID: 9}, body), false, nil
	case desc == "a STABLESET listing a member twice":
		m := testMember(1, 0, "127.0.0.1:7000")
		body := wire.AppendStableset(nil, []wire.Member{m, m}, nil, nil)
		return frame(wire.Header{Type: wire.TypeStableset, ID: 9}, body), false, nil
	}
	return nil, false, fmt.Errorf("the suite has no frame %q", desc)
}

func (w *world) peerSendsBadFrame(name, desc string) error {
	b, fin, err := badFrame(desc)
	if err != nil {
		return err
	}
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	if err := c.SendRaw(b); err != nil {
		return err
	}
	if fin {
		return c.CloseWrite()
	}
	return nil
}

func codeByName(name string) (wire.Code, error) {
	for c := wire.CodeNoError; c <= wire.CodeInternal; c++ {
		if c.String() == name {
			return c, nil
		}
	}
	return 0, fmt.Errorf("SPEC.md has no error code %s", name)
}

// expectClose waits for c to end and checks that the node closed it with code.
func expectClose(c *peer.Conn, codeName string, remoteOnly bool) error {
	code, err := codeByName(codeName)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	info, err := c.WaitClosed(ctx)
	if err != nil {
		return fmt.Errorf("expected the node to close the connection with %s; it is still open after %v", codeName, stepTimeout)
	}
	if !info.Application || info.Code != code || (remoteOnly && !info.Remote) {
		return fmt.Errorf("expected the node to close the connection with %s (0x%02x), got %v", codeName, uint64(code), info)
	}
	return nil
}

func (w *world) nodeClosesConnection(name, code string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	return expectClose(c, code, true)
}

func (w *world) nodeClosesFirstConnection(name, code string) error {
	p := w.peer(name)
	if len(p.dialed) < 2 {
		return fmt.Errorf("peer %q dialed %d connections, expected 2", name, len(p.dialed))
	}
	return expectClose(p.dialed[0], code, true)
}

func (w *world) secondClosesAcceptedConnection(name, code string) error {
	c, err := w.accepted(name)
	if err != nil {
		return err
	}
	return expectClose(c, code, true)
}

func (w *world) secondClosesItsOwnConnection(code string) error {
	for name, p := range w.peers {
		if p.listener != nil {
			return w.secondClosesAcceptedConnection(name, code)
		}
	}
	return errors.New("no peer listens")
}

func (w *world) secondClosesPeersConnection(name, code string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	return expectClose(c, code, true)
}

func (w *world) connectionEndsWith(name, code string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	return expectClose(c, code, false)
}

func (w *world) nodeCountsClosed(n int, code string) error {
	return await(func() error {
		ctx, cancel := stepContext()
		defer cancel()
		c, err := w.node.Counters(ctx)
		if err != nil {
			return w.admin(err)
		}
		if got := c.ClosedByUs[code]; got != int64(n) {
			return fmt.Errorf("expected connections_closed_by_us.%s = %d, got %d", code, n, got)
		}
		return nil
	})
}

func (w *world) stableset() (map[string]any, error) {
	ctx, cancel := stepContext()
	defer cancel()
	var s map[string]any
	return s, w.admin(w.node.GetJSON(ctx, "/v1/stableset", &s))
}

func (w *world) stablesetFieldMatches(name string) error {
	s, err := w.stableset()
	if err != nil {
		return err
	}
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	frames := c.Frames()
	if len(frames) == 0 {
		return errors.New("expected frames from the node, got none")
	}
	for _, f := range frames {
		if got := hex.EncodeToString(f.Header.Stableset[:]); got != s["id"] {
			return fmt.Errorf("expected stableset field %v (GET /v1/stableset), got %s in %v", s["id"], got, f)
		}
	}
	return nil
}

func (w *world) stablesetIDIsHash() error {
	s, err := w.stableset()
	if err != nil {
		return err
	}
	members, _ := s["members"].([]any)
	var names []string
	for _, m := range members {
		mm, _ := m.(map[string]any)
		n, _ := mm["name"].(string)
		names = append(names, strings.ToLower(n))
	}
	sort.Strings(names) // hex order is byte order
	h := sha256.New()
	for _, n := range names {
		b, err := hex.DecodeString(n)
		if err != nil {
			return fmt.Errorf("member name %q is not hex", n)
		}
		h.Write(b)
	}
	if want := hex.EncodeToString(h.Sum(nil)); s["id"] != want {
		return fmt.Errorf("expected id SHA-256(%v) = %s, got %v", names, want, s["id"])
	}
	return nil
}

// --- admin API -------------------------------------------------------------------------------

func (w *world) healthz() error {
	ctx, cancel := stepContext()
	defer cancel()
	status, body, err := w.node.Do(ctx, "GET", "/healthz", "")
	if err != nil {
		return err
	}
	var v struct{ Status string }
	if status != 200 || json.Unmarshal(body, &v) != nil || v.Status != "ok" {
		return fmt.Errorf(`expected 200 {"status": "ok"}, got %d %s`, status, body)
	}
	return nil
}

func (w *world) nodeInfo(spec string) error {
	info, err := w.info()
	if err != nil {
		return err
	}
	switch {
	case info.Name != w.node.Name.String():
		return fmt.Errorf("expected name %s, got %q", w.node.Name, info.Name)
	case info.Addr != w.node.QUIC().String():
		return fmt.Errorf("expected addr %s, got %q", w.node.QUIC(), info.Addr)
	case info.Implementation == "" || info.Version == "":
		return fmt.Errorf("expected implementation and version, got %q and %q", info.Implementation, info.Version)
	case info.SpecVersion != spec:
		return fmt.Errorf("expected spec_version %q, got %q", spec, info.SpecVersion)
	}
	return nil
}

func (w *world) stablesetAlone() error {
	var s struct {
		ID      string `json:"id"`
		Members []struct {
			Name, Addr string
			Ordinal    *uint64
		} `json:"members"`
		Elders  []string `json:"elders"`
		Joining []any    `json:"joining"`
		Leaving []any    `json:"leaving"`
	}
	ctx, cancel := stepContext()
	defer cancel()
	if err := w.admin(w.node.GetJSON(ctx, "/v1/stableset", &s)); err != nil {
		return err
	}
	me := w.node.Name.String()
	if len(s.Members) != 1 || s.Members[0].Name != me || s.Members[0].Addr != w.node.QUIC().String() || s.Members[0].Ordinal == nil || *s.Members[0].Ordinal != 0 {
		return fmt.Errorf("expected members [{%s %s ordinal 0}], got %+v", me, w.node.QUIC(), s.Members)
	}
	if len(s.Elders) != 1 || s.Elders[0] != me {
		return fmt.Errorf("expected elders [%s], got %v", me, s.Elders)
	}
	if s.Joining == nil || s.Leaving == nil || len(s.Joining)+len(s.Leaving) != 0 {
		return fmt.Errorf("expected empty joining and leaving lists, got %v and %v", s.Joining, s.Leaving)
	}
	return nil
}

func (w *world) counters() (harness.Counters, error) {
	ctx, cancel := stepContext()
	defer cancel()
	c, err := w.node.Counters(ctx)
	return c, w.admin(err)
}

func (w *world) countersShowPing(pings int, name string, pongs int) error {
	return await(func() error {
		c, err := w.counters()
		if err != nil {
			return err
		}
		pc := c.Peers[w.peer(name).id.Name().String()]
		if pc.Received["PING"] != int64(pings) || pc.Sent["PONG"] != int64(pongs) {
			return fmt.Errorf("expected peer %s: received PING %d, sent PONG %d; got %d and %d", name, pings, pongs, pc.Received["PING"], pc.Sent["PONG"])
		}
		if c.Received["PING"] < int64(pings) || c.Sent["PONG"] < int64(pongs) {
			return fmt.Errorf("expected totals to include the peer's frames, got received %v sent %v", c.Received, c.Sent)
		}
		return nil
	})
}

func (w *world) countersListEveryType() error {
	c, err := w.counters()
	if err != nil {
		return err
	}
	for _, t := range wire.Types {
		if _, ok := c.Sent[t.String()]; !ok {
			return fmt.Errorf("expected %s in sent, got %v", t, c.Sent)
		}
		if _, ok := c.Received[t.String()]; !ok {
			return fmt.Errorf("expected %s in received, got %v", t, c.Received)
		}
	}
	return nil
}

func (w *world) peerCounters(name string) error {
	c, err := w.counters()
	if err != nil {
		return err
	}
	id := w.peer(name).id.Name().String()
	var pc harness.PeerCounts
	ctx, cancel := stepContext()
	defer cancel()
	if err := w.admin(w.node.GetJSON(ctx, "/v1/counters?peer="+id, &pc)); err != nil {
		return err
	}
	want := c.Peers[id]
	for _, t := range wire.Types {
		if pc.Sent[t.String()] != want.Sent[t.String()] || pc.Received[t.String()] != want.Received[t.String()] {
			return fmt.Errorf("expected ?peer= to match peers[%s] = %+v, got %+v", id, want, pc)
		}
	}
	return nil
}

// adminState is what ADM-6 keeps unchanged: identity, membership and counters.
func (w *world) adminState() (string, error) {
	ctx, cancel := stepContext()
	defer cancel()
	var parts []string
	for _, path := range []string{"/v1/node", "/v1/stableset", "/v1/counters"} {
		status, body, err := w.node.Do(ctx, "GET", path, "")
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %d %s", path, status, body))
	}
	return strings.Join(parts, "\n"), nil
}

func (w *world) sendAdmin(method, path string) error {
	var err error
	if w.stateBefore, err = w.adminState(); err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	w.status, w.body, err = w.node.Do(ctx, method, path, `{"probe": true}`)
	return err
}

func (w *world) answerIs(status int, code string) error {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if err := json.Unmarshal(w.body, &e); err != nil {
		return fmt.Errorf("expected a JSON error body, got %d %q", w.status, w.body)
	}
	if w.status != status || e.Code != code || e.Error == "" {
		return fmt.Errorf("expected %d with code %q and a message, got %d %s", status, code, w.status, w.body)
	}
	return nil
}

func (w *world) stateUnchanged() error {
	after, err := w.adminState()
	if err != nil {
		return err
	}
	if after != w.stateBefore {
		return fmt.Errorf("expected no change, but the admin API now shows:\n%s\nwhere before it showed:\n%s", after, w.stateBefore)
	}
	return nil
}

// --- cleanup -------------------------------------------------------------------------------

func (w *world) close() {
	for _, p := range w.peers {
		for _, c := range p.dialed {
			_ = c.Close(wire.CodeNoError)
		}
		if p.listener != nil {
			_ = p.listener.Close()
		}
	}
	if w.cluster != nil {
		_ = w.cluster.Close()
	}
}

// logs lists the scenario's node logs relative to the run directory.
func (w *world) logs() []string {
	if w.cluster == nil {
		return nil
	}
	var out []string
	for _, n := range w.cluster.Nodes() {
		if rel, err := filepath.Rel(w.run.res.Dir, n.LogPath); err == nil {
			out = append(out, rel)
		}
	}
	return out
}
