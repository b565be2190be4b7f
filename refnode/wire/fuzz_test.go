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
	}
	return append([]byte(nil), body...)
}
