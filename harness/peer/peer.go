// Package peer is a scripted protocol endpoint for conformance tests: it connects to a node under
// test with its own identity, sends crafted frames — valid, malformed, oversized, truncated,
// replayed — and records every frame the node sends to it, with timestamps.
//
// The package is a second, independent implementation of conformance/SPEC.md §1-3: it shares
// only the frame codec (refnode/wire) with the reference node. A Conn never interprets the
// node's frames beyond decoding them (and, with AnswerPings, answering PINGs); what they mean is
// the test's business. When the node sends a frame the codec rejects, or ends its side of the
// stream, the Conn records that and closes the connection the way SPEC.md asks a node to
// (WIRE-2..6, WIRE-4), with the matching code. Closing the connection can discard what the Conn
// had written but QUIC had not sent yet, such as an answer to a PING that came just before the end.
//
// With WithTrace, a Conn also writes every frame, raw write and connection event to a Trace, a
// text record of the wire for the implementer of the node (trace.go).
package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/wire"
)

// Transport settings of SPEC.md TRN-6.
const (
	KeepAlivePeriod = 2 * time.Second
	IdleTimeout     = 10 * time.Second
)

// quicConfig is the QUIC configuration of TRN-2 and TRN-6. The dialer opens the one stream and
// allows the acceptor none; the acceptor allows the dialer exactly one bidirectional stream,
// ever (its credit is not given back when the stream ends).
func quicConfig(acceptor bool, o options) *quic.Config {
	c := &quic.Config{
		KeepAlivePeriod:       KeepAlivePeriod,
		MaxIdleTimeout:        IdleTimeout,
		MaxIncomingStreams:    -1,
		MaxIncomingUniStreams: -1,
	}
	if acceptor {
		c.MaxIncomingStreams = 1
		c.RequireStreamCreditRelease = true
	}
	if o.noKeepAlive {
		c.KeepAlivePeriod = 0
	}
	return c
}

// Option changes how Dial or Listen sets up a connection.
type Option func(*options)

type options struct {
	fromIP      netip.Addr
	anyName     bool
	alpn        []string
	cert        CertKind
	answerPings bool
	stableset   func() wire.StablesetID // the stableset field of PONG answers; nil: the peer alone
	noKeepAlive bool
	trace       *Trace // nil: record nothing
	traceLabel  string // the peer's label in the trace
	connLabel   string // this connection's label, set once per connection
}

func buildOptions(opts []Option) options {
	o := options{alpn: []string{wire.ALPN}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// FromIP makes Dial send from this local IP (port chosen by the system) instead of the loopback
// address of the node's family, so that network faults can target the peer's address.
func FromIP(ip netip.Addr) Option { return func(o *options) { o.fromIP = ip } }

// AcceptAnyName makes Dial accept whatever name the node proves (it must still present a valid
// ed25519 self-signed certificate). RemoteName then tells which name that was.
func AcceptAnyName() Option { return func(o *options) { o.anyName = true } }

// WithALPN offers these ALPN protocols instead of "stableset/0" (ID-7 tests).
func WithALPN(protos ...string) Option {
	return func(o *options) { o.alpn = append([]string(nil), protos...) }
}

// WithCertificate presents a certificate of this kind instead of a valid one (ID-4, ID-6 tests).
func WithCertificate(kind CertKind) Option { return func(o *options) { o.cert = kind } }

// AnswerPings makes the Conn answer every PING the node sends with a PONG carrying the PING's id
// and body (MSG-1), from its reader, right after recording the PING.
func AnswerPings() Option { return func(o *options) { o.answerPings = true } }

// AnswerPingsAs is AnswerPings with the stableset field of each PONG taken from id at the time
// of the answer, for a peer that plays a member of the node's stableset: a member whose frames
// carried another id than the node's would draw anti-entropy STABLESETs (SPEC.md ST-8).
func AnswerPingsAs(id func() wire.StablesetID) Option {
	return func(o *options) { o.answerPings, o.stableset = true, id }
}

// WithoutKeepAlive makes the peer send no QUIC keep-alives, so that any packet arriving while
// both sides are silent is the node's own keep-alive (TRN-6).
func WithoutKeepAlive() Option { return func(o *options) { o.noKeepAlive = true } }

// Frame is one frame the node sent, as the peer decoded it.
type Frame struct {
	At     time.Time // when the whole frame had been read
	Header wire.Header
	Body   []byte // shared with the recorder: do not modify
}

// String describes the frame in one line, for test logs.
func (f Frame) String() string {
	return fmt.Sprintf("%v id=%d body=%d bytes at %s", f.Header.Type, f.Header.ID, len(f.Body), f.At.Format("15:04:05.000000"))
}

// BadFrameError records that the node sent a frame the codec rejects. The peer closed the
// connection with Err.Code after it.
type BadFrameError struct {
	At  time.Time
	Err *wire.Error
}

func (e *BadFrameError) Error() string { return "peer: node sent a bad frame: " + e.Err.Error() }
func (e *BadFrameError) Unwrap() error { return e.Err }

// CloseInfo says how a connection ended.
type CloseInfo struct {
	At time.Time
	// Remote is true when the node closed the connection (its CONNECTION_CLOSE arrived); false
	// when this side closed it, or it ended without a close (idle timeout, stateless reset).
	Remote bool
	// Application is true for a close with an application error code (SPEC.md §5), given in
	// Code. Otherwise TransportCode holds the QUIC transport error code, if there was one; a TLS
	// alert A appears as CRYPTO_ERROR 0x100+A (0x12a bad_certificate, 0x178 no_application_protocol).
	Application   bool
	Code          wire.Code
	TransportCode quic.TransportErrorCode
	// Reason is the reason phrase of the CONNECTION_CLOSE.
	Reason string
	// IdleTimeout is true when the connection ended because nothing arrived for the idle timeout.
	IdleTimeout bool
	// Err is the error quic-go reported for the end of the connection.
	Err error
}

// String describes how the connection ended, for test logs.
func (ci *CloseInfo) String() string {
	who := "local"
	if ci.Remote {
		who = "remote"
	}
	switch {
	case ci.Application:
		return fmt.Sprintf("%s close %v (0x%02x) %q", who, ci.Code, uint64(ci.Code), ci.Reason)
	case ci.IdleTimeout:
		return "idle timeout"
	case ci.TransportCode.IsCryptoError(): // a TLS alert, whose name the code alone does not say
		return fmt.Sprintf("%s transport close %v (%s) %q", who, ci.TransportCode, ci.TransportCode.Message(), ci.Reason)
	case ci.TransportCode != 0:
		return fmt.Sprintf("%s transport close %v %q", who, ci.TransportCode, ci.Reason)
	}
	return fmt.Sprintf("closed: %v", ci.Err)
}

func closeInfoOf(err error, at time.Time) *CloseInfo {
	ci := &CloseInfo{At: at, Err: err}
	var (
		ae *quic.ApplicationError
		te *quic.TransportError
		it *quic.IdleTimeoutError
	)
	switch {
	case errors.As(err, &ae):
		ci.Remote, ci.Application, ci.Code, ci.Reason = ae.Remote, true, wire.Code(ae.ErrorCode), ae.ErrorMessage
	case errors.As(err, &te):
		ci.Remote, ci.TransportCode, ci.Reason = te.Remote, te.ErrorCode, te.ErrorMessage
	case errors.As(err, &it):
		ci.IdleTimeout = true
	}
	return ci
}

// Conn is one connection between the peer and a node, with its one stream (TRN-2). Its reader
// records every frame the node sends. All methods are safe for concurrent use.
type Conn struct {
	qc          *quic.Conn
	stream      *quic.Stream
	self        *Identity
	remote      wire.Name
	answerPings bool
	muted       atomic.Bool             // PINGs go unanswered: the peer plays a member gone silent
	stableset   func() wire.StablesetID // nil: the peer alone
	release     func()                  // frees what Dial set up for this connection alone
	trace       *Trace                  // nil: no trace, and nothing is formatted for one
	label       string                  // the connection's label in the trace
	nextID      atomic.Uint64

	wmu  sync.Mutex
	wbuf []byte

	mu      sync.Mutex
	frames  []Frame
	sent    map[wire.Type]int
	recv    map[wire.Type]int
	readErr error         // why the reader stopped; nil while it runs
	info    *CloseInfo    // set when the connection has ended
	changed chan struct{} // closed and replaced whenever something above changes

	readerDone chan struct{}
	closed     chan struct{} // closed once info is set and the reader has stopped
	closeOnce  sync.Once
}

func newConn(qc *quic.Conn, stream *quic.Stream, self *Identity, o options, release func(), accepted bool) (*Conn, error) {
	remote, err := nameOf(qc.ConnectionState().TLS)
	if err != nil { // the handshake checked this already
		_ = qc.CloseWithError(quic.ApplicationErrorCode(wire.CodeInternal), "no usable name")
		return nil, err
	}
	c := &Conn{
		qc: qc, stream: stream, self: self, remote: remote, answerPings: o.answerPings, stableset: o.stableset, release: release,
		trace: o.trace, label: o.connLabel,
		sent: map[wire.Type]int{}, recv: map[wire.Type]int{},
		changed:    make(chan struct{}),
		readerDone: make(chan struct{}),
		closed:     make(chan struct{}),
	}
	if c.trace != nil {
		c.traceConnected(accepted, o) // before the reader can record a frame
	}
	go c.watch()
	go c.readLoop()
	return c, nil
}

// Dial connects to the node called name at addr over a UDP socket of its own, proving id in a
// mutual TLS handshake, and opens the connection's one stream. A node that proves another name
// fails the handshake with an error that wraps *NameMismatchError (ID-5). Other handshake
// failures wrap the *quic.TransportError quic-go reports.
//
// The stream reaches the node with the first bytes sent on it. In TLS 1.3 the dialer finishes its
// handshake before the node has checked the peer's certificate, so a node that rejects it (ID-6)
// shows as a close with a CRYPTO_ERROR after Dial has returned (see WaitClosed), not as an error.
func Dial(ctx context.Context, id *Identity, name wire.Name, addr netip.AddrPort, opts ...Option) (*Conn, error) {
	o := buildOptions(opts)
	if o.trace != nil {
		o.connLabel = o.trace.connLabel(o.traceLabel)
	}
	from := o.fromIP
	if !from.IsValid() {
		from = netip.MustParseAddr("127.0.0.1")
		if addr.Addr().Is6() && !addr.Addr().Is4In6() {
			from = netip.IPv6Loopback()
		}
	}
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
	if err != nil {
		return nil, fmt.Errorf("peer: open UDP socket on %s: %w", from, err)
	}
	tr := &quic.Transport{Conn: udp}
	release := func() {
		_ = tr.Close()
		_ = udp.Close()
	}
	c, err := dialOn(ctx, tr, id, name, addr, o, release)
	if err != nil {
		release()
	}
	return c, err
}

// dialOn dials from tr, opens the connection's stream and starts its reader; release, if not nil,
// frees tr when the connection closes. A failure is traced; the caller frees tr.
func dialOn(ctx context.Context, tr *quic.Transport, id *Identity, name wire.Name, addr netip.AddrPort, o options, release func()) (*Conn, error) {
	failed := func(err error) (*Conn, error) {
		if o.trace != nil {
			traceDialFailed(o, err)
		}
		return nil, err
	}
	cert, err := id.certificate(o.cert)
	if err != nil {
		return nil, err
	}
	qc, err := tr.Dial(ctx, net.UDPAddrFromAddrPort(addr), id.tlsConfig(false, cert, o.alpn, name, o.anyName), quicConfig(false, o))
	if err != nil {
		return failed(fmt.Errorf("peer: dial %s@%s: %w", name, addr, err))
	}
	stream, err := qc.OpenStream()
	if err != nil {
		_ = qc.CloseWithError(quic.ApplicationErrorCode(wire.CodeInternal), "open stream")
		return failed(fmt.Errorf("peer: open stream to %s: %w", addr, err))
	}
	return newConn(qc, stream, id, o, release, false)
}

// RemoteName is the name the node proved in the handshake.
func (c *Conn) RemoteName() wire.Name { return c.remote }

// LocalAddr is the peer's UDP address on this connection.
func (c *Conn) LocalAddr() netip.AddrPort { return addrPort(c.qc.LocalAddr()) }

// RemoteAddr is the node's UDP address on this connection.
func (c *Conn) RemoteAddr() netip.AddrPort { return addrPort(c.qc.RemoteAddr()) }

func addrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	return netip.AddrPort{}
}

// watch records how the connection ended. The reader stops once the connection has ended (its
// stream fails), so closed means both: the CloseInfo and Err are final.
func (c *Conn) watch() {
	ctx := c.qc.Context()
	<-ctx.Done()
	info := closeInfoOf(context.Cause(ctx), time.Now())
	if c.trace != nil {
		c.traceClosed(info)
	}
	c.mu.Lock()
	c.info = info
	c.notifyLocked()
	c.mu.Unlock()
	<-c.readerDone
	close(c.closed)
}

// notifyLocked wakes everyone waiting for a change. c.mu must be held.
func (c *Conn) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Conn) readLoop() {
	defer close(c.readerDone)
	fr := wire.NewFrameReader(c.stream)
	for {
		h, body, err := fr.Next()
		now := time.Now()
		if err != nil {
			c.readFailed(err, now)
			return
		}
		f := Frame{At: now, Header: h, Body: bytes.Clone(body)}
		if c.trace != nil { // before the answer to a PING, which it causes
			c.traceFrame(EventReceived, DirFromNode, now, h, f.Body)
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.recv[h.Type]++
		c.notifyLocked()
		c.mu.Unlock()
		if c.answerPings && !c.muted.Load() && h.Type == wire.TypePing {
			id := c.self.StablesetID()
			if c.stableset != nil {
				id = c.stableset()
			}
			_ = c.Send(wire.TypePong, h.ID, id, f.Body)
		}
	}
}

// readFailed records why the reader stopped. A bad frame or a clean end of the node's stream
// closes the connection the way SPEC.md asks a node to (WIRE-2..6, WIRE-4).
func (c *Conn) readFailed(err error, at time.Time) {
	var werr *wire.Error
	switch {
	case errors.As(err, &werr):
		err = &BadFrameError{At: at, Err: werr}
	case errors.Is(err, io.EOF):
	default:
		// The connection or the stream ended; watch records how.
	}
	if c.trace != nil { // before the close it causes
		c.traceReadEnd(err, at)
	}
	c.mu.Lock()
	c.readErr = err
	c.notifyLocked()
	c.mu.Unlock()
	switch {
	case werr != nil:
		_ = c.qc.CloseWithError(quic.ApplicationErrorCode(werr.Code), "peer: "+werr.Reason)
	case err == io.EOF:
		_ = c.qc.CloseWithError(quic.ApplicationErrorCode(wire.CodeNoError), "peer: stream ended")
	}
}

// Send writes one well-formed frame (WIRE-1) with this header and body. A body too large for a
// frame fails with wire.ErrFrameTooLarge; write such frames with SendRaw.
func (c *Conn) Send(typ wire.Type, id uint64, stableset wire.StablesetID, body []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	h := wire.Header{Type: typ, ID: id, Stableset: stableset}
	var err error
	c.wbuf, err = wire.AppendFrame(c.wbuf[:0], h, body)
	if err != nil {
		return err
	}
	var at time.Time
	if c.trace != nil {
		at = time.Now() // when the write began: the node may answer before Write returns
	}
	if _, err := c.stream.Write(c.wbuf); err != nil {
		if c.trace != nil {
			c.traceEvent(EventWriteFailed, DirToNode, at, len(c.wbuf), fmt.Sprintf("%v id=%d: %v", typ, id, err))
		}
		return fmt.Errorf("peer: send %v: %w", typ, err)
	}
	if c.trace != nil {
		c.traceFrame(EventSent, DirToNode, at, h, body)
	}
	c.mu.Lock()
	c.sent[typ]++
	c.mu.Unlock()
	return nil
}

// SendRaw writes b to the stream as it is: part of a frame, several frames, anything. What it
// writes is not counted in Counts.
func (c *Conn) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var at time.Time
	if c.trace != nil {
		at = time.Now()
	}
	if _, err := c.stream.Write(b); err != nil {
		if c.trace != nil {
			c.traceEvent(EventWriteFailed, DirToNode, at, len(b), fmt.Sprintf("raw: %v", err))
		}
		return fmt.Errorf("peer: send raw: %w", err)
	}
	if c.trace != nil {
		c.traceEvent(EventRawWrite, DirToNode, at, len(b), summarizeRaw(b))
	}
	return nil
}

// CloseWrite ends the peer's side of the stream (FIN). After SendRaw of part of a frame it makes
// a truncated frame (WIRE-4). The node's side stays open and is still recorded.
func (c *Conn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	err := c.stream.Close()
	if err == nil && c.trace != nil {
		c.traceEvent(EventStreamEnd, DirToNode, time.Now(), 0, "the peer ended its stream (FIN)")
	}
	return err
}

// ResetStream resets the peer's side of the stream (RESET_STREAM with code), abandoning whatever
// it wrote that the node has not read, at a frame boundary or inside a frame after SendRaw of part
// of one. TRN-2 asks the node to close the connection with PROTOCOL_VIOLATION. The node's side of
// the stream stays open and is still recorded; writes fail from now on.
func (c *Conn) ResetStream(code wire.Code) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.stream.CancelWrite(quic.StreamErrorCode(code))
	if c.trace != nil {
		c.traceEvent(EventStreamReset, DirToNode, time.Now(), 0,
			fmt.Sprintf("the peer reset its stream (RESET_STREAM), code %v (0x%02x)", code, uint64(code)))
	}
}

// StopSending asks the node to stop sending on the stream (STOP_SENDING with code) and stops the
// peer's reading of it: frames the node sends from now on are not recorded, and Err reports the
// stream's local cancellation. TRN-2 asks the node to close the connection with
// PROTOCOL_VIOLATION, at the latest when it next writes. The peer's side of the stream stays
// open, so Send and SendRaw still reach the node.
func (c *Conn) StopSending(code wire.Code) {
	c.stream.CancelRead(quic.StreamErrorCode(code))
	if c.trace != nil {
		c.traceEvent(EventStreamReset, DirToNode, time.Now(), 0,
			fmt.Sprintf("the peer stopped the node's side of the stream (STOP_SENDING), code %v (0x%02x)", code, uint64(code)))
	}
}

// StopAnsweringPings makes a Conn made with AnswerPings or AnswerPingsAs leave every PING from
// now on unanswered, as a member that has gone silent would (SPEC.md ST-7, SEC-8).
func (c *Conn) StopAnsweringPings() { c.muted.Store(true) }

// StartAnsweringPings undoes StopAnsweringPings: a member that falls silent and speaks again.
func (c *Conn) StartAnsweringPings() { c.muted.Store(false) }

// NextID returns a message id this Conn has not handed out before (Request and Ping use them).
func (c *Conn) NextID() uint64 { return c.nextID.Add(1) }

// Request sends a request of type typ with a fresh id and the peer's stableset id, and waits for
// the first response frame (PONG or WITNESS) the node sends with that id after it. It returns that
// frame whatever its type; checking that the type answers the request is the caller's job.
func (c *Conn) Request(ctx context.Context, typ wire.Type, body []byte) (wire.Header, []byte, error) {
	f, err := c.request(ctx, typ, body)
	return f.Header, f.Body, err
}

func (c *Conn) request(ctx context.Context, typ wire.Type, body []byte) (Frame, error) {
	id := c.NextID()
	c.mu.Lock()
	from := len(c.frames)
	c.mu.Unlock()
	if err := c.Send(typ, id, c.self.StablesetID(), body); err != nil {
		return Frame{}, err
	}
	f, err := c.waitFrame(ctx, from, func(f Frame) bool { return f.Header.ID == id && f.Header.Type.IsResponse() })
	if err != nil {
		return Frame{}, fmt.Errorf("peer: %v id=%d: %w", typ, id, err)
	}
	return f, nil
}

// Ping sends a PING with payload and waits for its PONG (MSG-1). It fails when the answer is not
// a PONG or does not carry exactly the payload. rtt runs from just before the PING is written to
// the moment the answer had been read.
func (c *Conn) Ping(ctx context.Context, payload []byte) (rtt time.Duration, err error) {
	start := time.Now()
	f, err := c.request(ctx, wire.TypePing, payload)
	if err != nil {
		return 0, err
	}
	rtt = f.At.Sub(start)
	if f.Header.Type != wire.TypePong {
		return rtt, fmt.Errorf("peer: PING id=%d answered by %v", f.Header.ID, f.Header.Type)
	}
	if !bytes.Equal(f.Body, payload) {
		return rtt, fmt.Errorf("peer: PONG id=%d carries %d bytes that differ from the PING's %d", f.Header.ID, len(f.Body), len(payload))
	}
	return rtt, nil
}

// Frames returns every frame the node has sent on this connection so far, in order.
func (c *Conn) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// WaitFrame returns the first frame the node sent on this connection, since it began, for which
// match is true, waiting for it if need be. It fails when ctx ends or when no more frames can
// come (the reader stopped; the error wraps why, see Err).
func (c *Conn) WaitFrame(ctx context.Context, match func(Frame) bool) (Frame, error) {
	return c.waitFrame(ctx, 0, match)
}

func (c *Conn) waitFrame(ctx context.Context, from int, match func(Frame) bool) (Frame, error) {
	for {
		c.mu.Lock()
		for ; from < len(c.frames); from++ {
			if f := c.frames[from]; match(f) {
				c.mu.Unlock()
				return f, nil
			}
		}
		readErr, changed := c.readErr, c.changed
		c.mu.Unlock()
		if readErr != nil {
			return Frame{}, fmt.Errorf("no matching frame before reading stopped: %w", readErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Frame{}, fmt.Errorf("no matching frame: %w", ctx.Err())
		}
	}
}

// Counts returns how many frames of each type the peer sent with Send, Request, Ping and answers
// to PINGs, and how many the node sent and the peer decoded whole.
func (c *Conn) Counts() (sent, received map[wire.Type]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent, received = make(map[wire.Type]int, len(c.sent)), make(map[wire.Type]int, len(c.recv))
	for t, n := range c.sent {
		sent[t] = n
	}
	for t, n := range c.recv {
		received[t] = n
	}
	return sent, received
}

// Err says why the peer stopped reading frames: nil while it reads, a *BadFrameError when the node
// sent a frame the codec rejects, io.EOF when the node ended its stream between frames, or the
// error that ended the stream or the connection (for example a *quic.ApplicationError).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// Closed reports how the connection ended, or nil while it is open.
func (c *Conn) Closed() *CloseInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

// WaitClosed waits until the connection has ended and the reader has stopped, and says how the
// connection ended. Err is final once it returns.
func (c *Conn) WaitClosed(ctx context.Context) (*CloseInfo, error) {
	select {
	case <-c.closed:
		return c.Closed(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("peer: connection to %s still open: %w", c.remote, ctx.Err())
	}
}

// Close closes the connection with code (a no-op when it has ended already), waits for the
// Conn's goroutines and, for a dialed Conn, releases its UDP socket. It is safe to call twice.
func (c *Conn) Close(code wire.Code) error {
	c.closeOnce.Do(func() {
		_ = c.qc.CloseWithError(quic.ApplicationErrorCode(code), "closed by the scripted peer")
		<-c.closed
		<-c.readerDone
		if c.release != nil {
			c.release()
		}
	})
	return nil
}

// State is the connection's QUIC and TLS state: the certificates the node showed, the ALPN and
// TLS version agreed on, the QUIC version (ID-4, ID-7, TRN-1).
func (c *Conn) State() quic.ConnectionState { return c.qc.ConnectionState() }

// TryOpenStream tries to open one more bidirectional stream without waiting for the node to
// allow it. A node that keeps TRN-2 allows none beyond the first, so this fails at once with
// quic-go's *StreamLimitReachedError. A stream that does open is reset straight away.
func (c *Conn) TryOpenStream() error {
	s, err := c.qc.OpenStream()
	if err != nil {
		return err
	}
	s.CancelWrite(quic.StreamErrorCode(wire.CodeProtocolViolation))
	s.CancelRead(quic.StreamErrorCode(wire.CodeProtocolViolation))
	return nil
}

// PacketsReceived is how many QUIC packets the node has sent on this connection that arrived,
// keep-alives and acknowledgements included.
func (c *Conn) PacketsReceived() uint64 { return c.qc.ConnectionStats().PacketsReceived }

// Vanish makes the listener's peer disappear as a killed process does (kill -9): its UDP socket
// is closed first, so that no CONNECTION_CLOSE or any other packet leaves it, and then every
// connection it accepted is dropped without a word. The node at the other end learns of nothing;
// only its idle timeout or TRN-3's probe tells it the connections are dead. A new listener or
// Dial with the same identity is then a new instance of the same peer.
func (l *Listener) Vanish() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	err := l.udp.Close()
	_ = l.ln.Close()
	_ = l.tr.Close()
	return err
}
