package conformance

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/stableset/sskit/harness"
)

// Options choose what the suite runs against and where the results go.
type Options struct {
	Impl        harness.Implementation
	Backend     string // process (default) or docker
	Tags        string // godog tag expression, e.g. "@WIRE-2 || @ADM-4"; empty runs everything
	Seed        int64  // node keys and scenario order derive from it
	ResultsDir  string // root of results/conformance; the run goes in <root>/<impl>/<run>/
	Suite       fs.FS  // holds conformance/SPEC.md and features/*.feature
	Progress    io.Writer
	Concurrency int // scenarios run at once; default 1
	// KnownFailures are rule IDs expected to fail: they are shown apart and do not fail the run.
	KnownFailures map[string]bool
}

// Status is the outcome of a scenario or the verdict on a rule.
type Status string

const (
	Passed      Status = "pass"
	Failed      Status = "fail"
	Unsupported Status = "unsupported" // the node answered 501 for what the scenario needs
	Untested    Status = "untested"    // no scenario checks the rule, or none ran
	Known       Status = "known"       // failed, and listed as a known failure
)

// ScenarioResult is one scenario's outcome.
type ScenarioResult struct {
	Name       string        `json:"name"`
	Variant    string        `json:"variant,omitempty"` // the example row of an outline
	File       string        `json:"file"`
	Rules      []string      `json:"rules"`
	Level      string        `json:"level"`
	Status     Status        `json:"status"`
	FailedStep string        `json:"failed_step,omitempty"`
	Error      string        `json:"error,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	Logs       []string      `json:"logs,omitempty"` // node logs, relative to the run directory
	index      int
}

// Title is the scenario's name with its example row.
func (s ScenarioResult) Title() string {
	if s.Variant == "" {
		return s.Name
	}
	return s.Name + " [" + s.Variant + "]"
}

// RuleResult is the verdict on one rule of SPEC.md.
type RuleResult struct {
	Rule
	Status    Status `json:"status"`
	Scenarios []int  `json:"scenarios"` // indexes into Result.Scenarios
}

// Result is a whole run.
type Result struct {
	Implementation string           `json:"implementation"`
	NodeName       string           `json:"node_implementation"` // as GET /v1/node reports it
	NodeVersion    string           `json:"node_version"`
	Backend        string           `json:"backend"`
	SpecVersion    string           `json:"spec_version"`
	Seed           int64            `json:"seed"`
	Tags           string           `json:"tags,omitempty"`
	Started        time.Time        `json:"started"`
	Duration       time.Duration    `json:"duration_ns"`
	KnownFailures  []string         `json:"known_failures,omitempty"`
	Rules          []RuleResult     `json:"rules"`
	Scenarios      []ScenarioResult `json:"scenarios"`
	Dir            string           `json:"-"`
}

// MustFailures counts MUST rules that failed. Certification needs zero.
func (r *Result) MustFailures() int {
	n := 0
	for _, rr := range r.Rules {
		if rr.Must() && rr.Status == Failed {
			n++
		}
	}
	return n
}

// N is Count for templates: N "MUST" "pass".
func (r *Result) N(level, status string) int { return r.Count(level, Status(status)) }

// Count counts rules with status s, of level (MUST, SHOULD, or "" for both).
func (r *Result) Count(level string, s Status) int {
	n := 0
	for _, rr := range r.Rules {
		if rr.Status == s && (level == "" || rr.Level == level) {
			n++
		}
	}
	return n
}

// Run runs the suite once and writes its reports. It returns an error only when the suite could
// not run; failed rules are in the Result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Backend == "" {
		opts.Backend = "process"
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	specText, err := fs.ReadFile(opts.Suite, "conformance/SPEC.md")
	if err != nil {
		return nil, err
	}
	spec, err := ParseSpec(string(specText))
	if err != nil {
		return nil, err
	}
	declared, err := LoadScenarios(opts.Suite, "features")
	if err != nil {
		return nil, err
	}
	res := &Result{
		Implementation: opts.Impl.Name, Backend: opts.Backend, SpecVersion: spec.Version,
		Seed: opts.Seed, Tags: opts.Tags, Started: time.Now().UTC(),
	}
	res.Dir = filepath.Join(opts.ResultsDir, safeName(opts.Impl.Name), res.Started.Format("20060102T150405Z"))
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Progress, "sskit conformance: %s on the %s backend, spec version %s, seed %d\n", opts.Impl.Name, opts.Backend, spec.Version, opts.Seed)
	fmt.Fprintf(opts.Progress, "sskit conformance: results in %s\n", res.Dir)

	s := &suiteRun{opts: opts, res: res, declared: declared, total: countSelected(declared, opts.Tags)}
	features, err := fs.Sub(opts.Suite, ".")
	if err != nil {
		return nil, err
	}
	suite := godog.TestSuite{
		Name:                "sskit",
		ScenarioInitializer: s.initScenario,
		Options: &godog.Options{
			Format: "junit:" + filepath.Join(res.Dir, "junit.xml") + ",cucumber:" + filepath.Join(res.Dir, "cucumber.json"),
			Output: io.Discard, Paths: []string{"features"}, FS: features, Tags: opts.Tags,
			Strict: true, Randomize: opts.Seed, Concurrency: opts.Concurrency, NoColors: true,
			DefaultContext: ctx,
		},
	}
	suite.Run()
	res.Duration = time.Since(res.Started)
	sort.SliceStable(res.Scenarios, func(i, j int) bool {
		a, b := res.Scenarios[i], res.Scenarios[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.index < b.index
	})
	res.Rules = verdicts(spec, res.Scenarios, opts.KnownFailures)
	for id := range opts.KnownFailures {
		res.KnownFailures = append(res.KnownFailures, id)
	}
	sort.Strings(res.KnownFailures)
	if err := writeReports(res); err != nil {
		return res, err
	}
	fmt.Fprintf(opts.Progress, "sskit conformance: %d scenarios in %v; MUST rules: %d pass, %d fail, %d unsupported, %d untested; SHOULD rules: %d pass, %d fail\n",
		len(res.Scenarios), res.Duration.Round(time.Millisecond),
		res.Count("MUST", Passed), res.Count("MUST", Failed), res.Count("MUST", Unsupported), res.Count("MUST", Untested),
		res.Count("SHOULD", Passed), res.Count("SHOULD", Failed))
	fmt.Fprintf(opts.Progress, "sskit conformance: report %s\n", filepath.Join(res.Dir, "report.html"))
	return res, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "-"), "-")
	if s == "" {
		return "node"
	}
	return s
}

// countSelected is how many scenarios the run will have, for progress lines; without a tag
// filter it is exact, with one it is unknown (0).
func countSelected(declared []Scenario, tags string) int {
	if tags != "" {
		return 0
	}
	return len(declared)
}

// verdicts decides each rule from the scenarios that check it: any failure fails it (or makes it
// a known failure when listed); otherwise any unsupported makes it unsupported; it passes when at
// least one scenario passed.
func verdicts(spec *Spec, scenarios []ScenarioResult, known map[string]bool) []RuleResult {
	var out []RuleResult
	for _, r := range spec.Rules {
		rr := RuleResult{Rule: r, Status: Untested}
		for i, sc := range scenarios {
			for _, id := range sc.Rules {
				if id != r.ID {
					continue
				}
				rr.Scenarios = append(rr.Scenarios, i)
				switch {
				case sc.Status == Failed:
					rr.Status = Failed
				case sc.Status == Unsupported && rr.Status != Failed:
					rr.Status = Unsupported
				case sc.Status == Passed && rr.Status == Untested:
					rr.Status = Passed
				}
			}
		}
		if rr.Status == Failed && known[r.ID] {
			rr.Status = Known
		}
		out = append(out, rr)
	}
	return out
}

// NowPassing lists the known failures that passed in this run: the list can shrink.
func (r *Result) NowPassing() []string {
	known := map[string]bool{}
	for _, id := range r.KnownFailures {
		known[id] = true
	}
	var out []string
	for _, rr := range r.Rules {
		if known[rr.ID] && rr.Status == Passed {
			out = append(out, rr.ID)
		}
	}
	return out
}

// ReadKnownFailures reads a known-failures file: one rule ID per line; '#' starts a comment. An
// ID that SPEC.md does not define is an error, so that a typo cannot hide a failure.
func ReadKnownFailures(text string, spec *Spec) (map[string]bool, error) {
	known := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		id := strings.TrimSpace(line)
		if id == "" {
			continue
		}
		if _, ok := spec.Rule(id); !ok {
			return nil, fmt.Errorf("known failures, line %d: SPEC.md has no rule %q", i+1, id)
		}
		known[id] = true
	}
	return known, nil
}

// suiteRun collects results while godog runs scenarios, possibly several at once.
type suiteRun struct {
	opts     Options
	res      *Result
	declared []Scenario
	total    int

	mu   sync.Mutex
	done int
}

// lookup finds the declared scenario (tags, example row) behind a godog pickle.
func (s *suiteRun) lookup(sc *godog.Scenario) (Scenario, int) {
	key := pickleKey(sc.Uri, sc.Name, sc.Steps)
	for i, d := range s.declared {
		if d.key == key {
			return d, i
		}
	}
	return Scenario{Name: sc.Name, File: sc.Uri}, len(s.declared)
}

func (s *suiteRun) record(r ScenarioResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Scenarios = append(s.res.Scenarios, r)
	s.done++
	counter := fmt.Sprintf("[%d]", s.done)
	if s.total > 0 {
		counter = fmt.Sprintf("[%*d/%d]", len(fmt.Sprint(s.total)), s.done, s.total)
	}
	line := fmt.Sprintf("%s %-11s %s  (%s, %v)", counter, strings.ToUpper(string(r.Status)), r.Title(), strings.Join(r.Rules, " "), r.Duration.Round(time.Millisecond))
	if r.Status == Failed {
		line += "\n        step:  " + r.FailedStep + "\n        error: " + strings.ReplaceAll(r.Error, "\n", "\n               ")
	}
	fmt.Fprintln(s.opts.Progress, line)
}

// noteVersion records the node's implementation version from the first node that reports one.
func (s *suiteRun) noteVersion(ctx context.Context, n *harness.Node) {
	s.mu.Lock()
	known := s.res.NodeVersion != ""
	s.mu.Unlock()
	if known {
		return
	}
	if info, err := n.Info(ctx); err == nil {
		s.mu.Lock()
		s.res.NodeName, s.res.NodeVersion = info.Implementation, info.Version
		s.mu.Unlock()
	}
}
