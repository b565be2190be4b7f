package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

const peerName = "1111111111111111111111111111111111111111111111111111111111111111"

// fakeNode implements every part of the spec but those in without.
type fakeNode struct{ without []Part }

func (f fakeNode) Implements(p Part) bool { return !slices.Contains(f.without, p) }

func (fakeNode) Info() NodeInfo { return NodeInfo{Name: "n", Implementation: "fake", Version: "1"} }
func (fakeNode) Counters() transport.Counters {
	return transport.Counters{Peers: map[string]transport.PeerCounts{peerName: {Sent: transport.TypeCounts{"PING": 2}}}}
}
func (fakeNode) Stableset() Stableset { return Stableset{ID: "ab"} }
func (fakeNode) Decisions() Decisions { return Decisions{Decisions: []Decision{}} }
func (fakeNode) Sections() Sections   { return Sections{Prefix: "", Sections: []Section{}} }
func (fakeNode) Leave() string        { return "leaving" }
func (fakeNode) Neighborhood() Neighborhood {
	return Neighborhood{Name: "n", Version: 3, Full: []string{peerName}, Half: []string{}, Records: []NodeRecord{}, Bans: []Ban{}}
}

// The fake's Debut knows three names: the node itself, a banned one and a reachable one.
var (
	selfName, _      = wire.ParseName(strings.Repeat("a", 64))
	bannedName, _    = wire.ParseName(strings.Repeat("b", 64))
	reachableName, _ = wire.ParseName(peerName)
)

func (fakeNode) Debut(_ context.Context, to wire.Name, addr netip.AddrPort) error {
	switch to {
	case selfName:
		return ErrSelf
	case bannedName:
		return fmt.Errorf("debut: %w", ErrBanned)
	case reachableName:
		return nil
	}
	return errors.New("cannot reach " + addr.String())
}

func (fakeNode) Route(to wire.Name) ([]wire.Name, error) {
	if to != reachableName {
		return nil, errors.New("gossip: no route of at least 3 hops: not known")
	}
	return []wire.Name{selfName, bannedName, selfName, to}, nil
}

func do(t *testing.T, method, target, body string) (*http.Response, []byte) {
	t.Helper()
	return doOn(t, fakeNode{}, method, target, body)
}

func doOn(t *testing.T, n Node, method, target, body string) (*http.Response, []byte) {
	t.Helper()
	srv := httptest.NewServer(Handler(n, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	req, _ := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestEndpointsAnswerJSON(t *testing.T) {
	for _, c := range []struct{ target, want string }{
		{"/healthz", `"status": "ok"`},
		{"/v1/node", `"implementation": "fake"`},
		{"/v1/stableset", `"id": "ab"`},
		{"/v1/counters", peerName},
		{"/v1/counters?peer=" + peerName, `"PING": 2`},
		{"/v1/neighborhood", `"full": [`},
		{"/v1/route?to=" + peerName, `"hops": 3`},
	} {
		resp, body := do(t, "GET", c.target, "")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), c.want) {
			t.Errorf("GET %s: %d %s %s", c.target, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

func TestBadRequestsGetJSONErrors(t *testing.T) {
	for _, c := range []struct {
		method, target string
		status         int
		code           string
	}{
		{"GET", "/v1/nothing", 404, "not_found"},
		{"POST", "/v1/node", 405, "method_not_allowed"},
		{"DELETE", "/healthz", 405, "method_not_allowed"},
		{"GET", "/v1/counters?peer=xyz", 400, "bad_request"},
		{"GET", "/v1/counters?colour=red", 400, "bad_request"},
		{"GET", "/v1/counters?peer=" + strings.Repeat("2", 64), 404, "not_found"},
		{"GET", "/v1/sections?x=1", 400, "bad_request"},
		{"POST", "/v1/sections", 405, "method_not_allowed"},
		{"GET", "/v1/neighborhood?x=1", 400, "bad_request"},
		{"POST", "/v1/neighborhood", 405, "method_not_allowed"},
		{"GET", "/v1/debut", 405, "method_not_allowed"},
		{"POST", "/v1/debut", 400, "bad_request"}, // {} names no peer
		{"GET", "/v1/route?to=x", 400, "bad_request"},
		{"GET", "/v1/route", 400, "bad_request"},
		{"GET", "/v1/route?to=" + peerName + "&hops=2", 400, "bad_request"},
		{"GET", "/v1/route?to=" + strings.Repeat("c", 64), 404, "no_route"},
	} {
		resp, body := do(t, c.method, c.target, "{}")
		var e Error
		if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != c.status || e.Code != c.code || e.Error == "" {
			t.Errorf("%s %s: status %d body %s, want %d %s", c.method, c.target, resp.StatusCode, body, c.status, c.code)
		}
		if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow header", c.method, c.target)
		}
	}
}

func TestDebutStatuses(t *testing.T) {
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"peer": "` + peerName + `@127.0.0.1:7001"}`, 202, ""},
		{`{"peer": "` + strings.Repeat("a", 64) + `@127.0.0.1:7001"}`, 400, "bad_request"},
		{`{"peer": "` + strings.Repeat("b", 64) + `@127.0.0.1:7001"}`, 409, "banned"},
		{`{"peer": "` + strings.Repeat("c", 64) + `@127.0.0.1:7001"}`, 502, "unreachable"},
		{`{"peer": "` + peerName + `@127.0.0.1:0"}`, 400, "bad_request"},
		{`{"peer": "` + peerName + `"}`, 400, "bad_request"},
		{`{"peer": "x@127.0.0.1:1", "extra": 1}`, 400, "bad_request"},
		{`not json`, 400, "bad_request"},
	} {
		resp, body := do(t, "POST", "/v1/debut", c.body)
		if resp.StatusCode != c.status {
			t.Errorf("POST /v1/debut %s: status %d %s, want %d", c.body, resp.StatusCode, body, c.status)
			continue
		}
		var e Error
		if c.code != "" && (json.Unmarshal(body, &e) != nil || e.Code != c.code) {
			t.Errorf("POST /v1/debut %s: body %s, want code %s", c.body, body, c.code)
		}
	}
}

// A part the node leaves out answers 501 not_implemented on every method of each of its
// endpoints, the right one and a wrong one alike (ADM-7), and changes nothing else.
func TestLeftOutPartsAnswerNotImplemented(t *testing.T) {
	endpoints := map[Part][]struct{ path, method, wrong string }{
		PartConsensus: {{"/v1/stableset", "GET", "POST"}, {"/v1/decisions", "GET", "DELETE"}, {"/v1/leave", "POST", "GET"}},
		PartGossip:    {{"/v1/neighborhood", "GET", "PUT"}, {"/v1/debut", "POST", "GET"}, {"/v1/route?to=" + peerName, "GET", "POST"}},
		PartSections:  {{"/v1/sections", "GET", "POST"}},
	}
	for part, eps := range endpoints {
		n := fakeNode{without: []Part{part}}
		for _, ep := range eps {
			for _, method := range []string{ep.method, ep.wrong} {
				resp, body := doOn(t, n, method, ep.path, `{"peer": "`+peerName+`@127.0.0.1:7001"}`)
				var e Error
				if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != 501 || e.Code != "not_implemented" ||
					!strings.Contains(e.Error, string(part)) || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("without %s, %s %s: status %d body %s, want 501 not_implemented", part, method, ep.path, resp.StatusCode, body)
				}
			}
		}
		// The other parts' endpoints and core's still answer as they say.
		for other, eps := range endpoints {
			if other == part {
				continue
			}
			if resp, body := doOn(t, n, eps[0].method, eps[0].path, `{"peer": "`+peerName+`@127.0.0.1:7001"}`); resp.StatusCode >= 300 {
				t.Errorf("without %s, %s %s: status %d %s", part, eps[0].method, eps[0].path, resp.StatusCode, body)
			}
		}
		for _, c := range []struct {
			method, target string
			status         int
		}{{"GET", "/healthz", 200}, {"GET", "/v1/node", 200}, {"GET", "/v1/counters", 200}, {"POST", "/v1/node", 405}, {"GET", "/v1/nothing", 404}} {
			if resp, body := doOn(t, n, c.method, c.target, ""); resp.StatusCode != c.status {
				t.Errorf("without %s, %s %s: status %d %s, want %d", part, c.method, c.target, resp.StatusCode, body, c.status)
			}
		}
	}
}
