// Package report turns one run of the cluster benchmarks into a report: it reads a run
// directory (results/bench/<run>/, written by make bench-report) holding
//
//	cluster.txt     go test -bench output of bench/cluster (Go benchmark format)
//	raft.txt        go test -bench output of bench/raftcmp, the hashicorp/raft comparison
//	raft-quic.txt   the same with raft over QUIC (-raft.transport=quic), refnode's transport
//	memberlist.txt  go test -bench output of bench/memberlistcmp, the hashicorp/memberlist comparison
//	decisions.csv   one row per measured decision, for latency CDFs
//	MACHINE.md      where and how the run was made
//
// and writes report.md and report.html beside them, with figures drawn by gonum.org/v1/plot:
// latency CDFs per cluster size and the growth of each cost with the cluster size. Every
// number in the report comes from those files; when several runs of a benchmark are present
// (go test -count), the tables show their medians. The report is built once as a list of
// blocks and rendered twice, so the Markdown and the HTML always agree.
package report
