package conformance

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	// SkipPreflight runs the scenarios without first checking that one node starts and answers.
	SkipPreflight bool
	// CloseOnCancel closes every cluster of the process (harness.CloseAll) when ctx ends, so that
	// an interrupt ends the scenarios in flight at once. For a command that owns the process.
	CloseOnCancel bool
	// FailFast stops the run at the first failed scenario, whatever its rule's level: the
	// scenarios not started yet are left out of the result. For a run that only asks whether
	// anything fails, such as one against a mutant.
	FailFast bool
}

// Status is the outcome of a scenario or the verdict on a rule.
type Status string

const (
	Passed      Status = "pass"
	Failed      Status = "fail"
	Unsupported Status = "unsupported" // the node answered 501 for what the scenario needs
	Untested    Status = "untested"    // no scenario checks the rule, or none ran
	Known       Status = "known"       // failed, and listed as a known failure
	NotRun      Status = "not run"     // a scenario the run never finished: it was interrupted
	// Blocked is a rule that a failed scenario was to judge but never reached: the scenario
	// failed in its setup (a Given step), or on another rule that its failing assertion named.
	// Nothing says the rule is broken, and nothing says it holds: the run cannot certify it.
	Blocked Status = "blocked"
)

// ScenarioResult is one scenario's outcome.
type ScenarioResult struct {
	Name       string   `json:"name"`
	Variant    string   `json:"variant,omitempty"` // the example row of an outline
	File       string   `json:"file"`
	Line       int      `json:"line"`
	Feature    string   `json:"feature"`
	Rules      []string `json:"rules"`
	Tags       []string `json:"tags"`
	Level      string   `json:"level"`
	Status     Status   `json:"status"`
	FailedStep string   `json:"failed_step,omitempty"`
	// FailedInSetup says the failing step was a Given step: the scenario never reached what it
	// judges, so its rules are blocked rather than broken.
	FailedInSetup bool `json:"failed_in_setup,omitempty"`
	// Broke is the rules a failure is put down to: those the failing assertion named (see
	// Violation), or else every rule the scenario is tagged with; none for a setup failure.
	Broke       []string       `json:"broke,omitempty"`
	Error       string         `json:"error,omitempty"`
	Started     time.Time      `json:"started"`
	Duration    time.Duration  `json:"duration_ns"`
	Steps       []StepResult   `json:"steps"`
	Logs        []string       `json:"logs,omitempty"`   // node logs, relative to the run directory
	Trace       string         `json:"frames,omitempty"` // the scripted peers' frame trace, relative to the run directory
	Nodes       []NodeEvidence `json:"nodes,omitempty"`
	partLeftOut bool           // not run: the node leaves out the scenario's part
	index       int
}

// NodeEvidence is how one node of a scenario was started: enough to start it again by hand.
type NodeEvidence struct {
	Label  string         `json:"label"`
	Name   string         `json:"name"`
	Admin  string         `json:"admin"`
	Launch harness.Launch `json:"launch"`
	Log    string         `json:"log"` // relative to the run directory
}

// StepResult is one step's outcome, in the words of cucumber's formats: passed, failed,
// skipped, undefined, pending or ambiguous.
type StepResult struct {
	Keyword  string        `json:"keyword"`
	Text     string        `json:"text"`
	Line     int           `json:"line"`
	Status   string        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
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
	Implementation string            `json:"implementation"`
	NodeName       string            `json:"node_implementation"` // as GET /v1/node reports it
	NodeVersion    string            `json:"node_version"`
	Backend        string            `json:"backend"`
	SpecVersion    string            `json:"spec_version"`
	Seed           int64             `json:"seed"`
	Tags           string            `json:"tags,omitempty"`
	Started        time.Time         `json:"started"`
	Duration       time.Duration     `json:"duration_ns"`
	KnownFailures  []string          `json:"known_failures,omitempty"`
	Interrupted    bool              `json:"interrupted"` // a partial run: some scenarios never ran
	Profile        []string          `json:"profile"`     // the parts the node implements, as the preflight learnt
	LeftOut        map[string]string `json:"left_out"`    // the parts it leaves out, and how that was learnt
	NoScenario     []string          `json:"rules_without_scenario"`
	Rules          []RuleResult      `json:"rules"`
	Scenarios      []ScenarioResult  `json:"scenarios"`
	Dir            string            `json:"-"`
	specText       string            // SPEC.md as the run read it, for spec.html
}

// ProfileName is the profile as people write it: "core + consensus".
func (r *Result) ProfileName() string { return strings.Join(r.Profile, " + ") }

// MustBlocked counts MUST rules that a failed scenario was to judge but never reached.
func (r *Result) MustBlocked() int { return r.Count("MUST", Blocked) }

// NotCertified reports whether the run found a MUST rule broken or left one blocked: either
// way the node cannot be certified, and sskit exits with 1.
func (r *Result) NotCertified() bool { return r.MustFailures() > 0 || r.MustBlocked() > 0 }

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

// UsageError says the options cannot make a run: a bad backend, a TAGS expression that does not
// parse or selects nothing. Nothing ran. sskit exits with 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// PreflightError says the kit could not run the node at all: it did not start, never became
// ready, or its admin API did not answer GET /v1/node. No scenario ran. sskit exits with 3.
type PreflightError struct {
	Err error
	Dir string // the run directory, holding the preflight node's log
}

func (e *PreflightError) Error() string {
	msg := "preflight: " + e.Err.Error() + "\nNo scenario ran: the node must start and answer before its rules can be checked."
	if logs, _ := filepath.Glob(filepath.Join(e.Dir, "logs", "preflight", "*.log")); len(logs) > 0 {
		msg += " The node's log: " + strings.Join(logs, ", ")
	}
	return msg
}
func (e *PreflightError) Unwrap() error { return e.Err }

// Backends are the backends a run may use.
var Backends = []string{"process", "docker"}

// Selection is what a run's options select: the spec, every declared scenario and the chosen ones.
type Selection struct {
	Spec     *Spec
	Filter   *TagFilter
	Declared []Scenario
	Selected []Scenario
}

// Select parses the spec and the features and applies the TAGS expression, without starting
// anything. Errors in the options are *UsageError.
func Select(opts Options) (*Selection, error) {
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
	filter, err := ParseTags(opts.Tags)
	if err != nil {
		return nil, &UsageError{err}
	}
	selected := declared
	if !filter.Empty() {
		if selected, err = filter.Check(spec, declared); err != nil {
			return nil, &UsageError{err}
		}
	}
	return &Selection{Spec: spec, Filter: filter, Declared: declared, Selected: selected}, nil
}

// Run runs the suite once and writes its reports. It returns an error only when the suite could
// not run (*UsageError, *PreflightError, or an I/O error); failed rules are in the Result. When
// ctx ends early the scenarios still to run are recorded as not run, and the reports, marked
// as a partial run, are written all the same.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Backend == "" {
		opts.Backend = "process"
	}
	if !slices.Contains(Backends, opts.Backend) {
		return nil, &UsageError{fmt.Errorf("unknown backend %q (want %s)", opts.Backend, strings.Join(Backends, " or "))}
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	if opts.Concurrency < 0 {
		return nil, &UsageError{fmt.Errorf("concurrency %d: want at least 1", opts.Concurrency)}
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	sel, err := Select(opts)
	if err != nil {
		return nil, err
	}
	spec := sel.Spec
	res := &Result{
		Implementation: opts.Impl.Name, Backend: opts.Backend, SpecVersion: spec.Version,
		Seed: opts.Seed, Tags: sel.Filter.String(), Started: time.Now().UTC(), specText: spec.Text,
	}
	res.Dir = filepath.Join(opts.ResultsDir, safeName(opts.Impl.Name), res.Started.Format("20060102T150405Z"))
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Progress, "sskit conformance: %s on the %s backend, spec version %s, seed %d\n", opts.Impl.Name, opts.Backend, spec.Version, opts.Seed)
	fmt.Fprintf(opts.Progress, "sskit conformance: results in %s\n", res.Dir)

	s := &suiteRun{opts: opts, res: res, declared: sel.Declared, total: len(sel.Selected), ctx: ctx, spec: spec, leftOut: map[string]string{}}
	if !opts.SkipPreflight {
		if err := s.preflight(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &PreflightError{Err: err, Dir: res.Dir}
		}
	}
	res.LeftOut = s.leftOut
	for _, p := range spec.Parts {
		if _, out := s.leftOut[p.Name]; !out {
			res.Profile = append(res.Profile, p.Name)
		}
	}
	skipped := 0
	for _, sc := range sel.Selected {
		if _, out := s.leftOut[spec.ScenarioPart(sc)]; out {
			skipped++
		}
	}
	fmt.Fprintf(opts.Progress, "sskit conformance: profile %s", res.ProfileName())
	if len(s.leftOut) > 0 {
		fmt.Fprintf(opts.Progress, "; %d scenarios of the parts left out are reported unsupported without running", skipped)
	}
	alone := 0
	for _, sc := range sel.Selected {
		if slices.Contains(sc.Tags, AloneTag) {
			alone++
		}
	}
	fmt.Fprintf(opts.Progress, "\nsskit conformance: running %d scenarios, %d at a time", len(sel.Selected)-skipped, opts.Concurrency)
	if alone > 0 {
		fmt.Fprintf(opts.Progress, "; the %d tagged %s run last, one at a time", alone, AloneTag)
	}
	fmt.Fprintln(opts.Progress)
	// An interrupt ends the scenarios in flight at once: their clusters close under them, and the
	// scenarios not started yet are skipped (initScenario). Only the caller, which owns the
	// process, may close every cluster, so this happens only when it asked for it.
	if opts.CloseOnCancel {
		defer context.AfterFunc(ctx, harness.CloseAll)()
	}
	features, err := fs.Sub(opts.Suite, ".")
	if err != nil {
		return nil, err
	}
	// Two passes: the scenarios tagged @alone measure the node's memory and latency under load,
	// so they run after all the others, one at a time, with nothing else on the machine's cores.
	for _, pass := range []struct {
		tag         string
		concurrency int
	}{{"~" + AloneTag, opts.Concurrency}, {AloneTag, 1}} {
		if ctx.Err() != nil || opts.FailFast && s.failed() {
			break
		}
		tags := pass.tag
		if !sel.Filter.Empty() {
			tags = sel.Filter.String() + " && " + pass.tag
		}
		suite := godog.TestSuite{
			Name:                "sskit",
			ScenarioInitializer: s.initScenario,
			Options: &godog.Options{
				// sskit writes every report from its own results (writeReports); godog's output is unused.
				Format: "progress", Output: io.Discard, Paths: []string{"features"}, FS: features, Tags: tags,
				Strict: true, Randomize: opts.Seed, Concurrency: pass.concurrency, NoColors: true,
				DefaultContext: ctx, StopOnFailure: opts.FailFast,
			},
		}
		suite.Run()
	}
	res.Duration = time.Since(res.Started)
	res.Interrupted = ctx.Err() != nil
	sort.SliceStable(res.Scenarios, func(i, j int) bool {
		a, b := res.Scenarios[i], res.Scenarios[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.index < b.index
	})
	res.Rules = verdicts(spec, res.Scenarios, opts.KnownFailures, s.leftOut)
	res.NoScenario = rulesWithoutScenario(spec, sel.Declared)
	for id := range opts.KnownFailures {
		res.KnownFailures = append(res.KnownFailures, id)
	}
	sort.Strings(res.KnownFailures)
	if err := writeReports(res); err != nil {
		return res, err
	}
	res.WriteSummary(opts.Progress)
	fmt.Fprintf(opts.Progress, "sskit conformance: report %s\n", filepath.Join(res.Dir, "report.html"))
	return res, nil
}

// AloneTag marks the scenarios that run after all the others, one at a time: they measure the
// node under load, and a scenario running beside them would skew the figures and be skewed.
const AloneTag = "@alone"

// failed reports whether a scenario has failed so far.
func (s *suiteRun) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.res.Scenarios, func(r ScenarioResult) bool { return r.Status == Failed })
}

// rulesWithoutScenario lists the rules that no declared scenario checks, whatever TAGS chose.
func rulesWithoutScenario(spec *Spec, declared []Scenario) []string {
	covered := map[string]bool{}
	for _, sc := range declared {
		for _, id := range sc.Rules {
			covered[id] = true
		}
	}
	var out []string
	for _, r := range spec.Rules {
		if !covered[r.ID] {
			out = append(out, r.ID)
		}
	}
	return out
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "-"), "-")
	if s == "" {
		return "node"
	}
	return s
}

// verdicts decides each rule from the scenarios that check it. A failed scenario fails the rules
// it broke (ScenarioResult.Broke), which may include a rule it is not tagged with, and blocks the
// other rules it is tagged with; a failure in setup blocks them all. A failure makes a rule fail
// (or a known failure when listed) whatever else happened; otherwise blocked beats unsupported,
// and a rule passes when at least one scenario passed it.
//
// Every rule of a part the node leaves out is unsupported, whether or not a scenario checks it.
func verdicts(spec *Spec, scenarios []ScenarioResult, known map[string]bool, leftOut map[string]string) []RuleResult {
	rank := map[Status]int{Untested: 0, Passed: 1, Unsupported: 2, Blocked: 3, Failed: 4}
	var out []RuleResult
	for _, r := range spec.Rules {
		rr := RuleResult{Rule: r, Status: Untested}
		if _, out := leftOut[r.Part]; out {
			rr.Status = Unsupported
		}
		for i, sc := range scenarios {
			tagged, broke := slices.Contains(sc.Rules, r.ID), slices.Contains(sc.Broke, r.ID)
			if !tagged && !broke {
				continue
			}
			rr.Scenarios = append(rr.Scenarios, i)
			st := sc.Status
			switch {
			case sc.Status == Failed && broke:
				st = Failed
			case sc.Status == Failed:
				st = Blocked
			case sc.Status != Passed && sc.Status != Unsupported:
				continue // not run
			}
			if rank[st] > rank[rr.Status] {
				rr.Status = st
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

	ctx     context.Context // the run's: once it ends, no scenario starts
	spec    *Spec
	leftOut map[string]string // parts the node leaves out, and how the harness learnt it

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
	if r.Status == NotRun || r.partLeftOut {
		return // interrupted, or of a part left out: the summary counts them; a line each would bury the rest
	}
	counter := fmt.Sprintf("[%*d/%d]", len(fmt.Sprint(s.total)), s.done, s.total)
	line := fmt.Sprintf("%s %-11s %s  (%s, %v)", counter, strings.ToUpper(string(r.Status)), r.Title(), strings.Join(r.Rules, " "), r.Duration.Round(time.Millisecond))
	if r.Status == Failed {
		switch {
		case r.FailedInSetup:
			line += "\n        in setup: its rules are not judged"
		case !slices.Equal(r.Broke, r.Rules):
			line += "\n        broke: " + strings.Join(r.Broke, " ") + " (the scenario's other rules are not judged)"
		}
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
