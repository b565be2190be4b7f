package conformance

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The cucumber JSON that cucumber-jvm and cucumber-js emit and that cucumber-html-reporter and
// Jenkins' cucumber plugin read: an array of features, each with its scenarios ("elements") and
// their steps. It is written from sskit's own results rather than by godog.
//
// The format has no scenario status: readers derive it from the steps (and hooks), and count a
// scenario without steps as passed. So a scenario that never ran, and has no recorded steps, gets
// one synthetic skipped step that says why, rather than no steps; and a failed scenario none of
// whose steps failed gets a failed "after" hook carrying the error.

type cucumberFeature struct {
	URI         string            `json:"uri"`
	ID          string            `json:"id"`
	Keyword     string            `json:"keyword"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Line        int               `json:"line"`
	Elements    []cucumberElement `json:"elements"`
}

type cucumberElement struct {
	ID             string         `json:"id"`
	Keyword        string         `json:"keyword"`
	Type           string         `json:"type"`
	Name           string         `json:"name"`
	Description    string         `json:"description"`
	Line           int            `json:"line"`
	StartTimestamp string         `json:"start_timestamp,omitempty"`
	Tags           []cucumberTag  `json:"tags"`
	Steps          []cucumberStep `json:"steps"`
	After          []cucumberHook `json:"after,omitempty"`
}

// cucumberTag has no line: the results do not record where a tag was written.
type cucumberTag struct {
	Name string `json:"name"`
}

type cucumberStep struct {
	Keyword string         `json:"keyword"`
	Name    string         `json:"name"`
	Line    int            `json:"line"`
	Result  cucumberResult `json:"result"`
}

type cucumberHook struct {
	Match  cucumberMatch  `json:"match"`
	Result cucumberResult `json:"result"`
}

type cucumberMatch struct {
	Location string `json:"location"`
}

type cucumberResult struct {
	Status       string `json:"status"`
	Duration     int64  `json:"duration"` // nanoseconds
	ErrorMessage string `json:"error_message,omitempty"`
}

// writeCucumberJSON writes the run as cucumber JSON to path, atomically. interrupted marks a run
// stopped before it finished: every feature's description then says the results are partial.
func writeCucumberJSON(path string, r *Result, interrupted bool) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // scenario names and errors stay readable; the JSON is valid either way
	enc.SetIndent("", "  ")
	if err := enc.Encode(cucumberFeatures(r, interrupted)); err != nil {
		return err
	}
	return writeFileAtomically(path, b.Bytes())
}

func cucumberFeatures(r *Result, interrupted bool) []cucumberFeature {
	features := []cucumberFeature{}
	for _, group := range scenariosByFile(r.Scenarios) {
		name := group[0].Feature
		if name == "" {
			name = group[0].File
		}
		// Line 1: the results do not carry the Feature keyword's line, and sskit's features
		// start with it.
		f := cucumberFeature{URI: group[0].File, ID: cucumberSlug(name), Keyword: "Feature", Name: name, Line: 1}
		if interrupted {
			f.Description = "Partial results: the sskit run was interrupted before it finished."
		}
		ids := map[string]bool{}
		for _, sc := range group {
			e := cucumberElementOf(sc, interrupted)
			e.ID = f.ID + ";" + cucumberSlug(sc.Name)
			if sc.Variant != "" || ids[e.ID] {
				e.ID += ";" + strconv.Itoa(sc.Line) // example rows share a name; their lines differ
			}
			ids[e.ID] = true
			f.Elements = append(f.Elements, e)
		}
		features = append(features, f)
	}
	return features
}

func cucumberElementOf(sc ScenarioResult, interrupted bool) cucumberElement {
	e := cucumberElement{Keyword: "Scenario", Type: "scenario", Name: sc.Title(), Line: sc.Line,
		Tags: []cucumberTag{}, Steps: []cucumberStep{}}
	if sc.Variant != "" {
		e.Keyword = "Scenario Outline"
	}
	if !sc.Started.IsZero() {
		e.StartTimestamp = sc.Started.UTC().Format(time.RFC3339Nano)
	}
	for _, t := range sc.Tags {
		e.Tags = append(e.Tags, cucumberTag{Name: t})
	}
	stepFailed, reasonGiven := false, false
	for _, st := range sc.Steps {
		res := cucumberResult{Status: cucumberStatus(st.Status), Duration: max(0, int64(st.Duration)), ErrorMessage: st.Error}
		switch {
		case st.Status == "ambiguous" && res.ErrorMessage == "":
			res.ErrorMessage = "ambiguous step"
		case res.Status == "skipped" && sc.Status == Unsupported && !reasonGiven && res.ErrorMessage == "":
			// The step that found the node unsupported is skipped; it is where readers look for why.
			res.ErrorMessage, reasonGiven = skipReason(sc, interrupted), true
		}
		stepFailed = stepFailed || res.Status == "failed" || res.Status == "undefined" || res.Status == "pending"
		e.Steps = append(e.Steps, cucumberStep{Keyword: st.Keyword, Name: st.Text, Line: st.Line, Result: res})
	}
	switch {
	case sc.Status == Failed && !stepFailed:
		e.After = []cucumberHook{{Match: cucumberMatch{Location: "sskit"}, Result: cucumberResult{Status: "failed", ErrorMessage: sc.Error}}}
	case sc.Status != Passed && sc.Status != Failed && len(sc.Steps) == 0:
		e.Steps = append(e.Steps, cucumberStep{Keyword: "* ", Name: skipReason(sc, interrupted), Line: sc.Line,
			Result: cucumberResult{Status: "skipped"}})
	}
	return e
}

// cucumberStatus maps a step status to the words every reader knows. godog's "ambiguous" failed
// the scenario (the suite runs strict), so it is "failed"; anything unknown did not run.
func cucumberStatus(s string) string {
	switch s {
	case "passed", "failed", "skipped", "undefined", "pending":
		return s
	case "ambiguous":
		return "failed"
	}
	return "skipped"
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// cucumberSlug makes an id the way cucumber does: lowercase, with runs of other characters as "-".
func cucumberSlug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}
