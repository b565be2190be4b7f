package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

func TestBadPartsExitWithUsageCode(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
	}{
		{args: []string{"--parts", "bogus"}},
		{args: []string{"--parts", "core,sections"}},
		{args: []string{"--parts", "sections,gossip"}},
		{args: []string{"--parts", ""}},
		{args: []string{"--parts", "core,"}},
		{env: "core,nothing"},
		{env: "sections"},
	} {
		var stderr bytes.Buffer
		getenv := func(k string) string { return map[string]string{"SSKIT_PARTS": c.env}[k] }
		if code := run(c.args, getenv, io.Discard, &stderr); code != exitUsage {
			t.Errorf("%v SSKIT_PARTS=%q: exit %d, want %d", c.args, c.env, code, exitUsage)
		}
		if !strings.HasPrefix(stderr.String(), "refnode: parts ") || strings.Count(stderr.String(), "\n") != 2 {
			t.Errorf("%v SSKIT_PARTS=%q: want one error line about the parts and a hint, got %q", c.args, c.env, stderr.String())
		}
	}
}

func TestPartsFromEnvironmentAndFlags(t *testing.T) {
	seed := map[string]string{"SSKIT_SEED": strings.Repeat("1", 64)}
	_, cfg, err := parse(nil, func(k string) string { return seed[k] }, io.Discard, io.Discard)
	if err != nil || cfg.Parts.String() != "core,consensus,gossip,sections" {
		t.Fatalf("default parts %q (%v), want all four", cfg.Parts, err)
	}
	env := map[string]string{"SSKIT_PARTS": "gossip", "SSKIT_SEED": strings.Repeat("1", 64)}
	if _, cfg, err = parse(nil, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil || cfg.Parts.String() != "core,gossip" {
		t.Fatalf("SSKIT_PARTS=gossip gave %q (%v)", cfg.Parts, err)
	}
	if _, cfg, err = parse([]string{"--parts", "sections,consensus"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil ||
		cfg.Parts.String() != "core,consensus,sections" {
		t.Fatalf("--parts sections,consensus over SSKIT_PARTS gave %q (%v)", cfg.Parts, err)
	}
}

// endpoint is one admin endpoint of a part: its method and a method it does not allow.
type endpoint struct{ path, method, wrong string }

var partEndpoints = map[string][]endpoint{
	"consensus": {{"/v1/stableset", "GET", "POST"}, {"/v1/decisions", "GET", "DELETE"}, {"/v1/leave", "POST", "GET"}},
	"gossip": {{"/v1/neighborhood", "GET", "POST"}, {"/v1/debut", "POST", "GET"},
		{"/v1/route?to=" + strings.Repeat("ab", 32), "GET", "POST"}},
	"sections": {{"/v1/sections", "GET", "POST"}},
}

// A node that leaves parts out answers 501 not_implemented on every method of their endpoints,
// and ignores their frames: no reply, the connection stays open, and the counters count them.
func TestLeftOutPartsAnswer501AndIgnoreTheirFrames(t *testing.T) {
	for _, c := range []struct {
		parts   string
		leftOut []string
	}{
		{"core", []string{"consensus", "gossip", "sections"}},
		{"core,consensus", []string{"gossip", "sections"}},
	} {
		t.Run(c.parts, func(t *testing.T) {
			p := startNode(t, "--parts", c.parts)
			for _, part := range c.leftOut {
				for _, ep := range partEndpoints[part] {
					for _, method := range []string{ep.method, ep.wrong} {
						status, e := adminCall(t, p, method, ep.path, `{"peer": "`+strings.Repeat("ab", 32)+`@127.0.0.1:9"}`)
						if status != http.StatusNotImplemented || e.Code != "not_implemented" || e.Error == "" {
							t.Errorf("%s %s: %d %+v, want 501 not_implemented", method, ep.path, status, e)
						}
					}
				}
			}
			consensus := strings.Contains(c.parts, "consensus")
			if consensus {
				// The part it keeps answers as that part says.
				if status, _ := adminCall(t, p, "GET", "/v1/stableset", ""); status != http.StatusOK {
					t.Errorf("GET /v1/stableset: %d, want 200", status)
				}
				if status, e := adminCall(t, p, "POST", "/v1/stableset", ""); status != http.StatusMethodNotAllowed {
					t.Errorf("POST /v1/stableset: %d %+v, want 405", status, e)
				}
			}
			checkIgnoresFrames(t, p, !consensus)
			p.stop(t)
		})
	}
}

// adminCall sends one request to the node's admin API and decodes the error body, if any.
func adminCall(t *testing.T, p *process, method, target, body string) (int, struct{ Error, Code string }) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.admin+target, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error, Code string }
	if resp.StatusCode >= 300 {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d without a JSON error body (%v)", method, target, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, e
}

// checkIgnoresFrames connects to the node as a peer, sends a well-formed frame of every type of
// the parts the node leaves out, and checks that none is answered and the connection stays open:
// a PING sent after them gets its PONG, and the WITNESS_REQUEST (with consensus left out) waits
// in vain until it times out. A node that took them up would answer the WITNESS_REQUEST, or ban
// the peer for the GOSSIP, which is not valid gossip, and close the connection.
func checkIgnoresFrames(t *testing.T, p *process, consensusLeftOut bool) {
	t.Helper()
	nodeName, err := wire.ParseName(p.name)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netip.ParseAddrPort(p.listen)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var fields []wire.StablesetID // the stableset field of every frame the node sent
	peer, err := transport.Listen(transport.Config{Identity: newIdentity(t), Listen: "127.0.0.1:0",
		Observe: func(_ *transport.Peer, h wire.Header) { mu.Lock(); fields = append(fields, h.Stableset); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := peer.Connect(ctx, nodeName, addr)
	if err != nil {
		t.Fatal(err)
	}

	self := wire.Member{Name: peer.Name(), Addr: peer.Addr()}
	sent := map[wire.Type]float64{wire.TypePing: 1}
	oneWay := []struct {
		typ  wire.Type
		body []byte
	}{
		{wire.TypeGossip, []byte("not gossip")},
		{wire.TypeGossipFailure, []byte{2}},
		{wire.TypeSectionList, (&wire.SectionList{Age: 1, Members: []wire.Member{self}}).Append(nil)},
		{wire.TypeElderLoss, (&wire.ElderLoss{Elders: []wire.Member{self}}).Append(nil)},
	}
	witnessed := make(chan error, 1)
	if consensusLeftOut {
		oneWay = append(oneWay, struct {
			typ  wire.Type
			body []byte
		}{wire.TypeStableset, wire.AppendStableset(nil, []wire.Member{self}, nil, nil)},
			struct {
				typ  wire.Type
				body []byte
			}{wire.TypeWitness, (&wire.Observation{Kind: wire.ChangeJoin, Member: self}).Append(nil)})
		// The peer asks to join itself, which a node with consensus answers (ST-5).
		go func() {
			_, err := conn.Request(ctx, wire.TypeWitnessRequest, (&wire.Observation{Kind: wire.ChangeJoin, Member: self}).Append(nil), nil)
			witnessed <- err
		}()
		sent[wire.TypeWitnessRequest] = 1
	}
	for _, f := range oneWay {
		if err := conn.Send(ctx, f.typ, f.body); err != nil {
			t.Fatalf("sending %v: %v", f.typ, err)
		}
		sent[f.typ]++
	}
	if pong, err := conn.Request(ctx, wire.TypePing, []byte("still there?"), nil); err != nil || string(pong) != "still there?" {
		t.Fatalf("PING after the frames of left-out parts: %q, %v; log:\n%s", pong, err, p.logText())
	}
	if consensusLeftOut {
		if err := <-witnessed; !errors.Is(err, transport.ErrTimeout) {
			t.Errorf("WITNESS_REQUEST to a node without consensus: %v, want no answer (a timeout)", err)
		}
	}
	select {
	case <-conn.Done():
		t.Fatalf("the node closed the connection: %v", conn.Err())
	default:
	}

	// The node counted every frame it received and sent nothing but the PONG. The node counts a
	// frame sent after writing it, so the PONG may arrive here first: the counts are awaited.
	var wrong []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		wrong = wrong[:0]
		c := p.counters(t)
		for _, typ := range wire.Types {
			if got := peerCount(c, peer.Name().String(), "received", typ.String()); got != sent[typ] {
				wrong = append(wrong, fmt.Sprintf("the node counts %v %s received, want %v", got, typ, sent[typ]))
			}
			want := 0.0
			if typ == wire.TypePong {
				want = 1
			}
			if got := peerCount(c, peer.Name().String(), "sent", typ.String()); got != want {
				wrong = append(wrong, fmt.Sprintf("the node counts %v %s sent, want %v", got, typ, want))
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, w := range wrong {
		t.Error(w)
	}
	// Its frames carry the id of a node alone: SHA-256 of its own name (WIRE-10).
	alone := wire.StablesetID(sha256.Sum256(append(nodeName[:], make([]byte, 8)...))) // itself at ordinal 0 (WIRE-10)
	mu.Lock()
	defer mu.Unlock()
	if len(fields) != 1 || fields[0] != alone {
		t.Errorf("the node's frames carried stableset fields %x, want one frame with %x", fields, alone)
	}
}

// A node without consensus greets its bootstrap peer with a PING and sends nothing else: there
// is nothing to join (NC-8).
func TestNodeWithoutConsensusOnlyPingsItsBootstrapPeer(t *testing.T) {
	var mu sync.Mutex
	got := map[wire.Type]int{}
	bob, err := transport.Listen(transport.Config{Identity: newIdentity(t), Listen: "127.0.0.1:0",
		Observe: func(_ *transport.Peer, h wire.Header) { mu.Lock(); got[h.Type]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	p := startNode(t, "--parts", "core,gossip", "--bootstrap", bob.Name().String()+"@"+bob.Addr().String())
	await(t, "the greeting answered", func() bool { return strings.Contains(p.logText(), "bootstrap peer answered") })
	p.stop(t) // its last frames are written before it exits
	mu.Lock()
	defer mu.Unlock()
	if got[wire.TypePing] != 1 || len(got) != 1 {
		t.Fatalf("bob received %v from a node without consensus, want one PING", got)
	}
}

func newIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
