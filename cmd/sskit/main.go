// Command sskit is the Stableset Conformance Kit's command line: it certifies a node
// implementation against conformance/SPEC.md and runs clusters of nodes by hand.
//
//	sskit conformance [flags]        run the conformance suite and write its reports
//	sskit certify [flags]            run the whole suite several times and write a certificate
//	sskit mutation [flags]           prove the suite fails every deliberately broken refnode
//	sskit bench compare OLD NEW      gate benchmark results against a baseline
//	sskit bench report DIR           write the cluster benchmarks' report and figures
//	sskit cluster up -n N [flags]    start N nodes, print them, stop them on Ctrl-C
//	sskit cluster ls                 list the clusters running on this machine
//	sskit cluster down [ID|--all]    stop clusters and remove whatever earlier runs left
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/conformance"
	"github.com/stableset/sskit/harness"
)

// Exit codes, the same for every command (README.md, "Exit codes").
const (
	exitOK      = 0
	exitFailed  = 1 // a MUST rule failed, a benchmark regressed, or the command could not do its job
	exitUsage   = 2 // bad flags, TAGS that do not parse or select nothing, conflicting options
	exitNoNode  = 3 // the kit could not run the node: no binary or image, no Docker, never ready
	exitAborted = 130
)

const usage = `sskit — the Stableset Conformance Kit

Usage:
  sskit conformance [flags]        check a node implementation (default: refnode), write reports
  sskit certify [flags]            run the whole suite 3 times and write a certificate
  sskit mutation [flags]           run the suite against every refnode mutant; all must fail
                                   (--generated N: a sample of machine-made mutants, measured)
  sskit bench compare OLD NEW      compare benchmark files like benchstat; exit 1 on a regression
  sskit bench report DIR           write report.md, report.html and figures of a cluster benchmark run
  sskit cluster up -n N [flags]    start N nodes and keep them running until Ctrl-C
  sskit cluster ls                 list running clusters
  sskit cluster down [ID | --all]  stop clusters; also removes what crashed runs left behind

  sskit version                    print sskit's version and the spec version it checks

Run "sskit <command> --help" for the flags of a command. The node under test is chosen with
--node-cmd or --node-image (or NODE_CMD / NODE_IMAGE); README.md, "Certify your node", says what
a node must do to be tested.

Exit codes:
  0    success: every MUST rule holds (conformance, certify), no regression (bench compare)
  1    a MUST rule failed, the node was not certified, a benchmark regressed,
       a hand-made mutant survived (machine-made survivors are a finding, not a failure)
  2    bad usage: flags, TAGS that do not parse or select nothing, conflicting options
  3    the kit could not run the node: missing binary or image, no Docker, the node never
       became ready or its admin API did not answer (the preflight)
  130  interrupted (a partial report is still written)
`

const clusterUsage = `Usage:
  sskit cluster up -n N [flags]    start N nodes, print their names and addresses, stop them on Ctrl-C
  sskit cluster ls                 list the clusters running on this machine
  sskit cluster down [ID | --all]  stop clusters; with no argument, remove what crashed runs left behind

"sskit cluster up --help" lists the flags of up.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "sskit %s (commit %s), spec version %s\n", version, orDash(sskitCommit()), specVersion())
		return exitOK
	case "conformance":
		return cmdConformance(args[1:], stdout, stderr)
	case "certify":
		return cmdCertify(args[1:], stdout, stderr)
	case "mutation":
		return cmdMutation(args[1:], stdout, stderr)
	case "bench":
		return cmdBench(args[1:], stdout, stderr)
	case "cluster":
		if len(args) == 2 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
			fmt.Fprint(stdout, clusterUsage)
			return exitOK
		}
		if len(args) < 2 {
			fmt.Fprintln(stderr, "sskit cluster: want up, ls or down")
			return exitUsage
		}
		switch args[1] {
		case "up":
			return cmdClusterUp(args[2:], stdout, stderr)
		case "ls":
			return cmdClusterLs(stdout, stderr)
		case "down":
			return cmdClusterDown(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "sskit cluster: unknown command %q (want up, ls or down)\n", args[1])
		return exitUsage
	}
	fmt.Fprintf(stderr, "sskit: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// nodeFlags are the flags that choose the implementation and backend, defaulting to the
// environment variables that make passes through.
type nodeFlags struct {
	cmd, image, name, backend string
	seed                      seedValue
}

func (n *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.cmd, "node-cmd", os.Getenv("NODE_CMD"), "command template of the node under test, e.g. './mynode --quic {listen} --http {admin} --key {seed}' [NODE_CMD]")
	fs.StringVar(&n.image, "node-image", os.Getenv("NODE_IMAGE"), "container image of the node under test (docker backend) [NODE_IMAGE]")
	fs.StringVar(&n.name, "impl-name", os.Getenv("IMPL_NAME"), "name of the implementation in reports [IMPL_NAME]")
	fs.StringVar(&n.backend, "backend", envOr("BACKEND", "process"), "process (local processes) or docker (containers) [BACKEND]")
	n.seed = seedValue{v: time.Now().UnixNano() % 1_000_000}
	if v := os.Getenv("SEED"); v != "" {
		n.seed.Set(v) // a bad SEED is reported by check
	}
	fs.Var(&n.seed, "seed", "seed `N` for node keys and scenario order; every run prints its seed, reuse it to repeat the run [SEED] (default random)")
}

// seedValue is a seed flag whose default is random: the help must not show one random number as
// if it were the default.
type seedValue struct {
	v   int64
	set bool
	err error
}

func (s *seedValue) String() string {
	if s == nil || !s.set {
		return ""
	}
	return strconv.FormatInt(s.v, 10)
}

func (s *seedValue) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		s.err = fmt.Errorf("seed %q is not an integer", v)
		return s.err
	}
	s.v, s.set, s.err = n, true, nil
	return nil
}

// check reports settings that cannot work, before anything starts.
func (n *nodeFlags) check() error {
	if n.seed.err != nil {
		return fmt.Errorf("SEED: %w", n.seed.err)
	}
	if !slices.Contains(conformance.Backends, n.backend) {
		return fmt.Errorf("unknown backend %q (want %s)", n.backend, strings.Join(conformance.Backends, " or "))
	}
	if n.cmd != "" && n.image != "" {
		return errors.New("set NODE_CMD (--node-cmd) or NODE_IMAGE (--node-image), not both")
	}
	if n.image != "" && n.backend == "process" && os.Getenv("BACKEND") == "process" {
		return errors.New("a container image (NODE_IMAGE) needs the docker backend, not BACKEND=process")
	}
	return nil
}

// implementation builds the implementation the flags choose (refnode is built from this
// module when none is). Call check first.
func (n *nodeFlags) implementation(ctx context.Context) (harness.Implementation, error) {
	if n.image != "" {
		n.backend = "docker" // an image implies containers
	}
	env := map[string]string{"NODE_CMD": n.cmd, "NODE_IMAGE": n.image, "IMPL_NAME": n.name}
	return conformance.ImplementationFromEnv(ctx, func(k string) string { return env[k] })
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sskit %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}

// interruptible returns a context that ends on SIGINT or SIGTERM.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func cmdConformance(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: sskit conformance [flags]

Runs the conformance suite against a node implementation (refnode unless --node-cmd or
--node-image says otherwise) and writes reports under --results. First a preflight starts one
node and asks GET /v1/node, so that a node that cannot run is reported in seconds.

Exit codes: 0 every MUST rule holds; 1 a MUST rule failed; 2 bad usage (flags, TAGS);
3 the node could not be run (preflight); 130 interrupted (a partial report is written).

Flags (each also read from the variable in brackets):
`)
		fs.PrintDefaults()
	}
	var nf nodeFlags
	nf.register(fs)
	tags := fs.String("tags", os.Getenv("TAGS"), "run only scenarios with these tags: '@WIRE-2' (one rule), '@WIRE-2,@ADM-4' (either), '@must && ~@TRN-3' (and, not) [TAGS]")
	results := fs.String("results", envOr("RESULTS", filepath.Join("results", "conformance")), "directory for reports; each run gets <dir>/<implementation>/<time>/ [RESULTS]")
	parallel := fs.Int("parallel", 3, "scenarios to run at once, at least 1")
	knownFile := fs.String("known-failures", os.Getenv("KNOWN_FAILURES"), "file of rule IDs expected to fail (one per line, # comments): shown apart, not failing the run [KNOWN_FAILURES]")
	list := fs.Bool("list", false, "print the scenarios the selection would run, with their rules, and exit without starting a node")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	usageErr := func(err error) int {
		fmt.Fprintln(stderr, "sskit conformance:", err)
		return exitUsage
	}
	if err := nf.check(); err != nil {
		return usageErr(err)
	}
	if *parallel < 1 {
		return usageErr(fmt.Errorf("--parallel %d: want at least 1", *parallel))
	}
	if *list {
		return listScenarios(*tags, stdout, stderr)
	}
	var known map[string]bool
	if *knownFile != "" {
		text, err := os.ReadFile(*knownFile)
		if err == nil {
			known, err = conformance.ReadKnownFailures(string(text), suiteSpec())
		}
		if err != nil {
			return usageErr(err)
		}
	}
	// Check TAGS before building anything: a typo must cost a second, not a build.
	if _, err := conformance.Select(conformance.Options{Tags: *tags, Suite: sskit.Suite}); err != nil {
		return usageErr(err)
	}
	harness.LeaveSignalsToCaller() // an interrupt still writes the partial report
	ctx, cancel := interruptible()
	defer cancel()
	impl, err := nf.implementation(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sskit conformance:", err)
		return exitNoNode
	}
	res, err := conformance.Run(ctx, conformance.Options{
		Impl: impl, Backend: nf.backend, Tags: *tags, Seed: nf.seed.v, ResultsDir: *results,
		Suite: sskit.Suite, Progress: stdout, Concurrency: *parallel, KnownFailures: known, CloseOnCancel: true,
	})
	var usage *conformance.UsageError
	var pre *conformance.PreflightError
	switch {
	case errors.As(err, &usage):
		return usageErr(err)
	case errors.As(err, &pre):
		fmt.Fprintln(stderr, "sskit conformance:", err)
		return exitNoNode
	case ctx.Err() != nil:
		if res != nil {
			fmt.Fprintln(stdout, res.Verdict())
			fmt.Fprintf(stdout, "Partial report: %s\n", filepath.Join(res.Dir, "report.html"))
		}
		fmt.Fprintln(stderr, "sskit conformance: interrupted")
		return exitAborted
	case err != nil:
		fmt.Fprintln(stderr, "sskit conformance:", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, res.Verdict())
	if now := res.NowPassing(); len(now) > 0 {
		fmt.Fprintf(stdout, "Known failures that now pass (remove them from %s): %s\n", *knownFile, strings.Join(now, ", "))
	}
	if res.NotCertified() {
		fmt.Fprintf(stdout, "Replay this run with --seed %d (SEED=%d).\n", res.Seed, res.Seed)
		return exitFailed
	}
	return exitOK
}

// listScenarios prints what a TAGS selection would run: the dry run of --list.
func listScenarios(tags string, stdout, stderr io.Writer) int {
	sel, err := conformance.Select(conformance.Options{Tags: tags, Suite: sskit.Suite})
	if err != nil {
		fmt.Fprintln(stderr, "sskit conformance:", err)
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE:LINE\tSCENARIO\tRULES")
	rules := map[string]bool{}
	for _, sc := range sel.Selected {
		title := sc.Name
		if sc.Variant != "" {
			title += " [" + sc.Variant + "]"
		}
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\n", sc.File, sc.Line, title, strings.Join(sc.Rules, " "))
		for _, id := range sc.Rules {
			rules[id] = true
		}
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d scenarios checking %d of the %d rules of spec version %s\n", len(sel.Selected), len(rules), len(sel.Spec.Rules), sel.Spec.Version)
	return exitOK
}

// suiteSpec is the SPEC.md compiled into sskit. It cannot fail to parse: a test checks it.
func suiteSpec() *conformance.Spec {
	text, err := sskit.Suite.ReadFile("conformance/SPEC.md")
	if err != nil {
		panic(err)
	}
	spec, err := conformance.ParseSpec(string(text))
	if err != nil {
		panic(err)
	}
	return spec
}

func specVersion() string { return suiteSpec().Version }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clusterRecord is what "cluster up" leaves in the state directory for ls and down.
type clusterRecord struct {
	ID      string       `json:"id"`
	PID     int          `json:"pid"`
	Backend string       `json:"backend"`
	Impl    string       `json:"implementation"`
	Started time.Time    `json:"started"`
	Nodes   []nodeRecord `json:"nodes"`
}

type nodeRecord struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	QUIC  string `json:"quic"`
	Admin string `json:"admin"`
	Log   string `json:"log"`
}

func stateDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "sskit", "clusters")
	}
	return filepath.Join(os.TempDir(), "sskit-clusters")
}

func cmdClusterUp(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster up", flag.ContinueOnError)
	var nf nodeFlags
	nf.register(fs)
	n := fs.Int("n", 4, "number of nodes; node 0 starts alone and the others bootstrap to it")
	logs := fs.String("logs", "", "directory for node logs (default: a new temporary directory)")
	sectionBits := fs.Int("section-bits", 0, "section prefix length, 0 to 8 (SPEC.md §10); nodes of other sections than node 0's are pointed to theirs, or found them")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *n < 1 {
		fmt.Fprintln(stderr, "sskit cluster up: -n must be at least 1")
		return exitUsage
	}
	if *sectionBits < 0 || *sectionBits > 8 {
		fmt.Fprintln(stderr, "sskit cluster up: -section-bits must be between 0 and 8")
		return exitUsage
	}
	if err := nf.check(); err != nil {
		fmt.Fprintln(stderr, "sskit cluster up:", err)
		return exitUsage
	}
	if *logs == "" { // the user reads these logs after the cluster stops, so they are kept
		dir, err := os.MkdirTemp("", "sskit-cluster-logs-")
		if err != nil {
			fmt.Fprintln(stderr, "sskit cluster up:", err)
			return exitFailed
		}
		*logs = dir
	}
	ctx, cancel := interruptible()
	defer cancel()
	impl, err := nf.implementation(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sskit cluster up:", err)
		return exitNoNode
	}
	c, err := harness.NewCluster(ctx, harness.Options{Impl: impl, Backend: nf.backend, Seed: nf.seed.v, LogDir: *logs, Progress: stderr,
		SectionBits: *sectionBits})
	if err != nil {
		fmt.Fprintln(stderr, "sskit cluster up:", err)
		return exitFailed
	}
	defer c.Close()
	if err := c.Start(ctx, *n); err != nil {
		fmt.Fprintln(stderr, "sskit cluster up:", err)
		return exitNoNode
	}
	rec := clusterRecord{ID: c.ID, PID: os.Getpid(), Backend: c.Backend(), Impl: impl.Name, Started: time.Now().UTC()}
	for _, node := range c.Nodes() {
		rec.Nodes = append(rec.Nodes, nodeRecord{Index: node.Index, Name: node.Name.String(), QUIC: node.QUIC().String(),
			Admin: "http://" + node.Settings.Admin.String(), Log: node.LogPath})
	}
	path := filepath.Join(stateDir(), c.ID+".json")
	if err := os.MkdirAll(stateDir(), 0o755); err == nil {
		b, _ := json.MarshalIndent(rec, "", "  ")
		_ = os.WriteFile(path, b, 0o644)
		defer os.Remove(path)
	}
	printNodes(stdout, []clusterRecord{rec})
	fmt.Fprintf(stdout, "\ncluster %s is up; Ctrl-C (or sskit cluster down %s) stops it\n", c.ID, c.ID)
	<-ctx.Done()
	fmt.Fprintln(stderr, "sskit: stopping the cluster")
	if err := c.Close(); err != nil {
		fmt.Fprintln(stderr, "sskit cluster up: close:", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "sskit: the nodes' logs stay in %s\n", *logs)
	return exitOK
}

func printNodes(w io.Writer, clusters []clusterRecord) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tNODE\tNAME\tQUIC\tADMIN\tLOG")
	for _, c := range clusters {
		for _, n := range c.Nodes {
			fmt.Fprintf(tw, "%s\t%d\t%s…\t%s\t%s\t%s\n", c.ID, n.Index, n.Name[:16], n.QUIC, n.Admin, n.Log)
		}
	}
	tw.Flush()
}

// liveClusters reads the state directory and drops records of processes that are gone.
func liveClusters() []clusterRecord {
	files, _ := filepath.Glob(filepath.Join(stateDir(), "*.json"))
	var out []clusterRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		var rec clusterRecord
		if err != nil || json.Unmarshal(b, &rec) != nil {
			continue
		}
		if syscall.Kill(rec.PID, 0) != nil {
			_ = os.Remove(f)
			continue
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

func cmdClusterLs(stdout, stderr io.Writer) int {
	clusters := liveClusters()
	if len(clusters) == 0 {
		fmt.Fprintln(stdout, "no clusters running")
		return exitOK
	}
	printNodes(stdout, clusters)
	return exitOK
}

func cmdClusterDown(args []string, stdout, stderr io.Writer) int {
	all := len(args) == 1 && args[0] == "--all"
	if len(args) > 1 || (len(args) == 1 && !all && strings.HasPrefix(args[0], "-")) {
		fmt.Fprintln(stderr, "sskit cluster down: want an ID, --all, or nothing (leftovers only)")
		return exitUsage
	}
	found := len(args) == 0
	for _, c := range liveClusters() {
		if all || (len(args) == 1 && args[0] == c.ID) {
			found = true
			fmt.Fprintf(stdout, "stopping cluster %s (pid %d)\n", c.ID, c.PID)
			_ = syscall.Kill(c.PID, syscall.SIGTERM)
			deadline := time.Now().Add(30 * time.Second)
			for syscall.Kill(c.PID, 0) == nil && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if !found && !all {
		fmt.Fprintf(stderr, "sskit cluster down: no running cluster %s\n", args[0])
		return exitFailed
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := harness.SweepAll(ctx); err != nil {
		fmt.Fprintln(stderr, "sskit cluster down:", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, "removed the node processes, containers, networks and packet-filter rules that earlier runs left behind")
	return exitOK
}
