package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newTestCluster starts n refnodes on local processes.
func newTestCluster(t *testing.T, n int) *Cluster {
	t.Helper()
	impl, err := Refnode(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	return startCluster(t, Options{Impl: impl}, n)
}

// startCluster starts n nodes with opts (logs in a temporary directory, seed 7) and closes the
// cluster when the test ends, failing it if the close fails.
func startCluster(t *testing.T, opts Options, n int) *Cluster {
	t.Helper()
	ctx := testContext(t)
	opts.LogDir, opts.Seed = t.TempDir(), 7
	c, err := NewCluster(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err := c.Start(ctx, n); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClusterStartsNodesWithContractSettings(t *testing.T) {
	checkContractSettings(t, newTestCluster(t, 3))
}

func TestSameSeedGivesSameNames(t *testing.T) {
	a, _ := NewCluster(context.Background(), Options{Impl: Implementation{Command: []string{"true"}}, Seed: 5, LogDir: t.TempDir()})
	b, _ := NewCluster(context.Background(), Options{Impl: Implementation{Command: []string{"true"}}, Seed: 5, LogDir: t.TempDir()})
	defer a.Close()
	defer b.Close()
	if NameFromSeed(a.SeedFor(3)) != NameFromSeed(b.SeedFor(3)) || NameFromSeed(a.SeedFor(3)) == NameFromSeed(a.SeedFor(4)) {
		t.Fatal("node keys are not a function of (seed, index)")
	}
}

func TestSeedInSection(t *testing.T) {
	c, err := NewCluster(context.Background(), Options{Impl: Implementation{Command: []string{"true"}}, Seed: 5, LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other, err := NewCluster(context.Background(), Options{Impl: Implementation{Command: []string{"true"}}, Seed: 6, LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	seen := map[string]bool{}
	for _, tc := range []struct{ bits, value uint8 }{{0, 0}, {1, 0}, {1, 0x80}, {3, 0xa0}, {8, 0x5c}} {
		for salt := range 3 {
			seed := c.SeedInSection(tc.bits, tc.value, salt)
			if got := NameFromSeed(seed)[0] & SectionMask(tc.bits); got != tc.value {
				t.Fatalf("SeedInSection(%d, %08b, %d): name starts %08b, outside the section", tc.bits, tc.value, salt, NameFromSeed(seed)[0])
			}
			if !bytes.Equal(seed, c.SeedInSection(tc.bits, tc.value, salt)) {
				t.Fatal("SeedInSection is not a function of its arguments")
			}
			if bytes.Equal(seed, other.SeedInSection(tc.bits, tc.value, salt)) {
				t.Fatal("SeedInSection does not depend on the cluster's seed")
			}
			if seen[string(seed)] {
				t.Fatalf("SeedInSection(%d, %08b, %d) repeats a seed", tc.bits, tc.value, salt)
			}
			seen[string(seed)] = true
		}
	}
	if SectionMask(0) != 0 || SectionMask(1) != 0x80 || SectionMask(8) != 0xff {
		t.Fatal("SectionMask")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a value with bits past the prefix did not panic")
		}
	}()
	c.SeedInSection(1, 1, 0)
}

// A node's name follows a seed its settings were given, except one it cannot use.
func TestNameFollowsModifiedSeed(t *testing.T) {
	ctx := testContext(t)
	c, err := NewCluster(ctx, Options{Impl: Implementation{Command: []string{"true"}}, Seed: 5, LogDir: t.TempDir(), SectionBits: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seed := c.SeedInSection(1, 0x80, 0)
	n, _ := c.AddNodeWith(ctx, func(s *Settings) { s.Seed = hex.EncodeToString(seed) }) // "true" never gets ready
	if n.Name != NameFromSeed(seed) || n.Settings.SectionBits != 1 {
		t.Fatalf("name %s bits %d, want the modified seed's %s and the cluster's 1", n.Name, n.Settings.SectionBits, NameFromSeed(seed))
	}
	for _, bad := range []string{"zz", "abcd"} {
		want := c.NextName()
		n, _ = c.AddNodeWith(ctx, func(s *Settings) { s.Seed = bad })
		if n.Name != want {
			t.Fatalf("seed %q: name %s, want the index's %s", bad, n.Name, want)
		}
	}
	env := strings.Join(n.Settings.Env(), " ")
	if !strings.Contains(env, "SSKIT_SECTION_BITS=1") {
		t.Fatalf("env %s lacks SSKIT_SECTION_BITS", env)
	}
	if got := (Settings{SectionBits: 2}).Expand([]string{"--section-bits={section_bits}"}); got[0] != "--section-bits=2" {
		t.Fatalf("expanded %v", got)
	}
	if got := (Settings{SectionBits: 2, Raw: map[string]string{"section_bits": "x"}}).Expand([]string{"{section_bits}"}); got[0] != "x" {
		t.Fatalf("raw section_bits expanded to %v", got)
	}
}

// checkPauseResume pauses n, sees that it stops answering, and resumes it (any backend).
func checkPauseResume(t *testing.T, c *Cluster, n *Node) {
	t.Helper()
	ctx := testContext(t)
	if err := c.Pause(ctx, n); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := n.Info(short)
	cancel()
	if err == nil {
		t.Fatal("a paused node answered its admin API")
	}
	if err := c.Resume(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Info(ctx); err != nil {
		t.Fatalf("resumed node does not answer: %v", err)
	}
}

func TestKillRestartPauseResume(t *testing.T) {
	c := newTestCluster(t, 1)
	ctx := testContext(t)
	n := c.Node(0)
	checkPauseResume(t, c, n)
	if err := c.Kill(ctx, n); err != nil {
		t.Fatal(err)
	}
	if exited, code := n.Exited(); !exited || code != 128+int(syscall.SIGKILL) {
		t.Fatalf("after kill: exited=%v code=%d", exited, code)
	}
	if err := c.Restart(ctx, n); err != nil {
		t.Fatal(err)
	}
	info, err := n.Info(ctx)
	if err != nil || info.Name != n.Name.String() {
		t.Fatalf("restarted node: %+v %v", info, err)
	}
	if code, err := c.Stop(ctx, n); err != nil || code != 0 {
		t.Fatalf("graceful stop: code %d err %v (SPEC NC-7 wants 0)", code, err)
	}
	if !strings.Contains(n.LogTail(100), "starting node-0") {
		t.Fatal("log does not record the starts")
	}
}

func TestStartErrorShowsExitAndLog(t *testing.T) {
	ctx := testContext(t)
	impl, err := Refnode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	impl.Command = append(impl.Command, "--elder-size", "0") // refnode exits 2 on bad settings
	c, err := NewCluster(ctx, Options{Impl: impl, LogDir: t.TempDir()})
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

// A node that never becomes ready is reported with what an implementer needs to start it by
// hand: the readiness URL and what it last answered, the command and the environment.
func TestStartErrorOfANodeNeverReadyShowsHowItWasStarted(t *testing.T) {
	ctx := testContext(t)
	c, err := NewCluster(ctx, Options{Impl: Implementation{Name: "sleeper", Command: []string{"sh", "-c", "sleep 30", "{listen}"}},
		LogDir: t.TempDir(), ReadyTimeout: 1500 * time.Millisecond}) // room for a few polls on a loaded machine
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.AddNode(ctx)
	var se *StartError
	if !errors.As(err, &se) || se.Exited {
		t.Fatalf("err = %v, want a node that never became ready", err)
	}
	n := c.Node(0)
	msg := err.Error()
	for _, want := range []string{
		"GET " + n.AdminURL("/healthz"), "connection refused", "command:   " + se.Launch.Argv[0] + " -c 'sleep 30' " + n.Settings.Listen.String(),
		"SSKIT_ADMIN=" + n.Settings.Admin.String(), "SSKIT_SEED=" + n.Settings.Seed,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
	if log := n.LogTail(50); !strings.Contains(log, "=== sskit: env SSKIT_LISTEN="+n.Settings.Listen.String()) {
		t.Errorf("the node's log does not record its environment:\n%s", log)
	}
}

// udpReaches reports whether a datagram from one address reaches a socket on the other.
func udpReaches(t *testing.T, from, to string) bool {
	t.Helper()
	rx, err := net.ListenPacket("udp", to+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.ListenPacket("udp", from+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if _, err := tx.WriteTo([]byte("probe"), rx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	_ = rx.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 16)
	_, _, err = rx.ReadFrom(buf)
	return err == nil
}

func TestPartitionDropsPacketsBetweenGroupsOnly(t *testing.T) {
	if err := NetworkFaultsSupported(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must be able to inject packet faults: %v", err)
		}
		t.Skip(err)
	}
	c := newTestCluster(t, 3)
	ctx := testContext(t)
	ip := func(i int) string { return c.Node(i).QUIC().Addr().String() }
	if !udpReaches(t, ip(0), ip(1)) {
		t.Fatal("no connectivity before the partition")
	}
	if err := c.Partition(ctx, c.Nodes()[:1], c.Nodes()[1:2]); err != nil {
		t.Fatal(err)
	}
	if udpReaches(t, ip(0), ip(1)) || udpReaches(t, ip(1), ip(0)) {
		t.Fatal("packets cross the partition")
	}
	if !udpReaches(t, ip(0), ip(2)) || !udpReaches(t, ip(2), ip(1)) {
		t.Fatal("the partition cut nodes outside it")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if !udpReaches(t, ip(0), ip(1)) {
		t.Fatal("packets still dropped after heal")
	}
	if err := c.Loss(ctx, c.Node(2), 1.0); err != nil {
		t.Fatal(err)
	}
	if udpReaches(t, ip(0), ip(2)) || udpReaches(t, ip(2), ip(0)) {
		t.Fatal("100% loss let a packet through")
	}
	if err := c.Heal(ctx); err != nil {
		t.Fatal(err)
	}
}

// The interrupt test runs a cluster in a child process, interrupts or kills that process, and
// checks that nothing of it is left.
func TestMain(m *testing.M) {
	if os.Getenv("SSKIT_TEST_CHILD_CLUSTER") == "1" {
		runChildCluster()
		return
	}
	os.Exit(m.Run())
}

func runChildCluster() {
	ctx := context.Background()
	impl, err := Refnode(ctx)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	c, err := NewCluster(ctx, Options{Impl: impl})
	if err == nil {
		err = c.Start(ctx, 3)
	}
	if err == nil && NetworkFaultsSupported() == nil {
		err = c.Partition(ctx, c.Nodes()[:1], c.Nodes()[1:])
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

// startChild runs this test binary again with env set, so that it starts a cluster and prints
// "ready" and the rest of its first line, and returns the child and that rest.
func startChild(t *testing.T, run, env string) (*exec.Cmd, string) {
	t.Helper()
	exe, _ := os.Executable()
	child := exec.Command(exe, "-test.run", run)
	child.Env = append(os.Environ(), env+"=1")
	out, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "ready")
	if !ok {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatalf("child cluster did not start: %q", line)
	}
	return child, strings.TrimSpace(rest)
}

func TestNothingLeftAfterInterruptOrCrash(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			child, _ := startChild(t, "^$", "SSKIT_TEST_CHILD_CLUSTER")
			owned := nodesOf(child.Process.Pid)
			if len(owned) != 3 {
				t.Fatalf("child runs %d node processes, want 3", len(owned))
			}
			_ = child.Process.Signal(sig)
			_ = child.Wait()
			if sig == syscall.SIGKILL { // a crash: nothing ran the harness's cleanup
				if err := Sweep(testContext(t)); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(nodesOf(child.Process.Pid)) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("node processes left behind: %v", nodesOf(child.Process.Pid))
				}
				time.Sleep(20 * time.Millisecond)
			}
			if pids, chains := Leftovers(); len(pids) > 0 || len(chains) > 0 {
				t.Fatalf("leftovers: processes %v, iptables chains %v", pids, chains)
			}
		})
	}
}

// nodesOf lists live processes started by the harness in process pid.
func nodesOf(pid int) []int {
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		b, err := os.ReadFile("/proc/" + p.Name() + "/environ")
		if err != nil {
			continue
		}
		if strings.Contains(string(b), fmt.Sprintf("\x00%s=%d\x00", harnessEnv, pid)) || strings.HasSuffix(string(b), fmt.Sprintf("%s=%d\x00", harnessEnv, pid)) {
			stat, _ := os.ReadFile("/proc/" + p.Name() + "/stat")
			if !strings.Contains(string(stat), ") Z ") { // zombies are already dead
				var n int
				fmt.Sscan(p.Name(), &n)
				pids = append(pids, n)
			}
		}
	}
	return pids
}

// checkMixedCluster adds to c a node of another implementation (here refnode started with other
// flags, which it reports) and checks that it runs its own command and talks to the others.
func checkMixedCluster(t *testing.T, c *Cluster) {
	t.Helper()
	ctx := testContext(t)
	ref, err := Refnode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := Implementation{Name: "refnode-7", Command: append(ref.Command, "--elder-size", "7")}
	odd, err := c.AddNodeOf(ctx, other, func(s *Settings) { s.Bootstrap = []string{c.Node(0).Bootstrap()} })
	if err != nil {
		t.Fatal(err)
	}
	elders := func(n *Node) float64 {
		var info map[string]any
		if err := n.GetJSON(ctx, "/v1/node", &info); err != nil {
			t.Fatal(err)
		}
		v, _ := info["elder_size"].(float64)
		return v
	}
	if got, ref := elders(odd), elders(c.Node(0)); got != 7 || ref != 4 {
		t.Fatalf("elder sizes: the other implementation %v (want 7), the cluster's %v (want 4)", got, ref)
	}
	waitPings(t, c.Node(0), odd, 1, 10*time.Second)
}

func TestMixedCluster(t *testing.T) {
	checkMixedCluster(t, newTestCluster(t, 1))
}

// A cluster that made its own temporary log directory (nobody asked for the logs) removes it when
// it closes; before, every such cluster left a /tmp/sskit-logs-* behind.
func TestClusterRemovesTheLogDirectoryItMade(t *testing.T) {
	ctx := testContext(t)
	impl, err := Refnode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCluster(ctx, Options{Impl: impl})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.AddNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(n.LogPath)
	if _, err := os.Stat(n.LogPath); err != nil {
		t.Fatalf("no node log while the cluster runs: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s is still there after Close (%v)", dir, err)
	}
	kept := t.TempDir() // a directory the caller chose stays
	c2, err := NewCluster(ctx, Options{Impl: impl, LogDir: kept})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.AddNode(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c2.Close()
	if logs, _ := filepath.Glob(filepath.Join(kept, "*.log")); len(logs) == 0 {
		t.Fatal("Close removed logs from a directory the caller chose")
	}
}

// Two clusters never share a loopback /24, even with the same id (as two sskit processes side by
// side could pick): the second takes the next one, and a closed cluster's /24 is free again.
func TestProcessClustersNeverShareASubnet(t *testing.T) {
	cmd := []string{"true"}
	first, err := newProcessBackend("same-id", cmd)
	if err != nil {
		t.Fatal(err)
	}
	second, err := newProcessBackend("same-id", cmd)
	if err != nil {
		t.Fatal(err)
	}
	if first.a == second.a && first.b == second.b {
		t.Fatalf("both clusters got 127.%d.%d.0/24", first.a, first.b)
	}
	a, b := first.a, first.b
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	third, err := newProcessBackend("same-id", cmd)
	if err != nil {
		t.Fatal(err)
	}
	if third.a != a || third.b != b {
		t.Errorf("a closed cluster's 127.%d.%d.0/24 was not free again: got 127.%d.%d.0/24", a, b, third.a, third.b)
	}
	_ = second.Close(context.Background())
	_ = third.Close(context.Background())
}

// ResidentBytes reads VmRSS from /proc: this test process has some, and a pid that is gone has none.
func TestResidentBytesReadsVmRSS(t *testing.T) {
	b, err := residentBytes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if b < 1<<20 || b > 64<<30 {
		t.Fatalf("this test process is %d bytes resident: not a plausible VmRSS in kB times 1024", b)
	}
	if _, err := residentBytes(1 << 30); err == nil {
		t.Fatal("a pid that does not exist has a resident size")
	}
}
