package conformance

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The JUnit XML that CI test reporters read (Jenkins, GitLab, dorny/test-reporter,
// mikepenz/action-junit-report): one <testsuite> per feature file, one <testcase> per scenario
// (one per example row of an outline). It is written from sskit's own results rather than by
// godog, so that counts match the cases, times are never negative, and a case is named by its
// example values.
//
// Outcomes map as follows: a failed scenario has exactly one <failure>; an unsupported scenario,
// one the run never reached, and any status this writer does not know are <skipped>; a passed
// one has no outcome element. <error> is never written: sskit has no outcome that is neither a
// failure nor a skip, so errors is always 0.

type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

type junitTestSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Errors     int              `xml:"errors,attr"`
	Skipped    int              `xml:"skipped,attr"`
	Time       string           `xml:"time,attr"`
	Timestamp  string           `xml:"timestamp,attr,omitempty"`
	Properties *junitProperties `xml:"properties"`
	Cases      []junitTestCase  `xml:"testcase"`
}

type junitTestCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	// file and line are not in the Ant schema, but the GitHub reporters use them to annotate
	// the feature file.
	File       string           `xml:"file,attr,omitempty"`
	Line       int              `xml:"line,attr,omitempty"`
	Properties *junitProperties `xml:"properties,omitempty"` // absent rather than empty
	Failure    *junitFailure    `xml:"failure"`
	Skipped    *junitSkipped    `xml:"skipped"`
}

type junitProperties struct {
	Properties []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// writeJUnit writes the run as JUnit XML to path, atomically. interrupted marks a run stopped
// before it finished: every suite then carries the property interrupted=true.
func writeJUnit(path string, r *Result, interrupted bool) error {
	doc := junitDocument(r, interrupted)
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomically(path, append(append([]byte(xml.Header), out...), '\n'))
}

func junitDocument(r *Result, interrupted bool) junitTestSuites {
	// The root's time is the run's wall time. Suites' times are sums of their cases and may add
	// up to more, since scenarios can run concurrently.
	doc := junitTestSuites{Name: "sskit", Time: junitSeconds(junitMillis(r.Duration))}
	runProps := junitRunProperties(r, interrupted)
	for _, group := range scenariosByFile(r.Scenarios) {
		suite := junitTestSuite{Name: group[0].Feature, Properties: runProps}
		if suite.Name == "" {
			suite.Name = group[0].File
		}
		var millis int64
		var earliest time.Time
		for _, sc := range group {
			c := junitCase(sc, interrupted)
			switch {
			case c.Failure != nil:
				suite.Failures++
			case c.Skipped != nil:
				suite.Skipped++
			}
			suite.Tests++
			millis += junitMillis(sc.Duration)
			if !sc.Started.IsZero() && (earliest.IsZero() || sc.Started.Before(earliest)) {
				earliest = sc.Started
			}
			suite.Cases = append(suite.Cases, c)
		}
		suite.Time = junitSeconds(millis)
		if !earliest.IsZero() {
			suite.Timestamp = earliest.UTC().Format(time.RFC3339)
		}
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Skipped += suite.Skipped
		doc.Suites = append(doc.Suites, suite)
	}
	if len(doc.Suites) == 0 {
		// A run with no scenario still says what it ran against, and whether it was cut short.
		doc.Suites = append(doc.Suites, junitTestSuite{Name: "sskit", Time: junitSeconds(0), Properties: runProps})
	}
	return doc
}

func junitRunProperties(r *Result, interrupted bool) *junitProperties {
	props := []junitProperty{
		{Name: "implementation", Value: r.Implementation},
		{Name: "spec_version", Value: r.SpecVersion},
		{Name: "seed", Value: strconv.FormatInt(r.Seed, 10)},
	}
	if r.Tags != "" {
		props = append(props, junitProperty{Name: "tags", Value: r.Tags})
	}
	if interrupted {
		props = append(props, junitProperty{Name: "interrupted", Value: "true"})
	}
	return &junitProperties{props}
}

func junitCase(sc ScenarioResult, interrupted bool) junitTestCase {
	c := junitTestCase{Name: sc.Title(), Classname: sc.File, File: sc.File, Line: sc.Line, Time: junitSeconds(junitMillis(sc.Duration))}
	var props []junitProperty
	for _, id := range sc.Rules {
		props = append(props, junitProperty{Name: "rule", Value: id})
	}
	if sc.Level != "" {
		props = append(props, junitProperty{Name: "level", Value: sc.Level})
	}
	if len(props) > 0 {
		c.Properties = &junitProperties{props}
	}
	switch sc.Status {
	case Passed:
	case Failed:
		c.Failure = junitFailureOf(sc)
	default:
		c.Skipped = &junitSkipped{Message: skipReason(sc, interrupted)}
	}
	return c
}

// junitFailureOf puts the failing step and its error in the message, and every step with its
// status in the body, so that a reporter that shows only one of them still shows what broke.
func junitFailureOf(sc ScenarioResult) *junitFailure {
	f := &junitFailure{Message: sc.Error, Type: "failed"}
	switch {
	case sc.FailedStep != "" && sc.Error != "":
		f.Message = sc.FailedStep + ": " + sc.Error
	case sc.FailedStep != "":
		f.Message = sc.FailedStep
	}
	for _, st := range sc.Steps {
		if st.Status != "passed" && st.Status != "skipped" {
			f.Type = st.Status // failed, undefined, pending or ambiguous
			break
		}
	}
	var b strings.Builder
	for _, st := range sc.Steps {
		fmt.Fprintf(&b, "%-9s %s%s", st.Status, st.Keyword, st.Text)
		if st.Status != "skipped" {
			fmt.Fprintf(&b, " (%ss)", junitSeconds(junitMillis(st.Duration)))
		}
		b.WriteByte('\n')
		if st.Error != "" {
			b.WriteString("          " + strings.ReplaceAll(st.Error, "\n", "\n          ") + "\n")
		}
	}
	if sc.Error != "" && !stepsCarry(sc.Steps, sc.Error) {
		b.WriteString("error: " + sc.Error + "\n")
	}
	for _, l := range sc.Logs {
		b.WriteString("node log: " + l + "\n")
	}
	f.Body = b.String()
	return f
}

func stepsCarry(steps []StepResult, err string) bool {
	for _, st := range steps {
		if st.Error == err {
			return true
		}
	}
	return false
}

// skipReason says why a scenario that neither passed nor failed has no verdict. A status this
// writer does not know is taken for a scenario that did not run to the end.
func skipReason(sc ScenarioResult, interrupted bool) string {
	reason := "not run"
	switch {
	case sc.Status == Unsupported:
		reason = "unsupported"
	case interrupted:
		reason = "not run: the run was interrupted"
	}
	if sc.Error != "" {
		reason += ": " + sc.Error
	}
	return reason
}

// scenariosByFile groups scenarios by feature file, in the order the files first appear.
func scenariosByFile(scenarios []ScenarioResult) [][]ScenarioResult {
	var groups [][]ScenarioResult
	at := map[string]int{}
	for _, sc := range scenarios {
		i, ok := at[sc.File]
		if !ok {
			i = len(groups)
			at[sc.File] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], sc)
	}
	return groups
}

// junitMillis rounds d to whole milliseconds, never below zero. Sums are taken in milliseconds so
// that a suite's time is exactly the sum of the times its cases show.
func junitMillis(d time.Duration) int64 {
	return max(0, d.Round(time.Millisecond).Milliseconds())
}

func junitSeconds(millis int64) string {
	return fmt.Sprintf("%d.%03d", millis/1000, millis%1000)
}

// writeFileAtomically writes data to path+".tmp" and renames it over path, so that a reader (or a
// run cut short by a signal) sees the old file or the new one, never part of one.
func writeFileAtomically(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}
