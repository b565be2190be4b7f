// Package cluster benchmarks whole clusters of stableset nodes (refnode, built from this module)
// on the harness: how long a join or a leave takes to decide, what it costs in frames, how fast
// a cluster works through changes requested at once, and how long anti-entropy takes to bring a
// partitioned cluster back together, for every cluster size N in -cluster.nodes (default 4, 8,
// 16, 32, 64). Like the conformance suite it sees the nodes only through their admin API:
// GET /v1/stableset for agreement, GET /v1/decisions (SPEC.md ST-12) for what each decision cost
// by the nodes' own records, GET /v1/counters for every frame sent.
//
// # Running
//
//	make bench-cluster                      # the benchmarks, printed in Go benchmark format
//	make bench-report                       # and the hashicorp/raft comparison, into results/bench/<run>/
//	go test -run '^$' -bench Cluster ./bench/cluster/ -args -cluster.nodes=4,8 -cluster.samples=10
//
// BenchmarkCluster runs only when named (-bench Cluster) or with SSKIT_BENCH_CLUSTER set, so that
// make bench (-bench . over ./bench/...) and make test never start 64-node clusters. Each
// sub-benchmark runs its experiment once per -count (-benchtime defaults to 1x here); the sample
// sizes are flags: -cluster.nodes, -cluster.samples (sequential join+leave pairs per size),
// -cluster.joiners (nodes joining at once), -cluster.backend (process or docker; BACKEND),
// -cluster.start-parallel (nodes started at once while forming), -cluster.out (a directory for
// decisions.csv; SSKIT_BENCH_OUT) and -cluster.quiet. Progress goes to stderr.
//
// # What is measured
//
// For each N the benchmark forms one cluster: the first node alone, then the others through it
// in waves of -cluster.start-parallel, until every node is a member of one stableset of N. Then,
// on that cluster, in this order:
//
// BenchmarkCluster/nodes=N/decisions first times 100 PINGs to the first node (the idle round
// trip, below), then makes -cluster.samples joins and as many leaves one at a
// time: a new node joins through the first node, every node agrees on N+1 members, the new node
// leaves through POST /v1/leave, every node agrees on N members and the leaver is stopped. The
// elders do not change throughout.
//
// BenchmarkCluster/nodes=N/concurrent starts -cluster.joiners new nodes joining through the first
// node while that node is paused (SIGSTOP, or docker pause), resumes it so that it hears every
// request at once, waits until every node agrees, then has the same nodes leave at once; it does
// that -cluster.rounds times (6) and reports the decisions per second over all the rounds, since
// one round at 64 nodes ranged from 24 to 84 joins per second; 3 rounds gave 37 in one report, 5
// rounds 58 and 72 in two runs a day later.
//
// BenchmarkCluster/nodes=N/anti-entropy cuts off one elder and the youngest other members, a
// quarter of the nodes in all (at least the elder), with a real partition (iptables; it needs
// root and skips without it), waits until the majority side has removed them, heals, and waits
// until every node is again a member of one stableset of N (SPEC.md ST-8, ST-11).
//
// BenchmarkCluster/nodes=N/gossip-convergence forms -cluster.gossip-runs fresh clusters of N,
// since gossip starts from nothing once per cluster, one after another and after the cluster of
// the other sub-benchmarks has stopped, so that nothing else runs beside them. In each, every node but the first debuts
// through the first at once (POST /v1/debut), and the benchmark waits, up to 60 s, until every
// node holds the current record of every other node and lists no half link (SPEC.md NB-9),
// reading every neighborhood every 50 ms or 3 ms per node, whichever is longer. It reports the
// share of runs that converged (converged), the runs, the time (converge-p50-ms,
// converge-max-ms), the time by which every node held a record, of any version, of every other
// node (known-p50-ms: what hashicorp/memberlist's convergence is judged by, every node listing
// every node), and the GOSSIP and GOSSIP_FAILURE frames sent in all (gossip-frames, mean) of
// those that did; a run that did not names what was missing and keeps its node logs.
//
// The time of a run is from the debuts to the latest last change (SPEC.md ADM-12's changed)
// among the nodes, read once the polls show them converged: the moment the last node reached
// its final state, by the nodes' own clocks, as memberlist's time is. A node that gives no
// changed leaves the run timed by the polls, late by up to one round and pause (a round of 64
// polls took up to 0.8 s while the nodes were busy). converge-polled-p50-ms is when the polls
// saw it, and timed-by-nodes the share of runs timed by the nodes; known-p50-ms is always
// polled, and taken as at most the converged time, since convergence implies it.
//
// # Definitions
//
// A decision is one join or leave of one instance, named (kind, member name, ordinal) the same
// way in every node's GET /v1/decisions. Every live node's records are read 2.5 s after the last
// change, since a node charges a decision with the anti-entropy frames it sends within 2 s of
// applying it; a leaver's records are read before it is stopped.
//
//   - Decision latency: from the earliest "started" any node other than the subject recorded to
//     the latest "applied" among the elders. That is the decision itself: the elders decide it,
//     and the other members learn it afterwards from the elders' STABLESET (ST-10). It starts
//     when the first member hears of the change, for a join and a leave alike, as raft's
//     AddVoter is timed from the leader's call; the subject's request on its way there is not in
//     it (the joiner's process start and greeting PING, the leaver's frame to that member).
//   - Breakdown (join-heard-ms, join-first-applied-ms, and leave-…; Decision.Breakdown): two
//     moments within the latency, from the same start: every elder had heard of the change (the
//     latest "started" among the elders other than the subject) and the first elder applied it.
//     A join takes two deliveries in a row, the first elder's WITNESS_REQUESTs to the other
//     elders (heard) and their witnesses to each other (applied), since an elder witnesses a
//     join only when asked and counts a witness only from its sender (ST-2, ST-9); a leave's
//     first deliveries are the leaver's own requests to every elder (ST-7).
//   - From request (join-from-request-ms, leave-from-request-ms): the same end, from the
//     subject's own request (its record's "started"): a join and a leave on the footing of what
//     their subjects wait.
//   - Joiner in (joiner-in-ms): what a joiner waits, by its own record (ST-12): from its first
//     request to taking the stableset a majority of the elders sent it (ST-5). It includes the
//     connections between the joiner and the elders it did not ask: the joiner pings them once
//     one elder's stableset shows it in, and they answer with theirs (ST-5, ST-10), after the
//     decision rather than during it. Its legs (Decision.JoinerLegs): the request's way to the
//     first member (joiner-reach-ms: a QUIC handshake and the greeting PING), the decision (the
//     join latency), and from the last elder applying to the joiner taking the stableset
//     (joiner-told-ms: the handshakes with the elders it did not ask, then their STABLESETs).
//   - Leaver out (leaver-out-ms): what a leaver waits, by its own record (ST-12): from asking to
//     leave (POST /v1/leave) to applying its leave, when a majority of the elders witnessed it or
//     their stableset without it arrived. With joiner in, it is the figure a user waits for.
//   - Frames among the elders (msgs/decision): the sum over every node of elder_frames_sent, the
//     frames it sent to elders while an elder itself; SPEC.md ST-9 bounds it by 24, and the
//     conformance suite checks the same sum (decisionsWithinBudget).
//   - All frames (all-msgs/decision): the sum over every node of elder_frames_sent and
//     other_frames_sent: the consensus, the STABLESET announcements to every member that is not
//     an elder and to the subject, and anti-entropy. It grows with N by design.
//   - Decisions per second (joins/s, leaves/s): the changes requested at once, over the time
//     from requesting them (resuming the first node, which the joiners' requests wait for, or
//     sending the leave requests) to the last elder applying the last of them.
//   - Idle round trip (idle-rtt-ms): before the decisions, a scripted peer in the benchmark's
//     process sends the first node 100 PINGs over one QUIC connection, one every 20 ms so that
//     both sides are idle when each arrives, and times each until its PONG. A decision is about
//     one such round trip among the elders (a WITNESS_REQUEST out, the witnesses back), so
//     join p50 ÷ idle-rtt p50 says how much of a decision is anything but the network.
//   - Convergence (converge-ms): from healing the partition until every node, polled every 50
//     ms or 3 ms per node, whichever is longer, reports phase member of one stableset of N
//     members.
//
// # Units
//
//	decisions           join-p50-ms join-p90-ms join-p99-ms join-max-ms (and leave-…): latency
//	                    percentiles (nearest rank; with fewer than 100 decisions p99 is the max)
//	                    msgs/decision max-msgs/decision join-msgs/decision leave-msgs/decision:
//	                    frames among the elders, mean and maximum; all-msgs/decision
//	                    join-all-msgs/decision: all frames, mean; decisions: how many;
//	                    joiner-in-p50-ms joiner-in-p99-ms joiner-in-max-ms;
//	                    joiner-reach-p50-ms joiner-told-p50-ms (two legs of joiner in);
//	                    leaver-out-p50-ms leaver-out-p99-ms leaver-out-max-ms;
//	                    join-from-request-p50-ms -p99-ms -max-ms (and leave-…);
//	                    join-heard-p50-ms join-first-applied-p50-ms (and leave-…);
//	                    idle-rtt-p50-ms idle-rtt-p99-ms
//	concurrent          joins/s leaves/s; join-p50-ms join-max-ms leave-p50-ms leave-max-ms;
//	                    msgs/decision max-msgs/decision all-msgs/decision
//	anti-entropy        split-ms (partition until the majority side removed the cut-off nodes),
//	                    converge-ms, anti-entropy-frames (the nodes' anti_entropy_frames
//	                    counters), frames (every frame sent, pings included, GET
//	                    /v1/counters), both from healing to convergence; cut-off-nodes,
//	                    rejoined-nodes
//
// ns/op is suppressed: an experiment's time is mostly waiting for agreement. The benchmark also
// prints cluster-impl, cluster-backend, cluster-samples, cluster-joiners and cluster-rounds as
// configuration lines, which benchstat and sskit bench report show.
//
// decisions.csv, when -cluster.out is set, gets one row per measured decision: nodes, experiment
// (decisions or concurrent), kind, member, ordinal, started, latency_ms, elder_frames,
// all_frames. sskit bench report (package bench/report) draws the latency CDFs from it.
//
// # Caveats
//
// Every node runs on the same machine as the benchmark, which polls them; on two cores a
// 64-node cluster competes with itself for the CPU, and latencies are those of a loaded
// machine. A round of polling asks every node once, so rounds are at least 3 ms per node
// apart: at 64 nodes, rounds every 50 ms took a sixth of the nodes' CPU and cut the
// concurrent joins per second to less than half. Decision times come from the nodes' own
// logs and do not depend on the polling; the convergence times after a partition do, to
// within one round. Compare runs made on the same machine, and prefer the frame counts,
// which do not depend on timing in a fault-free run.
package cluster
