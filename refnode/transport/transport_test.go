package transport

import (
	"bytes"
	"context"
	"errors"
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
