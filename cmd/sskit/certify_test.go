package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stableset/sskit/conformance"
	"github.com/stableset/sskit/harness"
)

// fakeRun is one run's Result over rules given as "ID LEVEL SECTION" with their statuses, and a
// run directory holding small report files, as conformance.Run leaves them.
func fakeRun(t *testing.T, seed int64, nodeName, nodeVersion string, rules []string, statuses ...conformance.Status) *conformance.Result {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"report.html": fmt.Sprintf("<html>run with seed %d</html>", seed), "report.md": "# run\n",
		"junit.xml": "<testsuites/>", "results.json": "{}", "cucumber.json": "[]",
		"logs/scenario-1/node-0.log": "node log\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &conformance.Result{Implementation: "mynode-bin", NodeName: nodeName, NodeVersion: nodeVersion, Backend: "process",
		SpecVersion: "2", Seed: seed, Duration: 41 * time.Second, Dir: dir, Profile: []string{"core"}}
	for i, spec := range rules {
		f := strings.SplitN(spec, " ", 3)
		r.Rules = append(r.Rules, conformance.RuleResult{Rule: conformance.Rule{ID: f[0], Level: f[1], Section: f[2], Part: "core"}, Status: statuses[i]})
	}
	return r
}

var fakeRules = []string{
	"ID-1 SHOULD 1. Identity (ID)", // a SHOULD before a MUST of its section: the table puts MUST first
	"ID-2 MUST 1. Identity (ID)",
	"WIRE-1 MUST 2. Framing (WIRE)",
	"WIRE-2 MUST 2. Framing (WIRE)",
	"ADM-1 SHOULD 3. Admin API (ADM)",
}

const (
	pass        = conformance.Passed
	fail        = conformance.Failed
	unsupported = conformance.Unsupported
	untested    = conformance.Untested
)

// Three runs: ID-2 passes every time, WIRE-1 fails once (flaky), WIRE-2 fails every time, ID-1 is
// unsupported, ADM-1 untested.
func flakyRuns(t *testing.T, nodeName string) []*conformance.Result {
	return []*conformance.Result{
		fakeRun(t, 100, nodeName, "1.2.3", fakeRules, unsupported, pass, pass, fail, untested),
		fakeRun(t, 101, nodeName, "1.2.3", fakeRules, unsupported, pass, fail, fail, untested),
		fakeRun(t, 102, nodeName, "1.2.3", fakeRules, unsupported, pass, pass, fail, untested),
	}
}

var testFlags = nodeFlags{cmd: "/opt/my node/bin/node --motd it's {listen}", name: "Acme node", backend: "process", seed: seedValue{v: 100, set: true}}

func TestCertificatePerRunVerdicts(t *testing.T) {
	cert := combine(flakyRuns(t, "acme"), "mynode-bin", testFlags, certifyCommand(testFlags, 3, 1))
	want := map[string]struct {
		verdict        string
		perRun         []string
		passed, failed int
	}{
		"ID-1":   {certUnsupported, []string{"unsupported", "unsupported", "unsupported"}, 0, 0},
		"ID-2":   {certPass, []string{"pass", "pass", "pass"}, 3, 0},
		"WIRE-1": {certFlaky, []string{"pass", "fail", "pass"}, 2, 1},
		"WIRE-2": {certFail, []string{"fail", "fail", "fail"}, 0, 3},
		"ADM-1":  {certUntested, []string{"untested", "untested", "untested"}, 0, 0},
	}
	if len(cert.Rules) != len(want) {
		t.Fatalf("%d rules, want %d", len(cert.Rules), len(want))
	}
	for _, r := range cert.Rules {
		w := want[r.ID]
		if r.Verdict != w.verdict || !slices.Equal(r.PerRun, w.perRun) || r.Passed != w.passed || r.Failed != w.failed {
			t.Errorf("%s: verdict %s per run %v (%d passed, %d failed); want %s %v (%d, %d)", r.ID, r.Verdict, r.PerRun, r.Passed, r.Failed, w.verdict, w.perRun, w.passed, w.failed)
		}
	}
	if cert.Certified || cert.Reason != "MUST rules of core not passing in every run: WIRE-1 flaky, WIRE-2 fail" {
		t.Errorf("certified %v, reason %q", cert.Certified, cert.Reason)
	}
	if !slices.Equal(cert.Seeds, []int64{100, 101, 102}) {
		t.Errorf("seeds %v", cert.Seeds)
	}

	// SHOULD rules that fail or are untested do not stand in the way.
	ok := combine([]*conformance.Result{
		fakeRun(t, 7, "acme", "1.2.3", fakeRules, fail, pass, pass, pass, untested),
		fakeRun(t, 8, "acme", "1.2.3", fakeRules, pass, pass, pass, pass, fail),
	}, "mynode-bin", testFlags, nil)
	if !ok.Certified || ok.Reason != "" {
		t.Errorf("every MUST rule passed twice, yet certified %v, reason %q", ok.Certified, ok.Reason)
	}
}

// The certificate directory holds certificate.html as its top page, linking every run's report,
// and no copy of any run's files at the top.
func TestCertificateFiles(t *testing.T) {
	all := flakyRuns(t, `acme <b>"node"</b>`)
	cert := combine(all, "mynode-bin", testFlags, certifyCommand(testFlags, 3, 1))
	cert.Profile = "core+sections"
	dir := filepath.Join(t.TempDir(), "acme", "1.2.3")
	if err := writeCertificate(dir, cert, all, false); err != nil {
		t.Fatal(err)
	}
	top, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range top {
		names = append(names, e.Name())
	}
	if want := []string{"certificate.html", "certificate.json", "certificate.md", "reproduce.sh", "runs"}; !slices.Equal(names, want) {
		t.Errorf("certificate directory holds %v, want %v", names, want)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*partial*")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}

	page := read(t, dir, "certificate.html")
	for _, want := range []string{
		`<p class="verdict bad">NOT CERTIFIED</p>`,
		`2 MUST rule(s) did not pass in every run`, `href="#WIRE-1">WIRE-1</a> (flaky)`, `href="#WIRE-2">WIRE-2</a> (fail)`,
		`<td>profile</td><td><b>core&#43;sections</b>, spec version 2</td>`,
		`acme &lt;b&gt;&#34;node&#34;&lt;/b&gt; 1.2.3`, // the node's name, escaped
		`labelled mynode-bin in the run reports`,
		`<td>spec version</td><td>2</td>`, `<td>backend</td><td>process</td>`,
		`<td>100</td><td>41s</td>`, `<td>102</td><td>41s</td>`,
		`<a class="fail" href="runs/run-2/report.html#WIRE-1">fail</a>`,
		`<a class="pass" href="runs/run-3/report.html#WIRE-1">pass</a>`,
		`<td class="flaky">flaky</td>`,
		`<a href="runs/run-1/report.html">report.html</a>`, `<a href="runs/run-3/junit.xml">junit.xml</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("certificate.html lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>\"node\"") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(page) {
		t.Error("certificate.html has unescaped node text or an external asset")
	}
	// Within a section MUST rules come first; sections keep the spec's order.
	order := regexp.MustCompile(`<tr id="([A-Z]+-[0-9]+)"`).FindAllStringSubmatch(page, -1)
	var ids []string
	for _, m := range order {
		ids = append(ids, m[1])
	}
	if want := []string{"ID-2", "ID-1", "WIRE-1", "WIRE-2", "ADM-1"}; !slices.Equal(ids, want) {
		t.Errorf("rule rows in order %v, want %v", ids, want)
	}
	// Every link to a run's file leads to a file of the certificate.
	for _, m := range regexp.MustCompile(`href="(runs/[^"#]+)`).FindAllStringSubmatch(page, -1) {
		if _, err := os.Stat(filepath.Join(dir, m[1])); err != nil {
			t.Errorf("certificate.html links %s: %v", m[1], err)
		}
	}
	if log := read(t, dir, "runs/run-2/logs/scenario-1/node-0.log"); log != "node log\n" {
		t.Errorf("run 2's node log is %q", log)
	}

	md := read(t, dir, "certificate.md")
	for _, want := range []string{
		"| rule | level | verdict | run 1 | run 2 | run 3 |",
		"| WIRE-1 | MUST | flaky | pass | fail | pass |",
		"| 2 | 101 | 41s | [report.html](runs/run-2/report.html), [report.md](runs/run-2/report.md) |",
		"| profile | core+sections |",
		"# sskit certificate: acme &lt;b&gt;\"node\"&lt;/b&gt; 1.2.3\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("certificate.md lacks %q", want)
		}
	}

	var saved certificate
	if err := json.Unmarshal([]byte(read(t, dir, "certificate.json")), &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Rules[2].ID != "WIRE-1" || !slices.Equal(saved.Rules[2].PerRun, []string{"pass", "fail", "pass"}) || saved.Profile != "core+sections" ||
		!slices.Equal(saved.Command, cert.Command) {
		t.Errorf("certificate.json: rule %+v, profile %q, command %q", saved.Rules[2], saved.Profile, saved.Command)
	}
	for _, f := range []string{"certificate.html", "certificate.md", "runs/run-3/report.html", "runs/run-1/junit.xml"} {
		sum := sha256.Sum256([]byte(read(t, dir, f)))
		if saved.Files[f] != hex.EncodeToString(sum[:]) {
			t.Errorf("certificate.json: %s has hash %q, want its SHA-256", f, saved.Files[f])
		}
	}
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The title and directory carry the name the node reports; sskit's label only when it reports none.
func TestCertificateTitleName(t *testing.T) {
	for _, c := range []struct{ nodeName, want string }{{"acme-node", "acme-node"}, {"", "mynode-bin"}} {
		runs := []*conformance.Result{fakeRun(t, 1, c.nodeName, "1.2.3", fakeRules, pass, pass, pass, pass, pass)}
		cert := combine(runs, "mynode-bin", testFlags, nil)
		root := t.TempDir()
		dir := certificateDir(root, cert.Name(), cert.NodeVersion)
		if dir != filepath.Join(root, c.want, "1.2.3") {
			t.Errorf("node name %q: directory %s, want %s/1.2.3", c.nodeName, dir, c.want)
		}
		if err := writeCertificate(dir, cert, runs, false); err != nil {
			t.Fatal(err)
		}
		if md := read(t, dir, "certificate.md"); !strings.HasPrefix(md, "# sskit certificate: "+c.want+" 1.2.3\n") {
			t.Errorf("node name %q: certificate.md starts %q", c.nodeName, strings.SplitN(md, "\n", 2)[0])
		}
		if page := read(t, dir, "certificate.html"); !strings.Contains(page, "<title>sskit certificate: "+c.want+" 1.2.3</title>") ||
			!strings.Contains(page, `<p class="verdict ok">CERTIFIED for core</p>`) {
			t.Errorf("node name %q: certificate.html has another title or verdict", c.nodeName)
		}
		var out bytes.Buffer
		printCertificate(&out, cert)
		if !strings.Contains(out.String(), "CERTIFIED for core, spec version 2: "+c.want+" 1.2.3 keeps every MUST rule") {
			t.Errorf("node name %q: printed %q", c.nodeName, out.String())
		}
	}
	// What a node reports cannot climb out of the certificates' root.
	for _, name := range []string{"..", ".", "", "../../etc"} {
		if p := safePath(name); p == ".." || p == "." || strings.ContainsAny(p, `/\`) {
			t.Errorf("safePath(%q) = %q", name, p)
		}
	}
}

// An existing certificate stays unless --force; a committed one is named as such.
func TestCertificateRefusesToOverwrite(t *testing.T) {
	runs := []*conformance.Result{fakeRun(t, 1, "acme", "1.2.3", fakeRules, pass, pass, pass, pass, pass)}
	cert := combine(runs, "mynode-bin", testFlags, nil)
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	for _, c := range []struct {
		name      string
		committed bool
		want      string
	}{
		{"untracked", false, "already holds a certificate; use --force to replace it"},
		{"committed", true, "holds a committed certificate; use --force to replace it"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(repo, "results", "certification", c.name, "1.2.3")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "certificate.json"), []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.committed {
				git("add", ".")
				git("commit", "-qm", "certificate")
			}
			err := writeCertificate(dir, cert, runs, false)
			var exists *errCertificateExists
			if !errors.As(err, &exists) || err.Error() != dir+" "+c.want {
				t.Fatalf("writing over %s: %v, want %q", c.name, err, dir+" "+c.want)
			}
			if code := writeErrorCode(err); code != exitUsage {
				t.Errorf("exit code %d for the refusal, want %d", code, exitUsage)
			}
			if read(t, dir, "certificate.json") != "old" {
				t.Fatal("the refusal changed the old certificate")
			}
			if err := writeCertificate(dir, cert, runs, true); err != nil {
				t.Fatalf("with --force: %v", err)
			}
			if read(t, dir, "certificate.json") == "old" || read(t, dir, "certificate.md") == "" {
				t.Fatal("--force kept the old certificate")
			}
		})
	}
	if code := writeErrorCode(errors.New("disk full")); code != exitFailed {
		t.Errorf("exit code %d for a failed write, want %d", code, exitFailed)
	}
}

// Certificates go to --out, else CERT_DIR, else results/certification; never to conformance's RESULTS.
func TestCertifyOutDirectory(t *testing.T) {
	t.Setenv("RESULTS", "/somewhere/conformance")
	for _, c := range []struct {
		certDir string
		args    []string
		want    string
	}{
		{"", nil, filepath.Join("results", "certification")},
		{"/certs", nil, "/certs"},
		{"/certs", []string{"--out", "/elsewhere"}, "/elsewhere"},
	} {
		t.Setenv("CERT_DIR", c.certDir)
		o, code, ok := parseCertifyFlags(c.args, &bytes.Buffer{})
		if !ok || o.out != c.want {
			t.Errorf("CERT_DIR=%q %v: out %q (ok %v, exit %d), want %q", c.certDir, c.args, o.out, ok, code, c.want)
		}
	}
}

func TestCertifyCommand(t *testing.T) {
	got := certifyCommand(nodeFlags{image: "acme:1.2", backend: "docker", seed: seedValue{v: 5, set: true}}, 4, 2)
	want := []string{"sskit", "certify", "--backend", "docker", "--runs", "4", "--seed", "5", "--parallel", "2", "--node-image", "acme:1.2"}
	if !slices.Equal(got, want) {
		t.Errorf("certifyCommand = %q, want %q", got, want)
	}
}

// reproduce.sh parses, carries every flag of the run, and clones sskit at the certifying commit
// into a directory of its own, leaving the repository it clones from as it was.
func TestReproduceScript(t *testing.T) {
	cert := combine(flakyRuns(t, "acme"), "mynode-bin", testFlags, certifyCommand(testFlags, 3, 1))
	script := reproduceScript(cert)
	path := filepath.Join(t.TempDir(), "reproduce.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s\n%s", err, out, script)
	}
	for _, flag := range []string{"--backend process", "--runs 3", "--seed 100", "--parallel 1",
		"--impl-name 'Acme node'", `--node-cmd '/opt/my node/bin/node --motd it'\''s {listen}'`, `--out "$out"`} {
		if !strings.Contains(script, flag) {
			t.Errorf("reproduce.sh lacks %s:\n%s", flag, script)
		}
	}

	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout of sskit:", err)
	}
	repo := strings.TrimSpace(string(root))
	state := func() string {
		var b strings.Builder
		for _, args := range [][]string{{"rev-parse", "HEAD"}, {"symbolic-ref", "-q", "HEAD"}, {"worktree", "list", "--porcelain"}, {"status", "--porcelain"}} {
			out, _ := exec.Command("git", append([]string{"-C", repo}, args...)...).Output()
			b.Write(out)
		}
		return b.String()
	}
	before := state()
	tmp, out, work := t.TempDir(), t.TempDir(), t.TempDir()
	cmd := exec.Command("sh", path, repo, out)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "SSKIT_REPRODUCE_DRY_RUN=1", "TMPDIR="+tmp)
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, stdout)
	}
	if after := state(); after != before {
		t.Errorf("the dry run changed %s:\nbefore:\n%s\nafter:\n%s", repo, before, after)
	}
	m := regexp.MustCompile(`dry run in (\S+) at ([0-9a-f]+)`).FindStringSubmatch(string(stdout))
	if m == nil || m[2] != cert.SskitCommit || !strings.HasPrefix(m[1], tmp) {
		t.Fatalf("dry run did not check out %s in %s:\n%s", cert.SskitCommit, tmp, stdout)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the clone was left in %s: %v", tmp, left)
	}
	// The shell hands sskit exactly the recorded arguments.
	var argv []string
	for _, m := range regexp.MustCompile(`(?m)^\[(.*)\]$`).FindAllStringSubmatch(string(stdout), -1) {
		argv = append(argv, m[1])
	}
	want := append(append([]string{"bin/sskit"}, cert.Command[1:]...), "--out", out)
	if !slices.Equal(argv, want) {
		t.Errorf("certify would run as %q, want %q", argv, want)
	}

	// A repository without the commit is an error that says what to do.
	empty := t.TempDir()
	if err := exec.Command("git", "init", "-q", empty).Run(); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("sh", path, empty, out)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "SSKIT_REPRODUCE_DRY_RUN=1", "TMPDIR="+tmp)
	msg, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(msg), "has no commit "+cert.SskitCommit) {
		t.Errorf("without the commit: %v\n%s", err, msg)
	}
}

// A node that leaves a part out is certified for the parts it implements: the left-out part's
// rules are unsupported and block nothing, and the certificate names the profile; a MUST rule of
// an implemented part that fails still refuses it.
func TestCertificateIsScopedToTheProfile(t *testing.T) {
	rules := []string{"ID-2 MUST 1. Identity (ID)", "ST-1 MUST 8. Stableset consensus (ST)", "NB-1 MUST 9. Neighborhood gossip (NB)"}
	scoped := func(statuses ...conformance.Status) *conformance.Result {
		r := fakeRun(t, 1, "partial", "0.1", rules, statuses...)
		r.Profile = []string{"core", "consensus"}
		r.LeftOut = map[string]string{"gossip": "GET /v1/neighborhood answered 501"}
		for i, part := range []string{"core", "consensus", "gossip"} {
			r.Rules[i].Part = part
		}
		return r
	}
	cert := combine([]*conformance.Result{scoped(pass, pass, unsupported)}, "partial", testFlags, nil)
	if !cert.Certified || cert.Profile != "core + consensus" || !slices.Equal(cert.LeftOut, []string{"gossip"}) {
		t.Fatalf("certified %v (%s), profile %q, left out %v", cert.Certified, cert.Reason, cert.Profile, cert.LeftOut)
	}
	if v := verdictLine(cert); !strings.Contains(v, "CERTIFIED for core + consensus") || !strings.Contains(v, "leaves out gossip") {
		t.Errorf("verdict %q does not name the profile and what it leaves out", v)
	}
	cert = combine([]*conformance.Result{scoped(pass, fail, unsupported)}, "partial", testFlags, nil)
	if cert.Certified || !strings.Contains(cert.Reason, "ST-1 fail") || strings.Contains(cert.Reason, "NB-1") {
		t.Errorf("a failed MUST rule of an implemented part: certified %v, reason %q", cert.Certified, cert.Reason)
	}
	other := scoped(pass, pass, unsupported)
	other.Profile = []string{"core"}
	if cert := combine([]*conformance.Result{scoped(pass, pass, unsupported), other}, "partial", testFlags, nil); cert.Certified {
		t.Error("certified a node whose profile changed between runs")
	}
}

// sskit's own proof that partial nodes get honest verdicts: refnode that leaves parts out
// (--parts) is certified for exactly the parts it implements, with no failure, every rule of a
// left-out part unsupported, and the certificate scoped to the profile.
func TestCertifyRefnodeInPartialProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ref, err := harness.Refnode(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ parts, profile string }{{"core", "core"}, {"core,gossip", "core + gossip"}} {
		t.Run(c.parts, func(t *testing.T) {
			out := t.TempDir()
			var console bytes.Buffer
			code := run([]string{"certify", "--runs", "1", "--seed", "1", "--out", out, "--impl-name", "refnode-" + c.parts,
				"--node-cmd", ref.Command[0] + " --parts " + c.parts}, &console, &console)
			if code != exitOK {
				t.Fatalf("certify refnode --parts %s: exit %d\n%s", c.parts, code, console.String())
			}
			files, _ := filepath.Glob(filepath.Join(out, "*", "*", "certificate.json"))
			if len(files) != 1 {
				t.Fatalf("want one certificate under %s, found %v", out, files)
			}
			var cert certificate
			if err := json.Unmarshal([]byte(read(t, filepath.Dir(files[0]), "certificate.json")), &cert); err != nil {
				t.Fatal(err)
			}
			implemented := strings.Split(c.parts, ",")
			if !cert.Certified || cert.Profile != c.profile {
				t.Fatalf("certified %v (%s) for profile %q, want %q", cert.Certified, cert.Reason, cert.Profile, c.profile)
			}
			for _, r := range cert.Rules {
				switch {
				case r.Failed > 0:
					t.Errorf("%s failed in a partial profile", r.ID)
				case !slices.Contains(implemented, r.Part) && r.Verdict != certUnsupported:
					t.Errorf("%s of left-out part %s: verdict %s, want unsupported", r.ID, r.Part, r.Verdict)
				case slices.Contains(implemented, r.Part) && r.Level == "MUST" && r.Verdict != certPass:
					t.Errorf("%s of implemented part %s: verdict %s, want pass", r.ID, r.Part, r.Verdict)
				}
			}
			if !strings.Contains(console.String(), "CERTIFIED for "+c.profile) {
				t.Errorf("the console does not say which profile was certified:\n%s", console.String())
			}
			t.Logf("refnode --parts %s: certified for %s in %s", c.parts, cert.Profile, strings.Join(cert.SuiteTimes, ", "))
		})
	}
}
