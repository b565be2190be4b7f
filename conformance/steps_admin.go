package conformance

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/refnode/wire"
)

// Steps that read and probe the node's admin API.

func (w *world) healthz() error {
	ctx, cancel := stepContext()
	defer cancel()
	status, body, err := w.node.Do(ctx, "GET", "/healthz", "")
	if err != nil {
		return err
	}
	var v struct{ Status string }
	if status != 200 || json.Unmarshal(body, &v) != nil || v.Status != "ok" {
		return fmt.Errorf(`expected 200 {"status": "ok"}, got %d %s`, status, body)
	}
	return nil
}

func (w *world) nodeInfo(spec string) error {
	info, err := w.info()
	if err != nil {
		return err
	}
	switch {
	case info.Name != w.node.Name.String():
		return fmt.Errorf("expected name %s, got %q", w.node.Name, info.Name)
	case info.Addr != w.node.QUIC().String():
		return fmt.Errorf("expected addr %s, got %q", w.node.QUIC(), info.Addr)
	case info.Implementation == "" || info.Version == "":
		return fmt.Errorf("expected implementation and version, got %q and %q", info.Implementation, info.Version)
	case info.SpecVersion != spec:
		return fmt.Errorf("expected spec_version %q, got %q", spec, info.SpecVersion)
	}
	return nil
}

func (w *world) stablesetAlone() error {
	var s struct {
		ID      string `json:"id"`
		Members []struct {
			Name, Addr string
			Ordinal    *uint64
		} `json:"members"`
		Elders  []string `json:"elders"`
		Joining []any    `json:"joining"`
		Leaving []any    `json:"leaving"`
	}
	ctx, cancel := stepContext()
	defer cancel()
	if err := w.admin(w.node.GetJSON(ctx, "/v1/stableset", &s)); err != nil {
		return err
	}
	me := w.node.Name.String()
	if len(s.Members) != 1 || s.Members[0].Name != me || s.Members[0].Addr != w.node.QUIC().String() || s.Members[0].Ordinal == nil || *s.Members[0].Ordinal != 0 {
		return fmt.Errorf("expected members [{%s %s ordinal 0}], got %+v", me, w.node.QUIC(), s.Members)
	}
	if len(s.Elders) != 1 || s.Elders[0] != me {
		return fmt.Errorf("expected elders [%s], got %v", me, s.Elders)
	}
	if s.Joining == nil || s.Leaving == nil || len(s.Joining)+len(s.Leaving) != 0 {
		return fmt.Errorf("expected empty joining and leaving lists, got %v and %v", s.Joining, s.Leaving)
	}
	return nil
}

// countersOf reads a node's counters; a 501 makes the scenario unsupported.
func (w *world) countersOf(n *harness.Node) (harness.Counters, error) {
	ctx, cancel := stepContext()
	defer cancel()
	c, err := n.Counters(ctx)
	return c, w.admin(err)
}

func (w *world) counters() (harness.Counters, error) { return w.countersOf(w.node) }

func (w *world) countersShowPing(pings int, name string, pongs int) error {
	return await(func() error {
		c, err := w.counters()
		if err != nil {
			return err
		}
		pc := c.Peers[w.peer(name).id.Name().String()]
		if pc.Received["PING"] != int64(pings) || pc.Sent["PONG"] != int64(pongs) {
			return fmt.Errorf("expected peer %s: received PING %d, sent PONG %d; got %d and %d", name, pings, pongs, pc.Received["PING"], pc.Sent["PONG"])
		}
		if c.Received["PING"] < int64(pings) || c.Sent["PONG"] < int64(pongs) {
			return fmt.Errorf("expected totals to include the peer's frames, got received %v sent %v", c.Received, c.Sent)
		}
		return nil
	})
}

func (w *world) countersListEveryType() error {
	c, err := w.counters()
	if err != nil {
		return err
	}
	for _, t := range wire.Types {
		if _, ok := c.Sent[t.String()]; !ok {
			return fmt.Errorf("expected %s in sent, got %v", t, c.Sent)
		}
		if _, ok := c.Received[t.String()]; !ok {
			return fmt.Errorf("expected %s in received, got %v", t, c.Received)
		}
	}
	return nil
}

func (w *world) peerCounters(name string) error {
	c, err := w.counters()
	if err != nil {
		return err
	}
	id := w.peer(name).id.Name().String()
	var pc harness.PeerCounts
	ctx, cancel := stepContext()
	defer cancel()
	if err := w.admin(w.node.GetJSON(ctx, "/v1/counters?peer="+id, &pc)); err != nil {
		return err
	}
	want := c.Peers[id]
	for _, t := range wire.Types {
		if pc.Sent[t.String()] != want.Sent[t.String()] || pc.Received[t.String()] != want.Received[t.String()] {
			return fmt.Errorf("expected ?peer= to match peers[%s] = %+v, got %+v", id, want, pc)
		}
	}
	return nil
}

// adminState is what ADM-6 keeps unchanged: identity, membership and counters.
func (w *world) adminState() (string, error) {
	ctx, cancel := stepContext()
	defer cancel()
	var parts []string
	for _, path := range []string{"/v1/node", "/v1/stableset", "/v1/counters"} {
		status, body, err := w.node.Do(ctx, "GET", path, "")
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %d %s", path, status, body))
	}
	return strings.Join(parts, "\n"), nil
}

func (w *world) sendAdmin(method, path string) error {
	var err error
	if w.stateBefore, err = w.adminState(); err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	w.status, w.body, err = w.node.Do(ctx, method, path, `{"probe": true}`)
	return err
}

func (w *world) answerIs(status int, code string) error {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if err := json.Unmarshal(w.body, &e); err != nil {
		return fmt.Errorf("expected a JSON error body, got %d %q", w.status, w.body)
	}
	if w.status != status || e.Code != code || e.Error == "" {
		return fmt.Errorf("expected %d with code %q and a message, got %d %s", status, code, w.status, w.body)
	}
	return nil
}

// answerIsSuccessOrNotImplemented: a node may leave a part of the spec out, but must say so with
// 501 so that the report can call its rules unsupported rather than failed (ADM-7, NC-5).
func (w *world) answerIsSuccessOrNotImplemented() error {
	if w.status >= 200 && w.status < 300 {
		return nil
	}
	if err := w.answerIs(501, "not_implemented"); err != nil {
		return fmt.Errorf("expected a 2xx answer or 501 not_implemented: %w", err)
	}
	return nil
}

func (w *world) stateUnchanged() error {
	after, err := w.adminState()
	if err != nil {
		return err
	}
	if after != w.stateBefore {
		return fmt.Errorf("expected no change, but the admin API now shows:\n%s\nwhere before it showed:\n%s", after, w.stateBefore)
	}
	return nil
}
