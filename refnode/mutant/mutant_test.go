package mutant

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// areas are the rule prefixes of SPEC.md's sections, in order.
var areas = []string{"ID", "TRN", "WIRE", "MSG", "ERR", "NC", "ADM", "ST", "NB", "SEC"}

// specRules returns the rule IDs SPEC.md defines, from its lines "- **AREA-N** (LEVEL) text".
func specRules(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../conformance/SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^- \*\*([A-Z]+-[0-9]+)\*\*`).FindAllStringSubmatch(string(b), -1) {
		rules[m[1]] = true
	}
	if len(rules) < 40 {
		t.Fatalf("found only %d rules in SPEC.md; has its rule format changed?", len(rules))
	}
	return rules
}

func TestEveryMutantNamesAnAreaAndARuleOfTheSpec(t *testing.T) {
	rules := specRules(t)
	name := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	seen := map[string]bool{}
	perArea := map[string]int{}
	for _, m := range All {
		if !name.MatchString(m.Name) {
			t.Errorf("%q: a name is lowercase words joined by hyphens", m.Name)
		}
		if seen[m.Name] {
			t.Errorf("%q is listed twice", m.Name)
		}
		seen[m.Name] = true
		known := false
		for _, a := range areas {
			known = known || m.Area == a
		}
		if !known {
			t.Errorf("%s: area %q is not one of %v", m.Name, m.Area, areas)
		}
		if !rules[m.Breaks] {
			t.Errorf("%s: breaks %q, which is not a rule in conformance/SPEC.md", m.Name, m.Breaks)
		}
		if !strings.HasPrefix(m.Breaks, m.Area+"-") {
			t.Errorf("%s: breaks %s, which is not in its area %s", m.Name, m.Breaks, m.Area)
		}
		if strings.TrimSpace(m.Description) == "" {
			t.Errorf("%s: no description", m.Name)
		}
		perArea[m.Area]++
	}
	for _, a := range areas {
		if perArea[a] == 0 {
			t.Errorf("no mutant breaks a rule of area %s", a)
		}
	}
}
