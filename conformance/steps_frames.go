package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// Steps that send frames to the node and check how it answers or closes the connection.

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
	// Frames with two faults, for the check order of section 3 (ERR-1).
	lengthThenFIN = regexp.MustCompile(`^a frame whose length is (\d+) and then ends its stream$`)
	lengthAndType = regexp.MustCompile(`^a frame whose length is (\d+) and whose type is (0x[0-9a-fA-F]{2})$`)
	halfOfType    = regexp.MustCompile(`^half a frame of type (0x[0-9a-fA-F]{2}) and then ends its stream$`)
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
	case lengthThenFIN.MatchString(desc): // the length alone, then the end of the stream
		n, _ := strconv.ParseUint(lengthThenFIN.FindStringSubmatch(desc)[1], 10, 32)
		return binary.BigEndian.AppendUint32(nil, uint32(n)), true, nil
	case lengthAndType.MatchString(desc): // the length, then a whole header of that type
		m := lengthAndType.FindStringSubmatch(desc)
		n, _ := strconv.ParseUint(m[1], 10, 32)
		t, _ := strconv.ParseUint(m[2], 0, 8)
		hdr := frame(wire.Header{Type: wire.Type(t), ID: 9}, nil)[wire.LengthPrefixSize:]
		return append(binary.BigEndian.AppendUint32(nil, uint32(n)), hdr...), false, nil
	case halfOfType.MatchString(desc): // half of a frame of that type, the type byte included
		t, _ := strconv.ParseUint(halfOfType.FindStringSubmatch(desc)[1], 0, 8)
		f := frame(wire.Header{Type: wire.Type(t), ID: 9}, make([]byte, 40))
		return f[:len(f)/2], true, nil
	case desc == "half a frame and then ends its stream":
		return ping[:len(ping)/2], true, nil
	case desc == "two bytes of a length and then ends its stream":
		return ping[:2], true, nil
	// A frame that stops arriving, with no end of stream: it must not hold the connection (WIRE-12).
	case desc == "two bytes of a length and then stays silent":
		return ping[:2], false, nil
	case desc == "half a frame and then stays silent": // the length, the header and half the body
		f := frame(wire.Header{Type: wire.TypePing, ID: 5}, make([]byte, 1000))
		return f[:len(f)/2], false, nil
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

// nodeClosesConnection checks the peer's newest connection, to whichever node it leads.
func (w *world) nodeClosesConnection(name, code string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	return expectClose(c, code, true)
}

// nodeClosesConnectionWithin checks WIRE-12's timing: the step runs right after the peer sent the
// stalled frame, so the close must come no sooner than from seconds (less half a second for the
// step's own start) and no later than to seconds.
func (w *world) nodeClosesConnectionWithin(name, code string, from, to int) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	began := time.Now()
	if err := expectClose(c, code, true); err != nil {
		return err
	}
	took := c.Closed().At.Sub(began)
	if took < time.Duration(from)*time.Second-500*time.Millisecond || took > time.Duration(to)*time.Second {
		return fmt.Errorf("expected the close %d to %d s after the frame began, it came after %v", from, to, took.Round(time.Millisecond))
	}
	return nil
}

// peerStaysQuietAndOpen waits while the peer sends nothing and fails if the node closes the
// connection meanwhile: silence between frames is not a stalled frame (WIRE-12, TRN-6).
func (w *world) peerStaysQuietAndOpen(name string, seconds int) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(harness.Closing(), time.Duration(seconds)*time.Second)
	defer cancel()
	if info, err := c.WaitClosed(ctx); err == nil {
		return fmt.Errorf("expected the connection to stay open while no frame was in flight; it ended after less than %d s: %v", seconds, info)
	}
	return nil
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

func (w *world) connectionEndsWith(name, code string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	return expectClose(c, code, false)
}

func (w *world) nodeCountsClosed(n int, code string) error {
	return await(func() error {
		c, err := w.counters()
		if err != nil {
			return err
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
	id, _ := s["id"].(string)
	return w.everyFrameCarries(name, id, "the id GET /v1/stableset reports")
}

// stablesetFieldIsOwnHash checks WIRE-10 for a node alone from the frames alone: the node's name
// is known from its seed, so no part but the core is needed to observe it.
func (w *world) stablesetFieldIsOwnHash(name string) error {
	own := peer.StablesetID([]wire.Member{{Name: w.node.Name}})
	return w.everyFrameCarries(name, hex.EncodeToString(own[:]), "SHA-256 of the name and ordinal 0 of a node alone (WIRE-10)")
}

// everyFrameCarries checks that every frame peer name received from the node has the stableset
// field want (hex), which is what.
func (w *world) everyFrameCarries(name, want, what string) error {
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	frames := c.Frames()
	if len(frames) == 0 {
		return errors.New("expected frames from the node, got none")
	}
	for _, f := range frames {
		if got := hex.EncodeToString(f.Header.Stableset[:]); got != want {
			return fmt.Errorf("expected stableset field %s, %s, got %s in %v", want, what, got, f)
		}
	}
	return nil
}

func (w *world) stablesetIDIsHash() error {
	ctx, cancel := stepContext()
	defer cancel()
	var st stablesetJSON
	if err := w.node.GetJSON(ctx, "/v1/stableset", &st); err != nil {
		return w.admin(err)
	}
	members, err := wireMembers(st)
	if err != nil {
		return err
	}
	id := peer.StablesetID(members)
	if want := hex.EncodeToString(id[:]); st.ID != want {
		return fmt.Errorf("expected id SHA-256 over %d members' names and ordinals in name order = %s, got %s", len(members), want, st.ID)
	}
	return nil
}
