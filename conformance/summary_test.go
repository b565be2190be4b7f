package conformance

import (
	"bytes"
	"errors"
	"slices"
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
			{Name: "bad frames", Status: Failed, Rules: []string{"WIRE-2"}, Broke: []string{"WIRE-2"}},
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

// A failure counts against the rules its failing step names, and only those; the scenario's
// other rules are blocked, as are all of them when a Given step failed. Before, one broken rule
// (NB-3) showed up as the nine rules of the scenario that happened to trip over it.
func TestFailuresFailOnlyTheRulesTheyJudge(t *testing.T) {
	spec := &Spec{Rules: []Rule{
		{ID: "NB-3", Level: "MUST", Part: "gossip"}, {ID: "NB-4", Level: "MUST", Part: "gossip"},
		{ID: "NB-9", Level: "MUST", Part: "gossip"}, {ID: "SEC-1", Level: "MUST", Part: "sections"},
		{ID: "SEC-2", Level: "MUST", Part: "sections"}, {ID: "NB-14", Level: "SHOULD", Part: "gossip"},
	}}
	scenarios := []ScenarioResult{
		{Name: "versions", Rules: []string{"NB-3"}, Status: Passed},
		{Name: "cluster", Rules: []string{"NB-4", "NB-9"}, Status: Failed, Broke: brokenRules(violates(errTest, "NB-3"), []string{"NB-4", "NB-9"})},
		{Name: "sections", Rules: []string{"SEC-1"}, Status: Failed, FailedInSetup: true},
		{Name: "lists", Rules: []string{"SEC-2", "NB-14"}, Status: Failed, Broke: brokenRules(errTest, []string{"SEC-2", "NB-14"})},
	}
	got := map[string]Status{}
	for _, rr := range verdicts(spec, scenarios, nil, nil) {
		got[rr.ID] = rr.Status
	}
	want := map[string]Status{"NB-3": Failed, "NB-4": Blocked, "NB-9": Blocked, "SEC-1": Blocked, "SEC-2": Failed, "NB-14": Failed}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: %s, want %s", id, got[id], st)
		}
	}
	r := &Result{Rules: verdicts(spec, scenarios[2:3], nil, nil), Scenarios: scenarios[2:3]}
	if !r.NotCertified() || !strings.Contains(r.Verdict(), "could not be judged") {
		t.Errorf("a setup failure alone: certified %v, verdict %q", !r.NotCertified(), r.Verdict())
	}
	var out bytes.Buffer
	r.WriteSummary(&out)
	if !strings.Contains(out.String(), "SEC-1   MUST   blocked     not judged: sections failed in its setup") {
		t.Errorf("the summary does not say why SEC-1 was not judged:\n%s", out.String())
	}
	if err := violates(violates(errTest, "NB-4"), "NB-9"); !slices.Equal(brokenRules(err, nil), []string{"NB-4"}) {
		t.Errorf("an outer violates overrode the rule an inner check named: %v", brokenRules(err, nil))
	}
}

var errTest = errors.New("test")
