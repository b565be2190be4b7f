package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
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
	} {
		var out bytes.Buffer
		if code := run(c.args, &out, &out); code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("sskit %v: exit %d, want %d; output %q should contain %q", c.args, code, c.code, out.String(), c.want)
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
			cmd := exec.Command(exe, "conformance", "--backend", backend, "--results", t.TempDir(), "--tags", "@WIRE-5,@WIRE-6,@ADM-5")
			cmd.Env = append(os.Environ(), "SSKIT_TEST_AS_MAIN=1")
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Interrupt once the first scenario has finished, while the next one runs.
			sc := bufio.NewScanner(out)
			for sc.Scan() && !strings.HasPrefix(sc.Text(), "[1]") {
			}
			_ = cmd.Process.Signal(syscall.SIGINT)
			go func() { _, _ = io.Copy(io.Discard, out) }()
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitAborted {
				t.Fatalf("interrupted run ended with %v, want exit code %d", err, exitAborted)
			}
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
