package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzDecodeFrame feeds arbitrary bytes to both decoders. They must agree, never panic, reject
// only with a *Error, and re-encode every frame they accept to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	if raw, err := os.ReadFile(vectorsPath); err == nil {
		var vf vectorFile
		if json.Unmarshal(raw, &vf) == nil {
			for _, v := range append(vf.Valid, vf.Invalid...) {
				if b, err := hex.DecodeString(v.Hex); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, body, n, err := DecodeFrame(data)
		_, rbody, rerr := NewFrameReader(bytes.NewReader(data)).Next()
		if err != nil {
			var werr *Error
			if !errors.As(err, &werr) {
				t.Fatalf("DecodeFrame returned a non-codec error %v", err)
			}
			if len(data) > 0 && rerr != err {
				t.Fatalf("decoders disagree: DecodeFrame %v, FrameReader %v", err, rerr)
			}
			return
		}
		if rerr != nil || !bytes.Equal(body, rbody) {
			t.Fatalf("FrameReader rejected a frame DecodeFrame accepted: %v", rerr)
		}
		again, err := AppendFrame(nil, h, reencodeBody(t, h.Type, body))
		if err != nil || !bytes.Equal(again, data[:n]) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, data[:n])
		}
	})
}

// reencodeBody decodes body into values and encodes those values again.
func reencodeBody(t *testing.T, typ Type, body []byte) []byte {
	switch typ {
	case TypeWitnessRequest, TypeWitness:
		var o Observation
		if err := o.Decode(body); err != nil {
			t.Fatal(err)
		}
		return o.Append(nil)
	case TypeStableset:
		var v StablesetView
		if err := v.Decode(body); err != nil {
			t.Fatal(err)
		}
		var lists [3][]Member
		for l := range lists {
			for i := 0; i < v.Len(l); i++ {
				var m Member
				v.Entry(l, i, &m)
				lists[l] = append(lists[l], m)
			}
		}
		return AppendStableset(nil, lists[0], lists[1], lists[2])
	case TypeSectionList:
		var l SectionList
		if err := l.Decode(body); err != nil {
			t.Fatal(err)
		}
		return l.Append(nil)
	case TypeElderLoss:
		var e ElderLoss
		if err := e.Decode(body); err != nil {
			t.Fatal(err)
		}
		return e.Append(nil)
	}
	return append([]byte(nil), body...)
}

// addVectorBodies seeds f with the bodies of the golden frames of type typ, valid and invalid.
func addVectorBodies(f *testing.F, typ Type) {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		return
	}
	var vf vectorFile
	if json.Unmarshal(raw, &vf) != nil {
		return
	}
	for _, v := range append(vf.Valid, vf.Invalid...) {
		b, err := hex.DecodeString(v.Hex)
		if err == nil && len(b) >= LengthPrefixSize+HeaderSize && Type(b[LengthPrefixSize]) == typ {
			f.Add(b[LengthPrefixSize+HeaderSize:])
		}
	}
}

// fuzzSectionBody checks one body against decode, a decoder that must never panic, reject only
// with a malformed-body *Error that CheckBody agrees with, and re-encode whatever it accepts to
// the same bytes. prefix returns what was decoded, for the prefix, count and order checks.
func fuzzSectionBody(t *testing.T, typ Type, data []byte, decode func([]byte) error, reencode func() []byte, prefix func() (uint8, uint8, []Member)) {
	err := decode(data)
	if cerr := CheckBody(typ, data); cerr != err {
		t.Fatalf("CheckBody %v, Decode %v", cerr, err)
	}
	if err != nil {
		var werr *Error
		if !errors.As(err, &werr) || werr.Code != CodeMalformed {
			t.Fatalf("Decode returned %v, want a MALFORMED *Error", err)
		}
		return
	}
	if again := reencode(); !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, data)
	}
	bits, value, ms := prefix()
	if bits > MaxSectionBits || len(ms) == 0 || len(ms) > MaxSectionListMembers {
		t.Fatalf("accepted prefix bits %d with %d members", bits, len(ms))
	}
	for i := range ms {
		if ms[i].Name[0]&PrefixMask(bits) != value || (i > 0 && !ms[i-1].Less(&ms[i])) {
			t.Fatalf("accepted member %d (%v, ordinal %d) of prefix %d/%#x out of prefix or order", i, ms[i].Name, ms[i].Ordinal, bits, value)
		}
	}
}

// FuzzSectionList feeds arbitrary bodies to SectionList.Decode, reusing one value across inputs
// as a node would.
func FuzzSectionList(f *testing.F) {
	addVectorBodies(f, TypeSectionList)
	var l SectionList
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzSectionBody(t, TypeSectionList, data, l.Decode,
			func() []byte { return l.Append(nil) },
			func() (uint8, uint8, []Member) { return l.Bits, l.Value, l.Members })
	})
}

// FuzzElderLoss feeds arbitrary bodies to ElderLoss.Decode, reusing one value across inputs.
func FuzzElderLoss(f *testing.F) {
	addVectorBodies(f, TypeElderLoss)
	var e ElderLoss
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzSectionBody(t, TypeElderLoss, data, e.Decode,
			func() []byte { return e.Append(nil) },
			func() (uint8, uint8, []Member) { return e.Bits, e.Value, e.Elders })
	})
}
