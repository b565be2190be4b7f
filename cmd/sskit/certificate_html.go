package main

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/stableset/sskit/harness"
)

// certificatePage is what certificate.html shows.
type certificatePage struct {
	C        certificate
	Name     string // as the node reports it, or the label
	Verdict  string // CERTIFIED or NOT CERTIFIED
	Broken   []certRule
	Runs     []certificateRun
	Sections []ruleSection
	Command  string
	Must     string // counts of the MUST rules' overall verdicts
	Should   string
}

type certificateRun struct {
	N          int
	Seed       int64
	SuiteTime  string
	Must       string // this run's MUST rule counts
	Report     string
	ReportMD   string
	JUnit      string
	ResultJSON string
}

// verdictCounts is "84 pass · 1 flaky" for the verdicts of the rules of level in column run
// (-1: the overall verdict), in a fixed order.
func verdictCounts(rules []certRule, level string, run int) string {
	counts := map[string]int{}
	for _, r := range rules {
		if r.Level != level {
			continue
		}
		v := r.Verdict
		if run >= 0 {
			v = r.PerRun[run]
		}
		counts[v]++
	}
	var parts []string
	for _, v := range []string{certPass, certFail, certFlaky, certBlocked, "known", certUnsupported, certUntested} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " · ")
}

// certificateHTML renders certificate.html: one page, no external assets, to read and print.
func certificateHTML(c certificate) ([]byte, error) {
	p := certificatePage{C: c, Name: c.Name(), Verdict: "NOT CERTIFIED", Sections: bySection(c.Rules), Command: harness.ShellWords(c.Command),
		Must: verdictCounts(c.Rules, "MUST", -1), Should: verdictCounts(c.Rules, "SHOULD", -1)}
	if c.Certified {
		p.Verdict = "CERTIFIED for " + c.Profile
	}
	leftOut := map[string]bool{}
	for _, part := range c.LeftOut {
		leftOut[part] = true
	}
	for _, r := range c.Rules {
		if r.Level == "MUST" && r.Verdict != certPass && !leftOut[r.Part] {
			p.Broken = append(p.Broken, r)
		}
	}
	for i, seed := range c.Seeds {
		p.Runs = append(p.Runs, certificateRun{N: i + 1, Seed: seed, SuiteTime: c.SuiteTimes[i], Must: verdictCounts(c.Rules, "MUST", i),
			Report: runReport(i+1, "report.html"), ReportMD: runReport(i+1, "report.md"), JUnit: runReport(i+1, "junit.xml"), ResultJSON: runReport(i+1, "results.json")})
	}
	var b bytes.Buffer
	if err := certificateTemplate.Execute(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var certificateTemplate = template.Must(template.New("certificate").Funcs(template.FuncMap{
	"rfc3339":   func(t time.Time) string { return t.Format(time.RFC3339) },
	"day":       func(t time.Time) string { return t.Format("2 January 2006") },
	"runAnchor": func(run int, id string) string { return runReport(run+1, "report.html") + "#" + id },
	"inc":       func(i int) int { return i + 1 },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sskit certificate: {{.Name}} {{.C.NodeVersion}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1d2330;padding:0 1em}
h1{font-size:1.6em;margin:0 0 .3em}
h2{font-size:1.2em;margin:1.6em 0 .4em}
.verdict{font-size:2.6em;font-weight:800;letter-spacing:.04em;padding:.25em .6em;border-radius:8px;display:inline-block;margin:.2em 0}
.ok{background:#e3f6e8;color:#145a2a;border:3px solid #145a2a}.bad{background:#fde7e7;color:#8a1c1c;border:3px solid #8a1c1c}
.why{font-size:1.15em;margin:.4em 0 1em}
table{border-collapse:collapse;width:100%;margin:.6em 0}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{background:#f4f6f9;font-weight:600}
.meta td:first-child{color:#5a6275;width:11em}
tr.section th{background:#e9edf3;font-size:.95em}
td.v{text-align:center;white-space:nowrap}
.pass{color:#145a2a;font-weight:600}.fail{color:#8a1c1c;font-weight:700}.flaky{color:#8a1c1c;font-weight:700}
.unsupported{color:#8a5a00;font-weight:600}.blocked{color:#a8420a;font-weight:700}.untested{color:#7a8090}.known{color:#8a5a00;font-weight:700}
tr.broken td{background:#fdf3f3}
.level{font-size:.8em;color:#5a6275}
a{color:inherit}
code{font-size:.9em;word-break:break-all}
.note{font-size:.85em;color:#5a6275}
@page{margin:1.5cm}
@media print{body{margin:0;max-width:none;font-size:11px}a{text-decoration:none}.verdict{font-size:2.2em}thead{display:table-header-group}tr{break-inside:avoid}}
</style></head><body>
<h1>sskit certificate: {{.Name}} {{.C.NodeVersion}}</h1>
<p class="verdict {{if .C.Certified}}ok{{else}}bad{{end}}">{{.Verdict}}</p>
{{if .C.Certified}}<p class="why">{{.Name}} {{.C.NodeVersion}} kept every MUST rule of spec version {{.C.SpecVersion}} in every one of {{.C.Runs}} runs.</p>
{{else}}<p class="why">{{len .Broken}} MUST rule(s) did not pass in every run:
{{range $i, $r := .Broken}}{{if $i}}, {{end}}<a class="{{$r.Verdict}}" href="#{{$r.ID}}">{{$r.ID}}</a> ({{$r.Verdict}}){{end}}.</p>
{{end}}
<table class="meta">
<tr><td>implementation</td><td><b>{{.Name}}</b> {{if .C.NodeVersion}}{{.C.NodeVersion}}{{else}}(no version reported){{end}}{{if .C.NodeName}}, as <code>GET /v1/node</code> reports it{{else}} (the node reports no name; this is sskit's label){{end}}{{if and .C.NodeName (ne .C.NodeName .C.Implementation)}}; labelled {{.C.Implementation}} in the run reports{{end}}</td></tr>
<tr><td>profile</td><td><b>{{.C.Profile}}</b>, spec version {{.C.SpecVersion}}{{with .C.LeftOut}} — left out, and not certified: {{range $i, $p := .}}{{if $i}}, {{end}}{{$p}}{{end}}{{end}}</td></tr>
<tr><td>spec version</td><td>{{.C.SpecVersion}}</td></tr>
<tr><td>sskit</td><td>{{.C.SskitVersion}} (commit <code>{{.C.SskitCommit}}</code>)</td></tr>
<tr><td>backend</td><td>{{.C.Backend}}</td></tr>
{{if .C.NodeCommand}}<tr><td>node command</td><td><code>{{.C.NodeCommand}}</code></td></tr>{{end}}
{{if .C.NodeImage}}<tr><td>node image</td><td><code>{{.C.NodeImage}}</code></td></tr>{{end}}
<tr><td>date</td><td>{{day .C.Date}} ({{rfc3339 .C.Date}})</td></tr>
<tr><td>MUST rules</td><td>{{.Must}}</td></tr>
<tr><td>SHOULD rules</td><td>{{.Should}}</td></tr>
<tr><td>command</td><td><code>{{.Command}}</code></td></tr>
</table>

<h2>Runs</h2>
<table>
<thead><tr><th>run</th><th>seed</th><th>suite time</th><th>MUST rules in this run</th><th>reports</th></tr></thead>
{{range .Runs}}<tr><td>{{.N}}</td><td>{{.Seed}}</td><td>{{.SuiteTime}}</td><td>{{.Must}}</td>
<td><a href="{{.Report}}">report.html</a> · <a href="{{.ReportMD}}">report.md</a> · <a href="{{.JUnit}}">junit.xml</a> · <a href="{{.ResultJSON}}">results.json</a></td></tr>
{{end}}</table>

<h2>Rules</h2>
<p class="note">A rule passes only if it passed in every run; <span class="flaky">flaky</span> means it passed in some runs and failed in others. Each run's verdict links to the rule in that run's report.</p>
<table>
<thead><tr><th>rule</th><th>level</th><th>verdict</th>{{range .Runs}}<th>run {{.N}}</th>{{end}}</tr></thead>
{{range .Sections}}<tr class="section"><th colspan="{{len $.Runs | inc | inc | inc}}">{{if .Name}}{{.Name}}{{else}}(no section){{end}}</th></tr>
{{range .Rules}}{{$r := .}}<tr id="{{.ID}}"{{if and (eq .Level "MUST") (ne .Verdict "pass")}} class="broken"{{end}}><td><b>{{.ID}}</b></td><td class="level">{{.Level}}</td><td class="{{.Verdict}}">{{.Verdict}}</td>
{{range $i, $v := .PerRun}}<td class="v"><a class="{{$v}}" href="{{runAnchor $i $r.ID}}">{{$v}}</a></td>{{end}}</tr>
{{end}}{{end}}</table>

<p class="note">Beside this page: certificate.json (the verdicts and the SHA-256 of every report file), certificate.md (this certificate in Markdown), reproduce.sh (repeats the certification from a fresh clone of sskit at commit {{.C.SskitCommit}}) and runs/run-N/ (each run's full reports and node logs).</p>
</body></html>
`))
