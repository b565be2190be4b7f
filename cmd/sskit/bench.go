package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stableset/sskit/bench/gate"
)

const benchUsage = `Usage:
  sskit bench compare [flags] OLD NEW   gate benchmark results against a baseline
  sskit bench report DIR                write the cluster benchmarks' report and figures

Run "sskit bench compare --help" or "sskit bench report --help" for details.
`

const benchCompareUsage = `Usage: sskit bench compare [flags] OLD NEW

Compares two files of Go benchmark results (go test -bench output) the way benchstat does:
medians with 95% confidence intervals, and the Mann-Whitney U test for each benchmark and unit
in both files. OLD is the baseline, for example results/baseline/bench.txt; NEW is the results
to check, for example the output of "make bench-quick". Run each benchmark at least 6 times
(go test -count) in both.

A result fails the gate when it is significantly worse (p < alpha) than OLD's and
  - for allocs/op: by any amount, whatever the threshold;
  - for any other unit: by more than the threshold. Worse is higher, except for units ending
    in "/s" (throughput), where worse is lower.
Units are read as benchstat reads them: ns/op is sec/op and MB/s is B/s.

Flags (before OLD and NEW):
  --threshold F   relative change that fails a unit other than allocs/op (default 0.10, i.e. 10%)
  --alpha F       significance level of the Mann-Whitney U test (default 0.05)
  --units LIST    comma-separated units to gate, e.g. 'sskit/rawquic,allocs/op'
                  (default: every unit in both files)

Exit codes: 0 no regression, 1 a regression (or nothing could be compared), 2 bad usage
(unknown flag, unreadable file, a unit that neither file reports).
`

func cmdBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "report":
			return cmdBenchReport(args[1:], stdout, stderr)
		case "compare":
			return cmdBenchCompare(args[1:], stdout, stderr)
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, benchUsage)
			return exitOK
		}
	}
	fmt.Fprintln(stderr, "sskit bench: want compare OLD NEW, or report DIR")
	return exitUsage
}

func cmdBenchCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	threshold := fs.Float64("threshold", 0.10, "relative change in the worse direction that fails, e.g. 0.10 for 10% (allocs/op: any significant increase)")
	alpha := fs.Float64("alpha", 0.05, "significance level of the Mann-Whitney U test")
	units := fs.String("units", "", "comma-separated units to gate, e.g. 'sskit/rawquic,allocs/op' (default: every unit in both files)")
	fs.SetOutput(stderr)
	// --help is a request, not a mistake: print the usage where it was asked for and exit 0.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, benchCompareUsage)
			return exitOK
		}
		fmt.Fprintln(stderr, `Run "sskit bench compare --help" for usage.`)
		return exitUsage
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "sskit bench compare: want two files: OLD NEW")
		for _, a := range fs.Args() {
			if strings.HasPrefix(a, "-") {
				fmt.Fprintf(stderr, "sskit bench compare: flags such as %s go before OLD and NEW\n", a)
				break
			}
		}
		return exitUsage
	}
	if *threshold < 0 {
		fmt.Fprintln(stderr, "sskit bench compare: --threshold must not be negative")
		return exitUsage
	}
	if *alpha <= 0 || *alpha >= 1 {
		fmt.Fprintln(stderr, "sskit bench compare: --alpha must be between 0 and 1")
		return exitUsage
	}
	oldPath, newPath := fs.Arg(0), fs.Arg(1)
	oldF, err := os.Open(oldPath)
	if err != nil {
		fmt.Fprintln(stderr, "sskit bench compare:", err)
		return exitUsage
	}
	defer oldF.Close()
	newF, err := os.Open(newPath)
	if err != nil {
		fmt.Fprintln(stderr, "sskit bench compare:", err)
		return exitUsage
	}
	defer newF.Close()
	opts := gate.Options{Threshold: *threshold, Alpha: *alpha}
	if *units != "" {
		opts.Units = strings.Split(*units, ",")
	}
	rep, err := gate.Compare(oldF, oldPath, newF, newPath, opts)
	if err != nil {
		fmt.Fprintln(stderr, "sskit bench compare:", err)
		var unitErr *gate.UnitError
		if errors.As(err, &unitErr) {
			return exitUsage
		}
		return exitFailed
	}
	rep.WriteTable(stdout)
	fmt.Fprintln(stdout)
	rep.WriteSummary(stdout)
	if len(rep.Regressions()) > 0 {
		return exitFailed
	}
	return exitOK
}
