package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/conformance"
)

// version and commit of sskit, set by the Makefile with -ldflags.
var (
	version = "dev"
	commit  = ""
)

// Certification verdicts per rule over several runs.
const (
	certPass        = "pass"
	certFail        = "fail"
	certFlaky       = "flaky" // passed in some runs, failed in others: not certifiable
	certUnsupported = "unsupported"
	certUntested    = "untested"
)

// certificate is certificate.json.
type certificate struct {
	Certified      bool              `json:"certified"`
	Reason         string            `json:"reason,omitempty"`
	Implementation string            `json:"implementation"`      // the label sskit ran it under
	NodeName       string            `json:"node_implementation"` // what GET /v1/node says it is
	NodeVersion    string            `json:"node_version"`
	NodeCommand    string            `json:"node_command,omitempty"`
	NodeImage      string            `json:"node_image,omitempty"`
	Backend        string            `json:"backend"`
	SpecVersion    string            `json:"spec_version"`
	SskitVersion   string            `json:"sskit_version"`
	SskitCommit    string            `json:"sskit_commit"`
	Date           time.Time         `json:"date"`
	Runs           int               `json:"runs"`
	Seeds          []int64           `json:"seeds"`
	SuiteTimes     []string          `json:"suite_times"`
	Rules          []certRule        `json:"rules"`
	Files          map[string]string `json:"files_sha256"`
}

type certRule struct {
	ID      string `json:"id"`
	Level   string `json:"level"`
	Verdict string `json:"verdict"`
	Passed  int    `json:"runs_passed"`
	Failed  int    `json:"runs_failed"`
}

func cmdCertify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("certify", flag.ContinueOnError)
	var nf nodeFlags
	nf.register(fs)
	runs := fs.Int("runs", 3, "how many times the whole suite runs; every MUST rule must pass every time")
	results := fs.String("results", envOr("RESULTS", filepath.Join("results", "certification")), "directory for certificates: <dir>/<implementation>/<version>/")
	parallel := fs.Int("parallel", 2, "scenarios to run at once")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if os.Getenv("KNOWN_FAILURES") != "" {
		fmt.Fprintln(stderr, "sskit certify: a certificate cannot carry known failures; unset KNOWN_FAILURES")
		return exitUsage
	}
	if os.Getenv("TAGS") != "" {
		fmt.Fprintln(stderr, "sskit certify: certification runs every scenario; unset TAGS")
		return exitUsage
	}
	if *runs < 1 {
		fmt.Fprintln(stderr, "sskit certify: --runs must be at least 1")
		return exitUsage
	}
	ctx, cancel := interruptible()
	defer cancel()
	impl, err := nf.implementation(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "sskit certify:", err)
		return exitFailed
	}
	staging, err := os.MkdirTemp("", "sskit-certify-")
	if err != nil {
		fmt.Fprintln(stderr, "sskit certify:", err)
		return exitFailed
	}
	defer os.RemoveAll(staging)

	var all []*conformance.Result
	for i := 0; i < *runs; i++ {
		seed := nf.seed + int64(i) // a new scenario order each run
		fmt.Fprintf(stdout, "sskit certify: run %d of %d (seed %d)\n", i+1, *runs, seed)
		res, err := conformance.Run(ctx, conformance.Options{
			Impl: impl, Backend: nf.backend, Seed: seed, ResultsDir: filepath.Join(staging, fmt.Sprintf("run-%d", i+1)),
			Suite: sskit.Suite, Progress: indent{stdout}, Concurrency: *parallel,
		})
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "sskit certify: interrupted")
			return exitAborted
		}
		if err != nil {
			fmt.Fprintln(stderr, "sskit certify:", err)
			return exitFailed
		}
		all = append(all, res)
	}
	cert := combine(all, impl.Name, nf)
	dir := filepath.Join(*results, safePath(cert.Implementation), safePath(cert.NodeVersion))
	if err := writeCertificate(dir, cert, all); err != nil {
		fmt.Fprintln(stderr, "sskit certify:", err)
		return exitFailed
	}
	printCertificate(stdout, cert)
	fmt.Fprintf(stdout, "certificate: %s\n", filepath.Join(dir, "certificate.json"))
	if !cert.Certified {
		return exitFailed
	}
	return exitOK
}

// indent prefixes progress lines of the inner runs.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	_, err := i.w.Write([]byte("    " + strings.ReplaceAll(strings.TrimSuffix(string(p), "\n"), "\n", "\n    ") + "\n"))
	return len(p), err
}

func safePath(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == ':' {
			return '-'
		}
		return r
	}, s)
	if s == "" {
		return "unknown"
	}
	return s
}

// combine decides each rule over every run: pass only if it passed every time.
func combine(all []*conformance.Result, implName string, nf nodeFlags) certificate {
	first := all[0]
	cert := certificate{
		Implementation: implName, NodeName: first.NodeName, NodeVersion: first.NodeVersion, NodeCommand: nf.cmd, NodeImage: nf.image,
		Backend: first.Backend, SpecVersion: first.SpecVersion, SskitVersion: version, SskitCommit: sskitCommit(),
		Date: time.Now().UTC().Truncate(time.Second), Runs: len(all),
	}
	for _, r := range all {
		cert.Seeds = append(cert.Seeds, r.Seed)
		cert.SuiteTimes = append(cert.SuiteTimes, r.Duration.Round(time.Millisecond).String())
	}
	var broken []string
	for i, rule := range first.Rules {
		cr := certRule{ID: rule.ID, Level: rule.Level}
		unsupported := false
		for _, r := range all {
			switch r.Rules[i].Status {
			case conformance.Passed:
				cr.Passed++
			case conformance.Failed, conformance.Known:
				cr.Failed++
			case conformance.Unsupported:
				unsupported = true
			}
		}
		switch {
		case cr.Failed > 0 && cr.Passed > 0:
			cr.Verdict = certFlaky
		case cr.Failed > 0:
			cr.Verdict = certFail
		case unsupported:
			cr.Verdict = certUnsupported
		case cr.Passed == len(all):
			cr.Verdict = certPass
		default:
			cr.Verdict = certUntested
		}
		if rule.Must() && cr.Verdict != certPass {
			broken = append(broken, cr.ID+" "+cr.Verdict)
		}
		cert.Rules = append(cert.Rules, cr)
	}
	cert.Certified = len(broken) == 0
	if !cert.Certified {
		cert.Reason = "MUST rules not passing in every run: " + strings.Join(broken, ", ")
	}
	return cert
}

// sskitCommit is the commit sskit was built from, or the checkout's HEAD when run from source.
func sskitCommit() string {
	if commit != "" {
		return commit
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// writeCertificate lays out <dir>: every run's reports and logs under runs/, the last run's
// report.html and junit.xml at the top, certificate.md for people, reproduce.sh, and
// certificate.json with the hashes of the report files.
func writeCertificate(dir string, cert certificate, all []*conformance.Result) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, r := range all {
		if err := os.CopyFS(filepath.Join(dir, "runs", fmt.Sprintf("run-%d", i+1)), os.DirFS(r.Dir)); err != nil {
			return err
		}
	}
	last := filepath.Join(dir, "runs", fmt.Sprintf("run-%d", len(all)))
	for _, f := range []string{"report.html", "junit.xml"} {
		b, err := os.ReadFile(filepath.Join(last, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "certificate.md"), []byte(certificateMarkdown(cert)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "reproduce.sh"), []byte(reproduceScript(cert)), 0o755); err != nil {
		return err
	}
	cert.Files = map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".html") || strings.HasSuffix(name, ".md") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			sum := sha256.Sum256(b)
			cert.Files[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(cert, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "certificate.json"), append(js, '\n'), 0o644)
}

func certificateMarkdown(c certificate) string {
	var b strings.Builder
	verdict := "CERTIFIED: every MUST rule passed in every run"
	if !c.Certified {
		verdict = "NOT CERTIFIED: " + c.Reason
	}
	fmt.Fprintf(&b, "# sskit certificate: %s %s\n\n**%s**\n\n", c.Implementation, c.NodeVersion, verdict)
	fmt.Fprintf(&b, "| | |\n|---|---|\n| spec version | %s |\n| backend | %s |\n| runs | %d (seeds %v) |\n| suite times | %s |\n| sskit | %s (%s) |\n| date | %s |\n\n",
		c.SpecVersion, c.Backend, c.Runs, c.Seeds, strings.Join(c.SuiteTimes, ", "), c.SskitVersion, c.SskitCommit, c.Date.Format(time.RFC3339))
	b.WriteString("| rule | level | verdict | runs passed | runs failed |\n|---|---|---|---|---|\n")
	for _, r := range c.Rules {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d |\n", r.ID, r.Level, r.Verdict, r.Passed, r.Failed)
	}
	b.WriteString("\nEach run's full report and node logs are under `runs/`. `reproduce.sh` repeats the certification.\n")
	return b.String()
}

func reproduceScript(c certificate) string {
	node := "--node-cmd " + shellQuote(c.NodeCommand)
	if c.NodeImage != "" {
		node = "--node-image " + shellQuote(c.NodeImage)
	} else if c.NodeCommand == "" {
		node = "" // refnode, built from the sskit checkout
	}
	return fmt.Sprintf(`#!/bin/sh
# Repeats this certification: sskit %s at commit %s, spec version %s.
set -e
git checkout %s
make build
bin/sskit certify --backend %s --runs %d --seed %d %s
`, c.SskitVersion, c.SskitCommit, c.SpecVersion, c.SskitCommit, c.Backend, c.Runs, c.Seeds[0], node)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func printCertificate(w io.Writer, c certificate) {
	counts := map[string]int{}
	for _, r := range c.Rules {
		if r.Level == "MUST" {
			counts[r.Verdict]++
		}
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "MUST rules over %d runs:", c.Runs)
	for _, k := range keys {
		fmt.Fprintf(tw, "\t%d %s", counts[k], k)
	}
	fmt.Fprintln(tw)
	tw.Flush()
	if c.Certified {
		fmt.Fprintf(w, "CERTIFIED: %s %s keeps every MUST rule of spec version %s in %d of %d runs\n", c.Implementation, c.NodeVersion, c.SpecVersion, c.Runs, c.Runs)
	} else {
		fmt.Fprintf(w, "NOT CERTIFIED: %s\n", c.Reason)
	}
}
