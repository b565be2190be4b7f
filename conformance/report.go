package conformance

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// writeReports writes results.json, report.md, report.html, junit.xml and cucumber.json into the
// run directory, all from sskit's own results (so that a partial run still gets valid files), and
// points <impl>/latest at the run.
func writeReports(r *Result) error {
	if err := writeJUnit(filepath.Join(r.Dir, "junit.xml"), r, r.Interrupted); err != nil {
		return err
	}
	if err := writeCucumberJSON(filepath.Join(r.Dir, "cucumber.json"), r, r.Interrupted); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "report.md"), []byte(markdown(r)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "spec.html"), []byte(specHTML(r.specText)), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(r.Dir, "report.html"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := htmlReport.Execute(f, r); err != nil {
		return err
	}
	latest := filepath.Join(filepath.Dir(r.Dir), "latest")
	_ = os.Remove(latest)
	_ = os.Symlink(filepath.Base(r.Dir), latest)
	return nil
}

// FailedRules are the rules that failed, MUST first.
func (r *Result) FailedRules() []RuleResult { return r.rulesWith(Failed) }

// rulesWith lists the rules of status s, MUST first.
func (r *Result) rulesWith(s Status) []RuleResult {
	var must, should []RuleResult
	for _, rr := range r.Rules {
		if rr.Status == s {
			if rr.Must() {
				must = append(must, rr)
			} else {
				should = append(should, rr)
			}
		}
	}
	return append(must, should...)
}

// Verdict is the one-line outcome of the run.
func (r *Result) Verdict() string {
	switch {
	case r.Interrupted:
		return fmt.Sprintf("INTERRUPTED: a partial run (%d of %d scenarios finished, %d MUST rule(s) broken among them); no verdict", r.Finished(), len(r.Scenarios), r.MustFailures())
	case r.MustFailures() > 0 && r.MustBlocked() > 0:
		return fmt.Sprintf("FAILED: %d MUST rule(s) broken; %d more not judged, because a scenario that checks them failed before it reached them", r.MustFailures(), r.MustBlocked())
	case r.MustFailures() > 0:
		return fmt.Sprintf("FAILED: %d MUST rule(s) broken", r.MustFailures())
	case r.MustBlocked() > 0:
		return fmt.Sprintf("FAILED: no MUST rule found broken, but %d could not be judged: a scenario that checks them failed in its setup", r.MustBlocked())
	case r.Count("MUST", Known) > 0:
		return fmt.Sprintf("PASSED apart from %d known failure(s)", r.Count("MUST", Known))
	case r.Tags != "":
		return "PASSED (partial run: only scenarios tagged " + r.Tags + ")"
	case r.mustNotPassedInProfile() > 0:
		return fmt.Sprintf("PASSED what it supports; %d MUST rule(s) of %s are unsupported or untested", r.mustNotPassedInProfile(), r.ProfileName())
	case len(r.LeftOut) > 0:
		return fmt.Sprintf("PASSED: every MUST rule of %s holds (the node leaves out %s)", r.ProfileName(), strings.Join(r.LeftOutParts(), ", "))
	}
	return "PASSED: every MUST rule holds"
}

// BlockedRules lists the rules, MUST first, that a failed scenario was to judge but never reached.
func (r *Result) BlockedRules() []RuleResult { return r.rulesWith(Blocked) }

// LeftOutParts are the parts the node leaves out, in the spec's order.
func (r *Result) LeftOutParts() []string {
	var out []string
	for _, rr := range r.Rules {
		if _, left := r.LeftOut[rr.Part]; left && !slices.Contains(out, rr.Part) {
			out = append(out, rr.Part)
		}
	}
	return out
}

// mustNotPassedInProfile counts the MUST rules of the parts the node implements that did not pass.
func (r *Result) mustNotPassedInProfile() int {
	n := 0
	for _, rr := range r.Rules {
		if _, left := r.LeftOut[rr.Part]; rr.Must() && !left && rr.Status != Passed {
			n++
		}
	}
	return n
}

// Finished counts the scenarios that ran to an outcome.
func (r *Result) Finished() int {
	n := 0
	for _, sc := range r.Scenarios {
		if sc.Status != NotRun {
			n++
		}
	}
	return n
}

// SectionSummary is the verdicts of one SPEC.md section's rules.
type SectionSummary struct {
	Title string
	Rules []RuleResult
}

// Mark is the section's sign in the console summary: × when a rule failed, ✔ when every rule
// that ran passed, – when none ran.
func (s SectionSummary) Mark() string {
	ran := false
	for _, r := range s.Rules {
		switch r.Status {
		case Failed, Blocked:
			return "×"
		case Passed, Known:
			ran = true
		}
	}
	if ran {
		return "✔"
	}
	return "–"
}

// allOfPart reports whether every rule of the section belongs to part.
func (s SectionSummary) allOfPart(part string) bool {
	for _, r := range s.Rules {
		if r.Part != part {
			return false
		}
	}
	return true
}

// Sections groups the rules by SPEC.md section, in the spec's order.
func (r *Result) Sections() []SectionSummary {
	var out []SectionSummary
	for _, rr := range r.Rules {
		if len(out) == 0 || out[len(out)-1].Title != rr.Section {
			out = append(out, SectionSummary{Title: rr.Section})
		}
		out[len(out)-1].Rules = append(out[len(out)-1].Rules, rr)
	}
	return out
}

// ruleSign is a rule's sign in the console: ✔ pass, × fail, and a word for the rest.
func ruleSign(s Status) string {
	switch s {
	case Passed:
		return "✔"
	case Failed:
		return "×"
	case Blocked:
		return "!"
	}
	return "·"
}

// WriteSummary prints the run's outcome for a terminal, grouped by SPEC.md section (the h2spec
// habit): a line per section with its mark and counts, then every rule that did not pass with
// why, so that nothing unchecked hides behind a count.
func (r *Result) WriteSummary(w io.Writer) {
	noScenario := map[string]bool{}
	for _, id := range r.NoScenario {
		noScenario[id] = true
	}
	fmt.Fprintln(w)
	for _, sec := range r.Sections() {
		if part := sec.Rules[0].Part; r.LeftOut[part] != "" && sec.allOfPart(part) {
			fmt.Fprintf(w, "– %s: %d unsupported (the node leaves out %s)\n", sec.Title, len(sec.Rules), part)
			continue
		}
		counts := map[Status]int{}
		for _, rr := range sec.Rules {
			counts[rr.Status]++
		}
		var parts []string
		for _, st := range []Status{Passed, Failed, Blocked, Known, Unsupported, Untested} {
			if counts[st] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
			}
		}
		if !r.Interrupted && r.Tags != "" && counts[Untested] > 0 {
			parts[len(parts)-1] += " (TAGS left out those with a scenario)"
		}
		fmt.Fprintf(w, "%s %s: %s\n", sec.Mark(), sec.Title, strings.Join(parts, ", "))
		for _, rr := range sec.Rules {
			why := ""
			switch {
			case rr.Status == Passed:
				continue
			case r.LeftOut[rr.Part] != "":
				why = "the node leaves out " + rr.Part
			case rr.Status == Untested && noScenario[rr.ID]:
				why = "no scenario checks it yet"
			case rr.Status == Untested && r.Interrupted:
				why = "its scenarios did not run (interrupted)"
			case rr.Status == Untested:
				continue // TAGS left it out: the section line counts it; a line each would bury the rest
			case rr.Status == Unsupported:
				why = "the node said it does not implement it"
				for _, i := range rr.Scenarios {
					if sc := r.Scenarios[i]; sc.Status == Unsupported && sc.Error != "" {
						why = firstLine(sc.Error)
						break
					}
				}
			case rr.Status == Failed || rr.Status == Known:
				for _, i := range rr.Scenarios {
					if sc := r.Scenarios[i]; sc.Status == Failed && slices.Contains(sc.Broke, rr.ID) {
						why = "failed in " + sc.Title()
						break
					}
				}
			case rr.Status == Blocked:
				why = blockedWhy(r, rr)
			}
			fmt.Fprintf(w, "    %s %-7s %-6s %-11s %s\n", ruleSign(rr.Status), rr.ID, rr.Level, rr.Status, why)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%d of %d scenarios finished in %v. MUST rules: %s. SHOULD rules: %s.\n",
		r.Finished(), len(r.Scenarios), r.Duration.Round(time.Millisecond), r.levelCounts("MUST"), r.levelCounts("SHOULD"))
	if len(r.NoScenario) > 0 {
		fmt.Fprintf(w, "Rules no scenario checks yet: %s.\n", strings.Join(r.NoScenario, ", "))
	}
}

// blockedWhy says which failed scenario kept a rule from being judged, and how.
func blockedWhy(r *Result, rr RuleResult) string {
	for _, i := range rr.Scenarios {
		sc := r.Scenarios[i]
		switch {
		case sc.Status != Failed || slices.Contains(sc.Broke, rr.ID):
		case sc.FailedInSetup:
			return "not judged: " + sc.Title() + " failed in its setup"
		default:
			return "not judged: " + sc.Title() + " failed first on " + strings.Join(sc.Broke, " ")
		}
	}
	return "not judged"
}

func (r *Result) levelCounts(level string) string {
	var parts []string
	for _, st := range []Status{Passed, Failed, Blocked, Known, Unsupported, Untested} {
		if n := r.Count(level, st); n > 0 || st == Passed || st == Failed {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	return strings.Join(parts, ", ")
}

func leftOutNote(r *Result) string {
	if parts := r.LeftOutParts(); len(parts) > 0 {
		return " (left out: " + strings.Join(parts, ", ") + ")"
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func markdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# sskit conformance report: %s\n\n", r.Implementation)
	fmt.Fprintf(&b, "**%s**\n\n", r.Verdict())
	fmt.Fprintf(&b, "| | |\n|---|---|\n| profile | %s%s |\n", r.ProfileName(), leftOutNote(r))
	fmt.Fprintf(&b, "| implementation | %s %s |\n| backend | %s |\n| spec version | %s |\n| seed | %d |\n| started | %s |\n| suite time | %v |\n",
		r.Implementation, r.NodeVersion, r.Backend, r.SpecVersion, r.Seed, r.Started.Format(time.RFC3339), r.Duration.Round(time.Millisecond))
	if r.Tags != "" {
		fmt.Fprintf(&b, "| tags | `%s` |\n", r.Tags)
	}
	fmt.Fprintf(&b, "\nMUST rules: %s. SHOULD rules: %s.\n\n", r.levelCounts("MUST"), r.levelCounts("SHOULD"))
	if len(r.KnownFailures) > 0 {
		fmt.Fprintf(&b, "Known failures (listed, not counted): %s.", strings.Join(r.KnownFailures, ", "))
		if now := r.NowPassing(); len(now) > 0 {
			fmt.Fprintf(&b, " **Now passing, remove from the list: %s.**", strings.Join(now, ", "))
		}
		b.WriteString("\n\n")
	}
	b.WriteString("## Rules\n\n| rule | level | verdict | scenarios |\n|---|---|---|---|\n")
	for _, rr := range r.Rules {
		fmt.Fprintf(&b, "| %s | %s | %s | %d |\n", rr.ID, rr.Level, rr.Status, len(rr.Scenarios))
	}
	var failed []ScenarioResult
	for _, sc := range r.Scenarios {
		if sc.Status == Failed {
			failed = append(failed, sc)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n## Failures\n")
		for _, sc := range failed {
			fmt.Fprintf(&b, "\n### %s\n\n", sc.Title())
			if sc.FailedInSetup {
				b.WriteString("Failed in its setup (a Given step): the rules below were not judged.\n\n")
			} else if len(sc.Broke) < len(sc.Rules) {
				fmt.Fprintf(&b, "The failing step found %s broken; the scenario's other rules were not judged.\n\n", strings.Join(sc.Broke, " "))
			}
			for _, id := range sc.Rules {
				for _, rr := range r.Rules {
					if rr.ID == id {
						fmt.Fprintf(&b, "> **%s** (%s) %s\n>\n", rr.ID, rr.Level, rr.Text)
					}
				}
			}
			fmt.Fprintf(&b, "\n- file: `%s`\n- failing step: `%s`\n- what happened: %s\n", sc.File, sc.FailedStep, strings.ReplaceAll(sc.Error, "\n", " "))
			for _, l := range sc.Logs {
				fmt.Fprintf(&b, "- node log: [%s](%s)\n", l, l)
			}
			if sc.Trace != "" {
				fmt.Fprintf(&b, "- frames on the wire: [%s](%s)\n", sc.Trace, sc.Trace)
			}
		}
	}
	b.WriteString("\n## Scenarios\n\n| verdict | scenario | rules | time |\n|---|---|---|---|\n")
	for _, sc := range r.Scenarios {
		fmt.Fprintf(&b, "| %s | %s | %s | %v |\n", sc.Status, sc.Title(), strings.Join(sc.Rules, " "), sc.Duration.Round(time.Millisecond))
	}
	return b.String()
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"join":     strings.Join,
	"round":    func(d time.Duration) time.Duration { return d.Round(time.Millisecond) },
	"lower":    func(s Status) string { return strings.ReplaceAll(string(s), " ", "-") },
	"scenario": func(r *Result, i int) ScenarioResult { return r.Scenarios[i] },
	"rfc3339":  func(t time.Time) string { return t.Format(time.RFC3339) },
	"code":     codeSpans,
	"anchor":   sectionAnchor,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>sskit conformance: {{.Implementation}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1d2330;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}
.verdict{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:6px;display:inline-block}
.ok{background:#e3f6e8;color:#145a2a}.bad{background:#fde7e7;color:#8a1c1c}.partial{background:#fff4d6;color:#6b4a00}
table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{background:#f4f6f9;font-weight:600}
.meta td:first-child{color:#5a6275;width:9em}
.pass{color:#145a2a;font-weight:600}.fail{color:#8a1c1c;font-weight:700}
.unsupported{color:#8a5a00;font-weight:600}.blocked{color:#a8420a;font-weight:700}.untested,.not-run{color:#7a8090}.known{color:#8a5a00;font-weight:700}
.level{font-size:.8em;color:#5a6275}
details{margin:.2em 0}summary{cursor:pointer}
blockquote{margin:.4em 0;padding:.3em .8em;border-left:3px solid #c9ced8;color:#333}
pre{white-space:pre-wrap;background:#f7f8fa;padding:.6em;border-radius:4px;margin:.3em 0}
code{font-size:.92em}
nav ul{columns:2;list-style:none;padding-left:0}nav li{margin:.15em 0}
.filter{margin:1em 0}.filter label{margin-right:1em;cursor:pointer}
.steps td{padding:.15em .5em;border:0;font-size:.9em}
body.only-fail tr.rule:not(.s-fail):not(.s-known):not(.s-blocked),body.only-fail tr.section:not(.has-fail):not(.has-blocked){display:none}
body.only-unsupported tr.rule:not(.s-unsupported),body.only-unsupported tr.section:not(.has-unsupported){display:none}
body.only-untested tr.rule:not(.s-untested),body.only-untested tr.section:not(.has-untested){display:none}
</style></head><body>
<h1>sskit conformance report: {{.Implementation}}</h1>
<p class="verdict {{if .Interrupted}}partial{{else if .NotCertified}}bad{{else}}ok{{end}}">{{.Verdict}}</p>
<table class="meta">
<tr><td>implementation</td><td>{{.Implementation}}{{if .NodeName}} (the node says: {{.NodeName}} {{.NodeVersion}}){{end}}</td></tr>
<tr><td>profile</td><td><b>{{.ProfileName}}</b>{{with .LeftOutParts}} — the node leaves out {{join . ", "}}: their rules are unsupported and their scenarios did not run{{end}}</td></tr>
<tr><td>backend</td><td>{{.Backend}}</td></tr>
<tr><td>spec version</td><td>{{.SpecVersion}} (<a href="spec.html">the rules of this version</a>)</td></tr>
<tr><td>seed</td><td>{{.Seed}}</td></tr>
<tr><td>started</td><td>{{rfc3339 .Started}}</td></tr>
<tr><td>suite time</td><td>{{round .Duration}}</td></tr>
{{if .Tags}}<tr><td>tags</td><td><code>{{.Tags}}</code></td></tr>{{end}}
{{if .Interrupted}}<tr><td>partial run</td><td>interrupted: {{.Finished}} of {{len .Scenarios}} scenarios finished; the rest are <span class="not-run">not run</span></td></tr>{{end}}
{{if .KnownFailures}}<tr><td>known failures</td><td>{{join .KnownFailures ", "}} (shown as <span class="known">known</span>, not counted){{with .NowPassing}}<br><b>now passing, remove from the list: {{join . ", "}}</b>{{end}}</td></tr>{{end}}
<tr><td>MUST rules</td><td>{{.N "MUST" "pass"}} pass · {{.N "MUST" "fail"}} fail · {{with .N "MUST" "blocked"}}{{.}} blocked (not judged) · {{end}}{{.N "MUST" "unsupported"}} unsupported · {{.N "MUST" "untested"}} untested</td></tr>
<tr><td>SHOULD rules</td><td>{{.N "SHOULD" "pass"}} pass · {{.N "SHOULD" "fail"}} fail · {{.N "SHOULD" "unsupported"}} unsupported · {{.N "SHOULD" "untested"}} untested</td></tr>
{{with .NoScenario}}<tr><td>no scenario yet</td><td>{{join . ", "}}</td></tr>{{end}}
</table>
{{with .FailedRules}}<h2>Broken rules</h2>
<p>{{range $i, $r := .}}{{if $i}} · {{end}}<a class="fail" href="#{{$r.ID}}">{{$r.ID}}</a> ({{$r.Level}}){{end}}</p>{{end}}
{{with .BlockedRules}}<h2>Rules not judged</h2>
<p>A scenario that checks them failed before it reached them: in its setup, or on another rule first.</p>
<p>{{range $i, $r := .}}{{if $i}} · {{end}}<a class="blocked" href="#{{$r.ID}}">{{$r.ID}}</a> ({{$r.Level}}){{end}}</p>{{end}}
<nav><h2>Contents</h2><ul>
{{range .Sections}}<li>{{.Mark}} <a href="#{{anchor .Title}}">{{.Title}}</a> <span class="level">{{len .Rules}} rules</span></li>
{{end}}</ul></nav>
<h2>Rules</h2>
<div class="filter">Show:
<label><input type="radio" name="show" value="" checked> all</label>
<label><input type="radio" name="show" value="only-fail"> failed</label>
<label><input type="radio" name="show" value="only-unsupported"> unsupported</label>
<label><input type="radio" name="show" value="only-untested"> untested</label></div>
<table>
<tr><th>rule</th><th>verdict</th><th>requirement and the scenarios that check it</th></tr>
{{range .Sections}}<tr class="section{{range .Rules}} has-{{lower .Status}}{{end}}" id="{{anchor .Title}}"><th colspan="3">{{.Mark}} {{.Title}}</th></tr>
{{range .Rules}}
<tr class="rule s-{{lower .Status}}" id="{{.ID}}"><td><b><a href="spec.html#{{.ID}}" title="this rule in the spec">{{.ID}}</a></b><br><span class="level">{{.Level}}</span></td>
<td class="{{lower .Status}}">{{.Status}}</td>
<td><blockquote>{{code .Text}}</blockquote>
{{range .Scenarios}}{{with scenario $ .}}
<details {{if eq .Status "fail"}}open{{end}}><summary><span class="{{lower .Status}}">{{.Status}}</span> {{.Title}} <span class="level">({{round .Duration}})</span></summary>
<div>file <code>{{.File}}:{{.Line}}</code>{{if .FailedStep}}<br>failing step{{if .FailedInSetup}} (in the setup: this scenario's rules were not judged){{else}}, which found {{join .Broke " "}} broken{{end}}: <code>{{.FailedStep}}</code>{{end}}
{{if .Error}}<pre>{{.Error}}</pre>{{end}}
{{if .Steps}}<table class="steps">{{range .Steps}}<tr><td class="{{if eq .Status "passed"}}pass{{else if eq .Status "failed"}}fail{{else}}untested{{end}}">{{.Status}}</td><td>{{.Keyword}}{{.Text}}</td><td class="level">{{round .Duration}}</td></tr>{{end}}</table>{{end}}
{{if .Trace}}frames on the wire: <a href="{{.Trace}}">{{.Trace}}</a><br>{{end}}
{{range .Nodes}}<div class="level">{{.Label}}: {{if .Launch.Image}}image <code>{{.Launch.Image}}</code> {{end}}{{if .Launch.Argv}}<code>{{.Launch.CommandLine}}</code>{{end}} — admin {{.Admin}} — log <a href="{{.Log}}">{{.Log}}</a>{{with .Launch.Env}}<br>env <code>{{join . " "}}</code>{{end}}</div>{{end}}</div>
</details>{{end}}{{end}}
</td></tr>{{end}}{{end}}
</table>
<p class="level">Files beside this page: results.json, report.md, junit.xml, cucumber.json, spec.html, logs/.</p>
<script>
for (const r of document.querySelectorAll('input[name=show]')) r.addEventListener('change', e => {
  document.body.className = e.target.value;
});
</script>
</body></html>
`))

// sectionAnchor is the HTML id of a SPEC.md section: "1. Identity (ID)" becomes "sec-1".
func sectionAnchor(title string) string {
	num, _, _ := strings.Cut(title, ".")
	return "sec-" + safeName(num)
}

// codeSpans renders the spec's `code` spans as <code> and escapes everything else.
func codeSpans(s string) template.HTML {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + template.HTMLEscapeString(p) + "</code>")
			continue
		}
		if i%2 == 1 { // an unpaired backtick stays as it was
			b.WriteString("`")
		}
		b.WriteString(template.HTMLEscapeString(p))
	}
	return template.HTML(b.String())
}
