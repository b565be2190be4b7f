// Package admin serves a node's HTTP admin API (SPEC.md ADM-*): readiness, identity, counters and
// membership as JSON. Every error is JSON with a 4xx or 5xx status, and no request that fails
// changes the node. The endpoints of a part of the spec the node leaves out answer 501
// not_implemented, as the node contract says (ADM-7).
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

// NodeInfo is the JSON of GET /v1/node.
type NodeInfo struct {
	Name           string `json:"name"`
	Addr           string `json:"addr"`
	Implementation string `json:"implementation"`
	Version        string `json:"version"`
	SpecVersion    string `json:"spec_version"`
	ElderSize      int    `json:"elder_size"`
}

// Member is one entry of GET /v1/stableset.
type Member struct {
	Name    string `json:"name"`
	Addr    string `json:"addr"`
	Ordinal uint64 `json:"ordinal"`
}

// Change is a pending join or leave with the names that witnessed it.
type Change struct {
	Member
	Witnesses []string `json:"witnesses"`
}

// Stableset is the JSON of GET /v1/stableset.
type Stableset struct {
	ID      string   `json:"id"`
	Phase   string   `json:"phase"` // joining, member, leaving or left
	Members []Member `json:"members"`
	Elders  []string `json:"elders"`
	Joining []Change `json:"joining"`
	Leaving []Change `json:"leaving"`
	// DroppedWitnesses counts witnesses not recorded because their sender was at its quota (ST-13).
	DroppedWitnesses uint64 `json:"dropped_witnesses"`
}

// Frames counts a decision's frames with one peer.
type Frames struct {
	Sent     int `json:"sent"`
	Received int `json:"received"`
}

// Decision is one entry of GET /v1/decisions (SPEC.md ST-12).
type Decision struct {
	Kind                string            `json:"kind"` // JOIN or LEAVE
	Member              Member            `json:"member"`
	Started             string            `json:"started"`           // RFC 3339, when this node first heard of it
	Applied             *string           `json:"applied"`           // RFC 3339, or null while pending
	LatencyMillis       *float64          `json:"latency_ms"`        // applied - started
	ElderFramesSent     int               `json:"elder_frames_sent"` // with elders, while an elder itself
	ElderFramesReceived int               `json:"elder_frames_received"`
	OtherFramesSent     int               `json:"other_frames_sent"`
	OtherFramesReceived int               `json:"other_frames_received"`
	Peers               map[string]Frames `json:"peers"`
}

// Decisions is the JSON of GET /v1/decisions.
type Decisions struct {
	Decisions []Decision `json:"decisions"`
	// Applied counts decisions applied here; AntiEntropy the STABLESET frames sent because a
	// peer's stableset id differed or its view lacked something.
	Applied     int `json:"applied"`
	AntiEntropy int `json:"anti_entropy_frames"`
}

// NodeRecord is a known node's gossip record in GET /v1/neighborhood.
type NodeRecord struct {
	Name      string   `json:"name"`
	Version   uint64   `json:"version"`
	Accepts   bool     `json:"accepts"`
	Addr      string   `json:"addr,omitempty"` // only when the node signed an address we hold
	Neighbors []string `json:"neighbors"`
}

// Ban is one malefactor ban in GET /v1/neighborhood.
type Ban struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	At     string `json:"at"` // RFC 3339
}

// Neighborhood is the JSON of GET /v1/neighborhood (SPEC.md ADM-9).
type Neighborhood struct {
	Name          string       `json:"name"`
	Version       uint64       `json:"version"` // of the node's own record
	Accepts       bool         `json:"accepts"`
	Addr          string       `json:"addr,omitempty"`
	Full          []string     `json:"full"` // listed by the own record and listing this node
	Half          []string     `json:"half"` // listed by the own record only
	Records       []NodeRecord `json:"records"`
	Bans          []Ban        `json:"bans"`
	PendingDebuts []string     `json:"pending_debuts"`
	// DroppedRecords counts relayed records the node did not store, at NB-15's bound.
	DroppedRecords uint64 `json:"dropped_records"`
	// Changed is when the node last changed its own record's version or a record it holds
	// (ADM-12), RFC 3339 with nanoseconds.
	Changed string `json:"changed"`
}

// Sections is the JSON of GET /v1/sections (SPEC.md SEC-7).
type Sections struct {
	SectionBits int       `json:"section_bits"`
	Prefix      string    `json:"prefix"` // binary digits, "" with section bits 0
	Sections    []Section `json:"sections"`
}

// Section is what a node holds about one other section: the top-20 list it accepted.
type Section struct {
	Prefix      string   `json:"prefix"`
	StablesetID string   `json:"stableset_id"`
	Age         uint64   `json:"age"`     // SPEC.md section 10: every change the section applies raises it
	Members     []Member `json:"members"` // up to 20, (ordinal, name) order
	Elders      []string `json:"elders"`
	Accepted    string   `json:"accepted"` // RFC 3339
	Senders     []string `json:"senders"`  // the elders whose lists made it accepted; none for a first contact
}

// Route is the JSON of GET /v1/route.
type Route struct {
	From  string   `json:"from"`
	To    string   `json:"to"`
	Hops  int      `json:"hops"`
	Route []string `json:"route"` // from and to included
}

// Errors a node's Debut and Route return, wrapped, for the API to choose the status.
var (
	ErrBanned = errors.New("the node is banned")
	ErrSelf   = errors.New("that is this node itself")
)

// Node is what the API reads from the node it serves.
type Node interface {
	Info() NodeInfo
	Counters() transport.Counters
	Stableset() Stableset
	Decisions() Decisions
	// Leave starts a graceful leave; it returns the phase the node is in afterwards.
	Leave() string
	// Neighborhood, Debut and Route are neighborhood gossip (SPEC.md §9). Debut fails with
	// ErrSelf or ErrBanned (wrapped) or because the peer cannot be reached; Route's error says
	// why there is no route.
	Neighborhood() Neighborhood
	Debut(ctx context.Context, to wire.Name, addr netip.AddrPort) error
	Route(to wire.Name) ([]wire.Name, error)
	// Sections is what the node knows of the other sections (SPEC.md §10).
	Sections() Sections
	// Implements says whether the node implements a part of the spec. The API calls no method
	// of a part the node leaves out.
	Implements(Part) bool
}

// Part is one of the spec's parts (SPEC.md "Parts and profiles"). Every endpoint belongs to one,
// and a node that leaves a part out answers 501 not_implemented on every method of that part's
// endpoints (ADM-7).
type Part string

// The spec's parts; core (§1–7) is what every node implements.
const (
	PartCore      Part = "core"
	PartConsensus Part = "consensus" // §8, ADM-3, ADM-8
	PartGossip    Part = "gossip"    // §9, ADM-9 to ADM-12
	PartSections  Part = "sections"  // §10; depends on consensus
)

// Error is the JSON body of every failed request.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"` // bad_request, not_found, method_not_allowed, not_implemented
}

// partOf is the part each endpoint belongs to (SPEC.md "Parts and profiles"); the others are core.
var partOf = map[string]Part{
	"/v1/stableset": PartConsensus, "/v1/decisions": PartConsensus, "/v1/leave": PartConsensus,
	"/v1/neighborhood": PartGossip, "/v1/debut": PartGossip, "/v1/route": PartGossip,
	"/v1/sections": PartSections,
}

// Handler returns the API's HTTP handler.
func Handler(n Node, log *slog.Logger) http.Handler {
	routes := map[string]map[string]http.HandlerFunc{
		"/healthz": {"GET": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		"/v1/node": {"GET": func(w http.ResponseWriter, r *http.Request) {
			info := n.Info()
			if mutant.Is("spec-version-1") {
				info.SpecVersion = "15"
			}
			writeJSON(w, http.StatusOK, info)
		}},
		"/v1/counters":  {"GET": func(w http.ResponseWriter, r *http.Request) { counters(w, r, n) }},
		"/v1/stableset": {"GET": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, n.Stableset()) }},
		"/v1/decisions": {"GET": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, n.Decisions()) }},
		"/v1/leave": {"POST": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusAccepted, map[string]string{"phase": n.Leave()})
		}},
		"/v1/neighborhood": {"GET": func(w http.ResponseWriter, r *http.Request) {
			if noQuery(w, r) {
				writeJSON(w, http.StatusOK, n.Neighborhood())
			}
		}},
		"/v1/debut": {"POST": func(w http.ResponseWriter, r *http.Request) { debut(w, r, n) }},
		"/v1/route": {"GET": func(w http.ResponseWriter, r *http.Request) { route(w, r, n) }},
		"/v1/sections": {"GET": func(w http.ResponseWriter, r *http.Request) {
			if mutant.Is("sections-404") {
				writeError(w, http.StatusNotFound, "not_found", "no endpoint "+r.URL.Path)
				return
			}
			if noQuery(w, r) {
				writeJSON(w, http.StatusOK, n.Sections())
			}
		}},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods, ok := routes[r.URL.Path]
		if !ok {
			status := http.StatusNotFound
			if mutant.Is("admin-errors-as-200") {
				status = http.StatusOK
			}
			writeError(w, status, "not_found", "no endpoint "+r.URL.Path)
			return
		}
		if part, ok := partOf[r.URL.Path]; ok && !n.Implements(part) {
			// Every method, a wrong one included: the whole endpoint is left out (ADM-7).
			writeError(w, http.StatusNotImplemented, "not_implemented",
				fmt.Sprintf("this node leaves out the %s part of the spec (%s)", part, r.URL.Path))
			return
		}
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = methods[http.MethodGet]
		}
		if !ok {
			allowed := make([]string, 0, len(methods))
			for m := range methods {
				allowed = append(allowed, m)
			}
			sort.Strings(allowed)
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		log.Debug("admin request", "method", r.Method, "path", r.URL.Path)
		h(w, r)
	})
}

// counters serves GET /v1/counters, or one peer's counters with ?peer=NAME.
func counters(w http.ResponseWriter, r *http.Request, n Node) {
	q := r.URL.Query()
	for k := range q {
		if k != "peer" {
			writeError(w, http.StatusBadRequest, "bad_request", "unknown query parameter "+k)
			return
		}
	}
	c := n.Counters()
	if !q.Has("peer") {
		writeJSON(w, http.StatusOK, c)
		return
	}
	name, err := wire.ParseName(q.Get("peer"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "peer: "+err.Error())
		return
	}
	pc, ok := c.Peers[name.String()]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no counters for peer "+name.String())
		return
	}
	writeJSON(w, http.StatusOK, pc)
}

// noQuery answers 400 to a request with query parameters where none are defined.
func noQuery(w http.ResponseWriter, r *http.Request) bool {
	for k := range r.URL.Query() {
		writeError(w, http.StatusBadRequest, "bad_request", "unknown query parameter "+k)
		return false
	}
	return true
}

// debutRequest is the body of POST /v1/debut.
type debutRequest struct {
	Peer string `json:"peer"` // NAME@IP:PORT
}

// debut serves POST /v1/debut: 202 once the Debut is on its way, 400 for a body that names no
// peer or names the node itself, 409 for a banned name, 502 for a peer that cannot be reached.
func debut(w http.ResponseWriter, r *http.Request, n Node) {
	if !noQuery(w, r) {
		return
	}
	var req debutRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `body must be {"peer": "NAME@IP:PORT"}: `+err.Error())
		return
	}
	name, addr, err := parsePeer(req.Peer)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "peer: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	switch err := n.Debut(ctx, name, addr); {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"debut": name.String(), "addr": addr.String()})
	case errors.Is(err, ErrSelf):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, ErrBanned):
		writeError(w, http.StatusConflict, "banned", name.String()+" is banned: this node does not connect to it")
	default:
		writeError(w, http.StatusBadGateway, "unreachable", err.Error())
	}
}

// parsePeer reads NAME@IP:PORT.
func parsePeer(s string) (wire.Name, netip.AddrPort, error) {
	nameText, addrText, ok := strings.Cut(s, "@")
	if !ok {
		return wire.Name{}, netip.AddrPort{}, fmt.Errorf("%q: want NAME@IP:PORT", s)
	}
	name, err := wire.ParseName(nameText)
	if err != nil {
		return name, netip.AddrPort{}, fmt.Errorf("%q: %w", s, err)
	}
	addr, err := netip.ParseAddrPort(addrText)
	if err != nil || addr.Port() == 0 {
		return name, addr, fmt.Errorf("%q: the address must be IP:PORT with a non-zero port", s)
	}
	return name, addr, nil
}

// route serves GET /v1/route?to=NAME: 200 with the route, 404 no_route with the reason when
// there is none, 400 without a valid to.
func route(w http.ResponseWriter, r *http.Request, n Node) {
	q := r.URL.Query()
	for k := range q {
		if k != "to" {
			writeError(w, http.StatusBadRequest, "bad_request", "unknown query parameter "+k)
			return
		}
	}
	to, err := wire.ParseName(q.Get("to"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "to: "+err.Error())
		return
	}
	hops, err := n.Route(to)
	if err != nil {
		writeError(w, http.StatusNotFound, "no_route", err.Error())
		return
	}
	out := Route{From: hops[0].String(), To: to.String(), Hops: len(hops) - 1, Route: make([]string, len(hops))}
	for i, h := range hops {
		out.Route[i] = h.String()
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, Error{Error: msg, Code: code})
}
