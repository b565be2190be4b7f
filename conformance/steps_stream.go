package conformance

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cucumber/godog"
	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// Steps about the stream itself and the end of a connection: a peer that resets the stream or
// stops the node's side of it (TRN-2), the close counters of GET /v1/counters (ADM-4), and the
// alert with which a node refuses a client certificate (ID-6).

// streamResetCode is the stream error code of the peer's RESET_STREAM and STOP_SENDING. TRN-2
// gives the node's answer whatever the code, so the peer sends the most innocent one.
const streamResetCode = wire.CodeNoError

// alertBadCertificate is the TLS alert bad_certificate as QUIC carries it: CRYPTO_ERROR 0x100 + 42
// (ID-5, ID-6).
const alertBadCertificate quic.TransportErrorCode = 0x12a

func registerStreamSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^peer "([^"]+)" resets its stream between frames$`, w.peerResetsBetweenFrames)
	sc.Step(`^peer "([^"]+)" resets its stream in the middle of a frame$`, w.peerResetsInsideFrame)
	sc.Step(`^peer "([^"]+)" stops the node's side of the stream and then sends a PING$`, w.peerStopsSendingThenPings)
	sc.Step(`^peer "([^"]+)" closes its connection with code (0x[0-9a-fA-F]+) before sending anything, once the node lists it among its peers$`, w.peerClosesBeforeAnyFrame)
	sc.Step(`^the node counts the end of peer "([^"]+)"'s connection once, in the close counter of the side that sent the CONNECTION_CLOSE$`, w.nodeCountsEndOnce)
	sc.Step(`^scripted peer "([^"]+)" connects to the node with a chain of two certificates$`, w.peerConnectsWithChainOfTwo)
	sc.Step(`^the node fails the handshake of peer "([^"]+)" with the TLS alert bad_certificate$`, w.handshakeFailsWithBadCertificate)
}

// --- TRN-2 ---------------------------------------------------------------------------------

// peerResetsBetweenFrames resets the peer's side of the stream after whole frames only.
func (w *world) peerResetsBetweenFrames(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	c.ResetStream(streamResetCode)
	return nil
}

// peerResetsInsideFrame writes a PING and the first half of another frame in one write, waits
// for the PONG (so the node has read the PING, and the half frame came with it), then resets the
// stream: the node has part of a frame when it learns of the reset.
func (w *world) peerResetsInsideFrame(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	id := c.NextID()
	ss := w.peer(name).id.StablesetID()
	b, err := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: id, Stableset: ss}, []byte("before the reset"))
	if err != nil {
		return err
	}
	next, err := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: c.NextID(), Stableset: ss}, make([]byte, 100))
	if err != nil {
		return err
	}
	if err := c.SendRaw(append(b, next[:len(next)/2]...)); err != nil {
		return err
	}
	if _, err := w.waitFrame(name, func(f peer.Frame) bool { return f.Header.Type == wire.TypePong && f.Header.ID == id },
		fmt.Sprintf("a PONG with id %d before the reset", id)); err != nil {
		return err
	}
	c.ResetStream(streamResetCode)
	return nil
}

// peerStopsSendingThenPings sends STOP_SENDING and then a PING, which the node would answer if it
// still wrote to the stream: TRN-2 lets a node learn of a STOP_SENDING as late as its next write.
// A node that closed the connection on the STOP_SENDING alone may make the PING's write fail;
// the step after this one judges how the connection ended.
func (w *world) peerStopsSendingThenPings(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	c.StopSending(streamResetCode)
	err = c.Send(wire.TypePing, c.NextID(), w.peer(name).id.StablesetID(), []byte("after STOP_SENDING"))
	if err != nil && !errors.As(err, new(*quic.ApplicationError)) {
		return err
	}
	return nil
}

// --- ADM-4 ---------------------------------------------------------------------------------

// peerClosesBeforeAnyFrame waits until GET /v1/counters lists the peer, which ADM-4 asks from the
// moment the handshake completes, and then closes the connection before the peer has sent any
// byte on its stream: the node has not accepted the stream yet.
func (w *world) peerClosesBeforeAnyFrame(name, code string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(code, 0, 64)
	if err != nil {
		return err
	}
	key := w.peer(name).id.Name().String()
	if err := await(func() error {
		cs, err := w.counters()
		if err != nil {
			return err
		}
		if _, ok := cs.Peers[key]; !ok {
			return fmt.Errorf("expected peer %q (%s) in the node's counters once its handshake completed, got %d peers", name, key, len(cs.Peers))
		}
		return nil
	}); err != nil {
		return err
	}
	return c.Close(wire.Code(n))
}

// nodeCountsEndOnce waits for the peer's connection to end and checks ADM-4's close counters: a
// close with an application error code counts once, under its name in section 5 (UNKNOWN_CODE
// for others), in connections_closed_by_us when the node sent the CONNECTION_CLOSE and in
// connections_closed_by_peer when the peer did, and not in the other counter. The node under test
// serves this one peer alone, so the counts under that code are this connection's.
func (w *world) nodeCountsEndOnce(name string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	info, err := c.WaitClosed(ctx)
	if err != nil {
		return fmt.Errorf("expected peer %q's connection to end: %v", name, err)
	}
	if !info.Application {
		return fmt.Errorf("expected peer %q's connection to end with an application error code, got %v", name, info)
	}
	code := info.Code.String() // UNKNOWN_CODE for a code not in section 5
	ours, theirs, closer := "connections_closed_by_peer", "connections_closed_by_us", "the peer"
	if info.Remote {
		ours, theirs, closer = theirs, ours, "the node"
	}
	check := func() error {
		cs, err := w.counters()
		if err != nil {
			return err
		}
		byCloser, byOther := cs.ClosedByPeer[code], cs.ClosedByUs[code]
		if info.Remote {
			byCloser, byOther = byOther, byCloser
		}
		if byCloser != 1 || byOther != 0 {
			return fmt.Errorf("%s sent the CONNECTION_CLOSE (%v): expected %s.%s = 1 and %s.%s = 0, got %d and %d (closed by us %v, by the peer %v)",
				closer, info, ours, code, theirs, code, byCloser, byOther, cs.ClosedByUs, cs.ClosedByPeer)
		}
		return nil
	}
	if err := await(check); err != nil {
		return err
	}
	return holdsFor(settleFor, 50*time.Millisecond, check)
}

// --- ID-6 ----------------------------------------------------------------------------------

func (w *world) peerConnectsWithChainOfTwo(name string) error {
	_ = w.dial(name, w.node, peer.WithCertificate(peer.CertChainOfTwo))
	return nil // the outcome is checked by the step that judges the handshake
}

// handshakeFailsWithBadCertificate checks that the node failed the handshake with the TLS alert
// bad_certificate, CRYPTO_ERROR 0x12a (ID-6): in TLS 1.3 the peer's own handshake completes
// first, so the rejection usually arrives as the close of a connection Dial returned, and
// sometimes as the error of the dial itself.
func (w *world) handshakeFailsWithBadCertificate(name string) error {
	p := w.peer(name)
	var (
		remote bool
		code   quic.TransportErrorCode
		how    string
	)
	if p.dialErr != nil {
		var te *quic.TransportError
		if !errors.As(p.dialErr, &te) {
			return fmt.Errorf("expected the node to fail the handshake with bad_certificate (CRYPTO_ERROR 0x12a), the dial failed with %v", p.dialErr)
		}
		remote, code, how = te.Remote, te.ErrorCode, p.dialErr.Error()
	} else {
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		ctx, cancel := stepContext()
		defer cancel()
		info, err := c.WaitClosed(ctx)
		if err != nil {
			return fmt.Errorf("expected the node to fail the handshake with bad_certificate (CRYPTO_ERROR 0x12a), but the connection stayed open: %v", err)
		}
		if info.Application {
			return fmt.Errorf("expected the node to fail the handshake with bad_certificate (CRYPTO_ERROR 0x12a), got %v", info)
		}
		remote, code, how = info.Remote, info.TransportCode, info.String()
	}
	if !remote || code != alertBadCertificate {
		return fmt.Errorf("expected the node to fail the handshake with bad_certificate (CRYPTO_ERROR 0x12a), got %s", how)
	}
	return nil
}
