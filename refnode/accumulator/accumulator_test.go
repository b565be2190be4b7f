package accumulator

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// t0 is the injected clock's start; tests move time by adding to it and never sleep.
var t0 = time.Date(2015, 4, 19, 12, 0, 0, 0, time.UTC)

// name returns a distinct sender name for i.
func name(i int) wire.Name {
	var n wire.Name
	n[0], n[1], n[31] = byte(i), byte(i>>8), 0xAA
	return n
}

func names(from, to int) []wire.Name {
	var out []wire.Name
	for i := from; i < to; i++ {
		out = append(out, name(i))
	}
	return out
}

func mustNew[K comparable, V comparable](t testing.TB, cfg Config) *Accumulator[K, V] {
	t.Helper()
	a, err := New[K, V](cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name         string
		cfg          Config
		wantErr      string
		wantQuorum   int
		wantCapacity int
	}{
		{"zero config gives design defaults (rules 35, 41)", Config{}, "", DefaultQuorum, DefaultCapacity},
		{"explicit values", Config{Quorum: 3, Capacity: 7, Expiry: time.Minute}, "", 3, 7},
		{"quorum 1", Config{Quorum: 1, Capacity: 1}, "", 1, 1},
		{"negative quorum", Config{Quorum: -1}, "quorum must be at least 1", 0, 0},
		{"negative capacity", Config{Capacity: -5}, "capacity must be at least 1", 0, 0},
		{"negative expiry", Config{Expiry: -time.Second}, "expiry must not be negative", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New[int, int](tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New(%+v) error %v, want one containing %q", tc.cfg, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Quorum() != tc.wantQuorum || a.capacity != tc.wantCapacity {
				t.Fatalf("quorum %d capacity %d, want %d %d", a.Quorum(), a.capacity, tc.wantQuorum, tc.wantCapacity)
			}
		})
	}
	if DefaultQuorum != 28 || DefaultGroupSize != 32 || DefaultCapacity != 1000 {
		t.Fatal("design numbers changed: want quorum 28 of group 32, capacity 1000")
	}
}

// Rule 37, t: add. With quorum 1 the first add resolves.
func TestAdd(t *testing.T) {
	a := mustNew[string, int](t, Config{Quorum: 1})
	r, ok := a.Add("k", 7, name(1), t0)
	if !ok {
		t.Fatal("quorum 1: first add did not resolve")
	}
	if r.Key != "k" || r.Value != 7 || !slices.Equal(r.Senders, []wire.Name{name(1)}) {
		t.Fatalf("resolution %+v", r)
	}
	if a.Len() != 1 || !a.Resolved("k") || a.Count("k", 7) != 0 {
		t.Fatalf("after resolving: len %d resolved %v count %d", a.Len(), a.Resolved("k"), a.Count("k", 7))
	}
	// Rule 45 / settled rule 36: a second add, even from another sender, does not resolve again.
	if _, ok := a.Add("k", 7, name(2), t0); ok {
		t.Fatal("resolved twice")
	}
}

// Rule 36, t: add_single_value_quorum. Below the quorum adds return nothing; the add that reaches
// it returns the value and the agreeing senders; later adds return nothing (settled: exactly once).
func TestAddSingleValueQuorum(t *testing.T) {
	for _, q := range []int{2, 3, 19, DefaultQuorum} { // 19 is R09's test quorum, 28 the design's
		t.Run(fmt.Sprint("quorum ", q), func(t *testing.T) {
			a := mustNew[uint64, string](t, Config{Quorum: q})
			for i := 0; i < q-1; i++ {
				if r, ok := a.Add(42, "v", name(i), t0); ok {
					t.Fatalf("add %d of %d resolved: %+v", i+1, q, r)
				}
				if got := a.Count(42, "v"); got != i+1 {
					t.Fatalf("count %d after %d adds", got, i+1)
				}
			}
			r, ok := a.Add(42, "v", name(q-1), t0)
			if !ok || r.Key != 42 || r.Value != "v" || !slices.Equal(r.Senders, names(0, q)) {
				t.Fatalf("add %d: ok %v resolution %+v", q, ok, r)
			}
			for i := q; i < 2*q; i++ {
				if _, ok := a.Add(42, "v", name(i), t0); ok {
					t.Fatalf("late copy %d resolved again", i)
				}
			}
		})
	}
}

// Rule 36, t: add_multiple_values_quorum. Values for one key are tallied separately and the
// resolution names only the value that reached the quorum and its senders.
func TestAddMultipleValuesQuorum(t *testing.T) {
	type add struct {
		value  string
		sender int
	}
	tests := []struct {
		name        string
		quorum      int
		adds        []add
		resolveAt   int // index of the add that resolves, -1 for none
		wantValue   string
		wantSenders []wire.Name
	}{
		{
			name:      "interleaved, a wins",
			quorum:    3,
			adds:      []add{{"a", 1}, {"b", 2}, {"a", 3}, {"b", 4}, {"c", 5}, {"a", 6}},
			resolveAt: 5, wantValue: "a", wantSenders: []wire.Name{name(1), name(3), name(6)},
		},
		{
			name:      "b overtakes a",
			quorum:    2,
			adds:      []add{{"a", 1}, {"b", 2}, {"b", 3}},
			resolveAt: 2, wantValue: "b", wantSenders: []wire.Name{name(2), name(3)},
		},
		{
			name:      "split vote never resolves",
			quorum:    3,
			adds:      []add{{"a", 1}, {"b", 2}, {"a", 3}, {"b", 4}, {"c", 5}},
			resolveAt: -1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew[int, string](t, Config{Quorum: tc.quorum})
			for i, ad := range tc.adds {
				r, ok := a.Add(1, ad.value, name(ad.sender), t0)
				if ok != (i == tc.resolveAt) {
					t.Fatalf("add %d (%+v): resolved %v", i, ad, ok)
				}
				if ok && (r.Value != tc.wantValue || !slices.Equal(r.Senders, tc.wantSenders)) {
					t.Fatalf("resolution %+v, want value %q senders %v", r, tc.wantValue, tc.wantSenders)
				}
			}
			if tc.resolveAt < 0 {
				if got := a.Count(1, "a") + a.Count(1, "b") + a.Count(1, "c"); got != len(tc.adds) {
					t.Fatalf("tallies hold %d votes, want %d", got, len(tc.adds))
				}
			}
		})
	}
}

// Rule 39, t: add_multiple_keys_quorum. Adds to other keys do not change one key's count.
func TestAddMultipleKeysQuorum(t *testing.T) {
	const q = 3
	a := mustNew[int, int](t, Config{Quorum: q})
	// The same senders send the same value for two keys, interleaved.
	for i := 0; i < q-1; i++ {
		for k := 1; k <= 2; k++ {
			if _, ok := a.Add(k, 9, name(i), t0); ok {
				t.Fatalf("key %d resolved after %d adds", k, i+1)
			}
		}
	}
	if a.Count(1, 9) != q-1 || a.Count(2, 9) != q-1 {
		t.Fatalf("counts %d %d, want %d each", a.Count(1, 9), a.Count(2, 9), q-1)
	}
	if r, ok := a.Add(1, 9, name(q-1), t0); !ok || r.Key != 1 {
		t.Fatalf("key 1 did not resolve: %v %+v", ok, r)
	}
	if a.Resolved(2) || a.Count(2, 9) != q-1 {
		t.Fatal("resolving key 1 changed key 2")
	}
	if r, ok := a.Add(2, 9, name(q-1), t0); !ok || r.Key != 2 {
		t.Fatalf("key 2 did not resolve: %v %+v", ok, r)
	}
}

// Rule 38, settled by "distinct senders count once". R09 counted a repeated sender twice; sskit
// does not, and a sender's first value for a key is its only vote.
func TestDuplicateSenders(t *testing.T) {
	type add struct {
		value  int
		sender int
	}
	tests := []struct {
		name      string
		quorum    int
		adds      []add
		wantCount map[int]int // value -> distinct senders after all adds
		resolveAt int
	}{
		{"one sender repeating never reaches quorum 2", 2,
			[]add{{1, 1}, {1, 1}, {1, 1}}, map[int]int{1: 1}, -1},
		{"repeat in the middle does not count", 3,
			[]add{{1, 1}, {1, 2}, {1, 2}, {1, 1}, {1, 3}}, nil, 4},
		{"first vote wins: a sender switching value is not counted for the second", 2,
			[]add{{1, 1}, {2, 1}, {2, 2}}, map[int]int{1: 1, 2: 1}, -1},
		{"switching back changes nothing either", 3,
			[]add{{1, 1}, {2, 1}, {1, 1}, {1, 2}, {1, 3}}, nil, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew[string, int](t, Config{Quorum: tc.quorum})
			for i, ad := range tc.adds {
				r, ok := a.Add("k", ad.value, name(ad.sender), t0)
				if ok != (i == tc.resolveAt) {
					t.Fatalf("add %d (%+v): resolved %v", i, ad, ok)
				}
				if ok && len(r.Senders) != tc.quorum {
					t.Fatalf("resolution lists %d senders, want %d distinct", len(r.Senders), tc.quorum)
				}
			}
			for v, want := range tc.wantCount {
				if got := a.Count("k", v); got != want {
					t.Fatalf("Count(k, %d) = %d, want %d", v, got, want)
				}
			}
		})
	}
}

// Rule 45 and settled rule 36: after resolution the key is remembered, so late copies (from old
// or new senders, with the agreed or another value) never resolve it again — until it leaves.
func TestResolveOnceLateCopies(t *testing.T) {
	a := mustNew[int, int](t, Config{Quorum: 2, Capacity: 2})
	a.Add(1, 5, name(1), t0)
	if _, ok := a.Add(1, 5, name(2), t0); !ok {
		t.Fatal("did not resolve")
	}
	late := []struct{ value, sender int }{{5, 1}, {5, 2}, {5, 3}, {5, 4}, {6, 3}, {6, 4}, {6, 5}}
	for _, l := range late {
		if _, ok := a.Add(1, l.value, name(l.sender), t0); ok {
			t.Fatalf("late copy %+v resolved again", l)
		}
	}
	if !a.Resolved(1) || a.Count(1, 5) != 0 || a.Count(1, 6) != 0 || a.Len() != 1 {
		t.Fatal("resolved key lost its state or counted late copies")
	}
	// Once evicted, the key is forgotten and can resolve again (the documented limit of "once").
	a.Add(2, 0, name(1), t0)
	a.Add(3, 0, name(1), t0) // evicts key 1, the least recently used
	if a.Resolved(1) {
		t.Fatal("evicted key still remembered")
	}
	a.Add(1, 5, name(1), t0)
	if _, ok := a.Add(1, 5, name(2), t0); !ok {
		t.Fatal("evicted key did not resolve afresh")
	}
}

// Rule 40, t: delete. Delete drops everything for the key and a later add counts from 1 again.
func TestDelete(t *testing.T) {
	t.Run("pending key counts from one again", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 3})
		a.Add(1, 1, name(1), t0)
		a.Add(1, 1, name(2), t0)
		a.Add(2, 1, name(1), t0)
		a.Delete(1)
		if a.Len() != 1 || a.Count(1, 1) != 0 || a.Count(2, 1) != 1 {
			t.Fatalf("after delete: len %d count %d other %d", a.Len(), a.Count(1, 1), a.Count(2, 1))
		}
		// The senders that voted before the delete may vote again and count from 1.
		for i, s := range []int{2, 1} {
			if _, ok := a.Add(1, 1, name(s), t0); ok || a.Count(1, 1) != i+1 {
				t.Fatalf("re-add %d: count %d", i+1, a.Count(1, 1))
			}
		}
		if _, ok := a.Add(1, 1, name(3), t0); !ok {
			t.Fatal("third distinct sender after delete did not resolve")
		}
	})
	t.Run("resolved key can resolve again", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 1})
		if _, ok := a.Add(1, 1, name(1), t0); !ok {
			t.Fatal("no first resolution")
		}
		a.Delete(1)
		if a.Resolved(1) || a.Len() != 0 {
			t.Fatal("delete kept the resolved key")
		}
		if _, ok := a.Add(1, 1, name(1), t0); !ok {
			t.Fatal("no resolution after delete")
		}
	})
	t.Run("unknown key is a no-op", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 2})
		a.Add(1, 1, name(1), t0)
		a.Delete(99)
		if a.Len() != 1 || a.Count(1, 1) != 1 {
			t.Fatal("deleting an unknown key changed state")
		}
	})
}

// Rule 41, t: fill. The default capacity is 1000 keys; the 1001st key evicts the least recently
// used one and the size stays 1000.
func TestFill(t *testing.T) {
	a := mustNew[int, int](t, Config{Quorum: 2})
	for k := 0; k < DefaultCapacity; k++ {
		a.Add(k, 0, name(1), t0)
		if a.Len() != k+1 {
			t.Fatalf("len %d after %d keys", a.Len(), k+1)
		}
	}
	for k := DefaultCapacity; k < 3*DefaultCapacity; k++ {
		a.Add(k, 0, name(1), t0)
		if a.Len() != DefaultCapacity {
			t.Fatalf("len %d after key %d, want %d", a.Len(), k, DefaultCapacity)
		}
		if old := k - DefaultCapacity; a.Count(old, 0) != 0 {
			t.Fatalf("key %d not evicted by key %d", old, k)
		}
		if a.Count(k-DefaultCapacity+1, 0) != 1 {
			t.Fatalf("key %d evicted too early", k-DefaultCapacity+1)
		}
	}
}

// Rule 41, t: cache_removals. Eviction takes the least recently added-to key; any add — also a
// duplicate or a late copy to a resolved key — makes a key recently used.
func TestCacheRemovals(t *testing.T) {
	tests := []struct {
		name    string
		touch   func(a *Accumulator[int, int]) // after keys 0,1,2 are added in order
		evicted int                            // by adding key 3
	}{
		{"untouched: oldest goes", func(a *Accumulator[int, int]) {}, 0},
		{"new vote refreshes", func(a *Accumulator[int, int]) { a.Add(0, 0, name(2), t0) }, 1},
		{"duplicate sender refreshes", func(a *Accumulator[int, int]) { a.Add(0, 0, name(1), t0) }, 1},
		{"refresh two, third goes", func(a *Accumulator[int, int]) {
			a.Add(0, 0, name(1), t0)
			a.Add(1, 0, name(1), t0)
		}, 2},
		{"late copy to a resolved key refreshes", func(a *Accumulator[int, int]) {
			a.Add(0, 0, name(2), t0)
			a.Add(0, 0, name(3), t0) // resolves key 0 (quorum 3)
			a.Add(1, 0, name(1), t0)
			a.Add(2, 0, name(1), t0)
			a.Add(0, 0, name(4), t0) // late copy: key 0 is the most recent again
		}, 1},
		{"lookups do not refresh", func(a *Accumulator[int, int]) {
			a.Count(0, 0)
			a.Resolved(0)
		}, 0},
		{"delete frees a slot: nothing evicted", func(a *Accumulator[int, int]) { a.Delete(1) }, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew[int, int](t, Config{Quorum: 3, Capacity: 3})
			for k := 0; k < 3; k++ {
				a.Add(k, 0, name(1), t0)
			}
			tc.touch(a)
			a.Add(3, 0, name(1), t0)
			if a.Len() != 3 {
				t.Fatalf("len %d, want 3", a.Len())
			}
			for k := 0; k < 3; k++ {
				held := a.Count(k, 0) > 0 || a.Resolved(k)
				if k == tc.evicted && held {
					t.Fatalf("key %d should have been evicted", k)
				}
				if k != tc.evicted && !held && !(tc.evicted == -1 && k == 1) {
					t.Fatalf("key %d evicted, want key %d", k, tc.evicted)
				}
			}
		})
	}
}

// Rule 42, ACC with_duration. A key not added to for Expiry is dropped, lazily, using the
// injected time.
func TestWithDuration(t *testing.T) {
	const d = 20 * time.Minute
	t.Run("boundary", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 2, Expiry: d})
		a.Add(1, 0, name(1), t0)
		if n := a.Expire(t0.Add(d - time.Nanosecond)); n != 0 || a.Count(1, 0) != 1 {
			t.Fatalf("dropped %d before expiry", n)
		}
		if n := a.Expire(t0.Add(d)); n != 1 || a.Len() != 0 {
			t.Fatalf("at expiry dropped %d, len %d", n, a.Len())
		}
	})
	t.Run("add restarts the expiry, also a duplicate", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 3, Expiry: d})
		a.Add(1, 0, name(1), t0)
		a.Add(1, 0, name(1), t0.Add(d-time.Second)) // duplicate, counts nothing, still refreshes
		if a.Expire(t0.Add(d+time.Second)) != 0 || a.Count(1, 0) != 1 {
			t.Fatal("refreshed key expired")
		}
		if a.Expire(t0.Add(2*d-time.Second)) != 1 {
			t.Fatal("key did not expire a full Expiry after its last add")
		}
	})
	t.Run("add drops expired keys before counting", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 2, Expiry: d})
		a.Add(1, 0, name(1), t0)
		a.Add(2, 0, name(1), t0.Add(d/2))
		if _, ok := a.Add(1, 0, name(2), t0.Add(d)); ok {
			t.Fatal("expired vote counted toward the quorum")
		}
		if a.Count(1, 0) != 1 || a.Count(2, 0) != 1 || a.Len() != 2 {
			t.Fatalf("count %d, other %d, len %d", a.Count(1, 0), a.Count(2, 0), a.Len())
		}
		a.Add(3, 0, name(1), t0.Add(d/2+d)) // key 2 expires now
		if a.Len() != 2 || a.Count(2, 0) != 0 {
			t.Fatal("key 2 not dropped by a later add")
		}
	})
	t.Run("resolved key is forgotten when it expires", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 1, Expiry: d})
		a.Add(1, 0, name(1), t0)
		if _, ok := a.Add(1, 0, name(2), t0.Add(d-1)); ok || !a.Resolved(1) {
			t.Fatal("late copy within expiry resolved again")
		}
		if _, ok := a.Add(1, 0, name(2), t0.Add(2*d)); !ok {
			t.Fatal("expired resolved key did not resolve afresh")
		}
	})
	t.Run("no expiry configured", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 2})
		a.Add(1, 0, name(1), t0)
		if a.Expire(t0.Add(1000*time.Hour)) != 0 || a.Len() != 1 {
			t.Fatal("key expired with Expiry 0")
		}
	})
	t.Run("time does not run backwards", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 2, Expiry: d})
		a.Add(1, 0, name(1), t0.Add(d))
		a.Add(2, 0, name(1), t0) // earlier now is treated as t0+d
		if a.Expire(t0.Add(2*d-1)) != 0 {
			t.Fatal("key added with an earlier now expired early")
		}
		if a.Expire(t0.Add(2*d)) != 2 {
			t.Fatal("both keys should expire at t0+2d")
		}
	})
}

// Rule 42: set_quorum takes effect immediately, including for existing entries.
func TestSetQuorum(t *testing.T) {
	type vote struct{ key, value, sender int }
	tests := []struct {
		name          string
		quorum        int
		votes         []vote
		setTo         int
		want          []string // resolutions as "key=value:senders", in returned order
		after         []vote   // then these adds ...
		afterResolves []int    // ... resolve these indexes
	}{
		{
			name:   "lowering resolves pending keys at once, least recently used first",
			quorum: 4,
			votes:  []vote{{1, 7, 1}, {2, 8, 1}, {2, 8, 2}, {1, 7, 2}, {1, 7, 3}, {3, 9, 1}},
			setTo:  2,
			want:   []string{"2=8:1,2", "1=7:1,2,3"},
		},
		{
			name:   "lowering below some keys only",
			quorum: 4,
			votes:  []vote{{1, 7, 1}, {1, 7, 2}, {1, 7, 3}, {2, 8, 1}, {2, 8, 2}},
			setTo:  3,
			want:   []string{"1=7:1,2,3"},
			after:  []vote{{2, 8, 3}}, afterResolves: []int{0},
		},
		{
			name:   "tie on lowering: most senders wins",
			quorum: 5,
			votes:  []vote{{1, 7, 1}, {1, 8, 2}, {1, 8, 3}, {1, 8, 4}, {1, 7, 5}},
			setTo:  2,
			want:   []string{"1=8:2,3,4"},
		},
		{
			name:   "tie on lowering: equal counts, first sent value wins",
			quorum: 5,
			votes:  []vote{{1, 8, 1}, {1, 7, 2}, {1, 7, 3}, {1, 8, 4}},
			setTo:  2,
			want:   []string{"1=8:1,4"},
		},
		{
			name:   "raising resolves nothing and new quorum applies to existing keys",
			quorum: 2,
			votes:  []vote{{1, 7, 1}},
			setTo:  3,
			after:  []vote{{1, 7, 2}, {1, 7, 3}}, afterResolves: []int{1},
		},
		{
			name:   "resolved keys stay resolved when lowering",
			quorum: 2,
			votes:  []vote{{1, 7, 1}, {1, 7, 2}, {1, 8, 3}},
			setTo:  1,
			after:  []vote{{1, 8, 4}},
		},
		{
			name:   "quorum 1 after lowering resolves on first add of a new key (rule 37)",
			quorum: 3,
			setTo:  1,
			after:  []vote{{5, 1, 1}, {5, 1, 2}}, afterResolves: []int{0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew[int, int](t, Config{Quorum: tc.quorum})
			for _, v := range tc.votes {
				a.Add(v.key, v.value, name(v.sender), t0)
			}
			var got []string
			for _, r := range a.SetQuorum(tc.setTo, t0) {
				got = append(got, formatResolution(r))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("SetQuorum(%d) resolved %v, want %v", tc.setTo, got, tc.want)
			}
			if a.Quorum() != tc.setTo {
				t.Fatalf("Quorum() = %d", a.Quorum())
			}
			for _, r := range tc.want {
				var k int
				fmt.Sscanf(r, "%d=", &k)
				if !a.Resolved(k) {
					t.Fatalf("key %d not marked resolved", k)
				}
			}
			for i, v := range tc.after {
				_, ok := a.Add(v.key, v.value, name(v.sender), t0)
				if ok != slices.Contains(tc.afterResolves, i) {
					t.Fatalf("after-add %d (%+v): resolved %v", i, v, ok)
				}
			}
		})
	}
	t.Run("drops expired keys before resolving", func(t *testing.T) {
		a := mustNew[int, int](t, Config{Quorum: 3, Expiry: time.Minute})
		a.Add(1, 0, name(1), t0)
		a.Add(1, 0, name(2), t0)
		if rs := a.SetQuorum(2, t0.Add(time.Minute)); len(rs) != 0 || a.Len() != 0 {
			t.Fatalf("expired key resolved: %v", rs)
		}
	})
	for _, q := range []int{0, -1} {
		t.Run(fmt.Sprint("panics on ", q), func(t *testing.T) {
			a := mustNew[int, int](t, Config{})
			defer func() {
				if recover() == nil {
					t.Fatalf("SetQuorum(%d) did not panic", q)
				}
			}()
			a.SetQuorum(q, t0)
		})
	}
}

func formatResolution(r Resolution[int, int]) string {
	var ss []string
	for _, s := range r.Senders {
		ss = append(ss, fmt.Sprint(int(s[0])|int(s[1])<<8))
	}
	return fmt.Sprintf("%d=%d:%s", r.Key, r.Value, strings.Join(ss, ","))
}

// The resolution's sender slice belongs to the caller: reusing the accumulator's storage
// afterwards must not change it.
func TestResolutionSendersOwnedByCaller(t *testing.T) {
	a := mustNew[int, int](t, Config{Quorum: 2, Capacity: 1})
	a.Add(1, 1, name(1), t0)
	r, ok := a.Add(1, 1, name(2), t0)
	if !ok {
		t.Fatal("no resolution")
	}
	want := slices.Clone(r.Senders)
	for k := 2; k < 20; k++ { // each new key evicts and reuses the one entry
		a.Add(k, 1, name(10+k), t0)
		a.Add(k, 2, name(30+k), t0)
	}
	if !slices.Equal(r.Senders, want) {
		t.Fatalf("senders changed from %v to %v", want, r.Senders)
	}
}

// Witness collection calls Add per message: repeated adds from known senders to an existing key,
// pending or resolved, must not allocate.
func TestAddAllocs(t *testing.T) {
	a := mustNew[uint64, [32]byte](t, Config{Quorum: DefaultQuorum})
	var v [32]byte
	for i := 0; i < 2; i++ {
		a.Add(3, v, name(i), t0)
	}
	if len(a.SetQuorum(2, t0)) != 1 { // resolves key 3
		t.Fatal("key 3 did not resolve")
	}
	a.SetQuorum(DefaultQuorum, t0)
	for i := 0; i < DefaultQuorum-1; i++ {
		a.Add(1, v, name(i), t0)
	}
	a.Add(2, v, name(0), t0)
	i := 0
	now := t0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		now = now.Add(time.Millisecond)
		a.Add(1, v, name(i%(DefaultQuorum-1)), now) // pending key, known sender
		a.Add(2, v, name(0), now)                   // another pending key
		a.Add(3, v, name(100+i), now)               // resolved key, late copy from anyone
	})
	if allocs != 0 {
		t.Fatalf("Add allocated %v times per run, want 0", allocs)
	}
	if a.Count(1, v) != DefaultQuorum-1 || !a.Resolved(3) {
		t.Fatalf("state changed: count %d resolved %v", a.Count(1, v), a.Resolved(3))
	}
}

// Example shows witness-style use: three of four elders must agree on a value for a message id.
func Example() {
	acc, err := New[uint64, string](Config{Quorum: 3, Capacity: 100, Expiry: time.Minute})
	if err != nil {
		panic(err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	elders := []wire.Name{{1}, {2}, {3}, {4}}
	for i, vote := range []string{"x", "y", "x", "x", "x"} {
		if r, ok := acc.Add(7, vote, elders[i%len(elders)], now); ok {
			fmt.Printf("message 7 resolved to %q by %d elders\n", r.Value, len(r.Senders))
		}
	}
	fmt.Println("resolved:", acc.Resolved(7))
	// Output:
	// message 7 resolved to "x" by 3 elders
	// resolved: true
}
