package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/conformance"
	"github.com/stableset/sskit/refnode/mutant/gen"
)

func TestMutationGeneratedUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, exitOK, "Survivors are a"},
		{[]string{"--generated", "0"}, exitUsage, "at least 1 mutant"},
		{[]string{"--generated", "-3"}, exitUsage, "at least 1 mutant"},
		{[]string{"--generated", "many"}, exitUsage, "invalid value"},
		{[]string{"--generated", "3", "--seed", "abc"}, exitUsage, "invalid value"},
		{[]string{"--generated", "3", "--seed", "-1"}, exitUsage, "invalid value"},
		{[]string{"--seed", "5"}, exitUsage, "--seed goes with --generated"},
		{[]string{"--out", "x.md"}, exitUsage, "--out goes with --generated"},
		{[]string{"--generated", "3", "--only", "pong-wrong-id"}, exitUsage, "not --generated"},
		{[]string{"--generated", "3", "--packages", "refnode/no-such-package"}, exitUsage, "not a directory"},
		{[]string{"--generated", "3", "--packages", "../elsewhere"}, exitUsage, "not a directory"},
		{[]string{"--generated", "3", "--tags", "@ST-99"}, exitUsage, "no scenario is tagged"},
		{[]string{"--generated", "3", "--parallel", "0"}, exitUsage, "at least 1"},
		{[]string{"--generated", "1000000"}, exitUsage, "mutation sites"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"mutation"}, c.args...), &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.want) {
			t.Errorf("sskit mutation %s: exit %d, want %d with %q; said:\n%s%s", strings.Join(c.args, " "), code, c.code, c.want, stdout.String(), stderr.String())
		}
	}
}

func TestTagsForSelectTheScenariosOfThePackagesRules(t *testing.T) {
	for _, c := range []struct {
		packages []string
		want     []string // tags the expression must hold
		of       []string // rule prefixes every selected scenario must have one of
	}{
		{gen.DefaultPackages, []string{"@ST-1,", "@ST-12,", "@SEC-1,", "@SEC-10"}, []string{"ST-", "SEC-"}},
		{[]string{"refnode/gossip"}, []string{"@NB-1,", "@NB-13,", "@ADM-11"}, []string{"NB-", "ADM-9", "ADM-10", "ADM-11", "ADM-12"}},
	} {
		tags := tagsFor(c.packages)
		for _, want := range c.want {
			if !strings.Contains(tags, want) {
				t.Errorf("%v: tags %q lack %s", c.packages, tags, want)
			}
		}
		sel, err := conformance.Select(conformance.Options{Suite: sskit.Suite, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range sel.Selected {
			rules := strings.Join(sc.Rules, " ")
			if !slices.ContainsFunc(c.of, func(pre string) bool { return strings.Contains(rules, pre) }) {
				t.Errorf("%v: %s (%v) selected, of none of %v", c.packages, sc.Name, sc.Rules, c.of)
			}
		}
	}
	if tags := tagsFor([]string{"refnode/node"}); tags != "" {
		t.Errorf("a package without known rules selects %q, not the whole suite", tags)
	}
}

// One real build: a mutant that does not compile is discarded and the next one in the sample's
// order is built instead, from the overlay, without touching the repository.
func TestCompileSampleDiscardsWhatDoesNotCompile(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	const rel = "refnode/consensus/decisions.go"
	path := filepath.Join(root, rel)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A function whose only use of n is a call: deleting the call leaves n unused, which Go refuses.
	withFixture := append(bytes.Clone(before), "\nfunc sskitGenFixture() {\n\tn := len(\"x\")\n\tprintln(n)\n}\n"...)
	fixtureMutants, err := gen.EnumerateFile(path, rel, withFixture)
	if err != nil {
		t.Fatal(err)
	}
	var broken gen.Mutant
	for _, m := range fixtureMutants {
		if m.Operator == gen.DeleteStatement && m.Original == "println(n)" {
			broken = m
		}
	}
	if broken.Operator == "" {
		t.Fatal("no mutant deletes the fixture's println(n)")
	}
	all, err := gen.Enumerate(root, gen.DefaultPackages)
	if err != nil {
		t.Fatal(err)
	}
	var flip gen.Mutant // a flipped comparison keeps its operands' types: it always compiles
	for _, m := range all {
		if m.Operator == gen.ComparisonFlip && strings.HasPrefix(m.File, "refnode/stableset/") {
			flip = m
			break
		}
	}
	if flip.Operator == "" {
		t.Fatal("no comparison to flip in refnode/stableset")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	started := time.Now()
	compiled, discarded, err := compileSample(ctx, root, t.TempDir(), []gen.Mutant{broken, flip, all[0]}, 1, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built in %v:\n%s", time.Since(started).Round(time.Millisecond), progress.String())
	if len(discarded) != 1 || discarded[0].Original != "println(n)" {
		t.Errorf("discarded %v, want the deletion of println(n)", discarded)
	}
	if !strings.Contains(progress.String(), "declared and not used") {
		t.Errorf("the discard does not say why:\n%s", progress.String())
	}
	if len(compiled) != 1 || compiled[0].ID != flip.ID {
		t.Fatalf("compiled %v, want only %s (one was asked for)", compiled, flip)
	}
	out, err := exec.Command(compiled[0].Binary, "--help").CombinedOutput()
	if err != nil && !bytes.Contains(out, []byte("Usage")) {
		t.Errorf("the mutant's refnode does not run: %v\n%s", err, out)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Errorf("%s changed on disk (%v): builds must go through the overlay", rel, err)
	}
}

func TestMarkdownReportLeavesSurvivorsToClassify(t *testing.T) {
	mutants := gen.Sample(mustEnumerate(t), 2, 7)
	rows := []generatedRow{
		{builtMutant: builtMutant{Mutant: mutants[0]}, Killed: true, Scenario: "A joiner is let in", Took: 12 * time.Second},
		{builtMutant: builtMutant{Mutant: mutants[1]}, Took: 95 * time.Second},
	}
	g := generatedRun{generatedFlags: generatedFlags{n: 2, seed: 7}, args: []string{"--generated", "2", "--seed", "7"}, tags: "@ST-1,@SEC-1"}
	report := string(markdownReport(g, mustEnumerate(t), gen.DefaultPackages, rows, []gen.Mutant{{ID: 99}}, 1, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)))
	for _, want := range []string{
		"# Machine-made mutants of refnode, seed 7",
		"`sskit mutation --generated 2 --seed 7`",
		"- seed: 7; sample size: 2",
		"2026-01-02 03:04Z",
		"| classification |",
		"| killed | A joiner is let in | 12s |  |",
		"| SURVIVED |  | 1m35s | TODO |",
		"2 compiled, 1 discarded, 1 killed, 1 survived, kill rate 50.0%",
		"Discarded, as they do not compile: #99.",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 9 {
			t.Errorf("table row with other than 8 cells: %s", line)
		}
	}
}

func mustEnumerate(t *testing.T) []gen.Mutant {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	all, err := gen.Enumerate(root, gen.DefaultPackages)
	if err != nil {
		t.Fatal(err)
	}
	return all
}
