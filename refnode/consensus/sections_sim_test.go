package consensus

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/sections"
	"github.com/stableset/sskit/refnode/wire"
)

// Simulations of a network of two sections of 8 (SPEC.md §10) on the simulation's network:
// section 0 grows from node 0, node 8 founds section 1 through node 1, and nodes 9 to 15 join
// section 1 through node 2, a node of section 0, which points them there.

const sectionSize = 8

// A seed decides a sections simulation's delays, so each seed is another order of delivery. Each
// test runs seeds 1 to -sectionseeds; a failing one is replayed with
//
//	go test ./refnode/consensus -run 'TestSections' -sectionseed N -v
var (
	sectionSeeds = flag.Int("sectionseeds", 20, "how many seeds each sections simulation runs")
	sectionSeed  = flag.Uint64("sectionseed", 0, "run the sections simulations with only this seed")
)

// forSectionSeeds runs a sections simulation of 16+extra nodes once per seed.
func forSectionSeeds(t *testing.T, extra int, run func(t *testing.T, s *sim)) {
	seeds := []uint64{*sectionSeed}
	if *sectionSeed == 0 {
		seeds = seeds[:0]
		for i := range *sectionSeeds {
			seeds = append(seeds, uint64(i+1))
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { run(t, newSectionSim(t, extra, seed)) })
	}
}

// sectionName is node i's name: nodes 0-7 in section 0, 8-15 (and any later ones) in section 1.
func sectionName(i int) wire.Name {
	var n wire.Name
	n[0] = byte(i*5) & 0x7f
	if i >= sectionSize {
		n[0] |= 0x80
	}
	n[1], n[31] = byte(i), 0xBB
	return n
}

func newSectionSim(t *testing.T, extra int, seed uint64) *sim {
	s := &sim{t: t, r: rand.New(rand.NewPCG(seed, 0x5ec7)), byKey: map[wire.Name]int{}, left: map[int]bool{}, sectionBits: 1}
	s.sc = scenario{n: 2*sectionSize + extra, faultFree: true, maxDelay: 5 * time.Millisecond}
	s.bootOf = func(i int) int {
		switch {
		case i == 0:
			return -1
		case i < sectionSize:
			return 0
		case i == sectionSize:
			return 1 // founds section 1: node 1 knows no list for it
		}
		return 2 // redirected to section 1's elders
	}
	for i := range s.sc.n {
		m := wire.Member{Name: sectionName(i), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}), 7000)}
		s.nodes = append(s.nodes, &simNode{member: m, pending: map[uint64]time.Duration{}})
		s.byKey[m.Name] = i
	}
	for i := range 2 * sectionSize {
		at := time.Duration(i) * time.Second
		if i >= sectionSize {
			at += 2 * time.Second // section 0 has accepted section 1's first list by then
		}
		s.push(event{at: at, kind: evStart, node: i})
	}
	return s
}

// sectionOf is the index range of a section's first 8 nodes.
func sectionOf(i int) int { return i / sectionSize }

// checkSections: every live node is a member of its own section's stableset, which holds only
// that section's names and is the same at every live node of the section, and every node's
// Directory holds the other section's current stableset id and top members.
func (s *sim) checkSections(live func(i int) bool) []string {
	var problems []string
	ref := map[sections.Prefix]*simNode{}
	for i, nd := range s.nodes {
		if !live(i) {
			continue
		}
		c := nd.core
		if c == nil || c.Phase() != Member {
			problems = append(problems, fmt.Sprintf("node %d is not a member", i))
			continue
		}
		for _, m := range c.Set().Members() {
			if !c.Prefix().Contains(m.Name) {
				problems = append(problems, fmt.Sprintf("node %d holds node %d of another section", i, s.byKey[m.Name]))
			}
		}
		r := ref[c.Prefix()]
		if r == nil {
			ref[c.Prefix()] = nd
		} else if r.core.Set().ID() != c.Set().ID() {
			problems = append(problems, fmt.Sprintf("node %d holds %v, node %d holds %v", i, s.names(nd), s.byKey[r.member.Name], s.names(r)))
		}
	}
	for i, nd := range s.nodes {
		if !live(i) || nd.core == nil || nd.core.Phase() != Member {
			continue
		}
		for p, r := range ref {
			if p == nd.core.Prefix() {
				continue
			}
			k, ok := nd.core.Sections().Lookup(r.member.Name)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("node %d knows no list for section %v", i, p))
			case k.List.ID != r.core.Set().ID():
				problems = append(problems, fmt.Sprintf("node %d holds a stale list for section %v: %d members, elders %v",
					i, p, len(k.List.Members), s.memberNames(k.List.Elders(4))))
			case !slices.Equal(k.List.Members, r.core.Set().Members()):
				problems = append(problems, fmt.Sprintf("node %d's list for section %v, %v, differs from its stableset, %v",
					i, p, s.instances(k.List.Members), s.names(r)))
			}
		}
	}
	return problems
}

func (s *sim) memberNames(ms []wire.Member) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = s.byKey[m.Name]
	}
	return out
}

func (s *sim) elderIndices(i int) []int { return s.memberNames(s.nodes[i].core.Set().Elders()) }

func TestSectionsFormAndLearnEachOther(t *testing.T) {
	forSectionSeeds(t, 0, func(t *testing.T, s *sim) {
		s.runUntil(40 * time.Second)
		if p := s.checkSections(func(int) bool { return true }); len(p) > 0 {
			t.Fatalf("after forming:\n%v", p)
		}
		for i := range s.nodes {
			if n := len(s.nodes[i].core.Set().Members()); n != sectionSize {
				t.Errorf("node %d's stableset has %d members, want %d", i, n, sectionSize)
			}
		}
	})
}

// killElders kills the elders of section 1 as node 15 holds them, and returns them.
func (s *sim) killElders() []int {
	elders := s.elderIndices(2*sectionSize - 1)
	for _, e := range elders {
		s.nodes[e].dead = true
	}
	return elders
}

func TestSectionsSurviveLosingAllElders(t *testing.T) {
	forSectionSeeds(t, 1, func(t *testing.T, s *sim) {
		s.runUntil(40 * time.Second)
		dead := s.killElders()
		if len(dead) != 4 || slices.ContainsFunc(dead, func(e int) bool { return sectionOf(e) != 1 }) {
			t.Fatalf("section 1's elders are %v", dead)
		}
		alive := func(i int) bool { return i < 2*sectionSize && !slices.Contains(dead, i) }
		// The elder-loss timeout (6 s), the votes, then a list round.
		s.runUntil(40*time.Second + 15*time.Second)
		if p := s.checkSections(alive); len(p) > 0 {
			t.Fatalf("after losing section 1's elders %v:\n%v", dead, p)
		}
		survivor := 2*sectionSize - 1
		if n := len(s.nodes[survivor].core.Set().Members()); n != 4 {
			t.Fatalf("section 1 holds %s, want the 4 survivors", s.names(s.nodes[survivor]))
		}
		losses := 0
		for i := range s.nodes[:2*sectionSize] {
			if alive(i) {
				losses += s.nodes[i].core.Totals().ElderLosses
			}
		}
		if losses == 0 {
			t.Fatal("no node applied an elder loss")
		}
		// A new node of section 1 joins through node 2 of section 0 and lands in section 1.
		newcomer := 2 * sectionSize
		s.push(event{at: s.now, kind: evStart, node: newcomer})
		s.runUntil(s.now + 10*time.Second)
		if p := s.checkSections(func(i int) bool { return alive(i) || i == newcomer }); len(p) > 0 {
			t.Fatalf("after the newcomer:\n%v", p)
		}
		if _, in := s.nodes[survivor].core.Set().Member(sectionName(newcomer)); !in {
			t.Fatalf("the newcomer is not in section 1: %s", s.names(s.nodes[survivor]))
		}
	})
}

// Section 1's elders are cut off from its other members, not from section 0: section 0 still
// hears the elders, so it confirms no elder loss, and the members that cannot hear their elders
// must not remove them (SEC-8's safety).
func TestSectionsNoElderLossWhileOtherSectionsHearTheElders(t *testing.T) {
	forSectionSeeds(t, 0, func(t *testing.T, s *sim) {
		s.runUntil(40 * time.Second)
		elders := s.elderIndices(2*sectionSize - 1)
		s.cutFn = func(a, b int) bool {
			if sectionOf(a) != 1 || sectionOf(b) != 1 {
				return false
			}
			return slices.Contains(elders, a) != slices.Contains(elders, b)
		}
		s.runUntil(40*time.Second + 20*time.Second)
		for i, nd := range s.nodes {
			if n := nd.core.Totals().ElderLosses; n > 0 {
				t.Errorf("node %d applied %d elder losses while section 0 heard the elders", i, n)
			}
		}
		s.cutFn = nil
		s.runUntil(s.now + 30*time.Second)
		if p := s.checkSections(func(int) bool { return true }); len(p) > 0 {
			t.Fatalf("after the heal:\n%v", p)
		}
	})
}

// Section 1's elders are cut off from everyone: they lose the outside quorum and decide nothing,
// while their members and section 0 decide their loss. After the heal there is one history: the
// old elders find themselves removed and join again (ST-11).
func TestSectionsCutOffEldersDecideNothing(t *testing.T) {
	forSectionSeeds(t, 0, func(t *testing.T, s *sim) {
		s.runUntil(40 * time.Second)
		elders := s.elderIndices(2*sectionSize - 1)
		s.cutFn = func(a, b int) bool { return slices.Contains(elders, a) != slices.Contains(elders, b) }
		s.runUntil(40*time.Second + 20*time.Second)
		for _, e := range elders {
			if n := len(s.nodes[e].core.Set().Members()); n < sectionSize {
				t.Errorf("cut-off elder %d removed members: it holds %s", e, s.names(s.nodes[e]))
			}
		}
		survivor := 2*sectionSize - 1
		if n := len(s.nodes[survivor].core.Set().Members()); n != 4 {
			t.Errorf("the members cut off from their elders hold %s, want the 4 of them", s.names(s.nodes[survivor]))
		}
		s.cutFn = nil
		s.runUntil(s.now + 40*time.Second)
		if p := s.checkSections(func(int) bool { return true }); len(p) > 0 {
			t.Fatalf("after the heal:\n%v", p)
		}
	})
}
