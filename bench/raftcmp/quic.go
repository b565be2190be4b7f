package raftcmp

// raft over QUIC. sskit's refnode sends every frame over QUIC (quic-go), one bidirectional
// stream per connection, while raft.NewTCPTransport runs over TCP. To tell how much of the
// difference between the two is the transport, -raft.transport=quic runs the same raft nodes with
// a raft.NetworkTransport whose stream layer is QUIC: only the stream layer differs from TCP.
//
// raft opens a new connection (net.Conn) whenever its pool to a peer has none free: for every
// RPC of an election round still waiting for a reply, for instance. A QUIC handshake costs far
// more than a loopback TCP connect, and with one QUIC connection per net.Conn a 16-voter cluster
// fell into an election storm at start-up: each round (50-100 ms) dialed more connections than
// the 2 cores could handshake, RPCs and dials timed out, and no leader was elected within 10 s
// in about half the attempts. So each node dials at most one QUIC connection per peer and a
// net.Conn is one bidirectional stream on it. A message then travels as it would on a
// connection of its own (a STREAM frame in a 1-RTT packet); only the handshakes are shared.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/quic-go/quic-go"
)

// TransportKind names the stream layer under raft's NetworkTransport.
type TransportKind string

// The transports -raft.transport chooses from.
const (
	// TransportTCP is raft.NewTCPTransportWithConfig on loopback.
	TransportTCP TransportKind = "tcp"
	// TransportQUIC is a QUIC stream layer (quicStreamLayer) on loopback UDP.
	TransportQUIC TransportKind = "quic"
)

// ParseTransportKind parses "tcp" or "quic".
func ParseTransportKind(s string) (TransportKind, error) {
	switch k := TransportKind(s); k {
	case TransportTCP, TransportQUIC:
		return k, nil
	}
	return "", fmt.Errorf("raftcmp: unknown transport %q (want %q or %q)", s, TransportTCP, TransportQUIC)
}

// newQUICTransport is newTransport for TransportQUIC: a NetworkTransport with the same
// configuration as the TCP one over a QUIC stream layer on 127.0.0.1, a free UDP port.
func newQUICTransport() (*raft.NetworkTransport, error) {
	sl, err := listenQUIC("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg := transportConfig()
	cfg.Stream = sl
	return raft.NewNetworkTransportWithConfig(cfg), nil
}

// QUIC settings, the same as refnode's defaults (refnode/transport.Config).
const (
	quicALPN             = "raftcmp"
	quicKeepAlive        = 2 * time.Second  // refnode's KeepAlive
	quicIdleTimeout      = 10 * time.Second // refnode's IdleTimeout: idle pooled connections live on
	quicHandshakeTimeout = 2 * time.Second  // refnode's HandshakeTimeout
	// quicMaxStreams bounds the streams a peer may have open on one connection: raft keeps up to
	// MaxPool (3) idle ones per peer, plus one per RPC in flight.
	quicMaxStreams = 1000
)

// quicKeyExchanges are refnode's TLS key exchanges (refnode/identity): X25519, then P-256, not
// Go's default hybrid X25519MLKEM768, which makes a handshake about 0.8 ms slower.
var quicKeyExchanges = []tls.CurveID{tls.X25519, tls.CurveP256}

// quicStats counts the QUIC connections this process dialed and the streams (net.Conns) it
// opened and accepted, so a test can tell that raft's traffic really went over QUIC.
var quicStats struct {
	conns, streams, accepts atomic.Int64
}

// quicCert is this process's self-signed TLS certificate, made once.
var quicCert = sync.OnceValues(func() (tls.Certificate, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"raftcmp"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
})

// quicStreamLayer is a raft.StreamLayer over QUIC: a net.Conn is one bidirectional stream, on
// the one QUIC connection this node has dialed to that peer (dialed at the first Dial, again
// once it has ended). The dialer opens the stream; raft's dialing side writes first, which is
// what makes the stream known to the acceptor. Dialing and listening share one UDP socket (one
// quic.Transport), as refnode's endpoint does.
//
// Close closes every connection it dialed or accepted (sending CONNECTION_CLOSE, so the peer's
// reads end at once), the listener, the quic.Transport and the UDP socket, and waits for its
// goroutines. raft's NetworkTransport.Close closes the stream layer, so closing the raft
// transport ends all of it.
type quicStreamLayer struct {
	udp      *net.UDPConn
	tr       *quic.Transport
	ln       *quic.Listener
	addr     net.Addr
	dialTLS  *tls.Config
	dialConf *quic.Config

	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	accepted chan net.Conn
	wg       sync.WaitGroup // the accept loop and the goroutines waiting for streams

	mu     sync.Mutex
	conns  map[*quic.Conn]struct{} // open connections, dialed or accepted
	peers  map[string]*quicPeer    // the connection dialed to each address
	closed bool
	once   sync.Once
}

// quicPeer is the connection a layer dials to one address, shared by all its net.Conns there.
type quicPeer struct {
	done chan struct{} // closed when the dial has finished; conn and err are set then
	conn *quic.Conn
	err  error
}

// usable reports whether p is being dialed or its connection is open.
func (p *quicPeer) usable() bool {
	select {
	case <-p.done:
		return p.err == nil && p.conn.Context().Err() == nil
	default:
		return true
	}
}

var _ raft.StreamLayer = (*quicStreamLayer)(nil)

// listenQUIC starts a QUIC stream layer listening on addr, a UDP address.
func listenQUIC(addr string) (*quicStreamLayer, error) {
	cert, err := quicCert()
	if err != nil {
		return nil, fmt.Errorf("raftcmp: quic certificate: %w", err)
	}
	laddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("raftcmp: quic listen address %q: %w", addr, err)
	}
	udp, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("raftcmp: quic listen: %w", err)
	}
	base := quic.Config{
		KeepAlivePeriod:       quicKeepAlive,
		MaxIdleTimeout:        quicIdleTimeout,
		HandshakeIdleTimeout:  quicHandshakeTimeout,
		MaxIncomingUniStreams: -1,
	}
	// Only the dialer opens streams: a dialed connection accepts none.
	dialConf := base
	dialConf.MaxIncomingStreams = -1
	listenConf := base
	listenConf.MaxIncomingStreams = quicMaxStreams
	s := &quicStreamLayer{
		udp:  udp,
		tr:   &quic.Transport{Conn: udp},
		addr: udp.LocalAddr(),
		dialTLS: &tls.Config{
			InsecureSkipVerify: true, // a benchmark on loopback: any peer's certificate will do
			NextProtos:         []string{quicALPN},
			MinVersion:         tls.VersionTLS13,
			CurvePreferences:   quicKeyExchanges,
		},
		dialConf: &dialConf,
		accepted: make(chan net.Conn),
		conns:    map[*quic.Conn]struct{}{},
		peers:    map[string]*quicPeer{},
	}
	s.ln, err = s.tr.Listen(&tls.Config{
		Certificates:     []tls.Certificate{cert},
		NextProtos:       []string{quicALPN},
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: quicKeyExchanges,
	}, &listenConf)
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("raftcmp: quic listen: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// track registers conn as open until it ends; it returns false (and closes conn) once the layer
// is closed.
func (s *quicStreamLayer) track(conn *quic.Conn) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = conn.CloseWithError(0, "closed")
		return false
	}
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(conn.Context(), func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	})
	return true
}

func (s *quicStreamLayer) acceptLoop() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept(s.ctx)
		if err != nil {
			return // closed
		}
		if !s.track(conn) {
			return
		}
		s.wg.Add(1)
		go s.acceptStreams(conn)
	}
}

// acceptStreams hands every stream the peer opens on conn to Accept, until conn or the layer
// ends.
func (s *quicStreamLayer) acceptStreams(conn *quic.Conn) {
	defer s.wg.Done()
	for {
		str, err := conn.AcceptStream(s.ctx)
		if err != nil {
			return
		}
		c := &quicNetConn{str: str, conn: conn}
		select {
		case s.accepted <- c:
			quicStats.accepts.Add(1)
		case <-s.ctx.Done():
			_ = c.Close()
			return
		}
	}
}

// Accept implements net.Listener: it returns the next connection whose stream has opened.
func (s *quicStreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.accepted:
		return c, nil
	case <-s.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Addr implements net.Listener: the UDP address listened on.
func (s *quicStreamLayer) Addr() net.Addr { return s.addr }

// Dial implements raft.StreamLayer: a new stream on the connection to address, dialed first if
// there is none.
func (s *quicStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx := s.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		conn, err := s.peerConn(ctx, string(address))
		if err != nil {
			return nil, err
		}
		str, err := conn.OpenStreamSync(ctx)
		if err == nil {
			quicStats.streams.Add(1)
			return &quicNetConn{str: str, conn: conn}, nil
		}
		if conn.Context().Err() == nil || ctx.Err() != nil {
			return nil, err
		}
		// The connection ended meanwhile (the peer restarted, say): dial it again.
	}
}

// peerConn returns the open connection to addr, dialing it if there is none. Concurrent
// callers share one dial.
func (s *quicStreamLayer) peerConn(ctx context.Context, addr string) (*quic.Conn, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, net.ErrClosed
	}
	p, ok := s.peers[addr]
	if !ok || !p.usable() {
		p = &quicPeer{done: make(chan struct{})}
		s.peers[addr] = p
		s.mu.Unlock()
		p.conn, p.err = s.dialConn(ctx, addr)
		close(p.done)
		return p.conn, p.err
	}
	s.mu.Unlock()
	select {
	case <-p.done:
		return p.conn, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dialConn dials a new QUIC connection to addr.
func (s *quicStreamLayer) dialConn(ctx context.Context, addr string) (*quic.Conn, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := s.tr.Dial(ctx, raddr, s.dialTLS, s.dialConf)
	if err != nil {
		return nil, err
	}
	if !s.track(conn) {
		return nil, net.ErrClosed
	}
	quicStats.conns.Add(1)
	return conn, nil
}

// Close implements net.Listener. It closes every connection and the UDP socket, and waits until
// the layer's goroutines (and quic-go's for its connections) have ended.
func (s *quicStreamLayer) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*quic.Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		s.cancel()
		_ = s.ln.Close()
		// CloseWithError sends CONNECTION_CLOSE, so a peer blocked reading learns at once
		// (quic.Transport.Close would drop the connections silently); it returns when the
		// connection has ended.
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() { _ = c.CloseWithError(0, "closed") })
		}
		wg.Wait()
		err = s.tr.Close()
		if cerr := s.udp.Close(); err == nil {
			err = cerr
		}
		s.wg.Wait()
	})
	return err
}

// quicNetConn is one QUIC stream as a net.Conn.
type quicNetConn struct {
	str  *quic.Stream
	conn *quic.Conn
}

var _ net.Conn = (*quicNetConn)(nil)

func (c *quicNetConn) Read(b []byte) (int, error)  { return c.str.Read(b) }
func (c *quicNetConn) Write(b []byte) (int, error) { return c.str.Write(b) }

// Close closes the stream both ways: the peer reads io.EOF, and its writes fail. The connection
// stays open for the layer's other streams.
func (c *quicNetConn) Close() error {
	c.str.CancelRead(0)
	return c.str.Close()
}

func (c *quicNetConn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *quicNetConn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *quicNetConn) SetDeadline(t time.Time) error      { return c.str.SetDeadline(t) }
func (c *quicNetConn) SetReadDeadline(t time.Time) error  { return c.str.SetReadDeadline(t) }
func (c *quicNetConn) SetWriteDeadline(t time.Time) error { return c.str.SetWriteDeadline(t) }
