package conformance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These structs mirror the JUnit schema CI reporters read; they are deliberately not the
// writer's own types, so a field the writer misnames fails to parse here.
type ciJUnitRoot struct {
	XMLName  xml.Name       `xml:"testsuites"`
	Name     string         `xml:"name,attr"`
	Tests    int            `xml:"tests,attr"`
	Failures int            `xml:"failures,attr"`
	Errors   int            `xml:"errors,attr"`
	Skipped  int            `xml:"skipped,attr"`
	Time     string         `xml:"time,attr"`
	Suites   []ciJUnitSuite `xml:"testsuite"`
}

type ciJUnitSuite struct {
	Name       string            `xml:"name,attr"`
	Tests      int               `xml:"tests,attr"`
	Failures   int               `xml:"failures,attr"`
	Errors     int               `xml:"errors,attr"`
	Skipped    int               `xml:"skipped,attr"`
	Time       string            `xml:"time,attr"`
	Timestamp  string            `xml:"timestamp,attr"`
	Properties []ciJUnitProperty `xml:"properties>property"`
	Cases      []ciJUnitCase     `xml:"testcase"`
}

type ciJUnitCase struct {
	Name       string            `xml:"name,attr"`
	Classname  string            `xml:"classname,attr"`
	Time       string            `xml:"time,attr"`
	Properties []ciJUnitProperty `xml:"properties>property"`
	Failures   []struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
	} `xml:"failure"`
	Errors  []struct{} `xml:"error"`
	Skipped []struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

type ciJUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

func (s ciJUnitSuite) property(name string) (string, bool) {
	for _, p := range s.Properties {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Mirrors the cucumber JSON schema; decoding disallows unknown fields.
type ciCucumberFeature struct {
	URI         string              `json:"uri"`
	ID          string              `json:"id"`
	Keyword     string              `json:"keyword"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Line        int                 `json:"line"`
	Elements    []ciCucumberElement `json:"elements"`
}

type ciCucumberElement struct {
	ID             string `json:"id"`
	Keyword        string `json:"keyword"`
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Line           int    `json:"line"`
	StartTimestamp string `json:"start_timestamp"`
	Tags           []struct {
		Name string `json:"name"`
	} `json:"tags"`
	Steps []ciCucumberStep `json:"steps"`
	After []struct {
		Match  struct{ Location string } `json:"match"`
		Result ciCucumberResult          `json:"result"`
	} `json:"after"`
}

type ciCucumberStep struct {
	Keyword string           `json:"keyword"`
	Name    string           `json:"name"`
	Line    int              `json:"line"`
	Result  ciCucumberResult `json:"result"`
}

type ciCucumberResult struct {
	Status       string       `json:"status"`
	Duration     *json.Number `json:"duration"`
	ErrorMessage string       `json:"error_message"`
}

const escapedScenarioName = `Frames of <0x00> & "odd" 'bytes' are answered ]]>`

// ciFormatsResult is a run of two features: an outline with two example rows (one passed, one
// unsupported), a failed scenario whose later steps were skipped, and a passed scenario with
// characters XML must escape. Scenarios ran two at a time, so their durations add up to more
// than the run's wall time.
func ciFormatsResult() *Result {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	const contract = "Node contract and admin API — how a harness starts, observes and stops any node"
	const framing = "Framing and messages — bad frames close one connection with a defined code"
	const outline = "A bad admin request gets a JSON error and changes nothing"
	outlineSteps := func(path string, second string) []StepResult {
		return []StepResult{
			{Keyword: "Given ", Text: "a node under test", Line: 50, Status: "passed", Duration: 700 * ms},
			{Keyword: "When ", Text: "I send GET " + path + " to the admin API", Line: 51, Status: second, Duration: 20 * ms},
			{Keyword: "Then ", Text: `the answer is 404 with error code "not_found"`, Line: 52, Status: "skipped"},
			{Keyword: "And ", Text: "the node's state is as it was before the request", Line: 53, Status: "skipped"},
		}
	}
	passedOutline := outlineSteps("/v1/nothing", "passed")
	passedOutline[2].Status, passedOutline[2].Duration = "passed", 5*ms
	passedOutline[3].Status, passedOutline[3].Duration = "passed", 475*ms
	return &Result{
		Implementation: "refnode", SpecVersion: "2", Seed: 42, Tags: "@must", Started: t0, Duration: 4200 * time.Millisecond,
		Rules: []RuleResult{
			{Rule: Rule{ID: "ADM-4", Level: "MUST", Text: "bad requests get a JSON error"}, Status: Unsupported},
			{Rule: Rule{ID: "WIRE-1", Level: "MUST", Text: "frames are answered"}, Status: Failed},
		},
		Scenarios: []ScenarioResult{
			{Name: outline, Variant: "method=GET, path=/v1/nothing", File: "features/contract.feature", Line: 57, Feature: contract,
				Rules: []string{"ADM-4"}, Tags: []string{"@ADM-4", "@must"}, Level: "must", Status: Passed,
				Started: t0.Add(100 * ms), Duration: 1200 * ms, Steps: passedOutline},
			{Name: outline, Variant: "method=GET, path=/v1/counters", File: "features/contract.feature", Line: 58, Feature: contract,
				Rules: []string{"ADM-4"}, Tags: []string{"@ADM-4", "@must"}, Level: "must", Status: Unsupported,
				Error: "GET /v1/counters answered 501 Not Implemented", Started: t0.Add(1300 * ms),
				// A clock stepped back: it must not show as a negative time.
				Duration: -2 * ms, Steps: outlineSteps("/v1/counters", "skipped")},
			{Name: "A PING is answered with a PONG carrying its id and its body", File: "features/framing.feature", Line: 9, Feature: framing,
				Rules: []string{"WIRE-1", "WIRE-7", "MSG-1"}, Tags: []string{"@WIRE-1", "@WIRE-7", "@MSG-1", "@must"}, Level: "must",
				Status: Failed, FailedStep: `peer "alice" receives a PONG with id 77 and payload "stableset"`,
				Error: "expected <PONG 77> & got \"nothing\" \x1b[31mwithin 10s", Started: t0.Add(2100 * ms), Duration: 2000 * ms,
				Logs: []string{"logs/framing-01/node.log"},
				Steps: []StepResult{
					{Keyword: "Given ", Text: "a node under test", Line: 6, Status: "passed", Duration: 800 * ms},
					{Keyword: "When ", Text: `scripted peer "alice" connects to the node`, Line: 10, Status: "passed", Duration: 150 * ms},
					{Keyword: "And ", Text: `peer "alice" sends a PING with id 77 and payload "stableset"`, Line: 11, Status: "passed", Duration: 50 * ms},
					{Keyword: "Then ", Text: `peer "alice" receives a PONG with id 77 and payload "stableset"`, Line: 12, Status: "failed",
						Duration: 1000 * ms, Error: "expected <PONG 77> & got \"nothing\" \x1b[31mwithin 10s"},
					{Keyword: "And ", Text: "the node answers a PING from a new peer", Line: 13, Status: "skipped"},
				}},
			{Name: escapedScenarioName, File: "features/framing.feature", Line: 15, Feature: framing,
				Rules: []string{"WIRE-1"}, Tags: []string{"@WIRE-1", "@must"}, Level: "must", Status: Passed,
				Started: t0.Add(1400 * ms), Duration: 1500 * ms,
				Steps: []StepResult{
					{Keyword: "Given ", Text: "a node under test", Line: 6, Status: "passed", Duration: 900 * ms},
					{Keyword: "Then ", Text: `peer "alice" receives 3 PONGs with <ids> & "payloads"`, Line: 16, Status: "passed", Duration: 600 * ms},
				}},
		},
	}
}

func writeAndReadJUnit(t *testing.T, r *Result, interrupted bool) (ciJUnitRoot, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := writeJUnit(path, r, interrupted); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc ciJUnitRoot
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, raw)
	}
	return doc, raw
}

var junitTime = regexp.MustCompile(`^[0-9]+\.[0-9]{3}$`)

// junitTimeMillis reads a time attribute, which must be seconds with three decimals and so never
// negative.
func junitTimeMillis(t *testing.T, what, s string) int64 {
	t.Helper()
	if !junitTime.MatchString(s) {
		t.Errorf("%s: time %q is not non-negative seconds with 3 decimals", what, s)
		return 0
	}
	n, _ := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
	return n
}

// checkJUnitConsistent asserts what every junit.xml must satisfy, whatever the run: counts equal
// the children they count, no <error>, at most one outcome per case, classname set, suite time
// the sum of its cases.
func checkJUnitConsistent(t *testing.T, doc ciJUnitRoot) {
	t.Helper()
	if doc.Name != "sskit" {
		t.Errorf("root name %q, want sskit", doc.Name)
	}
	junitTimeMillis(t, "root", doc.Time)
	var tests, failures, skipped int
	for _, s := range doc.Suites {
		var caseFailures, caseSkipped int
		var sum int64
		for _, c := range s.Cases {
			if c.Classname == "" {
				t.Errorf("case %q has no classname", c.Name)
			}
			if len(c.Errors) != 0 {
				t.Errorf("case %q has %d <error> elements", c.Name, len(c.Errors))
			}
			if len(c.Failures)+len(c.Skipped) > 1 {
				t.Errorf("case %q has %d failures and %d skipped, want at most one outcome", c.Name, len(c.Failures), len(c.Skipped))
			}
			caseFailures += len(c.Failures)
			caseSkipped += len(c.Skipped)
			sum += junitTimeMillis(t, "case "+c.Name, c.Time)
		}
		if s.Tests != len(s.Cases) || s.Failures != caseFailures || s.Skipped != caseSkipped || s.Errors != 0 {
			t.Errorf("suite %q says tests=%d failures=%d skipped=%d errors=%d; its cases: %d, %d failed, %d skipped, 0 errors",
				s.Name, s.Tests, s.Failures, s.Skipped, s.Errors, len(s.Cases), caseFailures, caseSkipped)
		}
		if got := junitTimeMillis(t, "suite "+s.Name, s.Time); got != sum {
			t.Errorf("suite %q time %s, its cases sum to %d ms", s.Name, s.Time, sum)
		}
		tests, failures, skipped = tests+len(s.Cases), failures+caseFailures, skipped+caseSkipped
	}
	if doc.Tests != tests || doc.Failures != failures || doc.Skipped != skipped || doc.Errors != 0 {
		t.Errorf("root says tests=%d failures=%d skipped=%d errors=%d; cases: %d, %d failed, %d skipped",
			doc.Tests, doc.Failures, doc.Skipped, doc.Errors, tests, failures, skipped)
	}
}

func TestJUnitCountsTimesAndNames(t *testing.T) {
	r := ciFormatsResult()
	doc, raw := writeAndReadJUnit(t, r, false)
	checkJUnitConsistent(t, doc)

	if doc.Tests != 4 || doc.Failures != 1 || doc.Skipped != 1 {
		t.Errorf("root tests=%d failures=%d skipped=%d, want 4, 1, 1", doc.Tests, doc.Failures, doc.Skipped)
	}
	// The root is the wall time; the suites overlap and sum to 1.200+0+2.000+1.500 s.
	if doc.Time != "4.200" {
		t.Errorf("root time %s, want the run's wall time 4.200", doc.Time)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("%d suites, want one per feature file (2)", len(doc.Suites))
	}
	contract, framing := doc.Suites[0], doc.Suites[1]
	if contract.Name != r.Scenarios[0].Feature || framing.Name != r.Scenarios[2].Feature {
		t.Errorf("suite names %q, %q; want the feature names", contract.Name, framing.Name)
	}
	if contract.Time != "1.200" || framing.Time != "3.500" {
		t.Errorf("suite times %s, %s; want 1.200 (a negative case counts 0) and 3.500", contract.Time, framing.Time)
	}
	if contract.Timestamp != "2026-03-01T10:00:00Z" || framing.Timestamp != "2026-03-01T10:00:01Z" {
		t.Errorf("suite timestamps %q, %q; want their earliest case starts, 2026-03-01T10:00:00Z and 10:00:01Z", contract.Timestamp, framing.Timestamp)
	}
	for want, value := range map[string]string{"implementation": "refnode", "spec_version": "2", "seed": "42", "tags": "@must"} {
		if got, ok := contract.property(want); !ok || got != value {
			t.Errorf("suite property %s = %q (present %v), want %q", want, got, ok, value)
		}
	}
	if _, ok := contract.property("interrupted"); ok {
		t.Error("a complete run is marked interrupted")
	}

	wantNames := []string{
		"A bad admin request gets a JSON error and changes nothing [method=GET, path=/v1/nothing]",
		"A bad admin request gets a JSON error and changes nothing [method=GET, path=/v1/counters]",
	}
	for i, want := range wantNames {
		c := contract.Cases[i]
		if c.Name != want || c.Classname != "features/contract.feature" {
			t.Errorf("outline case %d is %q in %q, want %q in features/contract.feature", i, c.Name, c.Classname, want)
		}
	}
	if c := contract.Cases[0]; len(c.Failures)+len(c.Skipped) != 0 {
		t.Errorf("passed case %q has an outcome element", c.Name)
	}
	if c := contract.Cases[1]; len(c.Skipped) != 1 || !strings.HasPrefix(c.Skipped[0].Message, "unsupported: GET /v1/counters answered 501") || c.Time != "0.000" {
		t.Errorf("unsupported case: skipped %+v, time %s", c.Skipped, c.Time)
	}

	failed := framing.Cases[0]
	if len(failed.Failures) != 1 || len(failed.Errors) != 0 || len(failed.Skipped) != 0 {
		t.Fatalf("failed case has %d failures, %d errors, %d skipped; want exactly one failure", len(failed.Failures), len(failed.Errors), len(failed.Skipped))
	}
	f := failed.Failures[0]
	if !strings.HasPrefix(f.Message, `peer "alice" receives a PONG with id 77 and payload "stableset": expected <PONG 77> & got "nothing"`) || f.Type != "failed" {
		t.Errorf("failure message %q type %q; want the failing step and its error", f.Message, f.Type)
	}
	for _, want := range []string{
		"passed    Given a node under test (0.800s)",
		`failed    Then peer "alice" receives a PONG with id 77 and payload "stableset" (1.000s)`,
		"skipped   And the node answers a PING from a new peer\n",
		"node log: logs/framing-01/node.log",
	} {
		if !strings.Contains(f.Body, want) {
			t.Errorf("failure body lacks %q:\n%s", want, f.Body)
		}
	}
	var rules []string
	level := ""
	for _, p := range failed.Properties {
		switch p.Name {
		case "rule":
			rules = append(rules, p.Value)
		case "level":
			level = p.Value
		}
	}
	if strings.Join(rules, " ") != "WIRE-1 WIRE-7 MSG-1" || level != "must" {
		t.Errorf("failed case rules %v level %q; want WIRE-1 WIRE-7 MSG-1, must", rules, level)
	}

	if got := framing.Cases[1].Name; got != escapedScenarioName {
		t.Errorf("escaped name came back as %q", got)
	}
	if !bytes.Contains(raw, []byte("&lt;0x00&gt; &amp;")) {
		t.Error("the name's < and & are not escaped in the file")
	}
}

func writeAndReadCucumber(t *testing.T, r *Result, interrupted bool) []ciCucumberFeature {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cucumber.json")
	if err := writeCucumberJSON(path, r, interrupted); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var features []ciCucumberFeature
	if err := dec.Decode(&features); err != nil {
		t.Fatalf("cucumber.json does not decode into the schema: %v\n%s", err, raw)
	}
	return features
}

// checkCucumberConsistent asserts what every cucumber.json must satisfy: every scenario has steps,
// every step a status readers know and a non-negative integer duration in nanoseconds, ids unique.
func checkCucumberConsistent(t *testing.T, features []ciCucumberFeature) {
	t.Helper()
	valid := map[string]bool{"passed": true, "failed": true, "skipped": true, "undefined": true, "pending": true}
	ids := map[string]bool{}
	for _, f := range features {
		if f.Keyword != "Feature" || f.URI == "" || f.ID == "" || f.Name == "" {
			t.Errorf("feature %+v lacks keyword, uri, id or name", f)
		}
		for _, e := range f.Elements {
			if ids[e.ID] {
				t.Errorf("element id %q is used twice", e.ID)
			}
			ids[e.ID] = true
			if e.Type != "scenario" || (e.Keyword != "Scenario" && e.Keyword != "Scenario Outline") {
				t.Errorf("element %q has type %q keyword %q", e.Name, e.Type, e.Keyword)
			}
			if len(e.Steps) == 0 {
				t.Errorf("element %q has no steps", e.Name)
			}
			for _, st := range e.Steps {
				if !valid[st.Result.Status] {
					t.Errorf("step %q has status %q", st.Name, st.Result.Status)
				}
				if st.Result.Duration == nil {
					t.Errorf("step %q has no duration", st.Name)
					continue
				}
				if d, err := st.Result.Duration.Int64(); err != nil || d < 0 {
					t.Errorf("step %q duration %s is not a non-negative integer", st.Name, *st.Result.Duration)
				}
			}
		}
	}
}

func TestCucumberJSONSchema(t *testing.T) {
	r := ciFormatsResult()
	features := writeAndReadCucumber(t, r, false)
	checkCucumberConsistent(t, features)
	if len(features) != 2 || len(features[0].Elements) != 2 || len(features[1].Elements) != 2 {
		t.Fatalf("want 2 features of 2 elements, got %+v", features)
	}
	contract, framing := features[0], features[1]
	if contract.URI != "features/contract.feature" || framing.Name != r.Scenarios[2].Feature || contract.Description != "" {
		t.Errorf("features: %q %q, description %q", contract.URI, framing.Name, contract.Description)
	}
	for i, e := range contract.Elements {
		want := r.Scenarios[i].Title()
		if e.Keyword != "Scenario Outline" || e.Name != want || e.Line != r.Scenarios[i].Line {
			t.Errorf("outline row %d: %s %q line %d, want Scenario Outline %q line %d", i, e.Keyword, e.Name, e.Line, want, r.Scenarios[i].Line)
		}
	}
	unsupported := contract.Elements[1]
	if st := unsupported.Steps[1]; st.Result.Status != "skipped" || !strings.Contains(st.Result.ErrorMessage, "501 Not Implemented") {
		t.Errorf("the step that found the node unsupported: %+v; want skipped, saying why", st)
	}

	failed := framing.Elements[0]
	var statuses []string
	for _, st := range failed.Steps {
		statuses = append(statuses, st.Result.Status)
	}
	if strings.Join(statuses, " ") != "passed passed passed failed skipped" {
		t.Errorf("failed scenario's step statuses: %v", statuses)
	}
	if st := failed.Steps[3]; st.Keyword != "Then " || st.Line != 12 || *st.Result.Duration != "1000000000" || !strings.Contains(st.Result.ErrorMessage, `expected <PONG 77> & got "nothing"`) {
		t.Errorf("failed step: %+v, duration %s", st, *st.Result.Duration)
	}
	if len(failed.After) != 0 {
		t.Errorf("a scenario whose step failed also got a failed hook: %+v", failed.After)
	}
	var tags []string
	for _, tag := range failed.Tags {
		tags = append(tags, tag.Name)
	}
	if strings.Join(tags, " ") != "@WIRE-1 @WIRE-7 @MSG-1 @must" {
		t.Errorf("tags %v", tags)
	}
	if got := framing.Elements[1].Name; got != escapedScenarioName {
		t.Errorf("escaped name came back as %q", got)
	}
}

// A failed scenario none of whose steps failed must still read as failed, which cucumber readers
// decide from steps and hooks.
func TestCucumberFailureOutsideStepsIsAFailedHook(t *testing.T) {
	r := ciFormatsResult()
	sc := &r.Scenarios[3]
	sc.Status, sc.Error = Failed, "the node crashed after the last step"
	features := writeAndReadCucumber(t, r, false)
	e := features[1].Elements[1]
	if len(e.After) != 1 || e.After[0].Result.Status != "failed" || e.After[0].Result.ErrorMessage != sc.Error {
		t.Errorf("after hooks %+v; want one failed hook carrying the error", e.After)
	}
}

// godog's "ambiguous" and a status nobody knows must not reach readers that only know
// passed, failed, skipped, undefined and pending.
func TestCucumberStepStatusesAreOnesReadersKnow(t *testing.T) {
	r := ciFormatsResult()
	steps := r.Scenarios[2].Steps
	steps[3].Status, steps[3].Error = "ambiguous", ""
	steps[4].Status = "unknown"
	features := writeAndReadCucumber(t, r, false)
	checkCucumberConsistent(t, features)
	got := features[1].Elements[0].Steps
	if got[3].Result.Status != "failed" || got[3].Result.ErrorMessage != "ambiguous step" || got[4].Result.Status != "skipped" {
		t.Errorf("ambiguous step became %+v, unknown became %+v; want failed (saying ambiguous) and skipped", got[3].Result, got[4].Result)
	}
}

func TestCIFormatsShowInterruption(t *testing.T) {
	r := ciFormatsResult()
	// The lead's status for scenarios the interrupted run never reached is unknown here; any
	// status the writers do not know must read as skipped.
	r.Scenarios = append(r.Scenarios, ScenarioResult{Name: "The node answers after a bad frame", File: "features/framing.feature",
		Line: 30, Feature: r.Scenarios[2].Feature, Rules: []string{"WIRE-9"}, Tags: []string{"@WIRE-9", "@must"}, Level: "must",
		Status: Status("not-run")})

	doc, _ := writeAndReadJUnit(t, r, true)
	checkJUnitConsistent(t, doc)
	for _, s := range doc.Suites {
		if v, ok := s.property("interrupted"); !ok || v != "true" {
			t.Errorf("suite %q lacks interrupted=true", s.Name)
		}
	}
	notRun := doc.Suites[1].Cases[2]
	if len(notRun.Skipped) != 1 || notRun.Skipped[0].Message != "not run: the run was interrupted" || doc.Suites[1].Skipped != 1 {
		t.Errorf("a scenario the run never reached: %+v; suite skipped=%d", notRun, doc.Suites[1].Skipped)
	}
	if doc.Skipped != 2 || doc.Tests != 5 {
		t.Errorf("root tests=%d skipped=%d, want 5 and 2", doc.Tests, doc.Skipped)
	}

	features := writeAndReadCucumber(t, r, true)
	checkCucumberConsistent(t, features)
	for _, f := range features {
		if !strings.Contains(f.Description, "interrupted") {
			t.Errorf("feature %q description %q does not say the run was interrupted", f.Name, f.Description)
		}
	}
	e := features[1].Elements[2]
	if len(e.Steps) != 1 || e.Steps[0].Result.Status != "skipped" || !strings.Contains(e.Steps[0].Name, "interrupted") {
		t.Errorf("a scenario the run never reached has steps %+v; want one skipped step saying why", e.Steps)
	}

	// Interrupted before any scenario finished: both files are still whole, and JUnit still says so.
	empty := &Result{Implementation: "refnode", SpecVersion: "2", Seed: 1, Duration: 1500 * time.Millisecond}
	doc, _ = writeAndReadJUnit(t, empty, true)
	checkJUnitConsistent(t, doc)
	if len(doc.Suites) != 1 || doc.Tests != 0 {
		t.Fatalf("an empty run gives %d suites, %d tests; want one empty suite", len(doc.Suites), doc.Tests)
	}
	if v, _ := doc.Suites[0].property("interrupted"); v != "true" {
		t.Error("an empty interrupted run does not say it was interrupted")
	}
	if features := writeAndReadCucumber(t, empty, true); len(features) != 0 {
		t.Errorf("an empty run gives %d features", len(features))
	}
}

func TestCIFormatsReplaceFilesWhole(t *testing.T) {
	dir := t.TempDir()
	r := ciFormatsResult()
	for _, f := range []struct {
		name, prefix string
		write        func(string, *Result, bool) error
	}{
		{"junit.xml", "<?xml", writeJUnit},
		{"cucumber.json", "[", writeCucumberJSON},
	} {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, []byte("an older run"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := f.write(path, r, false); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(got, []byte(f.prefix)) {
			t.Errorf("%s was not replaced: %.40q, %v", f.name, got, err)
		}
		if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
			t.Errorf("%s.tmp is left behind: %v", f.name, err)
		}
		if err := f.write(filepath.Join(dir, "no-such-dir", f.name), r, false); err == nil {
			t.Errorf("writing %s into a missing directory succeeded", f.name)
		}
	}
}
