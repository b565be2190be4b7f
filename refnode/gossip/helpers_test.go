package gossip

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// t0 is the clock every test starts from.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// peer is a test node identity: a key derived from a label and an address of its own.
type peer struct {
	key  ed25519.PrivateKey
	name wire.Name
	addr netip.AddrPort
}

// newPeer makes peer i: key from a fixed seed, address 10.0.i/256.i%256 port 7000.
func newPeer(i int) peer {
	seed := sha256.Sum256(fmt.Appendf(nil, "sskit gossip test key %d", i))
	key := ed25519.NewKeyFromSeed(seed[:])
	return peer{
		key:  key,
		name: wire.Name(key.Public().(ed25519.PublicKey)),
		addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i % 256)}), 7000),
	}
}

// peers makes peers first..first+n-1.
func peers(first, n int) []peer {
	ps := make([]peer, n)
	for i := range ps {
		ps[i] = newPeer(first + i)
	}
	return ps
}

// ghosts returns n names nobody has a key or record for: ragged edges that pad a degree.
func ghosts(salt, n int) []wire.Name {
	ns := make([]wire.Name, n)
	for i := range ns {
		ns[i] = sha256.Sum256(fmt.Appendf(nil, "ghost %d %d", salt, i))
	}
	return ns
}

// rec is how a test describes a record to sign.
type rec struct {
	version   uint64
	accepts   bool // accepts connections
	withAddr  bool // the form with the address
	neighbors []wire.Name
}

// sign signs r for p, sorting and de-duplicating its neighbors.
func (p peer) sign(t testing.TB, r rec) []byte {
	t.Helper()
	ns := slices.Clone(r.neighbors)
	slices.SortFunc(ns, compareNames)
	ns = slices.Compact(ns)
	if r.version == 0 {
		r.version = 1
	}
	full := record.Record{Name: p.name, Version: r.version, Accepts: r.accepts, Neighbors: ns}
	if r.withAddr {
		full.Addr = p.addr
	}
	b, err := full.AppendSigned(nil, p.key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return b
}

// addressed signs p's accepting record with its address.
func (p peer) addressed(t testing.TB, version uint64, neighbors ...wire.Name) []byte {
	return p.sign(t, rec{version: version, accepts: true, withAddr: true, neighbors: neighbors})
}

// concealed signs p's accepting record without its address.
func (p peer) concealed(t testing.TB, version uint64, neighbors ...wire.Name) []byte {
	return p.sign(t, rec{version: version, accepts: true, neighbors: neighbors})
}

// body encodes records in name order, without the checks of AppendGossip.
func body(records ...[]byte) []byte {
	rs := slices.Clone(records)
	slices.SortFunc(rs, func(a, b []byte) int { return compareNames(wire.Name(a[nameOff:]), wire.Name(b[nameOff:])) })
	return appendBody(nil, rs)
}

// newDB makes the database of p, accepting connections at p.addr.
func newDB(t testing.TB, p peer) *DB {
	t.Helper()
	db, err := New(Config{Key: p.key, Addr: p.addr})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// fixture is a node under test and the peers around it.
type fixture struct {
	t  testing.TB
	me peer
	db *DB
}

func newFixture(t testing.TB) *fixture {
	me := newPeer(0)
	return &fixture{t: t, me: me, db: newDB(t, me)}
}

// link makes p a neighbor of the node under test with the given degree (counting the node
// under test when full), padding with ghosts: p's record is stored, in both forms when it
// accepts, and the own record lists p.
func (f *fixture) link(p peer, full, accepts bool, degree int) {
	f.t.Helper()
	var ns []wire.Name
	if full {
		ns = append(ns, f.me.name)
	}
	ns = append(ns, ghosts(int(p.name[0])<<8|int(p.name[1]), degree-len(ns))...)
	f.store(p.sign(f.t, rec{version: 1, accepts: accepts, withAddr: accepts, neighbors: ns}))
	if accepts {
		// The Debut or Introduction that made the link brought the addressed form; the
		// neighbor's Standard gossip brings the concealed one.
		f.store(p.sign(f.t, rec{version: 1, accepts: true, neighbors: ns}))
	}
	f.db.addNeighbor(p.name)
}

// store puts a signed record straight into the database, as if gossip had brought it.
func (f *fixture) store(b []byte) {
	f.t.Helper()
	var v record.View
	if err := v.Decode(b); err != nil {
		f.t.Fatal(err)
	}
	f.db.store(&v, t0)
}

// accept delivers a gossip body from p at its own address.
func (f *fixture) accept(p peer, b []byte) Result {
	f.t.Helper()
	return f.db.Accept(p.name, p.addr, b, t0)
}

// decode reads a message body's records back as Records.
func decode(t testing.TB, m Message) []record.Record {
	t.Helper()
	if m.Kind != KindGossip {
		t.Fatalf("message to %s is not gossip", short(m.To))
	}
	views, err := DecodeGossip(m.Body, nil)
	if err != nil {
		t.Fatalf("message to %s: %v", short(m.To), err)
	}
	rs := make([]record.Record, len(views))
	for i := range views {
		if err := views[i].Verify(); err != nil {
			t.Fatalf("message to %s: record %d: %v", short(m.To), i, err)
		}
		rs[i] = views[i].Record()
	}
	return rs
}

// find returns the record for name in rs.
func find(rs []record.Record, name wire.Name) (record.Record, bool) {
	for _, r := range rs {
		if r.Name == name {
			return r, true
		}
	}
	return record.Record{}, false
}

// messagesTo returns the messages addressed to name.
func messagesTo(res Result, name wire.Name) []Message {
	var ms []Message
	for _, m := range res.Messages {
		if m.To == name {
			ms = append(ms, m)
		}
	}
	return ms
}

// only returns the single message of res, failing otherwise.
func only(t testing.TB, res Result) Message {
	t.Helper()
	if len(res.Messages) != 1 {
		t.Fatalf("want 1 message, got %d: %s", len(res.Messages), describe(res))
	}
	return res.Messages[0]
}

// wantBan fails unless res bans sender for reason.
func wantBan(t testing.TB, res Result, sender wire.Name, reason error) {
	t.Helper()
	if res.Ban == nil {
		t.Fatalf("want a ban for %v, got %s", reason, describe(res))
	}
	if res.Ban.Name != sender || !errors.Is(res.Ban.Reason, reason) {
		t.Fatalf("want ban of %s for %v, got ban of %s for %v", short(sender), reason, short(res.Ban.Name), res.Ban.Reason)
	}
}

// wantNoBan fails if res bans anyone.
func wantNoBan(t testing.TB, res Result) {
	t.Helper()
	if res.Ban != nil {
		t.Fatalf("unexpected ban of %s: %v", short(res.Ban.Name), res.Ban.Reason)
	}
}

func short(n wire.Name) string { return n.String()[:8] }

func describe(res Result) string {
	s := fmt.Sprintf("{type %v changed %v refused %v note %q", res.Type, res.Changed, res.Refused, res.Note)
	if res.Ban != nil {
		s += fmt.Sprintf(" ban %s: %v", short(res.Ban.Name), res.Ban.Reason)
	}
	for _, m := range res.Messages {
		s += fmt.Sprintf(" [%v %v to %s, %d bytes]", m.Kind, m.Type, short(m.To), len(m.Body))
	}
	return s + "}"
}

func netipWithPort(a netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr(), port)
}

var netipZero netip.AddrPort
