package peer

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/stableset/sskit/refnode/wire"
)

// The harness's own WIRE-10 gives the committed ids, which refnode's tests check too: the two
// implementations agree through the vectors, not through an import.
func TestStablesetIDMatchesTheVectors(t *testing.T) {
	raw, err := os.ReadFile("../../conformance/vectors/stableset_ids.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		IDs []struct {
			Name    string `json:"name"`
			Members []struct {
				Name    string `json:"name"`
				Ordinal uint64 `json:"ordinal"`
			} `json:"members"`
			ID string `json:"id"`
		} `json:"ids"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.IDs) == 0 {
		t.Fatal("no id vectors")
	}
	for _, v := range f.IDs {
		var members []wire.Member
		for _, m := range v.Members {
			n, err := wire.ParseName(m.Name)
			if err != nil {
				t.Fatal(err)
			}
			members = append(members, wire.Member{Name: n, Ordinal: m.Ordinal})
		}
		id := StablesetID(members)
		if got := hex.EncodeToString(id[:]); got != v.ID {
			t.Errorf("%s: StablesetID = %s, vector says %s", v.Name, got, v.ID)
		}
	}
}

// A node alone is itself at ordinal 0, and that id is not the hash of the name alone (WIRE-10
// before version 15).
func TestIdentityAloneIsItselfAtOrdinalZero(t *testing.T) {
	id, err := NewIdentity(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if id.StablesetID() != StablesetID([]wire.Member{{Name: id.Name(), Ordinal: 0}}) {
		t.Fatal("the identity's own id is not that of itself alone at ordinal 0")
	}
	if id.StablesetID() == StablesetID([]wire.Member{{Name: id.Name(), Ordinal: 1}}) {
		t.Fatal("the ordinal does not enter the id")
	}
}
