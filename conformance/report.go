package conformance

import (
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// writeReports writes results.json, report.md and report.html into the run directory (JUnit and
// cucumber JSON come from godog), and points <impl>/latest at the run.
func writeReports(r *Result) error {
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
func (r *Result) FailedRules() []RuleResult {
	var must, should []RuleResult
	for _, rr := range r.Rules {
		if rr.Status == Failed {
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
	case r.MustFailures() > 0:
		return fmt.Sprintf("FAILED: %d MUST rule(s) broken", r.MustFailures())
	case r.Count("MUST", Known) > 0:
		return fmt.Sprintf("PASSED apart from %d known failure(s)", r.Count("MUST", Known))
	case r.Tags != "":
		return "PASSED (partial run: only scenarios tagged " + r.Tags + ")"
	case r.Count("MUST", Unsupported) > 0 || r.Count("MUST", Untested) > 0:
		return "PASSED what it supports; some MUST rules are unsupported or untested"
	}
	return "PASSED: every MUST rule holds"
}

func markdown(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# sskit conformance report: %s\n\n", r.Implementation)
	fmt.Fprintf(&b, "**%s**\n\n", r.Verdict())
	fmt.Fprintf(&b, "| | |\n|---|---|\n| implementation | %s %s |\n| backend | %s |\n| spec version | %s |\n| seed | %d |\n| started | %s |\n| suite time | %v |\n",
		r.Implementation, r.NodeVersion, r.Backend, r.SpecVersion, r.Seed, r.Started.Format(time.RFC3339), r.Duration.Round(time.Millisecond))
	if r.Tags != "" {
		fmt.Fprintf(&b, "| tags | `%s` |\n", r.Tags)
	}
	fmt.Fprintf(&b, "\nMUST rules: %d pass, %d fail, %d unsupported, %d untested. SHOULD rules: %d pass, %d fail, %d untested.\n\n",
		r.Count("MUST", Passed), r.Count("MUST", Failed), r.Count("MUST", Unsupported), r.Count("MUST", Untested),
		r.Count("SHOULD", Passed), r.Count("SHOULD", Failed), r.Count("SHOULD", Untested))
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
	"lower":    func(s Status) string { return string(s) },
	"scenario": func(r *Result, i int) ScenarioResult { return r.Scenarios[i] },
	"rfc3339":  func(t time.Time) string { return t.Format(time.RFC3339) },
	"code":     codeSpans,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>sskit conformance: {{.Implementation}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1d2330;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}
.verdict{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:6px;display:inline-block}
.ok{background:#e3f6e8;color:#145a2a}.bad{background:#fde7e7;color:#8a1c1c}
table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{background:#f4f6f9;font-weight:600}
.meta td:first-child{color:#5a6275;width:9em}
.pass{color:#145a2a;font-weight:600}.fail{color:#8a1c1c;font-weight:700}
.unsupported{color:#8a5a00;font-weight:600}.untested{color:#7a8090}.known{color:#8a5a00;font-weight:700}
.level{font-size:.8em;color:#5a6275}
details{margin:.2em 0}summary{cursor:pointer}
blockquote{margin:.4em 0;padding:.3em .8em;border-left:3px solid #c9ced8;color:#333}
pre{white-space:pre-wrap;background:#f7f8fa;padding:.6em;border-radius:4px;margin:.3em 0}
code{font-size:.92em}
</style></head><body>
<h1>sskit conformance report: {{.Implementation}}</h1>
<p class="verdict {{if gt .MustFailures 0}}bad{{else}}ok{{end}}">{{.Verdict}}</p>
<table class="meta">
<tr><td>implementation</td><td>{{.Implementation}} {{.NodeVersion}}</td></tr>
<tr><td>backend</td><td>{{.Backend}}</td></tr>
<tr><td>spec version</td><td>{{.SpecVersion}}</td></tr>
<tr><td>seed</td><td>{{.Seed}}</td></tr>
<tr><td>started</td><td>{{rfc3339 .Started}}</td></tr>
<tr><td>suite time</td><td>{{round .Duration}}</td></tr>
{{if .Tags}}<tr><td>tags</td><td><code>{{.Tags}}</code></td></tr>{{end}}
{{if .KnownFailures}}<tr><td>known failures</td><td>{{join .KnownFailures ", "}} (shown as <span class="known">known</span>, not counted){{with .NowPassing}}<br><b>now passing, remove from the list: {{join . ", "}}</b>{{end}}</td></tr>{{end}}
<tr><td>MUST rules</td><td>{{.N "MUST" "pass"}} pass · {{.N "MUST" "fail"}} fail · {{.N "MUST" "unsupported"}} unsupported · {{.N "MUST" "untested"}} untested</td></tr>
<tr><td>SHOULD rules</td><td>{{.N "SHOULD" "pass"}} pass · {{.N "SHOULD" "fail"}} fail · {{.N "SHOULD" "untested"}} untested</td></tr>
</table>
{{with .FailedRules}}<h2>Broken rules</h2>
<p>{{range $i, $r := .}}{{if $i}} · {{end}}<a class="fail" href="#{{$r.ID}}">{{$r.ID}}</a> ({{$r.Level}}){{end}}</p>{{end}}
<h2>Rules</h2>
<table>
<tr><th>rule</th><th>verdict</th><th>requirement and the scenarios that check it</th></tr>
{{range .Rules}}{{$rule := .}}
<tr id="{{.ID}}"><td><b>{{.ID}}</b><br><span class="level">{{.Level}}</span></td>
<td class="{{lower .Status}}">{{.Status}}</td>
<td><blockquote>{{code .Text}}</blockquote>
{{range .Scenarios}}{{with scenario $ .}}
<details {{if eq .Status "fail"}}open{{end}}><summary><span class="{{lower .Status}}">{{.Status}}</span> {{.Title}} <span class="level">({{round .Duration}})</span></summary>
<div>file <code>{{.File}}</code>{{if .FailedStep}}<br>failing step: <code>{{.FailedStep}}</code>{{end}}
{{if .Error}}<pre>{{.Error}}</pre>{{end}}
{{if .Logs}}node logs: {{range .Logs}}<a href="{{.}}">{{.}}</a> {{end}}{{end}}</div>
</details>{{end}}{{end}}
</td></tr>{{end}}
</table>
<p class="level">Files beside this page: results.json, report.md, junit.xml, cucumber.json, logs/.</p>
</body></html>
`))

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
