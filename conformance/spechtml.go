package conformance

import (
	"html/template"
	"strings"
)

// specHTML renders SPEC.md as a page the report can link into: every rule is an element whose id
// is the rule ID, and every section heading has the id the report's contents use. Prose, tables
// and frame layouts stay as the Markdown source says them, preformatted: the page is for finding
// a rule and reading it in its context, not for typesetting.
func specHTML(markdown string) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sskit SPEC.md</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1d2330;padding:0 1em}
pre{white-space:pre-wrap;font:13px/1.4 ui-monospace,monospace;margin:.3em 0}
p.rule{margin:.5em 0;padding:.3em .6em;border-left:3px solid #c9ced8}
p.rule:target{background:#fff4d6;border-left-color:#8a5a00}
</style></head><body>
`)
	var pending []string
	flush := func() {
		text := strings.Trim(strings.Join(pending, "\n"), "\n")
		if text != "" {
			b.WriteString("<pre>" + template.HTMLEscapeString(text) + "</pre>\n")
		}
		pending = pending[:0]
	}
	for _, line := range strings.Split(markdown, "\n") {
		switch {
		case strings.HasPrefix(line, "# "):
			flush()
			b.WriteString("<h1>" + template.HTMLEscapeString(line[2:]) + "</h1>\n")
		case strings.HasPrefix(line, "## "):
			flush()
			title := line[3:]
			b.WriteString(`<h2 id="` + sectionAnchor(title) + `">` + template.HTMLEscapeString(title) + "</h2>\n")
		case strings.HasPrefix(line, "### "):
			flush()
			b.WriteString("<h3>" + template.HTMLEscapeString(line[4:]) + "</h3>\n")
		default:
			if m := ruleLine.FindStringSubmatch(line); m != nil {
				flush()
				b.WriteString(`<p class="rule" id="` + m[1] + `"><b>` + m[1] + "</b> (" + m[2] + ") " + string(codeSpans(m[3])) + "</p>\n")
				continue
			}
			pending = append(pending, line)
		}
	}
	flush()
	b.WriteString("</body></html>\n")
	return b.String()
}
