package conformance

import (
	"strings"
	"testing"

	"github.com/stableset/sskit"
)

func loadSuite(t *testing.T) (*Spec, []Scenario) {
	t.Helper()
	text, err := sskit.Suite.ReadFile("conformance/SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec(string(text))
	if err != nil {
		t.Fatal(err)
	}
	scenarios, err := LoadScenarios(sskit.Suite, "features")
	if err != nil {
		t.Fatal(err)
	}
	return spec, scenarios
}

// Every MUST rule of SPEC.md has a scenario, and every scenario cites real rules and a level.
func TestEveryMustRuleHasAScenario(t *testing.T) {
	spec, scenarios := loadSuite(t)
	if spec.Version != "16" {
		t.Fatalf("spec version %q", spec.Version)
	}
	for _, p := range CoverageProblems(spec, scenarios) {
		t.Error(p)
	}
}

func TestCoverageProblemsAreFound(t *testing.T) {
	spec, err := ParseSpec("# Spec — version 9\n### Parts and profiles\n| part | depends on | sections | also these rules | endpoints |\n|---|---|---|---|---|\n" +
		"| core | — | 1 | | `GET /healthz` |\n| extra | core | 2 | A-3 | `GET /v1/extra` |\n" +
		"## 1. A\n- **A-1** (MUST) one.\n- **A-2** (SHOULD) two.\n- **A-3** (MUST) three.\n## 2. B\n- **B-1** (MUST) four.\n")
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(CoverageProblems(spec, []Scenario{
		{Name: "covers A-1", Rules: []string{"A-1"}, Level: "must"},
		{Name: "no level", Rules: []string{"A-2"}},
		{Name: "unknown rule", Rules: []string{"B-7"}, Level: "must"},
		{Name: "no rule", Level: "should"},
		{Name: "weak", Rules: []string{"A-1"}, Level: "should"},
		{Name: "two parts", Rules: []string{"A-1", "B-1"}, Level: "must"},
	}), "\n")
	if r, _ := spec.Rule("A-3"); r.Part != "extra" {
		t.Errorf("A-3 is in part %q; the parts table moves it to extra", r.Part)
	}
	if r, _ := spec.Rule("B-1"); r.Part != "extra" {
		t.Errorf("B-1 is in part %q; section 2 is extra's", r.Part)
	}
	if got := spec.Closure([]string{"extra"}); strings.Join(got, ",") != "core,extra" {
		t.Errorf("Closure(extra) = %v, want core and extra", got)
	}
	for _, want := range []string{`"two parts" checks rules of two parts, core and extra (B-1)`, "MUST rule A-3 has no scenario", `"no level" is tagged neither`, "B-7, which SPEC.md does not define", `"no rule" is tagged with no`, `"weak" is @should but checks MUST rule A-1`} {
		if !strings.Contains(problems, want) {
			t.Errorf("missing problem %q in:\n%s", want, problems)
		}
	}
	if strings.Contains(problems, "A-1 has no scenario") || strings.Contains(problems, "A-2 has no") {
		t.Errorf("false problems:\n%s", problems)
	}
	if _, err := ParseSpec("- **A-1** (MUST) x\n- **A-1** (SHOULD) y\n"); err == nil {
		t.Error("a rule defined twice was accepted")
	}
}
