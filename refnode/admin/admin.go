// Package admin serves a node's HTTP admin API (SPEC.md ADM-*): readiness, identity, counters and
// membership as JSON. Every error is JSON with a 4xx or 5xx status, and no request that fails
// changes the node. Endpoints the node does not implement yet answer 501, as the node contract says.
package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"

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

// Node is what the API reads from the node it serves.
type Node interface {
	Info() NodeInfo
	Counters() transport.Counters
	Stableset() Stableset
	Decisions() Decisions
	// Leave starts a graceful leave; it returns the phase the node is in afterwards.
	Leave() string
}

// Error is the JSON body of every failed request.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"` // bad_request, not_found, method_not_allowed, not_implemented
}

// Endpoints that later parts of the spec define; a node without them answers 501 (ADM-3).
var notImplemented = map[string]string{
	"/v1/neighborhood": "GET",
	"/v1/debut":        "POST",
	"/v1/route":        "GET",
	"/v1/sections":     "GET",
}

// Handler returns the API's HTTP handler.
func Handler(n Node, log *slog.Logger) http.Handler {
	routes := map[string]map[string]http.HandlerFunc{
		"/healthz": {"GET": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		}},
		"/v1/node": {"GET": func(w http.ResponseWriter, r *http.Request) {
			info := n.Info()
			if mutant.Is("spec-version-0") {
				info.SpecVersion = "0"
			}
			writeJSON(w, http.StatusOK, info)
		}},
		"/v1/counters":  {"GET": func(w http.ResponseWriter, r *http.Request) { counters(w, r, n) }},
		"/v1/stableset": {"GET": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, n.Stableset()) }},
		"/v1/decisions": {"GET": func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, n.Decisions()) }},
		"/v1/leave": {"POST": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusAccepted, map[string]string{"phase": n.Leave()})
		}},
	}
	for path, method := range notImplemented {
		if mutant.Is("neighborhood-404") && path == "/v1/neighborhood" {
			continue
		}
		routes[path] = map[string]http.HandlerFunc{method: func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotImplemented, "not_implemented", r.URL.Path+" is not implemented by this node")
		}}
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
