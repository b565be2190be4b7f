package gossip

import (
	"errors"
	"fmt"
	"slices"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/wire"
)

// Route lengths, in hops (a hop is a link, so a route of h hops names h+1 nodes).
const (
	DefaultMinHops = 3 // DEFAULT_MIN_HOPS: fewer hops let one relay know both ends
	MaxHops        = 6 // MASQ's Hops go up to 6; longer detours are not searched
)

// ErrNoRoute is the error of Route when no route meets the rules; the error returned wraps it
// with the reason.
var ErrNoRoute = errors.New("gossip: no route")

// routeSearchBudget bounds the nodes a detour search visits, so that records claiming huge
// neighbor lists cannot make Route run for ever.
const routeSearchBudget = 1 << 20

// Route returns a route from from to to over full-neighbor links (rulebook 83, 88, 89, 90):
// at least minHops hops (0 means DefaultMinHops), no node twice, every node after from
// accepting connections (it must relay, or be the exit), and, when the route is longer than one
// hop, an exit whose record does not list from. Among the shortest such routes it returns the
// first in name order. Banned nodes are never on it. The result names from and to.
func (db *DB) Route(from, to wire.Name, minHops int) ([]wire.Name, error) {
	if minHops == 0 {
		minHops = DefaultMinHops
	}
	if minHops < 1 || minHops > MaxHops {
		return nil, fmt.Errorf("gossip: route of at least %d hops: minimum hops must be 1..%d", minHops, MaxHops)
	}
	fail := func(why string) ([]wire.Name, error) {
		return nil, fmt.Errorf("%w of at least %d hops from %s to %s: %s", ErrNoRoute, minHops, from, to, why)
	}
	if from == to {
		return fail("the ends are the same node")
	}
	for _, n := range []wire.Name{from, to} {
		if _, banned := db.bans[n]; banned {
			return fail(fmt.Sprintf("%s is banned", n))
		}
		if _, ok := db.Degree(n); !ok {
			return fail(fmt.Sprintf("%s has no record here", n))
		}
	}
	if !db.accepts(to) {
		return fail("the exit does not accept connections, so it routes no data")
	}
	if minHops == 1 && db.IsFull(from, to) {
		return []wire.Name{from, to}, nil
	}
	if db.lists(to, from) {
		return fail("the exit lists the originator as a neighbor, so it would know the originator's address")
	}

	g := db.routeGraph()
	src, dst := g.index[from], g.index[to]
	dist := g.distancesTo(dst, src)
	if dist[src] < 0 {
		return fail("no path over full-neighbor links through nodes that accept connections")
	}
	s := routeSearch{g: g, dist: dist, dst: dst, budget: routeSearchBudget, onPath: make([]bool, len(g.names))}
	for hops := max(minHops, dist[src]); hops <= max(MaxHops, dist[src]); hops++ {
		s.path = append(s.path[:0], src)
		s.onPath[src] = true
		if s.walk(src, hops) {
			route := make([]wire.Name, len(s.path))
			for i, k := range s.path {
				route[i] = g.names[k]
			}
			return route, nil
		}
		s.onPath[src] = false
		if s.budget <= 0 {
			return fail("the search gave up")
		}
	}
	return fail(fmt.Sprintf("every path is shorter, or longer than %d hops", max(MaxHops, dist[src])))
}

// routeGraph is the full-neighbor graph as this node knows it, nodes numbered in name order.
type routeGraph struct {
	names   []wire.Name
	index   map[wire.Name]int
	adj     [][]int // full neighbors, in name order
	accepts []bool
}

func (db *DB) routeGraph() *routeGraph {
	names := make([]wire.Name, 0, len(db.names)+1)
	names = append(names, db.names...)
	i, _ := slices.BinarySearchFunc(names, db.me, compareNames)
	names = slices.Insert(names, i, db.me)
	g := &routeGraph{names: names, index: make(map[wire.Name]int, len(names)), adj: make([][]int, len(names)), accepts: make([]bool, len(names))}
	for k, n := range names {
		g.index[n] = k
		g.accepts[k] = db.accepts(n)
	}
	total := 0
	for _, n := range names {
		d, _ := db.Degree(n)
		total += d
	}
	links := make([]int, 0, total) // one array for every adjacency list
	for k, n := range names {
		start := len(links)
		forEachListed(db, n, func(m wire.Name) {
			if j, ok := g.index[m]; ok && (db.lists(m, n) || mutant.Is("route-half-links")) {
				links = append(links, j)
			}
		})
		g.adj[k] = links[start:len(links):len(links)]
	}
	if mutant.Is("route-half-links") {
		// A link either side lists counts, both ways, as in a graph built from the records'
		// lists alone. Each list was cut to its length, so appending copies it.
		for k := range g.adj {
			for _, j := range g.adj[k] {
				if !slices.Contains(g.adj[j], k) {
					g.adj[j] = append(g.adj[j], k)
					slices.Sort(g.adj[j])
				}
			}
		}
	}
	return g
}

// forEachListed calls f for each neighbor n's record lists, in name order.
func forEachListed(db *DB, n wire.Name, f func(wire.Name)) {
	if n == db.me {
		for _, m := range db.own.Neighbors {
			f(m)
		}
		return
	}
	v := &db.nodes[n].view
	for i := range v.NumNeighbors() {
		f(v.Neighbor(i))
	}
}

// distancesTo returns each node's hop count to dst over links whose inner nodes accept
// connections, not passing through src (which starts a route and cannot be inside it); -1 for
// none. It is a lower bound on the rest of any route, used to prune the search.
func (g *routeGraph) distancesTo(dst, src int) []int {
	dist := make([]int, len(g.names))
	for i := range dist {
		dist[i] = -1
	}
	dist[dst] = 0
	queue := []int{dst}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if k == src {
			continue
		}
		for _, j := range g.adj[k] {
			if dist[j] >= 0 || (j != src && !g.accepts[j]) {
				continue
			}
			dist[j] = dist[k] + 1
			queue = append(queue, j)
		}
	}
	return dist
}

type routeSearch struct {
	g      *routeGraph
	dist   []int
	dst    int
	budget int
	path   []int
	onPath []bool
}

// walk extends the path from k by exactly hops more links ending at dst, trying neighbors in
// name order, so the first route found is the first in name order among those of its length.
func (s *routeSearch) walk(k, hops int) bool {
	s.budget--
	if s.budget <= 0 {
		return false
	}
	for _, j := range s.g.adj[k] {
		if s.onPath[j] || s.dist[j] < 0 || s.dist[j] > hops-1 {
			continue
		}
		if j == s.dst {
			if hops != 1 {
				continue // the exit ends the route
			}
		} else if !s.g.accepts[j] || hops == 1 {
			continue
		}
		s.path = append(s.path, j)
		if j == s.dst {
			return true
		}
		s.onPath[j] = true
		if s.walk(j, hops-1) {
			return true
		}
		s.onPath[j] = false
		s.path = s.path[:len(s.path)-1]
	}
	return false
}
