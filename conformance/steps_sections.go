package conformance

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// The section steps (SPEC.md §10) build networks of several sections of nodes under test, with
// section bits B > 0 so that a node's section is the first B bits of its name, and check them
// through the admin API: GET /v1/stableset for each section's own stableset, GET /v1/sections for
// what each node holds about the other sections. Section N is the N-th prefix in order: with
// B = 1, section 0 holds the names whose first bit is 0 and section 1 the others. Every node of a
// section gets a key seed whose name lies in it (harness.Cluster.SeedInSection). A scripted
// peer whose name lies in a section but is no member of it sends forged top-20 lists.

type sectionsJSON struct {
	SectionBits int           `json:"section_bits"`
	Prefix      string        `json:"prefix"`
	Sections    []sectionJSON `json:"sections"`
}

type sectionJSON struct {
	Prefix      string       `json:"prefix"`
	StablesetID string       `json:"stableset_id"`
	Age         uint64       `json:"age"`
	Members     []memberJSON `json:"members"`
	Elders      []string     `json:"elders"`
	Accepted    string       `json:"accepted"`
	Senders     []string     `json:"senders"`
}

// age is a list's age (SPEC.md §10); a list of greater age is newer.
type age = uint64

func ageOf(s sectionJSON) age { return s.Age }

// sectionTopSize is how many members a top-20 list carries at most.
const sectionTopSize = 20

type sectionSteps struct {
	w        *world
	bits     uint8
	sections [][]*harness.Node // per section index, in start order
	salt     int               // the next salt for a node's seed
	idBefore map[int]string    // per other section: its stableset id just before the elder loss

	killed     []string       // names of the elders killed at once
	killedFrom int            // their section
	ageBefore  map[string]age // per observer label: the age it held of killedFrom before the loss

	// Every /v1/sections read passes through observe, which keeps per observer and section the
	// newest age seen and records any later read that holds an older one (SEC-4).
	mu        sync.Mutex
	newest    map[string]age
	backwards []string
	sampling  context.CancelFunc
	sampled   chan struct{}

	before sectionsJSON // the node's GET /v1/sections before a scripted peer sent lists
}

func registerSectionSteps(sc *godog.ScenarioContext, w *world) {
	s := &sectionSteps{w: w, idBefore: map[int]string{}, newest: map[string]age{}}
	sc.Step(`^section (\d+) of (\d+) nodes under test with section bits (\d+), started from one bootstrap$`, s.startSection)
	sc.Step(`^within (\d+) seconds the nodes of section (\d+) are the members of one stableset of (\d+) members$`, s.sectionAgrees)
	sc.Step(`^the first node of section (\d+) starts with a node of section (\d+) as bootstrap peer$`, s.founderStarts)
	sc.Step(`^within (\d+) seconds it founds section (\d+): it is a member of a stableset of one, itself with ordinal 0$`, s.founds)
	sc.Step(`^within (\d+) seconds every node of section (\d+) lists section (\d+) in GET /v1/sections as that section's nodes report it$`, s.sectionLists)
	sc.Step(`^(\d+) more nodes of section (\d+) start, each with a node of section (\d+) as bootstrap peer$`, s.moreJoinThrough)
	sc.Step(`^every node's stableset holds only names of its own section$`, s.onlyOwnSection)
	sc.Step(`^within (\d+) seconds every node lists every other section in GET /v1/sections as that section's nodes report it$`, s.allList)
	sc.Step(`^a network of 2 sections of (\d+) nodes under test with section bits 1, the second founded and joined through the first$`, s.network)
	sc.Step(`^the (\d+) elders of section (\d+) are killed at once$`, s.killElders)
	sc.Step(`^no killed elder is a member anywhere, and the elders of section (\d+) are its (\d+) eldest survivors$`, s.survivorsAreElders)
	sc.Step(`^every node of section (\d+) holds a newer list of section (\d+) than before the loss, and no node's list of another section ever went backwards$`, s.newerNeverBackwards)
	sc.Step(`^a new node under test whose name is in section (\d+) joins through a node of section (\d+)$`, s.newNodeJoinsThrough)
	sc.Step(`^the stableset of section (\d+) is the one it was before the loss$`, s.sectionUnchanged)
	sc.Step(`^GET /v1/sections answers section bits 0, prefix "" and no other section$`, s.oneSection)
	sc.Step(`^scripted peer "([^"]+)" whose name is in section (\d+) connects to the youngest node of section (\d+)$`, s.forgerConnects)
	sc.Step(`^peer "([^"]+)" sends the node a SECTION_LIST of section (\d+) of a greater age (naming itself as its only member|naming itself as an elder among its members|listing its members under another stableset id)$`, s.sendsForgedList)
	sc.Step(`^the node counts (\d+) SECTION_LIST frames received from peer "([^"]+)"$`, s.countsSectionLists)
	sc.Step(`^the node's GET /v1/sections is as it was before peer "([^"]+)" sent anything$`, s.sectionsUnchanged)
	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		s.stopSampling()
		return ctx, nil
	})
}

// --- building sections -----------------------------------------------------------------------

// prefix is section idx's prefix as binary digits, the form GET /v1/sections uses.
func (s *sectionSteps) prefix(idx int) string {
	if s.bits == 0 {
		return ""
	}
	return fmt.Sprintf("%0*b", s.bits, idx)
}

// value is section idx's prefix in the high bits of a byte.
func (s *sectionSteps) value(idx int) uint8 { return uint8(idx << (8 - s.bits)) }

// indexOf is the section a name lies in.
func (s *sectionSteps) indexOf(name wire.Name) int {
	if s.bits == 0 {
		return 0
	}
	return int(name[0] >> (8 - s.bits))
}

func (s *sectionSteps) prefixOfName(hexName string) (string, error) {
	name, err := wire.ParseName(hexName)
	if err != nil {
		return "", err
	}
	return s.prefix(s.indexOf(name)), nil
}

func (s *sectionSteps) section(idx int) ([]*harness.Node, error) {
	if idx < 0 || idx >= len(s.sections) || len(s.sections[idx]) == 0 {
		return nil, fmt.Errorf("section %d has no node", idx)
	}
	return s.sections[idx], nil
}

// live is the nodes of section idx that still run.
func (s *sectionSteps) live(idx int) []*harness.Node {
	var out []*harness.Node
	if idx < len(s.sections) {
		for _, n := range s.sections[idx] {
			if exited, _ := n.Exited(); !exited {
				out = append(out, n)
			}
		}
	}
	return out
}

// addNode starts a node of section idx with the given bootstrap peers (none: it starts alone).
func (s *sectionSteps) addNode(ctx context.Context, idx int, bootstrap ...*harness.Node) (*harness.Node, error) {
	if err := s.w.newCluster(); err != nil {
		return nil, err
	}
	for len(s.sections) <= idx {
		s.sections = append(s.sections, nil)
	}
	seed := s.w.cluster.SeedInSection(s.bits, s.value(idx), s.salt)
	s.salt++
	n, err := s.w.cluster.AddNodeWith(ctx, func(st *harness.Settings) {
		st.Seed = hex.EncodeToString(seed)
		st.SectionBits = int(s.bits)
		for _, b := range bootstrap {
			st.Bootstrap = append(st.Bootstrap, b.Bootstrap())
		}
	})
	if n != nil && err == nil {
		s.sections[idx] = append(s.sections[idx], n)
		if s.w.node == nil {
			s.w.node = n
			s.w.run.noteVersion(ctx, n)
		}
	}
	return n, s.w.started(err)
}

func (s *sectionSteps) startSection(idx, n, bits int) error {
	if bits < 1 || bits > 8 || idx >= 1<<bits {
		return fmt.Errorf("no section %d with section bits %d", idx, bits)
	}
	if len(s.sections) > 0 && int(s.bits) != bits {
		return fmt.Errorf("the network has section bits %d already", s.bits)
	}
	s.bits = uint8(bits)
	ctx, cancel := context.WithTimeout(harness.Closing(), 60*time.Second)
	defer cancel()
	first, err := s.addNode(ctx, idx)
	if err != nil {
		return err
	}
	for i := 1; i < n; i++ {
		if _, err := s.addNode(ctx, idx, first); err != nil {
			return err
		}
	}
	return nil
}

// bootstrapIn picks the bootstrap peer of the k-th node that joins through section idx: the
// youngest first (a member that is not an elder, in a section of more than 4), then the others
// in turn, elders included.
func (s *sectionSteps) bootstrapIn(idx, k int) (*harness.Node, error) {
	nodes := s.live(idx)
	if len(nodes) == 0 {
		return nil, fmt.Errorf("section %d has no live node to join through", idx)
	}
	return nodes[(len(nodes)-1-k%len(nodes)+len(nodes))%len(nodes)], nil
}

func (s *sectionSteps) founderStarts(idx, through int) error {
	if len(s.sections) > idx && len(s.sections[idx]) > 0 {
		return fmt.Errorf("section %d has nodes already", idx)
	}
	return s.newNodeJoinsThrough(idx, through)
}

func (s *sectionSteps) moreJoinThrough(n, idx, through int) error {
	if _, err := s.section(idx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(harness.Closing(), 60*time.Second)
	defer cancel()
	for k := 1; k <= n; k++ {
		boot, err := s.bootstrapIn(through, k)
		if err != nil {
			return err
		}
		if _, err := s.addNode(ctx, idx, boot); err != nil {
			return err
		}
	}
	return nil
}

func (s *sectionSteps) newNodeJoinsThrough(idx, through int) error {
	boot, err := s.bootstrapIn(through, 0)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	_, err = s.addNode(ctx, idx, boot)
	return err
}

// network builds two sections of n nodes with section bits 1 the way the first scenario of
// sections.feature does, step by step, each wait within its own deadline.
func (s *sectionSteps) network(n int) error {
	steps := []func() error{
		func() error { return s.startSection(0, n, 1) },
		func() error { return s.sectionAgrees(30, 0, n) },
		func() error { return s.founderStarts(1, 0) },
		func() error { return s.founds(20, 1) },
		func() error { return s.sectionLists(30, 0, 1) },
		func() error { return s.moreJoinThrough(n-1, 1, 0) },
		func() error { return s.sectionAgrees(60, 1, n) },
		func() error { return s.allList(30) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// --- each section's own stableset ------------------------------------------------------------

func (s *sectionSteps) stablesetOf(ctx context.Context, n *harness.Node) (stablesetJSON, error) {
	var st stablesetJSON
	if err := s.w.admin(n.GetJSON(ctx, "/v1/stableset", &st)); err != nil {
		return st, fmt.Errorf("%s: %w", n.Label(), err)
	}
	return st, nil
}

// agreed reads every live node of section idx and returns the one stableset they all hold, of
// which they are exactly the members, or says why there is none.
func (s *sectionSteps) agreed(ctx context.Context, idx, want int) (stablesetJSON, error) {
	nodes := s.live(idx)
	if len(nodes) == 0 {
		return stablesetJSON{}, fmt.Errorf("section %d has no live node", idx)
	}
	sets := map[string]stablesetJSON{}
	for _, n := range nodes {
		st, err := s.stablesetOf(ctx, n)
		if err != nil {
			return st, err
		}
		sets[n.Label()] = st
	}
	if why := agreement(sets, want); why != "" {
		return stablesetJSON{}, errors.New(why)
	}
	first := sets[nodes[0].Label()]
	var names, members []string
	for _, n := range nodes {
		names = append(names, n.Name.String())
	}
	for _, m := range first.Members {
		members = append(members, m.Name)
	}
	slices.Sort(names)
	slices.Sort(members)
	if !slices.Equal(members, names) {
		return first, fmt.Errorf("%s's members %v are not the live nodes of section %d %v", nodes[0].Label(), short(members), idx, short(names))
	}
	return first, nil
}

// sectionAgrees waits until the live nodes of section idx are the members of one stableset of
// want members, and all report it.
func (s *sectionSteps) sectionAgrees(seconds, idx, want int) error {
	if _, err := s.section(idx); err != nil {
		return err
	}
	err := within(seconds, func(ctx context.Context) error {
		_, err := s.agreed(ctx, idx, want)
		return err
	})
	if err != nil {
		return fmt.Errorf("section %d: no agreement within %ds: %w", idx, seconds, err)
	}
	return nil
}

// within polls check every 200 ms, each time with a fresh step context, until it returns nil, for
// seconds at most, and returns its last error (await's rules).
func within(seconds int, check func(ctx context.Context) error) error {
	return awaitFor(time.Duration(seconds)*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := stepContext()
		defer cancel()
		return check(ctx)
	})
}

func (s *sectionSteps) founds(seconds, idx int) error {
	nodes, err := s.section(idx)
	if err != nil {
		return err
	}
	founder := nodes[0]
	me := founder.Name.String()
	return within(seconds, func(ctx context.Context) error {
		st, err := s.stablesetOf(ctx, founder)
		if err != nil {
			return err
		}
		if st.Phase != "member" || len(st.Members) != 1 || st.Members[0].Name != me || st.Members[0].Ordinal != 0 || !slices.Equal(st.Elders, []string{me}) {
			return fmt.Errorf("expected %s to found section %d, a member of a stableset of itself alone with ordinal 0 and its own elder; it is %q with members %v and elders %v",
				founder.Label(), idx, st.Phase, memberNames(st.Members), short(st.Elders))
		}
		return nil
	})
}

func memberNames(ms []memberJSON) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s@%d", m.Name[:min(8, len(m.Name))], m.Ordinal)
	}
	return out
}

func (s *sectionSteps) onlyOwnSection() error {
	ctx, cancel := stepContext()
	defer cancel()
	for idx := range s.sections {
		for _, n := range s.live(idx) {
			st, err := s.stablesetOf(ctx, n)
			if err != nil {
				return err
			}
			own := s.prefix(idx)
			for _, m := range st.Members {
				p, err := s.prefixOfName(m.Name)
				if err != nil {
					return fmt.Errorf("%s lists member %q: %w", n.Label(), m.Name, err)
				}
				if p != own {
					return fmt.Errorf("%s, of section %q, holds %s of section %q in its stableset", n.Label(), own, m.Name[:8], p)
				}
			}
		}
	}
	return nil
}

// --- what nodes hold of other sections -------------------------------------------------------

// sectionsOf reads a node's GET /v1/sections and passes it through observe.
func (s *sectionSteps) sectionsOf(ctx context.Context, n *harness.Node) (sectionsJSON, error) {
	var sj sectionsJSON
	if err := s.w.admin(n.GetJSON(ctx, "/v1/sections", &sj)); err != nil {
		return sj, fmt.Errorf("%s: %w", n.Label(), err)
	}
	s.observe(n, sj)
	return sj, nil
}

// observe records the age of every list n holds, and any list older than one n held before.
func (s *sectionSteps) observe(n *harness.Node, sj sectionsJSON) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range sj.Sections {
		key := n.Label() + " of " + sec.Prefix
		a := ageOf(sec)
		if held, ok := s.newest[key]; ok && a < held {
			s.backwards = append(s.backwards, fmt.Sprintf("%s held section %q's list at age %v, then at %v", n.Label(), sec.Prefix, held, a))
			continue
		}
		s.newest[key] = a
	}
}

// checkShape checks GET /v1/sections of a node of section own against SEC-7: its section bits
// and prefix, the other sections in prefix order, and each list well formed.
func (s *sectionSteps) checkShape(n *harness.Node, own int, sj sectionsJSON) error {
	if sj.SectionBits != int(s.bits) || sj.Prefix != s.prefix(own) {
		return fmt.Errorf("%s: section_bits %d and prefix %q, expected %d and %q", n.Label(), sj.SectionBits, sj.Prefix, s.bits, s.prefix(own))
	}
	if sj.Sections == nil {
		return fmt.Errorf("%s: sections is not an array", n.Label())
	}
	elderSize := n.Settings.ElderSize
	for i, sec := range sj.Sections {
		where := fmt.Sprintf("%s: section %q", n.Label(), sec.Prefix)
		if len(sec.Prefix) != int(s.bits) || strings.Trim(sec.Prefix, "01") != "" || sec.Prefix == sj.Prefix {
			return fmt.Errorf("%s: a prefix of %d binary digits other than its own %q was expected", where, s.bits, sj.Prefix)
		}
		if i > 0 && sec.Prefix <= sj.Sections[i-1].Prefix {
			return fmt.Errorf("%s comes after %q: sections are not in prefix order", where, sj.Sections[i-1].Prefix)
		}
		if !lowerHexName.MatchString(sec.StablesetID) {
			return fmt.Errorf("%s: stableset_id %q is not 64 lowercase hex characters", where, sec.StablesetID)
		}
		if len(sec.Members) == 0 || len(sec.Members) > sectionTopSize {
			return fmt.Errorf("%s: %d members, expected 1 to %d", where, len(sec.Members), sectionTopSize)
		}
		var ranks uint64
		for j, m := range sec.Members {
			p, err := s.prefixOfName(m.Name)
			if err != nil || p != sec.Prefix {
				return fmt.Errorf("%s lists %q, which is not a name of that section", where, m.Name)
			}
			if _, err := netip.ParseAddrPort(m.Addr); err != nil {
				return fmt.Errorf("%s lists %s at address %q: %v", where, m.Name[:8], m.Addr, err)
			}
			// Each listed member's join adds 2·ordinal+1 to the age, so the listed ranks alone stay within it.
			if left := sec.Age - ranks; left == 0 || m.Ordinal > (left-1)/2 {
				return fmt.Errorf("%s lists members whose ranks (2·ordinal+1, SPEC.md §10) add up to more than its age %d", where, sec.Age)
			}
			ranks += 2*m.Ordinal + 1
			if j > 0 {
				prev := sec.Members[j-1]
				if prev.Ordinal > m.Ordinal || prev.Ordinal == m.Ordinal && prev.Name >= m.Name {
					return fmt.Errorf("%s: members %v are not in strictly increasing (ordinal, name) order", where, memberNames(sec.Members))
				}
			}
		}
		var eldest []string
		for _, m := range sec.Members[:min(elderSize, len(sec.Members))] {
			eldest = append(eldest, m.Name)
		}
		if !slices.Equal(sec.Elders, eldest) {
			return fmt.Errorf("%s: elders %v, expected the first %d members %v", where, short(sec.Elders), elderSize, short(eldest))
		}
		if _, err := time.Parse(time.RFC3339, sec.Accepted); err != nil {
			return fmt.Errorf("%s: accepted %q is not an RFC 3339 time", where, sec.Accepted)
		}
		// Senders are elders of the list or of the one it replaced (SEC-3), so names of that
		// section, each once; none for a first contact.
		if sec.Senders == nil {
			return fmt.Errorf("%s: senders is not an array", where)
		}
		for j, sender := range sec.Senders {
			p, err := s.prefixOfName(sender)
			if err != nil || p != sec.Prefix || slices.Contains(sec.Senders[:j], sender) {
				return fmt.Errorf("%s: senders %v are not distinct names of that section", where, sec.Senders)
			}
		}
	}
	return nil
}

// eldestFirst is a copy of members in (ordinal, name) order, the order of seniority.
func eldestFirst(members []memberJSON) []memberJSON {
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b memberJSON) int {
		return cmp.Or(cmp.Compare(a.Ordinal, b.Ordinal), strings.Compare(a.Name, b.Name))
	})
	return out
}

// matches checks what an observer holds of a section against the stableset that section's
// nodes agree on: its id, its first 20 members with addresses and ordinals, its elders.
func matches(held sectionJSON, actual stablesetJSON) error {
	top := eldestFirst(actual.Members)
	top = top[:min(sectionTopSize, len(top))]
	if held.StablesetID != actual.ID {
		return fmt.Errorf("holds stableset id %s, the section's nodes hold %s", short([]string{held.StablesetID}), short([]string{actual.ID}))
	}
	if len(held.Members) != len(top) {
		return fmt.Errorf("holds %d members %v, the section's first %d are %v", len(held.Members), memberNames(held.Members), len(top), memberNames(top))
	}
	for i, m := range held.Members {
		if m.Name != top[i].Name || m.Ordinal != top[i].Ordinal || !sameAddr(m.Addr, top[i].Addr) {
			return fmt.Errorf("holds member %d as %s@%d at %s, the section's nodes report %s@%d at %s",
				i, m.Name[:min(8, len(m.Name))], m.Ordinal, m.Addr, top[i].Name[:8], top[i].Ordinal, top[i].Addr)
		}
	}
	if !slices.Equal(held.Elders, actual.Elders) {
		return fmt.Errorf("holds elders %v, the section's nodes hold %v", short(held.Elders), short(actual.Elders))
	}
	return nil
}

// sameAddr compares two IP:PORT texts, an IPv4 address and its IPv4-mapped form being equal.
func sameAddr(a, b string) bool {
	pa, errA := netip.ParseAddrPort(a)
	pb, errB := netip.ParseAddrPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return pa.Addr().Unmap() == pb.Addr().Unmap() && pa.Port() == pb.Port()
}

// listsAsReported checks that observer, of section own, holds a well-formed GET /v1/sections
// with a list of each section of actual that matches the stableset that section's live nodes
// agree on; with exact, it lists no other section.
func (s *sectionSteps) listsAsReported(ctx context.Context, observer *harness.Node, own int, actual map[int]stablesetJSON, exact bool) error {
	sj, err := s.sectionsOf(ctx, observer)
	if err != nil {
		return err
	}
	if err := s.checkShape(observer, own, sj); err != nil {
		return err
	}
	var want, got []string
	for idx := range s.sections {
		if _, ok := actual[idx]; ok {
			want = append(want, s.prefix(idx))
		}
	}
	for _, sec := range sj.Sections {
		got = append(got, sec.Prefix)
	}
	for idx, st := range actual {
		i := slices.Index(got, s.prefix(idx))
		if i < 0 {
			return fmt.Errorf("%s, of section %d, lists no section %q in GET /v1/sections (it lists %q)", observer.Label(), own, s.prefix(idx), got)
		}
		if err := matches(sj.Sections[i], st); err != nil {
			return fmt.Errorf("%s, of section %d, about section %d: %w", observer.Label(), own, idx, err)
		}
	}
	if exact && !slices.Equal(got, want) {
		return fmt.Errorf("%s lists sections %q, expected %q", observer.Label(), got, want)
	}
	return nil
}

// agreedSections is the stableset the live nodes of each of sections agree on.
func (s *sectionSteps) agreedSections(ctx context.Context, sections ...int) (map[int]stablesetJSON, error) {
	out := map[int]stablesetJSON{}
	for _, idx := range sections {
		st, err := s.agreed(ctx, idx, len(s.live(idx)))
		if err != nil {
			return nil, fmt.Errorf("section %d's own nodes do not agree yet: %w", idx, err)
		}
		out[idx] = st
	}
	return out, nil
}

func (s *sectionSteps) sectionLists(seconds, own, idx int) error {
	if _, err := s.section(own); err != nil {
		return err
	}
	if _, err := s.section(idx); err != nil {
		return err
	}
	return within(seconds, func(ctx context.Context) error {
		actual, err := s.agreedSections(ctx, idx)
		if err != nil {
			return err
		}
		for _, n := range s.live(own) {
			if err := s.listsAsReported(ctx, n, own, actual, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// allList waits until every live node lists every other section that has live nodes, as those
// nodes report it, and nothing else.
func (s *sectionSteps) allList(seconds int) error {
	var populated []int
	for idx := range s.sections {
		if len(s.live(idx)) > 0 {
			populated = append(populated, idx)
		}
	}
	return within(seconds, func(ctx context.Context) error {
		all, err := s.agreedSections(ctx, populated...)
		if err != nil {
			return err
		}
		for _, own := range populated {
			others := maps.Clone(all)
			delete(others, own)
			for _, n := range s.live(own) {
				if err := s.listsAsReported(ctx, n, own, others, true); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *sectionSteps) oneSection() error {
	ctx, cancel := stepContext()
	defer cancel()
	status, body, err := s.w.node.Do(ctx, "GET", "/v1/sections", "")
	if err != nil {
		return err
	}
	if status != 200 {
		return s.w.admin(&harness.StatusError{Node: s.w.node.Label(), Path: "/v1/sections", Status: status})
	}
	var raw map[string]any
	var sj sectionsJSON
	if err := errors.Join(json.Unmarshal(body, &raw), json.Unmarshal(body, &sj)); err != nil {
		return fmt.Errorf("GET /v1/sections: %v: %s", err, body)
	}
	for _, field := range []string{"section_bits", "prefix", "sections"} {
		if _, ok := raw[field]; !ok {
			return fmt.Errorf(`expected {"section_bits": 0, "prefix": "", "sections": []}, got %s (no %q)`, body, field)
		}
	}
	if sj.SectionBits != 0 || sj.Prefix != "" || sj.Sections == nil || len(sj.Sections) != 0 {
		return fmt.Errorf(`expected {"section_bits": 0, "prefix": "", "sections": []}, got %s`, body)
	}
	return nil
}

// --- losing every elder of a section ---------------------------------------------------------

func (s *sectionSteps) killElders(count, idx int) error {
	ctx, cancel := stepContext()
	defer cancel()
	st, err := s.agreed(ctx, idx, len(s.live(idx)))
	if err != nil {
		return err
	}
	if len(st.Elders) != count {
		return fmt.Errorf("section %d has %d elders, the step kills %d", idx, len(st.Elders), count)
	}
	for other := range s.sections {
		if other == idx {
			continue
		}
		if cur, err := s.agreed(ctx, other, len(s.live(other))); err == nil {
			s.idBefore[other] = cur.ID
		} else {
			return fmt.Errorf("before the loss: %w", err)
		}
	}
	// What every other section holds of this one before the loss.
	s.ageBefore = map[string]age{}
	for other := range s.sections {
		if other == idx {
			continue
		}
		for _, n := range s.live(other) {
			sj, err := s.sectionsOf(ctx, n)
			if err != nil {
				return err
			}
			for _, sec := range sj.Sections {
				if sec.Prefix == s.prefix(idx) {
					s.ageBefore[n.Label()] = ageOf(sec)
				}
			}
			if _, ok := s.ageBefore[n.Label()]; !ok {
				return fmt.Errorf("before the loss, %s lists no section %q", n.Label(), s.prefix(idx))
			}
		}
	}
	var victims []*harness.Node
	for _, n := range s.live(idx) {
		if slices.Contains(st.Elders, n.Name.String()) {
			victims = append(victims, n)
		}
	}
	if len(victims) != count {
		return fmt.Errorf("found %d of section %d's %d elders among its nodes", len(victims), idx, count)
	}
	s.killed, s.killedFrom = slices.Clone(st.Elders), idx
	s.startSampling(idx)
	errs := make([]error, len(victims))
	var wg sync.WaitGroup
	for i, n := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.w.cluster.Kill(ctx, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startSampling reads GET /v1/sections of every node outside section idx every 250 ms until it is
// stopped, so that observe sees the lists they hold of section idx while it changes.
func (s *sectionSteps) startSampling(idx int) {
	var observers []*harness.Node
	for other := range s.sections {
		if other != idx {
			observers = append(observers, s.live(other)...)
		}
	}
	ctx, cancel := context.WithCancel(harness.Closing())
	s.sampling, s.sampled = cancel, make(chan struct{})
	go func() {
		defer close(s.sampled)
		for {
			for _, n := range observers {
				if exited, _ := n.Exited(); exited {
					continue
				}
				read, cancelRead := context.WithTimeout(ctx, 2*time.Second)
				var sj sectionsJSON
				if n.GetJSON(read, "/v1/sections", &sj) == nil {
					s.observe(n, sj)
				}
				cancelRead()
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
}

func (s *sectionSteps) stopSampling() {
	if s.sampling != nil {
		s.sampling()
		<-s.sampled
		s.sampling = nil
	}
}

func (s *sectionSteps) survivorsAreElders(idx, count int) error {
	if s.killed == nil {
		return errors.New("no elder was killed")
	}
	ctx, cancel := stepContext()
	defer cancel()
	for own := range s.sections {
		for _, n := range s.live(own) {
			st, err := s.stablesetOf(ctx, n)
			if err != nil {
				return err
			}
			for _, m := range st.Members {
				if slices.Contains(s.killed, m.Name) {
					return fmt.Errorf("%s still lists killed elder %s as a member", n.Label(), m.Name[:8])
				}
			}
		}
	}
	st, err := s.agreed(ctx, idx, len(s.live(idx)))
	if err != nil {
		return err
	}
	if len(st.Elders) != count {
		return fmt.Errorf("section %d has %d elders %v, expected %d", idx, len(st.Elders), short(st.Elders), count)
	}
	ordered := eldestFirst(st.Members)
	for i, e := range st.Elders {
		if ordered[i].Name != e {
			return fmt.Errorf("section %d's elders %v are not its eldest survivors %v", idx, short(st.Elders), memberNames(ordered[:count]))
		}
	}
	return nil
}

func (s *sectionSteps) newerNeverBackwards(observers, idx int) error {
	if s.ageBefore == nil || s.killedFrom != idx {
		return fmt.Errorf("no loss in section %d was recorded", idx)
	}
	ctx, cancel := stepContext()
	defer cancel()
	for _, n := range s.live(observers) {
		sj, err := s.sectionsOf(ctx, n)
		if err != nil {
			return err
		}
		var held *sectionJSON
		for i := range sj.Sections {
			if sj.Sections[i].Prefix == s.prefix(idx) {
				held = &sj.Sections[i]
			}
		}
		if held == nil {
			return fmt.Errorf("%s lists no section %q", n.Label(), s.prefix(idx))
		}
		before := s.ageBefore[n.Label()]
		if ageOf(*held) <= before {
			return fmt.Errorf("%s holds section %q's list at age %v, not newer than %v before the loss", n.Label(), held.Prefix, ageOf(*held), before)
		}
		// Each elder's leave adds 1 to the age.
		if held.Age < before+uint64(len(s.killed)) {
			return fmt.Errorf("%s holds section %q's list at age %d, expected at least %d after %d elders left",
				n.Label(), held.Prefix, held.Age, before+uint64(len(s.killed)), len(s.killed))
		}
	}
	s.stopSampling()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.backwards) > 0 {
		return fmt.Errorf("a list went backwards: %s", strings.Join(s.backwards, "; "))
	}
	return nil
}

func (s *sectionSteps) sectionUnchanged(idx int) error {
	want, ok := s.idBefore[idx]
	if !ok {
		return fmt.Errorf("no stableset of section %d was recorded", idx)
	}
	ctx, cancel := stepContext()
	defer cancel()
	st, err := s.agreed(ctx, idx, len(s.live(idx)))
	if err != nil {
		return err
	}
	if st.ID != want {
		return fmt.Errorf("section %d's stableset changed from %s to %s (members %v)", idx, want[:8], st.ID[:8], memberNames(st.Members))
	}
	return nil
}

// --- forged lists ----------------------------------------------------------------------------

// forgerConnects makes a scripted peer whose name lies in section idx (it is none of its
// members) and dials the youngest node of section target with it, which becomes the node.
func (s *sectionSteps) forgerConnects(name string, idx, target int) error {
	nodes := s.live(target)
	if len(nodes) == 0 {
		return fmt.Errorf("section %d has no live node", target)
	}
	if _, exists := s.w.peers[name]; exists {
		return fmt.Errorf("peer %q exists already", name)
	}
	id, err := peer.NewIdentity(s.w.cluster.SeedInSection(s.bits, s.value(idx), 1000+len(s.w.peers)))
	if err != nil {
		return err
	}
	s.w.peers[name] = &scriptedPeer{id: id, arrived: make(chan struct{})}
	s.w.node = nodes[len(nodes)-1]
	ctx, cancel := stepContext()
	defer cancel()
	if s.before, err = s.sectionsOf(ctx, s.w.node); err != nil {
		return err
	}
	if err := s.checkShape(s.w.node, target, s.before); err != nil {
		return err
	}
	return s.w.dial(name, s.w.node)
}

// sendsForgedList sends a SECTION_LIST of section idx one age above the list the node holds,
// made up by the peer: one that names the peer as the section's only member and elder, one that
// puts the peer among the real members as the eldest, or the real members under another id.
func (s *sectionSteps) sendsForgedList(name string, idx int, forgery string) error {
	c, err := s.w.conn(name)
	if err != nil {
		return err
	}
	var held *sectionJSON
	for i := range s.before.Sections {
		if s.before.Sections[i].Prefix == s.prefix(idx) {
			held = &s.before.Sections[i]
		}
	}
	if held == nil {
		return fmt.Errorf("the node held no list of section %d before", idx)
	}
	var real []wire.Member
	for _, m := range held.Members {
		n, err := wire.ParseName(m.Name)
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddrPort(m.Addr)
		if err != nil {
			return err
		}
		real = append(real, wire.Member{Name: n, Ordinal: m.Ordinal, Addr: addr})
	}
	id, err := hex.DecodeString(held.StablesetID)
	if err != nil || len(id) != len(wire.StablesetID{}) {
		return fmt.Errorf("the node holds stableset id %q", held.StablesetID)
	}
	self := s.w.peer(name).id
	me := wire.Member{Name: self.Name(), Ordinal: 0, Addr: c.LocalAddr()}
	list := wire.SectionList{Bits: s.bits, Value: s.value(idx), Age: held.Age + 1, ID: wire.StablesetID(id)}
	switch forgery {
	case "naming itself as its only member":
		list.Members = []wire.Member{me}
		list.ID = self.StablesetID()
	case "naming itself as an elder among its members":
		list.Members = append([]wire.Member{me}, real...)
		slices.SortFunc(list.Members, wire.CompareMembers)
		list.Members = list.Members[:min(sectionTopSize, len(list.Members))]
		list.ID[0] ^= 0xff // another set of members, another id
	default: // listing its members under another stableset id
		list.Members = real
		list.ID[0] ^= 0xff
	}
	return c.Send(wire.TypeSectionList, c.NextID(), self.StablesetID(), list.Append(nil))
}

// countsSectionLists waits until the node's counters show the lists the peer sent, so that the
// node has read them, and checks that it answers the peer's PING on the same connection.
func (s *sectionSteps) countsSectionLists(count int, name string) error {
	id := s.w.peer(name).id.Name().String()
	err := await(func() error {
		c, err := s.w.counters()
		if err != nil {
			return err
		}
		if got := c.Peers[id].Received["SECTION_LIST"]; got != int64(count) {
			return fmt.Errorf("expected %d SECTION_LIST received from peer %q in the node's counters, got %d", count, name, got)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.w.peerGetsPong(name)
}

// forgeryQuietWindow is how long the node's GET /v1/sections is watched after it read the
// forged lists and answered a PING sent after them.
const forgeryQuietWindow = time.Second

func (s *sectionSteps) sectionsUnchanged(name string) error {
	if c, err := s.w.conn(name); err != nil {
		return err
	} else if info := c.Closed(); info != nil {
		return fmt.Errorf("expected the connection of peer %q to stay open (the lists were well formed), it ended: %v", name, info)
	}
	return holdsFor(forgeryQuietWindow, 200*time.Millisecond, func() error {
		ctx, cancel := stepContext()
		defer cancel()
		now, err := s.sectionsOf(ctx, s.w.node)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(now, s.before) {
			return fmt.Errorf("GET /v1/sections changed after peer %q's forged lists:\nbefore %+v\nafter  %+v", name, s.before, now)
		}
		return nil
	})
}
