// Package harness runs clusters of stableset nodes for conformance tests and benchmarks. It starts
// any implementation through the node contract of conformance/SPEC.md §6 (a command template or a
// container image, with settings as placeholders and SSKIT_* variables), waits for readiness on
// /healthz, keeps every node's log, injects real faults (kill, restart, pause, partitions and
// packet loss) and always cleans up after itself. It treats nodes as black boxes: it talks to them
// only through the wire protocol and the admin API.
package harness

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// Implementation says how to start the node under test: a command template or a container image.
type Implementation struct {
	Name    string   // label used in reports and result paths, e.g. "refnode"
	Command []string // argv template with {listen} {admin} {seed} {bootstrap} {elder_size} {data_dir} {section_bits}
	Image   string   // container image, for the docker backend
}

// ParseCommand splits a NODE_CMD value on white space (no shell quoting: a template is an
// argument list, SPEC.md §6).
func ParseCommand(s string) []string { return strings.Fields(s) }

// Settings are one node's values for the node contract.
type Settings struct {
	Listen    netip.AddrPort
	Admin     netip.AddrPort
	Seed      string   // 64 hex characters
	Bootstrap []string // NAME@IP:PORT
	ElderSize int
	DataDir   string
	// SectionBits is the length of a section prefix, 0 to 8 (0: one section), the same at every
	// node of a network (SPEC.md SEC-1).
	SectionBits int
	// Raw replaces the text of a setting (listen, admin, seed, bootstrap, elder_size, data_dir,
	// section_bits) as given to the node, to test how a node treats values it cannot use
	// (SPEC.md NC-6).
	Raw map[string]string
}

// values are the settings as the text a node receives, keyed by placeholder name.
func (s Settings) values() [][2]string {
	v := [][2]string{
		{"listen", s.Listen.String()}, {"admin", s.Admin.String()}, {"seed", s.Seed},
		{"bootstrap", strings.Join(s.Bootstrap, ",")}, {"elder_size", strconv.Itoa(s.ElderSize)},
		{"data_dir", s.DataDir}, {"section_bits", strconv.Itoa(s.SectionBits)},
	}
	for i := range v {
		if raw, ok := s.Raw[v[i][0]]; ok {
			v[i][1] = raw
		}
	}
	return v
}

// Env returns the settings as SSKIT_* variables.
func (s Settings) Env() []string {
	var env []string
	for _, kv := range s.values() {
		env = append(env, "SSKIT_"+strings.ToUpper(kv[0])+"="+kv[1])
	}
	return env
}

// Expand fills the placeholders of a command template.
func (s Settings) Expand(template []string) []string {
	var pairs []string
	for _, kv := range s.values() {
		pairs = append(pairs, "{"+kv[0]+"}", kv[1])
	}
	r := strings.NewReplacer(pairs...)
	out := make([]string, len(template))
	for i, arg := range template {
		out[i] = r.Replace(arg)
	}
	return out
}

// Ports every node uses on its own IP address.
const (
	QUICPort  = 7000
	AdminPort = 8000
)

// Backend starts node instances somewhere: local processes or containers.
type Backend interface {
	// Kind is "process" or "docker".
	Kind() string
	// IP is the address node index will listen on.
	IP(index int) netip.Addr
	// HostIP is an address of the harness's machine that nodes can reach and send to, for
	// scripted peers.
	HostIP() netip.Addr
	// Start starts one node with its settings and log file, without waiting for readiness.
	Start(ctx context.Context, n *Node) (Instance, error)
	// Close removes everything the backend made (processes, containers, networks, rules).
	Close(ctx context.Context) error
}

// Instance is one running node: a process or a container.
type Instance interface {
	// Stop sends SIGTERM and waits up to timeout for the exit, then kills. It returns the exit code.
	Stop(ctx context.Context, timeout time.Duration) (int, error)
	// Kill ends the node at once (SIGKILL).
	Kill(ctx context.Context) error
	// Pause and Resume freeze and thaw the node (SIGSTOP/SIGCONT, docker pause).
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	// Exited reports whether the node has ended, and its exit code.
	Exited() (bool, int)
	// NetNS is the pid whose network namespace holds the node, or 0 for the harness's own.
	NetNS() int
	// PID is the node's process as this machine sees it (a container's first process), or 0
	// once it has ended.
	PID() int
}

// ErrUnsupported is returned for a fault the backend cannot inject.
var ErrUnsupported = errors.New("harness: fault not supported by this backend")

// Node is one member of a cluster as the harness sees it.
type Node struct {
	Index    int
	Name     wire.Name
	Settings Settings
	LogPath  string
	ReadyIn  time.Duration   // how long the last start took to answer /healthz
	Impl     *Implementation // the node's own implementation in a mixed cluster; nil: the cluster's
	Launch   Launch          // exactly what the last start gave the node

	cluster *Cluster
	inst    Instance
}

// Launch is what a node was started with, for evidence in logs and reports: an implementer whose
// node misbehaves must be able to run it by hand the same way.
type Launch struct {
	Argv  []string `json:"argv,omitempty"`  // the expanded command (the container's command for an image)
	Image string   `json:"image,omitempty"` // the container image, docker backend
	Env   []string `json:"env"`             // the SSKIT_* variables
}

// CommandLine is the command as it would be typed in a POSIX shell.
func (l Launch) CommandLine() string { return ShellWords(l.Argv) }

// header is the block a backend writes at the top of a start in the node's log.
func (l Launch) header() string {
	var b strings.Builder
	if l.Image != "" {
		fmt.Fprintf(&b, "=== sskit: image %s ===\n", l.Image)
	}
	if len(l.Argv) > 0 {
		fmt.Fprintf(&b, "=== sskit: command %s ===\n", ShellWords(l.Argv))
	}
	for _, kv := range l.Env {
		fmt.Fprintf(&b, "=== sskit: env %s ===\n", kv)
	}
	return b.String()
}

// ShellWords writes argv as one POSIX shell line, quoting only the words that need it, so that a
// person can read it and paste it into a terminal.
func ShellWords(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = a
		if a == "" || strings.ContainsFunc(a, func(r rune) bool { return !strings.ContainsRune(shellPlain, r) }) {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// shellPlain are the characters a word may hold and stay one word, as it is, in sh (braces are
// not among them: bash expands {a,b}).
const shellPlain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-"

// QUIC is the node's protocol address.
func (n *Node) QUIC() netip.AddrPort { return n.Settings.Listen }

// Bootstrap is the node in the NAME@IP:PORT form of --bootstrap.
func (n *Node) Bootstrap() string { return n.Name.String() + "@" + n.Settings.Listen.String() }

// Label is a short name for logs and reports: node-<index> and the start of its name.
func (n *Node) Label() string { return fmt.Sprintf("node-%d(%s)", n.Index, n.Name.String()[:8]) }

// Exited reports whether the node's process or container has ended, and its exit code.
func (n *Node) Exited() (bool, int) { return n.inst.Exited() }

// ResidentBytes is the node's resident memory (VmRSS in /proc/PID/status): what the node costs
// the machine, read from outside as any process's would be. A container's node is its first
// process, which for an image built FROM scratch is the node binary itself.
func (n *Node) ResidentBytes() (int64, error) {
	pid := n.inst.PID()
	if pid <= 0 {
		return 0, fmt.Errorf("%s has no running process", n.Label())
	}
	return residentBytes(pid)
}

func residentBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				break
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS line in kB", pid)
}

// Options configure a cluster.
type Options struct {
	Impl         Implementation
	Backend      string // "process" (default) or "docker"
	ElderSize    int    // default 4
	SectionBits  int    // every node's section bits unless its settings say otherwise; default 0
	Seed         int64  // node keys derive from it, so a run can be repeated exactly
	LogDir       string // node logs; default a new temporary directory
	ReadyTimeout time.Duration
	Progress     io.Writer // one line per step; nil for silence
}

// Cluster is a set of nodes of one implementation on one backend.
type Cluster struct {
	ID      string
	opts    Options
	backend Backend
	faults  *netFaults

	mu     sync.Mutex
	nodes  []*Node
	closed bool

	// ops counts work that may create processes, containers or networks. Close waits for it,
	// so that nothing is created after Close has removed what exists (an interrupt can arrive in
	// the middle of a start). closing ends the waits inside that work early.
	ops     sync.WaitGroup
	closing context.Context
	stop    context.CancelFunc

	closeOnce sync.Once
	closeErr  error
	ownLogDir string // a temporary log directory the cluster made itself, removed by Close
}

// beginOp registers work that may create resources; it fails once the cluster is closing.
func (c *Cluster) beginOp() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("harness: cluster closed")
	}
	c.ops.Add(1)
	return nil
}

// NewCluster prepares a backend; start nodes with Start or AddNode. Close it when done: the
// harness also closes every open cluster on SIGINT or SIGTERM.
func NewCluster(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.ElderSize == 0 {
		opts.ElderSize = 4
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	if opts.Backend == "" {
		opts.Backend = "process"
	}
	ownLogDir := ""
	if opts.LogDir == "" { // nobody asked for the logs: they go with the cluster
		dir, err := os.MkdirTemp("", "sskit-logs-")
		if err != nil {
			return nil, err
		}
		opts.LogDir, ownLogDir = dir, dir
	}
	if err := os.MkdirAll(opts.LogDir, 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{ID: newClusterID(), opts: opts, ownLogDir: ownLogDir}
	c.closing, c.stop = context.WithCancel(context.Background())
	c.ops.Add(1) // the backend's own resources; tracked first, so an interrupt waits for them
	defer c.ops.Done()
	if err := track(c); err != nil {
		return nil, err
	}
	var err error
	switch opts.Backend {
	case "process":
		c.backend, err = newProcessBackend(c.ID, opts.Impl.Command)
	case "docker":
		// Not cut short by an interrupt, like a node's start (launch): the network it creates
		// must exist, and be known to the cluster, before Close removes everything.
		setup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		c.backend, err = newDockerBackend(setup, c.ID, opts.Impl)
		cancel()
	default:
		err = fmt.Errorf("harness: unknown backend %q (want process or docker)", opts.Backend)
	}
	c.faults = newNetFaults(c.ID)
	if err != nil {
		untrack(c)
		return nil, err
	}
	c.progress("cluster %s: %s backend, logs in %s", c.ID, opts.Backend, opts.LogDir)
	return c, nil
}

func newClusterID() string {
	var b [4]byte
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())))
	copy(b[:], sum[:])
	return hex.EncodeToString(b[:])
}

func (c *Cluster) progress(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, "sskit: "+format+"\n", args...)
	}
}

// HostIP is where scripted peers bind so that nodes can reach them and they can reach nodes.
func (c *Cluster) HostIP() netip.Addr { return c.backend.HostIP() }

// Backend is the kind of backend in use.
func (c *Cluster) Backend() string { return c.backend.Kind() }

// Nodes returns the nodes started so far, in start order.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// Node returns node i.
func (c *Cluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// SeedFor is the key seed of node index i; it depends only on the cluster's Seed option.
func (c *Cluster) SeedFor(i int) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("sskit node seed %d/%d", c.opts.Seed, i)))
	return sum[:]
}

// SeedInSection is a key seed whose name lies in the section of prefix value over bits bits: the
// first byte of NameFromSeed(seed), masked to its first bits bits, equals value (so value holds
// the prefix in its high bits, as wire.SectionList does: section "1" of 1 bit is 0x80). It depends
// only on the cluster's Seed option and the arguments; different salts give different seeds. It
// panics when value has bits set past the prefix, since no name could match.
func (c *Cluster) SeedInSection(bits, value uint8, salt int) []byte {
	if bits > 8 || value&^SectionMask(bits) != 0 {
		panic(fmt.Sprintf("harness: no section %08b of %d bits", value, bits))
	}
	for k := 0; ; k++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("sskit section seed %d/%d/%d/%d/%d", c.opts.Seed, bits, value, salt, k)))
		if NameFromSeed(sum[:])[0]&SectionMask(bits) == value {
			return sum[:]
		}
	}
}

// SectionMask selects the first bits bits (0 to 8) of a name's first byte: a name's section is
// name[0] & SectionMask(bits).
func SectionMask(bits uint8) uint8 { return ^uint8(0xff >> bits) }

// NameFromSeed is the name a node must have for a seed (SPEC.md ID-3).
func NameFromSeed(seed []byte) wire.Name {
	var n wire.Name
	copy(n[:], ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	return n
}

// Start starts n nodes: the first alone, every other one with the first as bootstrap peer.
func (c *Cluster) Start(ctx context.Context, n int) error {
	var first *Node
	for i := 0; i < n; i++ {
		var boot []*Node
		if first != nil {
			boot = []*Node{first}
		}
		node, err := c.AddNode(ctx, boot...)
		if err != nil {
			return err
		}
		if first == nil {
			first = node
		}
	}
	return nil
}

// AddNode starts one more node with the given bootstrap peers and waits until it is ready.
func (c *Cluster) AddNode(ctx context.Context, bootstrap ...*Node) (*Node, error) {
	return c.AddNodeWith(ctx, func(s *Settings) {
		for _, b := range bootstrap {
			s.Bootstrap = append(s.Bootstrap, b.Bootstrap())
		}
	})
}

// NextName is the name the next node added will have.
func (c *Cluster) NextName() wire.Name {
	c.mu.Lock()
	defer c.mu.Unlock()
	return NameFromSeed(c.SeedFor(len(c.nodes)))
}

// AddNodeWith starts one more node whose settings modify may change first (bootstrap entries
// for scripted peers, or values the node cannot use) and waits until it is ready. modify may call
// the cluster's methods.
func (c *Cluster) AddNodeWith(ctx context.Context, modify func(*Settings)) (*Node, error) {
	return c.addNode(ctx, nil, modify)
}

// AddNodeOf starts one more node running impl rather than the cluster's implementation: a mixed
// cluster, such as one node under test among reference nodes.
func (c *Cluster) AddNodeOf(ctx context.Context, impl Implementation, modify func(*Settings)) (*Node, error) {
	return c.addNode(ctx, &impl, modify)
}

func (c *Cluster) addNode(ctx context.Context, impl *Implementation, modify func(*Settings)) (*Node, error) {
	if err := c.beginOp(); err != nil {
		return nil, err
	}
	defer c.ops.Done()
	c.mu.Lock()
	i := len(c.nodes)
	seed := c.SeedFor(i)
	n := &Node{Index: i, Name: NameFromSeed(seed), cluster: c, Impl: impl,
		LogPath: filepath.Join(c.opts.LogDir, fmt.Sprintf("node-%d.log", i))}
	ip := c.backend.IP(i)
	settings := Settings{
		Listen: netip.AddrPortFrom(ip, QUICPort), Admin: netip.AddrPortFrom(ip, AdminPort),
		Seed: hex.EncodeToString(seed), ElderSize: c.opts.ElderSize, SectionBits: c.opts.SectionBits,
		DataDir: filepath.Join(c.opts.LogDir, fmt.Sprintf("node-%d.data", i)),
	}
	c.nodes = append(c.nodes, n) // the index is taken; the settings are filled in below
	c.mu.Unlock()
	if modify != nil { // outside the lock, so that modify may use the cluster (its other nodes)
		modify(&settings)
	}
	// A seed that modify replaced gives the name; one the node cannot use (NC-6 tests) leaves
	// the name of the index's seed.
	if b, err := hex.DecodeString(settings.Seed); err == nil && len(b) == ed25519.SeedSize {
		n.Name = NameFromSeed(b)
	}
	n.Settings = settings
	if err := os.MkdirAll(n.Settings.DataDir, 0o755); err != nil {
		return nil, err
	}
	return n, c.launch(ctx, n)
}

// launch starts n's instance and waits for readiness. The start itself is not cut short by an
// interrupt: what it creates must exist, and be known, before Close removes everything.
func (c *Cluster) launch(ctx context.Context, n *Node) error {
	startCtx, cancelStart := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	inst, err := c.backend.Start(startCtx, n)
	cancelStart()
	if err != nil {
		if len(n.Launch.Argv) > 0 {
			return fmt.Errorf("start %s (command %s): %w", n.Label(), ShellWords(n.Launch.Argv), err)
		}
		return fmt.Errorf("start %s: %w", n.Label(), err)
	}
	c.mu.Lock()
	n.inst = inst
	c.mu.Unlock()
	if err := c.faults.restarted(ctx, n); err != nil {
		return fmt.Errorf("restore faults at %s: %w", n.Label(), err)
	}
	start := time.Now()
	readyCtx, cancelReady := context.WithCancel(ctx)
	defer context.AfterFunc(c.closing, cancelReady)()
	defer cancelReady()
	if err := n.AwaitReady(readyCtx, c.opts.ReadyTimeout); err != nil {
		return err
	}
	n.ReadyIn = time.Since(start)
	c.progress("%s ready at %s (admin %s) in %v", n.Label(), n.Settings.Listen, n.Settings.Admin, time.Since(start).Round(time.Millisecond))
	return nil
}

// StartError says why a node never became ready: how it was started, what the readiness probe
// last saw, and the end of its log.
type StartError struct {
	Node     string
	Exited   bool
	ExitCode int
	Waited   time.Duration
	URL      string // the readiness URL polled
	LastSeen string // what the last poll got: an HTTP status or a connection error
	Launch   Launch
	LogPath  string
	LogTail  string
	Err      error
}

func (e *StartError) Error() string {
	var b strings.Builder
	if e.Exited {
		fmt.Fprintf(&b, "%s exited with code %d before it was ready", e.Node, e.ExitCode)
	} else {
		fmt.Fprintf(&b, "%s did not become ready within %v: %v", e.Node, e.Waited.Round(time.Millisecond), e.Err)
	}
	if e.URL != "" {
		fmt.Fprintf(&b, "\n  readiness: GET %s", e.URL)
		if e.LastSeen != "" {
			fmt.Fprintf(&b, ", last answer: %s", e.LastSeen)
		}
	}
	if e.Launch.Image != "" {
		fmt.Fprintf(&b, "\n  image:     %s", e.Launch.Image)
	}
	if len(e.Launch.Argv) > 0 {
		fmt.Fprintf(&b, "\n  command:   %s", ShellWords(e.Launch.Argv))
	}
	if len(e.Launch.Env) > 0 {
		fmt.Fprintf(&b, "\n  env:       %s", strings.Join(e.Launch.Env, " "))
	}
	if e.LogPath != "" {
		fmt.Fprintf(&b, "\n  log:       %s", e.LogPath)
	}
	return b.String() + "\n--- end of its log ---\n" + e.LogTail
}

// AwaitReady polls GET /healthz until it answers 200 (SPEC.md NC-3), the node exits, or timeout.
func (n *Node) AwaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	startErr := func() *StartError {
		return &StartError{Node: n.Label(), Waited: time.Since(start), URL: n.AdminURL("/healthz"), Launch: n.Launch,
			LogPath: n.LogPath, LogTail: withoutLaunchHeader(n.LogTail(40 + len(n.Launch.Env)))}
	}
	lastSeen := "no answer yet"
	for {
		if exited, code := n.inst.Exited(); exited {
			e := startErr()
			e.Exited, e.ExitCode, e.LastSeen = true, code, lastSeen
			return e
		}
		// Each poll is short: a container that died leaves an address that never answers.
		poll, cancelPoll := context.WithTimeout(ctx, 500*time.Millisecond)
		status, err := n.get(poll, "/healthz", nil)
		cancelPoll()
		if err == nil && status == 200 {
			return nil
		}
		if err != nil {
			// A poll cut short by the start's own deadline says nothing about the node: keep
			// what it answered before (a refused connection, say), which is what helps.
			if ctx.Err() == nil || lastSeen == "no answer yet" {
				lastSeen = err.Error()
			}
		} else {
			lastSeen = fmt.Sprintf("HTTP %d", status)
		}
		select {
		case <-ctx.Done():
			e := startErr()
			e.LastSeen, e.Err = lastSeen, ctx.Err()
			return e
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// withoutLaunchHeader drops the command and environment lines a start writes into the log: a
// StartError states them once already.
func withoutLaunchHeader(log string) string {
	var keep []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "=== sskit: command ") && !strings.HasPrefix(line, "=== sskit: env ") && !strings.HasPrefix(line, "=== sskit: image ") {
			keep = append(keep, line)
		}
	}
	if len(keep) > 20 {
		keep = keep[len(keep)-20:]
	}
	return strings.Join(keep, "\n")
}

// LogTail returns the last lines of the node's log.
func (n *Node) LogTail(lines int) string {
	b, err := os.ReadFile(n.LogPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Kill ends node i at once.
func (c *Cluster) Kill(ctx context.Context, n *Node) error {
	c.progress("fault: kill %s", n.Label())
	return n.inst.Kill(ctx)
}

// Stop shuts node i down gracefully (SIGTERM) and returns its exit code.
func (c *Cluster) Stop(ctx context.Context, n *Node) (int, error) {
	c.progress("stop %s (SIGTERM)", n.Label())
	return n.inst.Stop(ctx, 5*time.Second)
}

// Restart stops a node if it still runs and starts it again with the same settings and key.
func (c *Cluster) Restart(ctx context.Context, n *Node) error {
	if err := c.beginOp(); err != nil {
		return err
	}
	defer c.ops.Done()
	c.progress("fault: restart %s", n.Label())
	if exited, _ := n.inst.Exited(); !exited {
		if _, err := n.inst.Stop(ctx, 5*time.Second); err != nil {
			return err
		}
	}
	return c.launch(ctx, n)
}

// Pause freezes a node; it keeps its sockets but answers nothing.
func (c *Cluster) Pause(ctx context.Context, n *Node) error {
	c.progress("fault: pause %s", n.Label())
	return n.inst.Pause(ctx)
}

// Resume thaws a paused node.
func (c *Cluster) Resume(ctx context.Context, n *Node) error {
	c.progress("fault: resume %s", n.Label())
	return n.inst.Resume(ctx)
}

// Partition drops every packet between nodes of different groups until Heal.
func (c *Cluster) Partition(ctx context.Context, groups ...[]*Node) error {
	c.progress("fault: partition %s", describeGroups(groups))
	for gi, g := range groups {
		for _, other := range groups[gi+1:] {
			for _, a := range g {
				for _, b := range other {
					if err := c.faults.block(ctx, a, b); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// Loss drops the given fraction (0 to 1) of the packets a node sends and receives.
func (c *Cluster) Loss(ctx context.Context, n *Node, fraction float64) error {
	c.progress("fault: %.0f%% packet loss at %s", fraction*100, n.Label())
	return c.faults.loss(ctx, n, fraction, c.Nodes())
}

// Delay holds back every packet a node sends by d (docker backend only).
func (c *Cluster) Delay(ctx context.Context, n *Node, d time.Duration) error {
	c.progress("fault: %v delay at %s", d, n.Label())
	return c.faults.delay(ctx, n, d)
}

// Heal removes every partition, loss and delay.
func (c *Cluster) Heal(ctx context.Context) error {
	c.progress("fault: heal")
	return c.faults.heal(ctx, c.Nodes())
}

func describeGroups(groups [][]*Node) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		idx := make([]string, len(g))
		for j, n := range g {
			idx[j] = strconv.Itoa(n.Index)
		}
		parts[i] = "{" + strings.Join(idx, ",") + "}"
	}
	return strings.Join(parts, " | ")
}

// Close stops every node (SIGTERM, then SIGKILL) and removes what the backend made. Every call,
// the first or a later one, returns only when all of that is done: an interrupt handler that
// closes a cluster a scenario is already closing must not exit the process half-way.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Cluster) close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	defer untrack(c)
	c.stop()     // readiness waits end now
	c.ops.Wait() // starts in flight finish, so what they made is known below
	c.mu.Lock()
	nodes := append([]*Node(nil), c.nodes...)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n.inst == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.inst.Resume(ctx) // a paused node cannot act on SIGTERM
			_, _ = n.inst.Stop(ctx, 3*time.Second)
		}()
	}
	wg.Wait()
	err := c.faults.heal(ctx, nodes)
	if c.backend != nil {
		err = errors.Join(err, c.backend.Close(ctx))
	}
	if c.ownLogDir != "" {
		err = errors.Join(err, os.RemoveAll(c.ownLogDir))
	}
	c.progress("cluster %s closed", c.ID)
	return err
}
