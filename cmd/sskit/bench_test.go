package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// benchFile writes go test -bench output to a file: one line per value, the value in place of %v.
func benchFile(t *testing.T, name, format string, values ...float64) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/stableset/sskit/bench\ncpu: AMD EPYC\n")
	for _, v := range values {
		fmt.Fprintf(&b, format+"\n", v)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runSSKit runs the command line and returns its exit code, stdout and stderr.
func runSSKit(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var witnessRatios = []float64{1.00, 1.01, 0.99, 1.02, 0.98, 1.00}

func TestBenchCompareHelpExitsZero(t *testing.T) {
	for _, flag := range []string{"--help", "-h"} {
		code, stdout, stderr := runSSKit("bench", "compare", flag)
		if code != exitOK {
			t.Errorf("sskit bench compare %s: exit %d, want %d (stderr %q)", flag, code, exitOK, stderr)
		}
		for _, want := range []string{"Usage: sskit bench compare [flags] OLD NEW", "OLD is the baseline", "--threshold", "--alpha", "--units",
			"Exit codes: 0 no regression, 1 a regression", "2 bad usage"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("sskit bench compare %s: usage lacks %q:\n%s", flag, want, stdout)
			}
		}
	}
	if code, stdout, _ := runSSKit("bench", "--help"); code != exitOK || !strings.Contains(stdout, "sskit bench compare [flags] OLD NEW") {
		t.Errorf("sskit bench --help: exit %d:\n%s", code, stdout)
	}
}

func TestBenchCompareUsageErrors(t *testing.T) {
	old := benchFile(t, "old.txt", "BenchmarkWitnessRatio-2\t3000\t%v sskit/rawquic\t28 allocs/op", witnessRatios...)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{old}, "want two files: OLD NEW"},
		{[]string{old, old, "--threshold", "0.2"}, "flags such as --threshold go before OLD and NEW"},
		{[]string{"--alpha", "0", old, old}, "--alpha must be between 0 and 1"},
		{[]string{"--threshold", "-0.1", old, old}, "--threshold must not be negative"},
		{[]string{"--no-such-flag", old, old}, "flag provided but not defined"},
		{[]string{old, filepath.Join(t.TempDir(), "none.txt")}, "no such file"},
	} {
		code, _, stderr := runSSKit(append([]string{"bench", "compare"}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("sskit bench compare %v: exit %d, want %d; stderr %q should contain %q", c.args, code, exitUsage, stderr, c.want)
		}
	}
}

func TestBenchCompareUnknownUnitIsBadUsage(t *testing.T) {
	old := benchFile(t, "old.txt", "BenchmarkWitnessRatio-2\t3000\t80000 ns/op\t%v sskit/rawquic\t28 allocs/op", witnessRatios...)
	code, _, stderr := runSSKit("bench", "compare", "--units", "nosuchunit", old, old)
	want := `no benchmark reports the unit "nosuchunit"; the files have: allocs/op, sec/op, sskit/rawquic`
	if code != exitUsage || !strings.Contains(stderr, want) {
		t.Fatalf("--units nosuchunit: exit %d, want %d; stderr %q should contain %q", code, exitUsage, stderr, want)
	}
	// A misspelt unit beside a good one would silently gate less than asked.
	if code, _, stderr := runSSKit("bench", "compare", "--units", "sskit/rawquic,allocs/ops", old, old); code != exitUsage || !strings.Contains(stderr, `"allocs/ops"`) {
		t.Fatalf("--units with a misspelt unit: exit %d, stderr %q", code, stderr)
	}
}

// The reported case: 28 -> 29 allocs/op was called worse "by more than 15%".
func TestBenchCompareAllocationRegressionMessage(t *testing.T) {
	old := benchFile(t, "old.txt", "BenchmarkWitnessRatio-2\t3000\t%v sskit/rawquic\t28 allocs/op", witnessRatios...)
	cur := benchFile(t, "new.txt", "BenchmarkWitnessRatio-2\t3000\t%v sskit/rawquic\t29 allocs/op", witnessRatios...)
	code, stdout, stderr := runSSKit("bench", "compare", "--units", "sskit/rawquic,allocs/op", "--threshold", "0.15", old, cur)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitFailed, stderr)
	}
	want := "WitnessRatio-2 allocs/op: 28 → 29, +3.57% (p = 0.002): any significant increase in allocs/op fails, whatever the threshold"
	if !strings.Contains(stdout, want) || strings.Contains(stdout, "15%") {
		t.Fatalf("output should contain %q and not cite the 15%% threshold:\n%s", want, stdout)
	}
}

func TestBenchCompareThresholdRegressionMessage(t *testing.T) {
	slower := make([]float64, len(witnessRatios))
	for i, r := range witnessRatios {
		slower[i] = 1.3 * r
	}
	old := benchFile(t, "old.txt", "BenchmarkWitnessRatio-2\t3000\t%v sskit/rawquic\t28 allocs/op", witnessRatios...)
	cur := benchFile(t, "new.txt", "BenchmarkWitnessRatio-2\t3000\t%v sskit/rawquic\t28 allocs/op", slower...)
	code, stdout, _ := runSSKit("bench", "compare", "--threshold", "0.15", old, cur)
	want := "WitnessRatio-2 sskit/rawquic: 1 → 1.3, +30% (p = 0.002): significantly higher, by more than the 15% threshold"
	if code != exitFailed || !strings.Contains(stdout, want) {
		t.Fatalf("exit %d, want %d; output should contain %q:\n%s", code, exitFailed, want, stdout)
	}
	code, stdout, _ = runSSKit("bench", "compare", "--threshold", "0.35", old, cur)
	want = "no regression against " + old + ": nothing is significantly worse by more than the 35% threshold, and allocs/op did not increase significantly"
	if code != exitOK || !strings.Contains(stdout, want) {
		t.Fatalf("threshold 35%%: exit %d, want %d; output should contain %q:\n%s", code, exitOK, want, stdout)
	}
}

// Every line of the output is in plain decimal: times like 80µs, bytes like 2.78GB.
func TestBenchComparePrintsNoExponents(t *testing.T) {
	format := "BenchmarkDecode/PING-2\t20000\t%v ns/op\t2781.2 MB/s\t0 B/op\t0 allocs/op\t0.0123 loss/op\t12345 frames/op"
	old := benchFile(t, "old.txt", format, 80000, 80100, 79900, 80050, 79950, 80000)
	cur := benchFile(t, "new.txt", format, 200000, 200100, 199900, 200050, 199950, 200000)
	code, stdout, stderr := runSSKit("bench", "compare", old, cur)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitFailed, stderr)
	}
	if exp := regexp.MustCompile(`[0-9][eE][-+]?[0-9]`).FindString(stdout); exp != "" {
		t.Errorf("output has a number in exponent notation (%q):\n%s", exp, stdout)
	}
	for _, want := range []string{"80µs", "200µs", "2.781GB", "0.0123", "12345", "sec/op: 80µs → 200µs, +150%"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}
