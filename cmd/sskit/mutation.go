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
	"text/tabwriter"
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
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
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
			ResultsDir: results, Suite: sskit.Suite, Concurrency: *parallel,
		})
	}
	// The unmutated build must pass, or every "kill" below would mean nothing.
	base, err := run("refnode-mutants", []string{*binary})
	if err != nil || base.MustFailures() > 0 {
		fmt.Fprintf(stderr, "sskit mutation: the mutants build without a mutant fails the suite (%v); fix that first\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "baseline: %s without a mutant passes (%v)\n\n", *binary, base.Duration.Round(time.Millisecond))

	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MUTANT\tBREAKS\tVERDICT\tKILLED BY RULES\tFIRST FAILING SCENARIO\tTIME")
	var rows []mutationRow
	for _, m := range mutants {
		res, err := run("mutant-"+m.Name, []string{*binary, "--mutant", m.Name})
		if ctx.Err() != nil {
			tw.Flush()
			fmt.Fprintln(stderr, "sskit mutation: interrupted")
			return exitAborted
		}
		if err != nil {
			fmt.Fprintln(stderr, "sskit mutation:", err)
			return exitFailed
		}
		row := mutationRow{mutant: m, Killed: res.MustFailures() > 0, Took: res.Duration}
		for _, rr := range res.Rules {
			if rr.Status == conformance.Failed {
				row.ByRules = append(row.ByRules, rr.ID)
			}
		}
		for _, sc := range res.Scenarios {
			if sc.Status == conformance.Failed {
				row.Scenario = sc.Title()
				break
			}
		}
		verdict := "killed"
		if !row.Killed {
			verdict = "SURVIVED"
		} else if !slices.Contains(row.ByRules, m.Breaks) {
			verdict = "killed (not by " + m.Breaks + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", m.Name, m.Breaks, verdict, strings.Join(row.ByRules, " "), truncate(row.Scenario, 60), row.Took.Round(100*time.Millisecond))
		tw.Flush()
		rows = append(rows, row)
	}
	survivors := 0
	for _, r := range rows {
		if !r.Killed {
			survivors++
		}
	}
	fmt.Fprintf(stdout, "\n%d mutants, %d killed, %d survived\n", len(rows), len(rows)-survivors, survivors)
	if survivors > 0 {
		return exitFailed
	}
	return exitOK
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
