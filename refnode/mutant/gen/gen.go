// Package gen makes mutants of Go source mechanically: it lists every place in a set of packages
// where one small change (a flipped comparison, a dropped condition, an off-by-one constant, a
// deleted statement...) alters what the code does, and writes the mutated file for any of them,
// so that a mutation run can measure how many such defects a test suite catches.
//
// Unlike the hand-made mutants of package mutant, these are not chosen: they are every site of
// every operator, and a run takes a random sample of them (Sample). Some do not compile (a
// deleted statement can leave a variable unused); the caller discards those.
package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The operators, as Mutant.Operator names them.
const (
	ComparisonFlip  = "comparison-flip"  // < ↔ <=, > ↔ >=, == ↔ !=
	ConditionDrop   = "condition-drop"   // a && b or a || b in a condition becomes a, or b
	NegateIf        = "negate-if"        // if c becomes if !(c)
	OffByOne        = "off-by-one"       // an integer literal beside a comparison, + or - becomes n+1, or n-1
	DeleteStatement = "delete-statement" // a call statement or an assignment (not :=) is removed
)

// DefaultPackages are refnode's consensus code: the directories Enumerate reads by default,
// relative to the module root.
var DefaultPackages = []string{"refnode/consensus", "refnode/stableset", "refnode/sections"}

// Mutant is one mutation site: one operator applied at one place of one file.
type Mutant struct {
	ID          int    // 1-based position in the enumeration
	File        string // path relative to the module root, with slashes
	Line        int
	Operator    string
	Original    string // the mutated expression or statement as written, on one line, shortened
	Replacement string // the same after the mutation; empty for a deleted statement

	path       string // the original file on disk
	src        []byte // its whole source, shared by every mutant of the file
	start, end int    // the byte range of src that the mutation replaces
	with       string // what replaces it
}

// Path is the original file's path on disk, as Enumerate or EnumerateFile was given it.
func (m Mutant) Path() string { return m.path }

// String names the mutant in one line: "#12 refnode/stableset/stableset.go:113 off-by-one 2 → 3".
func (m Mutant) String() string {
	return fmt.Sprintf("#%d %s:%d %s %s → %s", m.ID, m.File, m.Line, m.Operator, m.Original, m.Replacement)
}

// MutatedFile returns the whole file with the mutation applied, formatted by gofmt. It fails
// only when the result does not parse.
func (m Mutant) MutatedFile() ([]byte, error) {
	out := make([]byte, 0, len(m.src)+len(m.with))
	out = append(out, m.src[:m.start]...)
	out = append(out, m.with...)
	out = append(out, m.src[m.end:]...)
	formatted, err := format.Source(out)
	if err != nil {
		return nil, fmt.Errorf("mutant %s does not parse: %w", m, err)
	}
	return formatted, nil
}

// Enumerate lists the mutants of the non-test .go files of dirs (relative to root), files in
// sorted order and each file's sites in source order, and numbers them from 1. The same sources
// always give the same list.
func Enumerate(root string, dirs []string) ([]Mutant, error) {
	var files []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if name := e.Name(); !e.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
				files = append(files, filepath.ToSlash(filepath.Join(dir, name)))
			}
		}
	}
	sort.Strings(files)
	var all []Mutant
	for _, rel := range files {
		path, err := filepath.Abs(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ms, err := EnumerateFile(path, rel, src)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	for i := range all {
		all[i].ID = i + 1
	}
	return all, nil
}

// EnumerateFile lists the mutants of one file's source, in source order, numbered from 1. path is
// where the file is on disk (Mutant.Path), rel how reports name it (Mutant.File).
func EnumerateFile(path, rel string, src []byte) ([]Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	e := &enumerator{fset: fset, file: fset.File(f.Pos()), src: src, path: path, rel: rel,
		conditions: map[*ast.BinaryExpr]bool{}}
	e.findSkipped(f)
	e.findConditions(f)
	ast.Inspect(f, e.visit)
	sort.SliceStable(e.sites, func(i, j int) bool { return e.sites[i].at < e.sites[j].at })
	out := make([]Mutant, len(e.sites))
	for i, s := range e.sites {
		out[i] = s.Mutant
		out[i].ID = i + 1
	}
	return out, nil
}

type site struct {
	Mutant
	at token.Pos // where the site is reported, for the source order
}

type enumerator struct {
	fset      *token.FileSet
	file      *token.File
	src       []byte
	path, rel string

	skipped    [][2]token.Pos           // ranges whose code gets no mutant
	conditions map[*ast.BinaryExpr]bool // the && and || expressions that decide an if, a for or a case
	sites      []site
}

// findSkipped marks the code whose mutants would say nothing of the suite: formatting (String*,
// Error* functions), the hand-made mutants' code, which the default build compiles away, and the
// Audit hook, which only tests set.
func (e *enumerator) findSkipped(f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if name := n.Name.Name; strings.HasPrefix(name, "String") || strings.HasPrefix(name, "Error") {
				e.skipped = append(e.skipped, [2]token.Pos{n.Pos(), n.End()})
			}
		case *ast.IfStmt:
			if mentionsAudit(n.Cond) {
				e.skipped = append(e.skipped, [2]token.Pos{n.Pos(), n.End()})
			} else if isMutantHook(n.Cond) {
				e.skipped = append(e.skipped, [2]token.Pos{n.Body.Pos(), n.Body.End()})
			}
		}
		return true
	})
}

// isMutantHook reports whether cond holds only in a binary built with -tags mutants: one of its
// top-level conjuncts is mutant.Enabled or a call of mutant.Is.
func isMutantHook(cond ast.Expr) bool {
	for _, c := range conjuncts(cond) {
		if call, ok := c.(*ast.CallExpr); ok {
			c = call.Fun
		}
		if sel, ok := c.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "mutant" && (sel.Sel.Name == "Enabled" || sel.Sel.Name == "Is") {
				return true
			}
		}
	}
	return false
}

func conjuncts(e ast.Expr) []ast.Expr {
	e = ast.Unparen(e)
	if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.LAND {
		return append(conjuncts(b.X), conjuncts(b.Y)...)
	}
	return []ast.Expr{e}
}

func mentionsAudit(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Audit" {
			found = true
		}
		return !found
	})
	return found
}

// findConditions marks the && and || expressions that decide a branch: an if's or a for's
// condition, or a case of a switch without a tag, and those nested in them through !, && and ||.
func (e *enumerator) findConditions(f *ast.File) {
	var mark func(ast.Expr)
	mark = func(x ast.Expr) {
		switch x := ast.Unparen(x).(type) {
		case *ast.UnaryExpr:
			if x.Op == token.NOT {
				mark(x.X)
			}
		case *ast.BinaryExpr:
			if x.Op == token.LAND || x.Op == token.LOR {
				e.conditions[x] = true
				mark(x.X)
				mark(x.Y)
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt:
			mark(n.Cond)
		case *ast.ForStmt:
			if n.Cond != nil {
				mark(n.Cond)
			}
		case *ast.SwitchStmt:
			if n.Tag == nil {
				for _, s := range n.Body.List {
					for _, x := range s.(*ast.CaseClause).List {
						mark(x)
					}
				}
			}
		}
		return true
	})
}

var flipped = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
}

func (e *enumerator) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.BinaryExpr:
		if to, ok := flipped[n.Op]; ok {
			e.add(ComparisonFlip, n.OpPos, n, n.OpPos, n.OpPos+token.Pos(len(n.Op.String())), to.String())
		}
		if e.conditions[n] {
			e.add(ConditionDrop, n.OpPos, n, n.Pos(), n.End(), e.text(n.X))
			e.add(ConditionDrop, n.OpPos, n, n.Pos(), n.End(), e.text(n.Y))
		}
		if _, cmp := flipped[n.Op]; cmp || n.Op == token.ADD || n.Op == token.SUB {
			e.offByOne(n, n.X)
			e.offByOne(n, n.Y)
		}
	case *ast.IfStmt:
		e.add(NegateIf, n.If, n.Cond, n.Cond.Pos(), n.Cond.End(), "!("+e.text(n.Cond)+")")
	case *ast.BlockStmt:
		e.deletions(n.List)
	case *ast.CaseClause:
		e.deletions(n.Body)
	case *ast.CommClause:
		e.deletions(n.Body)
	}
	return true
}

func (e *enumerator) offByOne(parent *ast.BinaryExpr, operand ast.Expr) {
	lit, ok := operand.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return
	}
	n, err := strconv.ParseUint(strings.ReplaceAll(lit.Value, "_", ""), 0, 64)
	if err != nil || n == math.MaxUint64 {
		return
	}
	e.add(OffByOne, lit.Pos(), parent, lit.Pos(), lit.End(), strconv.FormatUint(n+1, 10))
	if n > 0 {
		e.add(OffByOne, lit.Pos(), parent, lit.Pos(), lit.End(), strconv.FormatUint(n-1, 10))
	}
}

// deletions adds a mutant for every statement of list that is a call or an assignment to what
// exists already: deleting a declaration (:=) would only break the build.
func (e *enumerator) deletions(list []ast.Stmt) {
	for _, s := range list {
		switch s := s.(type) {
		case *ast.ExprStmt:
			if _, call := ast.Unparen(s.X).(*ast.CallExpr); call {
				e.add(DeleteStatement, s.Pos(), s, s.Pos(), s.End(), "")
			}
		case *ast.AssignStmt:
			if s.Tok != token.DEFINE && !allBlank(s.Lhs) {
				e.add(DeleteStatement, s.Pos(), s, s.Pos(), s.End(), "")
			}
		case *ast.IncDecStmt:
			e.add(DeleteStatement, s.Pos(), s, s.Pos(), s.End(), "")
		}
	}
}

// allBlank reports an assignment to _ only, which exists to keep the compiler quiet.
func allBlank(lhs []ast.Expr) bool {
	for _, x := range lhs {
		if id, ok := x.(*ast.Ident); !ok || id.Name != "_" {
			return false
		}
	}
	return true
}

// add records the mutant that replaces src[from:to] with with, unless it is in skipped code. shown
// is the node a reader sees before and after; at is where the site is reported.
func (e *enumerator) add(op string, at token.Pos, shown ast.Node, from, to token.Pos, with string) {
	if e.isSkipped(shown) || mentionsAudit(shown) {
		return
	}
	start, end := e.file.Offset(from), e.file.Offset(to)
	showStart, showEnd := e.file.Offset(shown.Pos()), e.file.Offset(shown.End())
	after := ""
	if op != DeleteStatement {
		after = string(e.src[showStart:start]) + with + string(e.src[end:showEnd])
	} else {
		start, end = e.wholeLine(start, end)
	}
	e.sites = append(e.sites, site{at: at, Mutant: Mutant{
		File: e.rel, Line: e.file.Line(at), Operator: op,
		Original: short(string(e.src[showStart:showEnd])), Replacement: short(after),
		path: e.path, src: e.src, start: start, end: end, with: with,
	}})
}

// isSkipped reports a node in skipped code, or on a line of a hand-made mutant's check: its
// mutant would change that check, not the code under test.
func (e *enumerator) isSkipped(n ast.Node) bool {
	for _, r := range e.skipped {
		if n.Pos() >= r[0] && n.End() <= r[1] {
			return true
		}
	}
	first, last := e.file.Line(n.Pos()), e.file.Line(n.End())
	lineStart := e.file.Offset(e.file.LineStart(first))
	lineEnd := len(e.src)
	if last < e.file.LineCount() {
		lineEnd = e.file.Offset(e.file.LineStart(last + 1))
	}
	return bytes.Contains(e.src[lineStart:lineEnd], []byte("mutant."))
}

// wholeLine widens src[start:end] to its lines when nothing else is on them, so that a deleted
// statement leaves no blank line behind.
func (e *enumerator) wholeLine(start, end int) (int, int) {
	lineStart := start
	for lineStart > 0 && (e.src[lineStart-1] == ' ' || e.src[lineStart-1] == '\t') {
		lineStart--
	}
	lineEnd := end
	for lineEnd < len(e.src) && (e.src[lineEnd] == ' ' || e.src[lineEnd] == '\t' || e.src[lineEnd] == '\r') {
		lineEnd++
	}
	if (lineStart == 0 || e.src[lineStart-1] == '\n') && lineEnd < len(e.src) && e.src[lineEnd] == '\n' {
		return lineStart, lineEnd + 1
	}
	return start, end
}

func (e *enumerator) text(n ast.Node) string {
	return string(e.src[e.file.Offset(n.Pos()):e.file.Offset(n.End())])
}

// short puts source text on one line and cuts it to a length a table can show.
func short(s string) string {
	const max = 72
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
