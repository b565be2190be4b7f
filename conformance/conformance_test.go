package conformance

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/harness"
)

// TestConformance certifies refnode on local processes, or the implementation named by
// NODE_CMD or NODE_IMAGE (with BACKEND, TAGS, SEED), and fails when a MUST rule fails.
func TestConformance(t *testing.T) {
	opts := optionsFromEnv(t)
	runSuite(t, opts)
}

// TestConformanceDocker runs the whole suite again with every node in its own container. In CI
// (CI set) it must run; elsewhere it skips when no Docker daemon answers.
func TestConformanceDocker(t *testing.T) {
	if os.Getenv("BACKEND") != "" || os.Getenv("NODE_CMD") != "" || os.Getenv("NODE_IMAGE") != "" {
		t.Skip("BACKEND or NODE_* chose one run; TestConformance does it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := harness.DockerAvailable(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the docker backend, but no Docker daemon answers: %v", err)
		}
		t.Skipf("no Docker daemon answers, so the docker backend is not tested: %v", err)
	}
	opts := optionsFromEnv(t)
	opts.Backend = "docker"
	runSuite(t, opts)
}

func optionsFromEnv(t *testing.T) Options {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	impl, err := ImplementationFromEnv(ctx, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	seed := time.Now().UnixNano() % 1_000_000
	if s := os.Getenv("SEED"); s != "" {
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("SEED=%q: %v", s, err)
		}
	}
	return Options{
		Impl: impl, Backend: os.Getenv("BACKEND"), Tags: os.Getenv("TAGS"), Seed: seed,
		ResultsDir: resultsDir(t), Suite: sskit.Suite, Progress: testWriter{t},
		Concurrency: 3, // as make conformance: most scenarios wait on the nodes, not on a core
	}
}

// resultsDir is where a test's runs write their reports: RESULTS when set, else a temporary
// directory that is removed when the test passes and kept, and named, when it fails. A test
// run must leave nothing in the checkout.
func resultsDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("RESULTS"); dir != "" {
		return dir
	}
	dir, err := os.MkdirTemp("", "sskit-test-results-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("reports kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

func runSuite(t *testing.T, opts Options) *Result {
	t.Helper()
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range res.Scenarios {
		if sc.Status == Failed && sc.Level == "must" {
			t.Errorf("%s: %s\n    step:  %s\n    error: %s", sc.File, sc.Title(), sc.FailedStep, sc.Error)
		}
	}
	if res.MustFailures() > 0 {
		t.Errorf("%s. Replay with SEED=%d; report: %s", res.Verdict(), res.Seed, filepath.Join(res.Dir, "report.html"))
	}
	return res
}

// testWriter sends progress lines to the test log, so that go test -v shows them as they come.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// TestNoFlakes runs the whole suite, every scenario, FLAKE_RUNS more times on refnode (default 2,
// so that with TestConformance refnode passes it three times in a row within make test's time;
// make flakes runs it ten times), each time in another scenario order: a conformance kit must
// pass a correct node every time.
func TestNoFlakes(t *testing.T) {
	if testing.Short() || os.Getenv("NODE_CMD") != "" || os.Getenv("NODE_IMAGE") != "" || os.Getenv("BACKEND") != "" || os.Getenv("TAGS") != "" {
		t.Skip("-short, or another implementation, backend or TAGS was chosen")
	}
	runs := 2
	if s := os.Getenv("FLAKE_RUNS"); s != "" {
		var err error
		if runs, err = strconv.Atoi(s); err != nil || runs < 0 {
			t.Fatalf("FLAKE_RUNS=%q: want a count", s)
		}
	}
	opts := optionsFromEnv(t)
	opts.Progress = nil
	// The @alone scenarios measure the node under load for seconds each; TestConformance and
	// TestConformanceDocker run them, and these runs look for flaky functional scenarios.
	opts.Tags = "~" + AloneTag
	for run := range runs {
		opts.Seed = int64(run + 1)
		res, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.MustFailures() > 0 || res.Count("", Failed) > 0 {
			for _, sc := range res.Scenarios {
				if sc.Status == Failed {
					t.Errorf("run %d (seed %d): %s: %s", run+1, opts.Seed, sc.Title(), sc.Error)
				}
			}
			t.Fatalf("run %d of %d failed; replay with SEED=%d", run+1, runs, opts.Seed)
		}
	}
}
