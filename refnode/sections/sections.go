// Package sections is the pure core of what a node knows about the other sections of the network
// (issue 6; design in conformance/drafts/sections.md): which section a name belongs to, the
// top-20 list it holds for each other section, and when a received list may replace it.
//
// A section is the set of names that share their first Bits bits (a Prefix). Its elders send
// their top-20 list (the 20 eldest members, the stableset id and the section's Age) to the other
// sections. A Directory accepts a list for a section only when the list is newer than the one it
// holds and a strict majority sent it the same list: of the held list's elders, or of the new
// list's elders when all of them are members of the held list (on first contact, of the new
// list's elders). Counting distinct senders to a quorum is the accumulator's job.
//
// Like the stableset and consensus cores, the package does no I/O, reads no clock and starts no
// goroutines; time comes in as an argument.
package sections

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stableset/sskit/refnode/accumulator"
	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

// TopSize is how many of a section's eldest members a list carries (the seed's "top 20").
const TopSize = 20

// MaxBits is the longest prefix: 8 bits give 256 sections, far more than a test network needs.
const MaxBits = 8

// Prefix is a section: the names whose first Bits bits equal those of Value.
type Prefix struct {
	Bits  uint8
	Value uint8 // the prefix in the high Bits bits; the other bits are zero
}

// PrefixOf is the section of name in a network of bits-bit prefixes.
func PrefixOf(name wire.Name, bits uint8) Prefix {
	return Prefix{Bits: bits, Value: name[0] & wire.PrefixMask(bits)}
}

// Contains reports whether name belongs to the section.
func (p Prefix) Contains(name wire.Name) bool { return name[0]&wire.PrefixMask(p.Bits) == p.Value }

// String is the prefix as binary digits, "" for the whole name space.
func (p Prefix) String() string {
	s := fmt.Sprintf("%08b", p.Value)
	return s[:p.Bits]
}

// List is a section's top-20 list as its elders send it.
type List struct {
	Prefix  Prefix
	Age     uint64 // stableset.Set.Age: every applied change raises it, so a list of greater Age is newer
	ID      wire.StablesetID
	Members []wire.Member // at most TopSize, in (ordinal, name) order; the first elder-size are the elders
}

// OwnList is the list an elder of section p sends about its own stableset.
func OwnList(p Prefix, set *stableset.Set) List {
	members := set.Members()
	return List{
		Prefix:  p,
		Age:     set.Age(),
		ID:      set.ID(),
		Members: slices.Clone(members[:min(TopSize, len(members))]),
	}
}

// FromWire is the list a SECTION_LIST body carries; it shares nothing with w.
func FromWire(w *wire.SectionList) List {
	return List{
		Prefix: Prefix{Bits: w.Bits, Value: w.Value},
		Age:    w.Age,
		ID:     w.ID, Members: slices.Clone(w.Members),
	}
}

// Wire is the list as a SECTION_LIST body; it shares l's members.
func (l *List) Wire() wire.SectionList {
	return wire.SectionList{Bits: l.Prefix.Bits, Value: l.Prefix.Value, Age: l.Age, ID: l.ID, Members: l.Members}
}

// Elders are the list's first elderSize members.
func (l *List) Elders(elderSize int) []wire.Member { return l.Members[:min(elderSize, len(l.Members))] }

// Has reports whether name is one of the list's members.
func (l *List) Has(name wire.Name) bool { return wire.HasName(l.Members, name) }

// digest identifies a list's content: two lists are the same list exactly when their digests are
// equal, which is what the accumulator counts senders of.
func (l *List) digest() [32]byte {
	h := sha256.New()
	var buf [2 + 8]byte
	buf[0], buf[1] = l.Prefix.Bits, l.Prefix.Value
	binary.BigEndian.PutUint64(buf[2:10], l.Age)
	h.Write(buf[:10])
	if mutant.Enabled && mutant.Is("list-votes-by-age") {
		return [32]byte(h.Sum(nil))
	}
	h.Write(l.ID[:])
	for i := range l.Members {
		m := &l.Members[i]
		h.Write(m.Name[:])
		binary.BigEndian.PutUint64(buf[:8], m.Ordinal)
		ip := m.Addr.Addr().As16()
		binary.BigEndian.PutUint16(buf[8:10], m.Addr.Port())
		h.Write(buf[:10])
		h.Write(ip[:])
	}
	return [32]byte(h.Sum(nil))
}

// Why a received list changed nothing. None of them is an error of the sender's connection:
// lists from several senders cross each other, and a stale or early copy is normal.
var (
	ErrOwnSection   = errors.New("sections: the list is about the receiver's own section")
	ErrMalformed    = errors.New("sections: the list breaks its form")
	ErrNotNewer     = errors.New("sections: the list is not newer than the one held")
	ErrNotEligible  = errors.New("sections: the sender is not an elder of the list, or not a member of the list held for its section")
	ErrBelowQuorum  = errors.New("sections: fewer than a majority of the list's elders have sent it so far")
	ErrWrongSection = errors.New("sections: the prefix has another length than the network's")
)

// Known is what a Directory holds about one other section.
type Known struct {
	List     List
	Accepted time.Time
	Senders  []wire.Name // the elders whose agreement made it accepted; none for a bootstrap list
}

// Directory holds one node's knowledge of the other sections.
type Directory struct {
	own       Prefix
	elderSize int
	known     map[Prefix]*Known
	sorted    []*Known // the values of known in prefix order
	tallies   map[tallyKey]*accumulator.Accumulator[[32]byte, struct{}]
}

// tallyKey separates accumulators by section and by quorum: a section with fewer members than
// elderSize has fewer elders, hence a smaller majority, and the accumulator's quorum is fixed.
type tallyKey struct {
	prefix Prefix
	rule   rule
	held   [32]byte
	quorum int
}

// rule is how a list is vouched for (see Receive).
type rule uint8

const (
	byHeldElders rule = iota // a majority of the held list's elders: the elders hand over
	byNewElders              // a majority of the new list's elders, all in the held list
)

// tallyCapacity bounds the lists counted per section and quorum; a section sends one new list
// per change, so a handful in flight is the normal case.
const tallyCapacity = 64

// NewDirectory returns the knowledge of a node of section own, which knows no other section yet.
func NewDirectory(own Prefix, elderSize int) *Directory {
	return &Directory{own: own, elderSize: elderSize, known: map[Prefix]*Known{},
		tallies: map[tallyKey]*accumulator.Accumulator[[32]byte, struct{}]{}}
}

// Own is the receiver's own section.
func (d *Directory) Own() Prefix { return d.own }

// Len is how many other sections the Directory knows.
func (d *Directory) Len() int { return len(d.known) }

// Lookup returns what is known of the section name belongs to.
func (d *Directory) Lookup(name wire.Name) (*Known, bool) {
	k, ok := d.known[PrefixOf(name, d.own.Bits)]
	return k, ok
}

// Sections returns what is known of every other section, in prefix order. The slice and the
// lists are the Directory's own, valid until its next change; callers must not change them. It
// allocates nothing: elders walk it at every ping and every witness.
func (d *Directory) Sections() []*Known { return d.sorted }

// put holds k for its section, keeping sorted in prefix order.
func (d *Directory) put(k *Known) {
	d.known[k.List.Prefix] = k
	i, found := slices.BinarySearchFunc(d.sorted, k.List.Prefix.Value, func(e *Known, v uint8) int {
		return int(e.List.Prefix.Value) - int(v)
	})
	if found {
		d.sorted[i] = k
	} else {
		d.sorted = slices.Insert(d.sorted, i, k)
	}
}

// Seed takes a list from configuration (a bootstrap), as first contact, without a quorum. It is
// ignored when a list for that section is held already.
func (d *Directory) Seed(l List, now time.Time) error {
	if err := d.check(&l); err != nil {
		return err
	}
	if _, ok := d.known[l.Prefix]; !ok {
		d.put(&Known{List: cloneList(l), Accepted: now})
	}
	return nil
}

// Receive counts list l from sender and reports whether it now replaces what the Directory held
// for l's section. A nil error means accepted; otherwise the error says why nothing changed.
//
// A list newer than the held one is accepted when a strict majority of the held list's elders
// sent it (the elders vouch for their successors, which is how a section grows from one
// member), or when every elder of the new list is a member of the held list and a strict
// majority of them sent it (the old elders are gone and the next eldest, known from the held
// list, take over: SEC-8). On first contact only the second rule applies, against the new list
// itself. Either way a sender outside the held list never counts.
func (d *Directory) Receive(now time.Time, sender wire.Name, l List) error {
	if err := d.check(&l); err != nil {
		return err
	}
	held := d.known[l.Prefix]
	if held != nil && held.List.Age >= l.Age && !(mutant.Enabled && mutant.Is("list-goes-back")) {
		return ErrNotNewer
	}
	elders := l.Elders(d.elderSize)
	if mutant.Enabled && mutant.Is("list-without-quorum") && wire.HasName(elders, sender) {
		d.put(&Known{List: cloneList(l), Accepted: now})
		return nil
	}
	var heldDigest [32]byte
	var heldElders []wire.Member
	newEldersKnown := true
	if held != nil {
		heldDigest, heldElders = held.List.digest(), held.List.Elders(d.elderSize)
		for _, e := range elders {
			newEldersKnown = newEldersKnown && held.List.Has(e.Name)
		}
	}
	digest := l.digest()
	counted := false
	for _, r := range [...]struct {
		rule   rule
		voters []wire.Member
		ok     bool
	}{{byHeldElders, heldElders, held != nil}, {byNewElders, elders, newEldersKnown}} {
		if !r.ok || !wire.HasName(r.voters, sender) && !(mutant.Enabled && mutant.Is("outsider-list-counted")) {
			continue
		}
		counted = true
		quorum := stableset.Majority(len(r.voters))
		tk := tallyKey{l.Prefix, r.rule, heldDigest, quorum}
		acc := d.tallies[tk]
		if acc == nil {
			var err error
			if acc, err = accumulator.New[[32]byte, struct{}](accumulator.Config{Quorum: quorum, Capacity: tallyCapacity}); err != nil {
				return err // cannot happen: the quorum and capacity are positive
			}
			d.tallies[tk] = acc
		}
		if res, resolved := acc.Add(digest, struct{}{}, sender, now); resolved {
			d.put(&Known{List: cloneList(l), Accepted: now, Senders: res.Senders})
			for k := range d.tallies {
				if k.prefix == l.Prefix && k.held == heldDigest {
					delete(d.tallies, k) // counted against a list no longer held
				}
			}
			return nil
		}
	}
	if !counted {
		return ErrNotEligible
	}
	return ErrBelowQuorum
}

// check rejects a list that cannot be a section's top-20 list in this network.
func (d *Directory) check(l *List) error {
	switch {
	case l.Prefix.Bits != d.own.Bits:
		return ErrWrongSection
	case l.Prefix == d.own:
		return ErrOwnSection
	case l.Prefix.Value&^wire.PrefixMask(l.Prefix.Bits) != 0, len(l.Members) == 0, len(l.Members) > TopSize:
		return ErrMalformed
	}
	// Every listed member is a name with an applied join, so their ranks (stableset.Set.Age) add
	// up to at most the age.
	ranks := l.Age
	for i := range l.Members {
		m := &l.Members[i]
		if !l.Prefix.Contains(m.Name) || ranks == 0 || m.Ordinal > (ranks-1)/2 {
			return ErrMalformed
		}
		ranks -= 2*m.Ordinal + 1
		if i > 0 && !l.Members[i-1].Less(m) {
			return ErrMalformed
		}
		if slices.ContainsFunc(l.Members[:i], func(o wire.Member) bool { return o.Name == m.Name }) {
			return ErrMalformed // one name twice, with two ordinals
		}
	}
	return nil
}

func cloneList(l List) List {
	l.Members = slices.Clone(l.Members)
	return l
}
