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
// on the receiving side (INPUT), so a sender sees no error and the packet simply vanishes, as in
// a real partition. All rules live in one chain per cluster and namespace, so healing is
// dropping the chain. Containers also get tc netem on their interface for loss and delay of
// what they send.
type netFaults struct {
	chain   string
	comment string
	mu      sync.Mutex
	hooked  map[int]bool          // namespaces (0 = ours) where the chain exists
	netem   map[int]netemSettings // container namespaces with a netem qdisc
}

type netemSettings struct {
	loss  float64
	delay time.Duration
}

func newNetFaults(clusterID string) *netFaults {
	return &netFaults{
		chain:   "SSKIT-" + clusterID,
		comment: fmt.Sprintf("sskit:%d:%s", os.Getpid(), clusterID),
		hooked:  map[int]bool{},
		netem:   map[int]netemSettings{},
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

func iptables(ctx context.Context, netns int, args ...string) error {
	argv := append([]string{"iptables", "-w"}, args...)
	if netns != 0 {
		argv = append([]string{"nsenter", "-t", strconv.Itoa(netns), "-n"}, argv...)
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hooks are the built-in chains that jump to ours: INPUT, which every arriving packet passes
// once (on loopback too), while a drop in OUTPUT would fail the sender's sendto with EPERM.
func hooks(int) []string { return []string{"INPUT"} }

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
	for _, h := range hooks(netns) {
		if err := iptables(ctx, netns, "-I", h, "-m", "comment", "--comment", f.comment, "-j", f.chain); err != nil {
			return err
		}
	}
	f.hooked[netns] = true
	return nil
}

func namespaces(nodes ...*Node) []int {
	seen := map[int]bool{}
	var out []int
	for _, n := range nodes {
		ns := n.inst.NetNS()
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

// block drops packets between a and b in both directions.
func (f *netFaults) block(ctx context.Context, a, b *Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ipa, ipb := a.Settings.Listen.Addr().String(), b.Settings.Listen.Addr().String()
	for _, ns := range namespaces(a, b) {
		if err := f.ensureChain(ctx, ns); err != nil {
			return err
		}
		for _, pair := range [][2]string{{ipa, ipb}, {ipb, ipa}} {
			if err := iptables(ctx, ns, "-A", f.chain, "-s", pair[0], "-d", pair[1], "-j", "DROP"); err != nil {
				return err
			}
		}
	}
	return nil
}

// loss drops a random fraction of n's packets, both ways. On loopback one INPUT rule per
// direction does it; a container's namespace sees only what arrives, so what it sends goes
// through netem.
func (f *netFaults) loss(ctx context.Context, n *Node, fraction float64) error {
	if fraction <= 0 || fraction > 1 {
		return fmt.Errorf("loss fraction %v is not in (0, 1]", fraction)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ns := n.inst.NetNS()
	if err := f.ensureChain(ctx, ns); err != nil {
		return err
	}
	ip := n.Settings.Listen.Addr().String()
	p := strconv.FormatFloat(fraction, 'f', 4, 64)
	dirs := []string{"-s", "-d"}
	if ns != 0 {
		dirs = []string{"-d"}
		s := f.netem[ns]
		s.loss = fraction
		if err := f.setNetem(ctx, ns, s); err != nil {
			return err
		}
	}
	for _, dir := range dirs {
		if err := iptables(ctx, ns, "-A", f.chain, dir, ip, "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP"); err != nil {
			return err
		}
	}
	return nil
}

// delay holds back what a container sends by d. Loopback is shared by every local process, so
// the process backend cannot delay one node alone.
func (f *netFaults) delay(ctx context.Context, n *Node, d time.Duration) error {
	ns := n.inst.NetNS()
	if ns == 0 {
		return fmt.Errorf("%w: delay needs a node in its own network namespace (docker backend)", ErrUnsupported)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.netem[ns]
	s.delay = d
	return f.setNetem(ctx, ns, s)
}

func (f *netFaults) setNetem(ctx context.Context, ns int, s netemSettings) error {
	if _, err := exec.LookPath("tc"); err != nil {
		return fmt.Errorf("%w: tc (iproute2) is not installed", ErrUnsupported)
	}
	args := []string{"nsenter", "-t", strconv.Itoa(ns), "-n", "tc", "qdisc", "replace", "dev", "eth0", "root", "netem"}
	if s.delay > 0 {
		args = append(args, "delay", fmt.Sprintf("%dms", s.delay.Milliseconds()))
	}
	if s.loss > 0 {
		args = append(args, "loss", strconv.FormatFloat(s.loss*100, 'f', 2, 64)+"%")
	}
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	f.netem[ns] = s
	return nil
}

// heal removes the chain from every namespace it was put in. Namespaces of containers that are
// already gone took their rules with them.
func (f *netFaults) heal(ctx context.Context, nodes []*Node) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var firstErr error
	for ns := range f.hooked {
		if err := removeChain(ctx, ns, f.chain, f.comment); err != nil && ns == 0 && firstErr == nil {
			firstErr = err
		}
		delete(f.hooked, ns)
	}
	for ns := range f.netem {
		_ = exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(ns), "-n", "tc", "qdisc", "del", "dev", "eth0", "root").Run()
		delete(f.netem, ns)
	}
	return firstErr
}

func removeChain(ctx context.Context, netns int, chain, comment string) error {
	for _, h := range hooks(netns) {
		_ = iptables(ctx, netns, "-D", h, "-m", "comment", "--comment", comment, "-j", chain)
	}
	if err := iptables(ctx, netns, "-F", chain); err != nil {
		return err
	}
	return iptables(ctx, netns, "-X", chain)
}
