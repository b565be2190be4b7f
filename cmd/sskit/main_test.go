package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stableset/sskit/harness"
)

// The test binary doubles as sskit, so that a run can be interrupted like a user would.
func TestMain(m *testing.M) {
	if os.Getenv("SSKIT_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestUsageAndExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "Usage:"},
		{[]string{"--help"}, exitOK, "sskit conformance"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"cluster"}, exitUsage, "want up, ls or down"},
		{[]string{"cluster", "up", "-n", "0"}, exitUsage, "at least 1"},
		{[]string{"conformance", "--no-such-flag"}, exitUsage, "flag provided but not defined"},
		{[]string{"conformance", "stray"}, exitUsage, "unexpected argument"},
		{[]string{"cluster", "down", "no-such-cluster"}, exitFailed, "no running cluster"},
		{[]string{"version"}, exitOK, "spec version"},
		{[]string{"cluster", "--help"}, exitOK, "cluster up -n N"},
		{[]string{"--version"}, exitOK, "spec version"},
		{[]string{"conformance", "--help"}, exitOK, "Exit codes"},
		{[]string{"certify", "--help"}, exitOK, "-runs"},
		// TAGS that do not parse, name no tag, or select nothing: usage errors, before any build
		// (they used to panic inside godog, or pass with 0 scenarios).
		{[]string{"conformance", "--tags", "@must &&"}, exitUsage, "is empty"},
		{[]string{"conformance", "--tags", "((("}, exitUsage, "is not a tag"},
		{[]string{"conformance", "--tags", "@WRE-2"}, exitUsage, "did you mean @WIRE-2"},
		{[]string{"conformance", "--results", "RESULTS", "--tags", "@NB-14"}, exitUsage, "selects no scenario"},
		{[]string{"conformance", "--backend", "k8s"}, exitUsage, "unknown backend"},
		{[]string{"conformance", "--node-cmd", "x", "--node-image", "y"}, exitUsage, "not both"},
		{[]string{"conformance", "--parallel", "0"}, exitUsage, "at least 1"},
		{[]string{"conformance", "--seed", "abc"}, exitUsage, "invalid value"},
		{[]string{"conformance", "--list", "--tags", "@WIRE-2"}, exitOK, "features/framing.feature"},
		// The kit cannot run the node: exit 3 from the preflight, not 84 "broken" MUST rules.
		{[]string{"conformance", "--results", "RESULTS", "--node-cmd", "/nonexistent/mynode {listen}"}, exitNoNode, "no scenario ran"},
		{[]string{"conformance", "--results", "RESULTS", "--node-cmd", "false {listen}"}, exitNoNode, "exited with code 1 before it was ready"},
	} {
		for i, a := range c.args {
			if a == "RESULTS" {
				c.args[i] = t.TempDir()
			}
		}
		var out bytes.Buffer
		if code := run(c.args, &out, &out); code != c.code || !strings.Contains(strings.ToLower(out.String()), strings.ToLower(c.want)) {
			t.Errorf("sskit %v: exit %d, want %d; output %q should contain %q", c.args, code, c.code, out.String(), c.want)
		}
	}
}

// The top-level help points to README sections that exist.
func TestHelpPointsToExistingReadmeSections(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	run([]string{"--help"}, &out, &out)
	for _, m := range regexp.MustCompile(`README\.md, "([^"]+)"`).FindAllStringSubmatch(out.String(), -1) {
		if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(m[1]) + `$`).Match(readme) {
			t.Errorf("sskit --help cites README.md section %q, which README.md does not have", m[1])
		}
	}
	if !strings.Contains(out.String(), "README.md, \"") {
		t.Errorf("sskit --help cites no README.md section:\n%s", out.String())
	}
}

// make help aligns its descriptions in one column, however long a target's name.
func TestMakeHelpIsAligned(t *testing.T) {
	out, err := exec.Command("make", "-s", "-C", "../..", "help").Output()
	if err != nil {
		t.Skipf("make help: %v", err)
	}
	col := -1
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		name := strings.Fields(line)[0]
		start := strings.Index(line, name) + len(name)
		desc := start + len(line[start:]) - len(strings.TrimLeft(line[start:], " "))
		if col == -1 {
			col = desc
		}
		if desc != col {
			t.Errorf("make help: %q starts its description at column %d, the first line at %d", line, desc, col)
		}
	}
}

// An interrupted conformance run stops its nodes and leaves nothing behind, on every backend
// that can run here.
func TestInterruptedConformanceRunLeavesNothing(t *testing.T) {
	backends := []string{"process"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if harness.DockerAvailable(ctx) == nil {
		backends = append(backends, "docker")
	} else if os.Getenv("CI") != "" {
		t.Fatal("CI must test the docker backend, but no Docker daemon answers")
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			exe, _ := os.Executable()
			results := t.TempDir()
			cmd := exec.Command(exe, "conformance", "--backend", backend, "--results", results, "--tags", "@WIRE-5,@WIRE-6,@ADM-5,@TRN-6,@cluster")
			cmd.Env = append(os.Environ(), "SSKIT_TEST_AS_MAIN=1")
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Interrupt once the first scenario has finished, while the next ones run.
			sc := bufio.NewScanner(out)
			for sc.Scan() && !strings.HasPrefix(sc.Text(), "[ 1/") {
			}
			_ = cmd.Process.Signal(syscall.SIGINT)
			interrupted := time.Now()
			var after bytes.Buffer
			copied := make(chan struct{})
			go func() { _, _ = io.Copy(&after, out); close(copied) }()
			err := cmd.Wait()
			<-copied
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitAborted {
				t.Fatalf("interrupted run ended with %v, want exit code %d", err, exitAborted)
			}
			// The scenarios the interrupt cut short are not the node's failures: before, each
			// printed "FAIL … harness: interrupted".
			if strings.Contains(after.String(), "FAIL") || !strings.Contains(after.String(), "INTERRUPTED: a partial run") {
				t.Errorf("after the interrupt the run printed:\n%s", after.String())
			}
			if took := time.Since(interrupted); took > 30*time.Second {
				t.Errorf("the run took %v to end after SIGINT", took)
			}
			checkPartialReports(t, results)
			pids, chains := harness.Leftovers()
			if len(pids) > 0 || len(chains) > 0 {
				t.Fatalf("left behind: node processes %v, iptables chains %v", pids, chains)
			}
			if backend == "docker" {
				left, err := harness.DockerLeftovers(context.Background())
				if err != nil || len(left) > 0 {
					t.Fatalf("left behind in docker: %v (err %v)", left, err)
				}
			}
		})
	}
}

// checkPartialReports checks that an interrupted run still left every report, whole and valid,
// and marked as partial. Before, junit.xml and cucumber.json were empty and report.html missing.
func checkPartialReports(t *testing.T, results string) {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(results, "*", "2*"))
	if len(runs) != 1 {
		t.Fatalf("want one run directory under %s, found %v", results, runs)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(runs[0], name))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: missing or empty after an interrupt (%v)", name, err)
		}
		return b
	}
	var junit struct {
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"testsuite>properties>property"`
	}
	if err := xml.Unmarshal(read("junit.xml"), &junit); err != nil {
		t.Errorf("junit.xml is not valid XML: %v", err)
	}
	marked := false
	for _, p := range junit.Properties {
		marked = marked || p.Name == "interrupted" && p.Value == "true"
	}
	if !marked {
		t.Errorf("junit.xml does not mark the run as interrupted: %+v", junit.Properties)
	}
	var cucumber []map[string]any
	if err := json.Unmarshal(read("cucumber.json"), &cucumber); err != nil || len(cucumber) == 0 {
		t.Errorf("cucumber.json is not a valid, non-empty report: %v", err)
	}
	var res struct {
		Interrupted bool `json:"interrupted"`
	}
	if err := json.Unmarshal(read("results.json"), &res); err != nil || !res.Interrupted {
		t.Errorf("results.json does not say the run was interrupted (%v)", err)
	}
	if !bytes.Contains(read("report.html"), []byte("INTERRUPTED")) {
		t.Error("report.html does not say the run was interrupted")
	}
}

// Certification may skip nothing: it refuses a known-failures file and a tag filter.
func TestCertifyRefusesKnownFailuresAndTags(t *testing.T) {
	for _, env := range []string{"KNOWN_FAILURES", "TAGS"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "x")
			var out bytes.Buffer
			if code := run([]string{"certify"}, &out, &out); code != exitUsage || !strings.Contains(out.String(), "unset "+env) {
				t.Fatalf("certify with %s set: exit %d, output %q", env, code, out.String())
			}
		})
	}
}
