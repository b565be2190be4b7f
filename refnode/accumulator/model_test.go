package accumulator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// model is a naive accumulator: a recency-ordered slice of keys, each with its votes in arrival
// order, searched linearly. It restates rules 36–45 as sskit settles them, without the real
// implementation's list, map, entry reuse or incremental expiry.
type model struct {
	quorum, capacity int
	expiry           time.Duration
	latest           time.Time
	entries          []*modelEntry // index 0 is the least recently used
}

type modelEntry struct {
	key      int
	votes    []modelVote // every counted vote, in arrival order
	resolved bool
	last     time.Time
}

type modelVote struct {
	sender wire.Name
	value  int
}

func (m *model) clock(now time.Time) time.Time {
	if now.After(m.latest) {
		m.latest = now
	}
	return m.latest
}

func (m *model) find(key int) int {
	return slices.IndexFunc(m.entries, func(e *modelEntry) bool { return e.key == key })
}

func (m *model) expire(now time.Time) int {
	if m.expiry == 0 {
		return 0
	}
	before := len(m.entries)
	m.entries = slices.DeleteFunc(m.entries, func(e *modelEntry) bool { return now.Sub(e.last) >= m.expiry })
	return before - len(m.entries)
}

// sendersOf returns the senders that voted value, in arrival order.
func (e *modelEntry) sendersOf(value int) []wire.Name {
	var out []wire.Name
	for _, v := range e.votes {
		if v.value == value {
			out = append(out, v.sender)
		}
	}
	return out
}

func (m *model) resolve(e *modelEntry, value int) Resolution[int, int] {
	r := Resolution[int, int]{Key: e.key, Value: value, Senders: e.sendersOf(value)}
	e.resolved, e.votes = true, nil
	return r
}

func (m *model) add(key, value int, sender wire.Name, now time.Time) (Resolution[int, int], bool) {
	now = m.clock(now)
	m.expire(now)
	var e *modelEntry
	if i := m.find(key); i >= 0 {
		e = m.entries[i]
		m.entries = slices.Delete(m.entries, i, i+1)
	} else {
		if len(m.entries) == m.capacity {
			m.entries = m.entries[1:]
		}
		e = &modelEntry{key: key}
	}
	m.entries = append(m.entries, e)
	e.last = now
	if e.resolved || slices.ContainsFunc(e.votes, func(v modelVote) bool { return v.sender == sender }) {
		return Resolution[int, int]{}, false
	}
	e.votes = append(e.votes, modelVote{sender, value})
	if len(e.sendersOf(value)) >= m.quorum {
		return m.resolve(e, value), true
	}
	return Resolution[int, int]{}, false
}

func (m *model) delete(key int) {
	if i := m.find(key); i >= 0 {
		m.entries = slices.Delete(m.entries, i, i+1)
	}
}

func (m *model) setQuorum(q int, now time.Time) []Resolution[int, int] {
	m.expire(m.clock(now))
	m.quorum = q
	var out []Resolution[int, int]
	for _, e := range m.entries { // scans on raising too: must find nothing then
		if e.resolved {
			continue
		}
		best, bestN := 0, 0
		for _, v := range e.votes { // values in first-sent order
			if n := len(e.sendersOf(v.value)); n >= q && n > bestN {
				best, bestN = v.value, n
			}
		}
		if bestN > 0 {
			out = append(out, m.resolve(e, best))
		}
	}
	return out
}

func (m *model) count(key, value int) int {
	if i := m.find(key); i >= 0 {
		return len(m.entries[i].sendersOf(value))
	}
	return 0
}

func (m *model) resolved(key int) bool {
	i := m.find(key)
	return i >= 0 && m.entries[i].resolved
}

// TestModel runs seeded random operations against the accumulator and the naive model and
// requires identical results and state after every operation (rules 36–45).
func TestModel(t *testing.T) {
	const (
		ops     = 4000
		keys    = 12
		values  = 3
		senders = 6
	)
	configs := []Config{
		{Quorum: 2, Capacity: 5},
		{Quorum: 3, Capacity: 5, Expiry: 10 * time.Second},
		{Quorum: 1, Capacity: 1, Expiry: 3 * time.Second},
		{Quorum: 4, Capacity: keys, Expiry: time.Minute},
	}
	for ci, cfg := range configs {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("config%d/seed%d", ci, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(ci)))
				a := mustNew[int, int](t, cfg)
				m := &model{quorum: cfg.Quorum, capacity: cfg.Capacity, expiry: cfg.Expiry}
				now := t0
				resolutions := 0
				for op := 0; op < ops; op++ {
					switch r := rng.IntN(100); {
					case r < 3: // time occasionally steps backwards
						now = now.Add(-time.Duration(rng.IntN(5)) * time.Second)
					default:
						now = now.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
					}
					var desc string
					switch r := rng.IntN(100); {
					case r < 82:
						k, v, s := rng.IntN(keys), rng.IntN(values), name(rng.IntN(senders))
						desc = fmt.Sprintf("Add(%d, %d, %d)", k, v, s[0])
						got, gotOK := a.Add(k, v, s, now)
						want, wantOK := m.add(k, v, s, now)
						if gotOK != wantOK || !equalResolution(got, want) {
							t.Fatalf("op %d %s: got %v %+v, model %v %+v", op, desc, gotOK, got, wantOK, want)
						}
						if gotOK {
							resolutions++
						}
					case r < 88:
						k := rng.IntN(keys)
						desc = fmt.Sprintf("Delete(%d)", k)
						a.Delete(k)
						m.delete(k)
					case r < 94:
						q := 1 + rng.IntN(4)
						desc = fmt.Sprintf("SetQuorum(%d)", q)
						got, want := a.SetQuorum(q, now), m.setQuorum(q, now)
						if !slices.EqualFunc(got, want, equalResolution) {
							t.Fatalf("op %d %s: got %+v, model %+v", op, desc, got, want)
						}
						resolutions += len(got)
					default:
						desc = "Expire"
						if got, want := a.Expire(now), m.expire(m.clock(now)); got != want {
							t.Fatalf("op %d Expire: dropped %d, model %d", op, got, want)
						}
					}
					if a.Len() != len(m.entries) || a.Quorum() != m.quorum {
						t.Fatalf("op %d %s: len %d quorum %d, model %d %d", op, desc, a.Len(), a.Quorum(), len(m.entries), m.quorum)
					}
					for k := 0; k < keys; k++ {
						if a.Resolved(k) != m.resolved(k) {
							t.Fatalf("op %d %s: Resolved(%d) = %v, model %v", op, desc, k, a.Resolved(k), m.resolved(k))
						}
						for v := 0; v < values; v++ {
							if a.Count(k, v) != m.count(k, v) {
								t.Fatalf("op %d %s: Count(%d, %d) = %d, model %d", op, desc, k, v, a.Count(k, v), m.count(k, v))
							}
						}
					}
				}
				if resolutions == 0 {
					t.Fatal("random run never resolved a key; the test exercises nothing")
				}
			})
		}
	}
}

func equalResolution(a, b Resolution[int, int]) bool {
	return a.Key == b.Key && a.Value == b.Value && slices.Equal(a.Senders, b.Senders)
}
