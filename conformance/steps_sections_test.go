package conformance

import (
	"strings"
	"testing"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/refnode/wire"
)

// The shape check of GET /v1/sections takes a list whose members' ranks fit its age and rejects
// one whose ranks exceed it (SPEC.md §10: each listed member's join adds 2·ordinal+1).
func TestSectionShapeHoldsTheAgeToTheListedRanks(t *testing.T) {
	s := &sectionSteps{bits: 1}
	node := &harness.Node{Name: wire.Name{0x01}, Settings: harness.Settings{ElderSize: 4}}
	other := func(b byte) string { return wire.Name{0x80 | b}.String() }
	answer := func(age uint64) sectionsJSON {
		return sectionsJSON{SectionBits: 1, Prefix: "0", Sections: []sectionJSON{{
			Prefix: "1", StablesetID: strings.Repeat("ab", 32), Age: age,
			Members: []memberJSON{{Name: other(1), Addr: "127.0.0.1:4001", Ordinal: 1}, {Name: other(2), Addr: "127.0.0.1:4002", Ordinal: 4}},
			Elders:  []string{other(1), other(2)}, Accepted: "2026-12-07T10:00:00Z", Senders: []string{},
		}}}
	}
	// Ranks 3 and 9 make 12.
	if err := s.checkShape(node, 0, answer(12)); err != nil {
		t.Fatalf("age 12 holds ranks 3 + 9: %v", err)
	}
	for _, age := range []uint64{11, 3, 0} {
		if err := s.checkShape(node, 0, answer(age)); err == nil || !strings.Contains(err.Error(), "add up to more than its age") {
			t.Errorf("age %d below ranks 3 + 9: %v, want the ranks rejected", age, err)
		}
	}
}
