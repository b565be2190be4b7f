package gossip

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stableset/sskit/refnode/record"
)

// FuzzDecodeGossip feeds arbitrary bytes to DecodeGossip. It may not panic; it rejects only
// with its own errors or a *RecordError and then returns dst as it was; an accepted body is
// re-encoded by AppendGossip to exactly the input, so each list of records has one encoding.
// Accept on the same bytes may not panic either, and bans the sender exactly when decoding
// fails or a signature does not verify or a rule is broken, never for valid honest input.
func FuzzDecodeGossip(f *testing.F) {
	a, c := newPeer(1), newPeer(2)
	me := newPeer(0)
	f.Add(body(a.addressed(f, 1)))
	f.Add(body(a.concealed(f, 2, me.name), c.concealed(f, 1, a.name)))
	f.Add(body(a.addressed(f, 1, me.name), c.addressed(f, 1)))
	good := body(a.addressed(f, 3, me.name), c.concealed(f, 2, a.name, me.name))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add([]byte{0, 0})
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		dst := make([]record.View, 1, 2)
		views, err := DecodeGossip(b, dst)
		if err != nil {
			var re *RecordError
			known := errors.Is(err, ErrBodyTooLarge) || errors.Is(err, ErrNoRecords) || errors.Is(err, ErrTruncated) ||
				errors.Is(err, ErrTrailing) || errors.Is(err, ErrRecordLength) || errors.Is(err, ErrRecordOrder) || errors.As(err, &re)
			if !known {
				t.Fatalf("DecodeGossip returned an error of its own making: %v", err)
			}
			if len(views) != 1 {
				t.Fatal("a rejected body changed dst")
			}
		} else {
			var recs [][]byte
			for _, v := range views[1:] {
				recs = append(recs, v.Bytes())
			}
			again, err := AppendGossip(nil, recs...)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("accepted body does not re-encode to itself: %v", err)
			}
		}
		db, e := New(Config{Key: me.key, Addr: me.addr})
		if e != nil {
			t.Fatal(e)
		}
		res := db.Accept(a.name, a.addr, b, t0)
		if err != nil && (res.Ban == nil || !errors.Is(res.Ban.Reason, ErrMalformed)) {
			t.Fatalf("undecodable gossip was not banned as malformed: %s", describe(res))
		}
	})
}
