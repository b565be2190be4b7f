package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/conformance"
	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/refnode/mutant/gen"
)

const mutationHelp = `Usage: sskit mutation [--binary FILE] [--only NAMES] [--tags EXPR]
       sskit mutation --generated N [--seed S] [--packages DIRS] [--tags EXPR] [--out FILE]

Without --generated, runs the conformance suite against every hand-made mutant of refnode
(bin/refnode-mutants, which make mutation builds). Each must be killed.
Exit codes: 0 every mutant was killed; 1 one survived, the suite fails without a mutant, or an
error; 2 bad usage; 130 interrupted.

With --generated N, makes mutants of refnode's consensus code (or of --packages, such as
refnode/gossip) mechanically (flipped comparisons,
dropped conditions, negated ifs, off-by-one constants, deleted statements), takes a random sample
that --seed fixes, builds refnode with each until N of them compile (go build -overlay: the
repository is never modified, but sskit must run inside it), and runs the suite against each,
stopping at its first failed scenario. A mutant is killed when a MUST rule fails. Survivors are a
finding, not a failure: each is equivalent to refnode or shows a missing scenario, which a person
decides (the classification column of --out).
Exit codes: 0 the run completed, whatever survived; 1 the suite fails without a mutant, or an
error; 2 bad usage; 130 interrupted.

Flags:
`

func mutationUsage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprint(fs.Output(), mutationHelp)
		fs.PrintDefaults()
	}
}

// generatedFlags are mutation's flags for machine-made mutants.
type generatedFlags struct {
	n        int
	seed     uint64
	packages string
	out      string
}

func (g *generatedFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&g.n, "generated", 0, "run the suite against `N` machine-made mutants of refnode's consensus code that compile, instead of the hand-made ones")
	fs.Uint64Var(&g.seed, "seed", 1, "with --generated: the seed that chooses the sample; the same seed and sources give the same mutants")
	fs.StringVar(&g.packages, "packages", strings.Join(gen.DefaultPackages, ","), "with --generated: comma-separated package `directories` to mutate, relative to the repository")
	fs.StringVar(&g.out, "out", "", "with --generated: also write the results as a Markdown `file`, e.g. results/mutation/sample-seed-1.md")
}

// chosen reports whether --generated was given, and a usage error for flags that do not go with
// how the run was chosen.
func (g *generatedFlags) chosen(fs *flag.FlagSet) (bool, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["generated"] {
		for _, name := range []string{"seed", "packages", "out"} {
			if set[name] {
				return false, fmt.Errorf("--%s goes with --generated", name)
			}
		}
		return false, nil
	}
	if g.n < 1 {
		return true, fmt.Errorf("--generated %d: want at least 1 mutant", g.n)
	}
	for _, name := range []string{"binary", "only"} {
		if set[name] {
			return true, fmt.Errorf("--%s is for the hand-made mutants, not --generated", name)
		}
	}
	return true, nil
}

// builtMutant is a sampled mutant that compiled.
type builtMutant struct {
	gen.Mutant
	Binary string
}

// generatedRow is the outcome for one machine-made mutant.
type generatedRow struct {
	builtMutant
	Killed     bool
	ShouldOnly bool   // scenarios failed, but none of a MUST rule
	Scenario   string // the first failed scenario
	Took       time.Duration
}

func (r generatedRow) verdict() string {
	switch {
	case r.Killed:
		return "killed"
	case r.ShouldOnly:
		return "SURVIVED*"
	}
	return "SURVIVED"
}

// generatedRun is what a --generated run needs besides its flags.
type generatedRun struct {
	generatedFlags
	args     []string // as given to sskit mutation, for the report's header
	tags     string
	parallel int
}

func cmdMutationGenerated(g generatedRun, stdout, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "sskit mutation: "+format+"\n", a...)
		return code
	}
	root, err := moduleRoot()
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	var packages []string
	for _, p := range strings.Split(g.packages, ",") {
		p = filepath.ToSlash(filepath.Clean(strings.TrimSpace(p)))
		if st, err := os.Stat(filepath.Join(root, p)); err != nil || !st.IsDir() || strings.HasPrefix(p, "../") {
			return fail(exitUsage, "--packages: %q is not a directory of the repository %s", p, root)
		}
		packages = append(packages, p)
	}
	if g.tags == "" {
		g.tags = tagsFor(packages)
	}
	// A TAGS expression that does not parse or selects nothing is found now, not after the builds.
	if _, err := conformance.Select(conformance.Options{Suite: sskit.Suite, Tags: g.tags}); err != nil {
		var usage *conformance.UsageError
		if errors.As(err, &usage) {
			return fail(exitUsage, "%v", err)
		}
		return fail(exitFailed, "%v", err)
	}
	if g.parallel < 1 {
		return fail(exitUsage, "--parallel %d: want at least 1", g.parallel)
	}
	all, err := gen.Enumerate(root, packages)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	if len(all) < g.n {
		return fail(exitUsage, "--generated %d: the packages have only %d mutation sites", g.n, len(all))
	}
	fmt.Fprintf(stdout, "%d mutation sites: %s\n", len(all), sitesPerPackage(all, packages))

	ctx, cancel := interruptible()
	defer cancel()
	interrupted := func() int {
		harness.CloseAll()
		fmt.Fprintln(stderr, "sskit mutation: interrupted")
		return exitAborted
	}
	work, err := os.MkdirTemp("", "sskit-mutagen-")
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	defer os.RemoveAll(work)

	// Unmutated first: if refnode does not build as it is, every mutant would seem not to compile.
	base := filepath.Join(work, "refnode-base")
	if msg, err := buildRefnode(ctx, root, "", base); err != nil {
		if ctx.Err() != nil {
			return interrupted()
		}
		return fail(exitFailed, "refnode does not build without a mutant: %v %s", err, msg)
	}
	started := time.Now()
	fmt.Fprintf(stdout, "building refnode with the mutants sampled with seed %d until %d compile\n", g.seed, g.n)
	compiled, discarded, err := compileSample(ctx, root, work, gen.Sample(all, len(all), g.seed), g.n, stdout)
	if ctx.Err() != nil {
		return interrupted()
	}
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	fmt.Fprintf(stdout, "%d compiled, %d discarded (did not compile), in %v\n", len(compiled), len(discarded), time.Since(started).Round(time.Second))
	if len(compiled) < g.n {
		fmt.Fprintf(stdout, "only %d of the %d sites compile once mutated; running those\n", len(compiled), len(all))
	}

	results, err := os.MkdirTemp("", "sskit-mutation-")
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	defer os.RemoveAll(results)
	run := func(name, binary string, failFast bool) (*conformance.Result, error) {
		return conformance.Run(ctx, conformance.Options{
			Impl: harness.Implementation{Name: name, Command: []string{binary}}, Seed: 1,
			ResultsDir: results, Suite: sskit.Suite, Concurrency: g.parallel, Tags: g.tags,
			SkipPreflight: true, // a mutant is judged by the rules it breaks, even one that breaks GET /v1/node
			FailFast:      failFast,
		})
	}
	// The unmutated build must pass every scenario: a kill must mean the mutant, and a failure
	// that refnode has as well would stop every mutant's run early.
	baseline, err := run("refnode-base", base, false)
	if ctx.Err() != nil {
		return interrupted()
	}
	if err != nil {
		return fail(exitFailed, "the suite against refnode without a mutant: %v", err)
	}
	if sc, failed := firstFailed(baseline); failed {
		return fail(exitFailed, "refnode without a mutant fails %q (%s); fix that first", sc.Title(), strings.Join(sc.Rules, " "))
	}
	fmt.Fprintf(stdout, "baseline: refnode without a mutant passes %d scenarios (%v)\n\n", len(baseline.Scenarios), baseline.Duration.Round(time.Millisecond))

	const row = "%-5s %-38s %-16s %-58s %-9s %-44s %s\n"
	fmt.Fprintf(stdout, row, "ID", "SITE", "OPERATOR", "ORIGINAL → REPLACEMENT", "VERDICT", "FIRST FAILING SCENARIO", "TIME")
	var rows []generatedRow
	for _, m := range compiled {
		res, err := run(fmt.Sprintf("refnode-gen-%d", m.ID), m.Binary, true)
		if ctx.Err() != nil {
			return interrupted()
		}
		if err != nil {
			return fail(exitFailed, "mutant %s: %v", m.Mutant, err)
		}
		r := generatedRow{builtMutant: m, Killed: res.NotCertified(), Took: res.Duration}
		if sc, failed := firstFailed(res); failed {
			r.Scenario = sc.Title()
			r.ShouldOnly = !r.Killed
		}
		fmt.Fprintf(stdout, row, fmt.Sprint(m.ID), shorten(fmt.Sprintf("%s:%d", m.File, m.Line), 38), m.Operator,
			shorten(change(m.Mutant), 58), r.verdict(), shorten(orDash(r.Scenario), 44), r.Took.Round(100*time.Millisecond))
		rows = append(rows, r)
	}
	killed := 0
	for _, r := range rows {
		if r.Killed {
			killed++
		}
	}
	for _, r := range rows {
		if r.ShouldOnly {
			fmt.Fprintln(stdout, "* failed SHOULD rules only; the run stopped there, so MUST scenarios after it did not run")
			break
		}
	}
	fmt.Fprintf(stdout, "\n%s\n", summaryLine(len(rows), len(discarded), killed))
	if g.out != "" {
		report := markdownReport(g, all, packages, rows, discarded, killed, time.Now().UTC())
		if err := os.MkdirAll(filepath.Dir(g.out), 0o755); err != nil {
			return fail(exitFailed, "%v", err)
		}
		if err := os.WriteFile(g.out, report, 0o644); err != nil {
			return fail(exitFailed, "%v", err)
		}
		fmt.Fprintf(stdout, "wrote %s; classify its survivors (TODO) as equivalent or a missing scenario\n", g.out)
	}
	return exitOK
}

// compileSample builds refnode with each candidate in turn until n of them compile, and returns
// those, each with its binary under work, and the candidates that did not compile.
func compileSample(ctx context.Context, root, work string, candidates []gen.Mutant, n int, progress io.Writer) (compiled []builtMutant, discarded []gen.Mutant, err error) {
	for _, m := range candidates {
		if len(compiled) == n {
			break
		}
		dir := filepath.Join(work, fmt.Sprintf("mutant-%d", m.ID))
		binary, msg, err := buildMutant(ctx, root, dir, m)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if err != nil {
			return nil, nil, err
		}
		if binary == "" {
			fmt.Fprintf(progress, "  discarded #%d %s:%d %s (%s): does not compile: %s\n", m.ID, m.File, m.Line, m.Operator, change(m), msg)
			discarded = append(discarded, m)
			os.RemoveAll(dir)
			continue
		}
		compiled = append(compiled, builtMutant{Mutant: m, Binary: binary})
	}
	return compiled, discarded, nil
}

// buildMutant builds refnode with m's file replaced by its mutated source, in dir. A mutant that
// does not compile gives no binary and the compiler's first complaint; err is for what stops the
// whole run.
func buildMutant(ctx context.Context, root, dir string, m gen.Mutant) (binary, msg string, err error) {
	src, err := m.MutatedFile()
	if err != nil {
		return "", "it does not parse", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	mutated := filepath.Join(dir, filepath.Base(m.Path()))
	if err := os.WriteFile(mutated, src, 0o644); err != nil {
		return "", "", err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {m.Path(): mutated}})
	if err != nil {
		return "", "", err
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return "", "", err
	}
	binary = filepath.Join(dir, "refnode-gen")
	msg, err = buildRefnode(ctx, root, overlayFile, binary)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return "", strings.ReplaceAll(msg, dir+string(filepath.Separator), ""), nil
	}
	if err != nil {
		return "", "", err
	}
	return binary, "", nil
}

// buildRefnode builds refnode as make build does, with the overlay when there is one. On failure
// msg is the compiler's first complaint.
func buildRefnode(ctx context.Context, root, overlay, binary string) (msg string, err error) {
	args := []string{"build"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, "-trimpath", "-o", binary, "./refnode/cmd/refnode")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		for _, line := range strings.Split(out.String(), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				return line, err
			}
		}
		return "", err
	}
	return "", nil
}

// moduleRoot is the sskit repository that holds the working directory: --generated builds refnode
// from its sources.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/stableset/sskit\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("--generated builds refnode from its sources: run it inside the sskit repository")
		}
		dir = parent
	}
}

// rulePrefixes are the SPEC.md rules each mutable package of refnode answers for.
var rulePrefixes = map[string][]string{
	"refnode/consensus": {"ST-", "SEC-"},
	"refnode/stableset": {"ST-", "SEC-"},
	"refnode/sections":  {"ST-", "SEC-"},
	"refnode/gossip":    {"NB-", "ADM-9", "ADM-10", "ADM-11", "ADM-12"},
}

// tagsFor selects the scenarios of the rules the mutated packages answer for: the consensus and
// sections rules (ST-n, SEC-n) for the consensus code, the gossip rules (NB-n and the gossip
// endpoints) for refnode/gossip, and every scenario for any other package.
func tagsFor(packages []string) string {
	var prefixes []string
	for _, p := range packages {
		pre, ok := rulePrefixes[p]
		if !ok {
			return ""
		}
		prefixes = append(prefixes, pre...)
	}
	var tags []string
	for _, r := range suiteSpec().Rules {
		for _, pre := range prefixes {
			if r.ID == pre || strings.HasSuffix(pre, "-") && strings.HasPrefix(r.ID, pre) {
				tags = append(tags, "@"+r.ID)
				break
			}
		}
	}
	return strings.Join(tags, ",")
}

func sitesPerPackage(all []gen.Mutant, packages []string) string {
	var parts []string
	for _, p := range packages {
		n := 0
		for _, m := range all {
			if filepath.ToSlash(filepath.Dir(m.File)) == p {
				n++
			}
		}
		parts = append(parts, fmt.Sprintf("%s %d", p, n))
	}
	return strings.Join(parts, ", ")
}

func firstFailed(res *conformance.Result) (conformance.ScenarioResult, bool) {
	for _, sc := range res.Scenarios {
		if sc.Status == conformance.Failed {
			return sc, true
		}
	}
	return conformance.ScenarioResult{}, false
}

// shorten cuts s to n runes, for a column of a fixed width.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// change shows a mutant as "original → replacement".
func change(m gen.Mutant) string {
	if m.Operator == gen.DeleteStatement {
		return m.Original + " → (deleted)"
	}
	return m.Original + " → " + m.Replacement
}

func summaryLine(compiled, discarded, killed int) string {
	rate := "-"
	if compiled > 0 {
		rate = fmt.Sprintf("%.1f%%", 100*float64(killed)/float64(compiled))
	}
	return fmt.Sprintf("%d compiled, %d discarded, %d killed, %d survived, kill rate %s", compiled, discarded, killed, compiled-killed, rate)
}

// markdownReport is the run as a Markdown file to commit under results/mutation/, with a
// classification for a person to give each survivor.
func markdownReport(g generatedRun, all []gen.Mutant, packages []string, rows []generatedRow, discarded []gen.Mutant, killed int, now time.Time) []byte {
	var b bytes.Buffer
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	code := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + cell(strings.ReplaceAll(s, "`", "'")) + "`"
	}
	fmt.Fprintf(&b, "# Machine-made mutants of refnode, seed %d\n\n", g.seed)
	fmt.Fprintf(&b, "- command: `sskit mutation %s`\n", strings.Join(g.args, " "))
	fmt.Fprintf(&b, "- seed: %d; sample size: %d mutants that compile, of %d sites (%s)\n", g.seed, g.n, len(all), sitesPerPackage(all, packages))
	fmt.Fprintf(&b, "- date: %s; sskit %s (commit %s), spec version %s\n", now.Format("2006-01-02 15:04Z"), version, orDash(sskitCommit()), specVersion())
	fmt.Fprintf(&b, "- scenarios: `%s`\n", cell(g.tags))
	fmt.Fprintf(&b, "- a mutant is killed when a MUST rule fails; each run stops at its first failed scenario\n\n")
	fmt.Fprintf(&b, "| id | site | operator | original → replacement | verdict | first failing scenario | time | classification |\n")
	fmt.Fprintf(&b, "|---:|---|---|---|---|---|---:|---|\n")
	for _, r := range rows {
		classification := ""
		if !r.Killed {
			classification = "TODO"
		}
		replacement := code(r.Replacement)
		if r.Operator == gen.DeleteStatement {
			replacement = "(deleted)"
		}
		fmt.Fprintf(&b, "| %d | %s:%d | %s | %s → %s | %s | %s | %v | %s |\n", r.ID, r.File, r.Line, r.Operator,
			code(r.Original), replacement, r.verdict(), cell(r.Scenario), r.Took.Round(100*time.Millisecond), classification)
	}
	fmt.Fprintf(&b, "\n**%s** (kill rate: killed / compiled).\n", summaryLine(len(rows), len(discarded), killed))
	if len(discarded) > 0 {
		var ids []string
		for _, m := range discarded {
			ids = append(ids, fmt.Sprintf("#%d", m.ID))
		}
		fmt.Fprintf(&b, "\nDiscarded, as they do not compile: %s.\n", strings.Join(ids, ", "))
	}
	for _, r := range rows {
		if r.ShouldOnly {
			fmt.Fprintf(&b, "\nSURVIVED*: failed SHOULD rules only; the run stopped there, so MUST scenarios after it did not run.\n")
			break
		}
	}
	fmt.Fprintf(&b, "\nClassify each survivor, in place of TODO: *equivalent* (no behaviour of a node tells it from refnode) or *missing scenario* (a defect the suite should catch, and which scenario would).\n")
	return b.Bytes()
}
