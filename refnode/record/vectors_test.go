package record

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"reflect"
	"testing"

	"github.com/stableset/sskit/refnode/wire"
)

const vectorsPath = "testdata/vectors.json"

var updateVectors = flag.Bool("update", false, "rewrite testdata/vectors.json from testRecords and nonCanonical")

type vectorFields struct {
	Name      string   `json:"name"`
	Version   uint64   `json:"version"`
	Accepts   bool     `json:"accepts"`
	Addr      string   `json:"addr"` // "" when the record has none
	Neighbors []string `json:"neighbors"`
}

type vector struct {
	Name   string        `json:"name"`
	Seed   string        `json:"seed,omitempty"` // valid records: the ed25519 seed of the name's key, hex
	Hex    string        `json:"hex"`
	Fields *vectorFields `json:"fields,omitempty"`
	Error  string        `json:"error,omitempty"` // invalid records: the error Decode, or else Verify, returns
}

type vectorFile struct {
	Comment string   `json:"comment"`
	Context string   `json:"context_hex"`
	Valid   []vector `json:"valid"`
	Invalid []vector `json:"invalid"`
}

// errorNames names the errors in the vector file.
var errorNames = map[error]string{
	ErrTooShort: "ErrTooShort", ErrTooLong: "ErrTooLong", ErrFormat: "ErrFormat", ErrFlags: "ErrFlags",
	ErrVersionZero: "ErrVersionZero", ErrPortZero: "ErrPortZero", ErrAddress: "ErrAddress",
	ErrNeighborOrder: "ErrNeighborOrder", ErrSelfNeighbor: "ErrSelfNeighbor", ErrSignature: "ErrSignature",
}

func fieldsOf(r Record) *vectorFields {
	f := &vectorFields{Name: r.Name.String(), Version: r.Version, Accepts: r.Accepts, Neighbors: []string{}}
	if r.Addr.IsValid() {
		f.Addr = r.Addr.String()
	}
	for _, n := range r.Neighbors {
		f.Neighbors = append(f.Neighbors, n.String())
	}
	return f
}

func recordFromFields(t *testing.T, f *vectorFields) Record {
	t.Helper()
	name, err := wire.ParseName(f.Name)
	if err != nil {
		t.Fatal(err)
	}
	r := Record{Name: name, Version: f.Version, Accepts: f.Accepts}
	if f.Addr != "" {
		r.Addr = netip.MustParseAddrPort(f.Addr)
	}
	for _, s := range f.Neighbors {
		n, err := wire.ParseName(s)
		if err != nil {
			t.Fatal(err)
		}
		r.Neighbors = append(r.Neighbors, n)
	}
	return r
}

// vectorTable builds the vector file; used only with -update.
func vectorTable(t *testing.T) vectorFile {
	vf := vectorFile{
		Comment: "Golden node records (refnode/record package doc has the layout). hex is the whole signed record. " +
			"Valid records must decode to fields, verify, and re-sign from fields with the key of seed to the same bytes " +
			"(ed25519 is deterministic). Invalid records must be rejected by decoding, or else by verifying, with the named error; " +
			"all but ErrSignature ones carry a valid signature by their name, so only the canonical-form checks reject them.",
		Context: hex.EncodeToString([]byte(Context)),
	}
	for _, tr := range testRecords() {
		b := mustSign(t, tr.r, tr.key)
		vf.Valid = append(vf.Valid, vector{Name: tr.label, Seed: hex.EncodeToString(tr.key.Seed()), Hex: hex.EncodeToString(b), Fields: fieldsOf(tr.r)})
	}
	for _, c := range nonCanonical(t) {
		if c.b == nil {
			continue
		}
		vf.Invalid = append(vf.Invalid, vector{Name: c.name, Hex: hex.EncodeToString(c.b), Error: errorNames[c.err]})
	}
	tr := testRecords()[1]
	forged := mustSign(t, tr.r, tr.key)
	forged = signRaw(forged[:len(forged)-SignatureSize], testKey("mallory"))
	vf.Invalid = append(vf.Invalid, vector{Name: "signed-by-another-key", Hex: hex.EncodeToString(forged), Error: "ErrSignature"})
	return vf
}

func readVectors(t testing.TB) vectorFile {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("read vectors (run go test ./refnode/record -run TestGoldenVectors -update to create them): %v", err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	return vf
}

func TestGoldenVectors(t *testing.T) {
	if *updateVectors {
		out, err := json.MarshalIndent(vectorTable(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vf := readVectors(t)
	if vf.Context != hex.EncodeToString([]byte(Context)) {
		t.Fatalf("vector context %s is not Context", vf.Context)
	}
	if len(vf.Valid) == 0 || len(vf.Invalid) == 0 {
		t.Fatal("vector file has no valid or no invalid records")
	}
	for _, v := range vf.Valid {
		t.Run(v.Name, func(t *testing.T) {
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			var view View
			if err := view.Decode(b); err != nil {
				t.Fatal(err)
			}
			if err := view.Verify(); err != nil {
				t.Fatal(err)
			}
			if got := fieldsOf(view.Record()); !reflect.DeepEqual(got, v.Fields) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(v.Fields)
				t.Fatalf("decoded fields differ\n got %s\nwant %s", gj, wj)
			}
			seed, err := hex.DecodeString(v.Seed)
			if err != nil || len(seed) != 32 {
				t.Fatalf("bad seed %q", v.Seed)
			}
			r := recordFromFields(t, v.Fields)
			again, err := r.AppendSigned(nil, ed25519.NewKeyFromSeed(seed))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(again) != v.Hex {
				t.Fatalf("re-signing gave different bytes\n got %x\nwant %s", again, v.Hex)
			}
		})
	}
	for _, v := range vf.Invalid {
		t.Run(v.Name, func(t *testing.T) {
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatal(err)
			}
			var view View
			err = view.Decode(b)
			if err == nil {
				err = view.Verify()
			}
			if errorNames[err] != v.Error {
				t.Fatalf("got %v, want %s", err, v.Error)
			}
		})
	}
}
