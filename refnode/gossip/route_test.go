package gossip

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stableset/sskit/refnode/wire"
)

// fullLinks turns undirected edges into the lists of each node (both ends list each other).
func fullLinks(edges ...[2]int) map[int][]int {
	lists := map[int][]int{}
	for _, e := range edges {
		lists[e[0]] = append(lists[e[0]], e[1])
		lists[e[1]] = append(lists[e[1]], e[0])
	}
	return lists
}

// graphView builds the database of peer 0 knowing the records of peers 1..n-1, where lists[i]
// are the peers i lists; the peers in nonAccepting accept no connections.
func graphView(t testing.TB, n int, lists map[int][]int, nonAccepting ...int) (*DB, []peer) {
	t.Helper()
	ps := peers(0, n)
	cfg := Config{Key: ps[0].key, Addr: ps[0].addr, MaxDegree: 255}
	if slices.Contains(nonAccepting, 0) {
		cfg.Addr = netipZero
	}
	db, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, me: ps[0], db: db}
	for i := 1; i < n; i++ {
		var ns []wire.Name
		for _, j := range lists[i] {
			ns = append(ns, ps[j].name)
		}
		f.store(ps[i].sign(t, rec{accepts: !slices.Contains(nonAccepting, i), neighbors: ns}))
	}
	for _, j := range lists[0] {
		db.addNeighbor(ps[j].name)
	}
	return db, ps
}

func indexes(t *testing.T, ps []peer, route []wire.Name) []int {
	t.Helper()
	var out []int
	for _, n := range route {
		i := slices.IndexFunc(ps, func(p peer) bool { return p.name == n })
		if i < 0 {
			t.Fatalf("route names an unknown node")
		}
		out = append(out, i)
	}
	return out
}

func wantRoute(t *testing.T, db *DB, ps []peer, from, to, minHops int, want ...int) {
	t.Helper()
	route, err := db.Route(ps[from].name, ps[to].name, minHops)
	if err != nil {
		t.Fatalf("Route(%d, %d, %d): %v", from, to, minHops, err)
	}
	if got := indexes(t, ps, route); !slices.Equal(got, want) {
		t.Fatalf("Route(%d, %d, %d) = %v, want %v", from, to, minHops, got, want)
	}
}

func wantNoRoute(t *testing.T, db *DB, ps []peer, from, to, minHops int, why string) {
	t.Helper()
	route, err := db.Route(ps[from].name, ps[to].name, minHops)
	if err == nil {
		t.Fatalf("Route(%d, %d, %d) = %v, want none", from, to, minHops, indexes(t, ps, route))
	}
	if !errors.Is(err, ErrNoRoute) || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), ps[to].name.String()) {
		t.Fatalf("Route(%d, %d, %d) error %q does not say %q and name the exit", from, to, minHops, err, why)
	}
}

// Rulebook 88 (routes_can_be_calculated_for_different_hops): the shortest route of at least
// minHops hops; 0 means 3.
func TestRoutesForDifferentHops(t *testing.T) {
	db, ps := graphView(t, 7, fullLinks([2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{3, 4}, [2]int{4, 5}, [2]int{5, 6}))
	wantRoute(t, db, ps, 0, 1, 1, 0, 1)
	wantRoute(t, db, ps, 0, 2, 2, 0, 1, 2)
	wantRoute(t, db, ps, 0, 3, 0, 0, 1, 2, 3)
	wantRoute(t, db, ps, 0, 6, 3, 0, 1, 2, 3, 4, 5, 6)
	wantRoute(t, db, ps, 6, 2, 3, 6, 5, 4, 3, 2) // from another node's point of view
	wantNoRoute(t, db, ps, 0, 3, 4, "every path is shorter")
}

// Rulebook 88 (route_query_responds_with_none_when_asked_for_route_with_too_many_hops): too few
// nodes means no route.
func TestTooFewNodesGiveNoRoute(t *testing.T) {
	db, ps := graphView(t, 3, fullLinks([2]int{0, 1}, [2]int{1, 2}))
	wantNoRoute(t, db, ps, 0, 2, 3, "at least 3 hops")
	if _, err := db.Route(ps[0].name, ps[2].name, MaxHops+1); err == nil {
		t.Fatal("a minimum above MaxHops was accepted")
	}
	wantNoRoute(t, db, ps, 0, 0, 1, "same node")
	if _, err := db.Route(ps[0].name, newPeer(99).name, 3); !errors.Is(err, ErrNoRoute) {
		t.Fatal("a route to an unknown node")
	}
}

// Rulebook 83: a half link carries no data.
func TestRouteUsesOnlyFullNeighborLinks(t *testing.T) {
	lists := fullLinks([2]int{0, 1}, [2]int{2, 3})
	lists[1] = append(lists[1], 2) // 1 lists 2, 2 does not list 1
	db, ps := graphView(t, 4, lists)
	wantNoRoute(t, db, ps, 0, 3, 3, "no path")
	lists[2] = append(lists[2], 1)
	db, ps = graphView(t, 4, lists)
	wantRoute(t, db, ps, 0, 3, 3, 0, 1, 2, 3)
}

// Rulebook 89 (complete_routes_exercise): no node twice, so a too-short neighborhood needs a
// real detour, not a loop.
func TestRouteRepeatsNoNode(t *testing.T) {
	// 0-1-2 and 0-3-2 are 2 hops; the only 3-hop route is the detour 0-1-4-2.
	db, ps := graphView(t, 5, fullLinks([2]int{0, 1}, [2]int{1, 2}, [2]int{0, 3}, [2]int{3, 2}, [2]int{1, 4}, [2]int{4, 2}))
	wantRoute(t, db, ps, 0, 2, 3, 0, 1, 4, 2)
	// Without the detour, walking 0-1-0-3-2 would be 4 hops, but repeats 0.
	db, ps = graphView(t, 4, fullLinks([2]int{0, 1}, [2]int{1, 2}, [2]int{0, 3}, [2]int{3, 2}))
	wantNoRoute(t, db, ps, 0, 2, 3, "every path is shorter")
}

// Rulebook 89 (cant_route_through_non_routing_node): a node that accepts no connections is
// originate-only: it neither relays nor exits, though it may originate.
func TestRouteNeitherRelaysNorExitsThroughNonAcceptingNodes(t *testing.T) {
	chain := fullLinks([2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{3, 4})
	db, ps := graphView(t, 5, chain, 2)
	wantNoRoute(t, db, ps, 0, 4, 3, "no path")
	db, ps = graphView(t, 5, chain, 4)
	wantNoRoute(t, db, ps, 0, 4, 3, "does not accept connections")
	db, ps = graphView(t, 5, chain, 0)
	wantRoute(t, db, ps, 0, 3, 3, 0, 1, 2, 3)
}

// Rulebook 90 (make_round_trip_route_returns_error_when_no_non_next_door_neighbor_found,
// make_round_trip_succeeds_when_it_finds_non_next_door_neighbor_exit_node): the exit of a route
// longer than one hop must not list the originator.
func TestRouteExitMustNotBeTheOriginatorsNeighbor(t *testing.T) {
	db, ps := graphView(t, 3, fullLinks([2]int{0, 1}, [2]int{1, 2}, [2]int{2, 0}))
	wantNoRoute(t, db, ps, 0, 2, 2, "lists the originator")
	db, ps = graphView(t, 4, fullLinks([2]int{0, 1}, [2]int{1, 2}, [2]int{2, 0}, [2]int{2, 3}))
	wantRoute(t, db, ps, 0, 3, 2, 0, 2, 3)
}

// Rulebook 82: a banned node is on no route.
func TestRouteAvoidsBannedNodes(t *testing.T) {
	db, ps := graphView(t, 6, fullLinks([2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{0, 4}, [2]int{4, 5}, [2]int{5, 3}))
	first, err := db.Route(ps[0].name, ps[3].name, 3)
	if err != nil {
		t.Fatal(err)
	}
	db.Ban(first[1], nil, t0)
	second, err := db.Route(ps[0].name, ps[3].name, 3)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(second, first[1]) || len(second) != 4 {
		t.Fatalf("route %v goes through the banned node", indexes(t, ps, second))
	}
	db.Ban(ps[3].name, nil, t0)
	wantNoRoute(t, db, ps, 0, 3, 3, "banned")
}
