package peer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/wire"
)

// Listener accepts connections that nodes dial to the peer, for example to a peer given to a
// node as a bootstrap peer. It requires a client certificate with a valid ed25519 self-signature
// (ID-6) and allows each dialer exactly one bidirectional stream (TRN-2).
type Listener struct {
	id   *Identity
	opts options
	udp  *net.UDPConn
	tr   *quic.Transport
	ln   *quic.Listener
	addr netip.AddrPort

	mu     sync.Mutex
	conns  []*Conn
	closed bool
}

// Listen opens a UDP socket on addr (port 0 picks one) and accepts QUIC connections on it with
// id. Of the options, WithALPN, WithCertificate, AnswerPings and WithTrace apply; AnswerPings and
// WithTrace apply to every accepted Conn.
func Listen(id *Identity, addr netip.AddrPort, opts ...Option) (*Listener, error) {
	o := buildOptions(opts)
	cert, err := id.certificate(o.cert)
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("peer: listen on %s: %w", addr, err)
	}
	l := &Listener{id: id, opts: o, udp: udp, tr: &quic.Transport{Conn: udp}, addr: udp.LocalAddr().(*net.UDPAddr).AddrPort()}
	l.ln, err = l.tr.Listen(id.tlsConfig(true, cert, o.alpn, wire.Name{}, true), quicConfig(true, o))
	if err != nil {
		_ = udp.Close()
		return nil, fmt.Errorf("peer: quic listen on %s: %w", addr, err)
	}
	return l, nil
}

// Addr is the UDP address the listener accepts on.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// Name is the name the listener proves.
func (l *Listener) Name() wire.Name { return l.id.Name() }

// Bootstrap is the listener in the NAME@IP:PORT form of a bootstrap entry (NC settings).
func (l *Listener) Bootstrap() string { return l.id.Name().String() + "@" + l.addr.String() }

// Accept waits for the next connection and for the stream its dialer opens, which arrives with
// the dialer's first frame (that frame is recorded by the returned Conn). A connection whose
// stream does not come before ctx ends is closed with NO_ERROR and Accept fails.
func (l *Listener) Accept(ctx context.Context) (*Conn, error) {
	qc, err := l.ln.Accept(ctx)
	if err != nil {
		return nil, fmt.Errorf("peer: accept: %w", err)
	}
	stream, err := qc.AcceptStream(ctx)
	if err != nil {
		_ = qc.CloseWithError(quic.ApplicationErrorCode(wire.CodeNoError), "no stream")
		return nil, fmt.Errorf("peer: accept stream from %s: %w", qc.RemoteAddr(), err)
	}
	o := l.opts
	if o.trace != nil {
		o.connLabel = o.trace.connLabel(o.traceLabel)
	}
	c, err := newConn(qc, stream, l.id, o, nil, true)
	if err != nil {
		return nil, err
	}
	return l.keep(c)
}

// keep records c to be closed with the listener, or closes it if the listener is closed already.
func (l *Listener) keep(c *Conn) (*Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close(wire.CodeShutdown)
		return nil, errors.New("peer: listener closed")
	}
	l.conns = append(l.conns, c)
	return c, nil
}

// Dial connects to the node called name at addr from the listener's own UDP socket, so that the
// node sees the connection come from the address the listener accepts on: the address a node
// records for a member that joined over it, and dials when it has no connection to that member.
// Of the options, those of Listen apply; the connection is closed with the listener.
func (l *Listener) Dial(ctx context.Context, name wire.Name, addr netip.AddrPort) (*Conn, error) {
	o := l.opts
	if o.trace != nil {
		o.connLabel = o.trace.connLabel(o.traceLabel)
	}
	c, err := dialOn(ctx, l.tr, l.id, name, addr, o, nil)
	if err != nil {
		return nil, err
	}
	return l.keep(c)
}

// Close closes every connection it accepted or dialed that is still open with SHUTDOWN, stops accepting
// and releases the socket.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := l.conns
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close(wire.CodeShutdown)
	}
	err := l.ln.Close()
	_ = l.tr.Close()
	_ = l.udp.Close()
	return err
}
