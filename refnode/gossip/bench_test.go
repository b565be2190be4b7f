package gossip

import (
	"testing"

	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// standard20 is a 20-record Standard gossip from neighbor a: a's record and 19 records of
// nodes around it, each with 5 neighbors like a real record under the degree limit.
func standard20(b *testing.B, me peer) (peer, []byte) {
	a := newPeer(1)
	others := peers(100, 19)
	var recs [][]byte
	aNeighbors := []wire.Name{me.name}
	for i, p := range others {
		if i < 4 {
			aNeighbors = append(aNeighbors, p.name)
		}
		recs = append(recs, p.concealed(b, 7, append(ghosts(i, 4), a.name)...))
	}
	recs = append(recs, a.concealed(b, 9, aNeighbors...))
	return a, body(recs...)
}

// acceptFixture is a node with 5 full neighbors, one of them a.
func acceptFixture(b *testing.B, a peer) *fixture {
	f := newFixture(b)
	f.link(a, true, true, 1)
	for _, p := range peers(2, 4) {
		f.link(p, true, true, 3)
	}
	return f
}

// BenchmarkAccept20Records measures Accept on a 20-record Standard gossip: "new", where every
// record is new, so it is verified, stored and gossiped on to 5 neighbors; and "known", where
// every record is already held, so it is verified and ignored.
func BenchmarkAccept20Records(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		me := newPeer(0)
		a, msg := standard20(b, me)
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			f := acceptFixture(b, a)
			b.StartTimer()
			res := f.db.Accept(a.name, a.addr, msg, t0)
			if !res.Changed || len(res.Messages) != 5 {
				b.Fatalf("got %s", describe(res))
			}
		}
	})
	b.Run("known", func(b *testing.B) {
		me := newPeer(0)
		a, msg := standard20(b, me)
		f := acceptFixture(b, a)
		if res := f.db.Accept(a.name, a.addr, msg, t0); !res.Changed {
			b.Fatalf("got %s", describe(res))
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			if res := f.db.Accept(a.name, a.addr, msg, t0); res.Changed || res.Ban != nil {
				b.Fatalf("got %s", describe(res))
			}
		}
	})
}

func BenchmarkDecodeGossip20Records(b *testing.B) {
	_, msg := standard20(b, newPeer(0))
	dst := make([]record.View, 0, 20)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		var err error
		if dst, err = DecodeGossip(msg, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGossipFor20Records measures producing one custom gossip from a database of 20
// records.
func BenchmarkGossipFor20Records(b *testing.B) {
	me := newPeer(0)
	a, msg := standard20(b, me)
	f := acceptFixture(b, a)
	f.db.Accept(a.name, a.addr, msg, t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := f.db.Gossip(a.name); !ok {
			b.Fatal("no gossip")
		}
	}
}

// route64 is node 0's view of 64 nodes on a ring with chords to the node 8 ahead: degree 4,
// diameter 7.
func route64(b *testing.B) (*DB, []peer) {
	var edges [][2]int
	for i := range 64 {
		edges = append(edges, [2]int{i, (i + 1) % 64}, [2]int{i, (i + 8) % 64})
	}
	return graphView(b, 64, fullLinks(edges...))
}

// BenchmarkRoute64Nodes measures Route over 64 nodes: "distant", where the shortest path is
// long enough, and "detour", where the exit is 2 hops away and no 3-hop path exists, so the
// search goes on to a 4-hop detour.
func BenchmarkRoute64Nodes(b *testing.B) {
	db, ps := route64(b)
	for _, tc := range []struct {
		name string
		to   int
		hops int
	}{{"distant", 36, 7}, {"detour", 2, 4}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				route, err := db.Route(ps[0].name, ps[tc.to].name, DefaultMinHops)
				if err != nil || len(route)-1 != tc.hops {
					b.Fatalf("route of %d hops, %v; want %d", len(route)-1, err, tc.hops)
				}
			}
		})
	}
}
