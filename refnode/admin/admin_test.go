package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stableset/sskit/refnode/transport"
)

const peerName = "1111111111111111111111111111111111111111111111111111111111111111"

type fakeNode struct{}

func (fakeNode) Info() NodeInfo { return NodeInfo{Name: "n", Implementation: "fake", Version: "1"} }
func (fakeNode) Counters() transport.Counters {
	return transport.Counters{Peers: map[string]transport.PeerCounts{peerName: {Sent: transport.TypeCounts{"PING": 2}}}}
}
func (fakeNode) Stableset() Stableset { return Stableset{ID: "ab"} }
func (fakeNode) Decisions() Decisions { return Decisions{Decisions: []Decision{}} }
func (fakeNode) Leave() string        { return "leaving" }

func do(t *testing.T, method, target, body string) (*http.Response, []byte) {
	t.Helper()
	srv := httptest.NewServer(Handler(fakeNode{}, slog.New(slog.DiscardHandler)))
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
		{"GET", "/v1/neighborhood", 501, "not_implemented"},
		{"POST", "/v1/debut", 501, "not_implemented"},
		{"GET", "/v1/route?to=x", 501, "not_implemented"},
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
