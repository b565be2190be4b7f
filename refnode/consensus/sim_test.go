package consensus

import (
	"container/heap"
	"flag"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/stableset"
	"github.com/stableset/sskit/refnode/wire"
)

// The simulation drives N cores over an in-memory network whose delays, drops, duplicates,
// reordering and partitions are decided by one seed. A failing seed is replayed with
//
//	go test ./refnode/consensus -run 'TestSimulation$' -seed N -v [-simtrace]
var (
	simSeeds = flag.Int("seeds", 1000, "number of simulation seeds to run")
	simSeed  = flag.Int64("seed", -1, "run only this simulation seed")
	simFirst = flag.Int64("firstseed", 0, "the first of the -seeds seeds run, so that another range can be sampled")
	simTrace = flag.Bool("simtrace", false, "log every frame but pings of the simulation (with -seed)")
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type event struct {
	at   time.Duration
	seq  int
	kind int // evDeliver, evTick, evStart, evLeave, evKill
	node int
	msg  simFrame
}

const (
	evDeliver = iota
	evTick
	evStart
	evLeave
	evKill
)

type simFrame struct {
	from     int
	typ      wire.Type
	id       uint64
	body     []byte
	header   wire.StablesetID
	deadline time.Duration // for responses: the request's timeout
}

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	return q[i].at < q[j].at || q[i].at == q[j].at && q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// scenario is what a seed decides.
type scenario struct {
	n         int
	faultFree bool
	joinGap   time.Duration // between consecutive starts
	leavers   []int
	kills     []int
	drop      float64
	dup       float64
	maxDelay  time.Duration
	partition []bool // side of each node during the partition window
	faultsEnd time.Duration
	settle    time.Duration
}

func (s scenario) String() string {
	return fmt.Sprintf("n=%d faultFree=%v joinGap=%v leavers=%v kills=%v drop=%.2f dup=%.2f maxDelay=%v partition=%v",
		s.n, s.faultFree, s.joinGap, s.leavers, s.kills, s.drop, s.dup, s.maxDelay, s.partition != nil)
}

func newScenario(r *rand.Rand) scenario {
	sizes := []int{1, 2, 3, 4, 4, 5, 6, 8, 8, 12, 16}
	s := scenario{n: sizes[r.IntN(len(sizes))], faultFree: r.IntN(3) == 0}
	s.joinGap = []time.Duration{0, 50 * time.Millisecond, 300 * time.Millisecond, time.Second}[r.IntN(4)]
	if s.faultFree {
		s.joinGap = time.Second // one decision at a time, so that each is measured alone
	}
	start := time.Duration(s.n) * s.joinGap
	s.faultsEnd = start + 8*time.Second
	s.settle = 25 * time.Second
	s.maxDelay = time.Duration(1+r.IntN(20)) * time.Millisecond
	for i := 1; i < s.n; i++ {
		if r.IntN(8) == 0 {
			s.leavers = append(s.leavers, i)
		}
	}
	// A kill is survivable while a majority of the elders stays alive: with one kill, that holds
	// once at least 3 members remain after the leaves. Losing more elders at once blocks
	// decisions by design (ST-3); sections (#6) deal with that.
	if !s.faultFree && s.n-len(s.leavers) >= 4 && r.IntN(2) == 0 {
		for {
			k := 1 + r.IntN(s.n-1)
			if !slices.Contains(s.leavers, k) {
				s.kills = append(s.kills, k)
				break
			}
		}
	}
	if s.faultFree {
		return s
	}
	s.drop = []float64{0, 0.01, 0.05, 0.2}[r.IntN(4)]
	s.dup = []float64{0, 0.05}[r.IntN(2)]
	if r.IntN(2) == 0 && s.n >= 3 {
		s.partition = make([]bool, s.n)
		for i := range s.partition {
			s.partition[i] = r.IntN(2) == 0
		}
	}
	return s
}

type simNode struct {
	core    *Core
	member  wire.Member
	started bool
	dead    bool
	nextID  uint64
	pending map[uint64]time.Duration // request id -> deadline
}

type sim struct {
	t     *testing.T
	seed  int64
	r     *rand.Rand
	sc    scenario
	now   time.Duration
	q     queue
	seq   int
	nodes []*simNode
	byKey map[wire.Name]int
	audit []string
	left  map[int]bool
	trace bool
	// stablesetsFrom counts the STABLESET frames each node sent.
	stablesetsFrom map[int]int
	// delivered digests every frame delivered, in order, so that two runs of one seed can be
	// compared.
	delivered hash.Hash64

	// For runs with sections (sections_sim_test.go): the prefix length, whom node i bootstraps
	// from (-1: nobody), and a partition of its own.
	sectionBits uint8
	bootOf      func(i int) int
	cutFn       func(a, b int) bool
}

func simName(i int) wire.Name {
	var n wire.Name
	n[0], n[1], n[31] = byte(i*37+11), byte(i), 0xAA
	return n
}

func newSim(t *testing.T, seed int64) *sim {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	s := &sim{t: t, seed: seed, r: r, sc: newScenario(r), byKey: map[wire.Name]int{}, left: map[int]bool{}}
	for i := 0; i < s.sc.n; i++ {
		m := wire.Member{Name: simName(i), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)}), 7000)}
		s.nodes = append(s.nodes, &simNode{member: m, pending: map[uint64]time.Duration{}})
		s.byKey[m.Name] = i
		s.push(event{at: time.Duration(i) * s.sc.joinGap, kind: evStart, node: i})
	}
	for j, i := range s.sc.leavers {
		at := time.Duration(s.sc.n)*s.sc.joinGap + time.Duration(1+s.r.IntN(5))*time.Second
		if s.sc.faultFree {
			at = time.Duration(s.sc.n)*s.sc.joinGap + time.Duration(j+1)*time.Second // one decision at a time
		}
		s.push(event{at: at, kind: evLeave, node: i})
	}
	for _, i := range s.sc.kills {
		s.push(event{at: time.Duration(s.sc.n)*s.sc.joinGap + time.Duration(1+s.r.IntN(5))*time.Second, kind: evKill, node: i})
	}
	return s
}

func (s *sim) push(e event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

func (s *sim) faulty() bool { return !s.sc.faultFree && s.now < s.sc.faultsEnd }

// cut reports whether the partition separates a and b right now.
func (s *sim) cut(a, b int) bool {
	if s.cutFn != nil {
		return s.cutFn(a, b)
	}
	if s.sc.partition == nil || !s.faulty() || s.now < s.sc.faultsEnd/3 {
		return false
	}
	return s.sc.partition[a] != s.sc.partition[b]
}

func (s *sim) start(i int) {
	nd := s.nodes[i]
	cfg := Config{Self: nd.member, SectionBits: s.sectionBits}
	boot := min(i, 1) - 1 // node 0 founds, every other node asks it
	if s.bootOf != nil {
		boot = s.bootOf(i)
	}
	if boot >= 0 {
		cfg.Bootstrap = []wire.Member{s.nodes[boot].member}
	}
	nd.core = New(cfg, epoch.Add(s.now))
	nd.core.set.Audit = s.auditor(i)
	nd.started = true
	s.push(event{at: s.now, kind: evTick, node: i}) // a node ticks as it starts, as refnode's clock does
}

// auditor checks every change a node applies against the elders it had at that moment (ST-3).
func (s *sim) auditor(i int) func(stableset.Change, []wire.Member, []wire.Name) {
	return func(ch stableset.Change, elders []wire.Member, witnesses []wire.Name) {
		votes := 0
		for _, e := range elders {
			if slices.Contains(witnesses, e.Name) {
				votes++
			}
		}
		if 2*votes <= len(elders) {
			s.audit = append(s.audit, fmt.Sprintf("node %d applied %v %d without a majority of %d elders (%d)", i, ch.Kind, s.byKey[ch.Member.Name], len(elders), votes))
		}
	}
}

func (s *sim) flush(i int) {
	nd := s.nodes[i]
	for _, m := range nd.core.Outbox() {
		to, ok := s.byKey[m.To.Name]
		if !ok {
			s.t.Fatalf("node %d sends to an unknown name", i)
		}
		f := simFrame{from: i, typ: m.Type, body: slices.Clone(m.Body), header: nd.core.Set().ID()}
		if m.Type == wire.TypeStableset {
			if s.stablesetsFrom == nil {
				s.stablesetsFrom = map[int]int{}
			}
			s.stablesetsFrom[i]++
		}
		switch {
		case m.Type == wire.TypeWitnessRequest || m.Type == wire.TypePing:
			nd.nextID++
			f.id = nd.nextID
			nd.pending[f.id] = s.now + 2*time.Second
		case m.Type == wire.TypeWitness:
			f.id = m.ReplyTo
		}
		s.transmit(to, f)
	}
}

func (s *sim) transmit(to int, f simFrame) {
	copies := 1
	if s.faulty() {
		if s.r.Float64() < s.sc.drop {
			copies = 0
		} else if s.r.Float64() < s.sc.dup {
			copies = 2
		}
	}
	if s.cut(f.from, to) {
		copies = 0
	}
	for range copies {
		s.push(event{at: s.now + time.Duration(s.r.Int64N(int64(s.sc.maxDelay)+1)), kind: evDeliver, node: to, msg: f})
	}
}

// describeView lists a STABLESET's members, joining and leaving by node number, for -simtrace.
func (s *sim) describeView(v *wire.StablesetView) string {
	var b strings.Builder
	var m wire.Member
	for list, label := range []string{"members", "joining", "leaving"} {
		if v.Len(list) == 0 {
			continue
		}
		fmt.Fprintf(&b, " %s", label)
		for i := range v.Len(list) {
			v.Entry(list, i, &m)
			fmt.Fprintf(&b, " %d@%d", s.byKey[m.Name], m.Ordinal)
		}
	}
	return b.String()
}

func (s *sim) deliver(to int, f simFrame) {
	nd := s.nodes[to]
	if !nd.started || nd.dead || nd.core.Phase() == Left {
		return // a node that has left closes its endpoint (ST-7)
	}
	from := s.nodes[f.from].member
	now := epoch.Add(s.now)
	if s.delivered == nil {
		s.delivered = fnv.New64a()
	}
	fmt.Fprintf(s.delivered, "%d %d %d %v %d %x %x\n", s.now, f.from, to, f.typ, f.id, f.header, f.body)
	if s.trace && f.typ != wire.TypePing && f.typ != wire.TypePong {
		var o wire.Observation
		desc := ""
		var v wire.StablesetView
		switch {
		case f.typ == wire.TypeStableset && v.Decode(f.body) == nil:
			desc = s.describeView(&v)
		case f.typ == wire.TypeSectionList:
			var l wire.SectionList
			if l.Decode(f.body) == nil {
				desc = fmt.Sprintf("prefix %d age %d members %d", l.Value, l.Age, len(l.Members))
			}
		case o.Decode(f.body) == nil:
			desc = fmt.Sprintf("%v %d@%d", o.Kind, s.byKey[o.Member.Name], o.Member.Ordinal)
		}
		s.t.Logf("%v %d -> %d %v id=%d %s", s.now, f.from, to, f.typ, f.id, desc)
	}
	switch f.typ {
	case wire.TypePong, wire.TypeWitness:
		deadline, ok := nd.pending[f.id]
		if !ok || s.now > deadline {
			return // unmatched or late: ignored (WIRE-11)
		}
		delete(nd.pending, f.id)
	}
	nd.core.Heard(now, from, wire.Header{Type: f.typ, Stableset: f.header})
	switch f.typ {
	case wire.TypePing:
		s.transmit(f.from, simFrame{from: to, typ: wire.TypePong, id: f.id, header: nd.core.Set().ID()})
	case wire.TypePong:
	default:
		nd.core.Receive(now, from, wire.Header{Type: f.typ, ID: f.id, Stableset: f.header}, f.body)
	}
	s.flush(to)
}

// run plays the scenario until the faults have stopped and the settle time has passed.
func (s *sim) run() {
	s.runUntil(s.sc.faultsEnd + s.sc.settle)
}

// runUntil plays every event up to time end.
func (s *sim) runUntil(end time.Duration) {
	for s.q.Len() > 0 && s.q[0].at <= end {
		e := heap.Pop(&s.q).(event)
		s.now = e.at
		nd := s.nodes[e.node]
		switch e.kind {
		case evStart:
			s.start(e.node)
			s.flush(e.node)
		case evTick:
			if nd.dead {
				continue
			}
			nd.core.Tick(epoch.Add(s.now))
			s.flush(e.node)
			s.push(event{at: s.now + 100*time.Millisecond, kind: evTick, node: e.node})
		case evLeave:
			if !nd.dead {
				s.left[e.node] = true
				nd.core.Leave(epoch.Add(s.now))
				s.flush(e.node)
			}
		case evKill:
			if s.survivable(e.node) {
				nd.dead = true
			} else {
				s.sc.kills = slices.DeleteFunc(s.sc.kills, func(k int) bool { return k == e.node })
			}
		case evDeliver:
			s.deliver(e.node, e.msg)
		}
	}
}

// survivable reports whether killing node k now leaves a live majority of the elders in every
// member's view and at least 3 members, the precondition of ST-3 for the leave to be decided.
func (s *sim) survivable(k int) bool {
	for i, nd := range s.nodes {
		if i == k || nd.dead || nd.core == nil || nd.core.Phase() != Member {
			continue
		}
		set := nd.core.Set()
		if len(set.Members()) < 3 {
			return false
		}
		alive := 0
		for _, e := range set.Elders() {
			j := s.byKey[e.Name]
			if j != k && !s.nodes[j].dead && !s.left[j] {
				alive++
			}
		}
		if alive < stableset.Majority(len(set.Elders())) {
			return false
		}
	}
	return true
}

// check states the simulation's properties once the faults have stopped and the network settled.
func (s *sim) check() []string {
	problems := slices.Clone(s.audit)
	var ref *simNode
	for i, nd := range s.nodes {
		if nd.dead || s.left[i] {
			continue
		}
		if nd.core.Phase() != Member {
			problems = append(problems, fmt.Sprintf("node %d is %v, not a member", i, nd.core.Phase()))
			continue
		}
		if ref == nil {
			ref = nd
		}
		if nd.core.Set().ID() != ref.core.Set().ID() {
			problems = append(problems, fmt.Sprintf("node %d holds %v, node %d holds %v", i, s.names(nd), s.byKey[ref.member.Name], s.names(ref)))
		}
	}
	if ref == nil {
		return problems
	}
	for i, nd := range s.nodes {
		_, in := ref.core.Set().Member(nd.member.Name)
		switch {
		case (nd.dead || s.left[i]) && in:
			problems = append(problems, fmt.Sprintf("node %d is gone (dead=%v left=%v, phase %v) but still a member", i, nd.dead, s.left[i], nd.core.Phase()))
		case !nd.dead && !s.left[i] && !in:
			problems = append(problems, fmt.Sprintf("node %d is live but not a member", i))
		}
		if s.left[i] && !nd.dead && nd.core.Phase() != Left && nd.core.Phase() != Joining {
			problems = append(problems, fmt.Sprintf("node %d asked to leave and is %v", i, nd.core.Phase()))
		}
	}
	if s.sc.faultFree {
		problems = append(problems, s.checkBudget()...)
		problems = append(problems, s.checkApplied()...)
	}
	return problems
}

// checkApplied: a live member records every decision its stableset reflects as applied (ST-12),
// however it came to apply it: by its elders' witnesses or by taking over their stableset.
func (s *sim) checkApplied() []string {
	var problems []string
	for i, nd := range s.nodes {
		if nd.dead || s.left[i] || nd.core.Phase() != Member {
			continue
		}
		for _, d := range nd.core.Decisions() {
			if d.Applied.IsZero() && d.Member.Name != nd.member.Name && nd.core.Set().Applied(d.Kind, d.Member) {
				problems = append(problems, fmt.Sprintf("node %d applied %v of node %d@%d but its log shows it pending", i, d.Kind, s.byKey[d.Member.Name], d.Member.Ordinal))
			}
		}
	}
	return problems
}

// checkBudget: every decision costs at most 24 frames among elders, summed over all nodes (ST-9).
func (s *sim) checkBudget() []string {
	type key struct {
		kind    wire.ChangeKind
		name    wire.Name
		ordinal uint64
	}
	sent := map[key]int{}
	for _, nd := range s.nodes {
		if nd.core == nil {
			continue
		}
		for _, d := range nd.core.Decisions() {
			sent[key{d.Kind, d.Member.Name, d.Member.Ordinal}] += d.ElderSent
		}
	}
	var problems []string
	for k, n := range sent {
		if n > 24 {
			problems = append(problems, fmt.Sprintf("%v of node %d (ordinal %d) cost %d frames among elders", k.kind, s.byKey[k.name], k.ordinal, n))
		}
	}
	slices.Sort(problems)
	return problems
}

func (s *sim) names(nd *simNode) string { return s.instances(nd.core.Set().Members()) }

// instances are members as [node@ordinal ...].
func (s *sim) instances(ms []wire.Member) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%d@%d", s.byKey[m.Name], m.Ordinal)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// One seed decides a whole run: the same frames are delivered at the same times, run after run.
// The core must therefore send in an order of its own, never a map's (pushStuck did, and seed
// 1880 then ended unconverged in about one run of eight).
func TestSimulationIsDeterministic(t *testing.T) {
	for seed := int64(1870); seed < 1900; seed++ {
		var digests [2]uint64
		for i := range digests {
			s := newSim(t, seed)
			s.run()
			if s.delivered == nil {
				continue // a node alone: nothing to deliver
			}
			digests[i] = s.delivered.Sum64()
		}
		if digests[0] != digests[1] {
			t.Errorf("seed %d delivered other frames in a second run", seed)
		}
	}
}

func runSeed(t *testing.T, seed int64) (problems []string, strict bool) {
	s := newSim(t, seed)
	s.trace = *simTrace
	s.run()
	p := s.check()
	if len(p) == 0 {
		return nil, false
	}
	// Safety breaches and fault-free runs must never fail; a faulty run that has not converged
	// by the end is a liveness gap, counted against a bound.
	return append([]string{s.sc.String()}, p...), len(s.audit) > 0 || s.sc.faultFree
}

// livenessGapBound is the share of faulty seeds allowed to end unconverged. The known gaps are
// partitions combined with a kill or leaves, listed in conformance/drafts/consensus.md.
const livenessGapBound = 0.005

func TestSimulation(t *testing.T) {
	seeds := make([]int64, 0, *simSeeds)
	if *simSeed >= 0 {
		seeds = append(seeds, *simSeed)
	} else {
		for i := range *simSeeds {
			seeds = append(seeds, *simFirst+int64(i))
		}
	}
	gaps := 0
	for _, seed := range seeds {
		p, strict := runSeed(t, seed)
		if p == nil {
			continue
		}
		msg := fmt.Sprintf("seed %d: %s\n  replay: go test ./refnode/consensus -run 'TestSimulation$' -seed %d -v -simtrace",
			seed, strings.Join(p, "\n  "), seed)
		if strict || len(seeds) == 1 {
			t.Error(msg)
			continue
		}
		gaps++
		t.Log("liveness gap, " + msg)
	}
	if float64(gaps) > livenessGapBound*float64(len(seeds)) {
		t.Errorf("%d of %d seeds ended unconverged, more than %.1f%%", gaps, len(seeds), 100*livenessGapBound)
	}
}
