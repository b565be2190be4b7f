package wire

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// Section fixtures, shared by these tests and the golden vectors (vectors_test.go).

// sectionMembers are four members of the section with prefix 01 (bits 2, value 0x40), in
// strictly increasing (ordinal, name) order; the two of ordinal 5 are ordered by name.
func sectionMembers() []Member {
	return []Member{
		testMember(0x55, 3, "127.0.0.5:4001"),
		testMember(0x44, 5, "[2001:db8::44]:4004"),
		testMember(0x66, 5, "127.0.0.6:4001"),
		testMember(0x77, 8, "127.0.0.7:4001"),
	}
}

// testSectionList is a well-formed list of the section with prefix 01.
func testSectionList() SectionList {
	l := SectionList{Bits: 2, Value: 0x40, Age: 52, Members: sectionMembers()}
	for i := range l.ID {
		l.ID[i] = 0xa0 + byte(i)
	}
	return l
}

// testElderLoss is a well-formed ELDER_LOSS for the section with prefix 1 (bits 1, value 0x80).
func testElderLoss() ElderLoss {
	return ElderLoss{Bits: 1, Value: 0x80, Elders: []Member{
		testMember(0x88, 1, "127.0.0.8:4001"),
		testMember(0x99, 2, "[2001:db8::99]:4009"),
	}}
}

// manySectionMembers returns n members whose names all start with 0x44 (so they share the
// prefixes 0, 01, 010 ...), with ordinals 0 to n-1.
func manySectionMembers(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = testMember(0x44, uint64(i), fmt.Sprintf("10.0.0.%d:4001", i+1))
	}
	return ms
}

// withMember returns a copy of ms with member i replaced by m.
func withMember(ms []Member, i int, m Member) []Member {
	out := append([]Member(nil), ms...)
	out[i] = m
	return out
}

// swapped returns a copy of ms with members i and j exchanged.
func swapped(ms []Member, i, j int) []Member {
	out := append([]Member(nil), ms...)
	out[i], out[j] = out[j], out[i]
	return out
}

// sectionListBody encodes l after applying change to a copy of it.
func sectionListBody(change func(l *SectionList)) []byte {
	l := testSectionList()
	change(&l)
	return l.Append(nil)
}

// elderLossBody encodes e after applying change to a copy of it.
func elderLossBody(change func(e *ElderLoss)) []byte {
	e := testElderLoss()
	change(&e)
	return e.Append(nil)
}

func TestSectionListRoundTrip(t *testing.T) {
	root := SectionList{Age: 1, Members: []Member{testMember(0xee, 0, "127.0.0.1:1")}}
	full := testSectionList()
	full.Bits, full.Value, full.Members = 8, 0x44, manySectionMembers(MaxSectionListMembers)
	full.Age = ^uint64(0)
	for name, in := range map[string]SectionList{"prefix 01": testSectionList(), "root, one member": root, "8 bits, 20 members": full} {
		t.Run(name, func(t *testing.T) {
			body := in.Append(nil)
			if want := sectionListFixed + len(in.Members)*MemberSize; len(body) != want {
				t.Fatalf("body is %d bytes, want %d", len(body), want)
			}
			frame := encode(t, testHeader(TypeSectionList), body)
			h, got, n, err := DecodeFrame(frame)
			if err != nil || n != len(frame) || h != testHeader(TypeSectionList) || !bytes.Equal(got, body) {
				t.Fatalf("DecodeFrame: header %+v, n=%d of %d, err=%v", h, n, len(frame), err)
			}
			var out SectionList
			if err := out.Decode(got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Fatalf("got %+v\nwant %+v", out, in)
			}
			if again := out.Append(nil); !bytes.Equal(again, body) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, body)
			}
		})
	}
}

func TestElderLossRoundTrip(t *testing.T) {
	eight := ElderLoss{Bits: 8, Value: 0xab, Elders: []Member{testMember(0xab, 7, "[::1]:65535")}}
	root := ElderLoss{Elders: manySectionMembers(MaxSectionListMembers)}
	for name, in := range map[string]ElderLoss{"prefix 1": testElderLoss(), "8 bits, one elder": eight, "root, 20 elders": root} {
		t.Run(name, func(t *testing.T) {
			body := in.Append(nil)
			if want := elderLossFixed + len(in.Elders)*MemberSize; len(body) != want {
				t.Fatalf("body is %d bytes, want %d", len(body), want)
			}
			frame := encode(t, testHeader(TypeElderLoss), body)
			h, got, n, err := DecodeFrame(frame)
			if err != nil || n != len(frame) || h != testHeader(TypeElderLoss) || !bytes.Equal(got, body) {
				t.Fatalf("DecodeFrame: header %+v, n=%d of %d, err=%v", h, n, len(frame), err)
			}
			var out ElderLoss
			if err := out.Decode(got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Fatalf("got %+v\nwant %+v", out, in)
			}
			if again := out.Append(nil); !bytes.Equal(again, body) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, body)
			}
		})
	}
}

// Decode reuses the caller's slice and leaves nothing of an earlier, longer list behind.
func TestSectionDecodeReusesMembers(t *testing.T) {
	l := SectionList{Members: make([]Member, 0, MaxSectionListMembers)}
	long := testSectionList()
	long.Members = manySectionMembers(10)
	long.Bits, long.Value = 1, 0
	if err := l.Decode(long.Append(nil)); err != nil {
		t.Fatal(err)
	}
	first := &l.Members[0]
	want := testSectionList()
	if err := l.Decode(want.Append(nil)); err != nil {
		t.Fatal(err)
	}
	if &l.Members[0] != first || !reflect.DeepEqual(l, want) {
		t.Fatalf("second decode: got %+v (same backing array: %v), want %+v", l, &l.Members[0] == first, want)
	}

	e := ElderLoss{Elders: make([]Member, 0, MaxSectionListMembers)}
	if err := e.Decode((&ElderLoss{Elders: manySectionMembers(5)}).Append(nil)); err != nil {
		t.Fatal(err)
	}
	wantLoss := testElderLoss()
	if err := e.Decode(wantLoss.Append(nil)); err != nil || !reflect.DeepEqual(e, wantLoss) {
		t.Fatalf("second decode: got %+v, %v, want %+v", e, err, wantLoss)
	}
}

// sectionRejectCase is a body that breaks the layout of its type and the exact error decoding
// it must give.
type sectionRejectCase struct {
	name string
	body []byte
	want *Error
}

func sectionListRejects() []sectionRejectCase {
	ok := sectionListBody(func(*SectionList) {})
	return []sectionRejectCase{
		{"empty body", nil, ErrBodyLength},
		{"shorter than the fixed part", ok[:sectionListFixed-1], ErrBodyLength},
		{"fixed part only, count 0", sectionListBody(func(l *SectionList) { l.Members = nil }), ErrSectionCount},
		{"count 0 with a member after it", func() []byte {
			b := append([]byte(nil), ok[:sectionListFixed+MemberSize]...)
			b[sectionListFixed-1] = 0
			return b
		}(), ErrSectionCount},
		{"count 21", sectionListBody(func(l *SectionList) { l.Bits, l.Value, l.Members = 1, 0, manySectionMembers(21) }), ErrSectionCount},
		{"count 255", func() []byte { b := append([]byte(nil), ok...); b[sectionListFixed-1] = 255; return b }(), ErrSectionCount},
		{"prefix bits 9", sectionListBody(func(l *SectionList) { l.Bits, l.Value = 9, 0 }), ErrSectionPrefix},
		{"prefix bits 255", sectionListBody(func(l *SectionList) { l.Bits = 255 }), ErrSectionPrefix},
		{"value with a bit past the prefix", sectionListBody(func(l *SectionList) { l.Value = 0x50 }), ErrSectionPrefix},
		{"root prefix with a value", sectionListBody(func(l *SectionList) { l.Bits, l.Value = 0, 0x80 }), ErrSectionPrefix},
		{"prefix 7 bits, value's last bit set", sectionListBody(func(l *SectionList) { l.Bits, l.Value = 7, 0x45 }), ErrSectionPrefix},
		{"first member outside the prefix", sectionListBody(func(l *SectionList) { l.Members = withMember(l.Members, 0, testMember(0xc5, 3, "127.0.0.5:4001")) }), ErrSectionPrefix},
		{"last member outside the prefix", sectionListBody(func(l *SectionList) { l.Members = withMember(l.Members, 3, testMember(0x88, 8, "127.0.0.7:4001")) }), ErrSectionPrefix},
		{"8-bit prefix, member one bit off", sectionListBody(func(l *SectionList) {
			l.Bits, l.Value, l.Members = 8, 0x44, []Member{testMember(0x44, 1, "127.0.0.1:1"), testMember(0x45, 2, "127.0.0.1:2")}
		}), ErrSectionPrefix},
		{"members out of ordinal order", sectionListBody(func(l *SectionList) { l.Members = swapped(l.Members, 0, 1) }), ErrStablesetOrder},
		{"same ordinal, names out of order", sectionListBody(func(l *SectionList) { l.Members = swapped(l.Members, 1, 2) }), ErrStablesetOrder},
		{"a member twice", sectionListBody(func(l *SectionList) { l.Members = withMember(l.Members, 2, l.Members[1]) }), ErrStablesetOrder},
		{"count above the members held", ok[:len(ok)-MemberSize], ErrBodyLength},
		{"count below the members held", func() []byte { b := append([]byte(nil), ok...); b[sectionListFixed-1] = 3; return b }(), ErrBodyLength},
		{"one byte too many", append(append([]byte(nil), ok...), 0), ErrBodyLength},
		{"one byte too few", ok[:len(ok)-1], ErrBodyLength},
		{"member with port 0", sectionListBody(func(l *SectionList) { l.Members = withMember(l.Members, 1, testMember(0x44, 5, "127.0.0.4:0")) }), ErrPortZero},
		{"member with address ::", sectionListBody(func(l *SectionList) { l.Members = withMember(l.Members, 1, testMember(0x44, 5, "[::]:4004")) }), ErrAddressForm},
		{"member with a multicast address", sectionListBody(func(l *SectionList) { l.Members = withMember(l.Members, 1, testMember(0x44, 5, "224.0.0.1:4004")) }), ErrAddressForm},
	}
}

func elderLossRejects() []sectionRejectCase {
	ok := elderLossBody(func(*ElderLoss) {})
	return []sectionRejectCase{
		{"empty body", nil, ErrBodyLength},
		{"shorter than the fixed part", ok[:elderLossFixed-1], ErrBodyLength},
		{"count 0", elderLossBody(func(e *ElderLoss) { e.Elders = nil }), ErrSectionCount},
		{"count 0 with an elder after it", func() []byte { b := append([]byte(nil), ok[:elderLossFixed+MemberSize]...); b[2] = 0; return b }(), ErrSectionCount},
		{"count 21", elderLossBody(func(e *ElderLoss) { e.Bits, e.Value, e.Elders = 2, 0x40, manySectionMembers(21) }), ErrSectionCount},
		{"count 255", func() []byte { b := append([]byte(nil), ok...); b[2] = 255; return b }(), ErrSectionCount},
		{"prefix bits 9", elderLossBody(func(e *ElderLoss) { e.Bits = 9 }), ErrSectionPrefix},
		{"value with a bit past the prefix", elderLossBody(func(e *ElderLoss) { e.Value = 0xc0 }), ErrSectionPrefix},
		{"root prefix with a value", elderLossBody(func(e *ElderLoss) { e.Bits = 0 }), ErrSectionPrefix},
		{"elder outside the prefix", elderLossBody(func(e *ElderLoss) { e.Elders = withMember(e.Elders, 1, testMember(0x11, 2, "127.0.0.1:4001")) }), ErrSectionPrefix},
		{"elders out of order", elderLossBody(func(e *ElderLoss) { e.Elders = swapped(e.Elders, 0, 1) }), ErrStablesetOrder},
		{"an elder twice", elderLossBody(func(e *ElderLoss) { e.Elders = withMember(e.Elders, 1, e.Elders[0]) }), ErrStablesetOrder},
		{"count above the elders held", ok[:len(ok)-MemberSize], ErrBodyLength},
		{"count below the elders held", func() []byte { b := append([]byte(nil), ok...); b[2] = 1; return b }(), ErrBodyLength},
		{"one byte too many", append(append([]byte(nil), ok...), 0), ErrBodyLength},
		{"one byte too few", ok[:len(ok)-1], ErrBodyLength},
		{"elder with port 0", elderLossBody(func(e *ElderLoss) { e.Elders = withMember(e.Elders, 0, testMember(0x88, 1, "127.0.0.8:0")) }), ErrPortZero},
		{"elder with address 0.0.0.0", elderLossBody(func(e *ElderLoss) { e.Elders = withMember(e.Elders, 0, testMember(0x88, 1, "0.0.0.0:4001")) }), ErrAddressForm},
	}
}

// Every error path of SectionList.Decode, checked directly, through CheckBody and through both
// frame decoders.
func TestSectionListDecodeRejects(t *testing.T) {
	for _, c := range sectionListRejects() {
		t.Run(c.name, func(t *testing.T) {
			var l SectionList
			if err := l.Decode(c.body); err != c.want {
				t.Fatalf("Decode error = %v, want %v", err, c.want)
			}
			checkRejectedFrame(t, TypeSectionList, c)
		})
	}
}

// Every error path of ElderLoss.Decode, checked the same way.
func TestElderLossDecodeRejects(t *testing.T) {
	for _, c := range elderLossRejects() {
		t.Run(c.name, func(t *testing.T) {
			var e ElderLoss
			if err := e.Decode(c.body); err != c.want {
				t.Fatalf("Decode error = %v, want %v", err, c.want)
			}
			checkRejectedFrame(t, TypeElderLoss, c)
		})
	}
}

func checkRejectedFrame(t *testing.T, typ Type, c sectionRejectCase) {
	t.Helper()
	if err := CheckBody(typ, c.body); err != c.want {
		t.Fatalf("CheckBody error = %v, want %v", err, c.want)
	}
	frame := encode(t, testHeader(typ), c.body)
	if _, _, _, err := DecodeFrame(frame); err != c.want {
		t.Fatalf("DecodeFrame error = %v, want %v", err, c.want)
	}
	if _, _, err := NewFrameReader(bytes.NewReader(frame)).Next(); err != c.want {
		t.Fatalf("FrameReader error = %v, want %v", err, c.want)
	}
	if c.want.Code != CodeMalformed {
		t.Fatalf("%v closes with %v, want MALFORMED (MSG-7)", c.want, c.want.Code)
	}
}

func TestPrefixMask(t *testing.T) {
	for bits, want := range []uint8{0x00, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe, 0xff} {
		if got := PrefixMask(uint8(bits)); got != want {
			t.Errorf("PrefixMask(%d) = %#02x, want %#02x", bits, got, want)
		}
	}
}

func TestSectionTypes(t *testing.T) {
	for _, c := range []struct {
		typ  Type
		name string
		code uint8
	}{{TypeSectionList, "SECTION_LIST", 0x30}, {TypeElderLoss, "ELDER_LOSS", 0x31}} {
		if c.typ.String() != c.name || uint8(c.typ) != c.code || !c.typ.Known() || c.typ.IsResponse() {
			t.Errorf("%v (0x%02x) is misnamed or misclassified", c.typ, uint8(c.typ))
		}
	}
}
