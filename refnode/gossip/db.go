package gossip

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// Defaults of Config, the MASQ constants (rulebook "Numbers used in code").
const (
	DefaultMaxDegree     = 5                // MAX_DEGREE
	DefaultPassExpiry    = 60 * time.Second // PASS_GOSSIP_EXPIRED_TIME
	DefaultIsolatedGrace = 30 * time.Second // ISOLATED_NODE_GRACE_PERIOD_SECS
	DefaultCullInterval  = 60 * time.Second // DEAD_NODE_CHECK_INTERVAL_SECS
	// MaxHeldRecords is the most records of other nodes a node holds (SPEC.md NB-15). MASQ has no
	// bound: one neighbor relaying made-up records grew a node to 15,380 of them.
	MaxHeldRecords = 1000
)

// Config sets up a DB. Zero durations and a zero MaxDegree take the defaults.
type Config struct {
	// Key is the node's ed25519 private key; its public half is the node's name.
	Key ed25519.PrivateKey
	// Addr is where the node accepts connections. The zero value makes an originate-only node:
	// its record says it accepts no connections and has no address.
	Addr netip.AddrPort
	// MaxDegree is the most neighbors the node's own record lists (sskit settlement 7).
	MaxDegree int
	// PassExpiry is how long a Pass target counts as recently passed (rulebook 62), and how
	// long a Debut without an answer counts as in progress.
	PassExpiry time.Duration
	// IsolatedGrace is how long an unreferenced record is kept before Cull drops it (rulebook 85).
	IsolatedGrace time.Duration
	// CullInterval is the least time between two culls that do any work (rulebook 85).
	CullInterval time.Duration
	// FirstVersion is the version of the node's first record; 0 means 1. A node that restarts
	// with the same key must start above every version it signed before, or its neighbors
	// keep its old records (rulebook 75), so a node with a data directory passes the last
	// version it signed plus 1.
	FirstVersion uint64
	// DeferStandard makes the Standard gossip that Accept, Ban, Disconnect and the like return
	// carry no body yet (Message.Deferred): the runtime makes it with StandardBody when it sends
	// it, made for the target as things then stand (NB-4). A runtime that paces its gossip so
	// skips making the bodies of the gossips a newer one replaces while they wait; about half of
	// them in a network of 64 nodes converging at once, of some 10 KiB each.
	DeferStandard bool
}

// DB is a node's neighborhood database: its own record, the signed records it knows of other
// nodes, the addresses they signed, and its bans. It does no I/O, starts no goroutines and
// reads no clock; it is not safe for concurrent use.
type DB struct {
	cfg Config
	me  wire.Name

	own          record.Record // the own record as it stands; Neighbors sorted
	ownConcealed []byte        // own record signed without its address: what Standard gossip carries
	ownAddressed []byte        // own record signed with its address, nil for originate-only nodes

	nodes map[wire.Name]*entry     // known records of other nodes
	names []wire.Name              // keys of nodes, sorted, so every output is deterministic
	addrs map[wire.Name]*addressed // the newest record with an address each node signed

	selfSent map[link]uint64         // highest own version each sender sent, per connection
	bans     map[wire.Name]Ban       // banned names, why and when; never removed
	passed   map[wire.Name]time.Time // Pass targets and when they were passed to us
	debuting map[wire.Name]time.Time // Debuts sent and not yet answered, and when
	placed   map[wire.Name]placement // debutants sent on to each neighbor since its record we hold
	now      time.Time               // the time of the gossip being accepted
	dropped  uint64                  // relayed records not stored because MaxHeldRecords were held
	changes  uint64                  // see Changes

	lastCull time.Time

	// Scratch space reused between calls, so that steady-state acceptance does not allocate
	// for bookkeeping.
	views []record.View
	refs  map[wire.Name]struct{}
	parts [][]byte
}

// entry is a known node: the highest version of its record seen, and that version without an
// address when we hold it, because only the concealed form may be relayed to everyone.
type entry struct {
	view      record.View // over latest
	latest    []byte      // highest version seen, concealed or with address; a copy we own
	concealed []byte      // latest's version without an address, or nil if not received
	seen      time.Time   // when latest was stored, for culling
	// older holds copies of older versions whose signatures verified, the last pastCopies of
	// them: records a node supersedes, and older ones that neighbors still relay.
	older     [pastCopies][]byte
	nextOlder int
}

// pastCopies is how many verified older records a node keeps per known node. While a network
// converges, neighbors relay versions the receiver has gone past: at 64 nodes these were 78%
// of the signatures checked, and checking them again made convergence CPU-bound.
const pastCopies = 4

// keepOlder remembers b, the bytes of a verified record older than the newest held.
func (e *entry) keepOlder(b []byte) {
	if b == nil {
		return
	}
	e.older[e.nextOlder] = b
	e.nextOlder = (e.nextOlder + 1) % pastCopies
}

// placement counts the debutants a node sent on to one neighbor, in a Pass or an Introduction,
// since the version of the neighbor's record it holds: a debutant sent there is on its way to
// that neighbor, whose record will list it, or which will send it on in turn.
type placement struct {
	debutants int
	version   uint64
	at        time.Time // the last one
}

// placementMemory is how long a placement counts towards a neighbor's degree without a newer
// record of it: long enough for the debutant's Debut to reach it and its gossip to come back.
const placementMemory = time.Second

// addressed is a record with an address, signed by its subject; the address never changes
// once known (rulebook 77), though the record may be older than the entry's.
type addressed struct {
	view record.View
	b    []byte
}

// New makes the database of a node whose own record has FirstVersion (default 1) and no
// neighbors.
func New(cfg Config) (*DB, error) {
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("gossip: Config.Key is not an ed25519 private key")
	}
	if cfg.MaxDegree == 0 {
		cfg.MaxDegree = DefaultMaxDegree
	}
	if cfg.MaxDegree < 1 || cfg.MaxDegree > record.MaxNeighbors {
		return nil, fmt.Errorf("gossip: MaxDegree %d is outside 1..%d", cfg.MaxDegree, record.MaxNeighbors)
	}
	if cfg.PassExpiry == 0 {
		cfg.PassExpiry = DefaultPassExpiry
	}
	if cfg.IsolatedGrace == 0 {
		cfg.IsolatedGrace = DefaultIsolatedGrace
	}
	if cfg.CullInterval == 0 {
		cfg.CullInterval = DefaultCullInterval
	}
	if cfg.FirstVersion == 0 {
		cfg.FirstVersion = 1
	}
	if cfg.Addr.IsValid() {
		// Records hold IPv4 as IPv4; comparing with decoded addresses needs the same form.
		cfg.Addr = netip.AddrPortFrom(cfg.Addr.Addr().Unmap(), cfg.Addr.Port())
	}
	db := &DB{
		cfg:      cfg,
		me:       wire.Name(cfg.Key[ed25519.SeedSize:]),
		nodes:    map[wire.Name]*entry{},
		addrs:    map[wire.Name]*addressed{},
		selfSent: map[link]uint64{},
		bans:     map[wire.Name]Ban{},
		passed:   map[wire.Name]time.Time{},
		debuting: map[wire.Name]time.Time{},
		placed:   map[wire.Name]placement{},
		refs:     map[wire.Name]struct{}{},
	}
	db.own = record.Record{Name: db.me, Version: cfg.FirstVersion, Accepts: cfg.Addr.IsValid(), Addr: cfg.Addr}
	if err := db.sign(); err != nil {
		return nil, fmt.Errorf("gossip: own record: %w", err)
	}
	return db, nil
}

// sign re-signs both forms of the own record after a change.
func (db *DB) sign() error {
	concealed := db.own
	concealed.Addr = netip.AddrPort{}
	c, err := concealed.AppendSigned(nil, db.cfg.Key)
	if err != nil {
		return err
	}
	var a []byte
	if db.own.Addr.IsValid() {
		if a, err = db.own.AppendSigned(nil, db.cfg.Key); err != nil {
			return err
		}
	}
	db.ownConcealed, db.ownAddressed = c, a
	return nil
}

// bump records one change to the own record: exactly one version more, re-signed (rulebook 76).
func (db *DB) bump() {
	db.own.Version++
	db.changes++
	if err := db.sign(); err != nil {
		// New checked the key and address, and neighbors stay sorted and at most MaxDegree.
		panic("gossip: own record no longer signs: " + err.Error())
	}
}

// addNeighbor lists n in the own record, one version more; false if it was listed already.
func (db *DB) addNeighbor(n wire.Name) bool {
	i, found := slices.BinarySearchFunc(db.own.Neighbors, n, compareNames)
	if found {
		return false
	}
	db.own.Neighbors = slices.Insert(db.own.Neighbors, i, n)
	db.bump()
	return true
}

// removeNeighbor withdraws n from the own record, one version more; false if it was not listed.
func (db *DB) removeNeighbor(n wire.Name) bool {
	i, found := slices.BinarySearchFunc(db.own.Neighbors, n, compareNames)
	if !found {
		return false
	}
	db.own.Neighbors = slices.Delete(db.own.Neighbors, i, i+1)
	db.bump()
	return true
}

// replaceNeighbor lists n in place of old, one version more: one change of the own record.
func (db *DB) replaceNeighbor(old, n wire.Name) {
	if i, found := slices.BinarySearchFunc(db.own.Neighbors, old, compareNames); found {
		db.own.Neighbors = slices.Delete(db.own.Neighbors, i, i+1)
	}
	if i, found := slices.BinarySearchFunc(db.own.Neighbors, n, compareNames); !found {
		db.own.Neighbors = slices.Insert(db.own.Neighbors, i, n)
	}
	db.bump()
}

func compareNames(a, b wire.Name) int { return bytes.Compare(a[:], b[:]) }

// Name returns the node's own name.
func (db *DB) Name() wire.Name { return db.me }

// Version returns the own record's current version.
func (db *DB) Version() uint64 { return db.own.Version }

// Own returns a copy of the own record as it stands.
func (db *DB) Own() record.Record {
	r := db.own
	r.Neighbors = slices.Clone(r.Neighbors)
	return r
}

// OwnRecord returns the own record as signed without its address, as Standard gossip carries
// it. The caller must not modify it.
func (db *DB) OwnRecord() []byte { return db.ownConcealed }

// debutRecord is the own record as a Debut, an Introduction or a debut back carries it: with
// the address when the node accepts connections, so the receiver can reach it.
func (db *DB) debutRecord() []byte {
	if db.ownAddressed != nil {
		return db.ownAddressed
	}
	return db.ownConcealed
}

// Record returns the newest record known for name, the own record (concealed) included. The
// view is valid until the database next changes.
func (db *DB) Record(name wire.Name) (record.View, bool) {
	var v record.View
	if name == db.me {
		_ = v.Decode(db.ownConcealed)
		return v, true
	}
	e := db.nodes[name]
	if e == nil {
		return v, false
	}
	return e.view, true
}

// Held is how many nodes' records the database holds, the own record not counted.
func (db *DB) Held() int { return len(db.names) }

// Known returns the names of the nodes whose records the database holds, sorted, without its
// own.
func (db *DB) Known() []wire.Name { return slices.Clone(db.names) }

// Addr returns the address name signed in a record, if the database has seen one.
func (db *DB) Addr(name wire.Name) (netip.AddrPort, bool) {
	if name == db.me {
		return db.own.Addr, db.own.Addr.IsValid()
	}
	if a := db.addrs[name]; a != nil {
		return a.view.Addr()
	}
	return netip.AddrPort{}, false
}

// lists reports whether a's record (as known here) names b as a neighbor.
func (db *DB) lists(a, b wire.Name) bool {
	if a == db.me {
		_, found := slices.BinarySearchFunc(db.own.Neighbors, b, compareNames)
		return found
	}
	e := db.nodes[a]
	return e != nil && viewLists(&e.view, b)
}

// viewLists binary-searches a record's sorted neighbor list.
func viewLists(v *record.View, n wire.Name) bool {
	k := v.NumNeighbors()
	i := sort.Search(k, func(i int) bool { nb := v.Neighbor(i); return bytes.Compare(nb[:], n[:]) >= 0 })
	return i < k && v.Neighbor(i) == n
}

// IsFull reports whether a and b are full neighbors: each one's record lists the other
// (rulebook 83). Only full links carry data.
func (db *DB) IsFull(a, b wire.Name) bool { return a != b && db.lists(a, b) && db.lists(b, a) }

// Neighbors returns the names the own record lists, split into full neighbors (their records
// list this node too) and half neighbors (they do not, or their records are unknown).
func (db *DB) Neighbors() (full, half []wire.Name) {
	for _, n := range db.own.Neighbors {
		if db.lists(n, db.me) {
			full = append(full, n)
		} else {
			half = append(half, n)
		}
	}
	return full, half
}

// Degree returns the number of neighbors name's own record lists (sskit settlement 7: the
// degree limit counts the neighbors in a node's own record, full and half alike), and false
// when the record is unknown.
func (db *DB) Degree(name wire.Name) (int, bool) {
	if name == db.me {
		return len(db.own.Neighbors), true
	}
	if e := db.nodes[name]; e != nil {
		return e.view.NumNeighbors(), true
	}
	return 0, false
}

func (db *DB) degree() int { return len(db.own.Neighbors) }

// placementDegree is n's degree as placement sees it (SPEC.md NB-5): the neighbors n's record
// lists plus the debutants this node sent on to n since that record, until placementMemory after
// the last. When many nodes debut through one node at once, the degrees its records show do not
// change between one Debut and the next, and every debutant would be sent to the same neighbor,
// which passes most of them on again, or introduces them all to the same node in turn.
func (db *DB) placementDegree(n wire.Name) int {
	d, _ := db.Degree(n)
	if p, ok := db.placed[n]; ok && !mutant.Is("placement-by-record-alone") {
		if e := db.nodes[n]; e != nil && e.view.Version() == p.version && db.now.Sub(p.at) < placementMemory {
			d += p.debutants
		}
	}
	return d
}

// notePlaced counts a debutant sent on to n, in a Pass or an Introduction (placementDegree).
func (db *DB) notePlaced(n wire.Name) {
	var version uint64
	if e := db.nodes[n]; e != nil {
		version = e.view.Version()
	}
	for m, q := range db.placed { // forget the lapsed, so that past neighbors leave nothing
		if db.now.Sub(q.at) >= placementMemory {
			delete(db.placed, m)
		}
	}
	p := db.placed[n]
	if p.version != version {
		p = placement{version: version}
	}
	p.debutants++
	p.at = db.now
	db.placed[n] = p
}

// hasRoom reports whether the own record may list one more neighbor, answering for from:
// neighbors listed plus one place held for each Debut in progress to a node not listed yet
// must stay under MaxDegree, except that from's own reply may take the place held for it.
// Without the held places, a newcomer fills up with debutants passed to it while the answer
// to its own Debut is on the way, and that answer, often its only link to the rest of the
// network, can no longer be taken.
func (db *DB) hasRoom(from wire.Name) bool {
	held := 0
	for n := range db.debuting {
		if n != from && !db.lists(db.me, n) {
			held++
		}
	}
	limit := db.cfg.MaxDegree
	if mutant.Is("degree-limit-6") {
		limit++ // off by one: the limit is taken as the last degree still below it
	}
	return db.degree()+held < limit
}

// accepts reports whether name's record says it accepts connections.
func (db *DB) accepts(name wire.Name) bool {
	if name == db.me {
		return db.own.Accepts
	}
	e := db.nodes[name]
	return e != nil && e.view.Accepts()
}

// Ban is a malefactor ban: the name is refused for ever after, in both directions.
type Ban struct {
	Name   wire.Name
	Reason error
	At     time.Time // when the ban was imposed, or restored
}

// Banned reports whether name is banned, and the ban.
func (db *DB) Banned(name wire.Name) (Ban, bool) {
	b, ok := db.bans[name]
	return b, ok
}

// Bans returns every ban, sorted by name, for display and for saving across restarts.
func (db *DB) Bans() []Ban {
	bans := make([]Ban, 0, len(db.bans))
	for _, b := range db.bans {
		bans = append(bans, b)
	}
	slices.SortFunc(bans, func(a, b Ban) int { return compareNames(a.Name, b.Name) })
	return bans
}

// Ban bans name for reason (rulebook 79, sskit settlement 5): it forgets name's record and
// address, withdraws the own link to it if there is one, and then returns the Standard gossip
// that shows the disconnection to the remaining neighbors. A node restoring saved bans calls it
// at startup. Banning oneself, or a name already banned, does nothing.
func (db *DB) Ban(name wire.Name, reason error, now time.Time) Result {
	if name == db.me {
		return Result{Note: "a node does not ban itself"}
	}
	if _, ok := db.bans[name]; ok {
		return Result{Refused: true, Note: "already banned"}
	}
	if reason == nil {
		reason = errors.New("gossip: banned by the operator")
	}
	ban := Ban{Name: name, Reason: reason, At: now}
	db.bans[name] = ban
	res := Result{Ban: &ban}
	db.forget(name)
	if db.removeNeighbor(name) {
		res.Changed = true
	}
	if res.Changed {
		res.Messages = db.broadcast(nil, wire.Name{}, false)
	}
	return res
}

// forget drops everything known about name except a ban.
func (db *DB) forget(name wire.Name) {
	if _, ok := db.nodes[name]; ok {
		delete(db.nodes, name)
		db.changes++
		i, _ := slices.BinarySearchFunc(db.names, name, compareNames)
		db.names = slices.Delete(db.names, i, i+1)
	}
	delete(db.addrs, name)
	db.forgetLinks(name)
	delete(db.passed, name)
	delete(db.debuting, name)
}

// Disconnect is called when the link to name closes (rulebook 87): the own record stops
// listing name (one version more) and the returned Result carries Standard gossip showing it.
// The address name signed is forgotten, so a node that comes back from a restart may give a new
// one, and so is the highest version it sent on this link. If name was not a neighbor, nothing
// is sent.
func (db *DB) Disconnect(name wire.Name) Result {
	delete(db.addrs, name)
	db.forgetLinks(name)
	delete(db.debuting, name)
	if mutant.Is("link-kept-on-close") {
		return Result{Note: "link closed; the neighbor stays listed"} // per-link state forgotten, the link not withdrawn
	}
	if !db.removeNeighbor(name) {
		return Result{Note: "not a neighbor"}
	}
	return Result{Changed: true, Messages: db.broadcast(nil, wire.Name{}, false)}
}

// link is one connection of a sender: NB-10 compares the versions of a sender's own record only
// among the frames of one connection, since two connections between the same pair (TRN-3) are
// read side by side and their frames may arrive in either order.
type link struct {
	name wire.Name
	conn uint64
}

func (db *DB) forgetLinks(name wire.Name) {
	for l := range db.selfSent {
		if l.name == name {
			delete(db.selfSent, l)
		}
	}
}

// Cull drops records nobody references (no record, the own one included, lists them) that
// have not changed for IsolatedGrace, at most once per CullInterval (rulebook 85). The own
// record is never culled, and dropping one record does not make another one cullable in the
// same call. It returns the names dropped.
func (db *DB) Cull(now time.Time) []wire.Name {
	if !db.lastCull.IsZero() && now.Sub(db.lastCull) < db.cfg.CullInterval {
		return nil
	}
	db.lastCull = now
	refs := db.referenced()
	var dead []wire.Name
	for _, n := range db.names {
		if _, ok := refs[n]; !ok && now.Sub(db.nodes[n].seen) >= db.cfg.IsolatedGrace {
			dead = append(dead, n)
		}
	}
	for _, n := range dead {
		db.forget(n)
	}
	return dead
}

// referenced returns the set of names some known record lists as a neighbor, in scratch space
// valid until the next call.
func (db *DB) referenced() map[wire.Name]struct{} {
	clear(db.refs)
	for _, n := range db.own.Neighbors {
		db.refs[n] = struct{}{}
	}
	for _, e := range db.nodes {
		for i := range e.view.NumNeighbors() {
			db.refs[e.view.Neighbor(i)] = struct{}{}
		}
	}
	return db.refs
}

// Changes counts the changes to what the database holds of records (ADM-12): the own record's
// version raised, a record stored or replaced by a newer version, a record dropped. It does not
// count a second copy of a version held (concealed or addressed), which changes no version.
func (db *DB) Changes() uint64 { return db.changes }

// DroppedRecords counts the relayed records of unknown nodes the node did not store because it
// held MaxHeldRecords records of other nodes (SPEC.md NB-15).
func (db *DB) DroppedRecords() uint64 { return db.dropped }

// full reports whether the node holds as many records of other nodes as it may (NB-15).
func (db *DB) full() bool { return len(db.nodes) >= MaxHeldRecords }

// PendingDebuts returns the names a Debut was sent to that have not answered, sorted. A node
// whose every Debut failed and that has no neighbors has nowhere to go (rulebook 59).
func (db *DB) PendingDebuts() []wire.Name {
	var ns []wire.Name
	for n := range db.debuting {
		ns = append(ns, n)
	}
	slices.SortFunc(ns, compareNames)
	return ns
}

// expire forgets Pass targets and unanswered Debuts older than PassExpiry; to the pass-loop
// guard an expired target is the same as a new one.
func (db *DB) expire(now time.Time) {
	for n, t := range db.passed {
		if now.Sub(t) > db.cfg.PassExpiry {
			delete(db.passed, n)
		}
	}
	for n, t := range db.debuting {
		if now.Sub(t) > db.cfg.PassExpiry {
			delete(db.debuting, n)
		}
	}
}

// store keeps a checked record (rulebook 75, 77, 78): a new node, or a strictly higher
// version, replaces what is stored, copying the exact signed bytes; the same version in the
// other form fills in the concealed copy or the address. It reports whether the database
// changed in a way other nodes should hear about: a new record, a newer one, or the first
// concealed copy of the newest version, which can be relayed where the addressed one could not.
func (db *DB) store(v *record.View, now time.Time) bool {
	name := v.Name()
	_, hasAddr := v.Addr()
	changed := false
	e := db.nodes[name]
	switch {
	case e == nil:
		e = &entry{}
		db.nodes[name] = e
		i, _ := slices.BinarySearchFunc(db.names, name, compareNames)
		db.names = slices.Insert(db.names, i, name)
		fallthrough
	case v.Version() > e.view.Version(),
		mutant.Is("equal-version-replaces") && v.Version() == e.view.Version() && !sameContent(&e.view, v):
		// The mutant compares versions with >=: another record at the held version replaces it.
		e.keepOlder(e.latest)
		if e.concealed != nil && &e.concealed[0] != &e.latest[0] { // not one copy
			e.keepOlder(e.concealed)
		}
		e.latest = bytes.Clone(v.Bytes())
		_ = e.view.Decode(e.latest) // decoded once already
		e.concealed = nil
		if !hasAddr {
			e.concealed = e.latest
		}
		e.seen = now
		changed = true
		db.changes++
	case v.Version() == e.view.Version() && !hasAddr && e.concealed == nil && sameContent(&e.view, v):
		// Until now this version could go only to the node's neighbors (rulebook 84); now it
		// can go to everyone, so the others must hear of it.
		e.concealed = bytes.Clone(v.Bytes())
		changed = true
	}
	if hasAddr {
		db.learnAddress(v)
	}
	return changed
}

// learnAddress keeps the newest record with an address that the node signed. The caller has
// checked that the address agrees with any known one.
func (db *DB) learnAddress(v *record.View) {
	name := v.Name()
	a := db.addrs[name]
	if a != nil && a.view.Version() >= v.Version() {
		return
	}
	if a == nil {
		a = &addressed{}
		db.addrs[name] = a
	}
	a.b = bytes.Clone(v.Bytes())
	_ = a.view.Decode(a.b)
}

// addressConflict reports whether v gives an address other than the one its subject signed
// before: an existing address never changes (rulebook 77).
func (db *DB) addressConflict(v *record.View) bool {
	addr, ok := v.Addr()
	if !ok {
		return false
	}
	a := db.addrs[v.Name()]
	if a == nil {
		return false
	}
	known, _ := a.view.Addr()
	return known != addr
}

// equivocates reports whether v has the version of a stored record of the same node but says
// something else (other than carrying or omitting the address). An honest node signs each
// version once, in two forms that differ only in the address.
func (db *DB) equivocates(v *record.View) bool {
	name := v.Name()
	if e := db.nodes[name]; e != nil && e.view.Version() == v.Version() && !sameContent(&e.view, v) {
		return true
	}
	if a := db.addrs[name]; a != nil && a.view.Version() == v.Version() && !sameContent(&a.view, v) {
		return true
	}
	return false
}

// holdsExactly reports whether v's bytes are those of a record stored already, whose
// signature was verified when it was stored. Standard gossip relays every record it holds
// each time anything changes, so most records a node receives are ones it holds: checking
// their signatures again cost 40 µs each, 0.8 ms for a 20-record gossip, and made
// convergence CPU-bound at 32 nodes on two cores.
func (db *DB) holdsExactly(v *record.View) bool {
	name := v.Name()
	b := v.Bytes()
	e := db.nodes[name]
	if e != nil {
		if bytes.Equal(b, e.latest) || bytes.Equal(b, e.concealed) {
			return true
		}
		for _, o := range e.older {
			if bytes.Equal(b, o) {
				return true
			}
		}
	}
	a := db.addrs[name]
	return a != nil && bytes.Equal(b, a.b)
}

// verified notes that v's signature verified. A record older than the one held is kept among
// the entry's older copies, so that the next relay of it is not checked again; anything else
// is stored or dropped by the rules that follow.
func (db *DB) verified(v *record.View) {
	if e := db.nodes[v.Name()]; e != nil && v.Version() < e.view.Version() {
		e.keepOlder(bytes.Clone(v.Bytes()))
	}
}

// sameContent compares two records of one name and version, ignoring the address.
func sameContent(a, b *record.View) bool {
	if a.Accepts() != b.Accepts() || a.NumNeighbors() != b.NumNeighbors() {
		return false
	}
	for i := range a.NumNeighbors() {
		if a.Neighbor(i) != b.Neighbor(i) {
			return false
		}
	}
	return true
}
