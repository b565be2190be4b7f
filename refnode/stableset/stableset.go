// Package stableset holds a node's stableset: which member instances have joined and left, the
// witnesses of changes still pending, and the elders and id that follow from them (SPEC.md §8).
//
// The applied state is a per-name lattice. For each name the set keeps the greatest applied event
// in (ordinal, kind) order, a leave ranking above the join of the same ordinal: the name is a
// member when that event is a join. Applying an event never lowers what a name holds, so two
// nodes that applied the same events hold the same members and the same id, whatever order the
// events arrived in, and a node that left comes back only as a new instance with a higher
// ordinal. What is not commutative is only the decision to apply: a change applies when a strict
// majority of the elders this node has at that moment witnessed it (ST-3), and the consensus
// layer keeps witnesses flowing until every node's elders agree.
//
// The package is pure: no clocks, goroutines or I/O.
package stableset

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/wire"
)

// instance is the greatest applied event for one name.
type instance struct {
	member wire.Member
	left   bool
	// at is when the witness that completed the change was said, about when this node applied
	// it; zero for what it adopted or started with.
	at time.Time
}

// Change is one join or leave of one member instance.
type Change struct {
	Kind   wire.ChangeKind
	Member wire.Member
}

// CompareChanges orders changes as ST-3 considers them: (ordinal, join before leave, name), and
// by address last, so that no two distinct changes compare equal.
func CompareChanges(a, b Change) int {
	if c := cmp.Compare(a.Member.Ordinal, b.Member.Ordinal); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := bytes.Compare(a.Member.Name[:], b.Member.Name[:]); c != 0 {
		return c
	}
	return a.Member.Addr.Compare(b.Member.Addr)
}

// key identifies a change by the instance it is about. The address is not part of it: a joiner
// is known by (name, ordinal), and a record that differs only in address is the same change.
type key struct {
	kind    wire.ChangeKind
	name    wire.Name
	ordinal uint64
}

func keyOf(kind wire.ChangeKind, m *wire.Member) key { return key{kind, m.Name, m.Ordinal} }

// rank orders the events of one name: (ordinal, join before leave).
func rank(ordinal uint64, kind wire.ChangeKind) [2]uint64 { return [2]uint64{ordinal, uint64(kind)} }

func less(a, b [2]uint64) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

type pending struct {
	Change
	witnesses []wire.Name // a set
	saidAt    []time.Time // when each witness last said so, parallel to witnesses
}

// before is the order in which pending changes are considered: ordinal, joins before leaves
// (an instance joins before it can leave), then name.
func (p *pending) before(o *pending) bool {
	if p.Member.Ordinal != o.Member.Ordinal {
		return p.Member.Ordinal < o.Member.Ordinal
	}
	if p.Kind != o.Kind {
		return p.Kind == wire.ChangeJoin
	}
	return bytes.Compare(p.Member.Name[:], o.Member.Name[:]) < 0
}

// Set is one node's stableset.
type Set struct {
	// Audit, when set, is told of every change as it applies, with the elders it applied under
	// and its witnesses, so that a simulation can check the majority rule independently.
	Audit func(ch Change, elders []wire.Member, witnesses []wire.Name)

	self      wire.Name
	elderSize int
	state     map[wire.Name]instance
	pending   map[key]*pending
	order     []*pending // pending changes in consideration order
	free      []*pending
	// charged counts, per witness other than self, the pending changes it is recorded for: one
	// sender is recorded for at most Quota of them (ST-13), so that no member can grow a node's
	// pending changes without bound.
	charged map[wire.Name]int
	dropped uint64 // witnesses not recorded because their sender was at its quota

	// Derived from state after every applied change.
	members []wire.Member // (ordinal, name) order
	elders  []wire.Member
	id      wire.StablesetID
	byName  []wire.Member // the members in name order, for the id
	idBuf   []byte
	// viewRanks is Dominated's scratch space: what a view states per name.
	viewRanks map[wire.Name][2]uint64
}

// New is self's stableset before it joins anything: self alone, ordinal 0 (WIRE-10, ADM-3). A
// node started without bootstrap peers is the genesis of a new stableset in exactly this state.
func New(self wire.Member, elderSize int) *Set {
	s := &Set{self: self.Name, elderSize: elderSize}
	s.Reset([]wire.Member{{Name: self.Name, Addr: self.Addr}})
	return s
}

// Reset forgets everything and takes members as the whole applied state: how a joiner adopts the
// stableset its elders agree on, and how a removed node goes back to being alone.
func (s *Set) Reset(members []wire.Member) {
	s.state = make(map[wire.Name]instance, len(members))
	for _, m := range members {
		s.state[m.Name] = instance{member: m}
	}
	s.pending = map[key]*pending{}
	s.order = s.order[:0]
	s.charged = map[wire.Name]int{}
	s.derive()
}

// QuotaSlack is how many pending changes one sender may be recorded for beyond the number of
// members (ST-13): an honest elder witnesses at most 8 joins at a time and the leave of every
// member, so the slack leaves room for joins and for leaves of instances this node never knew.
const QuotaSlack = 16

// Quota is how many pending changes one sender other than this node may be recorded as a
// witness of (ST-13).
func (s *Set) Quota() int { return len(s.members) + QuotaSlack }

// Dropped is how many witnesses were not recorded because their sender was at its quota.
func (s *Set) Dropped() uint64 { return s.dropped }

// Majority is the smallest number of n elders that is a strict majority (2m > n).
func Majority(n int) int {
	if mutant.Enabled && mutant.Is("quorum-of-one") {
		return 1
	}
	if mutant.Enabled && mutant.Is("majority-rounds-up") {
		return (n+1)/2 + 1
	}
	return n/2 + 1
}

// Live reports whether applying the change would move the state forward: a join of an instance
// newer than anything applied for that name, or a leave of the present instance or of a newer one.
func (s *Set) Live(kind wire.ChangeKind, m wire.Member) bool {
	cur, ok := s.state[m.Name]
	if !ok {
		return true
	}
	if mutant.Enabled && kind == wire.ChangeLeave && mutant.Is("leave-by-name") {
		return !cur.left
	}
	return less(rank(cur.member.Ordinal, kindOf(cur)), rank(m.Ordinal, kind))
}

// Applied reports whether the change, or a later event of the same instance, has been applied:
// the greatest event held for the name is of that instance and is not before the change.
func (s *Set) Applied(kind wire.ChangeKind, m wire.Member) bool {
	cur, ok := s.state[m.Name]
	return ok && cur.member.Ordinal == m.Ordinal && !s.Live(kind, m)
}

func kindOf(i instance) wire.ChangeKind {
	if i.left {
		return wire.ChangeLeave
	}
	return wire.ChangeJoin
}

// Witness records that by witnessed the change at the given time and reports whether that is new.
// A change that is not live changes nothing; a witness already recorded only has its time
// renewed (Lapse). A sender other than this node at its quota is not recorded and is counted in
// Dropped. Only the direct sender of a message, or this node for what it observed itself, may be
// given as by (ST-2). Call Apply afterwards.
func (s *Set) Witness(kind wire.ChangeKind, m wire.Member, by wire.Name, at time.Time) bool {
	if !s.Live(kind, m) {
		return false
	}
	k := keyOf(kind, &m)
	p := s.pending[k]
	if p != nil {
		if i := slices.Index(p.witnesses, by); i >= 0 && !(mutant.Enabled && mutant.Is("repeated-witness-counted")) {
			p.saidAt[i] = at
			return false
		}
	}
	if by != s.self && s.charged[by] >= s.Quota() && !(mutant.Enabled && mutant.Is("pending-unbounded")) {
		s.dropped++
		return false
	}
	if p == nil {
		p = s.newPending(kind, m)
		s.pending[k] = p
		i, _ := slices.BinarySearchFunc(s.order, p, func(a, b *pending) int {
			if a.before(b) {
				return -1
			}
			return 1
		})
		s.order = slices.Insert(s.order, i, p)
	}
	p.witnesses = append(p.witnesses, by)
	p.saidAt = append(p.saidAt, at)
	s.charge(by, 1)
	return true
}

func (s *Set) charge(by wire.Name, n int) {
	if by == s.self {
		return
	}
	if c := s.charged[by] + n; c > 0 {
		s.charged[by] = c
	} else {
		delete(s.charged, by)
	}
}

// Unwitness removes by's witness of a pending change: this node withdrawing a witness it no
// longer holds (ST-7). A change left without witnesses is no longer pending.
func (s *Set) Unwitness(kind wire.ChangeKind, m wire.Member, by wire.Name) {
	p := s.pending[keyOf(kind, &m)]
	if p == nil {
		return
	}
	if i := slices.Index(p.witnesses, by); i >= 0 {
		s.removeWitness(p, i)
		s.dropEmpty()
	}
}

func (s *Set) removeWitness(p *pending, i int) {
	s.charge(p.witnesses[i], -1)
	p.witnesses = slices.Delete(p.witnesses, i, i+1)
	p.saidAt = slices.Delete(p.saidAt, i, i+1)
}

// Lapse forgets every witness other than this node's own that its sender has not said again
// since before the given time, and the changes left without witnesses (ST-13): a witness stands
// only while its sender keeps saying it, so a healed partition leaves no stale witnesses behind.
func (s *Set) Lapse(before time.Time) {
	lapsed := false
	for _, p := range s.order {
		for i := len(p.witnesses) - 1; i >= 0; i-- {
			if p.witnesses[i] != s.self && p.saidAt[i].Before(before) {
				s.removeWitness(p, i)
				lapsed = true
			}
		}
	}
	if lapsed {
		s.dropEmpty()
	}
}

// dropEmpty forgets pending changes that no one witnesses any more.
func (s *Set) dropEmpty() {
	s.order = slices.DeleteFunc(s.order, func(p *pending) bool {
		if len(p.witnesses) > 0 {
			return false
		}
		s.forget(p)
		return true
	})
}

func (s *Set) forget(p *pending) {
	for _, w := range p.witnesses {
		s.charge(w, -1)
	}
	delete(s.pending, keyOf(p.Kind, &p.Member))
	s.free = append(s.free, p)
}

func (s *Set) newPending(kind wire.ChangeKind, m wire.Member) *pending {
	var p *pending
	if n := len(s.free); n > 0 {
		p, s.free = s.free[n-1], s.free[:n-1]
		p.witnesses, p.saidAt = p.witnesses[:0], p.saidAt[:0]
	} else {
		p = &pending{witnesses: make([]wire.Name, 0, 4), saidAt: make([]time.Time, 0, 4)}
	}
	p.Change = Change{Kind: kind, Member: m}
	return p
}

// Witnessed reports whether by is recorded as a witness of the pending change.
func (s *Set) Witnessed(kind wire.ChangeKind, m wire.Member, by wire.Name) bool {
	p := s.pending[keyOf(kind, &m)]
	return p != nil && slices.Contains(p.witnesses, by)
}

// Apply applies, one at a time and in consideration order, every pending change that a strict
// majority of the current elders witnessed, recomputing the elders after each (ST-3, ST-4). It
// appends the applied changes to dst and drops pending changes that can no longer apply.
func (s *Set) Apply(dst []Change) []Change {
	for {
		i := s.nextReady()
		if i < 0 {
			break
		}
		p := s.order[i]
		if s.Audit != nil {
			s.Audit(p.Change, s.elders, p.witnesses)
		}
		s.state[p.Member.Name] = instance{member: p.Member, left: p.Kind == wire.ChangeLeave, at: slices.MaxFunc(p.saidAt, time.Time.Compare)}
		dst = append(dst, p.Change)
		s.derive()
		s.dropStale()
	}
	return dst
}

// ApplyDecided applies changes that were decided without a majority of this node's elders: the
// leaves of an elder loss (SPEC.md SEC-8), which none of the lost elders can witness. Changes that
// are not live are skipped. Audit is not told, since the majority it checks is exactly what such
// a change lacks; the elder-loss rule is checked where it is decided.
func (s *Set) ApplyDecided(dst []Change, changes []Change) []Change {
	for _, ch := range changes {
		if !s.Live(ch.Kind, ch.Member) {
			continue
		}
		s.state[ch.Member.Name] = instance{member: ch.Member, left: ch.Kind == wire.ChangeLeave}
		dst = append(dst, ch)
	}
	s.derive()
	s.dropStale()
	return dst
}

func (s *Set) nextReady() int {
	need := Majority(len(s.elders))
	for i, p := range s.order {
		count := 0
		for _, e := range s.elders {
			if slices.Contains(p.witnesses, e.Name) {
				count++
			}
		}
		if mutant.Enabled && (mutant.Is("repeated-witness-counted") || mutant.Is("member-witness-counted")) {
			count = 0
			for _, w := range p.witnesses {
				if mutant.Is("member-witness-counted") || slices.ContainsFunc(s.elders, func(e wire.Member) bool { return e.Name == w }) {
					count++
				}
			}
		}
		if count >= need {
			return i
		}
	}
	return -1
}

// dropStale forgets pending changes that are no longer live.
func (s *Set) dropStale() {
	s.order = slices.DeleteFunc(s.order, func(p *pending) bool {
		if s.Live(p.Kind, p.Member) {
			return false
		}
		s.forget(p)
		return true
	})
}

// derive recomputes members, elders and id from the state.
func (s *Set) derive() {
	var before []wire.Member // the elders before, for a mutant only
	if mutant.Enabled && mutant.Is("promotion-waits") {
		before = slices.Clone(s.elders)
	}
	shrinking := len(s.members)
	s.members = s.members[:0]
	for _, in := range s.state {
		if !in.left {
			s.members = append(s.members, in.member)
		}
	}
	slices.SortFunc(s.members, wire.CompareMembers)
	s.elders = append(s.elders[:0], s.members[:min(s.elderSize, len(s.members))]...)
	if before != nil && len(s.members) < shrinking {
		s.elders = slices.DeleteFunc(s.elders, func(m wire.Member) bool { return !wire.HasName(before, m.Name) })
	}
	s.id, s.idBuf, s.byName = appendID(s.idBuf[:0], s.byName, s.members)
}

// ID is the stableset id of a member list (WIRE-10): SHA-256 over each member's name followed by
// its ordinal (8 bytes, big-endian), in ascending bytewise order of the names. It is over
// instances, not names alone, so that two nodes holding one name at two ordinals (two elders
// that took one joiner at once can each give it one, and both joins can be decided) carry two
// ids, which anti-entropy (ST-8) then repairs. It leaves members as they are.
func ID(members []wire.Member) wire.StablesetID {
	id, _, _ := appendID(nil, nil, members)
	return id
}

// AloneID is the id of the stableset of n alone, at ordinal 0: what the frames of a node that is
// joining, or has just started, carry (WIRE-10).
func AloneID(n wire.Name) wire.StablesetID {
	var instance [len(wire.Name{}) + 8]byte
	copy(instance[:], n[:])
	if mutant.Enabled && mutant.Is("stableset-id-over-names") {
		return sha256.Sum256(n[:])
	}
	return sha256.Sum256(instance[:])
}

// appendID hashes through buf and sorts through byName, so that a caller reusing both allocates
// nothing.
func appendID(buf []byte, byName, members []wire.Member) (wire.StablesetID, []byte, []wire.Member) {
	byName = append(byName[:0], members...)
	slices.SortFunc(byName, func(a, b wire.Member) int { return bytes.Compare(a.Name[:], b.Name[:]) })
	overNames := mutant.Enabled && mutant.Is("stableset-id-over-names")
	for i := range byName {
		buf = append(buf, byName[i].Name[:]...)
		if !overNames {
			buf = binary.BigEndian.AppendUint64(buf, byName[i].Ordinal)
		}
	}
	return sha256.Sum256(buf), buf, byName
}

// Members are the current members in (ordinal, name) order. The slice is the set's own: read it
// before the next change.
func (s *Set) Members() []wire.Member { return s.members }

// Elders are the first elder-size members in (ordinal, name) order (ST-4).
func (s *Set) Elders() []wire.Member { return s.elders }

// IsElder reports whether n is one of the current elders.
func (s *Set) IsElder(n wire.Name) bool {
	for i := range s.elders {
		if s.elders[i].Name == n {
			return true
		}
	}
	return false
}

// Member returns the current member named n.
func (s *Set) Member(n wire.Name) (wire.Member, bool) {
	in, ok := s.state[n]
	return in.member, ok && !in.left
}

// Known reports whether n is a member or a departed instance this node has applied a leave for.
func (s *Set) Known(n wire.Name) bool {
	_, ok := s.state[n]
	return ok
}

// ID is the stableset id of the current members.
func (s *Set) ID() wire.StablesetID { return s.id }

// MaxOrdinal is the highest ordinal applied for any name, member or not; a new joiner gets one
// more, so it is never mistaken for an instance that already left.
func (s *Set) MaxOrdinal() uint64 {
	var max uint64
	for _, in := range s.state {
		if in.member.Ordinal > max {
			max = in.member.Ordinal
		}
	}
	return max
}

// Age is the stableset's age (SPEC.md section 10), which a section's top-20 list carries: the sum,
// over every name with an applied event, of its greatest event's rank, 2·ordinal+1 for a join and
// 2·ordinal+2 for a leave. Applying a change raises one name's greatest event, and the rank rises
// with the event order (ordinal, join before leave), so every applied change raises the age,
// whatever the order changes apply in and whatever ordinals joins taken at once were given.
func (s *Set) Age() uint64 {
	var age uint64
	for _, in := range s.state {
		age += 2*in.member.Ordinal + uint64(kindOf(in)) // join 1, leave 2: the order of rank
	}
	return age
}

// Pending is a change that has not applied, with the names that witnessed it.
type Pending struct {
	Change
	Witnesses []wire.Name
}

// Pending lists the pending changes in consideration order.
func (s *Set) Pending() []Pending {
	out := make([]Pending, 0, len(s.order))
	for _, p := range s.order {
		out = append(out, Pending{Change: p.Change, Witnesses: slices.Clone(p.witnesses)})
	}
	return out
}

// EachPending calls fn for every pending change, in consideration order, with its witnesses,
// without copying them: fn must not keep the slice or change the set.
func (s *Set) EachPending(fn func(ch Change, witnesses []wire.Name)) {
	for _, p := range s.order {
		fn(p.Change, p.witnesses)
	}
}

// AppendView appends this node's STABLESET body (MSG-4): its members; as joining, the pending
// joins it witnessed itself; as leaving, the pending leaves it witnessed itself and every
// instance it has applied a leave for (tombstones). The receiver records all of it as this node's
// witness, so nothing this node only heard from others is passed along (ST-2).
func (s *Set) AppendView(dst []byte, joining, leaving []wire.Member) ([]byte, []wire.Member, []wire.Member) {
	joining, leaving = joining[:0], leaving[:0]
	for _, in := range s.state {
		if in.left {
			leaving = append(leaving, in.member)
		}
	}
	for _, p := range s.order {
		if !slices.Contains(p.witnesses, s.self) && !(mutant.Enabled && mutant.Is("view-lists-heard")) {
			continue
		}
		if p.Kind == wire.ChangeJoin {
			joining = append(joining, p.Member)
		} else {
			leaving = append(leaving, p.Member)
		}
	}
	joining, leaving = canonical(joining), canonical(leaving)
	return wire.AppendStableset(dst, s.members, joining, leaving), joining, leaving
}

// canonical sorts by (ordinal, name) and keeps one entry per (ordinal, name).
func canonical(list []wire.Member) []wire.Member {
	slices.SortFunc(list, wire.CompareMembers)
	return slices.CompactFunc(list, func(a, b wire.Member) bool { return wire.CompareMembers(a, b) == 0 })
}

// Merge records what src's STABLESET says as src's witnesses: every member and joining entry is
// a join, every leaving entry a leave (ST-6). It reports how many records were new; call Apply
// afterwards. The consensus layer walks views itself when it needs to react per entry.
func (s *Set) Merge(src wire.Name, v *wire.StablesetView, at time.Time) int {
	added := 0
	var m wire.Member
	for _, l := range [...]struct {
		list int
		kind wire.ChangeKind
	}{{wire.ListMembers, wire.ChangeJoin}, {wire.ListJoining, wire.ChangeJoin}, {wire.ListLeaving, wire.ChangeLeave}} {
		for i := 0; i < v.Len(l.list); i++ {
			v.Entry(l.list, i, &m)
			if s.Witness(l.kind, m, src, at) {
				added++
			}
		}
	}
	return added
}

// Lacks reports whether the view misses something this node applied no later than settled: for
// some name, it states an earlier event than the last one this node applied, or none (ST-1,
// ST-8). That is a member it does not list, a departed instance it lists neither as leaving nor
// as replaced by a later member, or an instance it lists as a member that this node knows has
// left (rulebook rule 30). The sender of such a view should be sent this node's own. A view ahead
// of this node for a name lacks nothing there; what this node applied after settled its sender
// may still be learning from the decision itself (ST-10), and is not counted.
func (s *Set) Lacks(v *wire.StablesetView, settled time.Time) bool {
	s.readRanks(v)
	for n, cur := range s.state {
		if cur.at.After(settled) {
			continue
		}
		if r, ok := s.viewRanks[n]; !ok || less(r, rank(cur.member.Ordinal, kindOf(cur))) {
			return true
		}
	}
	return false
}

// Dominated reports whether the view states, for every name this node has applied anything
// about, the same event or a later one, so that taking it over loses nothing (ST-11).
func (s *Set) Dominated(v *wire.StablesetView) bool {
	s.readRanks(v)
	if len(s.viewRanks) < len(s.state) {
		return false
	}
	for n, cur := range s.state {
		if less(s.viewRanks[n], rank(cur.member.Ordinal, kindOf(cur))) {
			return false
		}
	}
	return true
}

// readRanks reads, in one pass over the view, what it states for each name this node knows of:
// the join of a listed member, else the greatest leave it lists (a member listed as leaving too
// is only pending its leave). It fills viewRanks, reused from call to call.
func (s *Set) readRanks(v *wire.StablesetView) {
	if s.viewRanks == nil {
		s.viewRanks = make(map[wire.Name][2]uint64, len(s.state))
	}
	ranks := s.viewRanks
	clear(ranks)
	var m wire.Member
	for i := 0; i < v.Len(wire.ListLeaving); i++ {
		v.Entry(wire.ListLeaving, i, &m)
		if _, ok := s.state[m.Name]; !ok {
			continue // names this node knows nothing of cannot be missed
		}
		r := rank(m.Ordinal, wire.ChangeLeave)
		if got, seen := ranks[m.Name]; !seen || less(got, r) {
			ranks[m.Name] = r
		}
	}
	for i := 0; i < v.Len(wire.ListMembers); i++ {
		v.Entry(wire.ListMembers, i, &m)
		if _, ok := s.state[m.Name]; ok {
			ranks[m.Name] = rank(m.Ordinal, wire.ChangeJoin)
		}
	}
}

// Adopt takes over a view that dominates this node's state: its members become the members, every
// other instance it lists as leaving is recorded as gone, and this node's own departed instances
// that the view does not mention are kept. Pending changes that no longer apply are dropped.
func (s *Set) Adopt(v *wire.StablesetView) {
	old := s.state
	s.state = make(map[wire.Name]instance, len(old))
	var m wire.Member
	for i := 0; i < v.Len(wire.ListLeaving); i++ {
		v.Entry(wire.ListLeaving, i, &m)
		if cur, ok := s.state[m.Name]; !ok || less(rank(cur.member.Ordinal, kindOf(cur)), rank(m.Ordinal, wire.ChangeLeave)) {
			s.state[m.Name] = instance{member: m, left: true}
		}
	}
	for i := 0; i < v.Len(wire.ListMembers); i++ {
		v.Entry(wire.ListMembers, i, &m)
		s.state[m.Name] = instance{member: m} // a member listed as leaving is still a member
	}
	for n, in := range old {
		if _, ok := s.state[n]; !ok && in.left {
			s.state[n] = in
		}
	}
	s.derive()
	s.dropStale()
}
