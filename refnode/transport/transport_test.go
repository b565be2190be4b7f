package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/wire"
)

func newEndpoint(t *testing.T, id *identity.Identity, handler Handler) *Endpoint {
	t.Helper()
	if id == nil {
		var err error
		if id, err = identity.Generate(); err != nil {
			t.Fatal(err)
		}
	}
	ep, err := Listen(Config{
		Identity: id, Listen: "127.0.0.1:0", Handler: handler, RequestTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPingRoundTripAndCounters(t *testing.T) {
	a, b := newEndpoint(t, nil, nil), newEndpoint(t, nil, nil)
	resp, err := a.Request(ctx(t), b.Name(), b.Addr(), wire.TypePing, []byte("hello"), nil)
	if err != nil || string(resp) != "hello" {
		t.Fatalf("PING answered %q, %v", resp, err)
	}
	ca, cb := a.Counters(), b.Counters()
	if got := ca.Peers[b.Name().String()]; got.Sent["PING"] != 1 || got.Received["PONG"] != 1 {
		t.Fatalf("a's counters for b: %+v", got)
	}
	if got := cb.Peers[a.Name().String()]; got.Received["PING"] != 1 || got.Sent["PONG"] != 1 {
		t.Fatalf("b's counters for a: %+v", got)
	}
	if ca.Sent["PING"] != 1 || cb.Received["PING"] != 1 || ca.Sent["WITNESS"] != 0 {
		t.Fatalf("totals wrong: a %+v b %+v", ca.Sent, cb.Received)
	}
}

func TestRequestsFromBothSidesShareOneStream(t *testing.T) {
	handler := func(p *Peer, h wire.Header, body []byte) {
		if h.Type == wire.TypeWitnessRequest {
			_ = p.Respond(h.ID, wire.TypeWitness, body)
		}
	}
	a, b := newEndpoint(t, nil, handler), newEndpoint(t, nil, handler)
	obs := wire.Observation{Kind: wire.ChangeJoin, Member: wire.Member{Name: a.Name(), Ordinal: 1, Addr: a.Addr()}}
	body := obs.Append(nil)
	if resp, err := a.Request(ctx(t), b.Name(), b.Addr(), wire.TypeWitnessRequest, body, nil); err != nil || !bytes.Equal(resp, body) {
		t.Fatalf("a→b witness: %v", err)
	}
	// b answers on the connection a opened: no second connection is dialed.
	if resp, err := b.Request(ctx(t), a.Name(), a.Addr(), wire.TypeWitnessRequest, body, nil); err != nil || !bytes.Equal(resp, body) {
		t.Fatalf("b→a witness: %v", err)
	}
	if pa, pb := a.Peer(b.Name()), b.Peer(a.Name()); pa == nil || pb == nil || !pa.dialed || pb.dialed {
		t.Fatal("the pair does not use the one connection a dialed")
	}
}

func TestWrongNameFailsHandshake(t *testing.T) {
	a, b := newEndpoint(t, nil, nil), newEndpoint(t, nil, nil)
	stranger, _ := identity.Generate()
	_, err := a.Connect(ctx(t), stranger.Name, b.Addr())
	var mismatch *identity.NameMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != b.Name() {
		t.Fatalf("dial with the wrong name: err = %v", err)
	}
	if n := a.Counters().HandshakeFailures["name_mismatch"]; n != 1 {
		t.Fatalf("name_mismatch counter = %d, want 1 (no retries of a mismatch)", n)
	}
}

func TestMalformedFrameClosesOnlyThatConnection(t *testing.T) {
	b := newEndpoint(t, nil, nil)
	bad, good := newEndpoint(t, nil, nil), newEndpoint(t, nil, nil)
	p, err := bad.Connect(ctx(t), b.Name(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	frame, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypeWitness, ID: 1}, []byte{1, 2, 3})
	if err := p.SendRaw(ctx(t), frame); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("node did not close the connection after a malformed frame")
	}
	var ae *quic.ApplicationError
	if !errors.As(p.Err(), &ae) || wire.Code(ae.ErrorCode) != wire.CodeMalformed || !ae.Remote {
		t.Fatalf("connection ended with %v, want remote MALFORMED", p.Err())
	}
	if n := b.Counters().ClosedByUs["MALFORMED"]; n != 1 {
		t.Fatalf("closed-by-us MALFORMED = %d", n)
	}
	if _, err := good.Request(ctx(t), b.Name(), b.Addr(), wire.TypePing, nil, nil); err != nil {
		t.Fatalf("node stopped serving other peers: %v", err)
	}
}

func TestSimultaneousDialsKeepOneConnection(t *testing.T) {
	a, b := newEndpoint(t, nil, nil), newEndpoint(t, nil, nil)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); _, errs[0] = a.Request(ctx(t), b.Name(), b.Addr(), wire.TypePing, nil, nil) }()
	go func() { defer wg.Done(); _, errs[1] = b.Request(ctx(t), a.Name(), a.Addr(), wire.TypePing, nil, nil) }()
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("requests during simultaneous dials failed: %v", errs)
	}
	// Both ends settle on the connection dialed by the lower name.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pa, pb := a.Peer(b.Name()), b.Peer(a.Name())
		if pa != nil && pb != nil && pa.conn.LocalAddr().String() == pb.conn.RemoteAddr().String() && pa.dialed != pb.dialed {
			lower := a
			if b.Name().String() < a.Name().String() {
				lower = b
			}
			if (lower == a) != pa.dialed {
				t.Fatal("kept connection was not dialed by the lower name")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ends did not settle on one connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRequestTimesOutWithoutAnswer(t *testing.T) {
	a, b := newEndpoint(t, nil, nil), newEndpoint(t, nil, nil) // b ignores WITNESS_REQUEST
	obs := wire.Observation{Kind: wire.ChangeLeave, Member: wire.Member{Name: b.Name(), Ordinal: 2, Addr: b.Addr()}}
	start := time.Now()
	_, err := a.Request(ctx(t), b.Name(), b.Addr(), wire.TypeWitnessRequest, obs.Append(nil), nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("timed out after %v, before the 1s request timeout", d)
	}
	if _, err := a.Request(ctx(t), b.Name(), b.Addr(), wire.TypeStableset, nil, nil); !errors.Is(err, ErrNotARequest) {
		t.Fatalf("one-way type as request: %v", err)
	}
}

func TestRedialAfterPeerRestart(t *testing.T) {
	id, _ := identity.Generate()
	a := newEndpoint(t, nil, nil)
	b, err := Listen(Config{Identity: id, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	if _, err := a.Request(ctx(t), id.Name, addr, wire.TypePing, nil, nil); err != nil {
		t.Fatal(err)
	}
	p := a.Peer(id.Name)
	b.Close()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a did not notice b's shutdown")
	}
	var ae *quic.ApplicationError
	if !errors.As(p.Err(), &ae) || wire.Code(ae.ErrorCode) != wire.CodeShutdown {
		t.Fatalf("shutdown seen as %v, want SHUTDOWN", p.Err())
	}
	b2, err := Listen(Config{Identity: id, Listen: addr.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if _, err := a.Request(ctx(t), id.Name, addr, wire.TypePing, nil, nil); err != nil {
		t.Fatalf("request after restart: %v", err)
	}
}

func TestReconnectFromSameSideReplacesOldConnection(t *testing.T) {
	a, b := newEndpoint(t, nil, nil), newEndpoint(t, nil, nil)
	old, err := a.Connect(ctx(t), b.Name(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Request(ctx(t), wire.TypePing, nil, nil); err != nil {
		t.Fatal(err)
	}
	// a dials again as if it had lost track of the first connection (a restart would do this).
	fresh, err := a.dial(ctx(t), b.Name(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Request(ctx(t), wire.TypePing, nil, nil); err != nil {
		t.Fatalf("new connection refused: %v", err)
	}
	select {
	case <-old.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("old connection still open")
	}
	if b.Peer(a.Name()) == nil || a.Peer(b.Name()) != fresh {
		t.Fatal("the newer connection is not the one kept")
	}
}

// A refused (banned) name is turned away in both directions: the acceptor fails the handshake
// once the dialer's certificate names it, and Connect never dials it (SPEC.md §9 bans).
func TestRefusedNamesAreTurnedAwayBothWays(t *testing.T) {
	var refuseB sync.Map
	bID, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	aID, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	a, err := Listen(Config{Identity: aID, Listen: "127.0.0.1:0", RequestTimeout: time.Second,
		Refuse: func(n wire.Name) bool { _, ok := refuseB.Load(n); return ok }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b := newEndpoint(t, bID, nil)

	// Before the ban the pair talks; the ban's own connection is closed by the node, not here.
	if _, err := b.Request(ctx(t), a.Name(), a.Addr(), wire.TypePing, nil, nil); err != nil {
		t.Fatalf("PING before the ban: %v", err)
	}
	a.Peer(b.Name()).Close(wire.CodeProtocolViolation, "banned")
	refuseB.Store(b.Name(), true)
	if got := a.Counters().ClosedByUs["PROTOCOL_VIOLATION"]; got != 1 {
		t.Fatalf("closes by a with PROTOCOL_VIOLATION = %d, want 1", got)
	}

	if _, err := b.Request(ctx(t), a.Name(), a.Addr(), wire.TypePing, nil, nil); err == nil {
		t.Fatal("a banned dialer got a PONG")
	}
	if a.Peer(b.Name()) != nil {
		t.Fatal("a registered a connection from a banned name")
	}
	if _, err := a.Connect(ctx(t), b.Name(), b.Addr()); !errors.Is(err, ErrRefused) {
		t.Fatalf("dialing a banned name: err = %v, want ErrRefused", err)
	}
	// Another name still gets in: the refusal is by name, not by address or for everyone.
	c := newEndpoint(t, nil, nil)
	if _, err := c.Request(ctx(t), a.Name(), a.Addr(), wire.TypePing, nil, nil); err != nil {
		t.Fatalf("PING from an unbanned peer: %v", err)
	}
}

// rawPeer is a bare QUIC client of ep, dialed without an Endpoint, so a test controls exactly
// what it does to the connection and its stream.
type rawPeer struct {
	id     *identity.Identity
	conn   *quic.Conn
	stream *quic.Stream
}

func dialRaw(t *testing.T, ep *Endpoint) *rawPeer {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := quic.DialAddr(ctx(t), ep.Addr().String(), id.ClientTLS(ep.Name()),
		&quic.Config{MaxIncomingStreams: -1, MaxIncomingUniStreams: -1, KeepAlivePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseWithError(0, "") })
	stream, err := conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	return &rawPeer{id: id, conn: conn, stream: stream}
}

// ping writes a PING and reads its PONG, so the node has accepted the stream and read up to here.
func (r *rawPeer) ping(t *testing.T, id uint64) {
	t.Helper()
	frame, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: id}, []byte("x"))
	if _, err := r.stream.Write(frame); err != nil {
		t.Fatal(err)
	}
	h, _, err := wire.NewFrameReader(r.stream).Next()
	if err != nil || h.Type != wire.TypePong || h.ID != id {
		t.Fatalf("PING %d answered by %v, %v", id, h, err)
	}
}

// closedBy waits for the node to close r's connection and returns the code it used.
func (r *rawPeer) closedBy(t *testing.T) wire.Code {
	t.Helper()
	select {
	case <-r.conn.Context().Done():
	case <-ctx(t).Done():
		t.Fatal("the node did not close the connection")
	}
	var ae *quic.ApplicationError
	if err := context.Cause(r.conn.Context()); !errors.As(err, &ae) || !ae.Remote {
		t.Fatalf("connection ended with %v, want the node's close", err)
	}
	return wire.Code(ae.ErrorCode)
}

// awaitCounters polls the endpoint's counters until ok accepts them.
func awaitCounters(t *testing.T, ep *Endpoint, ok func(Counters) bool) Counters {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := ep.Counters()
		if ok(c) || time.Now().After(deadline) {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TRN-2: a peer that resets the stream or stops the node's side of it has ended the connection's
// only stream; the node closes the connection with PROTOCOL_VIOLATION at once and counts it
// (ADM-4), and keeps serving others (TRN-4).
func TestStreamResetOrStoppedByPeerClosesWithProtocolViolation(t *testing.T) {
	ping, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: 9}, []byte("a whole ping"))
	cases := []struct {
		name string
		do   func(t *testing.T, r *rawPeer)
	}{
		{"RESET_STREAM between frames", func(t *testing.T, r *rawPeer) { r.stream.CancelWrite(0) }},
		{"RESET_STREAM inside a frame", func(t *testing.T, r *rawPeer) {
			if _, err := r.stream.Write(ping[:len(ping)/2]); err != nil {
				t.Fatal(err)
			}
			r.stream.CancelWrite(0)
		}},
		// Nothing is written after the STOP_SENDING, so the node acts on it before any write.
		{"STOP_SENDING", func(t *testing.T, r *rawPeer) { r.stream.CancelRead(0) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newEndpoint(t, nil, nil)
			r := dialRaw(t, b)
			r.ping(t, 1)
			tc.do(t, r)
			if code := r.closedBy(t); code != wire.CodeProtocolViolation {
				t.Fatalf("node closed with %v, want PROTOCOL_VIOLATION", code)
			}
			if got := b.Counters().ClosedByUs["PROTOCOL_VIOLATION"]; got != 1 {
				t.Fatalf("connections_closed_by_us.PROTOCOL_VIOLATION = %d, want 1", got)
			}
			if b.Peer(r.id.Name) != nil {
				t.Fatal("the node still lists the connection as live")
			}
			other := newEndpoint(t, nil, nil)
			if _, err := other.Request(ctx(t), b.Name(), b.Addr(), wire.TypePing, nil, nil); err != nil {
				t.Fatalf("node stopped serving other peers: %v", err)
			}
		})
	}
}

// ADM-4: every connection that ends with an application error code counts once, under the side
// that sent the CONNECTION_CLOSE, whenever the close comes.
func TestPeerClosesAreCountedWheneverTheyCome(t *testing.T) {
	t.Run("before the stream is accepted", func(t *testing.T) {
		b := newEndpoint(t, nil, nil)
		r := dialRaw(t, b) // opens the stream, which reaches b only with its first byte
		awaitCounters(t, b, func(c Counters) bool { _, ok := c.Peers[r.id.Name.String()]; return ok })
		_ = r.conn.CloseWithError(0x99, "bye")
		c := awaitCounters(t, b, func(c Counters) bool { return c.ClosedByPeer["UNKNOWN_CODE"] == 1 })
		if c.ClosedByPeer["UNKNOWN_CODE"] != 1 || len(c.ClosedByUs) != 0 {
			t.Fatalf("closed by peer %v, by us %v; want UNKNOWN_CODE 1 by the peer only", c.ClosedByPeer, c.ClosedByUs)
		}
	})
	t.Run("after an orderly end", func(t *testing.T) {
		b := newEndpoint(t, nil, nil)
		r := dialRaw(t, b)
		r.ping(t, 1)
		if err := r.stream.Close(); err != nil { // FIN between frames (WIRE-4)
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r.stream); err != nil { // b answers what it owes, then ends its side
			t.Fatalf("reading up to the node's end of stream: %v", err)
		}
		_ = r.conn.CloseWithError(quic.ApplicationErrorCode(wire.CodeNoError), "orderly end")
		c := awaitCounters(t, b, func(c Counters) bool { return c.ClosedByPeer["NO_ERROR"] == 1 })
		if c.ClosedByPeer["NO_ERROR"] != 1 || len(c.ClosedByUs) != 0 {
			t.Fatalf("closed by peer %v, by us %v; want NO_ERROR 1 by the peer only", c.ClosedByPeer, c.ClosedByUs)
		}
	})
}
