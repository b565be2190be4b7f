package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/wire"
)

// Peer is one connection to one named peer and its single stream.
type Peer struct {
	ep       *Endpoint
	name     wire.Name
	conn     *quic.Conn
	dialed   bool   // this node opened the connection
	seq      uint64 // order in which the node's connections were established (TRN-3)
	counters *peerCounters

	stream   *quic.Stream
	hasStrm  atomic.Bool
	ready    chan struct{} // closed once stream is set
	done     chan struct{} // closed when the connection ends
	failOnce sync.Once
	err      error // why the connection ended; read after done is closed
	endOnce  sync.Once

	wmu  sync.Mutex
	wbuf []byte

	nextID  atomic.Uint64
	pmu     sync.Mutex
	pending map[uint64]*waiter
	expired map[uint64]bool // ids of requests that timed out; only a mutant keeps them
}

func (e *Endpoint) newPeer(name wire.Name, conn *quic.Conn, dialed bool) *Peer {
	p := &Peer{
		ep: e, name: name, conn: conn, dialed: dialed, seq: established.Add(1),
		counters: e.counters.opened(name),
		ready:    make(chan struct{}),
		done:     make(chan struct{}),
		wbuf:     make([]byte, 0, 512),
		pending:  map[uint64]*waiter{},
	}
	go func() { // the connection can also end under us: idle timeout, the peer's close
		<-conn.Context().Done()
		p.fail(connError(context.Cause(conn.Context())))
		// Every end is counted here, whenever it comes: also a close that arrives before the
		// stream was accepted, or after the reader stopped at an orderly end (ADM-4).
		if !mutant.Is("peer-close-counted-in-reader") {
			p.countEnd()
		}
		// From here on the peer's counters may be forgotten once it has no other connection.
		p.ep.counters.ended(p.counters)
		if mutant.Is("unknown-close-ends-all") {
			var ae *quic.ApplicationError
			if errors.As(context.Cause(conn.Context()), &ae) && ae.Remote && wire.Code(ae.ErrorCode) > wire.CodeInternal {
				p.ep.cfg.Logger.Error("peer closed with an unknown code; closing the endpoint", "peer", p.name, "code", uint64(ae.ErrorCode))
				p.ep.Close()
			}
		}
	}()
	return p
}

// established numbers connections in the order their handshakes completed, so that of two
// connections that the same end dialed the later one is kept (TRN-3), in whatever order the
// node gets round to registering them.
var established atomic.Uint64

// probeWait is how long a connection that TRN-3's name tie-break would keep over a new one has
// to show that it is alive: a packet must arrive on it within this time of a PING the node sends
// on it. A live peer's QUIC stack acknowledges the PING within its max_ack_delay (25 ms by
// default) whether or not the node behind it answers it.
const probeWait = time.Second

// probePoll is how often probe looks at the connection's count of packets received.
const probePoll = 5 * time.Millisecond

// probe reports whether the connection is alive: whether any packet arrives on it within wait
// of the PING that probe sends on it (TRN-3). A connection left over from a previous instance of
// the peer, one killed without closing it, has nobody at the other end, and nothing arrives. A
// connection whose stream has not arrived yet cannot carry the PING; a packet within wait still
// counts. The PING is an ordinary request: its PONG, whenever it comes, is matched as any other.
func (p *Peer) probe(wait time.Duration) bool {
	before := p.conn.ConnectionStats().PacketsReceived
	if p.hasStrm.Load() {
		go func() { _, _ = p.Request(context.Background(), wire.TypePing, []byte("still there?"), nil) }()
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(probePoll)
	defer tick.Stop()
	for {
		if p.conn.ConnectionStats().PacketsReceived != before {
			return true
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return p.conn.ConnectionStats().PacketsReceived != before
		case <-p.done:
			return false
		}
	}
}

// Name is the peer's proven name.
func (p *Peer) Name() wire.Name { return p.name }

// ID tells this connection apart from every other the endpoint has had, to the same peer or not.
func (p *Peer) ID() uint64 { return p.seq }

// RemoteAddr is the peer's UDP address: its listening address, since a node dials from the
// socket it listens on.
func (p *Peer) RemoteAddr() netip.AddrPort {
	if a, ok := p.conn.RemoteAddr().(*net.UDPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// Done is closed when the connection has ended; Err then says why.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Err is why the connection ended, or nil while it is alive.
func (p *Peer) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

func (p *Peer) alive() bool { return p.Err() == nil }

func (p *Peer) replaced() bool {
	var ae *quic.ApplicationError
	return errors.Is(p.Err(), errDuplicateRun) || (errors.As(p.Err(), &ae) && wire.Code(ae.ErrorCode) == wire.CodeDuplicateConnection)
}

func (p *Peer) setStream(s *quic.Stream) {
	p.stream = s
	p.hasStrm.Store(true)
	close(p.ready)
	if !mutant.Is("reset-stream-ignored") {
		go p.watchStopSending()
	}
}

// watchStopSending closes the connection as soon as the peer stops the node's side of the stream
// (STOP_SENDING), which ends the connection's only stream (TRN-2), rather than when the node
// next writes. quic-go cancels the stream's context with the peer's *quic.StreamError then; our
// own end of the stream or of the connection cancels it with another cause.
func (p *Peer) watchStopSending() {
	select {
	case <-p.stream.Context().Done():
	case <-p.done:
		return
	}
	if se, ok := peerStreamError(context.Cause(p.stream.Context())); ok {
		p.streamEnded("stopped the node's side of the stream (STOP_SENDING)", se)
	}
}

// peerStreamError returns err as the peer's RESET_STREAM or STOP_SENDING, if it is one.
func peerStreamError(err error) (*quic.StreamError, bool) {
	var se *quic.StreamError
	if errors.As(err, &se) && se.Remote {
		return se, true
	}
	return nil, false
}

// streamEnded closes the connection of a peer that reset the stream or stopped the node's side
// of it: that ends the connection's only stream, which is never replaced (TRN-2).
func (p *Peer) streamEnded(what string, se *quic.StreamError) {
	p.ep.cfg.Logger.Warn("closing connection: the peer "+what, "peer", p.name, "stream_error_code", uint64(se.ErrorCode))
	p.close(wire.CodeProtocolViolation, "the peer "+what)
}

// fail ends the peer once: pending requests wake up with err. It reports whether this call did it.
func (p *Peer) fail(err error) (first bool) {
	p.failOnce.Do(func() {
		first = true
		p.err = err
		close(p.done)
		p.ep.unregister(p)
	})
	return first
}

// Close ends the connection with an application error code, as the node decides: a malefactor
// ban closes its connection with PROTOCOL_VIOLATION.
func (p *Peer) Close(code wire.Code, reason string) { p.close(code, reason) }

// close ends the connection with an application error code and records who closed it.
func (p *Peer) close(code wire.Code, reason string) {
	err := error(&quic.ApplicationError{ErrorCode: quic.ApplicationErrorCode(code), ErrorMessage: reason})
	if code == wire.CodeDuplicateConnection {
		err = errDuplicateRun
	}
	first := p.fail(err)
	if mutant.Is("peer-close-counted-in-reader") {
		if first {
			p.ep.counters.closedByUs(code)
		}
		_ = p.conn.CloseWithError(quic.ApplicationErrorCode(code), reason)
		return
	}
	if p.conn.Context().Err() == nil {
		// Our CONNECTION_CLOSE ends it: counted before it is sent, so that a peer that has read
		// it finds it counted. (A close of the peer's that crosses ours within this instant is
		// not counted as well: each connection counts once.)
		p.endOnce.Do(func() { p.ep.counters.closedByUs(code) })
	}
	_ = p.conn.CloseWithError(quic.ApplicationErrorCode(code), reason) // returns once the connection has ended
	p.countEnd()
}

// countEnd counts the connection's end, once it has ended, unless it is counted already (ADM-4):
// a close with an application error code goes to the close counter of the side that sent the
// CONNECTION_CLOSE; a transport error or an idle timeout counts in neither.
func (p *Peer) countEnd() {
	p.endOnce.Do(func() {
		var ae *quic.ApplicationError
		if !errors.As(context.Cause(p.conn.Context()), &ae) {
			return
		}
		if ae.Remote {
			p.ep.counters.closedByPeer(wire.Code(ae.ErrorCode))
		} else {
			p.ep.counters.closedByUs(wire.Code(ae.ErrorCode))
		}
	})
}

func connError(cause error) error {
	var ae *quic.ApplicationError
	if errors.As(cause, &ae) && !ae.Remote {
		return cause
	}
	if cause == nil {
		return ErrPeerClosed
	}
	return cause
}

// readLoop reads frames until the connection ends. A frame the codec rejects closes the
// connection with that error's code (WIRE-8), and so does a frame that is not whole within the
// frame timeout from its first byte (FRAME_TRUNCATED, WIRE-12); the node carries on with its
// other peers.
func (p *Peer) readLoop() {
	var src io.Reader = p.stream
	var clock *frameClock // times each frame from its first byte (WIRE-12)
	if !mutant.Is("stalled-frame-kept") {
		clock = newFrameClock(p.stream, p.ep.cfg.FrameTimeout, p.frameStalled)
		defer clock.end()
		src = clock
	}
	fr := wire.NewFrameReader(src)
	var pings uint64 // PINGs answered; only a mutant uses it
	for {
		h, body, err := fr.Next()
		if clock != nil && err == nil {
			clock.whole()
		}
		if err != nil {
			var werr *wire.Error
			switch {
			case errors.As(err, &werr):
				code := werr.Code
				if mutant.Is("malformed-as-protocol-violation") && code == wire.CodeMalformed {
					code = wire.CodeProtocolViolation
				}
				p.ep.cfg.Logger.Warn("closing connection: bad frame", "peer", p.name, "code", code.String(), "reason", werr.Reason)
				p.close(code, werr.Reason)
			case errors.Is(err, io.EOF):
				p.endOrderly()
			default:
				if se, ok := peerStreamError(err); ok && !mutant.Is("reset-stream-ignored") {
					// RESET_STREAM, inside a frame or between frames: not an end of stream (FIN),
					// so none of WIRE-4's codes (TRN-2).
					p.streamEnded("reset its stream (RESET_STREAM)", se)
					return
				}
				var ae *quic.ApplicationError
				if mutant.Is("peer-close-counted-in-reader") && errors.As(err, &ae) && ae.Remote {
					p.ep.counters.closedByPeer(wire.Code(ae.ErrorCode))
				}
				p.fail(err) // the connection ended; the watcher of newPeer counts how
			}
			return
		}
		p.ep.counters.countReceived(p.counters, h.Type)
		if p.ep.cfg.Observe != nil {
			p.ep.cfg.Observe(p, h)
		}
		switch {
		case h.Type.IsResponse():
			if err := p.deliver(h, body); err != nil {
				p.close(wire.CodeProtocolViolation, err.Error())
				return
			}
		case h.Type == wire.TypePing:
			id := h.ID
			if mutant.Is("pong-wrong-id") {
				pings++
				id = pings
			}
			if err := p.Respond(id, wire.TypePong, body); err != nil {
				return
			}
		default:
			p.ep.cfg.Handler(p, h, body)
		}
	}
}

// frameStalled closes the connection of a peer that started a frame and has not finished it
// within the frame timeout (WIRE-12): half a frame must not hold a connection for ever, as the
// node's own keep-alives would (TRN-6). It runs on the frame clock's goroutine; the reader, still
// waiting for the rest of the frame, then returns with the end of the connection.
func (p *Peer) frameStalled() {
	p.ep.cfg.Logger.Warn("closing connection: frame not whole in time", "peer", p.name,
		"code", wire.CodeFrameTruncated.String(), "timeout", p.ep.cfg.FrameTimeout)
	p.close(wire.CodeFrameTruncated, "frame not whole within the frame timeout")
}

// orderlyCloseGrace is how long a node waits, after answering a peer that ended its stream, for
// that peer to close the connection before closing it itself.
const orderlyCloseGrace = 2 * time.Second

// endOrderly handles a peer that ended its stream between frames (WIRE-4): every answer already
// written is flushed ahead of our own end of stream, and the peer, which ended first, closes the
// connection once it has read everything. Closing at once would discard answers not yet sent.
func (p *Peer) endOrderly() {
	p.wmu.Lock()
	_ = p.stream.Close()
	p.wmu.Unlock()
	select {
	case <-p.conn.Context().Done():
	case <-time.After(orderlyCloseGrace):
	}
	p.close(wire.CodeNoError, "stream ended")
}

// Send writes a one-way frame.
func (p *Peer) Send(ctx context.Context, typ wire.Type, body []byte) error {
	return p.write(ctx, typ, p.nextID.Add(1), body)
}

// Respond answers the request with message id id.
func (p *Peer) Respond(id uint64, typ wire.Type, body []byte) error {
	return p.write(context.Background(), typ, id, body)
}

// SendRaw writes bytes to the stream as they are, for tests of how peers treat bad frames.
func (p *Peer) SendRaw(ctx context.Context, b []byte) error {
	if err := p.awaitStream(ctx); err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_, err := p.stream.Write(b)
	return err
}

func (p *Peer) awaitStream(ctx context.Context) error {
	if p.hasStrm.Load() {
		return nil
	}
	select { // an accepted peer's stream appears with its first frame
	case <-p.ready:
		return nil
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Peer) write(ctx context.Context, typ wire.Type, id uint64, body []byte) error {
	if err := p.awaitStream(ctx); err != nil {
		return err
	}
	h := wire.Header{Type: typ, ID: id, Stableset: p.ep.stablesetID()}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	var err error
	if p.wbuf, err = wire.AppendFrame(p.wbuf[:0], h, body); err != nil {
		return err
	}
	if _, err := p.stream.Write(p.wbuf); err != nil {
		if se, ok := peerStreamError(err); ok && !mutant.Is("reset-stream-ignored") {
			// STOP_SENDING that watchStopSending has not acted on yet: close now, at the
			// latest (TRN-2). close takes no lock the writer holds.
			p.streamEnded("stopped the node's side of the stream (STOP_SENDING)", se)
		}
		return err
	}
	if mutant.Is("counters-miss-pong") && typ == wire.TypePong {
		return nil
	}
	p.ep.counters.countSent(p.counters, typ)
	return nil
}

// waiter is one outstanding request; waiters are reused so a round trip allocates nothing.
type waiter struct {
	wake  chan struct{}
	timer *time.Timer
	want  wire.Type
	dst   []byte
	err   error
}

var waiters = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{wake: make(chan struct{}, 1), timer: t}
}}

// Request sends a request and appends the response body to dst. It waits for the response, the
// request timeout, ctx, or the end of the connection, whichever comes first.
func (p *Peer) Request(ctx context.Context, typ wire.Type, body, dst []byte) ([]byte, error) {
	want, ok := answerTo(typ)
	if !ok {
		return dst, ErrNotARequest
	}
	w := waiters.Get().(*waiter)
	w.want, w.dst, w.err = want, dst, nil
	id := p.nextID.Add(1)
	p.pmu.Lock()
	p.pending[id] = w
	p.pmu.Unlock()

	if err := p.write(ctx, typ, id, body); err != nil {
		if p.forget(id) {
			p.release(w)
			return dst, err
		}
		<-w.wake // the response raced the failure and is being delivered
		return p.finish(w)
	}
	w.timer.Reset(p.ep.cfg.RequestTimeout)
	var cause error
	select {
	case <-w.wake:
		w.timer.Stop()
		return p.finish(w)
	case <-w.timer.C:
		cause = ErrTimeout
	case <-ctx.Done():
		cause = ctx.Err()
	case <-p.done:
		cause = p.err
	}
	w.timer.Stop()
	if p.forget(id) {
		if mutant.Is("late-response-closes") && cause == ErrTimeout {
			p.pmu.Lock()
			if p.expired == nil {
				p.expired = map[uint64]bool{}
			}
			p.expired[id] = true
			p.pmu.Unlock()
		}
		p.release(w)
		return dst, cause
	}
	<-w.wake
	return p.finish(w)
}

func (p *Peer) finish(w *waiter) ([]byte, error) {
	resp, err := w.dst, w.err
	p.release(w)
	return resp, err
}

func (p *Peer) release(w *waiter) {
	w.dst = nil
	waiters.Put(w)
}

// forget removes a pending request; false means the reader already took it to deliver.
func (p *Peer) forget(id uint64) bool {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	if _, ok := p.pending[id]; !ok {
		return false
	}
	delete(p.pending, id)
	return true
}

// deliver hands a response to its request. A response to no outstanding request (it timed out)
// is dropped; a response of the wrong type for its request is a protocol violation.
func (p *Peer) deliver(h wire.Header, body []byte) error {
	p.pmu.Lock()
	w := p.pending[h.ID]
	delete(p.pending, h.ID)
	late := mutant.Is("late-response-closes") && p.expired[h.ID]
	p.pmu.Unlock()
	if w == nil {
		if late {
			return errLateResponse
		}
		p.ep.counters.unmatchedResponses.Add(1)
		return nil
	}
	if h.Type != w.want && !mutant.Is("wrong-answer-accepted") {
		w.err = ErrWrongAnswer
		w.wake <- struct{}{}
		return ErrWrongAnswer
	}
	w.dst = append(w.dst, body...)
	w.wake <- struct{}{}
	return nil
}

// errLateResponse closes a connection on which a response came after its request timed out;
// only a mutant does that.
var errLateResponse = errors.New("transport: response after its request timed out")

// answerTo is the response type for each request type (WIRE-7).
func answerTo(t wire.Type) (wire.Type, bool) {
	switch t {
	case wire.TypePing:
		return wire.TypePong, true
	case wire.TypeWitnessRequest:
		return wire.TypeWitness, true
	}
	return 0, false
}
