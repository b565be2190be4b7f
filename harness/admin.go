package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

var adminClient = &http.Client{Timeout: 5 * time.Second}

// AdminURL is the full URL of path on the node's admin API.
func (n *Node) AdminURL(path string) string { return "http://" + n.Settings.Admin.String() + path }

// Do sends one admin request and returns the status and body.
func (n *Node) Do(ctx context.Context, method, path, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.AdminURL(path), r)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, err
}

// get fetches path and, on 200, decodes its JSON into v (when v is not nil).
func (n *Node) get(ctx context.Context, path string, v any) (int, error) {
	status, body, err := n.Do(ctx, http.MethodGet, path, "")
	if err != nil || status != http.StatusOK || v == nil {
		return status, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return status, fmt.Errorf("%s %s: bad JSON: %w", n.Label(), path, err)
	}
	return status, nil
}

// GetJSON fetches path and decodes it; any status but 200 is an error that carries the status.
func (n *Node) GetJSON(ctx context.Context, path string, v any) error {
	status, err := n.get(ctx, path, v)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return &StatusError{Node: n.Label(), Path: path, Status: status}
	}
	return nil
}

// StatusError is an admin answer other than 200; 501 means the node does not implement it.
type StatusError struct {
	Node, Method, Path string // Method "" is GET
	Status             int
}

func (e *StatusError) Error() string {
	method := e.Method
	if method == "" {
		method = http.MethodGet
	}
	return fmt.Sprintf("%s: %s %s answered %d", e.Node, method, e.Path, e.Status)
}

// Unsupported reports whether the node said it does not implement the endpoint (SPEC.md NC-5).
func (e *StatusError) Unsupported() bool { return e.Status == http.StatusNotImplemented }

// NodeInfo is GET /v1/node (SPEC.md ADM-2).
type NodeInfo struct {
	Name           string `json:"name"`
	Addr           string `json:"addr"`
	Implementation string `json:"implementation"`
	Version        string `json:"version"`
	SpecVersion    string `json:"spec_version"`
}

// Info reads GET /v1/node.
func (n *Node) Info(ctx context.Context) (NodeInfo, error) {
	var info NodeInfo
	return info, n.GetJSON(ctx, "/v1/node", &info)
}

// TypeCounts maps message type names to frame counts.
type TypeCounts map[string]int64

// PeerCounts is what a node exchanged with one peer.
type PeerCounts struct {
	Sent     TypeCounts `json:"sent"`
	Received TypeCounts `json:"received"`
}

// Counters is GET /v1/counters (SPEC.md ADM-4).
type Counters struct {
	Sent               TypeCounts            `json:"sent"`
	Received           TypeCounts            `json:"received"`
	Peers              map[string]PeerCounts `json:"peers"`
	HandshakeFailures  map[string]int64      `json:"handshake_failures"`
	ClosedByUs         map[string]int64      `json:"connections_closed_by_us"`
	ClosedByPeer       map[string]int64      `json:"connections_closed_by_peer"`
	UnmatchedResponses int64                 `json:"unmatched_responses"`
	// ForgottenPeers and DroppedSends are ADM-4's bounds (SPEC.md version 5): nil when the node
	// leaves them out.
	ForgottenPeers *int64 `json:"forgotten_peers"`
	DroppedSends   *int64 `json:"dropped_sends"`
}

// Counters reads GET /v1/counters.
func (n *Node) Counters(ctx context.Context) (Counters, error) {
	var c Counters
	return c, n.GetJSON(ctx, "/v1/counters", &c)
}

// Since returns what was counted after before was taken: c minus before, key by key. Message
// accounting in scenarios compares such differences ("this decision cost N messages").
func (c Counters) Since(before Counters) Counters {
	out := Counters{
		Sent: c.Sent.minus(before.Sent), Received: c.Received.minus(before.Received),
		Peers:              map[string]PeerCounts{},
		HandshakeFailures:  minusMap(c.HandshakeFailures, before.HandshakeFailures),
		ClosedByUs:         minusMap(c.ClosedByUs, before.ClosedByUs),
		ClosedByPeer:       minusMap(c.ClosedByPeer, before.ClosedByPeer),
		UnmatchedResponses: c.UnmatchedResponses - before.UnmatchedResponses,
	}
	for name, pc := range c.Peers {
		old := before.Peers[name]
		out.Peers[name] = PeerCounts{Sent: pc.Sent.minus(old.Sent), Received: pc.Received.minus(old.Received)}
	}
	return out
}

func (t TypeCounts) minus(o TypeCounts) TypeCounts { return TypeCounts(minusMap(t, o)) }

func minusMap(a, b map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range a {
		out[k] = v - b[k]
	}
	return out
}

// Total is the sum over every type.
func (t TypeCounts) Total() int64 {
	var sum int64
	for _, v := range t {
		sum += v
	}
	return sum
}
