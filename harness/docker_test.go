package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// requireDocker skips the test when no Docker daemon answers, except in CI, where the docker
// backend must be tested.
func requireDocker(t *testing.T) {
	t.Helper()
	if err := DockerAvailable(context.Background()); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the docker backend tests: %v", err)
		}
		t.Skipf("docker backend tests skipped: no Docker daemon answers (%v)", err)
	}
}

func requireNetworkFaults(t *testing.T) {
	t.Helper()
	if err := NetworkFaultsSupported(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must be able to inject packet faults: %v", err)
		}
		t.Skip(err)
	}
	for _, tool := range []string{"nsenter", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI must be able to inject packet faults: %s is missing", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// newDockerCluster starts n refnodes in containers (the image is built once per binary).
func newDockerCluster(t *testing.T, n int) *Cluster {
	t.Helper()
	requireDocker(t)
	return startCluster(t, Options{Impl: Implementation{Name: "refnode"}, Backend: "docker"}, n)
}

// checkContractSettings checks that every node took the name and address the harness chose, and
// that node 0 counts PINGs from the nodes that bootstrap to it.
func checkContractSettings(t *testing.T, c *Cluster) {
	t.Helper()
	ctx := testContext(t)
	seen := map[string]bool{}
	for _, n := range c.Nodes() {
		info, err := n.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != n.Name.String() || info.Addr != n.QUIC().String() {
			t.Fatalf("%s reports name %s addr %s; harness expected %s %s", n.Label(), info.Name, info.Addr, n.Name, n.QUIC())
		}
		if seen[n.QUIC().Addr().String()] {
			t.Fatal("two nodes share an IP address")
		}
		seen[n.QUIC().Addr().String()] = true
	}
	first := c.Node(0)
	for _, n := range c.Nodes()[1:] {
		waitPings(t, first, n, 1, 10*time.Second)
	}
}

// pingsFrom is how many PINGs node to counted from node from.
func pingsFrom(t *testing.T, to, from *Node) int64 {
	t.Helper()
	cnt, err := to.Counters(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return cnt.Peers[from.Name.String()].Received["PING"]
}

func waitPings(t *testing.T, to, from *Node, atLeast int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for pingsFrom(t, to, from) < atLeast {
		if time.Now().After(deadline) {
			t.Fatalf("%s counted fewer than %d PINGs from %s within %v", to.Label(), atLeast, from.Label(), within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDockerClusterStartsNodesWithContractSettings(t *testing.T) {
	c := newDockerCluster(t, 3)
	if c.Backend() != "docker" {
		t.Fatalf("backend %s", c.Backend())
	}
	checkContractSettings(t, c)
	for _, n := range c.Nodes() {
		if ns := n.inst.NetNS(); ns <= 0 {
			t.Fatalf("%s: NetNS %d, want the container's pid", n.Label(), ns)
		}
		// The container's output reaches the log by a stream of its own, which may lag the node's
		// readiness on a busy machine: await it.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(n.LogTail(50), "refnode started") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the container's output is not in its log within 10 s:\n%s", n.Label(), n.LogTail(50))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func TestDockerKillRestartPauseResume(t *testing.T) {
	c := newDockerCluster(t, 1)
	ctx := testContext(t)
	n := c.Node(0)
	checkPauseResume(t, c, n)
	pid := n.inst.NetNS()
	if err := c.Kill(ctx, n); err != nil {
		t.Fatal(err)
	}
	if exited, code := n.Exited(); !exited || code != 128+int(syscall.SIGKILL) {
		t.Fatalf("after kill: exited=%v code=%d", exited, code)
	}
	if ns := n.inst.NetNS(); ns != -1 {
		t.Fatalf("NetNS of an ended container = %d, want -1", ns)
	}
	if err := c.Restart(ctx, n); err != nil {
		t.Fatal(err)
	}
	info, err := n.Info(ctx)
	if err != nil || info.Name != n.Name.String() || info.Addr != n.QUIC().String() {
		t.Fatalf("restarted node: %+v %v", info, err)
	}
	if ns := n.inst.NetNS(); ns <= 0 || ns == pid {
		t.Fatalf("NetNS after restart = %d (before %d): want the new container's pid", ns, pid)
	}
	if code, err := c.Stop(ctx, n); err != nil || code != 0 {
		t.Fatalf("graceful stop: code %d err %v (SPEC NC-7 wants 0)", code, err)
	}
	if got := strings.Count(n.LogTail(200), "=== sskit: starting node-0"); got != 2 {
		t.Fatalf("log records %d starts, want 2:\n%s", got, n.LogTail(200))
	}
	if !strings.Contains(n.LogTail(200), "shutting down") {
		t.Fatalf("log lacks the graceful shutdown:\n%s", n.LogTail(200))
	}
	// A stopped node restarts too (its container is replaced).
	if err := c.Restart(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// sinceLastStart is the node's log since its latest start.
func sinceLastStart(n *Node) string {
	log := n.LogTail(1000)
	return log[strings.LastIndex(log, "=== sskit: starting"):]
}

// netns runs a command inside a node's network namespace.
func netns(t *testing.T, n *Node, args ...string) string {
	t.Helper()
	argv := append([]string{"-t", strconv.Itoa(n.inst.NetNS()), "-n"}, args...)
	out, err := exec.Command("nsenter", argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter %s: %v: %s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

func TestDockerPartitionHeal(t *testing.T) {
	requireNetworkFaults(t)
	c := newDockerCluster(t, 3)
	ctx := testContext(t)
	n0, n1, n2 := c.Node(0), c.Node(1), c.Node(2)
	waitPings(t, n0, n1, 1, 10*time.Second)
	waitPings(t, n0, n2, 1, 10*time.Second)

	// Node 1 restarted behind a partition keeps pinging node 0 (its bootstrap peer), and node 0
	// hears nothing until the partition heals; node 2, restarted outside it, gets through.
	if err := c.Partition(ctx, []*Node{n0}, []*Node{n1}); err != nil {
		t.Fatal(err)
	}
	before, before2 := pingsFrom(t, n0, n1), pingsFrom(t, n0, n2)
	for _, n := range []*Node{n1, n2} {
		if err := c.Restart(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	// The restarted container's fresh namespace got the partition's rules back.
	if rules := netns(t, n1, "iptables", "-w", "-S"); !strings.Contains(rules, n0.QUIC().Addr().String()) {
		t.Fatalf("node 1 restarted without the partition's rules:\n%s", rules)
	}
	waitPings(t, n0, n2, before2+1, 5*time.Second)
	// Wait until node 1 has tried and failed to reach node 0 at least once.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(sinceLastStart(n1), "not reachable yet") {
		if time.Now().After(deadline) {
			t.Fatalf("node 1 never reported node 0 unreachable:\n%s", sinceLastStart(n1))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := pingsFrom(t, n0, n1); got != before {
		t.Fatalf("node 0 counted %d PINGs from node 1 across the partition", got-before)
	}
	if log := sinceLastStart(n1); strings.Contains(log, "bootstrap peer answered") {
		t.Fatalf("node 1 reached node 0 across the partition:\n%s", log)
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	waitPings(t, n0, n1, before+1, 15*time.Second)
	for _, n := range []*Node{n0, n1} {
		if rules := netns(t, n, "iptables", "-w", "-S"); strings.Contains(rules, "SSKIT-") {
			t.Fatalf("%s keeps sskit rules after heal:\n%s", n.Label(), rules)
		}
	}
}

// Delay and total loss at a node (tc netem and iptables in its namespace), seen through its
// admin API, and Heal removing both.
func TestDockerLossHeal(t *testing.T) {
	requireNetworkFaults(t)
	c := newDockerCluster(t, 1)
	ctx := testContext(t)
	n := c.Node(0)
	if _, err := n.Info(ctx); err != nil { // warm the admin connection
		t.Fatal(err)
	}
	if err := c.Loss(ctx, n, 1.0); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := n.Info(short)
	cancel()
	if err == nil {
		t.Fatal("the node answered through 100% packet loss")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if rules := netns(t, n, "iptables", "-w", "-S"); strings.Contains(rules, "SSKIT-") {
		t.Fatalf("the node keeps sskit rules after heal:\n%s", rules)
	}
	if _, err := n.Info(ctx); err != nil {
		t.Fatalf("the node after heal: %v", err)
	}
}

// Delay needs netem in the kernel, which no package can install: where the kernel lacks it (as on
// the machines sskit's CI runs on) the harness must say so plainly, and the test says why it skips
// even in CI. Loss and heal, which need only iptables, are TestDockerLossHeal's and always run.
func TestDockerDelayHeal(t *testing.T) {
	requireNetworkFaults(t)
	c := newDockerCluster(t, 1)
	ctx := testContext(t)
	n := c.Node(0)
	err := c.Delay(ctx, n, 200*time.Millisecond)
	if errors.Is(err, ErrUnsupported) {
		if !strings.Contains(err.Error(), "no netem") {
			t.Fatalf("delay unsupported for another reason than the kernel: %v", err)
		}
		t.Skipf("delay not available on this machine: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := n.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("admin answer took %v with a 200ms delay", took)
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if qd := netns(t, n, "tc", "qdisc", "show", "dev", "eth0"); strings.Contains(qd, "netem") {
		t.Fatalf("netem left after heal: %s", qd)
	}
}

// dockerResources lists the containers and networks of a cluster, leftovers or not.
func dockerResources(t *testing.T, clusterID string) []string {
	t.Helper()
	ctx := testContext(t)
	cli, err := dockerClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := make(client.Filters).Add("label", labelCluster+"="+clusterID)
	cl, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	nl, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cl.Items {
		out = append(out, "container "+c.ID[:12])
	}
	for _, n := range nl.Items {
		out = append(out, "network "+n.Name)
	}
	return out
}

func TestDockerCloseLeavesNothing(t *testing.T) {
	c := newDockerCluster(t, 2)
	if got := dockerResources(t, c.ID); len(got) != 3 {
		t.Fatalf("a running cluster of 2 has %v, want 2 containers and a network", got)
	}
	if _, err := c.Stop(testContext(t), c.Node(1)); err != nil { // a stopped container goes too
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dockerResources(t, c.ID); len(got) > 0 {
		t.Fatalf("left after Close: %v", got)
	}
	left, err := DockerLeftovers(testContext(t))
	if err != nil || len(left) > 0 {
		t.Fatalf("DockerLeftovers: %v %v", left, err)
	}
}

func TestDockerImageMustBeLocal(t *testing.T) {
	requireDocker(t)
	_, err := NewCluster(testContext(t), Options{Backend: "docker", LogDir: t.TempDir(),
		Impl: Implementation{Image: "sskit-no-such-image:never"}})
	if err == nil || !strings.Contains(err.Error(), "never pulls") {
		t.Fatalf("err = %v", err)
	}
	_, err = NewCluster(testContext(t), Options{Backend: "docker", LogDir: t.TempDir(),
		Impl: Implementation{Command: []string{"/usr/bin/true"}}})
	if err == nil || !strings.Contains(err.Error(), "not the refnode binary") {
		t.Fatalf("err = %v", err)
	}
}

// A user image runs with the command template in place of its CMD: here the refnode image with
// the bad setting --elder-size 0, on which refnode exits 2 and says why.
func TestDockerCommandTemplateAndStartError(t *testing.T) {
	requireDocker(t)
	ctx := testContext(t)
	c, err := NewCluster(ctx, Options{Impl: Implementation{Name: "refnode"}, Backend: "docker", LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	image := c.backend.(*dockerBackend).spec.image
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err = NewCluster(ctx, Options{Backend: "docker", LogDir: t.TempDir(),
		Impl: Implementation{Image: image, Command: []string{"--listen", "{listen}", "--elder-size", "0"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.AddNode(ctx)
	var se *StartError
	if !errors.As(err, &se) || !se.Exited || se.ExitCode != 2 || !strings.Contains(se.LogTail, "elder-size") {
		t.Fatalf("err = %v", err)
	}
}

// The crash test runs a docker cluster in a child test process, interrupts or kills it, and
// checks that nothing of it is left once SweepDocker has run.
func TestDockerChildCluster(t *testing.T) {
	if os.Getenv("SSKIT_TEST_DOCKER_CHILD") != "1" {
		t.Skip("runs only as the child of TestDockerNothingLeftAfterInterruptOrCrash")
	}
	ctx := context.Background()
	c, err := NewCluster(ctx, Options{Impl: Implementation{Name: "refnode"}, Backend: "docker", LogDir: t.TempDir()})
	if err == nil {
		err = c.Start(ctx, 1)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready", c.ID)
	select {}
}

func TestDockerNothingLeftAfterInterruptOrCrash(t *testing.T) {
	requireDocker(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			child, id := startChild(t, "^TestDockerChildCluster$", "SSKIT_TEST_DOCKER_CHILD")
			if got := dockerResources(t, id); len(got) != 2 {
				t.Fatalf("child cluster has %v, want a container and a network", got)
			}
			_ = child.Process.Signal(sig)
			_ = child.Wait()
			if sig == syscall.SIGKILL { // a crash: nothing ran the harness's cleanup
				left, err := DockerLeftovers(testContext(t))
				if err != nil || len(left) != 2 {
					t.Fatalf("DockerLeftovers after a crash = %v %v, want the container and the network", left, err)
				}
				// Two sweeps at once, as when another package's cluster starts (NewCluster sweeps)
				// while this one sweeps: each must end with the leftovers gone, not fail because
				// the other is removing them.
				swept := make(chan error, 2)
				for range 2 {
					go func() { swept <- SweepDocker(testContext(t)) }()
				}
				if err := errors.Join(<-swept, <-swept); err != nil {
					t.Fatal(err)
				}
			}
			if got := dockerResources(t, id); len(got) > 0 {
				t.Fatalf("left behind: %v", got)
			}
			if left, err := DockerLeftovers(testContext(t)); err != nil || len(left) > 0 {
				t.Fatalf("DockerLeftovers: %v %v", left, err)
			}
		})
	}
}

func TestDockerMixedCluster(t *testing.T) {
	checkMixedCluster(t, newDockerCluster(t, 1))
}
