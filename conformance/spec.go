// Package conformance runs the sskit conformance suite: the Gherkin features in features/, whose
// scenarios are tagged with the SPEC.md rules they check, against any implementation started
// through the harness. It maps every rule to a verdict and writes the reports a person reads
// (Markdown and HTML) and the ones CI reads (JUnit XML and cucumber JSON).
package conformance

import (
	"bufio"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v26"
	messages "github.com/cucumber/messages/go/v21"
)

// Rule is one normative statement of SPEC.md.
type Rule struct {
	ID      string `json:"id"`
	Level   string `json:"level"` // MUST or SHOULD
	Text    string `json:"text"`
	Section string `json:"section"`
	Part    string `json:"part"` // core, consensus, gossip or sections (SPEC.md "Parts and profiles")
}

// Part is one part of the spec: the unit a node implements or leaves out.
type Part struct {
	Name      string
	DependsOn []string
	Sections  []string // section numbers
	Rules     []string // rules of other sections that belong to this part
	Endpoints []string // "METHOD /path"; the first GET is the one a harness asks (ADM-7)
}

// Probe is the endpoint asked to learn whether a node implements the part: 501 means it does not.
func (p Part) Probe() string {
	for _, e := range p.Endpoints {
		if strings.HasPrefix(e, "GET ") {
			return strings.TrimPrefix(e, "GET ")
		}
	}
	return ""
}

// Must reports whether breaking the rule fails certification.
func (r Rule) Must() bool { return r.Level == "MUST" }

var (
	ruleLine    = regexp.MustCompile(`^- \*\*([A-Z]+-[0-9]+)\*\* \((MUST|SHOULD)\) (.+)$`)
	sectionLine = regexp.MustCompile(`^## (.+)$`)
	versionLine = regexp.MustCompile(`^# .*version ([0-9.]+)`)
	ruleTag     = regexp.MustCompile(`^@([A-Z]+-[0-9]+)$`)
)

// Spec is the parsed SPEC.md.
type Spec struct {
	Version string
	Rules   []Rule
	Parts   []Part // in the table's order, each after the parts it depends on
	Text    string // the Markdown source
	byID    map[string]Rule
}

// Part returns the part called name.
func (s *Spec) Part(name string) (Part, bool) {
	for _, p := range s.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return Part{}, false
}

// Rule returns the rule with id.
func (s *Spec) Rule(id string) (Rule, bool) {
	r, ok := s.byID[id]
	return r, ok
}

// ParseSpec reads the rules of SPEC.md. A rule ID given twice is an error.
func ParseSpec(text string) (*Spec, error) {
	s := &Spec{byID: map[string]Rule{}, Text: text}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := versionLine.FindStringSubmatch(line); m != nil && s.Version == "" {
			s.Version = m[1]
		}
		if m := sectionLine.FindStringSubmatch(line); m != nil {
			section = m[1]
		}
		if m := ruleLine.FindStringSubmatch(line); m != nil {
			if _, dup := s.byID[m[1]]; dup {
				return nil, fmt.Errorf("SPEC.md: rule %s is defined twice", m[1])
			}
			r := Rule{ID: m[1], Level: m[2], Text: m[3], Section: section}
			s.Rules = append(s.Rules, r)
			s.byID[r.ID] = r
		}
	}
	if len(s.Rules) == 0 {
		return nil, fmt.Errorf("SPEC.md: no rules found")
	}
	if err := s.assignParts(); err != nil {
		return nil, err
	}
	return s, nil
}

var (
	partsHeading = regexp.MustCompile(`^#+ Parts and profiles$`)
	sectionNum   = regexp.MustCompile(`^([0-9]+)\.`)
	codeSpan     = regexp.MustCompile("`([^`]+)`")
)

// parsePartsTable reads the table of "Parts and profiles": part | depends on | sections | also
// these rules | endpoints.
func parsePartsTable(text string) ([]Part, error) {
	var parts []Part
	in := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case partsHeading.MatchString(line):
			in = true
			continue
		case !in:
			continue
		case strings.HasPrefix(line, "#"):
			return parts, nil
		case !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| part "):
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			return nil, fmt.Errorf("SPEC.md, parts table: want 5 cells in %q", line)
		}
		p := Part{Name: strings.TrimSpace(cells[0])}
		p.DependsOn = listCell(cells[1])
		p.Sections = listCell(cells[2])
		p.Rules = listCell(cells[3])
		for _, m := range codeSpan.FindAllStringSubmatch(cells[4], -1) {
			p.Endpoints = append(p.Endpoints, m[1])
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// listCell splits a table cell of comma-separated words; "—" or nothing is the empty list.
func listCell(cell string) []string {
	var out []string
	for _, f := range strings.Split(cell, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "—" && f != "-" {
			out = append(out, f)
		}
	}
	return out
}

// assignParts gives every rule its part: the part that lists it, or the part of its section.
func (s *Spec) assignParts() error {
	parts, err := parsePartsTable(s.Text)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("SPEC.md: no parts table under \"Parts and profiles\"")
	}
	s.Parts = parts
	bySection, byRule := map[string]string{}, map[string]string{}
	for i, p := range parts {
		for _, d := range p.DependsOn {
			if j := slices.IndexFunc(parts, func(q Part) bool { return q.Name == d }); j < 0 || j >= i {
				return fmt.Errorf("SPEC.md, parts table: %s depends on %q, which is not a part listed before it", p.Name, d)
			}
		}
		for _, sec := range p.Sections {
			bySection[sec] = p.Name
		}
		for _, id := range p.Rules {
			if _, ok := s.byID[id]; !ok {
				return fmt.Errorf("SPEC.md, parts table: %s lists rule %s, which the spec does not define", p.Name, id)
			}
			byRule[id] = p.Name
		}
	}
	for i, r := range s.Rules {
		part := byRule[r.ID]
		if part == "" {
			if m := sectionNum.FindStringSubmatch(r.Section); m != nil {
				part = bySection[m[1]]
			}
		}
		if part == "" {
			return fmt.Errorf("SPEC.md: rule %s (section %q) belongs to no part", r.ID, r.Section)
		}
		s.Rules[i].Part = part
		s.byID[r.ID] = s.Rules[i]
	}
	return nil
}

// EndpointPart is the part whose row in the parts table lists path, and the methods it lists.
func (s *Spec) EndpointPart(path string) (part string, methods []string) {
	for _, p := range s.Parts {
		for _, e := range p.Endpoints {
			if m, ep, ok := strings.Cut(e, " "); ok && ep == path {
				part = p.Name
				methods = append(methods, m)
			}
		}
	}
	return part, methods
}

// Closure is the parts together with every part they depend on, in the spec's order.
func (s *Spec) Closure(names []string) []string {
	want := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if want[n] {
			return
		}
		want[n] = true
		if p, ok := s.Part(n); ok {
			for _, d := range p.DependsOn {
				add(d)
			}
		}
	}
	for _, n := range names {
		add(n)
	}
	var out []string
	for _, p := range s.Parts {
		if want[p.Name] {
			out = append(out, p.Name)
		}
	}
	return out
}

// ScenarioPart is the part a scenario belongs to: that of its rules, which must all be of one
// part (CoverageProblems says when they are not).
func (s *Spec) ScenarioPart(sc Scenario) string {
	for _, id := range sc.Rules {
		if r, ok := s.byID[id]; ok {
			return r.Part
		}
	}
	return ""
}

// Scenario is one scenario (one example row for outlines) as the features declare it.
type Scenario struct {
	Name    string
	Variant string // "column=value, ..." of the example row, for outlines
	File    string
	Feature string // the feature's name
	Line    int    // line of the scenario (of the example row, for outlines)
	Steps   []DeclaredStep
	Rules   []string // rule IDs from its tags
	Level   string   // "must" or "should" from its tags
	Tags    []string
	key     string // matches the pickle godog runs
	index   int    // position in its file
}

// DeclaredStep is one step of a scenario as the feature file writes it.
type DeclaredStep struct {
	Keyword string // "Given ", "When ", "Then ", "And ", "But "
	Text    string // with the example row's values filled in
	Line    int
}

// pickleKey identifies a compiled scenario by file, name and step texts (example values included).
func pickleKey(uri, name string, steps []*messages.PickleStep) string {
	var b strings.Builder
	b.WriteString(uri + "\x00" + name)
	for _, st := range steps {
		b.WriteString("\x00" + st.Text)
	}
	return b.String()
}

// astIndex holds what pickles lose of the document: example rows as "column=value, ..." text
// with their lines, and every step's keyword and line, by AST node id.
type astIndex struct {
	rows     map[string]string
	rowLines map[string]int
	scenLine map[string]int
	steps    map[string]*messages.Step
}

func indexAST(doc *messages.GherkinDocument) astIndex {
	ix := astIndex{rows: map[string]string{}, rowLines: map[string]int{}, scenLine: map[string]int{}, steps: map[string]*messages.Step{}}
	if doc.Feature == nil {
		return ix
	}
	addSteps := func(steps []*messages.Step) {
		for _, st := range steps {
			ix.steps[st.Id] = st
		}
	}
	addScenario := func(sc *messages.Scenario) {
		ix.scenLine[sc.Id] = int(sc.Location.Line)
		addSteps(sc.Steps)
		for _, ex := range sc.Examples {
			if ex.TableHeader == nil {
				continue
			}
			for _, row := range ex.TableBody {
				var parts []string
				for i, cell := range row.Cells {
					parts = append(parts, ex.TableHeader.Cells[i].Value+"="+cell.Value)
				}
				ix.rows[row.Id] = strings.Join(parts, ", ")
				ix.rowLines[row.Id] = int(row.Location.Line)
			}
		}
	}
	for _, child := range doc.Feature.Children {
		switch {
		case child.Background != nil:
			addSteps(child.Background.Steps)
		case child.Scenario != nil:
			addScenario(child.Scenario)
		case child.Rule != nil:
			for _, rc := range child.Rule.Children {
				if rc.Background != nil {
					addSteps(rc.Background.Steps)
				}
				if rc.Scenario != nil {
					addScenario(rc.Scenario)
				}
			}
		}
	}
	return ix
}

// LoadScenarios compiles every feature in fsys (under dir) into scenarios with their tags,
// feature-level tags included.
func LoadScenarios(fsys fs.FS, dir string) ([]Scenario, error) {
	paths, err := fs.Glob(fsys, dir+"/*.feature")
	if err != nil {
		return nil, err
	}
	var out []Scenario
	ids := &messages.Incrementing{}
	for _, path := range paths {
		f, err := fsys.Open(path)
		if err != nil {
			return nil, err
		}
		doc, err := gherkin.ParseGherkinDocument(f, ids.NewId)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ix := indexAST(doc)
		feature := ""
		if doc.Feature != nil {
			feature = doc.Feature.Name
		}
		for i, p := range gherkin.Pickles(*doc, path, ids.NewId) {
			sc := Scenario{Name: p.Name, File: path, Feature: feature, key: pickleKey(path, p.Name, p.Steps), index: i}
			if len(p.AstNodeIds) > 0 {
				sc.Line = ix.scenLine[p.AstNodeIds[0]]
			}
			if len(p.AstNodeIds) > 1 {
				sc.Variant = ix.rows[p.AstNodeIds[1]]
				sc.Line = ix.rowLines[p.AstNodeIds[1]]
			}
			for _, ps := range p.Steps {
				ds := DeclaredStep{Text: ps.Text}
				if len(ps.AstNodeIds) > 0 {
					if st := ix.steps[ps.AstNodeIds[0]]; st != nil {
						ds.Keyword, ds.Line = st.Keyword, int(st.Location.Line)
					}
				}
				sc.Steps = append(sc.Steps, ds)
			}
			for _, t := range p.Tags {
				sc.Tags = append(sc.Tags, t.Name)
				if m := ruleTag.FindStringSubmatch(t.Name); m != nil {
					sc.Rules = append(sc.Rules, m[1])
				}
				if t.Name == "@must" || t.Name == "@should" {
					sc.Level = strings.TrimPrefix(t.Name, "@")
				}
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

// CoverageProblems lists what is wrong between the spec and the features: MUST rules that no
// scenario checks, scenarios tagged with rules the spec does not have, scenarios with no rule or
// no level, and @should scenarios that check a MUST rule.
func CoverageProblems(spec *Spec, scenarios []Scenario) []string {
	var problems []string
	covered := map[string]bool{}
	for _, sc := range scenarios {
		where := fmt.Sprintf("%s: scenario %q", sc.File, sc.Name)
		if len(sc.Rules) == 0 {
			problems = append(problems, where+" is tagged with no SPEC.md rule")
		}
		if sc.Level == "" {
			problems = append(problems, where+" is tagged neither @must nor @should")
		}
		part := spec.ScenarioPart(sc)
		for _, id := range sc.Rules {
			r, ok := spec.Rule(id)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s checks @%s, which SPEC.md does not define", where, id))
				continue
			}
			if r.Part != part {
				problems = append(problems, fmt.Sprintf("%s checks rules of two parts, %s and %s (%s): a scenario judges the rules of one part only", where, part, r.Part, id))
			}
			if r.Must() && sc.Level == "should" {
				problems = append(problems, fmt.Sprintf("%s is @should but checks MUST rule %s", where, id))
			}
			covered[id] = true
		}
	}
	var missing []string
	for _, r := range spec.Rules {
		if r.Must() && !covered[r.ID] {
			missing = append(missing, r.ID)
		}
	}
	sort.Strings(missing)
	for _, id := range missing {
		problems = append(problems, "MUST rule "+id+" has no scenario")
	}
	return problems
}
