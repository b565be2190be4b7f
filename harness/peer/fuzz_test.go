package peer

import (
	"bytes"
	"crypto/ed25519"
	"net/netip"
	"testing"

	"github.com/stableset/sskit/refnode/wire"
)

// FuzzParseGossip feeds arbitrary bytes to the harness's own gossip parser, which reads every
// GOSSIP a node under test sends: a stranger's node may send anything, and the kit must judge it,
// not crash. ParseGossip may not panic; what it accepts keeps SPEC.md §9's layout (records in
// strictly increasing name order, each record's neighbors too, none its own name) and encodes
// back to exactly the input, so that a byte-for-byte comparison of relayed records means what it
// says.
func FuzzParseGossip(f *testing.F) {
	a, c := RandomIdentity(), RandomIdentity()
	ra := a.SignRecord(Record{Name: a.Name(), Version: 2, Accepts: true, Addr: netip.MustParseAddrPort("127.0.0.1:4000"), Neighbors: []wire.Name{c.Name()}})
	rc := c.SignRecord(Record{Name: c.Name(), Version: 1, Neighbors: []wire.Name{a.Name()}})
	good := GossipBody(SortRecords(ra, rc)...)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(bytes.Clone(good), 0))
	f.Add(GossipBody(ra))
	f.Add([]byte{0, 1, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ParseGossip(b)
		if err != nil {
			return
		}
		var raw [][]byte
		for i, r := range recs {
			if i > 0 && bytes.Compare(recs[i-1].Name[:], r.Name[:]) >= 0 {
				t.Fatalf("records %d and %d out of name order", i-1, i)
			}
			for j, n := range r.Neighbors {
				if n == r.Name || j > 0 && bytes.Compare(r.Neighbors[j-1][:], n[:]) >= 0 {
					t.Fatalf("record %d: neighbor %d repeated, out of order or its own name", i, j)
				}
			}
			if r.Version == 0 {
				t.Fatalf("record %d: version 0 accepted", i)
			}
			raw = append(raw, r.Bytes)
		}
		if again := GossipBody(raw...); !bytes.Equal(again, b) {
			t.Fatalf("accepted %x, which encodes back as %x", b, again)
		}
	})
}

// The parser refuses records whose neighbors break §9's order, although signed: the node under
// test broke NB-1 if it sent one.
func TestParseGossipRefusesNeighborsOutOfOrder(t *testing.T) {
	a, c, d := RandomIdentity(), RandomIdentity(), RandomIdentity()
	lo, hi := c.Name(), d.Name()
	if bytes.Compare(lo[:], hi[:]) > 0 {
		lo, hi = hi, lo
	}
	for name, neighbors := range map[string][]wire.Name{
		"out of order": {hi, lo},
		"repeated":     {lo, lo},
		"its own name": {a.Name()},
	} {
		r := Record{Name: a.Name(), Version: 1, Neighbors: neighbors}
		if _, err := ParseGossip(GossipBody(a.signUnsorted(r))); err == nil {
			t.Errorf("neighbors %s: accepted", name)
		}
	}
	if _, err := ParseGossip(GossipBody(a.SignRecord(Record{Name: a.Name(), Version: 1, Neighbors: []wire.Name{hi, lo}}))); err != nil {
		t.Errorf("a record SignRecord sorted is refused: %v", err)
	}
}

// signUnsorted signs r with its neighbors in the order given, as a faulty node would.
func (id *Identity) signUnsorted(r Record) []byte {
	p := r.payload()
	return append(p, ed25519.Sign(id.key, append([]byte(recordContext), p...))...)
}
