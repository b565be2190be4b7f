package wire

import (
	"bytes"
	"fmt"
	"testing"
)

// benchMessage is one message of each catalogue type, as the benchmarks encode it.
type benchMessage struct {
	h       Header
	payload []byte      // PING, PONG
	obs     Observation // WITNESS_REQUEST, WITNESS
	lists   [3][]Member // STABLESET: members, joining, leaving
}

// benchMembers returns n members in strictly increasing (ordinal, name) order.
func benchMembers(n int, firstOrdinal uint64, nameByte byte) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = testMember(nameByte, firstOrdinal+uint64(i), fmt.Sprintf("10.0.%d.%d:4001", i/250, 1+i%250))
	}
	return ms
}

// benchTypes are the frames on the hot paths (pings and the witness round trip); gossip and
// section frames are rare and decoded by their own layers.
var benchTypes = []Type{TypePing, TypePong, TypeWitnessRequest, TypeWitness, TypeStableset}

func benchMessageFor(typ Type) benchMessage {
	m := benchMessage{h: testHeader(typ)}
	switch typ {
	case TypePing, TypePong:
		m.payload = []byte("stableset-ping-01") // a small opaque payload
	case TypeWitnessRequest, TypeWitness:
		m.obs = Observation{Kind: ChangeJoin, Member: testMember(0xab, 42, "127.0.0.7:4001")}
	case TypeStableset:
		m.lists = [3][]Member{benchMembers(20, 0, 0x11), benchMembers(2, 100, 0x22), benchMembers(1, 200, 0x33)}
	}
	return m
}

// appendTo encodes the whole frame, length prefix included, after dst.
func (m *benchMessage) appendTo(dst []byte) []byte {
	dst, start := AppendFrameStart(dst, m.h)
	switch m.h.Type {
	case TypePing, TypePong:
		dst = append(dst, m.payload...)
	case TypeWitnessRequest, TypeWitness:
		dst = m.obs.Append(dst)
	case TypeStableset:
		dst = AppendStableset(dst, m.lists[0], m.lists[1], m.lists[2])
	}
	if err := FinishFrame(dst, start); err != nil {
		panic(err)
	}
	return dst
}

// decodeBody decodes body the way a node would and reads every value out of it. It returns a
// byte derived from the values so the compiler cannot drop the work.
func decodeBody(typ Type, body []byte, obs *Observation, view *StablesetView, m *Member) (byte, error) {
	switch typ {
	case TypePing, TypePong:
		if len(body) == 0 {
			return 0, nil
		}
		return body[len(body)-1], nil
	case TypeWitnessRequest, TypeWitness:
		if err := obs.Decode(body); err != nil {
			return 0, err
		}
		return obs.Member.Name[0] ^ byte(obs.Member.Ordinal) ^ byte(obs.Member.Addr.Port()), nil
	case TypeStableset:
		if err := view.Decode(body); err != nil {
			return 0, err
		}
		var x byte
		for list := ListMembers; list <= ListLeaving; list++ {
			for i := 0; i < view.Len(list); i++ {
				view.Entry(list, i, m)
				x ^= m.Name[0] ^ byte(m.Ordinal) ^ byte(m.Addr.Port())
			}
		}
		return x, nil
	}
	return 0, ErrUnknownType
}

var benchSink byte

func BenchmarkEncode(b *testing.B) {
	for _, typ := range benchTypes {
		b.Run(typ.String(), func(b *testing.B) {
			m := benchMessageFor(typ)
			buf := make([]byte, 0, MaxWireSize)
			b.ReportAllocs()
			b.SetBytes(int64(len(m.appendTo(buf[:0]))))
			for b.Loop() {
				buf = m.appendTo(buf[:0])
			}
			benchSink = buf[len(buf)-1]
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, typ := range benchTypes {
		b.Run(typ.String(), func(b *testing.B) {
			m := benchMessageFor(typ)
			frame := m.appendTo(nil)
			var (
				obs  Observation
				view StablesetView
				mem  Member
				x    byte
			)
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				h, body, n, err := DecodeFrame(frame)
				if err != nil || n != len(frame) || h.Type != typ {
					b.Fatalf("DecodeFrame: type %v, n=%d of %d, err=%v", h.Type, n, len(frame), err)
				}
				v, err := decodeBody(h.Type, body, &obs, &view, &mem)
				if err != nil {
					b.Fatal(err)
				}
				x ^= v
			}
			benchSink = x
		})
	}
}

// BenchmarkFrameReader reads one frame of each type per iteration from a stream in memory,
// through the reader a connection uses.
func BenchmarkFrameReader(b *testing.B) {
	var stream []byte
	for _, typ := range benchTypes {
		m := benchMessageFor(typ)
		stream = m.appendTo(stream)
	}
	src := bytes.NewReader(stream)
	fr := NewFrameReader(src)
	var (
		obs  Observation
		view StablesetView
		mem  Member
		x    byte
	)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		src.Reset(stream)
		for range benchTypes {
			h, body, err := fr.Next()
			if err != nil {
				b.Fatal(err)
			}
			v, err := decodeBody(h.Type, body, &obs, &view, &mem)
			if err != nil {
				b.Fatal(err)
			}
			x ^= v
		}
	}
	benchSink = x
}
