package cluster

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/montanaflynn/stats"
	"github.com/stableset/sskit/harness"
)

// Summarize's percentiles are montanaflynn/stats' nearest ranks, read from one sorted copy.
func TestSummarizeMatchesNearestRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 20, 99, 100, 101, 1000} {
		values := make([]float64, n)
		for i := range values {
			values[i] = rng.ExpFloat64() * 10
		}
		orig := slices.Clone(values)
		s := Summarize(values)
		if !slices.Equal(values, orig) {
			t.Fatalf("n=%d: Summarize changed its input", n)
		}
		for _, c := range []struct {
			p   float64
			got float64
		}{{50, s.P50}, {90, s.P90}, {99, s.P99}, {100, s.Max}} {
			want, err := stats.PercentileNearestRank(values, c.p)
			if err != nil {
				t.Fatal(err)
			}
			if c.got != want {
				t.Errorf("n=%d: p%v = %v, stats.PercentileNearestRank says %v", n, c.p, c.got, want)
			}
		}
		if mean, _ := stats.Mean(values); math.Abs(s.Mean-mean) > 1e-9 || s.Count != n {
			t.Errorf("n=%d: mean %v count %d, want %v and %d", n, s.Mean, s.Count, mean, n)
		}
	}
}

func TestSummarizeSmallSamples(t *testing.T) {
	s := Summarize([]float64{5, 1, 3, 2, 4})
	if s.P50 != 3 || s.P90 != 5 || s.P99 != 5 || s.Max != 5 || s.Mean != 3 {
		t.Errorf("Summarize(1..5) = %+v", s)
	}
	if e := Summarize(nil); e.Count != 0 || !math.IsNaN(e.P50) || !math.IsNaN(e.Max) {
		t.Errorf("Summarize(nil) = %+v, want count 0 and NaNs", e)
	}
}

func TestMergeDecisions(t *testing.T) {
	at := func(ms int) string {
		return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano)
	}
	ptr := func(s string) *string { return &s }
	rec := func(kind, name string, started int, applied *string, elderSent, otherSent int) decisionRecord {
		r := decisionRecord{Kind: kind, Started: at(started), Applied: applied, ElderFramesSent: elderSent, OtherFramesSent: otherSent}
		r.Member.Name, r.Member.Ordinal = name, 7
		return r
	}
	join := DecisionKey{"JOIN", "aa", 7}
	leave := DecisionKey{"LEAVE", "aa", 7}
	logs := map[string]decisionLog{
		"e1": {Decisions: []decisionRecord{rec("JOIN", "aa", 3, ptr(at(9)), 5, 1), rec("LEAVE", "aa", 20, ptr(at(25)), 4, 2), rec("JOIN", "bb", 1, ptr(at(2)), 9, 9)}},
		"e2": {Decisions: []decisionRecord{rec("JOIN", "aa", 2, ptr(at(12)), 5, 1), rec("LEAVE", "aa", 21, nil, 4, 2)}},
		"e3": {Decisions: []decisionRecord{rec("JOIN", "aa", 4, ptr(at(11)), 4, 1)}},
		// A member that is not an elder: its records count frames, but not the elders' applied time.
		"m1": {Decisions: []decisionRecord{rec("JOIN", "aa", 1, ptr(at(40)), 0, 3)}},
		// The joiner's own record: from its first request (0 ms) to taking the stableset
		// (15 ms); it is the joiner's figure and moves neither the start nor the counts.
		// Its own record of its leave: from asking (19 ms) to taking the stableset without it
		// (27 ms). It counts like a member's record, but the leave's latency starts at e1 (20 ms),
		// the first other node to hear of it, as a join's does.
		"aa": {Decisions: []decisionRecord{rec("JOIN", "aa", 0, ptr(at(15)), 0, 2), rec("LEAVE", "aa", 19, ptr(at(27)), 2, 0)}},
	}
	got, err := mergeDecisions(logs, []string{"e1", "e2", "e3"}, map[DecisionKey]bool{join: true, leave: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("merged %d decisions, want the 2 asked for: %v", len(got), got)
	}
	j := got[join]
	if j.Latency() != 11*time.Millisecond { // earliest start 1 ms (m1), last elder applied 12 ms (e2)
		t.Errorf("join latency %v, want 11ms", j.Latency())
	}
	if j.ElderFrames != 14 || j.AllFrames != 20 || j.Records != 4 || j.Applied != 4 {
		t.Errorf("join = %+v, want 14 elder frames, 20 in all, 4 records all applied", j)
	}
	if j.JoinerIn != 15*time.Millisecond {
		t.Errorf("joiner in after %v, want 15ms (its own record)", j.JoinerIn)
	}
	// 0 → 1 ms to the first member, 11 ms deciding, and the joiner took it 3 ms after e2 applied.
	if reach, decide, told, ok := j.JoinerLegs(); !ok || reach != time.Millisecond || decide != 11*time.Millisecond || told != 3*time.Millisecond {
		t.Errorf("joiner legs %v, %v, %v (%v), want 1ms, 11ms, 3ms", reach, decide, told, ok)
	}
	if _, _, _, ok := got[leave].JoinerLegs(); ok {
		t.Error("a leave has joiner legs")
	}
	l := got[leave]
	if !l.EldersApplied.IsZero() || l.Latency() != 0 {
		t.Errorf("leave applied by 1 of 3 elders: EldersApplied %v, want zero", l.EldersApplied)
	}
	if l.Records != 3 || l.Applied != 2 {
		t.Errorf("leave = %+v, want 3 records, 2 applied (e1 and the leaver)", l)
	}
	if l.LeaverOut != 8*time.Millisecond {
		t.Errorf("leaver out after %v, want 8ms (its own record)", l.LeaverOut)
	}
	if want, _ := time.Parse(time.RFC3339Nano, at(20)); !l.Started.Equal(want) {
		t.Errorf("leave started %v, want e1 hearing of it at %v, not the leaver's own request", l.Started, want)
	}
	if want, _ := time.Parse(time.RFC3339Nano, at(19)); !l.Asked.Equal(want) || l.FromRequest() != 0 {
		t.Errorf("leave asked at %v, from request %v; want the leaver's request at %v, and 0 while an elder has not applied", l.Asked, l.FromRequest(), want)
	}
	if j.FromRequest() != 12*time.Millisecond { // the joiner's request at 0 ms, e2 applied at 12 ms
		t.Errorf("join from request %v, want 12ms", j.FromRequest())
	}
	if j.LeaverOut != 0 {
		t.Errorf("a join has leaver out %v, want 0", j.LeaverOut)
	}
	// From m1's start at 1 ms: e3, the last elder to hear, at 4 ms; e1, the first to apply, at 9.
	if heard, first, last, ok := j.Breakdown(); !ok || heard != 3*time.Millisecond || first != 8*time.Millisecond || last != 11*time.Millisecond {
		t.Errorf("join breakdown %v, %v, %v (%v), want 3ms, 8ms, 11ms", heard, first, last, ok)
	}
	if _, _, _, ok := l.Breakdown(); ok {
		t.Error("a leave e3 never heard of has a breakdown")
	}
}

// A leave every elder applied is timed like a join: its latency from the first elder hearing of
// it, FromRequest from the leaver's own request.
func TestMergedLeaveTimedLikeAJoin(t *testing.T) {
	at := func(ms int) string {
		return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano)
	}
	rec := func(started, applied int) decisionRecord {
		a := at(applied)
		r := decisionRecord{Kind: "LEAVE", Started: at(started), Applied: &a}
		r.Member.Name, r.Member.Ordinal = "aa", 9
		return r
	}
	leave := DecisionKey{"LEAVE", "aa", 9}
	logs := map[string]decisionLog{
		"aa": {Decisions: []decisionRecord{rec(0, 4)}}, // the leaver: asked at 0, out at 4 ms
		"e1": {Decisions: []decisionRecord{rec(2, 5)}},
		"e2": {Decisions: []decisionRecord{rec(1, 6)}},
		"e3": {Decisions: []decisionRecord{rec(3, 4)}},
	}
	got, err := mergeDecisions(logs, []string{"e1", "e2", "e3"}, map[DecisionKey]bool{leave: true})
	if err != nil {
		t.Fatal(err)
	}
	l := got[leave]
	if l.Latency() != 5*time.Millisecond || l.FromRequest() != 6*time.Millisecond || l.LeaverOut != 4*time.Millisecond {
		t.Errorf("leave latency %v, from request %v, leaver out %v; want 5ms (e2 heard at 1, applied at 6), 6ms and 4ms",
			l.Latency(), l.FromRequest(), l.LeaverOut)
	}
	if l.Records != 4 || l.Applied != 4 {
		t.Errorf("leave = %+v, want 4 records, all applied: the leaver's counts like a member's", l)
	}
	// e3 heard last (3 ms) and applied first (4 ms); the leaver's own request at 0 is in neither.
	if heard, first, last, ok := l.Breakdown(); !ok || heard != 2*time.Millisecond || first != 3*time.Millisecond || last != 5*time.Millisecond {
		t.Errorf("leave breakdown %v, %v, %v (%v), want 2ms, 3ms, 5ms", heard, first, last, ok)
	}
	// An elder that leaves hears of its leave from itself: every other elder heard is enough,
	// and its own request is not the latest hearing.
	logs["aa"] = decisionLog{Decisions: []decisionRecord{rec(7, 8)}}
	got, err = mergeDecisions(logs, []string{"e1", "e2", "aa"}, map[DecisionKey]bool{leave: true})
	if err != nil {
		t.Fatal(err)
	}
	if heard, first, _, ok := got[leave].Breakdown(); !ok || heard != time.Millisecond || first != 4*time.Millisecond {
		t.Errorf("an elder's leave: heard %v, first applied %v (%v), want 1ms (e1 at 2) and 4ms (e1 at 5)", heard, first, ok)
	}
}

func TestAgreement(t *testing.T) {
	nodes := []*harness.Node{{Index: 0}, {Index: 1}}
	view := func(id, phase string, members int) stablesetView {
		return stablesetView{ID: id, Phase: phase, Members: make([]viewMember, members)}
	}
	for _, c := range []struct {
		views []stablesetView
		ok    bool
	}{
		{[]stablesetView{view("a", "member", 2), view("a", "member", 2)}, true},
		{[]stablesetView{view("a", "member", 2), view("b", "member", 2)}, false},
		{[]stablesetView{view("a", "member", 2), view("a", "joining", 2)}, false},
		{[]stablesetView{view("a", "member", 2), view("a", "member", 3)}, false},
	} {
		if got := agreement(nodes, c.views, 2); (got == "") != c.ok {
			t.Errorf("agreement(%+v) = %q, want agreement %v", c.views, got, c.ok)
		}
	}
}

func TestAppendSamplesWritesHeaderOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), SamplesFile)
	d := &Decision{Key: DecisionKey{"JOIN", "0123456789abcdef0123", 5}, Started: time.Unix(0, 0),
		EldersApplied: time.Unix(0, int64(1500*time.Microsecond)), ElderFrames: 16, AllFrames: 30}
	for range 2 {
		if err := AppendSamples(path, 8, "decisions", []*Decision{d}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"8", "decisions", "JOIN", "0123456789abcdef", "5", "1970-01-01T00:00:00Z", "1.500", "16", "30"}
	if len(rows) != 3 || !slices.Equal(rows[0], SamplesHeader) || !slices.Equal(rows[2], want) {
		t.Errorf("rows = %q, want the header and two rows %q", rows, want)
	}
}

// describeMissing tells convergence (every current record everywhere, no half link) apart from
// every node merely knowing every other, memberlist's criterion.
func TestDescribeMissing(t *testing.T) {
	hood := func(name string, version uint64, half []string, records map[string]uint64) neighborhood {
		h := neighborhood{Name: name, Version: version, Half: half}
		for n, v := range records {
			h.Records = append(h.Records, struct {
				Name    string `json:"name"`
				Version uint64 `json:"version"`
			}{n, v})
		}
		return h
	}
	a, b, c := "aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"
	for _, tc := range []struct {
		name      string
		hoods     []neighborhood
		converged bool
		known     bool
	}{
		{"a record missing", []neighborhood{hood(a, 2, nil, map[string]uint64{b: 3}), hood(b, 3, nil, map[string]uint64{a: 2, c: 1}), hood(c, 1, nil, map[string]uint64{a: 2, b: 3})}, false, false},
		{"an old version", []neighborhood{hood(a, 2, nil, map[string]uint64{b: 2, c: 1}), hood(b, 3, nil, map[string]uint64{a: 2, c: 1}), hood(c, 1, nil, map[string]uint64{a: 2, b: 3})}, false, true},
		{"a half link", []neighborhood{hood(a, 2, []string{b}, map[string]uint64{b: 3, c: 1}), hood(b, 3, nil, map[string]uint64{a: 2, c: 1}), hood(c, 1, nil, map[string]uint64{a: 2, b: 3})}, false, true},
		{"converged", []neighborhood{hood(a, 2, nil, map[string]uint64{b: 3, c: 1}), hood(b, 3, nil, map[string]uint64{a: 2, c: 1}), hood(c, 1, nil, map[string]uint64{a: 2, b: 3})}, true, true},
	} {
		missing, known := describeMissing(tc.hoods)
		if (missing == "") != tc.converged || known != tc.known {
			t.Errorf("%s: missing %q, known %v; want converged %v, known %v", tc.name, missing, known, tc.converged, tc.known)
		}
	}
}

// lastChange takes the latest changed (ADM-12) among the nodes, and gives up, so that the run is
// timed by the polls, when any node gives none or one that does not parse.
func TestLastChange(t *testing.T) {
	want := time.Date(2026, 12, 8, 3, 0, 1, 250_000_000, time.UTC)
	if got, ok := lastChange(withChanged("2026-12-08T03:00:00.5Z", "2026-12-08T03:00:01.25Z", "2026-12-08T03:00:01.000000001Z")); !ok || !got.Equal(want) {
		t.Errorf("lastChange = %v, %v; want %v", got, ok, want)
	}
	for _, hoods := range [][]neighborhood{withChanged(), withChanged("2026-12-08T03:00:00.5Z", ""), withChanged("yesterday")} {
		if got, ok := lastChange(hoods); ok {
			t.Errorf("lastChange(%+v) = %v, true; want false", hoods, got)
		}
	}
}

// convergedAt takes the nodes' last change only when every node gives one that lies between the
// debuts and the poll that saw convergence; anything else leaves the polls' time.
func TestConvergedAt(t *testing.T) {
	start := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	polled := 2 * time.Second
	for _, c := range []struct {
		hoods     []neighborhood
		want      time.Duration
		fromNodes bool
	}{
		{withChanged("2026-12-08T03:00:00.5Z", "2026-12-08T03:00:01.25Z"), 1250 * time.Millisecond, true},
		{withChanged("2026-12-08T03:00:00.5Z", ""), polled, false},                           // a node without changed
		{withChanged("2026-12-08T02:59:59Z", "2026-12-08T02:59:58Z"), polled, false},         // before the debuts
		{withChanged("2026-12-08T03:00:00.5Z", "2026-12-08T03:00:02.5Z"), polled, false},     // after the poll that saw it
		{withChanged("2026-12-08T03:00:01Z", "2026-12-08T03:00:02Z"), 2 * time.Second, true}, // at the poll itself
	} {
		got, fromNodes := convergedAt(start, polled, c.hoods)
		if got != c.want || fromNodes != c.fromNodes {
			t.Errorf("convergedAt(%+v) = %v, %v; want %v, %v", c.hoods, got, fromNodes, c.want, c.fromNodes)
		}
	}
}

// withChanged makes one neighborhood per changed time, each with nothing else.
func withChanged(changed ...string) []neighborhood {
	hoods := make([]neighborhood, len(changed))
	for i, c := range changed {
		hoods[i].Changed = c
	}
	return hoods
}
