package node

import (
	"slices"
	"testing"

	"github.com/stableset/sskit/refnode/admin"
	"github.com/stableset/sskit/refnode/wire"
)

func TestParsePartsAddsCoreAndKeepsTheSpecOrder(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"core", "core"},
		{"consensus", "core,consensus"},
		{"core,consensus", "core,consensus"},
		{" gossip , core", "core,gossip"},
		{"sections,consensus", "core,consensus,sections"},
		{"gossip,gossip", "core,gossip"},
		{"core,consensus,gossip,sections", "core,consensus,gossip,sections"},
	} {
		ps, err := ParseParts(c.in)
		if err != nil || ps.String() != c.want || ps[0] != admin.PartCore {
			t.Errorf("ParseParts(%q) = %v, %v; want %s", c.in, ps, err, c.want)
		}
	}
}

func TestParsePartsRejectsUnknownPartsAndMissingDependencies(t *testing.T) {
	for _, in := range []string{"", "core,", "bogus", "core,Consensus", "sections", "core,gossip,sections"} {
		if ps, err := ParseParts(in); err == nil {
			t.Errorf("ParseParts(%q) = %v, want an error", in, ps)
		}
	}
}

func TestPartsHas(t *testing.T) {
	var all Parts
	core, _ := ParseParts("core")
	for _, p := range AllParts {
		if !all.Has(p) {
			t.Errorf("an empty profile lacks %s; it is every part", p)
		}
		if core.Has(p) != (p == admin.PartCore) {
			t.Errorf("core alone: Has(%s) = %v", p, core.Has(p))
		}
	}
	if all.String() != AllParts.String() || AllParts.String() != "core,consensus,gossip,sections" {
		t.Errorf("every part is %q and %q", all.String(), AllParts.String())
	}
}

// Every message type belongs to the part the spec's catalogue puts it in.
func TestEveryMessageTypeBelongsToItsPart(t *testing.T) {
	want := map[admin.Part][]wire.Type{
		admin.PartCore:      {wire.TypePing, wire.TypePong},
		admin.PartConsensus: {wire.TypeWitnessRequest, wire.TypeWitness, wire.TypeStableset},
		admin.PartGossip:    {wire.TypeGossip, wire.TypeGossipFailure},
		admin.PartSections:  {wire.TypeSectionList, wire.TypeElderLoss},
	}
	for _, typ := range wire.Types {
		if got := partOfType(typ); !slices.Contains(want[got], typ) {
			t.Errorf("%v is in part %s", typ, got)
		}
	}
}
