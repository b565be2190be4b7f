package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// netFaults drops packets with iptables: in the harness's own network namespace for local
// processes, and inside each container's namespace (through nsenter) for containers. Rules sit
// on the receiving side (INPUT), which every arriving packet passes once, so a sender sees no
// error and the packet simply vanishes, as in a real partition. All rules live in one chain per
// cluster and namespace, so healing is dropping the chain. Active faults are remembered and put
// back into a container that restarts, since its new namespace starts empty.
type netFaults struct {
	chain   string
	comment string

	mu     sync.Mutex
	hooked map[int]bool // namespaces (0 = the harness's own) where the chain exists
	blocks [][2]*Node
	losses map[*Node]float64
	delays map[*Node]time.Duration
}

func newNetFaults(clusterID string) *netFaults {
	return &netFaults{
		chain:   "SSKIT-" + clusterID,
		comment: fmt.Sprintf("sskit:%d:%s", os.Getpid(), clusterID),
		hooked:  map[int]bool{},
		losses:  map[*Node]float64{},
		delays:  map[*Node]time.Duration{},
	}
}

// NetworkFaultsSupported says whether this process can drop packets (root and iptables).
func NetworkFaultsSupported() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: packet faults need root (iptables)", ErrUnsupported)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return fmt.Errorf("%w: iptables is not installed", ErrUnsupported)
	}
	return nil
}

// inNamespace runs argv in the network namespace of pid (0: the harness's own).
func inNamespace(ctx context.Context, netns int, argv ...string) error {
	if netns != 0 {
		argv = append([]string{"nsenter", "-t", strconv.Itoa(netns), "-n"}, argv...)
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func iptables(ctx context.Context, netns int, args ...string) error {
	return inNamespace(ctx, netns, append([]string{"iptables", "-w"}, args...)...)
}

// nsOf is the namespace a node runs in: 0 for the harness's own, -1 when it is not running.
func nsOf(n *Node) int {
	if n.inst == nil {
		return -1
	}
	return n.inst.NetNS()
}

func (f *netFaults) ensureChain(ctx context.Context, netns int) error {
	if f.hooked[netns] {
		return nil
	}
	if err := NetworkFaultsSupported(); err != nil {
		return err
	}
	if err := iptables(ctx, netns, "-N", f.chain); err != nil {
		return err
	}
	if err := iptables(ctx, netns, "-I", "INPUT", "-m", "comment", "--comment", f.comment, "-j", f.chain); err != nil {
		return err
	}
	f.hooked[netns] = true
	return nil
}

func (f *netFaults) drop(ctx context.Context, netns int, match ...string) error {
	if err := f.ensureChain(ctx, netns); err != nil {
		return err
	}
	return iptables(ctx, netns, append(append([]string{"-A", f.chain}, match...), "-j", "DROP")...)
}

func ipOf(n *Node) string { return n.Settings.Listen.Addr().String() }

// blockIn drops packets between a and b, both ways, in one namespace.
func (f *netFaults) blockIn(ctx context.Context, netns int, a, b *Node) error {
	if err := f.drop(ctx, netns, "-s", ipOf(a), "-d", ipOf(b)); err != nil {
		return err
	}
	return f.drop(ctx, netns, "-s", ipOf(b), "-d", ipOf(a))
}

// block cuts a from b until heal. A node that is not running gets the rules when it restarts.
func (f *netFaults) block(ctx context.Context, a, b *Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := NetworkFaultsSupported(); err != nil {
		return err
	}
	f.blocks = append(f.blocks, [2]*Node{a, b})
	seen := map[int]bool{}
	for _, ns := range []int{nsOf(a), nsOf(b)} {
		if ns < 0 || seen[ns] {
			continue
		}
		seen[ns] = true
		if err := f.blockIn(ctx, ns, a, b); err != nil {
			return err
		}
	}
	return nil
}

// lossIn adds, in one namespace, the rules that drop a fraction of n's traffic arriving there:
// what reaches n in n's own namespace, and what comes from n everywhere else. On loopback all
// nodes share one namespace, which gets both.
func (f *netFaults) lossIn(ctx context.Context, netns int, n *Node, fraction float64) error {
	p := strconv.FormatFloat(fraction, 'f', 4, 64)
	stat := []string{"-m", "statistic", "--mode", "random", "--probability", p}
	if netns == nsOf(n) {
		if err := f.drop(ctx, netns, append([]string{"-d", ipOf(n)}, stat...)...); err != nil {
			return err
		}
	}
	if netns != nsOf(n) || netns == 0 {
		return f.drop(ctx, netns, append([]string{"-s", ipOf(n)}, stat...)...)
	}
	return nil
}

// loss drops a random fraction of the packets n sends and receives; each packet gets one chance.
func (f *netFaults) loss(ctx context.Context, n *Node, fraction float64, nodes []*Node) error {
	if fraction <= 0 || fraction > 1 {
		return fmt.Errorf("loss fraction %v is not in (0, 1]", fraction)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := NetworkFaultsSupported(); err != nil {
		return err
	}
	f.losses[n] = fraction
	seen := map[int]bool{}
	for _, m := range nodes {
		ns := nsOf(m)
		if ns < 0 || seen[ns] {
			continue
		}
		seen[ns] = true
		if err := f.lossIn(ctx, ns, n, fraction); err != nil {
			return err
		}
	}
	return nil
}

// delay holds back what a container sends by d with netem. Loopback is shared by every local
// process, so the process backend cannot delay one node alone, and a kernel without netem
// cannot delay at all.
func (f *netFaults) delay(ctx context.Context, n *Node, d time.Duration) error {
	ns := nsOf(n)
	if ns == 0 {
		return fmt.Errorf("%w: delay needs a node in its own network namespace (docker backend)", ErrUnsupported)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delays[n] = d
	if ns < 0 {
		return nil // put in place when the node starts again
	}
	return setNetem(ctx, ns, d)
}

func setNetem(ctx context.Context, ns int, d time.Duration) error {
	if _, err := exec.LookPath("tc"); err != nil {
		return fmt.Errorf("%w: tc (iproute2) is not installed", ErrUnsupported)
	}
	err := inNamespace(ctx, ns, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", fmt.Sprintf("%dms", d.Milliseconds()))
	if err != nil && strings.Contains(err.Error(), "qdisc kind is unknown") {
		return fmt.Errorf("%w: this kernel has no netem (CONFIG_NET_SCH_NETEM): %v", ErrUnsupported, err)
	}
	return err
}

// restarted puts every active fault that concerns n back into n's new namespace.
func (f *netFaults) restarted(ctx context.Context, n *Node) error {
	ns := nsOf(n)
	if ns <= 0 {
		return nil // loopback rules are keyed by address and survived
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.hooked, ns) // a fresh namespace, whatever its pid was before
	for _, pair := range f.blocks {
		if pair[0] == n || pair[1] == n {
			if err := f.blockIn(ctx, ns, pair[0], pair[1]); err != nil {
				return err
			}
		}
	}
	for m, fraction := range f.losses {
		if err := f.lossIn(ctx, ns, m, fraction); err != nil {
			return err
		}
	}
	if d, ok := f.delays[n]; ok {
		return setNetem(ctx, ns, d)
	}
	return nil
}

// heal removes every rule and delay from the namespaces of running nodes. A stopped container
// took its rules with it, and a namespace no running node owns is never entered: its pid may
// belong to another process by now.
func (f *netFaults) heal(ctx context.Context, nodes []*Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	live := map[int]bool{}
	for _, n := range nodes {
		if ns := nsOf(n); ns >= 0 {
			live[ns] = true
		}
	}
	var firstErr error
	for ns := range f.hooked {
		if live[ns] {
			if err := removeChain(ctx, ns, f.chain, f.comment); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	for n := range f.delays {
		if ns := nsOf(n); ns > 0 {
			_ = inNamespace(ctx, ns, "tc", "qdisc", "del", "dev", "eth0", "root")
		}
	}
	f.hooked = map[int]bool{}
	f.blocks = nil
	f.losses = map[*Node]float64{}
	f.delays = map[*Node]time.Duration{}
	return firstErr
}

func removeChain(ctx context.Context, netns int, chain, comment string) error {
	_ = iptables(ctx, netns, "-D", "INPUT", "-m", "comment", "--comment", comment, "-j", chain)
	if err := iptables(ctx, netns, "-F", chain); err != nil {
		return err
	}
	return iptables(ctx, netns, "-X", chain)
}
