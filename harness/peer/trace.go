package peer

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/wire"
)

// Trace is a frame trace: every frame the Conns given it with WithTrace wrote or decoded, every
// raw write, and every event of their connections (dialed, accepted, a bad frame from the node,
// an end of stream, the close), for an implementer to read what happened on the wire. It is safe
// for concurrent use. A Conn without a Trace pays one nil check per frame and builds nothing.
type Trace struct {
	start time.Time

	mu     sync.Mutex
	events []TraceEvent
	conns  map[string]int // connections so far per label, to tell a label's connections apart
}

// NewTrace returns an empty trace whose times count from start.
func NewTrace(start time.Time) *Trace { return &Trace{start: start, conns: map[string]int{}} }

// WithTrace makes every connection the Conn or Listener makes record to t, under label: the
// peer's name in the scenario. A label's second and later connections show as label#2, label#3.
func WithTrace(t *Trace, label string) Option {
	return func(o *options) { o.trace, o.traceLabel = t, label }
}

// EventKind says what a TraceEvent records.
type EventKind uint8

const (
	EventSent        EventKind = iota + 1 // the peer wrote a whole frame (Send, Request, Ping, an answer)
	EventReceived                         // the peer decoded a whole frame the node sent
	EventRawWrite                         // the peer wrote bytes as they are (SendRaw)
	EventWriteFailed                      // the stream refused a write
	EventStreamEnd                        // a side ended its stream (FIN) between frames, or the peer within one
	EventStreamReset                      // the stream was reset; the connection may live on
	EventDialed                           // the peer's handshake with the node and its stream are done
	EventDialFailed                       // the peer's dial failed: handshake or stream
	EventAccepted                         // the node dialed the peer and opened its stream
	EventBadFrame                         // the node sent a frame the codec rejects
	EventClosed                           // the connection ended
	EventNote                             // a line of context, such as the step being run
)

var eventNames = [...]string{
	EventSent: "", EventReceived: "", // frames show their type instead
	EventRawWrite: "raw write", EventWriteFailed: "write failed", EventStreamEnd: "end of stream",
	EventStreamReset: "stream reset", EventDialed: "dialed", EventDialFailed: "dial failed",
	EventAccepted: "accepted", EventBadFrame: "bad frame", EventClosed: "closed", EventNote: "note",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Direction says which way an event went: from the peer to the node or back.
type Direction uint8

const (
	DirNone     Direction = iota // neither side: an idle timeout, a note
	DirToNode                    // the peer sent it or did it
	DirFromNode                  // the node sent it or did it
)

func (d Direction) String() string {
	switch d {
	case DirToNode:
		return "→ node"
	case DirFromNode:
		return "← node"
	}
	return "      " // as wide as the others, so that columns line up
}

// TraceEvent is one line of a trace.
type TraceEvent struct {
	At     time.Time
	Conn   string // the peer's label, label#n from its second connection on; empty for a note
	Kind   EventKind
	Dir    Direction
	Header wire.Header // for EventSent and EventReceived
	// Size is the frame's size on the wire with its length prefix, or the size of the raw write or
	// of the write that failed.
	Size   int
	Detail string     // a summary of the body, addresses, an error, how the connection ended
	Close  *CloseInfo // for EventClosed
}

// isFrame reports whether the event is a frame and so has an id and a type.
func (e *TraceEvent) isFrame() bool { return e.Kind == EventSent || e.Kind == EventReceived }

// what names the event in its line: a frame by its type, anything else by its kind.
func (e *TraceEvent) what() string {
	if e.isFrame() {
		return e.Header.Type.String()
	}
	return e.Kind.String()
}

// Note adds a line of context at the current time, such as the step that is about to run.
func (t *Trace) Note(text string) {
	t.add(TraceEvent{At: time.Now(), Kind: EventNote, Detail: text})
}

func (t *Trace) add(e TraceEvent) {
	t.mu.Lock()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

// connLabel names one more connection of label.
func (t *Trace) connLabel(label string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.conns[label]++
	if n := t.conns[label]; n > 1 {
		return fmt.Sprintf("%s#%d", label, n)
	}
	return label
}

// Events returns the events so far in time order. Events of different goroutines (the reader,
// the writer, the watcher of the close) are added as they finish, not quite in time order.
func (t *Trace) Events() []TraceEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	slices.SortStableFunc(t.events, func(a, b TraceEvent) int { return a.At.Compare(b.At) })
	return slices.Clone(t.events)
}

// Empty reports whether the trace holds no frame and no connection event (notes do not count).
func (t *Trace) Empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.events {
		if t.events[i].Kind != EventNote {
			return false
		}
	}
	return true
}

// WriteTo writes the trace as text, one event per line in time order, in aligned columns: time in
// ms since the trace's start, peer, direction, frame type or event, message id, size in bytes,
// and a detail. A note takes a whole line.
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	events := t.Events()
	labelW, whatW, idW, sizeW := len("peer"), len("frame"), len("id"), len("bytes")
	for i := range events {
		e := &events[i]
		if e.Kind == EventNote {
			continue
		}
		labelW = max(labelW, len([]rune(e.Conn)))
		whatW = max(whatW, len(e.what()))
		if e.isFrame() {
			idW = max(idW, len(fmt.Sprint(e.Header.ID)))
		}
		sizeW = max(sizeW, len(fmt.Sprint(e.Size)))
	}
	var b strings.Builder
	line := func(ms, label, dir, what, id, size, detail string) {
		s := fmt.Sprintf("%10s  %-*s  %s  %-*s  %*s  %*s  %s", ms, labelW, label, dir, whatW, what, idW, id, sizeW, size, detail)
		b.WriteString(strings.TrimRight(s, " "))
		b.WriteByte('\n')
	}
	line("ms", "peer", "dir   ", "frame", "id", "bytes", "detail")
	for i := range events {
		e := &events[i]
		ms := fmt.Sprintf("%.3f", float64(e.At.Sub(t.start))/float64(time.Millisecond))
		if e.Kind == EventNote {
			fmt.Fprintf(&b, "%10s  ── %s\n", ms, e.Detail)
			continue
		}
		id, size := "", ""
		if e.isFrame() {
			id = fmt.Sprint(e.Header.ID)
		}
		if e.Size > 0 || e.isFrame() {
			size = fmt.Sprint(e.Size)
		}
		line(ms, e.Conn, e.Dir.String(), e.what(), id, size, e.Detail)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// --- what a Conn records ---------------------------------------------------------------------

// The methods below run only for a Conn with a trace: the caller checks c.trace != nil, so that a
// Conn without one formats nothing.

func (c *Conn) traceFrame(kind EventKind, dir Direction, at time.Time, h wire.Header, body []byte) {
	c.trace.add(TraceEvent{At: at, Conn: c.label, Kind: kind, Dir: dir, Header: h,
		Size: wire.LengthPrefixSize + wire.HeaderSize + len(body), Detail: summarizeBody(h.Type, body)})
}

func (c *Conn) traceEvent(kind EventKind, dir Direction, at time.Time, size int, detail string) {
	c.trace.add(TraceEvent{At: at, Conn: c.label, Kind: kind, Dir: dir, Size: size, Detail: detail})
}

// traceConnected records the dial or the accept that made c, before c reads anything.
func (c *Conn) traceConnected(accepted bool, o options) {
	if accepted {
		c.traceEvent(EventAccepted, DirFromNode, time.Now(), 0,
			fmt.Sprintf("from %s at %v, to %v%s", namePrefix(c.remote), c.RemoteAddr(), c.LocalAddr(), dialNotes(o)))
		return
	}
	c.traceEvent(EventDialed, DirToNode, time.Now(), 0,
		fmt.Sprintf("to %s at %v, from %v%s", namePrefix(c.remote), c.RemoteAddr(), c.LocalAddr(), dialNotes(o)))
}

// traceReadEnd records why the reader stopped, unless the connection's end says it (the close
// event does).
func (c *Conn) traceReadEnd(err error, at time.Time) {
	var (
		bad *BadFrameError
		se  *quic.StreamError
	)
	switch {
	case errors.As(err, &bad):
		c.traceEvent(EventBadFrame, DirFromNode, at, 0, describeCodecError(bad.Err))
	case errors.Is(err, io.EOF):
		c.traceEvent(EventStreamEnd, DirFromNode, at, 0, "the node ended its stream between frames")
	case errors.As(err, &se) && !se.Remote:
		// The peer's own StopSending stopped its reader; that call's line says so already.
	case errors.As(err, &se):
		c.traceEvent(EventStreamReset, DirFromNode, at, 0, fmt.Sprintf("code %v (0x%02x)", wire.Code(se.ErrorCode), uint64(se.ErrorCode)))
	}
}

func (c *Conn) traceClosed(info *CloseInfo) {
	dir := DirToNode
	switch {
	case info.Remote:
		dir = DirFromNode
	case !info.Application && info.TransportCode == 0:
		dir = DirNone // an idle timeout or a stateless reset: neither side closed it
	}
	c.trace.add(TraceEvent{At: info.At, Conn: c.label, Kind: EventClosed, Dir: dir, Detail: info.String(), Close: info})
}

// traceDialFailed records a dial that made no Conn.
func traceDialFailed(o options, err error) {
	o.trace.add(TraceEvent{At: time.Now(), Conn: o.connLabel, Kind: EventDialFailed, Dir: DirToNode,
		Detail: strings.TrimPrefix(err.Error(), "peer: ") + dialNotes(o)})
}

// dialNotes lists the options that make a connection unusual, for the dial and accept lines.
func dialNotes(o options) string {
	var notes []string
	if o.cert != CertValid {
		notes = append(notes, "certificate "+o.cert.String())
	}
	if len(o.alpn) != 1 || o.alpn[0] != wire.ALPN {
		notes = append(notes, fmt.Sprintf("ALPN %q", o.alpn))
	}
	if o.noKeepAlive {
		notes = append(notes, "no keep-alives")
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, ", ") + ")"
}

// --- summaries -------------------------------------------------------------------------------

// namePrefixLen is how much of a name a trace shows: enough to tell the nodes of a scenario
// apart and to find the name in their logs.
const namePrefixLen = 4

func namePrefix(n wire.Name) string { return hex.EncodeToString(n[:namePrefixLen]) }

// summarizeBody says in a few words what a frame's body holds, or why it does not decode.
func summarizeBody(typ wire.Type, body []byte) string {
	switch typ {
	case wire.TypePing, wire.TypePong:
		return summarizePayload(body)
	case wire.TypeWitnessRequest, wire.TypeWitness:
		var o wire.Observation
		if err := o.Decode(body); err != nil {
			return describeCodecError(err)
		}
		return fmt.Sprintf("%v %s ordinal %d at %v", o.Kind, namePrefix(o.Member.Name), o.Member.Ordinal, o.Member.Addr)
	case wire.TypeStableset:
		var v wire.StablesetView
		if err := v.Decode(body); err != nil {
			return describeCodecError(err)
		}
		return fmt.Sprintf("%d members, %d joining, %d leaving", v.Len(wire.ListMembers), v.Len(wire.ListJoining), v.Len(wire.ListLeaving))
	case wire.TypeGossip:
		return summarizeGossip(body)
	case wire.TypeGossipFailure:
		if err := wire.CheckGossipFailure(body); err != nil {
			return describeCodecError(err)
		}
		return fmt.Sprintf("reason %d (%s)", body[0], failureReasons[body[0]])
	case wire.TypeSectionList:
		var l wire.SectionList
		if err := l.Decode(body); err != nil {
			return describeCodecError(err)
		}
		return fmt.Sprintf("prefix %q, age %d, %d members", prefixBits(l.Bits, l.Value), l.Age, len(l.Members))
	case wire.TypeElderLoss:
		var e wire.ElderLoss
		if err := e.Decode(body); err != nil {
			return describeCodecError(err)
		}
		return fmt.Sprintf("prefix %q, %d elders", prefixBits(e.Bits, e.Value), len(e.Elders))
	}
	return fmt.Sprintf("body %d bytes", len(body))
}

var failureReasons = [...]string{
	wire.FailureNoNeighbors:         "no neighbors",
	wire.FailureNoSuitableNeighbors: "no suitable neighbors",
	wire.FailureManualRejection:     "manual rejection",
	wire.FailureUnknown:             "unknown",
}

// quotedPayloadMax is the longest payload a trace shows as text, when it is printable.
const quotedPayloadMax = 24

func summarizePayload(p []byte) string {
	s := fmt.Sprintf("payload %d bytes", len(p))
	if len(p) == 0 || len(p) > quotedPayloadMax {
		return s
	}
	for _, b := range p {
		if b < 0x20 || b > 0x7e {
			return s
		}
	}
	return fmt.Sprintf("%s %q", s, p)
}

// prefixBits writes a section prefix as its bits, "01" for 2 bits of 0x40.
func prefixBits(bits, value uint8) string {
	if bits == 0 {
		return ""
	}
	return fmt.Sprintf("%0*b", bits, value>>(8-bits))
}

// gossipNamesShown is how many records of a GOSSIP a trace names.
const gossipNamesShown = 4

// summarizeGossip names the records of a GOSSIP body and their versions. It only walks the
// layout: checking the signatures is the node's job and too slow for a trace.
func summarizeGossip(body []byte) string {
	if len(body) < 2 {
		return fmt.Sprintf("body %d bytes, shorter than its count", len(body))
	}
	n := int(binary.BigEndian.Uint16(body))
	rest := body[2:]
	var names []string
	for i := range n {
		if len(rest) < 2 || len(rest) < 2+int(binary.BigEndian.Uint16(rest)) {
			return fmt.Sprintf("%d records, layout broken at record %d", n, i)
		}
		size := int(binary.BigEndian.Uint16(rest))
		r := rest[2 : 2+size]
		rest = rest[2+size:]
		if i >= gossipNamesShown {
			continue
		}
		if len(r) < 42 {
			names = append(names, "(short record)")
			continue
		}
		names = append(names, fmt.Sprintf("%s v%d", hex.EncodeToString(r[10:10+namePrefixLen]), binary.BigEndian.Uint64(r[2:10])))
	}
	if n > gossipNamesShown {
		names = append(names, fmt.Sprintf("+%d more", n-gossipNamesShown))
	}
	s := fmt.Sprintf("%d records: %s", n, strings.Join(names, ", "))
	if len(rest) > 0 {
		s += fmt.Sprintf(", %d bytes after them", len(rest))
	}
	return s
}

// describeCodecError writes a codec error as SPEC.md names its code, then the reason.
func describeCodecError(err error) string {
	var werr *wire.Error
	if !errors.As(err, &werr) {
		return err.Error()
	}
	return fmt.Sprintf("%v (0x%02x): %s", werr.Code, uint64(werr.Code), werr.Reason)
}

// rawHexShown is how many leading bytes of a raw write a trace shows.
const rawHexShown = 16

// summarizeRaw shows the first bytes of a raw write and what the codec reads in them.
func summarizeRaw(b []byte) string {
	shown := hex.EncodeToString(b[:min(len(b), rawHexShown)])
	if len(b) > rawHexShown {
		shown += "…"
	}
	return shown + "  codec: " + readRaw(b)
}

// rawFramesNamed is how many whole frames of a raw write a trace names.
const rawFramesNamed = 3

// readRaw says what the codec makes of bytes written raw: the whole frames they hold, then what
// stops it: a frame it rejects, or one that is not all there.
func readRaw(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	var parts []string
	frames := 0
	stop := ""
	for len(b) > 0 {
		h, _, n, err := wire.DecodeFrame(b)
		if err != nil {
			stop = rawStop(b, err)
			break
		}
		if frames < rawFramesNamed {
			parts = append(parts, fmt.Sprintf("%v id=%d", h.Type, h.ID))
		}
		frames++
		b = b[n:]
	}
	if frames > rawFramesNamed {
		parts = append(parts, fmt.Sprintf("+%d more frames", frames-rawFramesNamed))
	}
	if stop != "" {
		parts = append(parts, stop)
	}
	return strings.Join(parts, ", ")
}

// rawStop describes the first frame of b, which the codec rejects with err.
func rawStop(b []byte, err error) string {
	if err == wire.ErrFrameTruncated {
		if len(b) < wire.LengthPrefixSize {
			return fmt.Sprintf("%d of the %d bytes of a length prefix", len(b), wire.LengthPrefixSize)
		}
		return fmt.Sprintf("%d of the %d bytes of a frame", len(b), wire.LengthPrefixSize+int(binary.BigEndian.Uint32(b)))
	}
	if n := binary.BigEndian.Uint32(b); len(b) >= wire.LengthPrefixSize+wire.HeaderSize && n >= wire.HeaderSize && n <= wire.MaxFrameSize {
		// The header was read, so the frame's type and id are known.
		id := binary.BigEndian.Uint64(b[wire.LengthPrefixSize+1:])
		return fmt.Sprintf("%v id=%d rejected, %s", wire.Type(b[wire.LengthPrefixSize]), id, describeCodecError(err))
	}
	return "rejected, " + describeCodecError(err)
}
