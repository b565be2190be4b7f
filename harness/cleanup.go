package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
)

var (
	openMu       sync.Mutex
	openClusters = map[*Cluster]bool{}
	closedAll    bool // CloseAll ran: the process is on its way out, so no new cluster starts
	signalOnce   sync.Once

	closing, endClosing = context.WithCancel(context.Background())
)

// Closing is a context that ends when CloseAll runs. Work that waits on nodes (a test step that
// polls for a condition, a quiet window) derives from it, so that an interrupt ends the wait at
// once instead of after its own timeout.
func Closing() context.Context { return closing }

// ErrClosedAll is returned by NewCluster once CloseAll has run (after an interrupt).
var ErrClosedAll = errors.New("harness: interrupted; no new cluster can start")

// track registers a cluster so that SIGINT or SIGTERM closes it before the process exits. It
// refuses once CloseAll has run: a cluster made after that would escape the cleanup.
func track(c *Cluster) error {
	openMu.Lock()
	if closedAll {
		openMu.Unlock()
		return ErrClosedAll
	}
	openClusters[c] = true
	openMu.Unlock()
	signalOnce.Do(func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			s := <-sig
			fmt.Fprintf(os.Stderr, "sskit: %v: stopping every node and removing what the harness made\n", s)
			CloseAll()
			os.Exit(130)
		}()
	})
	return nil
}

// LeaveSignalsToCaller stops the harness from handling SIGINT and SIGTERM itself (by default it
// closes every cluster and exits with 130). A caller that wants to finish its own work on a
// signal, such as writing a partial report, calls it before the first cluster starts, and then
// calls CloseAll itself before it exits.
func LeaveSignalsToCaller() { signalOnce.Do(func() {}) }

func untrack(c *Cluster) {
	openMu.Lock()
	delete(openClusters, c)
	openMu.Unlock()
}

// CloseAll closes every open cluster and refuses new ones from then on.
func CloseAll() {
	endClosing()
	openMu.Lock()
	closedAll = true
	clusters := make([]*Cluster, 0, len(openClusters))
	for c := range openClusters {
		clusters = append(clusters, c)
	}
	openMu.Unlock()
	var wg sync.WaitGroup
	for _, c := range clusters {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Close() }()
	}
	wg.Wait()
}

// Leftovers lists what earlier harness runs that no longer live left behind: node processes
// and iptables chains. (Containers and networks: see DockerLeftovers.)
func Leftovers() (pids []int, chains []string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, env := range procs {
		b, err := os.ReadFile(env)
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(b, []byte{0}) {
			if owner, ok := bytes.CutPrefix(kv, []byte(harnessEnv+"=")); ok && !alive(string(owner)) {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(env)))
				pids = append(pids, pid)
			}
		}
	}
	for _, m := range staleRules() {
		chains = append(chains, m[2])
	}
	return pids, chains
}

// Sweep removes what Leftovers finds.
func Sweep(ctx context.Context) error {
	pids, _ := Leftovers()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, m := range staleRules() {
		if err := removeChain(ctx, 0, m[2], m[1]); err != nil {
			return err
		}
	}
	return nil
}

// sskitRule matches the jump rule of a cluster's chain: comment sskit:<harness pid>:<cluster>.
var sskitRule = regexp.MustCompile(`--comment "?(sskit:(\d+):[0-9a-f]+)"? -j (SSKIT-[0-9a-f]+)`)

// staleRules returns [rule, comment, chain] for chains whose harness process is gone.
func staleRules() [][3]string {
	if NetworkFaultsSupported() != nil {
		return nil
	}
	out, err := exec.Command("iptables", "-w", "-S", "INPUT").Output()
	if err != nil {
		return nil
	}
	var found [][3]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := sskitRule.FindStringSubmatch(sc.Text()); m != nil && !alive(m[2]) {
			found = append(found, [3]string{m[0], m[1], m[3]})
		}
	}
	return found
}

func alive(pidText string) bool {
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// SweepAll removes what crashed runs left: node processes, iptables chains, and (when a Docker
// daemon answers) containers, networks and images labelled by the harness.
func SweepAll(ctx context.Context) error {
	err := Sweep(ctx)
	if DockerAvailable(ctx) == nil {
		err = errors.Join(err, SweepDocker(ctx))
	}
	return err
}
