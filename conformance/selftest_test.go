package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/harness"
)

// The test binary doubles as a fake node that honours only the readiness part of the node
// contract: /healthz answers 200, every other endpoint 501, and nothing listens for QUIC.
func TestMain(m *testing.M) {
	if os.Getenv("SSKIT_FAKE_NODE") == "1" {
		fakeNode()
		return
	}
	os.Exit(m.Run())
}

func fakeNode() {
	fmt.Println("fake node: admin on", os.Getenv("SSKIT_ADMIN"))
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, `{"status": "ok"}`) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotImplemented)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "fake node", "code": "not_implemented"})
	})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		os.Exit(0)
	}()
	if err := http.ListenAndServe(os.Getenv("SSKIT_ADMIN"), mux); err != nil {
		fmt.Println("fake node:", err)
		os.Exit(1)
	}
}

// A suite that only ever passes proves nothing: a node that is not a stableset node must fail,
// with "unsupported" where it said 501, and the reports must say so.
func TestSuiteFailsANodeThatIsNotOne(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSKIT_FAKE_NODE", "1")
	res, err := Run(t.Context(), Options{
		Impl: harness.Implementation{Name: "fake node", Command: []string{exe}},
		Tags: "@ID-3,@ADM-1,@ID-4", Seed: 1, ResultsDir: t.TempDir(), Suite: sskit.Suite, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"ID-3": Unsupported, "ID-4": Failed, "ADM-1": Failed, "NC-3": Failed, "WIRE-2": Untested}
	for _, rr := range res.Rules {
		if w, ok := want[rr.ID]; ok && rr.Status != w {
			t.Errorf("rule %s: verdict %s, want %s", rr.ID, rr.Status, w)
		}
	}
	if res.MustFailures() == 0 || !strings.HasPrefix(res.Verdict(), "FAILED") {
		t.Errorf("verdict %q with %d MUST failures; the fake node must fail", res.Verdict(), res.MustFailures())
	}
	for _, f := range []string{"report.html", "report.md", "junit.xml", "cucumber.json", "results.json"} {
		b, err := os.ReadFile(res.Dir + "/" + f)
		if err != nil || len(b) == 0 {
			t.Errorf("report file %s missing or empty: %v", f, err)
		}
	}
	md, _ := os.ReadFile(res.Dir + "/report.md")
	if !strings.Contains(string(md), "## Failures") || !strings.Contains(string(md), "**ID-4** (MUST)") {
		t.Errorf("report.md does not quote the broken rule:\n%s", md)
	}
	junit, _ := os.ReadFile(res.Dir + "/junit.xml")
	if strings.Contains(string(junit), `failures="0"`) && !strings.Contains(string(junit), "<failure") {
		t.Errorf("junit.xml reports no failure:\n%s", junit)
	}
}
