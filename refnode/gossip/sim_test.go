package gossip

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// simNet delivers messages between in-memory databases in order, one at a time, with the
// clock advancing 10 ms per message: a deterministic network for whole-protocol tests.
type simNet struct {
	t         *testing.T
	rng       *rand.Rand // when set, deliver from a random link, in order on each link
	nodes     []*simNode
	byName    map[wire.Name]*simNode
	queue     []simMessage
	now       time.Time
	delivered int
	debuted   []bool // nodes that have sent their first Debut
}

type simNode struct {
	p  peer
	db *DB
}

type simMessage struct {
	from wire.Name
	m    Message
}

func newSimNet(t *testing.T, n int) *simNet {
	net := &simNet{t: t, byName: map[wire.Name]*simNode{}, now: t0}
	for _, p := range peers(1, n) {
		node := &simNode{p: p, db: newDB(t, p)}
		net.nodes = append(net.nodes, node)
		net.byName[p.name] = node
	}
	return net
}

func (net *simNet) send(from wire.Name, ms []Message) {
	for _, m := range ms {
		net.queue = append(net.queue, simMessage{from: from, m: m})
	}
}

// debut has node i send its Debut to node j.
func (net *simNet) debut(i, j int) {
	if net.debuted == nil {
		net.debuted = make([]bool, len(net.nodes))
	}
	net.debuted[i] = true
	target := net.nodes[j].p
	net.send(net.nodes[i].p.name, []Message{net.nodes[i].db.Debut(target.name, target.addr, net.now)})
}

// run delivers messages until none are left, failing on any ban or refusal: every node here
// is honest.
func (net *simNet) run() {
	t := net.t
	t.Helper()
	for len(net.queue) > 0 {
		if net.delivered++; net.delivered > 100000 {
			t.Fatal("gossip never went quiet")
		}
		sm := net.next()
		net.now = net.now.Add(10 * time.Millisecond)
		from, to := net.byName[sm.from], net.byName[sm.m.To]
		if to == nil {
			t.Fatalf("message to unknown node %s", short(sm.m.To))
		}
		if sm.m.Addr.IsValid() && sm.m.Addr != to.p.addr {
			t.Fatalf("message to %s carries address %v, not %v", short(sm.m.To), sm.m.Addr, to.p.addr)
		}
		var res Result
		if sm.m.Kind == KindFailure {
			res = to.db.AcceptFailure(sm.from, sm.m.Body, net.now)
		} else {
			res = to.db.Accept(sm.from, from.p.addr, sm.m.Body, net.now)
		}
		if res.Ban != nil || res.Refused {
			t.Fatalf("honest gossip from %s to %s: %s", short(sm.from), short(sm.m.To), describe(res))
		}
		if d := to.db.degree(); d > DefaultMaxDegree {
			t.Fatalf("node %s reached degree %d", short(sm.m.To), d)
		}
		net.send(to.p.name, res.Messages)
	}
}

// next takes the next message: the oldest of all, or, with rng set, the oldest on a randomly
// chosen link, so links interleave at random but each stays in order as on a QUIC stream.
func (net *simNet) next() simMessage {
	i := 0
	if net.rng != nil {
		type link struct{ from, to wire.Name }
		var heads []int
		seen := map[link]bool{}
		for k, sm := range net.queue {
			if l := (link{sm.from, sm.m.To}); !seen[l] {
				seen[l] = true
				heads = append(heads, k)
			}
		}
		i = heads[net.rng.IntN(len(heads))]
	}
	sm := net.queue[i]
	net.queue = append(net.queue[:i], net.queue[i+1:]...)
	return sm
}

// check asserts the properties of a quiet network: degree at most 5, only full links, every
// node knows every other's current record, no bans. It returns the full-link graph.
func (net *simNet) check() map[wire.Name][]wire.Name {
	t := net.t
	t.Helper()
	graph := map[wire.Name][]wire.Name{}
	for _, n := range net.nodes {
		if d := len(n.db.own.Neighbors); d > DefaultMaxDegree || d == 0 {
			t.Errorf("node %s has degree %d", short(n.p.name), d)
		}
		if p := n.db.PendingDebuts(); len(p) > 0 {
			// Every Debut is answered (NB-5), or the debutant holds a place for it for 60 s.
			t.Errorf("node %s has %d Debuts unanswered in a quiet network", short(n.p.name), len(p))
		}
		if bans := n.db.Bans(); len(bans) > 0 {
			t.Errorf("node %s banned %d nodes", short(n.p.name), len(bans))
		}
		full, half := n.db.Neighbors()
		if len(half) > 0 {
			t.Errorf("node %s has %d half neighbors left", short(n.p.name), len(half))
		}
		graph[n.p.name] = full
		for _, o := range net.nodes {
			if o == n {
				continue
			}
			v, ok := n.db.Record(o.p.name)
			if !ok {
				t.Errorf("node %s does not know node %s", short(n.p.name), short(o.p.name))
			} else if v.Version() != o.db.Version() {
				t.Errorf("node %s knows node %s at version %d, not %d", short(n.p.name), short(o.p.name), v.Version(), o.db.Version())
			}
		}
	}
	return graph
}

// hops returns the hop counts from a over the full-link graph.
func hops(graph map[wire.Name][]wire.Name, a wire.Name) map[wire.Name]int {
	dist := map[wire.Name]int{a: 0}
	queue := []wire.Name{a}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, j := range graph[k] {
			if _, seen := dist[j]; !seen {
				dist[j] = dist[k] + 1
				queue = append(queue, j)
			}
		}
	}
	return dist
}

// checkRoutes asserts that Route, from every node's own view, finds a route of at least 3 hops
// exactly when a brute-force search of the true full-link graph finds one, for every pair
// that are not neighbors; that every pair at least 3 hops apart has one; and it logs the most
// distant pair.
func (net *simNet) checkRoutes(graph map[wire.Name][]wire.Name) {
	t := net.t
	t.Helper()
	farthest, routed, unroutable := 0, 0, 0
	for _, a := range net.nodes {
		dist := hops(graph, a.p.name)
		for _, b := range net.nodes {
			d, ok := dist[b.p.name]
			if !ok {
				t.Fatalf("nodes %s and %s are not connected", short(a.p.name), short(b.p.name))
			}
			farthest = max(farthest, d)
			if d < 2 {
				continue // the node itself or a neighbor: never an exit (rulebook 90)
			}
			want := bruteRoute(graph, a.p.name, b.p.name, DefaultMinHops, MaxHops)
			route, err := a.db.Route(a.p.name, b.p.name, DefaultMinHops)
			switch {
			case err == nil && want == 0:
				t.Errorf("route %s -> %s found, but the graph has none", short(a.p.name), short(b.p.name))
			case err != nil && want > 0:
				t.Errorf("route %s -> %s (distance %d, a %d-hop route exists): %v", short(a.p.name), short(b.p.name), d, want, err)
			case err == nil && len(route)-1 != want:
				t.Errorf("route %s -> %s has %d hops; the shortest has %d", short(a.p.name), short(b.p.name), len(route)-1, want)
			case err == nil:
				net.checkRoute(route, a.p.name, b.p.name)
				routed++
			default:
				unroutable++
			}
			if d >= DefaultMinHops && err != nil {
				t.Errorf("distant nodes %s and %s (%d hops apart) have no route", short(a.p.name), short(b.p.name), d)
			}
		}
	}
	if farthest < DefaultMinHops {
		t.Errorf("the network is too small to test distant routes: diameter %d", farthest)
	}
	t.Logf("diameter %d; %d routes of at least 3 hops; %d pairs 2 hops apart with none (only short paths)", farthest, routed, unroutable)
}

// bruteRoute returns the fewest hops of a simple path from a to b of minHops..maxHops hops in
// graph (whose nodes all accept connections), or 0 when there is none.
func bruteRoute(graph map[wire.Name][]wire.Name, a, b wire.Name, minHops, maxHops int) int {
	best := 0
	onPath := map[wire.Name]bool{a: true}
	var walk func(k wire.Name, hops int)
	walk = func(k wire.Name, hops int) {
		for _, j := range graph[k] {
			if onPath[j] {
				continue
			}
			if j == b {
				if hops+1 >= minHops && (best == 0 || hops+1 < best) {
					best = hops + 1
				}
				continue
			}
			if hops+1 < maxHops {
				onPath[j] = true
				walk(j, hops+1)
				onPath[j] = false
			}
		}
	}
	walk(a, 0)
	return best
}

func (net *simNet) checkRoute(route []wire.Name, from, to wire.Name) {
	t := net.t
	t.Helper()
	if len(route)-1 < DefaultMinHops || route[0] != from || route[len(route)-1] != to {
		t.Errorf("route %s -> %s has %d hops or wrong ends", short(from), short(to), len(route)-1)
	}
	seen := map[wire.Name]bool{}
	for i, n := range route {
		if seen[n] {
			t.Errorf("route %s -> %s repeats %s", short(from), short(to), short(n))
		}
		seen[n] = true
		if i > 0 {
			a, b := net.byName[route[i-1]], net.byName[n]
			if !a.db.lists(a.p.name, b.p.name) || !b.db.lists(b.p.name, a.p.name) {
				t.Errorf("route %s -> %s uses a link that is not full", short(from), short(to))
			}
		}
	}
}

// TestSimulationTwelveNodesDebutInSequenceThroughOne is the done-criterion of issue 5: 12 nodes
// debut one after another through node 0, gossip runs until quiet after each, and then every
// node has degree at most 5, knows every other node's current record, and can route at least
// 3 hops to distant nodes; nobody was banned.
func TestSimulationTwelveNodesDebutInSequenceThroughOne(t *testing.T) {
	net := newSimNet(t, 12)
	for i := 1; i < len(net.nodes); i++ {
		net.debut(i, 0)
		net.run()
	}
	graph := net.check()
	net.checkRoutes(graph)
	t.Logf("%d messages delivered", net.delivered)
	for _, n := range net.nodes {
		t.Logf("node %s: version %d, degree %d", short(n.p.name), n.db.Version(), len(graph[n.p.name]))
	}
}

// TestSimulationConcurrentDebuts starts all debuts at once, so Debuts, Passes and Introductions
// interleave; the same properties must hold once gossip is quiet.
func TestSimulationConcurrentDebuts(t *testing.T) {
	net := newSimNet(t, 12)
	for i := 1; i < len(net.nodes); i++ {
		net.debut(i, 0)
	}
	net.run()
	graph := net.check()
	net.checkRoutes(graph)
	t.Logf("%d messages delivered", net.delivered)
}

// settle runs until quiet, then has every node left with no neighbor and no Debut in progress
// debut again through node 0 once the pass-loop guard has expired, as a node does (rulebook 59
// leaves that to the node), until nobody is left out. It returns how many retries it took.
func (net *simNet) settle() int {
	net.run()
	retries := 0
	for range 10 {
		var lonely []int
		for i, n := range net.nodes {
			if net.debuted[i] && n.db.degree() == 0 && len(n.db.PendingDebuts()) == 0 {
				lonely = append(lonely, i)
			}
		}
		if len(lonely) == 0 {
			return retries
		}
		net.now = net.now.Add(DefaultPassExpiry + time.Second)
		for _, i := range lonely {
			net.debut(i, 0)
			retries++
		}
		net.run()
	}
	net.t.Fatal("nodes still left out after 10 rounds of retries")
	return retries
}

// TestSimulationShuffledLinksNeverBanHonestNodes interleaves links at random (seeded, so each
// run is the same): relayed copies overtake direct messages and Debuts race one another. No
// honest node may be banned, and once nodes left out by a pass loop have retried, the network
// must settle with every property intact.
func TestSimulationShuffledLinksNeverBanHonestNodes(t *testing.T) {
	seeds := uint64(24) // 1000 seeds pass too; this many keep the suite quick under -race
	if testing.Short() {
		seeds = 4
	}
	retries := 0
	for seed := range seeds {
		net := newSimNet(t, 12)
		net.rng = rand.New(rand.NewPCG(seed, 5))
		for i := 1; i < len(net.nodes); i++ {
			net.debut(i, 0)
			if seed%2 == 0 {
				retries += net.settle() // even seeds: one debut at a time
			}
		}
		retries += net.settle()
		graph := net.check()
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
		net.checkRoutes(graph)
	}
	t.Logf("%d runs needed %d retried Debuts", seeds, retries)
}

// clebsch links 16 nodes as the Clebsch graph (nodes are 4-bit numbers, linked when they
// differ in one bit or in all four): every node has degree 5 and no two neighbors of a node are
// neighbors, the shape a network that splits links (NB-5) fills up into.
func clebsch(i, j int) bool {
	d := i ^ j
	return d == 15 || d != 0 && d&(d-1) == 0
}

// linkAll has the first n nodes of net list each other where linked says, and every node hold
// every other's current record, addressed for its neighbors, as gossip would leave them.
func (net *simNet) linkAll(n int, linked func(i, j int) bool) {
	t := net.t
	t.Helper()
	for i := range n {
		for j := range n {
			if i != j && linked(i, j) {
				net.nodes[i].db.addNeighbor(net.nodes[j].p.name)
			}
		}
	}
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			forms := [][]byte{net.nodes[j].db.OwnRecord()}
			if linked(i, j) {
				forms = append(forms, net.nodes[j].db.debutRecord())
			}
			for _, b := range forms {
				var v record.View
				if err := v.Decode(b); err != nil {
					t.Fatal(err)
				}
				net.nodes[i].db.store(&v, net.now)
			}
		}
	}
}

// TestSimulationAFullNetworkWithoutTrianglesTakesNewNodes starts from 16 nodes at the degree
// limit, no two neighbors of a node linked (the Clebsch graph), and has 8 more debut through
// one of them. No Debut can be taken without a split, and no neighbor of a node lists another
// of its neighbors; NB-5's split must still find links to split, or every Debut is passed round
// among full nodes until NB-6's guard ends it, for good (seen at 64 processes).
func TestSimulationAFullNetworkWithoutTrianglesTakesNewNodes(t *testing.T) {
	const full, newcomers = 16, 8
	net := newSimNet(t, full+newcomers)
	net.linkAll(full, clebsch)
	for i := full; i < full+newcomers; i++ {
		net.debut(i, 0)
	}
	retries := net.settle()
	net.check()
	t.Logf("%d messages, %d Debuts again", net.delivered, retries)
}
