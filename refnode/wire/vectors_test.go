package wire

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"net/netip"
	"os"
	"reflect"
	"testing"
)

// The golden vectors live beside SPEC.md so that other implementations can use them too.
const vectorsPath = "../../conformance/vectors/frames.json"

var updateVectors = flag.Bool("update", false, "rewrite conformance/vectors/frames.json from the table in this file")

type vectorMember struct {
	Name    string `json:"name"`
	Ordinal uint64 `json:"ordinal"`
	Addr    string `json:"addr"`
}

type vectorFields struct {
	Type      string        `json:"type"`
	TypeCode  uint8         `json:"type_code"`
	ID        uint64        `json:"id"`
	Stableset string        `json:"stableset"`
	Payload   *string       `json:"payload,omitempty"` // PING, PONG and GOSSIP, hex
	Reason    uint8         `json:"reason,omitempty"`  // GOSSIP_FAILURE
	Kind      string        `json:"kind,omitempty"`    // WITNESS_REQUEST and WITNESS
	Member    *vectorMember `json:"member,omitempty"`
	// SECTION_LIST and ELDER_LOSS: the section's prefix (pointers, since 0 is a valid value).
	PrefixBits  *uint8 `json:"prefix_bits,omitempty"`
	PrefixValue *uint8 `json:"prefix_value,omitempty"`
	// SECTION_LIST only: the section's age and its stableset id (not the header's).
	Age              *uint64         `json:"age,omitempty"`
	SectionStableset string          `json:"section_stableset,omitempty"`
	Members          *[]vectorMember `json:"members,omitempty"` // STABLESET and SECTION_LIST
	Joining          *[]vectorMember `json:"joining,omitempty"`
	Leaving          *[]vectorMember `json:"leaving,omitempty"`
	Elders           *[]vectorMember `json:"elders,omitempty"` // ELDER_LOSS
}

type vector struct {
	Name   string        `json:"name"`
	Hex    string        `json:"hex"`
	Fields *vectorFields `json:"fields,omitempty"` // valid frames
	Error  string        `json:"error,omitempty"`  // invalid frames: the error code name
	Code   *Code         `json:"code,omitempty"`
}

type vectorFile struct {
	Comment string   `json:"comment"`
	Valid   []vector `json:"valid"`
	Invalid []vector `json:"invalid"`
}

func toVectorMember(m Member) vectorMember {
	return vectorMember{Name: m.Name.String(), Ordinal: m.Ordinal, Addr: m.Addr.String()}
}

func toVectorMemberList(ms []Member) *[]vectorMember {
	out := []vectorMember{}
	for _, m := range ms {
		out = append(out, toVectorMember(m))
	}
	return &out
}

func toVectorMembers(v *StablesetView, list int) *[]vectorMember {
	out := []vectorMember{}
	for i := 0; i < v.Len(list); i++ {
		var m Member
		v.Entry(list, i, &m)
		out = append(out, toVectorMember(m))
	}
	return &out
}

// fieldsOf decodes a frame into the vector's field form.
func fieldsOf(t *testing.T, frame []byte) *vectorFields {
	t.Helper()
	h, body, n, err := DecodeFrame(frame)
	if err != nil || n != len(frame) {
		t.Fatalf("decode: n=%d of %d, err=%v", n, len(frame), err)
	}
	f := &vectorFields{Type: h.Type.String(), TypeCode: uint8(h.Type), ID: h.ID, Stableset: hex.EncodeToString(h.Stableset[:])}
	switch h.Type {
	case TypePing, TypePong, TypeGossip:
		p := hex.EncodeToString(body)
		f.Payload = &p
	case TypeGossipFailure:
		f.Reason = body[0]
	case TypeWitnessRequest, TypeWitness:
		var o Observation
		if err := o.Decode(body); err != nil {
			t.Fatal(err)
		}
		m := toVectorMember(o.Member)
		f.Kind, f.Member = o.Kind.String(), &m
	case TypeStableset:
		var v StablesetView
		if err := v.Decode(body); err != nil {
			t.Fatal(err)
		}
		f.Members, f.Joining, f.Leaving = toVectorMembers(&v, ListMembers), toVectorMembers(&v, ListJoining), toVectorMembers(&v, ListLeaving)
	case TypeSectionList:
		var l SectionList
		if err := l.Decode(body); err != nil {
			t.Fatal(err)
		}
		f.PrefixBits, f.PrefixValue, f.Age = &l.Bits, &l.Value, &l.Age
		f.SectionStableset, f.Members = hex.EncodeToString(l.ID[:]), toVectorMemberList(l.Members)
	case TypeElderLoss:
		var e ElderLoss
		if err := e.Decode(body); err != nil {
			t.Fatal(err)
		}
		f.PrefixBits, f.PrefixValue, f.Elders = &e.Bits, &e.Value, toVectorMemberList(e.Elders)
	}
	return f
}

func memberFromVector(t *testing.T, vm vectorMember) Member {
	t.Helper()
	n, err := ParseName(vm.Name)
	if err != nil {
		t.Fatal(err)
	}
	return Member{Name: n, Ordinal: vm.Ordinal, Addr: netip.MustParseAddrPort(vm.Addr)}
}

// encodeFields builds the frame from the vector's fields, independently of its bytes.
func encodeFields(t *testing.T, f *vectorFields) []byte {
	t.Helper()
	h := Header{Type: Type(f.TypeCode), ID: f.ID}
	if _, err := hex.Decode(h.Stableset[:], []byte(f.Stableset)); err != nil {
		t.Fatal(err)
	}
	var body []byte
	switch h.Type {
	case TypePing, TypePong, TypeGossip:
		body, _ = hex.DecodeString(*f.Payload)
	case TypeGossipFailure:
		body = []byte{f.Reason}
	case TypeWitnessRequest, TypeWitness:
		kind := map[string]ChangeKind{"JOIN": ChangeJoin, "LEAVE": ChangeLeave}[f.Kind]
		o := Observation{Kind: kind, Member: memberFromVector(t, *f.Member)}
		body = o.Append(nil)
	case TypeStableset:
		lists := [3][]Member{}
		for i, vl := range []*[]vectorMember{f.Members, f.Joining, f.Leaving} {
			for _, vm := range *vl {
				lists[i] = append(lists[i], memberFromVector(t, vm))
			}
		}
		body = AppendStableset(nil, lists[0], lists[1], lists[2])
	case TypeSectionList:
		l := SectionList{Bits: *f.PrefixBits, Value: *f.PrefixValue, Age: *f.Age}
		if _, err := hex.Decode(l.ID[:], []byte(f.SectionStableset)); err != nil {
			t.Fatal(err)
		}
		for _, vm := range *f.Members {
			l.Members = append(l.Members, memberFromVector(t, vm))
		}
		body = l.Append(nil)
	case TypeElderLoss:
		e := ElderLoss{Bits: *f.PrefixBits, Value: *f.PrefixValue}
		for _, vm := range *f.Elders {
			e.Elders = append(e.Elders, memberFromVector(t, vm))
		}
		body = e.Append(nil)
	}
	return encode(t, h, body)
}

// gossipOneRecord is a GOSSIP body (SPEC.md §9) holding one record: version 3 of the node whose
// seed is 32 zero bytes, accepting connections at 127.0.0.1:4001, listing one neighbor (0x22
// then zeros), signed. The framing layer treats it as opaque bytes; package gossip's tests decode
// and verify the same layout.
const gossipOneRecord = "0001009d010300000000000000033b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29" +
	"00000000000000000000ffff7f0000010fa101220000000000000000000000000000000000000000000000000000000000" +
	"0000e8ec6a3f76af94686d7b743b0d706a724f67d33ffbbf07474752037b5af21029a08283e705bc5c257a500b2a6dde1b" +
	"711fbaa1672f0acbf0c80029277abbbc07"

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorTable is the source of frames.json, used only with -update.
func vectorTable(t *testing.T) vectorFile {
	a, b, c := testMember(0x11, 0, "127.0.0.1:4001"), testMember(0x22, 0, "127.0.0.2:4001"), testMember(0x33, 1, "[2001:db8::33]:4003")
	obs := Observation{Kind: ChangeJoin, Member: c}
	leave := Observation{Kind: ChangeLeave, Member: b}
	sectionList, elderLoss := testSectionList(), testElderLoss()
	valid := []struct {
		name  string
		frame []byte
	}{
		{"ping-empty", encode(t, Header{Type: TypePing, ID: 1}, nil)},
		{"ping-payload", encode(t, testHeader(TypePing), []byte("stableset"))},
		{"pong-payload", encode(t, testHeader(TypePong), []byte("stableset"))},
		{"witness-request-join-ipv6", encode(t, testHeader(TypeWitnessRequest), obs.Append(nil))},
		{"witness-leave-ipv4", encode(t, Header{Type: TypeWitness, ID: 0xffffffffffffffff}, leave.Append(nil))},
		{"stableset-empty", encode(t, Header{Type: TypeStableset, ID: 1}, AppendStableset(nil, nil, nil, nil))},
		{"stableset-full", encode(t, testHeader(TypeStableset), AppendStableset(nil, []Member{a, b}, []Member{c}, []Member{b}))},
		{"gossip-one-record", encode(t, testHeader(TypeGossip), mustHex(t, gossipOneRecord))},
		{"gossip-failure-no-suitable-neighbors", encode(t, testHeader(TypeGossipFailure), []byte{FailureNoSuitableNeighbors})},
		{"section-list-prefix-01", encode(t, testHeader(TypeSectionList), sectionList.Append(nil))},
		{"section-list-root-one-member", encode(t, Header{Type: TypeSectionList, ID: 1}, (&SectionList{Age: 1, Members: []Member{testMember(0xee, 0, "127.0.0.1:4001")}}).Append(nil))},
		{"elder-loss-prefix-1", encode(t, testHeader(TypeElderLoss), elderLoss.Append(nil))},
		{"elder-loss-prefix-8-bits", encode(t, Header{Type: TypeElderLoss, ID: 1}, (&ElderLoss{Bits: 8, Value: 0xab, Elders: []Member{testMember(0xab, 7, "127.0.0.1:4001")}}).Append(nil))},
	}
	okObs := obs.Append(nil)
	okList, okLoss := sectionList.Append(nil), elderLoss.Append(nil)
	badKind := append([]byte{9}, okObs[1:]...)
	portZero := append(append([]byte{}, okObs[:len(okObs)-2]...), 0, 0)
	invalid := []struct {
		name  string
		frame []byte
		err   *Error
	}{
		{"length-above-maximum", []byte{0x00, 0x01, 0x00, 0x01}, ErrFrameTooLarge},
		{"shorter-than-header", []byte{0, 0, 0, 1, byte(TypePing)}, ErrShortFrame},
		{"truncated-body", encode(t, testHeader(TypeWitness), okObs)[:60], ErrFrameTruncated},
		{"unknown-type-0x7f", encode(t, Header{Type: 0x7f, ID: 7}, nil), ErrUnknownType},
		{"witness-body-too-long", encode(t, testHeader(TypeWitness), append(okObs, 0)), ErrBodyLength},
		{"witness-bad-kind", encode(t, testHeader(TypeWitnessRequest), badKind), ErrChangeKind},
		{"witness-port-zero", encode(t, testHeader(TypeWitnessRequest), portZero), ErrPortZero},
		{"stableset-unsorted", encode(t, testHeader(TypeStableset), AppendStableset(nil, []Member{b, a}, nil, nil)), ErrStablesetOrder},
		{"gossip-failure-reason-0", encode(t, testHeader(TypeGossipFailure), []byte{0}), ErrFailureReason},
		{"gossip-failure-two-bytes", encode(t, testHeader(TypeGossipFailure), []byte{1, 1}), ErrBodyLength},
		{"section-list-count-0", encode(t, testHeader(TypeSectionList), sectionListBody(func(l *SectionList) { l.Members = nil })), ErrSectionCount},
		{"section-list-count-21", encode(t, testHeader(TypeSectionList), sectionListBody(func(l *SectionList) { l.Bits, l.Value, l.Members = 1, 0, manySectionMembers(21) })), ErrSectionCount},
		{"section-list-prefix-bits-9", encode(t, testHeader(TypeSectionList), sectionListBody(func(l *SectionList) { l.Bits, l.Value = 9, 0 })), ErrSectionPrefix},
		{"section-list-value-past-prefix", encode(t, testHeader(TypeSectionList), sectionListBody(func(l *SectionList) { l.Value = 0x50 })), ErrSectionPrefix},
		{"section-list-member-outside-prefix", encode(t, testHeader(TypeSectionList), sectionListBody(func(l *SectionList) { l.Members = withMember(l.Members, 3, testMember(0x88, 8, "127.0.0.7:4001")) })), ErrSectionPrefix},
		{"section-list-unsorted", encode(t, testHeader(TypeSectionList), sectionListBody(func(l *SectionList) { l.Members = swapped(l.Members, 1, 2) })), ErrStablesetOrder},
		{"section-list-count-above-members", encode(t, testHeader(TypeSectionList), okList[:len(okList)-MemberSize]), ErrBodyLength},
		{"section-list-body-too-long", encode(t, testHeader(TypeSectionList), append(append([]byte(nil), okList...), 0)), ErrBodyLength},
		{"elder-loss-count-0", encode(t, testHeader(TypeElderLoss), elderLossBody(func(e *ElderLoss) { e.Elders = nil })), ErrSectionCount},
		{"elder-loss-count-21", encode(t, testHeader(TypeElderLoss), elderLossBody(func(e *ElderLoss) { e.Bits, e.Value, e.Elders = 2, 0x40, manySectionMembers(21) })), ErrSectionCount},
		{"elder-loss-prefix-bits-9", encode(t, testHeader(TypeElderLoss), elderLossBody(func(e *ElderLoss) { e.Bits = 9 })), ErrSectionPrefix},
		{"elder-loss-value-past-prefix", encode(t, testHeader(TypeElderLoss), elderLossBody(func(e *ElderLoss) { e.Value = 0xc0 })), ErrSectionPrefix},
		{"elder-loss-member-outside-prefix", encode(t, testHeader(TypeElderLoss), elderLossBody(func(e *ElderLoss) { e.Elders = withMember(e.Elders, 1, testMember(0x11, 2, "127.0.0.1:4001")) })), ErrSectionPrefix},
		{"elder-loss-unsorted", encode(t, testHeader(TypeElderLoss), elderLossBody(func(e *ElderLoss) { e.Elders = swapped(e.Elders, 0, 1) })), ErrStablesetOrder},
		{"elder-loss-count-above-members", encode(t, testHeader(TypeElderLoss), okLoss[:len(okLoss)-MemberSize]), ErrBodyLength},
		{"elder-loss-body-too-long", encode(t, testHeader(TypeElderLoss), append(append([]byte(nil), okLoss...), 0)), ErrBodyLength},
	}

	vf := vectorFile{Comment: "Golden frames for SPEC.md v1. hex is the whole frame with its length prefix. " +
		"Valid frames must decode to fields and re-encode to the same bytes; invalid frames must be rejected with the named error code."}
	for _, v := range valid {
		vf.Valid = append(vf.Valid, vector{Name: v.name, Hex: hex.EncodeToString(v.frame), Fields: fieldsOf(t, v.frame)})
	}
	for _, v := range invalid {
		code := v.err.Code
		vf.Invalid = append(vf.Invalid, vector{Name: v.name, Hex: hex.EncodeToString(v.frame), Error: code.String(), Code: &code})
	}
	return vf
}

func TestGoldenVectors(t *testing.T) {
	if *updateVectors {
		out, err := json.MarshalIndent(vectorTable(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("read vectors (run go test ./refnode/wire -update to create them): %v", err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Valid) == 0 || len(vf.Invalid) == 0 {
		t.Fatal("vector file has no valid or no invalid frames")
	}
	seen := map[Type]bool{}
	for _, v := range vf.Valid {
		t.Run(v.Name, func(t *testing.T) {
			frame, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			if got := fieldsOf(t, frame); !reflect.DeepEqual(got, v.Fields) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(v.Fields)
				t.Fatalf("decoded fields differ\n got %s\nwant %s", gj, wj)
			}
			if again := encodeFields(t, v.Fields); hex.EncodeToString(again) != v.Hex {
				t.Fatalf("re-encoding gave different bytes\n got %x\nwant %s", again, v.Hex)
			}
			seen[Type(v.Fields.TypeCode)] = true
		})
	}
	for _, typ := range Types {
		if !seen[typ] {
			t.Errorf("no golden vector for %v", typ)
		}
	}
	for _, v := range vf.Invalid {
		t.Run(v.Name, func(t *testing.T) {
			frame, _ := hex.DecodeString(v.Hex)
			_, _, _, err := DecodeFrame(frame)
			var werr *Error
			if !errors.As(err, &werr) || werr.Code.String() != v.Error || werr.Code != *v.Code {
				t.Fatalf("got %v, want code %s", err, v.Error)
			}
		})
	}
}
