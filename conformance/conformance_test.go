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
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Impl: impl, Backend: os.Getenv("BACKEND"), Tags: os.Getenv("TAGS"), Seed: seed,
		ResultsDir: filepath.Join(root, "results", "conformance"), Suite: sskit.Suite, Progress: testWriter{t},
		Concurrency: 2,
	}
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

// TestNoFlakes runs the whole suite ten times on refnode, each time in another scenario order:
// a conformance kit must pass a correct node every time (issue: certification and suite strength).
func TestNoFlakes(t *testing.T) {
	if testing.Short() || os.Getenv("NODE_CMD") != "" || os.Getenv("NODE_IMAGE") != "" || os.Getenv("BACKEND") != "" {
		t.Skip("-short, or another implementation or backend was chosen")
	}
	opts := optionsFromEnv(t)
	opts.Progress = nil
	opts.ResultsDir = t.TempDir()
	// Cluster scenarios take tens of seconds each; TestConformance and the docker run cover them.
	opts.Tags = "~@cluster"
	for run := range 10 {
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
			t.Fatalf("run %d of 10 failed; replay with SEED=%d", run+1, opts.Seed)
		}
	}
}
