// Package stableset holds a node's knowledge of its stableset and derives the membership from it
// (conformance/drafts/consensus.md). Knowledge is a grow-only set of witness records — "node W
// witnessed that member M joins (or leaves)" — so merging what peers say is set union: idempotent,
// commutative and associative. Members, elders and the stableset id are a deterministic function
// of that knowledge and of which nodes this node believes contactable, so nodes that know the same
// things agree, whatever order they learned them in. The package is pure: no clocks, goroutines
// or I/O; the consensus core above it decides what to send.
package stableset

import (
	"bytes"
	"crypto/sha256"
	"slices"

	"github.com/stableset/sskit/refnode/wire"
)

// change is one proposed join or leave of one member instance, with its witnesses.
type change struct {
	kind      wire.ChangeKind
	member    wire.Member
	witnesses []wire.Name // a set, in insertion order
}

// key identifies a change: the whole member, so that records differing in anything are distinct.
type key struct {
	kind   wire.ChangeKind
	member wire.Member
}

// before is the order in which the evaluation considers changes: ordinal, then joins before
// leaves (an instance must join before it can leave), then name, then address.
func (c *change) before(o *change) bool {
	if c.member.Ordinal != o.member.Ordinal {
		return c.member.Ordinal < o.member.Ordinal
	}
	if c.kind != o.kind {
		return c.kind == wire.ChangeJoin
	}
	if cmp := bytes.Compare(c.member.Name[:], o.member.Name[:]); cmp != 0 {
		return cmp < 0
	}
	return c.member.Addr.Compare(o.member.Addr) < 0
}

// Set is a node's stableset knowledge and the membership derived from it.
type Set struct {
	self        wire.Name
	elderSize   int
	contactable func(wire.Name) bool
	genesis     []wire.Member
	changes     map[key]*change
	order       []*change // every change, in evaluation order

	// Derived by evaluate; valid while dirty is false.
	dirty   bool
	members []wire.Member // in (ordinal, name) order
	elders  []wire.Member
	applied []bool // applied[i] for order[i]
	id      wire.StablesetID
	nameBuf []wire.Name
}

// New starts self's knowledge from the genesis members, which need no witnesses. contactable says
// whether self believes a member reachable; nil means every member is.
func New(self wire.Name, elderSize int, genesis []wire.Member, contactable func(wire.Name) bool) *Set {
	if contactable == nil {
		contactable = func(wire.Name) bool { return true }
	}
	s := &Set{self: self, elderSize: elderSize, contactable: contactable, changes: map[key]*change{}, dirty: true}
	s.genesis = append(s.genesis, genesis...)
	slices.SortFunc(s.genesis, compareMembers)
	return s
}

func compareMembers(a, b wire.Member) int {
	switch {
	case a.Less(&b):
		return -1
	case b.Less(&a):
		return 1
	}
	return 0
}

// Majority is the smallest number of n elders that is a strict majority (2m > n).
func Majority(n int) int { return n/2 + 1 }

// Witness records that by witnessed the change. It reports whether the record is new; a
// repeated record changes nothing. Only the direct sender of a message, or this node itself for
// what it observed, may be given as by.
func (s *Set) Witness(kind wire.ChangeKind, m wire.Member, by wire.Name) bool {
	k := key{kind, m}
	c := s.changes[k]
	if c == nil {
		c = &change{kind: kind, member: m, witnesses: make([]wire.Name, 0, 4)}
		s.changes[k] = c
		i, _ := slices.BinarySearchFunc(s.order, c, func(a, b *change) int {
			if a.before(b) {
				return -1
			}
			return 1
		})
		s.order = slices.Insert(s.order, i, c)
	} else if slices.Contains(c.witnesses, by) {
		return false
	}
	c.witnesses = append(c.witnesses, by)
	s.dirty = true
	return true
}

// Witnessed reports whether by is recorded as a witness of the change.
func (s *Set) Witnessed(kind wire.ChangeKind, m wire.Member, by wire.Name) bool {
	c := s.changes[key{kind, m}]
	return c != nil && slices.Contains(c.witnesses, by)
}

// Merge records what src's STABLESET says as src's witnesses: every member and joining entry is a
// join, every leaving entry (pending or a tombstone) a leave. It returns how many records were new.
func (s *Set) Merge(src wire.Name, v *wire.StablesetView) int {
	added := 0
	var m wire.Member
	for _, list := range [...]struct {
		list int
		kind wire.ChangeKind
	}{{wire.ListMembers, wire.ChangeJoin}, {wire.ListJoining, wire.ChangeJoin}, {wire.ListLeaving, wire.ChangeLeave}} {
		for i := 0; i < v.Len(list.list); i++ {
			v.Entry(list.list, i, &m)
			if s.Witness(list.kind, m, src) {
				added++
			}
		}
	}
	return added
}

// ContactabilityChanged tells the set that the contactable function now answers differently.
func (s *Set) ContactabilityChanged() { s.dirty = true }

// evaluate derives the membership from the knowledge: from the genesis members, repeatedly apply
// the first change (in evaluation order) that can apply and has witnesses from a majority of the
// current elders, until none has.
func (s *Set) evaluate() {
	if !s.dirty {
		return
	}
	s.dirty = false
	s.members = append(s.members[:0], s.genesis...)
	s.applied = slices.Grow(s.applied[:0], len(s.order))[:len(s.order)]
	clear(s.applied)
	s.computeElders()
	for {
		i := s.nextApplicable()
		if i < 0 {
			break
		}
		s.applied[i] = true
		c := s.order[i]
		if c.kind == wire.ChangeJoin {
			j, _ := slices.BinarySearchFunc(s.members, c.member, compareMembers)
			s.members = slices.Insert(s.members, j, c.member)
		} else {
			s.members = slices.DeleteFunc(s.members, func(m wire.Member) bool { return m == c.member })
		}
		s.computeElders()
	}
	s.computeID()
}

// nextApplicable is the index of the first change that can apply now and has a majority.
func (s *Set) nextApplicable() int {
	need := Majority(len(s.elders))
	for i, c := range s.order {
		if s.applied[i] || !s.canApply(c) {
			continue
		}
		count := 0
		for _, e := range s.elders {
			if slices.Contains(c.witnesses, e.Name) {
				count++
			}
		}
		if count >= need {
			return i
		}
	}
	return -1
}

// canApply: a join needs the name absent; a leave needs exactly that instance present.
func (s *Set) canApply(c *change) bool {
	present := s.indexOf(c.member.Name)
	if c.kind == wire.ChangeJoin {
		return present < 0
	}
	return present >= 0 && s.members[present] == c.member
}

func (s *Set) indexOf(n wire.Name) int {
	for i := range s.members {
		if s.members[i].Name == n {
			return i
		}
	}
	return -1
}

func (s *Set) computeElders() {
	s.elders = s.elders[:0]
	for _, m := range s.members {
		if len(s.elders) == s.elderSize {
			break
		}
		if s.contactable(m.Name) {
			s.elders = append(s.elders, m)
		}
	}
}

// computeID is SHA-256 over the member names in ascending bytewise order (SPEC.md WIRE-10).
func (s *Set) computeID() {
	s.nameBuf = s.nameBuf[:0]
	for _, m := range s.members {
		s.nameBuf = append(s.nameBuf, m.Name)
	}
	slices.SortFunc(s.nameBuf, func(a, b wire.Name) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	for i := range s.nameBuf {
		h.Write(s.nameBuf[i][:])
	}
	h.Sum(s.id[:0])
}

// Members are the current members in (ordinal, name) order. The slice is the set's own: read it
// before the next change.
func (s *Set) Members() []wire.Member {
	s.evaluate()
	return s.members
}

// Elders are the first elder-size contactable members in (ordinal, name) order.
func (s *Set) Elders() []wire.Member {
	s.evaluate()
	return s.elders
}

// IsElder reports whether n is one of the current elders.
func (s *Set) IsElder(n wire.Name) bool {
	for _, e := range s.Elders() {
		if e.Name == n {
			return true
		}
	}
	return false
}

// Member returns the current member named n.
func (s *Set) Member(n wire.Name) (wire.Member, bool) {
	s.evaluate()
	if i := s.indexOf(n); i >= 0 {
		return s.members[i], true
	}
	return wire.Member{}, false
}

// ID is the stableset id of the current members.
func (s *Set) ID() wire.StablesetID {
	s.evaluate()
	return s.id
}

// MaxOrdinal is the highest ordinal among the members; a new joiner gets one more.
func (s *Set) MaxOrdinal() uint64 {
	var max uint64
	for _, m := range s.Members() {
		max = maxU(max, m.Ordinal)
	}
	return max
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// Pending is a change that has not applied, with the names that witnessed it.
type Pending struct {
	Kind      wire.ChangeKind
	Member    wire.Member
	Witnesses []wire.Name
}

// Pending lists the changes that could apply but lack a majority, in evaluation order.
func (s *Set) Pending() []Pending {
	s.evaluate()
	var out []Pending
	for i, c := range s.order {
		if !s.applied[i] && s.canApply(c) {
			out = append(out, Pending{Kind: c.kind, Member: c.member, Witnesses: slices.Clone(c.witnesses)})
		}
	}
	return out
}

// AppendView appends this node's STABLESET body: what this node itself vouches for, since the
// receiver records all of it as this node's witness. That is the members and the tombstones of
// applied leaves (this node applied them), and the pending joins and leaves this node witnessed
// itself; pending changes known only from others are left out, so authority is never passed
// along. Each list is in strictly increasing (ordinal, name) order, as MSG-4 requires.
func (s *Set) AppendView(dst []byte) []byte {
	s.evaluate()
	var joining, leaving []wire.Member
	for i, c := range s.order {
		pendingMine := !s.applied[i] && s.canApply(c) && slices.Contains(c.witnesses, s.self)
		switch {
		case s.applied[i] && c.kind == wire.ChangeLeave:
			leaving = append(leaving, c.member)
		case pendingMine && c.kind == wire.ChangeJoin:
			joining = append(joining, c.member)
		case pendingMine && c.kind == wire.ChangeLeave:
			leaving = append(leaving, c.member)
		}
	}
	return wire.AppendStableset(dst, s.members, canonical(joining), canonical(leaving))
}

// canonical sorts by (ordinal, name) and keeps one entry per instance.
func canonical(list []wire.Member) []wire.Member {
	slices.SortStableFunc(list, compareMembers)
	return slices.CompactFunc(list, func(a, b wire.Member) bool { return compareMembers(a, b) == 0 })
}
