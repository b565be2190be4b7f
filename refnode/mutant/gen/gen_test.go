package gen

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func fixtureMutants(t *testing.T) []Mutant {
	t.Helper()
	all, err := Enumerate(".", []string{"testdata"})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// brief is what a mutant's row shows: where, which operator, before and after.
type brief struct {
	Line                  int
	Operator              string
	Original, Replacement string
}

func TestOperatorsOnTheFixture(t *testing.T) {
	var got []brief
	for _, m := range fixtureMutants(t) {
		got = append(got, brief{m.Line, m.Operator, m.Original, m.Replacement})
	}
	// Lines 17-19 (the Audit hook), 20-21 (a hand-made mutant and its code) and the String method
	// give none; nor does the declaration total := on line 16.
	want := []brief{
		{11, NegateIf, "c.n < limit && on", "!(c.n < limit && on)"},
		{11, ComparisonFlip, "c.n < limit", "c.n <= limit"},
		{11, ConditionDrop, "c.n < limit && on", "c.n < limit"},
		{11, ConditionDrop, "c.n < limit && on", "on"},
		{12, DeleteStatement, "c.n += 2", ""},
		{14, DeleteStatement, "c.touch()", ""},
		{15, DeleteStatement, "c.n++", ""},
		{16, OffByOne, "c.n - 1", "c.n - 2"},
		{16, OffByOne, "c.n - 1", "c.n - 0"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("mutants of testdata/fixture.go:\n got %v\nwant %v", got, want)
	}
}

func TestMutatedFilesParseAndChangeOnlyTheirSite(t *testing.T) {
	original, err := os.ReadFile(filepath.Join("testdata", "fixture.go"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(original), "\n")
	for _, m := range fixtureMutants(t) {
		src, err := m.MutatedFile()
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "mutated.go", src, 0); err != nil {
			t.Errorf("%s: the mutated file does not parse: %v", m, err)
		}
		if bytes.Equal(src, original) {
			t.Errorf("%s: the mutated file is the original", m)
		}
		// Every line but the mutated one is kept; a deleted statement takes its line away.
		mutated := strings.Split(string(src), "\n")
		if m.Operator == DeleteStatement {
			want := slices.Delete(slices.Clone(lines), m.Line-1, m.Line)
			if !slices.Equal(mutated, want) {
				t.Errorf("%s: the mutated file is not the original without line %d:\n%s", m, m.Line, src)
			}
			continue
		}
		if len(mutated) != len(lines) {
			t.Fatalf("%s: %d lines, want %d", m, len(mutated), len(lines))
		}
		for i := range lines {
			if i+1 != m.Line && mutated[i] != lines[i] {
				t.Errorf("%s: line %d changed too: %q", m, i+1, mutated[i])
			}
		}
		if !strings.Contains(mutated[m.Line-1], m.Replacement) {
			t.Errorf("%s: line %d is %q, without the replacement", m, m.Line, mutated[m.Line-1])
		}
	}
}

func TestANegatedIfReadsAsWritten(t *testing.T) {
	m := fixtureMutants(t)[0]
	src, err := m.MutatedFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte("\tif !(c.n < limit && on) {\n")) {
		t.Errorf("%s gave:\n%s", m, src)
	}
}

func TestEnumerationIsDeterministic(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	first, err := Enumerate(root, DefaultPackages)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Enumerate(root, DefaultPackages)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 100 {
		t.Fatalf("only %d mutants of refnode's consensus code", len(first))
	}
	if !reflect.DeepEqual(first, again) {
		t.Fatal("two enumerations of the same sources differ")
	}
	for i, m := range first {
		if m.ID != i+1 {
			t.Fatalf("mutant %d has ID %d", i+1, m.ID)
		}
		if i > 0 {
			prev := first[i-1]
			if m.File < prev.File || m.File == prev.File && m.Line < prev.Line {
				t.Fatalf("%s comes after %s: not in file and source order", m, prev)
			}
		}
		if strings.HasSuffix(m.File, "_test.go") || !strings.HasPrefix(m.File, "refnode/") {
			t.Fatalf("%s: not a non-test file of the packages asked for", m)
		}
	}
}

func TestSampleIsDeterministicAndDependsOnTheSeed(t *testing.T) {
	var all []Mutant
	for i := range 200 {
		all = append(all, Mutant{ID: i + 1})
	}
	ids := func(ms []Mutant) []int {
		var out []int
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	a, b, other := ids(Sample(all, 20, 1)), ids(Sample(all, 20, 1)), ids(Sample(all, 20, 2))
	if !slices.Equal(a, b) {
		t.Errorf("seed 1 gave %v, then %v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 1 and 2 gave the same sample %v", a)
	}
	if len(a) != 20 || len(slices.Compact(slices.Sorted(slices.Values(a)))) != 20 {
		t.Errorf("sample %v: want 20 different mutants", a)
	}
	if slices.IsSorted(a) {
		t.Errorf("sample %v is in enumeration order, not shuffled", a)
	}
	// A caller that needs more than it asked for takes the next ones of a larger sample.
	if longer := ids(Sample(all, 50, 1)); !slices.Equal(longer[:20], a) {
		t.Errorf("the sample of 50 does not begin with the sample of 20: %v, %v", longer, a)
	}
	if n := len(Sample(all, 500, 1)); n != len(all) {
		t.Errorf("a sample larger than the list has %d mutants, want %d", n, len(all))
	}
	if n := len(Sample(all, 0, 1)); n != 0 {
		t.Errorf("a sample of 0 has %d mutants", n)
	}
	if all[0].ID != 1 || all[199].ID != 200 {
		t.Error("Sample reordered its argument")
	}
}
