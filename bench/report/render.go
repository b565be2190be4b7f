package report

import (
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
)

// The report is built once as a list of blocks and written twice, as Markdown and as HTML, so
// that the two can never say different things.

type block interface{ isBlock() }

type heading struct {
	level int
	text  string
}

// paragraph text may use `code`, **bold** and [text](url), in Markdown syntax.
type paragraph string

type bullets []string

type table struct {
	header []string
	rows   [][]string
	// numeric marks the columns to align right.
	numeric []bool
}

type image struct{ src, alt string }

// preformatted is shown as is, in a code block.
type preformatted string

func (heading) isBlock()      {}
func (paragraph) isBlock()    {}
func (bullets) isBlock()      {}
func (table) isBlock()        {}
func (image) isBlock()        {}
func (preformatted) isBlock() {}

func writeMarkdown(w io.Writer, blocks []block) error {
	var b strings.Builder
	for _, bl := range blocks {
		switch x := bl.(type) {
		case heading:
			fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", x.level), x.text)
		case paragraph:
			fmt.Fprintf(&b, "%s\n\n", x)
		case bullets:
			for _, item := range x {
				fmt.Fprintf(&b, "- %s\n", item)
			}
			b.WriteString("\n")
		case table:
			b.WriteString("| " + strings.Join(x.header, " | ") + " |\n|")
			for i := range x.header {
				if i < len(x.numeric) && x.numeric[i] {
					b.WriteString("---:|")
				} else {
					b.WriteString("---|")
				}
			}
			b.WriteString("\n")
			for _, row := range x.rows {
				b.WriteString("| " + strings.Join(row, " | ") + " |\n")
			}
			b.WriteString("\n")
		case image:
			fmt.Fprintf(&b, "![%s](%s)\n\n", x.alt, x.src)
		case preformatted:
			fmt.Fprintf(&b, "```\n%s\n```\n\n", strings.TrimRight(string(x), "\n"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

const htmlHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { background: #f6f6f6; }
pre { padding: .6rem; overflow-x: auto; }
img { max-width: 100%%; border: 1px solid #eee; margin: .5rem 0; }
</style></head><body>
`

func writeHTML(w io.Writer, title string, blocks []block) error {
	var b strings.Builder
	fmt.Fprintf(&b, htmlHead, html.EscapeString(title))
	for _, bl := range blocks {
		switch x := bl.(type) {
		case heading:
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", x.level, inline(x.text), x.level)
		case paragraph:
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(string(x)))
		case bullets:
			b.WriteString("<ul>\n")
			for _, item := range x {
				fmt.Fprintf(&b, "<li>%s</li>\n", inline(item))
			}
			b.WriteString("</ul>\n")
		case table:
			b.WriteString("<table>\n<tr>")
			for _, h := range x.header {
				fmt.Fprintf(&b, "<th>%s</th>", inline(h))
			}
			b.WriteString("</tr>\n")
			for _, row := range x.rows {
				b.WriteString("<tr>")
				for i, cell := range row {
					class := ""
					if i < len(x.numeric) && x.numeric[i] {
						class = ` class="num"`
					}
					fmt.Fprintf(&b, "<td%s>%s</td>", class, inline(cell))
				}
				b.WriteString("</tr>\n")
			}
			b.WriteString("</table>\n")
		case image:
			fmt.Fprintf(&b, "<p><img src=\"%s\" alt=\"%s\"></p>\n", html.EscapeString(x.src), html.EscapeString(x.alt))
		case preformatted:
			fmt.Fprintf(&b, "<pre>%s</pre>\n", html.EscapeString(strings.TrimRight(string(x), "\n")))
		}
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	boldSpan = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	linkSpan = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
)

// inline turns the little Markdown a paragraph may use into HTML, escaping everything else.
func inline(s string) string {
	s = html.EscapeString(s)
	s = codeSpan.ReplaceAllString(s, "<code>$1</code>")
	s = boldSpan.ReplaceAllString(s, "<strong>$1</strong>")
	return linkSpan.ReplaceAllString(s, `<a href="$2">$1</a>`)
}
