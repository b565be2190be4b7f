package conformance

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A malformed TAGS expression is a usage error with a message; before, "@must &&" made godog's
// filter panic with an index out of range.
func TestMalformedTagsAreUsageErrors(t *testing.T) {
	for _, expr := range []string{"@must &&", "&& @must", "@WIRE-2,", ",", "(((", "@", "~", "@a b", "@must || @should", "!@must"} {
		if f, err := ParseTags(expr); err == nil {
			t.Errorf("ParseTags(%q) accepted it as %q", expr, f)
		}
	}
}

// A tag no scenario carries is a typo, and a selection of nothing is an error: before, both gave
// "0 scenarios … PASSED" with exit 0.
func TestTagsThatSelectNothingAreRefused(t *testing.T) {
	spec, declared := loadSuite(t)
	for expr, want := range map[string]string{
		"@WRE-2":          "did you mean @WIRE-2",
		"@must && ~@must": "selects no scenario",
		"~@nosuchtag":     "no scenario is tagged @nosuchtag",
	} {
		f, err := ParseTags(expr)
		if err != nil {
			t.Fatalf("ParseTags(%q): %v", expr, err)
		}
		if _, err := f.Check(spec, declared); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("TAGS %q: error %v, want one that says %q", expr, err, want)
		}
	}
	// A rule of the spec that no scenario checks is not a typo, but still selects nothing.
	for _, id := range rulesWithoutScenario(spec, declared) { // NB-14 and SEC-10 today
		f, _ := ParseTags("@" + id)
		if _, err := f.Check(spec, declared); err == nil || !strings.Contains(err.Error(), "selects no scenario") {
			t.Errorf("TAGS @%s (a rule with no scenario): error %v", id, err)
		}
	}
}

// The kit's filter selects exactly what godog's own filter runs, for every well-formed
// expression: the kit checks the selection, godog runs it.
func TestTagFilterMatchesGodogSemantics(t *testing.T) {
	spec, declared := loadSuite(t)
	for expr, want := range map[string]func(tags []string) bool{
		"@WIRE-2":            func(tags []string) bool { return slices.Contains(tags, "@WIRE-2") },
		"WIRE-2":             func(tags []string) bool { return slices.Contains(tags, "@WIRE-2") },
		"@WIRE-2,@ADM-4":     func(tags []string) bool { return slices.Contains(tags, "@WIRE-2") || slices.Contains(tags, "@ADM-4") },
		"@must && ~@cluster": func(tags []string) bool { return slices.Contains(tags, "@must") && !slices.Contains(tags, "@cluster") },
		" @must&&~@TRN-3,@ADM-4 ": func(tags []string) bool {
			return slices.Contains(tags, "@must") && (!slices.Contains(tags, "@TRN-3") || slices.Contains(tags, "@ADM-4"))
		},
		"~@must": func(tags []string) bool { return !slices.Contains(tags, "@must") },
	} {
		f, err := ParseTags(expr)
		if err != nil {
			t.Fatalf("ParseTags(%q): %v", expr, err)
		}
		selected, err := f.Check(spec, declared)
		if err != nil {
			t.Fatalf("TAGS %q: %v", expr, err)
		}
		n := 0
		for _, sc := range declared {
			if f.Match(sc.Tags) != want(sc.Tags) {
				t.Errorf("TAGS %q on %s %v: match %v", expr, sc.Name, sc.Tags, f.Match(sc.Tags))
			}
			if want(sc.Tags) {
				n++
			}
		}
		if len(selected) != n || n == 0 {
			t.Errorf("TAGS %q selected %d scenarios, want %d (> 0)", expr, len(selected), n)
		}
	}
}

// results.json speaks one style: a rule's fields were ID, Level and Text beside status and
// scenarios.
func TestResultsJSONKeysAreLowercase(t *testing.T) {
	b, err := json.Marshal(RuleResult{Rule: Rule{ID: "WIRE-2", Level: "MUST", Text: "t", Section: "3. Framing (WIRE)", Part: "core"}, Status: Passed})
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if k != strings.ToLower(k) {
			t.Errorf("results.json rule key %q is not lowercase: %s", k, b)
		}
	}
	for _, want := range []string{"id", "level", "text", "section", "part", "status", "scenarios"} {
		if _, ok := keys[want]; !ok {
			t.Errorf("results.json rule has no %q: %s", want, b)
		}
	}
}
