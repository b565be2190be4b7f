package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/node"
)

// The test binary doubles as refnode, so the process tests need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("REFNODE_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func noEnv(string) string { return "" }

func TestBadSettingsExitWithUsageCode(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"},
		{"--seed", "12"},
		{"--seed", strings.Repeat("1", 64), "--key-file", "x"},
		{"--elder-size", "0"},
		{"--log-level", "loud"},
		{"--bootstrap", "nobody"},
		{"--bootstrap", strings.Repeat("a", 64) + "@127.0.0.1:0"},
		{"--seed", strings.Repeat("1", 64), "--bootstrap", "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737@127.0.0.1:7"},
		{"stray"},
		{"--listen", "localhost"},
		{"--admin", "300.1.1.1:80"},
		{"--max-degree", "0"},
		{"--min-hops", "7"},
		{"--gossip-interval", "0s"},
		{"--gossip-pace", "-1ms"},
		{"--gossip-pace", "10s"},
		{"--pass-expiry", "soon"},
	} {
		var stderr bytes.Buffer
		if code := run(args, noEnv, io.Discard, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if !strings.HasPrefix(stderr.String(), "refnode: ") || strings.Count(stderr.String(), "\n") != 2 {
			t.Errorf("%v: want one error line and a hint, got %q", args, stderr.String())
		}
	}
}

func TestGossipSettingsFromEnvironmentAndFlags(t *testing.T) {
	env := map[string]string{"SSKIT_DATA_DIR": "/tmp/x", "SSKIT_MAX_DEGREE": "4", "SSKIT_GOSSIP_INTERVAL": "2s", "SSKIT_SEED": strings.Repeat("1", 64)}
	_, cfg, err := parse([]string{"--min-hops", "2"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Gossip
	if cfg.DataDir != "/tmp/x" || g.MaxDegree != 4 || g.MinHops != 2 || g.Interval != 2*time.Second || g.PassExpiry != time.Minute ||
		g.IsolatedGrace != 30*time.Second || g.CullInterval != time.Minute || g.Pace != node.DefaultGossipPace {
		t.Fatalf("data dir %q, gossip %+v", cfg.DataDir, g)
	}
	// --gossip-pace 0 sends each gossip at once, which the node's config spells negative.
	if _, cfg, err = parse([]string{"--gossip-pace", "0s"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil || cfg.Gossip.Pace >= 0 {
		t.Fatalf("--gossip-pace 0s gave pace %v, err %v", cfg.Gossip.Pace, err)
	}
	if _, _, err := parse(nil, func(k string) string { return map[string]string{"SSKIT_CULL_INTERVAL": "often"}[k] }, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "SSKIT_CULL_INTERVAL") {
		t.Fatalf("a bad SSKIT_CULL_INTERVAL gave %v", err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, noEnv, &out, io.Discard); code != exitOK || !strings.Contains(out.String(), "--bootstrap") && !strings.Contains(out.String(), "-bootstrap") {
		t.Fatalf("--help: exit %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--version"}, noEnv, &out, io.Discard); code != exitOK || !strings.HasPrefix(out.String(), "refnode ") {
		t.Fatalf("--version: exit %d, output %q", code, out.String())
	}
}

func TestEnvironmentGivesDefaultsAndFlagsWin(t *testing.T) {
	env := map[string]string{
		"SSKIT_LISTEN": "127.0.0.1:7777", "SSKIT_ADMIN": "127.0.0.1:8888", "SSKIT_ELDER_SIZE": "7",
		"SSKIT_SEED":      strings.Repeat("1", 64),
		"SSKIT_BOOTSTRAP": strings.Repeat("ab", 32) + "@127.0.0.1:1, " + strings.Repeat("cd", 32) + "@[::1]:2",
	}
	o, cfg, err := parse([]string{"--admin", "127.0.0.1:9999"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "127.0.0.1:7777" || cfg.Admin != "127.0.0.1:9999" || cfg.ElderSize != 7 || len(cfg.Bootstrap) != 2 {
		t.Fatalf("listen %s admin %s elders %d bootstraps %d", o.listen, cfg.Admin, cfg.ElderSize, len(cfg.Bootstrap))
	}
	if cfg.Identity.Name.String() != "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737" {
		t.Fatalf("seed from SSKIT_SEED not used: %s", cfg.Identity.Name)
	}
}

// process is a refnode run as a child process.
type process struct {
	cmd         *exec.Cmd
	name, admin string
	listen      string
	mu          sync.Mutex
	log         bytes.Buffer
}

var startLine = regexp.MustCompile(`name=([0-9a-f]{64}) listen=(\S+) admin=(\S+)`)

func startNode(t *testing.T, args ...string) *process {
	t.Helper()
	exe, _ := os.Executable()
	p := &process{cmd: exec.Command(exe, append([]string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, args...)...)}
	p.cmd.Env = append(os.Environ(), "REFNODE_TEST_AS_MAIN=1")
	stderr, _ := p.cmd.StderrPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := startLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
	}()
	select {
	case m := <-found:
		p.name, p.listen, p.admin = m[1], m[2], m[3]
	case <-time.After(10 * time.Second):
		t.Fatal("refnode printed no start line")
	}
	return p
}

func (p *process) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *process) counters(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + p.admin + "/v1/counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// await polls cond until it holds or the deadline passes.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func peerCount(c map[string]any, peer, dir, typ string) float64 {
	peers, _ := c["peers"].(map[string]any)
	pc, _ := peers[peer].(map[string]any)
	counts, _ := pc[dir].(map[string]any)
	n, _ := counts[typ].(float64)
	return n
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("refnode exited with %v after SIGTERM; log:\n%s", err, p.logText())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("refnode did not exit after SIGTERM")
	}
}

func TestTwoNodesExchangeFramesAndWrongNameFails(t *testing.T) {
	first := startNode(t, "--seed", strings.Repeat("1", 64))
	second := startNode(t, "--bootstrap", first.name+"@"+first.listen)
	await(t, "PING from the second node counted by the first", func() bool {
		return peerCount(first.counters(t), second.name, "received", "PING") >= 1 &&
			peerCount(second.counters(t), first.name, "received", "PONG") >= 1
	})

	wrong := strings.Repeat("22", 32)
	third := startNode(t, "--bootstrap", fmt.Sprintf("%s@%s", wrong, first.listen))
	await(t, "the name mismatch counted", func() bool {
		failures, _ := third.counters(t)["handshake_failures"].(map[string]any)
		return failures["name_mismatch"] == float64(1)
	})
	// The counter and the log line are written one after the other: wait for the line too.
	await(t, "the mismatch logged with the names", func() bool {
		log := third.logText()
		return strings.Contains(log, "reason=name_mismatch") && strings.Contains(log, "expected="+wrong)
	})
	for _, p := range []*process{first, second, third} {
		p.stop(t)
	}
}
