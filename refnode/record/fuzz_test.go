package record

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode and Verify. Neither may panic; Decode rejects only
// with an *Error and leaves the view empty; a record Decode accepts is exactly the input, every
// accessor works on it, AppendSigned would accept its fields, and they re-encode to the same
// payload (so no second byte string decodes to the same record).
func FuzzDecode(f *testing.F) {
	vf := readVectors(f)
	for _, v := range append(vf.Valid, vf.Invalid...) {
		if b, err := hex.DecodeString(v.Hex); err == nil {
			f.Add(b)
		}
	}
	// Tampered and cut copies of a record with an address and five neighbors.
	tr := testRecords()[2]
	good := mustSign(f, tr.r, tr.key)
	for _, i := range []int{0, 1, 2, 9, 10, 41, 42, 59, 60, 61, 93, len(good) - SignatureSize, len(good) - 1} {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		f.Add(b)
	}
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		var v View
		err := v.Decode(b)
		if err != nil {
			var rerr *Error
			if !errors.As(err, &rerr) || err == ErrSignature || err == ErrKey || err == ErrTooManyNeighbors {
				t.Fatalf("Decode returned %v, not a decoding error", err)
			}
			if v.Bytes() != nil || v.NumNeighbors() != 0 || v.Version() != 0 || v.Verify() != ErrSignature {
				t.Fatal("a rejected Decode left a record in the view")
			}
			return
		}
		if got := v.Bytes(); len(got) != len(b) || &got[0] != &b[0] {
			t.Fatalf("Bytes() is %d bytes, the input %d", len(got), len(b))
		}
		r := v.Record()
		if r.Name != v.Name() || r.Version != v.Version() || r.Version == 0 || r.Accepts != v.Accepts() || len(r.Neighbors) != v.NumNeighbors() {
			t.Fatal("accessors disagree with Record()")
		}
		if addr, ok := v.Addr(); ok != r.Addr.IsValid() || addr != r.Addr {
			t.Fatal("Addr() disagrees with Record()")
		}
		if err := r.check(); err != nil {
			t.Fatalf("Decode accepted a record AppendSigned refuses: %v", err)
		}
		if p := r.appendPayload(nil); !bytes.Equal(p, b[:len(b)-SignatureSize]) {
			t.Fatalf("accepted bytes are not canonical:\n got %x\nre-encoded %x", b, p)
		}
		if err := v.Verify(); err != nil && err != ErrSignature {
			t.Fatalf("Verify returned %v", err)
		}
	})
}
