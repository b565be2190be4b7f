package wire

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
)

func testMember(b byte, ordinal uint64, addr string) Member {
	var m Member
	for i := range m.Name {
		m.Name[i] = b
	}
	m.Ordinal = ordinal
	m.Addr = netip.MustParseAddrPort(addr)
	return m
}

func testHeader(t Type) Header {
	h := Header{Type: t, ID: 0x0102030405060708}
	for i := range h.Stableset {
		h.Stableset[i] = byte(i)
	}
	return h
}

func encode(t *testing.T, h Header, body []byte) []byte {
	t.Helper()
	frame, err := AppendFrame(nil, h, body)
	if err != nil {
		t.Fatalf("AppendFrame: %v", err)
	}
	return frame
}

func TestObservationRoundTrip(t *testing.T) {
	for _, kind := range []ChangeKind{ChangeJoin, ChangeLeave} {
		for _, addr := range []string{"127.0.0.7:4001", "[2001:db8::1]:65535"} {
			in := Observation{Kind: kind, Member: testMember(0xab, 42, addr)}
			frame := encode(t, testHeader(TypeWitnessRequest), in.Append(nil))
			if len(frame) != LengthPrefixSize+HeaderSize+ObservationSize {
				t.Fatalf("frame is %d bytes, want %d", len(frame), LengthPrefixSize+HeaderSize+ObservationSize)
			}
			h, body, n, err := DecodeFrame(frame)
			if err != nil || n != len(frame) {
				t.Fatalf("DecodeFrame: n=%d err=%v", n, err)
			}
			if h != testHeader(TypeWitnessRequest) {
				t.Fatalf("header %+v", h)
			}
			var out Observation
			if err := out.Decode(body); err != nil {
				t.Fatal(err)
			}
			if out != in {
				t.Fatalf("got %+v, want %+v", out, in)
			}
		}
	}
}

func TestStablesetRoundTrip(t *testing.T) {
	members := []Member{testMember(1, 0, "127.0.0.1:1"), testMember(2, 0, "127.0.0.2:2"), testMember(0, 1, "127.0.0.3:3")}
	joining := []Member{testMember(9, 3, "[::1]:9")}
	body := AppendStableset(nil, members, joining, nil)
	var v StablesetView
	if err := v.Decode(body); err != nil {
		t.Fatal(err)
	}
	want := [3][]Member{members, joining, nil}
	for list := range want {
		if v.Len(list) != len(want[list]) {
			t.Fatalf("list %d has %d entries, want %d", list, v.Len(list), len(want[list]))
		}
		for i, w := range want[list] {
			var m Member
			v.Entry(list, i, &m)
			if m != w {
				t.Fatalf("list %d entry %d = %+v, want %+v", list, i, m, w)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	okObs := Observation{Kind: ChangeJoin, Member: testMember(3, 1, "127.0.0.1:9")}
	cases := []struct {
		name  string
		frame []byte
		want  *Error
	}{
		{"oversize prefix", []byte{0, 1, 0, 1}, ErrFrameTooLarge},
		{"short frame", append([]byte{0, 0, 0, 3}, 1, 0, 0), ErrShortFrame},
		{"truncated", encode(t, testHeader(TypePing), []byte("hello"))[:20], ErrFrameTruncated},
		{"unknown type", encode(t, testHeader(Type(0x7f)), nil), ErrUnknownType},
		{"observation too short", encode(t, testHeader(TypeWitness), okObs.Append(nil)[:10]), ErrBodyLength},
		{"bad kind", encode(t, testHeader(TypeWitness), func() []byte { b := okObs.Append(nil); b[0] = 3; return b }()), ErrChangeKind},
		{"port zero", encode(t, testHeader(TypeWitness), func() []byte { b := okObs.Append(nil); b[57], b[58] = 0, 0; return b }()), ErrPortZero},
		{"unspecified address", encode(t, testHeader(TypeWitness), (&Observation{Kind: ChangeLeave, Member: testMember(1, 1, "0.0.0.0:5")}).Append(nil)), ErrAddressForm},
		{"stableset count mismatch", encode(t, testHeader(TypeStableset), []byte{0, 1, 0, 0, 0, 0}), ErrBodyLength},
		{"stableset out of order", encode(t, testHeader(TypeStableset), AppendStableset(nil, []Member{testMember(2, 0, "127.0.0.1:1"), testMember(1, 0, "127.0.0.1:2")}, nil, nil)), ErrStablesetOrder},
		{"gossip failure empty", encode(t, testHeader(TypeGossipFailure), nil), ErrBodyLength},
		{"gossip failure reason 5", encode(t, testHeader(TypeGossipFailure), []byte{5}), ErrFailureReason},
		{"stableset duplicate", encode(t, testHeader(TypeStableset), AppendStableset(nil, nil, []Member{testMember(2, 0, "127.0.0.1:1"), testMember(2, 0, "127.0.0.1:1")}, nil)), ErrStablesetOrder},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := DecodeFrame(c.frame)
			if err != c.want {
				t.Fatalf("DecodeFrame error = %v, want %v", err, c.want)
			}
			// The stream reader must agree with the buffer decoder.
			_, _, err = NewFrameReader(bytes.NewReader(c.frame)).Next()
			if err != c.want {
				t.Fatalf("FrameReader error = %v, want %v", err, c.want)
			}
		})
	}
}

// A GOSSIP body is opaque to the framing layer: whatever it holds reaches the neighborhood
// layer, which bans the sender of bad gossip (SPEC.md §9) rather than closing with MALFORMED.
func TestGossipBodyIsOpaqueToFraming(t *testing.T) {
	for _, body := range [][]byte{nil, {0}, []byte("not gossip at all")} {
		h, got, _, err := DecodeFrame(encode(t, testHeader(TypeGossip), body))
		if err != nil || h.Type != TypeGossip || !bytes.Equal(got, body) {
			t.Fatalf("GOSSIP %x: got %v %x %v", body, h.Type, got, err)
		}
	}
	for r := byte(FailureNoNeighbors); r <= FailureUnknown; r++ {
		if _, _, _, err := DecodeFrame(encode(t, testHeader(TypeGossipFailure), []byte{r})); err != nil {
			t.Fatalf("GOSSIP_FAILURE reason %d rejected: %v", r, err)
		}
	}
	if TypeGossip.String() != "GOSSIP" || TypeGossipFailure.String() != "GOSSIP_FAILURE" || !TypeGossip.Known() || TypeGossip.IsResponse() {
		t.Fatal("GOSSIP types are misnamed or misclassified")
	}
}

func TestFinishFrameRejectsOversize(t *testing.T) {
	if _, err := AppendFrame(nil, testHeader(TypePing), make([]byte, MaxBodySize)); err != nil {
		t.Fatalf("largest body rejected: %v", err)
	}
	if _, err := AppendFrame(nil, testHeader(TypePing), make([]byte, MaxBodySize+1)); err != ErrFrameTooLarge {
		t.Fatalf("oversize body: err = %v, want ErrFrameTooLarge", err)
	}
}

func TestFrameReaderSequence(t *testing.T) {
	var stream []byte
	stream = append(stream, encode(t, testHeader(TypePing), []byte("a"))...)
	stream = append(stream, encode(t, testHeader(TypePong), []byte("bb"))...)
	fr := NewFrameReader(bytes.NewReader(stream))
	for _, want := range []struct {
		typ  Type
		body string
	}{{TypePing, "a"}, {TypePong, "bb"}} {
		h, body, err := fr.Next()
		if err != nil || h.Type != want.typ || string(body) != want.body {
			t.Fatalf("got %v %q %v, want %v %q", h.Type, body, err, want.typ, want.body)
		}
	}
	if _, _, err := fr.Next(); err != io.EOF {
		t.Fatalf("clean end: err = %v, want io.EOF", err)
	}
}

func TestErrorsCarryCodes(t *testing.T) {
	var e *Error
	if !errors.As(error(ErrStablesetOrder), &e) || e.Code != CodeMalformed {
		t.Fatalf("ErrStablesetOrder code = %v", e)
	}
	if CodeMalformed.String() != "MALFORMED" || Type(0x7f).String() != "unknown(0x7f)" {
		t.Fatal("names of codes or types changed")
	}
}

func TestParseName(t *testing.T) {
	n := testMember(0xab, 0, "127.0.0.1:1").Name
	got, err := ParseName(n.String())
	if err != nil || got != n {
		t.Fatalf("ParseName(String()) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "ab", n.String()[:62] + "zz"} {
		if _, err := ParseName(bad); err == nil {
			t.Fatalf("ParseName(%q) accepted", bad)
		}
	}
}

// The codec must not allocate per message (the hot-path rule); benchmarks show the same with
// -benchmem, this test makes a regression fail.
func TestCodecAllocatesNothing(t *testing.T) {
	obs := Observation{Kind: ChangeJoin, Member: testMember(5, 9, "127.0.0.9:4000")}
	members := []Member{testMember(1, 0, "127.0.0.1:1"), testMember(2, 1, "127.0.0.2:2")}
	buf := make([]byte, 0, MaxWireSize)
	var sink Observation
	var view StablesetView
	allocs := testing.AllocsPerRun(200, func() {
		b, start := AppendFrameStart(buf[:0], testHeader(TypeWitness))
		b = obs.Append(b)
		_ = FinishFrame(b, start)
		_, body, _, err := DecodeFrame(b)
		if err != nil || sink.Decode(body) != nil {
			t.Fatal("decode failed")
		}
		b, start = AppendFrameStart(buf[:0], testHeader(TypeStableset))
		b = AppendStableset(b, members, nil, members[:1])
		_ = FinishFrame(b, start)
		_, body, _, _ = DecodeFrame(b)
		if view.Decode(body) != nil {
			t.Fatal("stableset decode failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("codec allocated %.1f times per message", allocs)
	}
}
