package cluster

import (
	"fmt"
	"slices"
	"time"
)

// decisionRecord is one entry of a node's GET /v1/decisions (SPEC.md ST-12, ADM-8): what that
// node saw of one join or leave.
type decisionRecord struct {
	Kind            string     `json:"kind"`
	Member          viewMember `json:"member"`
	Started         string     `json:"started"`
	Applied         *string    `json:"applied"`
	ElderFramesSent int        `json:"elder_frames_sent"`
	OtherFramesSent int        `json:"other_frames_sent"`
}

// decisionLog is the whole answer of GET /v1/decisions.
type decisionLog struct {
	Decisions   []decisionRecord `json:"decisions"`
	Applied     int              `json:"applied"`
	AntiEntropy int              `json:"anti_entropy_frames"`
}

// stablesetView is the part of GET /v1/stableset the benchmarks read.
type stablesetView struct {
	ID      string       `json:"id"`
	Phase   string       `json:"phase"`
	Members []viewMember `json:"members"`
	Elders  []string     `json:"elders"`
}

type viewMember struct {
	Name    string `json:"name"`
	Ordinal uint64 `json:"ordinal"`
}

// has reports whether name is a member of the view.
func (v stablesetView) has(name string) bool {
	return slices.ContainsFunc(v.Members, func(m viewMember) bool { return m.Name == name })
}

// DecisionKey names one decision the same way on every node: the change and its instance.
type DecisionKey struct {
	Kind    string // JOIN or LEAVE
	Name    string // the member's name (hex)
	Ordinal uint64
}

func (k DecisionKey) String() string { return fmt.Sprintf("%s %.8s@%d", k.Kind, k.Name, k.Ordinal) }

// Decision is one decision as every node that recorded it saw it together.
type Decision struct {
	Key DecisionKey
	// Started is the earliest time any node first heard of the change.
	Started time.Time
	// EldersApplied is the latest time an elder applied it; zero unless every elder did.
	EldersApplied time.Time
	// ElderFrames is the sum over every node of the frames it sent to elders for this decision
	// while an elder itself: the quantity SPEC.md ST-9 bounds by 24.
	ElderFrames int
	// AllFrames is the sum over every node of every frame it sent for this decision (to elders
	// and to everyone else, STABLESET announcements and anti-entropy included). The joiner's own
	// record of its join is left out, so the join requests it sends are not in it.
	AllFrames int
	// Records is how many nodes recorded the decision; Applied how many of them applied it.
	// The subject's own record of its join (below) is in neither.
	Records, Applied int
	// JoinerIn is what the joiner waited: from its first request to taking the stableset that
	// lists it, by its own log (SPEC.md ST-12); 0 when the joiner logged no such record.
	JoinerIn time.Duration
	// LeaverOut is what the leaver waited: from asking to leave to taking the stableset without
	// it, by its own log; 0 when the leaver logged no applied time.
	LeaverOut time.Duration
	// Asked and Took are the subject's own record of its change: its first request to join or
	// its asking to leave, and its taking the stableset that lists it or leaves it out; zero when
	// it logged none. With Started and EldersApplied they split JoinerIn into three legs
	// (JoinerLegs), and Asked starts FromRequest.
	Asked, Took time.Time
	// EldersHeard is the latest time an elder other than the subject first heard of the change,
	// zero unless every one of them recorded it; FirstElderApplied is the earliest time an elder
	// applied it. With Started and EldersApplied they split the latency (Breakdown).
	EldersHeard, FirstElderApplied time.Time
}

// Breakdown splits the latency at the moments, each from Started, when every elder had heard of
// the change (heard) and when the first elder applied it (first); last is the latency itself.
// A join takes two deliveries in a row: the first elder's WITNESS_REQUESTs reach the other
// elders (heard), and their witnesses reach each other, since an elder counts a witness only
// from its sender (SPEC.md ST-2, ST-9). A leave's first deliveries are the leaver's own requests
// to every elder (ST-7), so its heard is how far apart they arrived. ok is false when some elder
// recorded no start or no apply.
func (d *Decision) Breakdown() (heard, first, last time.Duration, ok bool) {
	if d.EldersHeard.IsZero() || d.EldersApplied.IsZero() || d.FirstElderApplied.IsZero() {
		return 0, 0, 0, false
	}
	return d.EldersHeard.Sub(d.Started), d.FirstElderApplied.Sub(d.Started), d.Latency(), true
}

// FromRequest is the time from the subject's request until the last elder applied the change:
// the decision latency plus the request's way to the first member. It is 0 when the subject
// logged no request or some elder did not apply it.
func (d *Decision) FromRequest() time.Duration {
	if d.Asked.IsZero() || d.EldersApplied.IsZero() {
		return 0
	}
	return d.EldersApplied.Sub(d.Asked)
}

// JoinerLegs splits what the joiner waited in three: from its first request until the first
// member heard of the join (its connection to its bootstrap peer and greeting PING included),
// the decision (Latency), and from the last elder applying the join until the joiner took the
// stableset (the elders' STABLESETs on their way to it, after the joiner connected to those it
// had not asked). The last leg is negative when a majority of the elders told the joiner before
// the last elder applied. ok is false when a record is missing.
func (d *Decision) JoinerLegs() (reach, decide, told time.Duration, ok bool) {
	if d.Key.Kind != "JOIN" || d.Asked.IsZero() || d.Took.IsZero() || d.EldersApplied.IsZero() {
		return 0, 0, 0, false
	}
	return d.Started.Sub(d.Asked), d.Latency(), d.Took.Sub(d.EldersApplied), true
}

// Latency is the decision latency: from the first node other than the subject hearing of the
// change until the last elder applied it, for a join and a leave alike. It is 0 when some elder
// did not record the decision as applied.
func (d *Decision) Latency() time.Duration {
	if d.EldersApplied.IsZero() {
		return 0
	}
	return d.EldersApplied.Sub(d.Started)
}

// mergeDecisions folds the decision logs of several nodes (keyed by node name) into one
// Decision per key, for the keys in want only. elders are the names of the elders while the
// decisions were taken; a decision's EldersApplied is set only when every one of them recorded
// it as applied.
func mergeDecisions(logs map[string]decisionLog, elders []string, want map[DecisionKey]bool) (map[DecisionKey]*Decision, error) {
	out := map[DecisionKey]*Decision{}
	eldersApplied, eldersHeard := map[DecisionKey]int{}, map[DecisionKey]int{}
	for node, log := range logs {
		isElder := slices.Contains(elders, node)
		for _, r := range log.Decisions {
			k := DecisionKey{Kind: r.Kind, Name: r.Member.Name, Ordinal: r.Member.Ordinal}
			if !want[k] {
				continue
			}
			started, err := time.Parse(time.RFC3339Nano, r.Started)
			if err != nil {
				return nil, fmt.Errorf("node %.8s, %v: started: %w", node, k, err)
			}
			d := out[k]
			if d == nil {
				d = &Decision{Key: k}
				out[k] = d
			}
			subject := node == k.Name
			if subject {
				// The subject's own record: what it waited, a figure of its own.
				var waited time.Duration
				if r.Applied != nil {
					if applied, err := time.Parse(time.RFC3339Nano, *r.Applied); err == nil {
						waited = applied.Sub(started)
					}
				}
				d.Asked = started
				if waited > 0 {
					d.Took = started.Add(waited)
				}
				if k.Kind == "JOIN" {
					// Kept out of the elders' figures: a joiner is no member yet.
					d.JoinerIn = waited
					continue
				}
				// A leaver is a member: its record counts frames and applying like any other's.
				d.LeaverOut = waited
			}
			// The latency starts when the first node other than the subject hears of the change,
			// for a leave as for a join: the subject's own request is timed by FromRequest.
			if !subject && (d.Started.IsZero() || started.Before(d.Started)) {
				d.Started = started
			}
			if isElder && !subject {
				eldersHeard[k]++
				if started.After(d.EldersHeard) {
					d.EldersHeard = started
				}
			}
			d.Records++
			d.ElderFrames += r.ElderFramesSent
			d.AllFrames += r.ElderFramesSent + r.OtherFramesSent
			if r.Applied == nil {
				continue
			}
			applied, err := time.Parse(time.RFC3339Nano, *r.Applied)
			if err != nil {
				return nil, fmt.Errorf("node %.8s, %v: applied: %w", node, k, err)
			}
			d.Applied++
			if isElder {
				eldersApplied[k]++
				if applied.After(d.EldersApplied) {
					d.EldersApplied = applied
				}
				if d.FirstElderApplied.IsZero() || applied.Before(d.FirstElderApplied) {
					d.FirstElderApplied = applied
				}
			}
		}
	}
	for k, d := range out {
		if eldersApplied[k] < len(elders) {
			d.EldersApplied = time.Time{}
		}
		others := len(elders)
		if slices.Contains(elders, k.Name) {
			others-- // an elder that leaves hears of its leave from itself
		}
		if eldersHeard[k] < others {
			d.EldersHeard = time.Time{}
		}
	}
	return out, nil
}
