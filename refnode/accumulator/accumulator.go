// Package accumulator counts distinct senders per key until a quorum agrees, then resolves the
// key exactly once.
//
// It is the "sentinel" accumulator of the routing 0.0.9 design (rulebook section 6, rules 35–42
// and 45; key fetching and signature checks, rules 43–44 and 46–50, belong to the code around it),
// with the disagreements between that design and its code settled as sskit settles them:
//
//   - Group size and quorum are parameters. The defaults follow the design text: a quorum of
//     DefaultQuorum (28) out of DefaultGroupSize (32). Witness collection sets the quorum to the
//     elder majority.
//   - Distinct senders count once per key (rule 38 settled). A sender's first message for a key
//     is its vote; a later message from it for the same key, with the same value or another one,
//     changes no count.
//   - A key resolves exactly once (rules 36 and 45 settled): the Add that brings some value to
//     the quorum returns it, and later copies for the key return nothing for as long as the
//     accumulator remembers the key.
//   - The accumulator holds at most Capacity keys (default 1000, rule 41) and evicts the least
//     recently used one, where "used" means added to. With an Expiry it also drops keys not added
//     to for that long (rule 42, ACC with_duration).
//
// The package is pure and deterministic in the style of etcd-raft's quorum package: it starts no
// goroutines, reads no clock and does no I/O. Time comes in as the now argument of Add, Expire and
// SetQuorum. It is not safe for concurrent use; the caller serializes access.
//
// Add on a key that is already held allocates nothing unless the key gains a new sender and the
// sender list has to grow; an Add that changes no count never allocates.
package accumulator

import (
	"fmt"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// Numbers from the design (rulebook "Numbers used in code" and "How sskit settles those
// disagreements", item 3).
const (
	// DefaultGroupSize is the design's group size (docs/sentinel.md: 28 of 32). The accumulator
	// itself never needs it; it documents what DefaultQuorum is a quorum of.
	DefaultGroupSize = 32
	// DefaultQuorum is the number of agreeing distinct senders the design asks for (rule 35).
	DefaultQuorum = 28
	// DefaultCapacity is the number of keys held before the least recently used one is evicted
	// (rule 41).
	DefaultCapacity = 1000
)

// Config sets up an Accumulator. The zero Config gives the design defaults and no expiry.
type Config struct {
	// Quorum is how many distinct senders must send the same value for a key to resolve.
	// 0 means DefaultQuorum; negative values are rejected.
	Quorum int
	// Capacity is the most keys held, pending or resolved. 0 means DefaultCapacity; negative
	// values are rejected.
	Capacity int
	// Expiry drops a key that has not been added to for this long. 0 means keys never expire;
	// negative values are rejected.
	Expiry time.Duration
}

// Resolution is the outcome for a key that reached the quorum.
type Resolution[K comparable, V comparable] struct {
	Key   K
	Value V
	// Senders are the distinct senders that sent Value for Key, in the order they arrived. There
	// are at least as many as the quorum in force when the key resolved. The slice belongs to the
	// caller; the accumulator keeps no reference to it.
	Senders []wire.Name
}

// Accumulator counts, for each key, which distinct senders sent which value, and resolves a key
// once one value has Quorum senders. Create it with New; the zero value is not usable.
type Accumulator[K comparable, V comparable] struct {
	quorum   int
	capacity int
	expiry   time.Duration
	latest   time.Time // the latest now seen; earlier ones are treated as this one

	entries map[K]*entry[K, V]
	root    entry[K, V] // root.next is the most recently used entry, root.prev the least
	free    *entry[K, V]
}

// entry is one key's state, linked into the recency list.
type entry[K comparable, V comparable] struct {
	key        K
	prev, next *entry[K, V]
	last       time.Time // when the key was last added to
	resolved   bool
	tallies    []tally[V] // one per value, in the order the values were first sent; empty once resolved
}

// tally holds the senders whose vote for a key is value.
type tally[V comparable] struct {
	value   V
	senders []wire.Name
}

// New returns an empty accumulator. It returns an error if cfg holds a negative number.
func New[K comparable, V comparable](cfg Config) (*Accumulator[K, V], error) {
	if cfg.Quorum == 0 {
		cfg.Quorum = DefaultQuorum
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = DefaultCapacity
	}
	switch {
	case cfg.Quorum < 1:
		return nil, fmt.Errorf("accumulator: quorum must be at least 1, got %d", cfg.Quorum)
	case cfg.Capacity < 1:
		return nil, fmt.Errorf("accumulator: capacity must be at least 1, got %d", cfg.Capacity)
	case cfg.Expiry < 0:
		return nil, fmt.Errorf("accumulator: expiry must not be negative, got %v", cfg.Expiry)
	}
	a := &Accumulator[K, V]{
		quorum:   cfg.Quorum,
		capacity: cfg.Capacity,
		expiry:   cfg.Expiry,
		entries:  make(map[K]*entry[K, V]),
	}
	a.root.next, a.root.prev = &a.root, &a.root
	return a, nil
}

// Add records that sender sent value for key at time now, and returns the resolution if this
// message brings value to the quorum.
//
// Before counting, Add drops the keys that have expired by now (see Expire). If key is not held
// and the accumulator is full, the least recently used key is evicted to make room. Every Add
// marks key as used and restarts its expiry, even one that changes no count.
//
// Add returns false, and counts nothing, when key has already resolved (rule 45) or when sender
// has already sent a value for key (rule 38 settled), whatever that value was. Otherwise sender's
// vote for value is recorded, and Add returns true exactly when value now has Quorum distinct
// senders (rules 36, 37). From then on key is resolved until it is deleted, evicted or expires.
func (a *Accumulator[K, V]) Add(key K, value V, sender wire.Name, now time.Time) (Resolution[K, V], bool) {
	now = a.advance(now)
	a.expire(now)
	e := a.entries[key]
	if e == nil {
		if len(a.entries) >= a.capacity {
			a.remove(a.root.prev)
		}
		e = a.alloc(key)
		a.entries[key] = e
	} else {
		a.unlink(e)
	}
	a.pushFront(e)
	e.last = now
	if e.resolved || e.hasVoted(sender) {
		return Resolution[K, V]{}, false
	}
	t := e.tallyFor(value, a.quorum)
	t.senders = append(t.senders, sender)
	if len(t.senders) < a.quorum {
		return Resolution[K, V]{}, false
	}
	return a.resolve(e, t), true
}

// Delete forgets key, pending or resolved. A later Add for key counts from one again, and can
// resolve it again (rule 40). Deleting a key that is not held does nothing.
func (a *Accumulator[K, V]) Delete(key K) {
	if e := a.entries[key]; e != nil {
		a.remove(e)
	}
}

// Expire drops every key not added to for Expiry or longer as of now, and returns how many it
// dropped. Add does the same before it counts; Expire lets a caller drop stale keys, for example
// on a timer tick, without adding. With no Expiry configured it does nothing.
func (a *Accumulator[K, V]) Expire(now time.Time) int {
	return a.expire(a.advance(now))
}

// SetQuorum changes the quorum to q, for existing keys as well as new ones (rule 42). It panics
// if q < 1, which can only be a programming error.
//
// Lowering the quorum resolves at once every pending key that has a value with q or more
// senders; SetQuorum drops the keys that have expired by now first, and returns the new
// resolutions, least recently used key first. Where a key has several values with q or more
// senders, the one with the most senders wins, and of those the one first sent. Raising the
// quorum resolves nothing and leaves resolved keys resolved. SetQuorum does not mark any key as
// used.
func (a *Accumulator[K, V]) SetQuorum(q int, now time.Time) []Resolution[K, V] {
	if q < 1 {
		panic(fmt.Sprintf("accumulator: quorum must be at least 1, got %d", q))
	}
	a.expire(a.advance(now))
	lowered := q < a.quorum
	a.quorum = q
	if !lowered {
		// Every pending tally is below the old quorum, so none reaches a higher one.
		return nil
	}
	var out []Resolution[K, V]
	for e := a.root.prev; e != &a.root; e = e.prev {
		if e.resolved {
			continue
		}
		var best *tally[V]
		for i := range e.tallies {
			t := &e.tallies[i]
			if len(t.senders) >= q && (best == nil || len(t.senders) > len(best.senders)) {
				best = t
			}
		}
		if best != nil {
			out = append(out, a.resolve(e, best))
		}
	}
	return out
}

// Quorum returns the quorum in force.
func (a *Accumulator[K, V]) Quorum() int { return a.quorum }

// Len returns how many keys are held, pending or resolved. Keys whose expiry has passed still
// count until the next Add, Expire or SetQuorum drops them.
func (a *Accumulator[K, V]) Len() int { return len(a.entries) }

// Count returns how many distinct senders have sent value for key while key is pending. It is 0
// for a key that is not held or has resolved. It is meant for tests and debugging.
func (a *Accumulator[K, V]) Count(key K, value V) int {
	e := a.entries[key]
	if e == nil {
		return 0
	}
	for i := range e.tallies {
		if e.tallies[i].value == value {
			return len(e.tallies[i].senders)
		}
	}
	return 0
}

// Resolved reports whether key has resolved and is still remembered, so that copies of it
// arriving now would be ignored.
func (a *Accumulator[K, V]) Resolved(key K) bool {
	e := a.entries[key]
	return e != nil && e.resolved
}

// advance returns now, or the latest time seen if now is earlier, so that time never runs
// backwards inside and the recency list stays ordered by last use time as well.
func (a *Accumulator[K, V]) advance(now time.Time) time.Time {
	if now.Before(a.latest) {
		return a.latest
	}
	a.latest = now
	return now
}

// expire drops expired keys from the least recently used end and returns how many it dropped.
// The list is ordered by last add time because advance keeps time monotonic.
func (a *Accumulator[K, V]) expire(now time.Time) int {
	if a.expiry == 0 {
		return 0
	}
	n := 0
	for e := a.root.prev; e != &a.root && now.Sub(e.last) >= a.expiry; e = a.root.prev {
		a.remove(e)
		n++
	}
	return n
}

// resolve hands t's senders to the caller and marks e resolved, dropping its tallies.
func (a *Accumulator[K, V]) resolve(e *entry[K, V], t *tally[V]) Resolution[K, V] {
	r := Resolution[K, V]{Key: e.key, Value: t.value, Senders: t.senders}
	t.senders = nil // the caller owns the slice now
	e.clear()
	e.resolved = true
	return r
}

// remove unlinks e, forgets its key and keeps the entry for reuse.
func (a *Accumulator[K, V]) remove(e *entry[K, V]) {
	a.unlink(e)
	delete(a.entries, e.key)
	e.clear()
	var zero K
	e.key, e.resolved, e.last = zero, false, time.Time{}
	e.next, a.free = a.free, e
}

// alloc returns a cleared entry for key, reusing a removed one when there is one.
func (a *Accumulator[K, V]) alloc(key K) *entry[K, V] {
	e := a.free
	if e == nil {
		e = new(entry[K, V])
	} else {
		a.free, e.next = e.next, nil
	}
	e.key = key
	return e
}

func (a *Accumulator[K, V]) pushFront(e *entry[K, V]) {
	e.prev, e.next = &a.root, a.root.next
	a.root.next.prev = e
	a.root.next = e
}

func (a *Accumulator[K, V]) unlink(e *entry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// hasVoted reports whether sender has already sent some value for e's key. The scan is linear in
// the key's distinct senders, which suits group-sized quorums (tens of senders).
func (e *entry[K, V]) hasVoted(sender wire.Name) bool {
	for i := range e.tallies {
		for _, s := range e.tallies[i].senders {
			if s == sender {
				return true
			}
		}
	}
	return false
}

// tallyFor returns value's tally, appending an empty one (reusing spare capacity, including the
// sender slice left in it) if value has not been sent for this key yet. The first value sent for
// a key, the likely winner, gets room for quorum senders at once, so that an honest round
// allocates one sender slice (the one handed out on resolution); other values grow as needed,
// which keeps what a flood of odd values can cost small.
func (e *entry[K, V]) tallyFor(value V, quorum int) *tally[V] {
	for i := range e.tallies {
		if e.tallies[i].value == value {
			return &e.tallies[i]
		}
	}
	n := len(e.tallies)
	if n < cap(e.tallies) {
		e.tallies = e.tallies[:n+1]
	} else {
		e.tallies = append(e.tallies, tally[V]{})
	}
	t := &e.tallies[n]
	t.value = value
	t.senders = t.senders[:0]
	if n == 0 && cap(t.senders) == 0 {
		t.senders = make([]wire.Name, 0, quorum)
	}
	return t
}

// clear empties e's tallies but keeps their storage for reuse. Values are zeroed so that the
// entry does not keep what they point to alive.
func (e *entry[K, V]) clear() {
	var zero V
	for i := range e.tallies {
		e.tallies[i].value = zero
		e.tallies[i].senders = e.tallies[i].senders[:0]
	}
	e.tallies = e.tallies[:0]
}
