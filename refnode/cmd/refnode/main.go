// Command refnode runs the sskit reference node: a stableset node over QUIC with an HTTP admin API.
// Run refnode --help for the flags; every flag can also come from an SSKIT_* environment variable
// (for container images), and a flag wins over its variable.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stableset/sskit/refnode/gossip"
	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/node"
	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes that scripts and harnesses can rely on (SPEC.md NC-6).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

const usageText = `refnode — the sskit reference stableset node

Usage:
  refnode --listen IP:PORT --admin IP:PORT [--seed HEX | --key-file PATH] [--bootstrap NAME@IP:PORT ...]

The node speaks the stableset protocol over QUIC on --listen (UDP) and serves its admin API
over HTTP on --admin (GET /healthz, /v1/node, /v1/counters, /v1/stableset, /v1/decisions,
/v1/neighborhood, /v1/route?to=NAME, /v1/sections; POST /v1/leave, /v1/debut). Its name is its ed25519 public
key: from --seed, from --key-file (created if missing), or freshly generated. It joins a
neighborhood when told to debut: curl -d '{"peer":"NAME@IP:PORT"}' http://ADMIN/v1/debut
With --parts it implements only some parts of the spec, and the others' endpoints answer 501.

Flags (environment variable in brackets; a flag overrides its variable):
`

const usageFooter = `
Exit codes: 0 after a graceful shutdown (SIGTERM or SIGINT), 1 when the node fails at run time,
2 for bad flags or settings.

Garbage collection: GOGC=400 and GOMEMLIMIT=48MiB unless those variables are set.

Example, two nodes on one machine:
  refnode --listen 127.0.0.1:7001 --admin 127.0.0.1:8001 --seed 1111111111111111111111111111111111111111111111111111111111111111
  refnode --listen 127.0.0.1:7002 --admin 127.0.0.1:8002 \
          --bootstrap <name of the first node>@127.0.0.1:7001
  curl -s 127.0.0.1:8001/v1/counters
`

type options struct {
	listen, admin, seed, keyFile, logLevel string
	dataDir, parts                         string
	bootstrap                              multiFlag
	elderSize, sectionBits                 int
	peerTimeout                            time.Duration
	gossip                                 node.GossipConfig
	showVersion                            bool
	mutant                                 string // only with -tags mutants
	listMutants                            bool   // only with -tags mutants
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, cfg, err := parse(args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "refnode: %v\nRun refnode --help for usage.\n", err)
		if mutant.Is("bad-settings-exit-1") {
			return exitRuntime
		}
		return exitUsage
	}
	if opts.showVersion {
		fmt.Fprintf(stdout, "refnode %s (spec %s)\n", version, node.SpecVersion)
		return exitOK
	}
	if mutant.Enabled && opts.listMutants {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(mutant.All); err != nil {
			return exitRuntime
		}
		return exitOK
	}
	if mutant.Is("silent") {
		stderr = io.Discard
		log.SetOutput(io.Discard) // quic-go warns through the standard logger
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	tuneGC(getenv)
	// Signals are caught before the node starts: "refnode started" is logged inside Start, and a
	// SIGTERM sent on seeing it must reach the graceful path (NC-7), not kill the process.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	n, err := node.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "refnode: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stderr, "refnode %s name=%s listen=%s admin=%s\n", version, cfg.Identity.Name, n.Addr(), n.AdminAddr())
	if mutant.Enabled && opts.mutant != "" {
		fmt.Fprintf(stderr, "refnode: deliberate defect %q switched on (a mutants build, for testing the conformance suite)\n", opts.mutant)
	}

	got := <-sig
	cfg.Logger.Info("shutting down", "signal", got.String())
	// Leave the stableset first (SPEC.md ST-7), within what NC-7 allows for the whole shutdown.
	leaveCtx, cancelLeave := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	if !n.LeaveAndWait(leaveCtx) {
		cfg.Logger.Warn("leaving took too long; shutting down anyway")
	}
	cancelLeave()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "refnode: shutdown: %v\n", err)
		return exitRuntime
	}
	return exitOK
}

// The garbage collector's settings, unless GOGC or GOMEMLIMIT give others. A node holds a few
// MiB, and with Go's defaults (collect when the heap has doubled, at 4 MiB at least) it collected
// every few QUIC handshakes, which allocate much: with 400 the heap may grow to five times what
// is live, and the limit keeps a node that holds more (under a flood, ST-14) inside 64 MiB.
// Measured here: an 8 s flood took the node to 24 MiB with Go's defaults and 45 MiB with 400
// and no limit; in 64 nodes converging, the busiest reached 37 MiB, and a 32 MiB limit made
// them collect so often that convergence took about 10% longer.
const (
	gcPercent   = 400
	memoryLimit = 48 << 20
)

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// parse reads flags over SSKIT_* environment defaults and builds the node's configuration.
func parse(args []string, getenv func(string) string, stdout, stderr io.Writer) (options, node.Config, error) {
	var o options
	fs := flag.NewFlagSet("refnode", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by run; help is printed below
	fs.Usage = func() {}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&o.listen, "listen", env("SSKIT_LISTEN", "127.0.0.1:7000"), "UDP `IP:PORT` for QUIC [SSKIT_LISTEN]")
	fs.StringVar(&o.admin, "admin", env("SSKIT_ADMIN", "127.0.0.1:8000"), "TCP `IP:PORT` for the HTTP admin API [SSKIT_ADMIN]")
	fs.StringVar(&o.seed, "seed", env("SSKIT_SEED", ""), "ed25519 seed as 64 hex characters; fixes the node's name [SSKIT_SEED]")
	fs.StringVar(&o.keyFile, "key-file", env("SSKIT_KEY_FILE", ""), "`PATH` of a file holding the hex seed; created with a new key if missing [SSKIT_KEY_FILE]")
	fs.Var(&o.bootstrap, "bootstrap", "peer to contact at start, `NAME@IP:PORT`; repeatable [SSKIT_BOOTSTRAP, comma-separated]")
	elderDefault, elderErr := strconv.Atoi(env("SSKIT_ELDER_SIZE", "4"))
	fs.IntVar(&o.elderSize, "elder-size", elderDefault, "number of elders in a stableset [SSKIT_ELDER_SIZE]")
	peerTimeoutDefault, peerTimeoutErr := time.ParseDuration(env("SSKIT_PEER_TIMEOUT", "3s"))
	fs.DurationVar(&o.peerTimeout, "peer-timeout", peerTimeoutDefault, "how long an elder waits without hearing from a member before it witnesses its leave [SSKIT_PEER_TIMEOUT]")
	fs.StringVar(&o.dataDir, "data-dir", env("SSKIT_DATA_DIR", ""), "`DIR` that keeps the gossip record's version and the malefactor bans across restarts; none if empty [SSKIT_DATA_DIR]")
	var envErrs []error
	intFromEnv := func(dst *int, name, envName string, def int, usage string) {
		v, err := strconv.Atoi(env(envName, strconv.Itoa(def)))
		if err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s: not a number", envName))
		}
		fs.IntVar(dst, name, v, usage+" ["+envName+"]")
	}
	durationFromEnv := func(dst *time.Duration, name, envName string, def time.Duration, usage string) {
		v, err := time.ParseDuration(env(envName, def.String()))
		if err != nil {
			envErrs = append(envErrs, fmt.Errorf("%s: not a duration such as %v", envName, def))
		}
		fs.DurationVar(dst, name, v, usage+" ["+envName+"]")
	}
	intFromEnv(&o.sectionBits, "section-bits", "SSKIT_SECTION_BITS", 0, "length of the section prefix, 0 to 8, the same at every node of a network; 0 is one section (SPEC.md §10)")
	// Neighborhood gossip (SPEC.md §9); the defaults are MASQ's constants.
	intFromEnv(&o.gossip.MaxDegree, "max-degree", "SSKIT_MAX_DEGREE", gossip.DefaultMaxDegree, "most neighbors the node's own gossip record lists")
	intFromEnv(&o.gossip.MinHops, "min-hops", "SSKIT_MIN_HOPS", gossip.DefaultMinHops, "fewest hops of a route (GET /v1/route), 1 to 6")
	durationFromEnv(&o.gossip.Interval, "gossip-interval", "SSKIT_GOSSIP_INTERVAL", 10*time.Second, "how often neighbors get Standard gossip although nothing changed")
	durationFromEnv(&o.gossip.Pace, "gossip-pace", "SSKIT_GOSSIP_PACE", node.DefaultGossipPace, fmt.Sprintf("least time between two Standard gossips to one node, the changes in between sent together, doubled up to %v in a node holding %d records or more; 0 sends each at once", node.MaxCrowdedGossipPace, node.CrowdedGossipRecords))
	durationFromEnv(&o.gossip.PassExpiry, "pass-expiry", "SSKIT_PASS_EXPIRY", gossip.DefaultPassExpiry, "how long a Pass target is remembered against pass loops, and a Debut waits for its answer")
	durationFromEnv(&o.gossip.IsolatedGrace, "isolated-grace", "SSKIT_ISOLATED_GRACE", gossip.DefaultIsolatedGrace, "how long a record nobody lists is kept")
	durationFromEnv(&o.gossip.CullInterval, "cull-interval", "SSKIT_CULL_INTERVAL", gossip.DefaultCullInterval, "least time between two culls of records nobody lists")
	fs.StringVar(&o.parts, "parts", env("SSKIT_PARTS", node.AllParts.String()), "the parts of the spec to implement, a comma-separated `LIST` of core, consensus, gossip and sections (needs consensus); core is always in, and a part left out answers 501 [SSKIT_PARTS]")
	fs.StringVar(&o.logLevel, "log-level", env("SSKIT_LOG_LEVEL", "info"), "debug, info, warn or error [SSKIT_LOG_LEVEL]")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	if mutant.Enabled { // only in a binary built with -tags mutants
		fs.StringVar(&o.mutant, "mutant", env("SSKIT_MUTANT", ""), "switch on the deliberate defect `NAME` (see --list-mutants) [SSKIT_MUTANT]")
		fs.BoolVar(&o.listMutants, "list-mutants", false, "print the deliberate defects this build has, as JSON, and exit")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageText)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fmt.Fprint(stdout, usageFooter)
		}
		return o, node.Config{}, err
	}
	if mutant.Enabled {
		if err := mutant.Set(o.mutant); err != nil {
			return o, node.Config{}, err
		}
	}
	if fs.NArg() > 0 {
		return o, node.Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if elderErr != nil {
		return o, node.Config{}, fmt.Errorf("SSKIT_ELDER_SIZE: not a number")
	}
	if peerTimeoutErr != nil {
		return o, node.Config{}, fmt.Errorf("SSKIT_PEER_TIMEOUT: not a duration such as 3s")
	}
	if len(envErrs) > 0 {
		return o, node.Config{}, envErrs[0]
	}
	if o.showVersion || (mutant.Enabled && o.listMutants) {
		return o, node.Config{}, nil
	}
	cfg, err := buildConfig(o, getenv, stderr)
	return o, cfg, err
}

func buildConfig(o options, getenv func(string) string, stderr io.Writer) (node.Config, error) {
	cfg := node.Config{Listen: o.listen, Admin: o.admin, ElderSize: o.elderSize, PeerTimeout: o.peerTimeout, Version: version,
		DataDir: o.dataDir, Gossip: o.gossip}
	if o.peerTimeout < 100*time.Millisecond {
		return cfg, fmt.Errorf("--peer-timeout must be at least 100ms, got %v", o.peerTimeout)
	}
	if g := o.gossip; g.MaxDegree < 1 || g.MaxDegree > record.MaxNeighbors {
		return cfg, fmt.Errorf("--max-degree must be between 1 and %d, got %d", record.MaxNeighbors, g.MaxDegree)
	}
	if g := o.gossip; g.MinHops < 1 || g.MinHops > gossip.MaxHops {
		return cfg, fmt.Errorf("--min-hops must be between 1 and %d, got %d", gossip.MaxHops, g.MinHops)
	}
	for flagName, d := range map[string]time.Duration{"--gossip-interval": o.gossip.Interval, "--pass-expiry": o.gossip.PassExpiry,
		"--isolated-grace": o.gossip.IsolatedGrace, "--cull-interval": o.gossip.CullInterval} {
		if d < 10*time.Millisecond {
			return cfg, fmt.Errorf("%s must be at least 10ms, got %v", flagName, d)
		}
	}
	switch p := o.gossip.Pace; {
	case p < 0 || p >= o.gossip.Interval:
		return cfg, fmt.Errorf("--gossip-pace must be at least 0 and below --gossip-interval (%v), got %v", o.gossip.Interval, p)
	case p == 0:
		cfg.Gossip.Pace = -1 // node.GossipConfig's "at once"; its zero value is the default
	}
	if o.sectionBits < 0 || o.sectionBits > wire.MaxSectionBits {
		return cfg, fmt.Errorf("--section-bits must be between 0 and %d, got %d", wire.MaxSectionBits, o.sectionBits)
	}
	cfg.SectionBits = uint8(o.sectionBits)
	parts, err := node.ParseParts(o.parts)
	if err != nil {
		return cfg, err
	}
	cfg.Parts = parts
	if o.elderSize < 1 || o.elderSize > 64 {
		return cfg, fmt.Errorf("--elder-size must be between 1 and 64, got %d", o.elderSize)
	}
	for flagName, addr := range map[string]string{"--listen": o.listen, "--admin": o.admin} {
		if _, err := netip.ParseAddrPort(addr); err != nil {
			return cfg, fmt.Errorf("%s %q: want IP:PORT", flagName, addr)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	switch {
	case o.seed != "" && o.keyFile != "":
		return cfg, errors.New("give --seed or --key-file, not both")
	case o.seed != "":
		cfg.Identity, err = identity.FromHexSeed(o.seed)
	case o.keyFile != "":
		cfg.Identity, err = identity.LoadOrCreate(o.keyFile)
	default:
		cfg.Identity, err = identity.Generate()
	}
	if err != nil {
		return cfg, fmt.Errorf("identity: %w", err)
	}
	bootstraps := []string(o.bootstrap)
	if len(bootstraps) == 0 && getenv("SSKIT_BOOTSTRAP") != "" {
		bootstraps = strings.FieldsFunc(getenv("SSKIT_BOOTSTRAP"), func(r rune) bool { return r == ',' || r == ' ' })
	}
	for _, s := range bootstraps {
		b, err := node.ParseBootstrap(s)
		if err != nil {
			return cfg, err
		}
		if b.Name == cfg.Identity.Name {
			return cfg, fmt.Errorf("bootstrap %q is this node itself", s)
		}
		cfg.Bootstrap = append(cfg.Bootstrap, b)
	}
	return cfg, nil
}
