package peer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/wire"
)

// badKindFrame is a WITNESS_REQUEST whose change kind is 3, neither JOIN nor LEAVE: a node closes
// the connection with MALFORMED (WIRE-6).
func badKindFrame(t *testing.T) []byte {
	t.Helper()
	obs := wire.Observation{Kind: wire.ChangeJoin, Member: wire.Member{Name: NameFromSeed(seed(7)), Ordinal: 3, Addr: netip.MustParseAddrPort("127.0.0.9:7000")}}
	body := obs.Append(nil)
	body[0] = 3
	f, err := wire.AppendFrame(nil, wire.Header{Type: wire.TypeWitnessRequest, ID: 9}, body)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkEvents checks the trace's events one by one against want, which gives each one's
// connection, kind, direction and a text its line must hold.
func checkEvents(t *testing.T, events []TraceEvent, want []wantEvent) {
	t.Helper()
	if len(events) != len(want) {
		t.Fatalf("trace holds %d events, want %d:\n%s", len(events), len(want), describeEvents(events))
	}
	for i, w := range want {
		e := events[i]
		if e.Kind != w.kind || e.Dir != w.dir || e.Conn != w.conn || !strings.Contains(e.what()+" "+e.Detail, w.holds) {
			t.Errorf("event %d is %s %v %s %q, want %s %v %s holding %q", i, e.Conn, e.Dir, e.Kind, e.what()+" "+e.Detail, w.conn, w.dir, w.kind, w.holds)
		}
	}
	if t.Failed() {
		t.Logf("trace:\n%s", describeEvents(events))
	}
}

type wantEvent struct {
	conn  string
	kind  EventKind
	dir   Direction
	holds string
}

func describeEvents(events []TraceEvent) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "  %s %v %v %s %s\n", e.Conn, e.Dir, e.Kind, e.what(), e.Detail)
	}
	return b.String()
}

// The trace of a connection to refnode shows the dial, a PING and its PONG under the same id, a
// malformed frame written raw with its first bytes, and the node's close with the code's name.
func TestTraceShowsWhatCrossedTheWire(t *testing.T) {
	n := startNode(t)
	start := time.Now()
	tr := NewTrace(start)
	if !tr.Empty() {
		t.Fatal("a new trace is not empty")
	}
	c := dial(t, n, WithTrace(tr, "alice"))
	if _, err := c.Ping(timeout(t), []byte("hello")); err != nil {
		t.Fatal(err)
	}
	bad := badKindFrame(t)
	if err := c.SendRaw(bad); err != nil {
		t.Fatal(err)
	}
	if info, err := c.WaitClosed(timeout(t)); err != nil || !info.Remote || info.Code != wire.CodeMalformed {
		t.Fatalf("close %v (%v), want the node's MALFORMED", info, err)
	}

	events := tr.Events()
	checkEvents(t, events, []wantEvent{
		{"alice", EventDialed, DirToNode, fmt.Sprintf("to %s at %v, from %v", hex.EncodeToString(n.name[:4]), n.listen, c.LocalAddr())},
		{"alice", EventSent, DirToNode, `PING payload 5 bytes "hello"`},
		{"alice", EventReceived, DirFromNode, `PONG payload 5 bytes "hello"`},
		{"alice", EventRawWrite, DirToNode, hex.EncodeToString(bad[:16]) + "…  codec: WITNESS_REQUEST id=9 rejected, MALFORMED (0x04): change kind"},
		{"alice", EventClosed, DirFromNode, `remote close MALFORMED (0x04)`},
	})
	if t.Failed() {
		return
	}
	ping, pong := events[1], events[2]
	if ping.Header.ID != 1 || pong.Header.ID != ping.Header.ID {
		t.Errorf("PING id %d, PONG id %d: want the PING's id, 1, on both", ping.Header.ID, pong.Header.ID)
	}
	if want := wire.LengthPrefixSize + wire.HeaderSize + 5; ping.Size != want || pong.Size != want {
		t.Errorf("PING %d bytes, PONG %d bytes, want %d each", ping.Size, pong.Size, want)
	}
	if events[3].Size != len(bad) {
		t.Errorf("raw write of %d bytes, want %d", events[3].Size, len(bad))
	}
	if cl := events[4].Close; cl == nil || cl.Code != wire.CodeMalformed {
		t.Errorf("close event carries %v, want the MALFORMED CloseInfo", cl)
	}

	var out bytes.Buffer
	if _, err := tr.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 1+len(events) {
		t.Fatalf("%d lines for %d events:\n%s", len(lines), len(events), out.String())
	}
	checkColumns(t, lines, start, events)
	for i, want := range []string{"→ node  dialed", "→ node  PING", "← node  PONG", "→ node  raw write", "← node  closed"} {
		if !strings.Contains(lines[1+i], want) {
			t.Errorf("line %d %q does not hold %q", 1+i, lines[1+i], want)
		}
	}
}

// checkColumns checks that every event line starts with its time since start in ms with three
// decimals, and that the direction, frame, id and size columns start at the same place on every
// line (the header's).
func checkColumns(t *testing.T, lines []string, start time.Time, events []TraceEvent) {
	t.Helper()
	header := lines[0]
	cols := []string{"dir", "frame", "id", "bytes", "detail"}
	at := make([]int, len(cols))
	for i, c := range cols {
		at[i] = utf8.RuneCountInString(header[:strings.Index(header+" ", " "+c+" ")+1])
	}
	for i, line := range lines[1:] {
		r := []rune(line)
		ms, err := strconv.ParseFloat(strings.TrimSpace(string(r[:10])), 64)
		if err != nil || !strings.Contains(string(r[:10]), ".") || len(strings.TrimSpace(string(r[:10]))) < 5 {
			t.Errorf("line %d %q: time column %q is not ms with decimals", i+1, line, string(r[:10]))
			continue
		}
		if want := float64(events[i].At.Sub(start)) / float64(time.Millisecond); ms < want-0.0005 || ms > want+0.0005 {
			t.Errorf("line %d: %.3f ms, want %.3f", i+1, ms, want)
		}
		if dir := string(r[at[0] : at[0]+6]); dir != events[i].Dir.String() {
			t.Errorf("line %d %q: direction column holds %q, want %q", i+1, line, dir, events[i].Dir.String())
		}
		if got := string(r[at[1]:]); !strings.HasPrefix(got, events[i].what()) {
			t.Errorf("line %d %q: frame column does not start with %q", i+1, line, events[i].what())
		}
		if events[i].isFrame() {
			// The id is right-aligned: it ends where the id column ends.
			idEnd := at[2] + len("id")
			if got := strings.TrimSpace(string(r[at[1]:idEnd])); !strings.HasSuffix(got, strconv.FormatUint(events[i].Header.ID, 10)) {
				t.Errorf("line %d %q: id column does not end with %d", i+1, line, events[i].Header.ID)
			}
		}
		if sizeEnd := at[3] + len("bytes"); events[i].Size > 0 && !strings.HasSuffix(string(r[:sizeEnd]), " "+strconv.Itoa(events[i].Size)) {
			t.Errorf("line %d %q: bytes column does not end with %d", i+1, line, events[i].Size)
		}
		if d := events[i].Detail; d != "" && string(r[at[4]:]) != d {
			t.Errorf("line %d %q: detail column is not %q", i+1, line, d)
		}
	}
}

// Two scripted peers share a trace: the listener's accepted connection and the dialer's are told
// apart by label, and the trace shows the bad frame one received, its end of stream, and both
// ends of the close the bad frame caused.
func TestTraceShowsBadFramesAndBothEndsOfAClose(t *testing.T) {
	tr := NewTrace(time.Now())
	server := RandomIdentity()
	l, err := Listen(server, netip.MustParseAddrPort("127.0.0.1:0"), WithTrace(tr, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Dial(timeout(t), RandomIdentity(), NameFromSeed(seed(3)), l.Addr(), WithTrace(tr, "alice")); !errors.As(err, new(*NameMismatchError)) {
		t.Fatalf("dial with the wrong name: %v", err)
	}
	accepted := make(chan *Conn, 1)
	go func() {
		c, err := l.Accept(timeout(t))
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	d, err := Dial(timeout(t), RandomIdentity(), server.Name(), l.Addr(), WithTrace(tr, "alice"), WithALPN(wire.ALPN, "other/1"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(wire.CodeNoError)
	if err := d.Send(wire.TypePing, 77, wire.StablesetID{}, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	if a == nil {
		t.FailNow()
	}
	if _, err := a.WaitFrame(timeout(t), isType(wire.TypePing)); err != nil {
		t.Fatal(err)
	}
	if err := a.SendRaw(badKindFrame(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.WaitClosed(timeout(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.WaitClosed(timeout(t)); err != nil {
		t.Fatal(err)
	}

	// The first dial failed, so the one that worked is alice's second connection. The acceptor's
	// stream comes with the PING, so bob accepts after alice sent it.
	events := tr.Events()
	if len(events) != 9 {
		t.Fatalf("trace holds %d events, want 9:\n%s", len(events), describeEvents(events))
	}
	checkEvents(t, events[:7], []wantEvent{
		{"alice", EventDialFailed, DirToNode, "name mismatch: expected " + NameFromSeed(seed(3)).String()},
		{"alice#2", EventDialed, DirToNode, `(ALPN ["stableset/0" "other/1"])`},
		{"alice#2", EventSent, DirToNode, "PING payload 3 bytes"},
		{"bob", EventAccepted, DirFromNode, fmt.Sprintf("from %s at %v, to %v", namePrefix(a.RemoteName()), d.LocalAddr(), l.Addr())},
		{"bob", EventReceived, DirFromNode, "PING payload 3 bytes"},
		{"bob", EventRawWrite, DirToNode, "codec: WITNESS_REQUEST id=9 rejected, MALFORMED"},
		{"alice#2", EventBadFrame, DirFromNode, "MALFORMED (0x04): change kind is neither JOIN (1) nor LEAVE (2)"},
	})
	// Each side notes its close in its own goroutine, so the two may come in either order.
	closes := events[7:]
	if closes[0].Conn == "bob" {
		closes[0], closes[1] = closes[1], closes[0]
	}
	checkEvents(t, closes, []wantEvent{
		{"alice#2", EventClosed, DirToNode, "local close MALFORMED (0x04)"},
		{"bob", EventClosed, DirFromNode, "remote close MALFORMED (0x04)"},
	})
}

func isType(typ wire.Type) func(Frame) bool {
	return func(f Frame) bool { return f.Header.Type == typ }
}

func TestSummaries(t *testing.T) {
	member := func(b byte, ordinal uint64) wire.Member {
		return wire.Member{Name: wire.Name(bytes.Repeat([]byte{b}, 32)), Ordinal: ordinal, Addr: netip.MustParseAddrPort("10.0.0.1:4001")}
	}
	obs := wire.Observation{Kind: wire.ChangeLeave, Member: member(0xab, 7)}
	list := wire.SectionList{Bits: 2, Value: 0x40, Age: 12, Members: []wire.Member{member(0x41, 1), member(0x42, 2)}}
	loss := wire.ElderLoss{Bits: 1, Value: 0x80, Elders: []wire.Member{member(0x81, 1)}}
	id := RandomIdentity()
	records := make([][]byte, 6)
	for i := range records {
		records[i] = id.SignRecord(Record{Name: id.Name(), Version: uint64(i + 1)})
	}
	prefix := namePrefix(id.Name())
	for _, c := range []struct {
		typ  wire.Type
		body []byte
		want string
	}{
		{wire.TypePing, []byte("sskit"), `payload 5 bytes "sskit"`},
		{wire.TypePong, []byte{0, 1}, "payload 2 bytes"},
		{wire.TypePing, nil, "payload 0 bytes"},
		{wire.TypeWitness, obs.Append(nil), "LEAVE abababab ordinal 7 at 10.0.0.1:4001"},
		{wire.TypeWitnessRequest, []byte{1}, "MALFORMED (0x04): body length does not match the message layout"},
		{wire.TypeStableset, wire.AppendStableset(nil, []wire.Member{member(1, 0), member(2, 1)}, []wire.Member{member(3, 2)}, nil), "2 members, 1 joining, 0 leaving"},
		{wire.TypeGossip, GossipBody(records[0]), fmt.Sprintf("1 records: %s v1", prefix)},
		{wire.TypeGossip, GossipBody(records...), fmt.Sprintf("6 records: %s v1, %[1]s v2, %[1]s v3, %[1]s v4, +2 more", prefix)},
		{wire.TypeGossip, append(GossipBody(records[0]), 9, 9), "1 records: " + prefix + " v1, 2 bytes after them"},
		{wire.TypeGossip, GossipBody(records[0])[:50], "1 records, layout broken at record 0"},
		{wire.TypeGossipFailure, []byte{wire.FailureNoSuitableNeighbors}, "reason 2 (no suitable neighbors)"},
		{wire.TypeGossipFailure, []byte{9}, "MALFORMED (0x04): gossip failure reason is not 1 to 4"},
		{wire.TypeSectionList, list.Append(nil), `prefix "01", age 12, 2 members`},
		{wire.TypeElderLoss, loss.Append(nil), `prefix "1", 1 elders`},
		{wire.Type(0x7f), []byte{1, 2, 3}, "body 3 bytes"},
	} {
		if got := summarizeBody(c.typ, c.body); got != c.want {
			t.Errorf("%v body %x: %q, want %q", c.typ, c.body, got, c.want)
		}
	}

	frame := func(typ wire.Type, id uint64) []byte {
		f, _ := wire.AppendFrame(nil, wire.Header{Type: typ, ID: id}, []byte{byte(id)})
		return f
	}
	var five []byte
	for i := range 5 {
		five = append(five, frame(wire.TypePing, uint64(1000+i))...)
	}
	half := frame(wire.TypePing, 5)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"frames in one write", five, "PING id=1000, PING id=1001, PING id=1002, +2 more frames"},
		{"half a frame", half[:len(half)/2], "23 of the 46 bytes of a frame"},
		{"part of a length", half[:2], "2 of the 4 bytes of a length prefix"},
		{"a frame then a length too large", append(frame(wire.TypePong, 1), 0, 1, 0, 1), "PONG id=1, rejected, FRAME_TOO_LARGE (0x01): frame larger than 65536 bytes"},
		{"a frame shorter than its header", append([]byte{0, 0, 0, 1}, 1), "rejected, MALFORMED (0x04): frame shorter than the 41-byte header"},
		{"a type not in the catalogue", frame(0x7f, 9), "unknown(0x7f) id=9 rejected, UNKNOWN_TYPE (0x03): message type not in the catalogue"},
		{"nothing", nil, "nothing"},
	} {
		if got := readRaw(c.b); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A handshake refused with a TLS alert closes with a CRYPTO_ERROR whose reason is often empty, so
// the close line names the alert.
func TestCloseInfoNamesTheTLSAlert(t *testing.T) {
	info := closeInfoOf(&quic.TransportError{ErrorCode: 0x12a, Remote: true}, time.Now())
	if got, want := info.String(), `remote transport close CRYPTO_ERROR 0x12a (tls: bad certificate) ""`; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	info = closeInfoOf(&quic.TransportError{ErrorCode: quic.FlowControlError}, time.Now())
	if got, want := info.String(), `local transport close FLOW_CONTROL_ERROR ""`; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}
