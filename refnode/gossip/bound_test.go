package gossip

import (
	"testing"
)

// NB-15: a neighbor that relays made-up records, each signed by its own key, fills the node
// up to MaxHeldRecords records of other nodes and no further. The rest are dropped and
// counted; the relay is not banned, and its own newer record is still taken in.
func TestHeldRecordsStopAtTheBound(t *testing.T) {
	f := newFixture(t)
	relay := newPeer(1)
	f.link(relay, true, true, 1)
	made := peers(100, MaxHeldRecords+200)
	const perBody = 400 // about 45 KB of records: under MaxBodySize
	version := uint64(1)
	for start := 0; start < len(made); start += perBody {
		version++
		recs := [][]byte{relay.concealed(t, version, f.me.name)}
		for _, p := range made[start:min(start+perBody, len(made))] {
			recs = append(recs, p.concealed(t, 1, relay.name))
		}
		wantNoBan(t, f.accept(relay, body(recs...)))
	}
	if n := len(f.db.Known()); n != MaxHeldRecords {
		t.Errorf("the node holds %d records of other nodes, want the bound %d", n, MaxHeldRecords)
	}
	if got, want := f.db.DroppedRecords(), uint64(len(made)+1-MaxHeldRecords); got != want {
		t.Errorf("dropped %d records, want %d", got, want)
	}
	if v, ok := f.db.Record(relay.name); !ok || v.Version() != version {
		t.Errorf("the relay's own record: held %v, version %d; want version %d", ok, v.Version(), version)
	}
}
