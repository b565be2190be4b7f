package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// The lines of a puppets' script about sections (SPEC.md §10): top-20 lists, elder-loss votes,
// and what the node holds of the other sections (GET /v1/sections). puppets.go has the rest.

// declareForeign makes the named puppets of the section after the node's; a puppet already made
// keeps its section.
func (s *stage) declareForeign(labels []string) error {
	if s.sectionBits == 0 {
		return errors.New("a puppet of another section needs a network with sections (section bits above 0)")
	}
	if s.foreign == nil {
		s.foreign = map[string]bool{}
	}
	for _, l := range labels {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if s.puppets[l] != nil {
			return fmt.Errorf("puppet %s exists already, in the node's section", l)
		}
		s.foreign[l] = true
		if _, err := s.puppet(l); err != nil {
			return err
		}
	}
	return nil
}

// sendList sends a SECTION_LIST of the section its first member is in, with the members' id.
func (s *stage) sendList(who, age, text string) error {
	members, err := s.nonEmpty(text)
	if err != nil {
		return err
	}
	a, err := strconv.ParseUint(age, 10, 64)
	if err != nil {
		return err
	}
	l := wire.SectionList{Bits: s.sectionBits, Value: s.prefixOf(members[0].Name), Age: a, ID: idOf(members), Members: members}
	return s.sendFrom(who, wire.TypeSectionList, s.headerOf, l.Append(nil))
}

// sendLoss sends an ELDER_LOSS naming the elders listed.
func (s *stage) sendLoss(who, text string) error {
	elders, err := s.nonEmpty(text)
	if err != nil {
		return err
	}
	e := wire.ElderLoss{Bits: s.sectionBits, Value: s.prefixOf(elders[0].Name), Elders: elders}
	return s.sendFrom(who, wire.TypeElderLoss, s.headerOf, e.Append(nil))
}

// nonEmpty reads a list of instances that must name at least one, as lists and votes do.
func (s *stage) nonEmpty(text string) ([]wire.Member, error) {
	members, err := s.members(text)
	if err == nil && len(members) == 0 {
		err = errors.New("no member listed")
	}
	return members, err
}

// headerOf is the stableset field of a puppet's frame: what idFor says for it.
func (s *stage) headerOf(p *puppet) wire.StablesetID { return s.idFor(p.id) }

func (s *stage) fallSilent(who string) error {
	p, err := s.puppet(who)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = true
	for _, c := range p.conns {
		c.StopAnsweringPings()
	}
	return nil
}

// speakAgain ends a puppet's silence: it answers PINGs again, so the node hears from it (ST-7).
func (s *stage) speakAgain(who string) error {
	p, err := s.puppet(who)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = false
	for _, c := range p.conns {
		c.StartAnsweringPings()
	}
	return nil
}

// adminSection is one other section of GET /v1/sections (SEC-7).
type adminSection struct {
	Prefix  string       `json:"prefix"`
	Age     uint64       `json:"age"`
	Members []memberJSON `json:"members"`
	Senders []string     `json:"senders"`
}

func (s *stage) expectSections(what string, ok func([]adminSection) bool) error {
	return s.steadily(what, func() (bool, func() string, error) {
		var answer struct {
			Sections []adminSection `json:"sections"`
		}
		ctx, cancel := stepContext()
		err := s.w.node.GetJSON(ctx, "/v1/sections", &answer)
		cancel()
		if err != nil {
			return false, nil, s.w.admin(err)
		}
		return ok(answer.Sections), func() string { return s.describeSections(answer.Sections) }, nil
	})
}

func (s *stage) describeSections(list []adminSection) string {
	if len(list) == 0 {
		return "no other section"
	}
	var parts []string
	for _, l := range list {
		ms := make([]string, len(l.Members))
		for i, m := range l.Members {
			ms[i] = fmt.Sprintf("%s@%d", s.label(m.Name), m.Ordinal)
		}
		ss := make([]string, len(l.Senders))
		for i, n := range l.Senders {
			ss[i] = s.label(n)
		}
		slices.Sort(ss)
		parts = append(parts, fmt.Sprintf("section %q list age %d members %s from %s", l.Prefix, l.Age,
			strings.Join(ms, ", "), strings.Join(ss, ", ")))
	}
	return strings.Join(parts, "; ")
}

func (s *stage) expectList(age, text, from string) error {
	want, err := s.nonEmpty(text)
	if err != nil {
		return err
	}
	senders := splitList(from)
	slices.Sort(senders)
	what := fmt.Sprintf("section list age %s members %s from %s", age, text, strings.Join(senders, ", "))
	return s.expectSections(what, func(list []adminSection) bool {
		for _, l := range list {
			if strconv.FormatUint(l.Age, 10) != age || len(l.Members) != len(want) {
				continue
			}
			same := true
			for i, m := range l.Members {
				same = same && m.Name == want[i].Name.String() && m.Ordinal == want[i].Ordinal
			}
			got := make([]string, len(l.Senders))
			for i, n := range l.Senders {
				got[i] = s.label(n)
			}
			slices.Sort(got)
			if same && slices.Equal(got, senders) {
				return true
			}
		}
		return false
	})
}

// lossUntilAnswered sends the ELDER_LOSS again every interval, as SEC-8's sender does while the
// elders stay silent, until the node answers the puppet with the same ELDER_LOSS.
func (s *stage) lossUntilAnswered(who, text string, every, within time.Duration) error {
	p, err := s.puppet(who)
	if err != nil {
		return err
	}
	elders, err := s.nonEmpty(text)
	if err != nil {
		return err
	}
	same := func(f peer.Frame) bool {
		var e wire.ElderLoss
		return e.Decode(f.Body) == nil && slices.EqualFunc(e.Elders, elders, func(a, b wire.Member) bool {
			return a.Name == b.Name && a.Ordinal == b.Ordinal
		})
	}
	deadline := time.Now().Add(within)
	for {
		if err := s.sendLoss(who, text); err != nil {
			return err
		}
		if _, _, err := s.await(p, wire.TypeElderLoss, same, every); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the node did not answer %s's ELDER_LOSS with its own within %v; it sent %s", who, within, p.summary())
		}
	}
}
