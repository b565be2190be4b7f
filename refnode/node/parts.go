package node

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stableset/sskit/refnode/admin"
	"github.com/stableset/sskit/refnode/wire"
)

// Parts is a node's profile: the parts of the spec it implements (SPEC.md "Parts and
// profiles"), in the spec's order. Core is always one of them; an empty Parts is every part.
type Parts []admin.Part

// AllParts is every part of the spec, in its order; a part's dependency comes before it.
var AllParts = Parts{admin.PartCore, admin.PartConsensus, admin.PartGossip, admin.PartSections}

// dependsOn is the part each part needs besides core.
var dependsOn = map[admin.Part]admin.Part{admin.PartSections: admin.PartConsensus}

// Has says whether the profile includes part p.
func (ps Parts) Has(p admin.Part) bool {
	if len(ps) == 0 || p == admin.PartCore {
		return true
	}
	return slices.Contains(ps, p)
}

// String is the profile as --parts takes it, e.g. "core,consensus".
func (ps Parts) String() string {
	var names []string
	for _, p := range AllParts {
		if ps.Has(p) {
			names = append(names, string(p))
		}
	}
	return strings.Join(names, ",")
}

// ParseParts reads a comma-separated list of parts (--parts, SSKIT_PARTS). Core is added when
// it is not listed; an unknown name or a part without the part it depends on is an error.
func ParseParts(s string) (Parts, error) {
	listed := map[admin.Part]bool{admin.PartCore: true}
	for _, item := range strings.Split(s, ",") {
		p := admin.Part(strings.TrimSpace(item))
		if !slices.Contains(AllParts, p) {
			return nil, fmt.Errorf("parts %q: unknown part %q; the parts are core, consensus, gossip and sections", s, p)
		}
		listed[p] = true
	}
	var out Parts
	for _, p := range AllParts {
		if !listed[p] {
			continue
		}
		if dep, ok := dependsOn[p]; ok && !listed[dep] {
			return nil, fmt.Errorf("parts %q: %s depends on %s; list %s too or leave %s out", s, p, dep, dep, p)
		}
		out = append(out, p)
	}
	return out, nil
}

// partOfType is the part a message type belongs to (SPEC.md §4 and the parts table). A frame of
// a part the node leaves out is one it has no use for: it is ignored (WIRE-9).
func partOfType(t wire.Type) admin.Part {
	switch t {
	case wire.TypeWitnessRequest, wire.TypeWitness, wire.TypeStableset:
		return admin.PartConsensus
	case wire.TypeGossip, wire.TypeGossipFailure:
		return admin.PartGossip
	case wire.TypeSectionList, wire.TypeElderLoss:
		return admin.PartSections
	}
	return admin.PartCore
}
