package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stableset/sskit/bench/gate"
)

func cmdBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "report" {
		return cmdBenchReport(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "compare" {
		fmt.Fprintln(stderr, "sskit bench: want compare OLD NEW, or report DIR")
		return exitUsage
	}
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	threshold := fs.Float64("threshold", 0.10, "relative change in the worse direction that fails, e.g. 0.10 for 10% (allocs/op: any significant increase)")
	alpha := fs.Float64("alpha", 0.05, "significance level of the Mann-Whitney U test")
	units := fs.String("units", "", "comma-separated units to gate, e.g. 'sskit/rawquic,allocs/op' (default: every unit in both files)")
	fs.SetOutput(stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "sskit bench compare: want two files: OLD NEW")
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
		return exitFailed
	}
	rep.WriteTable(stdout)
	if regs := rep.Regressions(); len(regs) > 0 {
		fmt.Fprintf(stdout, "\nREGRESSION: %d benchmark(s) significantly worse than %s by more than %.0f%%\n", len(regs), oldPath, 100**threshold)
		return exitFailed
	}
	fmt.Fprintf(stdout, "\nno significant regression against %s (threshold %.0f%%, alpha %.2f)\n", oldPath, 100**threshold, *alpha)
	return exitOK
}
