package sections

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// nameIn returns a name of the section with 1-bit prefix top (0 or 1), distinct per i.
func nameIn(top byte, i int) wire.Name {
	var n wire.Name
	n[0] = top<<7 | byte(i)
	n[1] = byte(i >> 8)
	n[31] = 0xaa
	return n
}

func member(top byte, i int, ordinal uint64) wire.Member {
	return wire.Member{Name: nameIn(top, i), Ordinal: ordinal,
		Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, top, byte(i + 1)}), 4433)}
}

// listOf is section top's list of members with ordinals 0..n-1 (member i has ordinal i). Its age
// is their joins' ranks, n², plus left: what leaves have added (stableset.Set.Age).
func listOf(top byte, n int, left uint64) List {
	l := List{Prefix: Prefix{Bits: 1, Value: top << 7}, Age: uint64(n*n) + left}
	for i := 0; i < n && i < TopSize; i++ {
		l.Members = append(l.Members, member(top, i, uint64(i)))
	}
	l.ID[0] = byte(n)
	return l
}

func TestPrefixes(t *testing.T) {
	var n wire.Name
	n[0] = 0b1011_0000
	if p := PrefixOf(n, 3); p.Value != 0b1010_0000 || p.String() != "101" {
		t.Fatalf("PrefixOf 3 bits = %+v %q", p, p.String())
	}
	if p := PrefixOf(n, 0); p.Value != 0 || p.String() != "" || !p.Contains(nameIn(0, 1)) || !p.Contains(nameIn(1, 1)) {
		t.Fatalf("0 bits must be the whole name space: %+v", p)
	}
	one := PrefixOf(nameIn(1, 5), 1)
	if !one.Contains(nameIn(1, 9)) || one.Contains(nameIn(0, 9)) {
		t.Fatal("a 1-bit prefix must split names by their top bit")
	}
}

// Every applied change raises the age: joins, leaves and rejoins, in any order, and joins that
// elders took at once, which may share an ordinal or apply below the greatest one (ST-5).
func TestAgeRisesWithEveryAppliedChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	self := member(0, 0, 0)
	set := stableset.New(self, 4)
	last := map[wire.Name]uint64{} // each name's latest ordinal: a rejoin is a new instance above it (ST-1)
	var buf []stableset.Change
	shared, below := 0, 0
	for step := 0; step < 2000; step++ {
		before := set.Age()
		members := set.Members()
		var ch stableset.Change
		if len(members) > 1 && rng.IntN(2) == 0 {
			ch = stableset.Change{Kind: wire.ChangeLeave, Member: members[1+rng.IntN(len(members)-1)]}
		} else {
			m := member(0, 1+rng.IntN(30), 0)
			if _, in := set.Member(m.Name); in {
				continue
			}
			lo, greatest := uint64(1), set.MaxOrdinal()
			if o, ok := last[m.Name]; ok {
				lo = o + 1
			}
			m.Ordinal = lo + rng.Uint64N(max(greatest+1, lo)-lo+1) // from lo to one above the greatest
			switch {
			case m.Ordinal == greatest:
				shared++
			case m.Ordinal < greatest:
				below++
			}
			last[m.Name] = m.Ordinal
			ch = stableset.Change{Kind: wire.ChangeJoin, Member: m}
		}
		witnessByAllElders(set, ch)
		if buf = set.Apply(buf[:0]); len(buf) != 1 {
			t.Fatalf("step %d: %v applied %d changes, want 1 (the node is its only elder)", step, ch, len(buf))
		}
		if after := set.Age(); after <= before {
			t.Fatalf("step %d: %v of ordinal %d moved the age from %d to %d, not up", step, ch.Kind, ch.Member.Ordinal, before, after)
		}
	}
	if shared == 0 || below == 0 {
		t.Fatalf("the walk must try joins at the greatest ordinal (%d) and below it (%d)", shared, below)
	}
}

func witnessByAllElders(set *stableset.Set, ch stableset.Change) {
	for _, e := range set.Elders() {
		set.Witness(ch.Kind, ch.Member, e.Name, time.Time{})
	}
}

func TestFirstContactNeedsAMajorityOfTheListsOwnElders(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	l := listOf(1, 8, 0)
	for i, want := range []error{ErrBelowQuorum, ErrBelowQuorum, nil} {
		if err := d.Receive(t0, l.Members[i].Name, l); !errors.Is(err, want) && err != want {
			t.Fatalf("elder %d: %v, want %v", i, err, want)
		}
	}
	k, ok := d.Lookup(nameIn(1, 77))
	if !ok || k.List.ID != l.ID || len(k.Senders) != 3 {
		t.Fatalf("after 3 of 4 elders the list must be held, with its 3 senders: %+v %v", k, ok)
	}
	if _, ok := d.Lookup(nameIn(0, 77)); ok {
		t.Fatal("a name of the own section must not be looked up among the other sections")
	}
}

func TestARepeatedSenderCountsOnce(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	l := listOf(1, 8, 0)
	for range 5 {
		if err := d.Receive(t0, l.Members[0].Name, l); err != ErrBelowQuorum {
			t.Fatalf("one elder sending 5 times: %v, want ErrBelowQuorum", err)
		}
	}
	if err := d.Receive(t0, l.Members[1].Name, l); err != ErrBelowQuorum {
		t.Fatalf("two distinct elders: %v, want ErrBelowQuorum", err)
	}
}

func TestOnlyTheListsEldersCount(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	l := listOf(1, 8, 0)
	for _, adult := range l.Members[4:] {
		if err := d.Receive(t0, adult.Name, l); err != ErrNotEligible {
			t.Fatalf("a member that is not an elder of the list: %v, want ErrNotEligible", err)
		}
	}
	if _, ok := d.Lookup(nameIn(1, 0)); ok {
		t.Fatal("adults alone must never make a list held")
	}
}

// A forger that is not in the held list cannot move it, even with a list that names it an elder
// and however many names it forges (it can only send as itself).
func TestAForgedListChangesNothing(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	held := listOf(1, 8, 0)
	if err := d.Seed(held, t0); err != nil {
		t.Fatal(err)
	}
	forged := listOf(1, 8, 0)
	forged.Age = 1000
	forged.Members[0] = member(1, 200, 0) // the forger, placed as eldest
	forged.Members[0].Ordinal = 0
	if err := d.Receive(t0, forged.Members[0].Name, forged); err != ErrNotEligible {
		t.Fatalf("forger outside the held list: %v, want ErrNotEligible", err)
	}
	// A real member that forges alone stays below the quorum.
	insider := held.Members[5]
	forged2 := listOf(1, 8, 0)
	forged2.Age = 1000
	forged2.Members = append([]wire.Member{insider}, forged2.Members[:3]...)
	forged2.Members[0].Ordinal = 0
	forged2.Members[1].Ordinal, forged2.Members[2].Ordinal, forged2.Members[3].Ordinal = 1, 2, 3
	if err := d.Receive(t0, insider.Name, forged2); err != ErrBelowQuorum {
		t.Fatalf("one insider: %v, want ErrBelowQuorum", err)
	}
	k, _ := d.Lookup(nameIn(1, 0))
	if k.List.Age != held.Age || k.List.ID != held.ID {
		t.Fatalf("the held list moved: %+v", k.List)
	}
}

// When all four elders of a section die, the next four, members of the held list, send the new
// list, and it is accepted: that is what the top 20 are for.
func TestNewEldersFromTheHeldListReplaceAllOldOnes(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	old := listOf(1, 8, 0)
	if err := d.Seed(old, t0); err != nil {
		t.Fatal(err)
	}
	next := List{Prefix: old.Prefix, Age: old.Age + 4, Members: old.Members[4:]} // 4 leaves
	next.ID[0] = 4
	for i, want := range []error{ErrBelowQuorum, ErrBelowQuorum, nil} {
		if err := d.Receive(t0.Add(time.Second), next.Members[i].Name, next); err != want {
			t.Fatalf("new elder %d: %v, want %v", i, err, want)
		}
	}
	k, _ := d.Lookup(nameIn(1, 0))
	if k.List.Age != next.Age || k.List.Members[0].Name != old.Members[4].Name {
		t.Fatalf("the new list was not taken: %+v", k.List)
	}
}

func TestListsNeverGoBackwards(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	newer := listOf(1, 8, 2)
	if err := d.Seed(newer, t0); err != nil {
		t.Fatal(err)
	}
	for _, older := range []List{listOf(1, 8, 2), listOf(1, 8, 1), listOf(1, 7, 9)} {
		for _, e := range older.Elders(4) {
			if err := d.Receive(t0, e.Name, older); err != ErrNotNewer {
				t.Fatalf("age %+v against held %+v: %v, want ErrNotNewer", older.Age, newer.Age, err)
			}
		}
	}
}

func TestSmallSectionsHaveASmallerMajority(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	l := listOf(1, 2, 0) // 2 members, both elders: the majority is 2 of 2
	if err := d.Receive(t0, l.Members[0].Name, l); err != ErrBelowQuorum {
		t.Fatalf("1 of 2: %v", err)
	}
	if err := d.Receive(t0, l.Members[1].Name, l); err != nil {
		t.Fatalf("2 of 2: %v", err)
	}
}

func TestMalformedAndMisdirectedListsAreRejected(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	sender := nameIn(1, 0)
	cases := map[string]struct {
		edit func(*List)
		want error
	}{
		"own section":        {func(l *List) { *l = listOf(0, 8, 0) }, ErrOwnSection},
		"other prefix bits":  {func(l *List) { l.Prefix.Bits = 2 }, ErrWrongSection},
		"no members":         {func(l *List) { l.Members = nil }, ErrMalformed},
		"21 members":         {func(l *List) { l.Members = append(l.Members, listOf(1, 21, 0).Members[8:]...) }, ErrMalformed},
		"member of another":  {func(l *List) { l.Members[7] = member(0, 7, 7) }, ErrMalformed},
		"out of order":       {func(l *List) { l.Members[1], l.Members[2] = l.Members[2], l.Members[1] }, ErrMalformed},
		"name twice":         {func(l *List) { l.Members[7] = l.Members[6]; l.Members[7].Ordinal = 7 }, ErrMalformed},
		"ordinal beyond age": {func(l *List) { l.Age = 3 }, ErrMalformed},
		"ranks beyond age":   {func(l *List) { l.Age = 63 }, ErrMalformed}, // the 8 joins' ranks make 64
		"stray prefix bits":  {func(l *List) { l.Prefix.Value |= 1 }, ErrMalformed},
	}
	for name, c := range cases {
		l := listOf(1, 8, 0)
		c.edit(&l)
		if err := d.Receive(t0, sender, l); err != c.want {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestOwnListCarriesTheEldestTwentyAndTheAge(t *testing.T) {
	self := member(1, 0, 0)
	set := stableset.New(self, 4)
	var buf []stableset.Change
	for i := 1; i <= 25; i++ {
		witnessByAllElders(set, stableset.Change{Kind: wire.ChangeJoin, Member: member(1, i, uint64(i))})
		buf = set.Apply(buf[:0])
	}
	witnessByAllElders(set, stableset.Change{Kind: wire.ChangeLeave, Member: set.Members()[3]})
	set.Apply(buf[:0])
	l := OwnList(Prefix{Bits: 1, Value: 0x80}, set)
	if len(l.Members) != TopSize || l.Members[3].Ordinal != 4 || l.Age != 26*26+1 || l.ID != set.ID() {
		t.Fatalf("own list: %d members, 4th ordinal %d, age %+v", len(l.Members), l.Members[3].Ordinal, l.Age)
	}
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	if err := d.Seed(l, t0); err != nil {
		t.Fatalf("a list made by OwnList must pass the Directory's checks: %v", err)
	}
}

// A section grows from its founder: the founder alone, the held list's only elder, vouches for
// the list that makes the second member an elder too.
func TestTheHeldEldersVouchForTheirSuccessors(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	if err := d.Seed(listOf(1, 1, 0), t0); err != nil {
		t.Fatal(err)
	}
	two := listOf(1, 2, 0)
	if err := d.Receive(t0, two.Members[1].Name, two); err != ErrNotEligible {
		t.Fatalf("the newcomer vouching for itself: %v, want ErrNotEligible", err)
	}
	if err := d.Receive(t0, two.Members[0].Name, two); err != nil {
		t.Fatalf("the founder, the held list's only elder: %v, want accepted", err)
	}
	// From 4 held elders, 3 of them carry a list in which one of them has left.
	d = NewDirectory(Prefix{Bits: 1, Value: 0}, 4)
	held := listOf(1, 8, 0)
	if err := d.Seed(held, t0); err != nil {
		t.Fatal(err)
	}
	next := List{Prefix: held.Prefix, Age: held.Age + 1, Members: held.Members[1:]}
	for i, want := range []error{ErrBelowQuorum, ErrBelowQuorum, nil} {
		if err := d.Receive(t0, held.Members[i].Name, next); err != want {
			t.Fatalf("held elder %d: %v, want %v", i, err, want)
		}
	}
}

func TestSectionsComeInPrefixOrderAndAReplacedListKeepsItsPlace(t *testing.T) {
	d := NewDirectory(Prefix{Bits: 2, Value: 0}, 4)
	list := func(value byte, age uint64) List {
		var n wire.Name
		n[0] = value
		return List{Prefix: Prefix{Bits: 2, Value: value}, Age: age,
			Members: []wire.Member{{Name: n, Addr: netip.MustParseAddrPort("127.0.0.1:4433")}}}
	}
	for _, v := range []byte{0xc0, 0x40, 0x80} {
		if err := d.Seed(list(v, 1), t0); err != nil {
			t.Fatal(err)
		}
	}
	newer := list(0x80, 2)
	if err := d.Receive(t0, newer.Members[0].Name, newer); err != nil {
		t.Fatalf("the section's only elder sends a newer list: %v", err)
	}
	var got []uint8
	for _, k := range d.Sections() {
		got = append(got, k.List.Prefix.Value)
	}
	if len(got) != 3 || got[0] != 0x40 || got[1] != 0x80 || got[2] != 0xc0 || d.Sections()[1].List.Age != 2 {
		t.Fatalf("sections %x, want 40 80 c0 with 80 replaced by the newer list", got)
	}
}
