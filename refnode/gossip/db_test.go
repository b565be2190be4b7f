package gossip

import (
	"bytes"
	"crypto/ed25519"
	"net/netip"
	"testing"

	"github.com/stableset/sskit/refnode/record"
)

// Rulebook 76 with sskit settlement 6: the own version starts at 1 and every change adds
// exactly 1, re-signed; a change that changes nothing adds nothing.
func TestOwnVersionStartsAtOneAndGrowsByOnePerChange(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	checkOwn := func(want uint64) {
		t.Helper()
		if f.db.Version() != want {
			t.Fatalf("version %d, want %d", f.db.Version(), want)
		}
		for _, b := range [][]byte{f.db.ownConcealed, f.db.ownAddressed} {
			var v record.View
			if err := v.Decode(b); err != nil || v.Verify() != nil || v.Version() != want {
				t.Fatalf("own record not re-signed at version %d: %v", want, err)
			}
		}
		var v record.View
		_ = v.Decode(f.db.OwnRecord())
		if _, ok := v.Addr(); ok || !v.Accepts() {
			t.Fatal("the concealed own record has an address or does not accept connections")
		}
		_ = v.Decode(f.db.debutRecord())
		if addr, ok := v.Addr(); !ok || addr != f.me.addr {
			t.Fatal("the addressed own record lacks the address")
		}
	}
	checkOwn(1)
	if !f.db.addNeighbor(a.name) {
		t.Fatal("adding a neighbor changed nothing")
	}
	checkOwn(2)
	if f.db.addNeighbor(a.name) {
		t.Fatal("adding a neighbor twice changed the record")
	}
	checkOwn(2)
	if !f.db.removeNeighbor(a.name) {
		t.Fatal("removing a neighbor changed nothing")
	}
	checkOwn(3)
	if f.db.removeNeighbor(a.name) {
		t.Fatal("removing a missing neighbor changed the record")
	}
	checkOwn(3)
}

func TestFirstVersionLetsARestartedNodeResume(t *testing.T) {
	me := newPeer(0)
	db, err := New(Config{Key: me.key, Addr: me.addr, FirstVersion: 42})
	if err != nil || db.Version() != 42 {
		t.Fatalf("version %d, %v; want 42", db.Version(), err)
	}
}

func TestNewRefusesABadConfig(t *testing.T) {
	me := newPeer(0)
	for name, cfg := range map[string]Config{
		"short key":       {Key: me.key[:10]},
		"degree too big":  {Key: me.key, MaxDegree: 256},
		"negative degree": {Key: me.key, MaxDegree: -1},
		"port 0":          {Key: me.key, Addr: netip.AddrPortFrom(me.addr.Addr(), 0)},
		"mismatched key":  {Key: append(bytes.Clone(me.key[:32]), newPeer(1).key[32:]...)},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestOriginateOnlyNodeHasNoAddressAndDoesNotAccept(t *testing.T) {
	me := newPeer(0)
	db, err := New(Config{Key: me.key})
	if err != nil {
		t.Fatal(err)
	}
	var v record.View
	if err := v.Decode(db.debutRecord()); err != nil || v.Accepts() {
		t.Fatal("an originate-only node's Debut record accepts connections")
	}
	if _, ok := v.Addr(); ok {
		t.Fatal("an originate-only node's Debut record has an address")
	}
}

func TestIPv4MappedOwnAddressIsStoredAsIPv4(t *testing.T) {
	me := newPeer(0)
	mapped := netip.AddrPortFrom(netip.AddrFrom16(me.addr.Addr().As16()), me.addr.Port())
	db, err := New(Config{Key: me.key, Addr: mapped})
	if err != nil {
		t.Fatal(err)
	}
	if addr, _ := db.Addr(me.name); addr != me.addr {
		t.Fatalf("own address %v, want %v", addr, me.addr)
	}
}

// Rulebook 78: records are kept and relayed as the exact signed bytes, in a copy of their own.
func TestStoredRecordsAreTheExactSignedBytes(t *testing.T) {
	f := newFixture(t)
	a, c := newPeer(1), newPeer(2)
	f.link(a, true, true, 1)
	rc := c.concealed(t, 7, a.name)
	in := body(a.concealed(t, 2, f.me.name, c.name), rc)
	if res := f.accept(a, in); !res.Changed {
		t.Fatalf("gossip was not incorporated: %s", describe(res))
	}
	clear(in) // the caller reuses its buffer
	b := newPeer(3)
	f.link(b, true, true, 1)
	m, ok := f.db.Gossip(b.name)
	if !ok || !bytes.Contains(m.Body, rc) {
		t.Fatal("the relayed record is not the exact bytes received")
	}
}

// Rulebook 83: a link is full only when both records list each other.
func TestFullNeighborsListEachOther(t *testing.T) {
	f := newFixture(t)
	full, half, stranger, unknown := newPeer(1), newPeer(2), newPeer(3), newPeer(4)
	f.link(full, true, true, 1)
	f.link(half, false, true, 1)
	f.store(stranger.concealed(t, 1, f.me.name)) // lists us; we do not list it
	f.db.addNeighbor(unknown.name)               // we list it; no record
	if !f.db.IsFull(f.me.name, full.name) || !f.db.IsFull(full.name, f.me.name) {
		t.Error("a node that lists us and that we list is not a full neighbor")
	}
	for _, p := range []peer{half, stranger, unknown} {
		if f.db.IsFull(f.me.name, p.name) {
			t.Errorf("peer %s is a full neighbor", short(p.name))
		}
	}
	gotFull, gotHalf := f.db.Neighbors()
	if len(gotFull) != 1 || gotFull[0] != full.name || len(gotHalf) != 2 {
		t.Fatalf("Neighbors: %d full, %d half; want 1 and 2", len(gotFull), len(gotHalf))
	}
}

// Rulebook 74 as sskit settles it (7): a degree is the number of neighbors a node's own
// record lists, ragged edges and half links included.
func TestDegreeCountsTheNeighborsOfTheOwnRecord(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	f.store(a.concealed(t, 1, append(ghosts(1, 3), f.me.name)...))
	if d, ok := f.db.Degree(a.name); !ok || d != 4 {
		t.Fatalf("Degree(a) = %d, %v; want 4 (3 unknown nodes and us)", d, ok)
	}
	f.db.addNeighbor(a.name)
	f.db.addNeighbor(ghosts(2, 1)[0])
	if d, _ := f.db.Degree(f.me.name); d != 2 {
		t.Fatalf("own degree %d, want 2 (one full, one half)", d)
	}
	if _, ok := f.db.Degree(newPeer(9).name); ok {
		t.Fatal("the degree of an unknown node is known")
	}
}

func TestRecordOfSelfIsTheConcealedOwnRecord(t *testing.T) {
	f := newFixture(t)
	v, ok := f.db.Record(f.me.name)
	if !ok || !bytes.Equal(v.Bytes(), f.db.OwnRecord()) {
		t.Fatal("Record(self) is not the own record")
	}
	if got := f.db.Own(); got.Name != f.me.name || got.Version != 1 || got.Addr != f.me.addr {
		t.Fatalf("Own() = %+v", got)
	}
	if f.db.Name() != wireName(f.me.key) {
		t.Fatal("Name() is not the public key")
	}
}

func wireName(k ed25519.PrivateKey) [32]byte { return [32]byte(k.Public().(ed25519.PublicKey)) }

// TestChangesCountWhatTheRecordsHeldShow: the count behind ADM-12's changed moves for the own
// record's new version, a record stored, a newer version of it and a record dropped, and for
// nothing else: the same version again, its other form (concealed after addressed), or a change
// to the own record that changes nothing.
func TestChangesCountWhatTheRecordsHeldShow(t *testing.T) {
	f := newFixture(t)
	a := newPeer(1)
	want := uint64(0)
	step := func(what string, moves bool, do func()) {
		t.Helper()
		do()
		if moves {
			want++
		}
		if got := f.db.Changes(); got != want {
			t.Fatalf("after %s: %d changes, want %d", what, got, want)
		}
	}
	step("nothing", false, func() {})
	step("a's record stored", true, func() { f.store(a.addressed(t, 1)) })
	step("the same version again", false, func() { f.store(a.addressed(t, 1)) })
	step("its concealed form", false, func() { f.store(a.concealed(t, 1)) })
	step("a newer version", true, func() { f.store(a.concealed(t, 2)) })
	step("an older version", false, func() { f.store(a.addressed(t, 1)) })
	step("a listed", true, func() { f.db.addNeighbor(a.name) })
	step("a listed again", false, func() { f.db.addNeighbor(a.name) })
	step("a withdrawn", true, func() { f.db.removeNeighbor(a.name) })
	step("a forgotten", true, func() { f.db.forget(a.name) })
	step("a forgotten again", false, func() { f.db.forget(a.name) })
}
