package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"github.com/stableset/sskit/bench/report"
)

const benchReportUsage = `Usage: sskit bench report DIR

Writes DIR/report.md, DIR/report.html and the figures (DIR/*.svg, drawn with gonum.org/v1/plot)
from one run of the cluster benchmarks in DIR:

  cluster.txt    go test -bench output of ./bench/cluster (required)
  raft.txt       go test -bench output of ./bench/raftcmp: the hashicorp/raft comparison
  decisions.csv  one row per decision, for the latency CDFs (-cluster.out of ./bench/cluster)
  MACHINE.md     where and how the run was made

"make bench-report" runs the benchmarks into results/bench/<UTC time>/ and then this command.
Every number in the report is read from those files; several runs of a benchmark (go test
-count) are shown as their median.
`

func cmdBenchReport(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("bench report", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, benchReportUsage) }
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if flags.NArg() != 1 {
		fmt.Fprintln(stderr, "sskit bench report: want one directory: DIR")
		return exitUsage
	}
	run, err := report.Load(flags.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "sskit bench report:", err)
		if errors.Is(err, fs.ErrNotExist) {
			return exitUsage
		}
		return exitFailed
	}
	files, err := report.Write(run)
	for _, f := range files {
		fmt.Fprintln(stdout, "wrote", f)
	}
	if err != nil {
		fmt.Fprintln(stderr, "sskit bench report:", err)
		return exitFailed
	}
	return exitOK
}
