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
	"sort"
	"strings"

	gherkin "github.com/cucumber/gherkin/go/v26"
	messages "github.com/cucumber/messages/go/v21"
)

// Rule is one normative statement of SPEC.md.
type Rule struct {
	ID      string
	Level   string // MUST or SHOULD
	Text    string
	Section string
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
	byID    map[string]Rule
}

// Rule returns the rule with id.
func (s *Spec) Rule(id string) (Rule, bool) {
	r, ok := s.byID[id]
	return r, ok
}

// ParseSpec reads the rules of SPEC.md. A rule ID given twice is an error.
func ParseSpec(text string) (*Spec, error) {
	s := &Spec{byID: map[string]Rule{}}
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
	return s, nil
}

// Scenario is one scenario (one example row for outlines) as the features declare it.
type Scenario struct {
	Name    string
	Variant string // "column=value, ..." of the example row, for outlines
	File    string
	Rules   []string // rule IDs from its tags
	Level   string   // "must" or "should" from its tags
	Tags    []string
	key     string // matches the pickle godog runs
	index   int    // position in its file
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

// exampleRows maps every example row's id to "column=value, ..." text.
func exampleRows(doc *messages.GherkinDocument) map[string]string {
	rows := map[string]string{}
	if doc.Feature == nil {
		return rows
	}
	for _, child := range doc.Feature.Children {
		if child.Scenario == nil {
			continue
		}
		for _, ex := range child.Scenario.Examples {
			if ex.TableHeader == nil {
				continue
			}
			for _, row := range ex.TableBody {
				var parts []string
				for i, cell := range row.Cells {
					parts = append(parts, ex.TableHeader.Cells[i].Value+"="+cell.Value)
				}
				rows[row.Id] = strings.Join(parts, ", ")
			}
		}
	}
	return rows
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
		rows := exampleRows(doc)
		for i, p := range gherkin.Pickles(*doc, path, ids.NewId) {
			sc := Scenario{Name: p.Name, File: path, key: pickleKey(path, p.Name, p.Steps), index: i}
			if len(p.AstNodeIds) > 1 {
				sc.Variant = rows[p.AstNodeIds[1]]
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
		for _, id := range sc.Rules {
			r, ok := spec.Rule(id)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s checks @%s, which SPEC.md does not define", where, id))
				continue
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
