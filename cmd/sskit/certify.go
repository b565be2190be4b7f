package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/conformance"
	"github.com/stableset/sskit/harness"
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
	certBlocked     = "blocked" // a scenario that checks it failed before reaching it, in some run
	certUntested    = "untested"
)

// certificate is certificate.json.
type certificate struct {
	Certified      bool   `json:"certified"`
	Reason         string `json:"reason,omitempty"`
	Implementation string `json:"implementation"`      // the label sskit ran it under
	NodeName       string `json:"node_implementation"` // what GET /v1/node says it is
	NodeVersion    string `json:"node_version"`
	NodeCommand    string `json:"node_command,omitempty"`
	NodeImage      string `json:"node_image,omitempty"`
	// Profile names the parts of the spec certified (SPEC.md "Parts and profiles"), e.g.
	// "core + consensus"; LeftOut the parts the node leaves out, whose rules certify nothing.
	Profile      string    `json:"profile"`
	LeftOut      []string  `json:"left_out,omitempty"`
	Backend      string    `json:"backend"`
	SpecVersion  string    `json:"spec_version"`
	SskitVersion string    `json:"sskit_version"`
	SskitCommit  string    `json:"sskit_commit"`
	Date         time.Time `json:"date"`
	// Command is the certify run's argv with every setting that decides the outcome spelled out,
	// whether it came from a flag or the environment; reproduce.sh runs it again.
	Command    []string          `json:"command"`
	Runs       int               `json:"runs"`
	Seeds      []int64           `json:"seeds"`
	SuiteTimes []string          `json:"suite_times"`
	Rules      []certRule        `json:"rules"`
	Files      map[string]string `json:"files_sha256"`
}

type certRule struct {
	ID      string `json:"id"`
	Level   string `json:"level"`
	Section string `json:"section"`
	Part    string `json:"part"`
	Verdict string `json:"verdict"`
	Passed  int    `json:"runs_passed"`
	Failed  int    `json:"runs_failed"`
	// PerRun is the rule's verdict in each run, in run order: pass, fail, unsupported, untested or known.
	PerRun []string `json:"per_run"`
}

// Name is the implementation's name as the node reports it, or sskit's label when it reports none.
func (c certificate) Name() string {
	if c.NodeName != "" {
		return c.NodeName
	}
	return c.Implementation
}

// certificateDir is where a certificate of the named implementation and version goes under root.
func certificateDir(root, name, version string) string {
	return filepath.Join(root, safePath(name), safePath(version))
}

// errCertificateExists refuses to replace a certificate without --force.
type errCertificateExists struct {
	dir       string
	committed bool // git tracks files in dir
}

func (e *errCertificateExists) Error() string {
	if e.committed {
		return e.dir + " holds a committed certificate; use --force to replace it"
	}
	return e.dir + " already holds a certificate; use --force to replace it"
}

// checkOverwrite returns an *errCertificateExists when dir holds anything.
func checkOverwrite(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	return &errCertificateExists{dir: dir, committed: trackedByGit(dir)}
}

// trackedByGit reports whether git tracks any file under dir; false outside a repository.
func trackedByGit(dir string) bool {
	out, err := exec.Command("git", "-C", dir, "ls-files", "--", ".").Output()
	return err == nil && len(bytes.TrimSpace(out)) > 0
}

// writeErrorCode is the exit code for a failure to write the certificate: a refusal to
// overwrite is bad usage, since --force or another --out fixes it.
func writeErrorCode(err error) int {
	var exists *errCertificateExists
	if errors.As(err, &exists) {
		return exitUsage
	}
	return exitFailed
}

// certifyCommand is the certify argv with every setting that decides the outcome explicit, so
// that variables in the reproducer's environment cannot change it.
func certifyCommand(nf nodeFlags, runs, parallel int) []string {
	argv := []string{"sskit", "certify", "--backend", nf.backend, "--runs", strconv.Itoa(runs),
		"--seed", strconv.FormatInt(nf.seed.v, 10), "--parallel", strconv.Itoa(parallel)}
	if nf.name != "" {
		argv = append(argv, "--impl-name", nf.name)
	}
	if nf.cmd != "" {
		argv = append(argv, "--node-cmd", nf.cmd)
	}
	if nf.image != "" {
		argv = append(argv, "--node-image", nf.image)
	}
	return argv
}

// certifyOptions are certify's flags.
type certifyOptions struct {
	nf       nodeFlags
	runs     int
	parallel int
	out      string // root of certificates; RESULTS is conformance's and is not read here
	force    bool
}

// parseCertifyFlags reads certify's flags and checks what the environment may not ask of a
// certification; ok is false when the command must end with code.
func parseCertifyFlags(args []string, stderr io.Writer) (o certifyOptions, code int, ok bool) {
	fs := flag.NewFlagSet("certify", flag.ContinueOnError)
	o.nf.register(fs)
	fs.IntVar(&o.runs, "runs", 3, "how many times the whole suite runs; every MUST rule must pass every time")
	fs.StringVar(&o.out, "out", envOr("CERT_DIR", filepath.Join("results", "certification")), "directory for certificates: <dir>/<implementation>/<version>/ [CERT_DIR]")
	fs.BoolVar(&o.force, "force", false, "replace an existing certificate of the same implementation and version")
	fs.IntVar(&o.parallel, "parallel", 2, "scenarios to run at once, at least 1")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return o, code, false
	}
	if os.Getenv("KNOWN_FAILURES") != "" {
		fmt.Fprintln(stderr, "sskit certify: a certificate cannot carry known failures; unset KNOWN_FAILURES")
		return o, exitUsage, false
	}
	if os.Getenv("TAGS") != "" {
		fmt.Fprintln(stderr, "sskit certify: certification runs every scenario; unset TAGS")
		return o, exitUsage, false
	}
	if o.runs < 1 {
		fmt.Fprintln(stderr, "sskit certify: --runs must be at least 1")
		return o, exitUsage, false
	}
	if o.parallel < 1 {
		fmt.Fprintf(stderr, "sskit certify: --parallel %d: want at least 1\n", o.parallel)
		return o, exitUsage, false
	}
	if err := o.nf.check(); err != nil {
		fmt.Fprintln(stderr, "sskit certify:", err)
		return o, exitUsage, false
	}
	return o, exitOK, true
}

func cmdCertify(args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseCertifyFlags(args, stderr)
	if !ok {
		return code
	}
	nf := o.nf
	ctx, cancel := interruptible()
	defer cancel()
	impl, err := nf.implementation(ctx) // may switch the backend to docker for an image
	if err != nil {
		fmt.Fprintln(stderr, "sskit certify:", err)
		return exitNoNode
	}
	command := certifyCommand(nf, o.runs, o.parallel)
	staging, err := os.MkdirTemp("", "sskit-certify-")
	if err != nil {
		fmt.Fprintln(stderr, "sskit certify:", err)
		return exitFailed
	}
	defer os.RemoveAll(staging)

	var all []*conformance.Result
	for i := 0; i < o.runs; i++ {
		seed := nf.seed.v + int64(i) // a new scenario order each run
		fmt.Fprintf(stdout, "sskit certify: run %d of %d (seed %d)\n", i+1, o.runs, seed)
		res, err := conformance.Run(ctx, conformance.Options{
			Impl: impl, Backend: nf.backend, Seed: seed, ResultsDir: filepath.Join(staging, fmt.Sprintf("run-%d", i+1)),
			Suite: sskit.Suite, Progress: indent{stdout}, Concurrency: o.parallel,
		})
		var usage *conformance.UsageError
		var pre *conformance.PreflightError
		switch {
		case ctx.Err() != nil:
			fmt.Fprintln(stderr, "sskit certify: interrupted")
			return exitAborted
		case errors.As(err, &usage):
			fmt.Fprintln(stderr, "sskit certify:", err)
			return exitUsage
		case errors.As(err, &pre):
			fmt.Fprintln(stderr, "sskit certify:", err)
			return exitNoNode
		case err != nil:
			fmt.Fprintln(stderr, "sskit certify:", err)
			return exitFailed
		}
		all = append(all, res)
		if i == 0 && !o.force {
			// The directory depends on the name and version the node reports, so the first run
			// is the earliest moment to refuse, rather than after every run.
			first := combine(all, impl.Name, nf, command)
			if err := checkOverwrite(certificateDir(o.out, first.Name(), first.NodeVersion)); err != nil {
				fmt.Fprintln(stderr, "sskit certify:", err)
				return writeErrorCode(err)
			}
		}
	}
	cert := combine(all, impl.Name, nf, command)
	dir := certificateDir(o.out, cert.Name(), cert.NodeVersion)
	if err := writeCertificate(dir, cert, all, o.force); err != nil {
		fmt.Fprintln(stderr, "sskit certify:", err)
		return writeErrorCode(err)
	}
	printCertificate(stdout, cert)
	fmt.Fprintf(stdout, "certificate: %s\n", filepath.Join(dir, "certificate.html"))
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

// safePath makes a name the node reports usable as one path element.
func safePath(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' || r == ':' || r < ' ' {
			return '-'
		}
		return r
	}, s)
	if strings.Trim(s, ".") == "" { // empty, "." or "..": not a directory of its own
		return "unknown"
	}
	return s
}

// combine decides each rule over every run: pass only if it passed every time.
func combine(all []*conformance.Result, implName string, nf nodeFlags, command []string) certificate {
	first := all[0]
	cert := certificate{
		Implementation: implName, NodeName: first.NodeName, NodeVersion: first.NodeVersion, NodeCommand: nf.cmd, NodeImage: nf.image,
		Backend: first.Backend, SpecVersion: first.SpecVersion, SskitVersion: version, SskitCommit: sskitCommit(),
		Date: time.Now().UTC().Truncate(time.Second), Command: command, Runs: len(all),
	}
	for _, r := range all {
		cert.Seeds = append(cert.Seeds, r.Seed)
		cert.SuiteTimes = append(cert.SuiteTimes, r.Duration.Round(time.Millisecond).String())
	}
	perRun := make([]map[string]conformance.Status, len(all))
	for i, r := range all {
		perRun[i] = map[string]conformance.Status{}
		for _, rr := range r.Rules {
			perRun[i][rr.ID] = rr.Status
		}
	}
	// The profile is what the node said of itself in the first run; a node whose profile changes
	// between runs cannot be certified for any.
	cert.Profile = first.ProfileName()
	cert.LeftOut = first.LeftOutParts()
	var broken []string
	for _, r := range all[1:] {
		if r.ProfileName() != first.ProfileName() {
			broken = append(broken, fmt.Sprintf("the profile changed between runs (%s, then %s)", first.ProfileName(), r.ProfileName()))
			break
		}
	}
	for _, rule := range first.Rules {
		cr := certRule{ID: rule.ID, Level: rule.Level, Section: rule.Section, Part: rule.Part}
		unsupported, blocked := false, false
		for i := range all {
			status, ok := perRun[i][rule.ID]
			if !ok {
				status = conformance.Untested
			}
			cr.PerRun = append(cr.PerRun, string(status))
			switch status {
			case conformance.Passed:
				cr.Passed++
			case conformance.Failed, conformance.Known:
				cr.Failed++
			case conformance.Unsupported:
				unsupported = true
			case conformance.Blocked:
				blocked = true
			}
		}
		switch {
		case cr.Failed > 0 && cr.Passed > 0:
			cr.Verdict = certFlaky
		case cr.Failed > 0:
			cr.Verdict = certFail
		case blocked:
			cr.Verdict = certBlocked
		case unsupported:
			cr.Verdict = certUnsupported
		case cr.Passed == len(all):
			cr.Verdict = certPass
		default:
			cr.Verdict = certUntested
		}
		// A rule of a part the node leaves out is unsupported and certifies nothing either way:
		// the certificate is for the profile. Every MUST rule of the profile passes every time.
		if _, left := first.LeftOut[rule.Part]; rule.Must() && cr.Verdict != certPass && !left {
			broken = append(broken, cr.ID+" "+cr.Verdict)
		}
		cert.Rules = append(cert.Rules, cr)
	}
	cert.Certified = len(broken) == 0
	if !cert.Certified {
		cert.Reason = "MUST rules of " + cert.Profile + " not passing in every run: " + strings.Join(broken, ", ")
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

// runReport is where run n's (1-based) report lies inside a certificate directory.
func runReport(n int, file string) string { return fmt.Sprintf("runs/run-%d/%s", n, file) }

// writeCertificate lays out <dir>: certificate.html (the page to read; it links every run's
// report), certificate.md, reproduce.sh, every run's reports and logs under runs/, and
// certificate.json with the hashes of the report files. It builds the directory beside dir and
// renames it into place, so that a failure leaves any earlier certificate whole. An existing
// certificate is replaced only with force.
func writeCertificate(dir string, cert certificate, all []*conformance.Result, force bool) error {
	if !force {
		if err := checkOverwrite(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	for i, r := range all {
		if err := os.CopyFS(filepath.Join(tmp, "runs", fmt.Sprintf("run-%d", i+1)), os.DirFS(r.Dir)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "certificate.md"), []byte(certificateMarkdown(cert)), 0o644); err != nil {
		return err
	}
	page, err := certificateHTML(cert)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "certificate.html"), page, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "reproduce.sh"), []byte(reproduceScript(cert)), 0o755); err != nil {
		return err
	}
	cert.Files = map[string]string{}
	err = filepath.WalkDir(tmp, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".html") || strings.HasSuffix(name, ".md") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(tmp, path)
			sum := sha256.Sum256(b)
			cert.Files[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
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
	if err := os.WriteFile(filepath.Join(tmp, "certificate.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	if force {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	// Rename fails on a non-empty dir, so a certificate that appeared meanwhile stays.
	return os.Rename(tmp, dir)
}

// ruleSection is one section of the spec with its rules, MUST before SHOULD.
type ruleSection struct {
	Name  string
	Rules []certRule
}

// bySection groups rules by spec section in the order sections first appear, MUST rules first
// within each.
func bySection(rules []certRule) []ruleSection {
	var out []ruleSection
	index := map[string]int{}
	for _, r := range rules {
		i, ok := index[r.Section]
		if !ok {
			i = len(out)
			index[r.Section] = i
			out = append(out, ruleSection{Name: r.Section})
		}
		out[i].Rules = append(out[i].Rules, r)
	}
	for _, s := range out {
		sort.SliceStable(s.Rules, func(a, b int) bool { return s.Rules[a].Level == "MUST" && s.Rules[b].Level != "MUST" })
	}
	return out
}

// verdictLine is the certificate's verdict and why.
func verdictLine(c certificate) string {
	if c.Certified {
		return fmt.Sprintf("CERTIFIED for %s: every MUST rule of %s passed in every one of %d runs%s", c.Profile, c.Profile, c.Runs, leftOutClause(c))
	}
	return "NOT CERTIFIED: " + c.Reason
}

// leftOutClause names the parts a certificate does not cover.
func leftOutClause(c certificate) string {
	if len(c.LeftOut) == 0 {
		return ""
	}
	return " (the node leaves out " + strings.Join(c.LeftOut, ", ") + ": not certified)"
}

// oneLine keeps what a node reports about itself from breaking out of a comment or a table row.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == '|' {
			return ' '
		}
		return r
	}, s)
}

func certificateMarkdown(c certificate) string {
	var b strings.Builder
	mdText := strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace // a node's name is text, not markup
	name, ver := mdText(oneLine(c.Name())), mdText(oneLine(c.NodeVersion))
	fmt.Fprintf(&b, "# sskit certificate: %s %s\n\n**%s**\n\n", name, ver, verdictLine(c))
	fmt.Fprintf(&b, "| | |\n|---|---|\n| implementation | %s %s (as `GET /v1/node` reports it; label in reports: %s) |\n", name, ver, mdText(oneLine(c.Implementation)))
	if c.Profile != "" {
		fmt.Fprintf(&b, "| profile | %s |\n", c.Profile)
	}
	fmt.Fprintf(&b, "| spec version | %s |\n| backend | %s |\n| sskit | %s (%s) |\n| date | %s |\n| command | `%s` |\n\n",
		c.SpecVersion, c.Backend, c.SskitVersion, c.SskitCommit, c.Date.Format(time.RFC3339), strings.ReplaceAll(harness.ShellWords(c.Command), "|", `\|`))
	b.WriteString("| run | seed | suite time | report |\n|---|---|---|---|\n")
	for i, seed := range c.Seeds {
		fmt.Fprintf(&b, "| %d | %d | %s | [report.html](%s), [report.md](%s) |\n", i+1, seed, c.SuiteTimes[i], runReport(i+1, "report.html"), runReport(i+1, "report.md"))
	}
	b.WriteString("\n## Rules\n")
	for _, s := range bySection(c.Rules) {
		fmt.Fprintf(&b, "\n### %s\n\n| rule | level | verdict |", s.Name)
		for i := range c.Seeds {
			fmt.Fprintf(&b, " run %d |", i+1)
		}
		b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(c.Seeds)) + "\n")
		for _, r := range s.Rules {
			fmt.Fprintf(&b, "| %s | %s | %s |", r.ID, r.Level, r.Verdict)
			for _, v := range r.PerRun {
				fmt.Fprintf(&b, " %s |", v)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n`certificate.html` is this certificate as a page to read and print. Each run's full report and node logs are under `runs/`; `reproduce.sh` repeats the certification.\n")
	return b.String()
}

// reproduceScript repeats the certification from a fresh clone of sskit at the certifying
// commit, with the recorded command; the user's own checkout is only read.
func reproduceScript(c certificate) string {
	args := []string{"certify"}
	if len(c.Command) > 1 {
		args = c.Command[1:] // without the program name: the clone's bin/sskit runs them
	}
	dirty := ""
	if strings.HasSuffix(c.SskitVersion, "-dirty") {
		dirty = "echo \"reproduce.sh: note: the certifying sskit ($version) had uncommitted changes; this uses commit $commit as committed\" >&2\n"
	}
	return fmt.Sprintf(`#!/bin/sh
# Repeats the certification of %[1]s %[2]s: sskit %[3]s at commit %[4]s, spec version %[5]s.
# It clones sskit into a temporary directory, checks out that commit there, builds it and runs
# the recorded certify command there, then removes the clone; your own checkout is only read.
# Paths in the node command resolve inside the clone, as they did in the certifying checkout.
#
# usage: reproduce.sh [SSKIT_REPO [OUT_DIR]]
#   SSKIT_REPO  the sskit repository, a path or URL (default: the git repository holding this script)
#   OUT_DIR     where the new certificate goes (default: ./reproduced)
# SSKIT_REPRODUCE_DRY_RUN=1 prints the build and certify commands instead of running them.
set -eu
version=%[6]s
commit=%[7]s
%[8]srepo=${1:-${SSKIT_REPO:-}}
if [ -z "$repo" ]; then
	repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null) || {
		echo "reproduce.sh: this script is not inside a git repository; give the sskit repository (path or URL) as the first argument or SSKIT_REPO" >&2
		exit 2
	}
fi
out=${2:-${REPRODUCE_OUT:-reproduced}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sskit-reproduce.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
echo "reproduce.sh: cloning $repo into $tmp"
git clone --quiet --no-checkout "$repo" "$tmp/sskit"
if ! git -C "$tmp/sskit" -c advice.detachedHead=false checkout --quiet --detach "$commit" 2>/dev/null; then
	echo "reproduce.sh: $repo has no commit $commit; give the sskit repository that has it as the first argument or SSKIT_REPO" >&2
	exit 2
fi
cd "$tmp/sskit"
# Only the recorded flags may decide the run, not variables sskit would otherwise read.
unset NODE_CMD NODE_IMAGE IMPL_NAME BACKEND SEED TAGS KNOWN_FAILURES CERT_DIR RESULTS
set -- %[9]s --out "$out"
if [ "${SSKIT_REPRODUCE_DRY_RUN:-}" = 1 ]; then
	echo "reproduce.sh: dry run in $(pwd) at $(git rev-parse HEAD)"
	echo "make build"
	printf '[%%s]\n' bin/sskit "$@"
	exit 0
fi
make build
bin/sskit "$@"
`, oneLine(c.Name()), oneLine(c.NodeVersion), oneLine(c.SskitVersion), oneLine(c.SskitCommit), oneLine(c.SpecVersion),
		shellQuote(c.SskitVersion), shellQuote(c.SskitCommit), dirty, harness.ShellWords(args))
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
		fmt.Fprintf(w, "CERTIFIED for %s, spec version %s: %s %s keeps every MUST rule of those parts in %d of %d runs%s\n", c.Profile, c.SpecVersion, c.Name(), c.NodeVersion, c.Runs, c.Runs, leftOutClause(c))
	} else {
		fmt.Fprintf(w, "NOT CERTIFIED: %s\n", c.Reason)
	}
}
