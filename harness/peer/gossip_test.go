package peer

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/stableset/sskit/refnode/gossip"
	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// The peer's records and refnode's are two implementations of SPEC.md §9: each must read what
// the other writes, byte for byte.
func TestRecordsAgreeWithRefnode(t *testing.T) {
	id, other := RandomIdentity(), RandomIdentity()
	r := Record{Name: id.Name(), Version: 7, Accepts: true, Addr: netip.MustParseAddrPort("192.0.2.1:4001"),
		Neighbors: []wire.Name{other.Name(), RandomIdentity().Name()}}
	mine := id.SignRecord(r)
	var v record.View
	if err := v.Decode(mine); err != nil {
		t.Fatalf("refnode cannot decode the peer's record: %v", err)
	}
	if err := v.Verify(); err != nil {
		t.Fatalf("refnode cannot verify the peer's record: %v", err)
	}
	theirs, err := (&record.Record{Name: id.Name(), Version: 7, Accepts: true, Addr: r.Addr, Neighbors: v.Record().Neighbors}).AppendSigned(nil, id.key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mine, theirs) {
		t.Fatalf("the two encodings differ:\npeer    %x\nrefnode %x", mine, theirs)
	}
	otherRec := other.SignRecord(Record{Name: other.Name(), Version: 1})
	body, err := gossip.AppendGossip(nil, SortRecords(mine, otherRec)...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, GossipBody(SortRecords(mine, otherRec)...)) {
		t.Fatal("gossip bodies differ")
	}
	got, err := ParseGossip(body)
	if err != nil || len(got) != 2 {
		t.Fatalf("ParseGossip: %v %v", got, err)
	}
	for _, g := range got {
		if g.Name == id.Name() && (g.Version != 7 || g.Addr != r.Addr || len(g.Neighbors) != 2 || !g.Lists(other.Name())) {
			t.Fatalf("parsed %+v", g.Record)
		}
	}
	tampered := bytes.Clone(mine)
	tampered[9] ^= 1 // the version's last byte
	if _, err := ParseGossip(GossipBody(tampered)); err == nil {
		t.Fatal("a tampered record parsed")
	}
	if _, err := ParseGossip(GossipBody(SortRecords(mine, otherRec)[1], SortRecords(mine, otherRec)[0])); err == nil {
		t.Fatal("records out of order parsed")
	}
}
