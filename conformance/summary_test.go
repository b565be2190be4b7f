package conformance

import (
	"bytes"
	"strings"
	"testing"
)

// The console summary groups rules by section and names every rule that did not pass, with
// why; before, it said "SHOULD rules: 3 pass, 0 fail" and hid that four rules had no scenario.
func TestSummaryNamesEveryRuleThatDidNotPass(t *testing.T) {
	rule := func(id, level, section, part string, s Status, scenarios ...int) RuleResult {
		return RuleResult{Rule: Rule{ID: id, Level: level, Section: section, Part: part}, Status: s, Scenarios: scenarios}
	}
	r := &Result{
		Scenarios: []ScenarioResult{
			{Name: "bad frames", Status: Failed},
			{Name: "late answer", Status: Unsupported, Error: "the node exited with code 127 (unsupported)"},
		},
		Rules: []RuleResult{
			rule("TRN-1", "MUST", "2. Transport (TRN)", "core", Passed),
			rule("TRN-7", "SHOULD", "2. Transport (TRN)", "core", Untested),
			rule("WIRE-2", "MUST", "3. Framing (WIRE)", "core", Failed, 0),
			rule("WIRE-9", "MUST", "3. Framing (WIRE)", "core", Unsupported, 1),
			rule("ST-1", "MUST", "8. Stableset consensus (ST)", "consensus", Unsupported),
			rule("SEC-10", "SHOULD", "10. Sections (SEC)", "sections", Untested),
			rule("SEC-1", "MUST", "10. Sections (SEC)", "sections", Untested),
		},
		NoScenario: []string{"TRN-7", "SEC-10"},
		LeftOut:    map[string]string{"consensus": "GET /v1/stableset answered 501"},
		Profile:    []string{"core", "sections"},
		Tags:       "@must",
	}
	var out bytes.Buffer
	r.WriteSummary(&out)
	text := out.String()
	for _, want := range []string{
		"✔ 2. Transport (TRN): 1 pass, 1 untested",
		"TRN-7   SHOULD untested    no scenario checks it yet",
		"× 3. Framing (WIRE)",
		"WIRE-2  MUST   fail        failed in bad frames",
		"WIRE-9  MUST   unsupported the node exited with code 127 (unsupported)",
		"– 8. Stableset consensus (ST): 1 unsupported (the node leaves out consensus)",
		"SEC-10  SHOULD untested    no scenario checks it yet",
		"Rules no scenario checks yet: TRN-7, SEC-10.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the summary does not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "SEC-1 ") {
		t.Errorf("the summary lists a rule TAGS left out one by one:\n%s", text)
	}
}

// A run that leaves parts out says, in its verdict, which parts it holds for.
func TestVerdictNamesTheProfile(t *testing.T) {
	r := &Result{
		Rules: []RuleResult{
			{Rule: Rule{ID: "WIRE-2", Level: "MUST", Part: "core"}, Status: Passed},
			{Rule: Rule{ID: "ST-1", Level: "MUST", Part: "consensus"}, Status: Unsupported},
		},
		Profile: []string{"core"},
		LeftOut: map[string]string{"consensus": "GET /v1/stableset answered 501"},
	}
	if v := r.Verdict(); v != "PASSED: every MUST rule of core holds (the node leaves out consensus)" {
		t.Errorf("verdict %q", v)
	}
	r.Rules[0].Status = Unsupported
	if v := r.Verdict(); !strings.HasPrefix(v, "PASSED what it supports; 1 MUST rule(s) of core") {
		t.Errorf("verdict %q when a MUST rule of the profile is unsupported", v)
	}
}
