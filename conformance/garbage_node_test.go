package conformance

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stableset/sskit"
	"github.com/stableset/sskit/harness"
)

// A node that answers every admin request with 200 and an HTML page is no stableset node: the
// scenarios of ADM-7 and NC-5 must fail it, and say what they sent and what came back.
func TestGarbageNodeFailsADM7AndNC5(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command builds the garbage node: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "garbagenode")
	build := exec.Command(goCmd, "build", "-o", bin, "./testdata/garbagenode")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/garbagenode: %v\n%s", err, out)
	}
	res, err := Run(t.Context(), Options{
		Impl: harness.Implementation{Name: "garbage node", Command: []string{bin}},
		Tags: "@ADM-7,@NC-5", Seed: 1, ResultsDir: t.TempDir(), Suite: sskit.Suite, Progress: testWriter{t},
		// The preflight would stop the run at the garbage GET /v1/node; the scenarios must judge
		// such a node on their own (a node may answer /v1/node well and the rest with garbage).
		SkipPreflight: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]Status{}
	for _, rr := range res.Rules {
		verdicts[rr.ID] = rr.Status
	}
	for _, id := range []string{"ADM-7", "NC-5"} {
		if verdicts[id] != Failed {
			t.Errorf("rule %s: verdict %q, want %q", id, verdicts[id], Failed)
		}
	}
	ran := 0
	for _, sc := range res.Scenarios {
		if !strings.Contains(strings.Join(sc.Rules, " "), "ADM-7") {
			continue
		}
		ran++
		if sc.Status != Failed {
			t.Errorf("%s: status %q, want %q", sc.Title(), sc.Status, Failed)
			continue
		}
		// The variant is the example row: "method=GET, path=/v1/sections".
		method, path := exampleValue(sc.Variant, "method"), exampleValue(sc.Variant, "path")
		for _, want := range []string{method + " " + path, "answered 200", `"text/html"`, "<html>ok</html>"} {
			if !strings.Contains(sc.Error, want) {
				t.Errorf("%s: the failure does not say %q:\n%s", sc.Title(), want, sc.Error)
			}
		}
	}
	if ran == 0 {
		t.Fatalf("no scenario of ADM-7 ran (tags %q)", res.Tags)
	}
	if res.MustFailures() == 0 || !strings.HasPrefix(res.Verdict(), "FAILED") {
		t.Errorf("verdict %q with %d MUST failures; the garbage node must fail", res.Verdict(), res.MustFailures())
	}
}

// exampleValue is the value of column key in a scenario's example row "k1=v1, k2=v2".
func exampleValue(variant, key string) string {
	for _, kv := range strings.Split(variant, ", ") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// The step of ADM-7 and NC-5 judges an answer by what SPEC.md says a success (or a 501) of the
// endpoint looks like; these answers are made up to hit each of its checks without a node.
func TestGarbageAnswersJudgedBySpec(t *testing.T) {
	seed := bytes.Repeat([]byte{0x11}, 32)
	node := &harness.Node{Name: harness.NameFromSeed(seed)}
	me := node.Name.String()
	other := strings.Repeat("ab", 32)
	id := strings.Repeat("0f", 32)
	const jsonType = "application/json"
	stableset := `{"id": "` + id + `", "phase": "member",
		"members": [{"name": "` + me + `", "addr": "127.0.0.1:4000", "ordinal": 0}],
		"elders": ["` + me + `"], "joining": [], "leaving": []}`
	neighborhood := func(version, accepts, addr string) string {
		return `{"name": "` + me + `", "version": ` + version + `, "accepts": ` + accepts + addr + `,
			"full": [], "half": ["` + other + `"],
			"records": [{"name": "` + other + `", "version": 3, "accepts": false, "neighbors": ["` + me + `"]}],
			"bans": [{"name": "` + strings.Repeat("cd", 32) + `", "reason": "forged record", "at": "2026-11-30T10:00:00Z"}],
			"pending_debuts": []}`
	}
	section := func(prefix string) string {
		return `{"prefix": "` + prefix + `", "stableset_id": "` + id + `", "age": 10,
			"members": [{"name": "` + other + `", "addr": "[::1]:4001", "ordinal": 4}], "elders": ["` + other + `"],
			"accepted": "2026-11-30T10:00:00.5+01:00", "senders": []}`
	}
	ownPrefix := namePrefix(node.Name, 2)
	var others []string // the other three prefixes of 2 bits, in order
	for _, p := range []string{"00", "01", "10", "11"} {
		if p != ownPrefix {
			others = append(others, p)
		}
	}
	cases := []struct {
		name              string
		method, path      string
		status            int
		contentType, body string
		sectionBits       int
		wantErr           []string // substrings of the failure; none: the answer passes
	}{
		{name: "stableset", method: "GET", path: "/v1/stableset", status: 200, contentType: jsonType, body: stableset},
		{name: "stableset as HTML", method: "GET", path: "/v1/stableset", status: 200, contentType: "text/html", body: "<html>ok</html>",
			wantErr: []string{`GET /v1/stableset answered 200 with Content-Type "text/html" and body "<html>ok</html>"`, "application/json"}},
		{name: "stableset with null for a list", method: "GET", path: "/v1/stableset", status: 200, contentType: jsonType,
			body: strings.Replace(stableset, `"joining": []`, `"joining": null`, 1), wantErr: []string{"$.joining: expected an array, got null", "ADM-3"}},
		{name: "stableset with an unknown phase", method: "GET", path: "/v1/stableset", status: 200, contentType: jsonType,
			body: strings.Replace(stableset, `"member"`, `"elder"`, 1), wantErr: []string{"$.phase", `"elder"`}},
		{name: "stableset with an uppercase name", method: "GET", path: "/v1/stableset", status: 200, contentType: jsonType,
			body: strings.Replace(stableset, `["`+me+`"]`, `["`+strings.ToUpper(me)+`"]`, 1), wantErr: []string{"$.elders[0]", "ID-1"}},
		{name: "stableset with an ordinal in a string", method: "GET", path: "/v1/stableset", status: 200, contentType: jsonType,
			body: strings.Replace(stableset, `"ordinal": 0`, `"ordinal": "0"`, 1), wantErr: []string{"$.members[0].ordinal: expected an unsigned integer"}},
		{name: "stableset followed by garbage", method: "GET", path: "/v1/stableset", status: 200, contentType: jsonType,
			body: stableset + "<html>", wantErr: []string{"goes on after it"}},
		{name: "stableset as 204", method: "GET", path: "/v1/stableset", status: 204, contentType: jsonType,
			wantErr: []string{"expected 200 as ADM-3 says", "answered 204"}},
		{name: "sections as 404", method: "GET", path: "/v1/sections", status: 404, contentType: jsonType,
			body: `{"error": "no endpoint /v1/sections", "code": "not_found"}`, wantErr: []string{"never 404", "GET /v1/sections answered 404"}},
		{name: "decisions", method: "GET", path: "/v1/decisions", status: 200, contentType: jsonType,
			body: `{"decisions": [{"kind": "JOIN"}], "applied": 1, "anti_entropy_frames": 0}`},
		{name: "decisions without a list", method: "GET", path: "/v1/decisions", status: 200, contentType: jsonType,
			body: `{"decisions": {}, "applied": 1, "anti_entropy_frames": 0}`, wantErr: []string{"$.decisions: expected an array"}},
		{name: "decisions without anti-entropy", method: "GET", path: "/v1/decisions", status: 200, contentType: jsonType,
			body: `{"decisions": [], "applied": 0}`, wantErr: []string{"$.anti_entropy_frames", "missing"}},
		{name: "leave", method: "POST", path: "/v1/leave", status: 202, contentType: "application/json; charset=utf-8", body: `{"phase": "leaving"}`},
		{name: "leave as 200", method: "POST", path: "/v1/leave", status: 200, contentType: jsonType, body: `{"phase": "leaving"}`,
			wantErr: []string{"expected 202 as ADM-8 says", "POST /v1/leave answered 200"}},
		{name: "neighborhood", method: "GET", path: "/v1/neighborhood", status: 200, contentType: jsonType,
			body: neighborhood("1", "true", `, "addr": "127.0.0.1:4000"`)},
		{name: "neighborhood at version 0", method: "GET", path: "/v1/neighborhood", status: 200, contentType: jsonType,
			body: neighborhood("0", "true", `, "addr": "127.0.0.1:4000"`), wantErr: []string{"$.version", "NB-2"}},
		{name: "neighborhood accepting without an address", method: "GET", path: "/v1/neighborhood", status: 200, contentType: jsonType,
			body: neighborhood("1", "true", ""), wantErr: []string{"$.addr", "missing"}},
		{name: "neighborhood of another node", method: "GET", path: "/v1/neighborhood", status: 200, contentType: jsonType,
			body: strings.Replace(neighborhood("1", "false", ""), `"name": "`+me, `"name": "`+other, 1), wantErr: []string{"$.name", me}},
		{name: "debut", method: "POST", path: "/v1/debut", status: 202, contentType: jsonType,
			body: `{"debut": "` + other + `", "addr": "127.0.0.1:4001"}`},
		{name: "debut with port 0", method: "POST", path: "/v1/debut", status: 202, contentType: jsonType,
			body: `{"debut": "` + other + `", "addr": "127.0.0.1:0"}`, wantErr: []string{"$.addr"}},
		{name: "route", method: "GET", path: "/v1/route?to=" + other, status: 200, contentType: jsonType,
			body: `{"from": "` + me + `", "to": "` + other + `", "hops": 3, "route": ["` + me + `", "` + id + `", "` + strings.Repeat("cd", 32) + `", "` + other + `"]}`},
		{name: "route one name short", method: "GET", path: "/v1/route?to=" + other, status: 200, contentType: jsonType,
			body:    `{"from": "` + me + `", "to": "` + other + `", "hops": 3, "route": ["` + me + `", "` + id + `", "` + other + `"]}`,
			wantErr: []string{"$.route", "3-hop"}},
		{name: "sections of one", method: "GET", path: "/v1/sections", status: 200, contentType: jsonType,
			body: `{"section_bits": 0, "prefix": "", "sections": []}`},
		{name: "sections of four", method: "GET", path: "/v1/sections", status: 200, contentType: jsonType, sectionBits: 2,
			body: `{"section_bits": 2, "prefix": "` + ownPrefix + `", "sections": [` + section(others[0]) + `, ` + section(others[2]) + `]}`},
		{name: "sections out of order", method: "GET", path: "/v1/sections", status: 200, contentType: jsonType, sectionBits: 2,
			body:    `{"section_bits": 2, "prefix": "` + ownPrefix + `", "sections": [` + section(others[2]) + `, ` + section(others[0]) + `]}`,
			wantErr: []string{"$.sections[1].prefix", "prefix order"}},
		{name: "sections with another node's prefix", method: "GET", path: "/v1/sections", status: 200, contentType: jsonType, sectionBits: 2,
			body: `{"section_bits": 2, "prefix": "` + others[1] + `", "sections": []}`, wantErr: []string{"$.prefix", `expected "` + ownPrefix + `"`}},
		{name: "sections listing the node's own", method: "GET", path: "/v1/sections", status: 200, contentType: jsonType, sectionBits: 2,
			body:    `{"section_bits": 2, "prefix": "` + ownPrefix + `", "sections": [` + section(ownPrefix) + `]}`,
			wantErr: []string{"$.sections[0].prefix", "other sections"}},
		{name: "sections with other section bits", method: "GET", path: "/v1/sections", status: 200, contentType: jsonType,
			body: `{"section_bits": 2, "prefix": "` + ownPrefix + `", "sections": []}`, wantErr: []string{"$.section_bits"}},
		{name: "501", method: "GET", path: "/v1/neighborhood", status: 501, contentType: jsonType,
			body: `{"error": "gossip is not implemented", "code": "not_implemented"}`},
		{name: "501 in plain text", method: "GET", path: "/v1/neighborhood", status: 501, contentType: "text/plain",
			body: "not implemented", wantErr: []string{"ADM-7", "application/json", `"text/plain"`, "GET /v1/neighborhood answered 501"}},
		{name: "501 without a message", method: "GET", path: "/v1/neighborhood", status: 501, contentType: jsonType,
			body: `{"error": "", "code": "not_implemented"}`, wantErr: []string{"$.error"}},
		{name: "501 with another code", method: "GET", path: "/v1/neighborhood", status: 501, contentType: jsonType,
			body: `{"error": "no", "code": "not_found"}`, wantErr: []string{"$.code", "not_implemented"}},
		{name: "an endpoint SPEC.md does not have", method: "GET", path: "/v1/nothing", status: 200, contentType: jsonType,
			body: `{}`, wantErr: []string{"names no part with the path /v1/nothing"}},
	}
	spec, _ := loadSuite(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			node.Settings.SectionBits = tc.sectionBits
			w := &world{node: node, run: &suiteRun{spec: spec, leftOut: map[string]string{}}}
			if path, _, _ := strings.Cut(tc.path, "?"); tc.status == http.StatusNotImplemented {
				part, _ := spec.EndpointPart(path) // a 501 is judged as a left-out part's answer
				w.run.leftOut[part] = "GET " + path + " answered 501"
			}
			x := adminExchange{method: tc.method, path: tc.path, status: tc.status, contentType: tc.contentType, body: []byte(tc.body)}
			err := w.answerIsWhatItsPartSays(context.WithValue(context.Background(), adminExchangeKey{}, x))
			switch {
			case len(tc.wantErr) == 0 && err != nil:
				t.Errorf("a conforming answer failed: %v", err)
			case len(tc.wantErr) > 0 && err == nil:
				t.Errorf("passed; want a failure saying %q", tc.wantErr)
			case err != nil:
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the failure does not say %q:\n%v", want, err)
					}
				}
			}
		})
	}
	if err := (&world{node: node, run: &suiteRun{spec: spec}}).answerIsWhatItsPartSays(context.Background()); err == nil {
		t.Error("judged an answer when no request was sent")
	}
}

// ADM-7 is judged by the part that owns a path and by the profile the preflight learnt: a left-out
// part answers 501 to every method, an implemented one never 501, and 405 to a method it lacks.
func TestAnswersJudgedByTheirPart(t *testing.T) {
	spec, _ := loadSuite(t)
	notImplemented := `{"error": "left out", "code": "not_implemented"}`
	notAllowed := `{"error": "no", "code": "method_not_allowed"}`
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
		leftOut            string
		ok                 bool
	}{
		{"left out, 501", "GET", "/v1/stableset", 501, notImplemented, "consensus", true},
		{"left out, wrong method, 501", "PUT", "/v1/stableset", 501, notImplemented, "consensus", true},
		{"left out, wrong method, 405", "PUT", "/v1/stableset", 405, notAllowed, "consensus", false},
		{"left out, yet answers", "GET", "/v1/decisions", 200, `{"decisions": [], "applied": 0, "anti_entropy_frames": 0}`, "consensus", false},
		{"implemented, 501 on one endpoint", "GET", "/v1/decisions", 501, notImplemented, "", false},
		{"implemented, wrong method, 405", "DELETE", "/v1/neighborhood", 405, notAllowed, "", true},
		{"implemented, wrong method, 404", "DELETE", "/v1/neighborhood", 404, `{"error": "no", "code": "not_found"}`, "", false},
		{"implemented, debut of the probe body, 400", "POST", "/v1/debut", 400, `{"error": "no peer", "code": "bad_request"}`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &world{run: &suiteRun{spec: spec, leftOut: map[string]string{}}}
			if tc.leftOut != "" {
				w.run.leftOut[tc.leftOut] = "GET /v1/stableset answered 501"
			}
			x := adminExchange{method: tc.method, path: tc.path, status: tc.status, contentType: "application/json", body: []byte(tc.body)}
			err := w.answerIsWhatItsPartSays(context.WithValue(context.Background(), adminExchangeKey{}, x))
			if (err == nil) != tc.ok {
				t.Errorf("%s %s answered %d: err = %v, want ok = %v", tc.method, tc.path, tc.status, err, tc.ok)
			}
		})
	}
}
