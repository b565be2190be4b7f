package conformance

import (
	"fmt"
	"sort"
	"strings"
)

// TagFilter is a parsed TAGS expression in godog's syntax: clauses joined by "&&" must all hold,
// and a clause holds when any of its comma-separated terms does; a term is a tag, or "~" and a
// tag for its absence. "@must && ~@TRN-3,@ADM-4" is (@must) and (not @TRN-3 or @ADM-4).
//
// The kit parses the expression itself, before godog sees it, so that a malformed expression is
// a usage error with a message rather than a panic inside godog's filter, and so that a tag no
// scenario carries (a typo) is caught instead of silently selecting nothing.
type TagFilter struct {
	expr    string
	clauses [][]tagTerm
}

type tagTerm struct {
	tag string // with its "@"
	not bool
}

// ParseTags parses a TAGS expression. The empty expression selects everything.
func ParseTags(expr string) (*TagFilter, error) {
	f := &TagFilter{expr: strings.TrimSpace(expr)}
	if f.expr == "" {
		return f, nil
	}
	for ci, clause := range strings.Split(f.expr, "&&") {
		var terms []tagTerm
		for ti, raw := range strings.Split(clause, ",") {
			term := strings.TrimSpace(raw)
			where := fmt.Sprintf("term %d of clause %d", ti+1, ci+1)
			if term == "" {
				return nil, fmt.Errorf("TAGS %q: %s is empty (a stray \"&&\" or \",\"?)", expr, where)
			}
			t := tagTerm{}
			if rest, ok := strings.CutPrefix(term, "~"); ok {
				t.not, term = true, strings.TrimSpace(rest)
			}
			if !strings.HasPrefix(term, "@") {
				term = "@" + term // godog accepts tags without their "@"; so do we
			}
			name := term[1:]
			if name == "" || strings.ContainsAny(name, "@~()!|& \t") {
				return nil, fmt.Errorf("TAGS %q: %s, %q, is not a tag (write @TAG or ~@TAG, joined by \",\" for or and \"&&\" for and; parentheses are not supported)", expr, where, strings.TrimSpace(raw))
			}
			t.tag = term
			terms = append(terms, t)
		}
		f.clauses = append(f.clauses, terms)
	}
	return f, nil
}

// String is the expression in the form godog's own filter reads, with every tag's "@".
func (f *TagFilter) String() string {
	var clauses []string
	for _, c := range f.clauses {
		var terms []string
		for _, t := range c {
			if t.not {
				terms = append(terms, "~"+t.tag)
			} else {
				terms = append(terms, t.tag)
			}
		}
		clauses = append(clauses, strings.Join(terms, ","))
	}
	return strings.Join(clauses, " && ")
}

// Empty reports whether the filter selects everything.
func (f *TagFilter) Empty() bool { return len(f.clauses) == 0 }

// Match reports whether a scenario with these tags is selected.
func (f *TagFilter) Match(tags []string) bool {
	has := func(tag string) bool {
		for _, t := range tags {
			if t == tag {
				return true
			}
		}
		return false
	}
	for _, c := range f.clauses {
		ok := false
		for _, t := range c {
			if has(t.tag) != t.not {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Check makes sure every tag of the filter is one a scenario carries or a rule of the spec, and
// that the filter selects at least one scenario. It returns the selected scenarios.
func (f *TagFilter) Check(spec *Spec, scenarios []Scenario) ([]Scenario, error) {
	known := map[string]bool{}
	for _, sc := range scenarios {
		for _, t := range sc.Tags {
			known[t] = true
		}
	}
	for _, c := range f.clauses {
		for _, t := range c {
			if known[t.tag] {
				continue
			}
			if _, ok := spec.Rule(t.tag[1:]); ok {
				continue // a rule with no scenario: the selection below says so
			}
			msg := fmt.Sprintf("TAGS %q: no scenario is tagged %s and SPEC.md has no rule %s", f.expr, t.tag, t.tag[1:])
			if near := nearestTag(t.tag, known); near != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", near)
			}
			return nil, fmt.Errorf("%s", msg)
		}
	}
	var selected []Scenario
	for _, sc := range scenarios {
		if f.Match(sc.Tags) {
			selected = append(selected, sc)
		}
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("TAGS %q selects no scenario (sskit conformance --list shows what a selection runs)", f.expr)
	}
	return selected, nil
}

// nearestTag is the known tag closest to tag by edit distance, if it is close enough to be a typo.
func nearestTag(tag string, known map[string]bool) string {
	var names []string
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestDist := "", 3
	for _, k := range names {
		if d := editDistance(strings.ToUpper(tag), strings.ToUpper(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
