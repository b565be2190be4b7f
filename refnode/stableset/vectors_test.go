package stableset

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/stableset/sskit/refnode/wire"
)

// The id vectors live beside SPEC.md, next to the frame vectors, for other implementations.
const idVectorsPath = "../../conformance/vectors/stableset_ids.json"

var updateIDVectors = flag.Bool("update", false, "rewrite conformance/vectors/stableset_ids.json from the table in this file")

type idVectorMember struct {
	Name    string `json:"name"`
	Ordinal uint64 `json:"ordinal"`
}

type idVector struct {
	Name    string           `json:"name"`
	Members []idVectorMember `json:"members"`
	ID      string           `json:"id"`
}

type idVectorFile struct {
	Comment string     `json:"comment"`
	IDs     []idVector `json:"ids"`
}

// idVectorTable is the member lists the vectors cover. Names are made so that name order and
// (ordinal, name) order differ, and one ordinal needs more than 4 bytes.
func idVectorTable() idVectorFile {
	named := func(b byte) wire.Name {
		var n wire.Name
		for i := range n {
			n[i] = b ^ byte(i)
		}
		return n
	}
	lists := []struct {
		name    string
		members []wire.Member
	}{
		{"alone", []wire.Member{{Name: named(0x5a)}}},
		{"four-founders", []wire.Member{{Name: named(0xc0)}, {Name: named(0x10), Ordinal: 1}, {Name: named(0x80), Ordinal: 2}, {Name: named(0x33), Ordinal: 3}}},
		{"four-founders-one-rejoined", []wire.Member{{Name: named(0xc0)}, {Name: named(0x10), Ordinal: 1}, {Name: named(0x80), Ordinal: 2}, {Name: named(0x33), Ordinal: 7}}},
		{"large-ordinal", []wire.Member{{Name: named(0x01), Ordinal: 1<<40 + 3}, {Name: named(0x02), Ordinal: 1<<40 + 2}}},
	}
	f := idVectorFile{Comment: "Stableset ids (SPEC.md WIRE-10): SHA-256 over each member's 32-byte name followed by its ordinal as 8 bytes big-endian, members in ascending bytewise order of their names. Members are listed in (ordinal, name) order, as a STABLESET lists them; the hash orders them by name."}
	for _, l := range lists {
		v := idVector{Name: l.name, ID: hexID(ID(l.members))}
		for _, m := range l.members {
			v.Members = append(v.Members, idVectorMember{Name: m.Name.String(), Ordinal: m.Ordinal})
		}
		f.IDs = append(f.IDs, v)
	}
	return f
}

func hexID(id wire.StablesetID) string { return hex.EncodeToString(id[:]) }

// TestIDVectors checks ID against the committed vectors. The harness checks its own WIRE-10
// against them too (harness/peer), so two implementations written apart agree through them.
func TestIDVectors(t *testing.T) {
	if *updateIDVectors {
		out, err := json.MarshalIndent(idVectorTable(), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(idVectorsPath, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(idVectorsPath)
	if err != nil {
		t.Fatalf("read id vectors (run go test ./refnode/stableset -run IDVectors -update to create them): %v", err)
	}
	var f idVectorFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.IDs) == 0 {
		t.Fatal("no id vectors")
	}
	for _, v := range f.IDs {
		t.Run(v.Name, func(t *testing.T) {
			var members []wire.Member
			for _, m := range v.Members {
				n, err := wire.ParseName(m.Name)
				if err != nil {
					t.Fatal(err)
				}
				members = append(members, wire.Member{Name: n, Ordinal: m.Ordinal})
			}
			if got := hexID(ID(members)); got != v.ID {
				t.Errorf("ID = %s, vector says %s", got, v.ID)
			}
			if len(members) == 1 && members[0].Ordinal == 0 {
				if got := hexID(AloneID(members[0].Name)); got != v.ID {
					t.Errorf("AloneID = %s, vector says %s", got, v.ID)
				}
			}
		})
	}
}
