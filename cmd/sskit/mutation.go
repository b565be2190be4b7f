package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/conformance"
	"github.com/stableset/sskit/harness"
)

// mutant is one entry of refnode --list-mutants.
type mutant struct {
	Name, Area, Breaks, Description string
}

// mutationRow is the outcome for one mutant.
type mutationRow struct {
	mutant
	Killed   bool
	ByRules  []string
	Scenario string
	Took     time.Duration
}

func cmdMutation(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mutation", flag.ContinueOnError)
	binary := fs.String("binary", filepath.Join("bin", "refnode-mutants"), "refnode built with -tags mutants")
	only := fs.String("only", "", "comma-separated mutant names to run (default: all)")
	parallel := fs.Int("parallel", 2, "scenarios to run at once")
	tags := fs.String("tags", "", "run only the scenarios with these tags, for the baseline and every mutant (default: the whole suite; with --generated, the scenarios of the rules the mutated packages answer for: ST and SEC for the consensus code, NB and ADM-9 to ADM-12 for refnode/gossip)")
	var generated generatedFlags
	generated.register(fs)
	fs.Usage = mutationUsage(fs)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if chosen, err := generated.chosen(fs); err != nil {
		fmt.Fprintln(stderr, "sskit mutation:", err)
		return exitUsage
	} else if chosen {
		return cmdMutationGenerated(generatedRun{generatedFlags: generated, args: args, tags: *tags, parallel: *parallel}, stdout, stderr)
	}
	ctx, cancel := interruptible()
	defer cancel()
	out, err := exec.CommandContext(ctx, *binary, "--list-mutants").Output()
	if err != nil {
		fmt.Fprintf(stderr, "sskit mutation: %s --list-mutants: %v (build it with: make mutation)\n", *binary, err)
		return exitFailed
	}
	var mutants []mutant
	if err := json.Unmarshal(out, &mutants); err != nil || len(mutants) == 0 {
		fmt.Fprintf(stderr, "sskit mutation: %s listed no mutants: %v\n", *binary, err)
		return exitFailed
	}
	if *only != "" {
		keep := strings.Split(*only, ",")
		mutants = slices.DeleteFunc(mutants, func(m mutant) bool { return !slices.Contains(keep, m.Name) })
	}
	results, err := os.MkdirTemp("", "sskit-mutation-")
	if err != nil {
		fmt.Fprintln(stderr, "sskit mutation:", err)
		return exitFailed
	}
	defer os.RemoveAll(results)
	run := func(name string, command []string) (*conformance.Result, error) {
		return conformance.Run(ctx, conformance.Options{
			Impl: harness.Implementation{Name: name, Command: command}, Seed: 1,
			ResultsDir: results, Suite: sskit.Suite, Concurrency: *parallel, Tags: *tags,
			SkipPreflight: true, // a mutant is judged by the rules it breaks, even one that breaks GET /v1/node
		})
	}
	// The unmutated build must pass, or every "kill" below would mean nothing.
	base, err := run("refnode-mutants", []string{*binary})
	if err != nil || base.NotCertified() {
		fmt.Fprintf(stderr, "sskit mutation: the mutants build without a mutant fails the suite (%v); fix that first\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "baseline: %s without a mutant passes (%v)\n\n", *binary, base.Duration.Round(time.Millisecond))

	// Fixed widths, so that rows line up although each is printed as soon as its mutant is done.
	const row = "%-32s %-8s %-9s %-30s %-52s %s\n"
	fmt.Fprintf(stdout, row, "MUTANT", "BREAKS", "VERDICT", "KILLED BY RULES", "FIRST FAILING SCENARIO", "TIME")
	var rows []mutationRow
	for _, m := range mutants {
		res, err := run("mutant-"+m.Name, []string{*binary, "--mutant", m.Name})
		if ctx.Err() != nil {
			harness.CloseAll()
			fmt.Fprintln(stderr, "sskit mutation: interrupted")
			return exitAborted
		}
		if err != nil {
			fmt.Fprintln(stderr, "sskit mutation:", err)
			return exitFailed
		}
		r := mutationRow{mutant: m, Took: res.Duration}
		for _, rr := range res.Rules {
			if rr.Status == conformance.Failed {
				r.ByRules = append(r.ByRules, rr.ID)
			}
		}
		// A mutant is killed when a MUST rule fails, or when the rule it breaks fails even if
		// that rule is a SHOULD (such as TRN-7's timeout): its own scenario saw the defect.
		r.Killed = res.NotCertified() || slices.Contains(r.ByRules, m.Breaks)
		for _, sc := range res.Scenarios {
			if sc.Status == conformance.Failed {
				r.Scenario = sc.Title()
				break
			}
		}
		verdict := "killed"
		if !r.Killed {
			verdict = "SURVIVED"
		} else if !slices.Contains(r.ByRules, m.Breaks) {
			verdict = "killed*" // by other rules than the one it breaks
		}
		fmt.Fprintf(stdout, row, m.Name, m.Breaks, verdict, ruleList(r.ByRules, m.Breaks), truncate(r.Scenario, 52), r.Took.Round(100*time.Millisecond))
		rows = append(rows, r)
	}
	survivors := 0
	for _, r := range rows {
		if !r.Killed {
			survivors++
		}
	}
	for _, r := range rows {
		if r.Killed && !slices.Contains(r.ByRules, r.Breaks) {
			fmt.Fprintln(stdout, "* killed, but not by the rule it breaks: that rule's scenarios may be too weak")
			break
		}
	}
	fmt.Fprintf(stdout, "\n%d mutants, %d killed, %d survived\n", len(rows), len(rows)-survivors, survivors)
	if survivors > 0 {
		return exitFailed
	}
	return exitOK
}

// ruleList shows the rule the mutant breaks first, then up to three others and how many more.
func ruleList(rules []string, breaks string) string {
	var out []string
	if slices.Contains(rules, breaks) {
		out = append(out, breaks)
	}
	for _, r := range rules {
		if r != breaks && len(out) < 4 {
			out = append(out, r)
		}
	}
	if more := len(rules) - len(out); more > 0 {
		out = append(out, fmt.Sprintf("+%d", more))
	}
	return strings.Join(out, " ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
