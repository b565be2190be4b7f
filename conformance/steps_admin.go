package conformance

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

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

// nodeInfo checks GET /v1/node; the spec version it must report is that of the SPEC.md this run
// checks against (ADM-2).
func (w *world) nodeInfo() error {
	spec := w.run.res.SpecVersion
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

// sendAdmin sends METHOD PATH with a small JSON body and keeps the answer twice: in w.status and
// w.body, and whole (with what was sent and the Content-Type) in the scenario's context for the
// steps that judge it.
func (w *world) sendAdmin(ctx context.Context, method, path string) (context.Context, error) {
	var err error
	if w.stateBefore, err = w.adminState(); err != nil {
		return ctx, err
	}
	x, err := w.exchange(method, path, `{"probe": true}`)
	if err != nil {
		return ctx, err
	}
	w.status, w.body = x.status, x.body
	return context.WithValue(ctx, adminExchangeKey{}, x), nil
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

// answerIsWhatItsPartSays judges an answer by the part that owns the path (SPEC.md "Parts and
// profiles") and what the preflight learnt of the node's profile: a left-out part answers 501 to
// every method; an implemented part answers its own methods as its rules say (a success, or an
// error its rules define for the request sent) and other methods with 405 (ADM-5), never 501 on
// one endpoint while the part answers on another, and never 404.
func (w *world) answerIsWhatItsPartSays(ctx context.Context) error {
	x, ok := ctx.Value(adminExchangeKey{}).(adminExchange)
	if !ok {
		return errors.New(`no admin request to judge: the scenario must "send METHOD PATH to the admin API" first`)
	}
	path, _, _ := strings.Cut(x.path, "?")
	part, methods := w.run.spec.EndpointPart(path)
	if part == "" {
		return fmt.Errorf("SPEC.md's parts table names no part with the path %s", path)
	}
	if why, out := w.run.leftOut[part]; out {
		if err := x.isError(http.StatusNotImplemented, "not_implemented"); err != nil {
			return fmt.Errorf("the node leaves out %s (%s), so every method on %s answers 501 with code \"not_implemented\" (ADM-7): %w", part, why, path, err)
		}
		return nil
	}
	if x.status == http.StatusNotImplemented {
		probe, _ := w.run.spec.Part(part)
		return fmt.Errorf("the node implements %s (GET %s did not answer 501), so %s %s must answer as %s says, not 501 (ADM-7): %s", part, probe.Probe(), x.method, path, part, x)
	}
	if !slices.Contains(methods, x.method) {
		if err := x.isError(http.StatusMethodNotAllowed, "method_not_allowed"); err != nil {
			return fmt.Errorf("%s is not a method of %s, which %s implements (ADM-5): %w", x.method, path, part, err)
		}
		return nil
	}
	if defined, ok := definedErrors[x.method+" "+path]; ok && x.status == defined.status {
		// The probe body is not a request these endpoints can serve on a node alone: the error
		// their own rule defines for it is what the part says.
		return x.isError(defined.status, defined.code)
	}
	return x.isSuccess(w.node)
}

// definedErrors are the answers that the rules of an endpoint define for the requests the ADM-7
// scenario sends a fresh node: {"probe": true} is no Debut (ADM-10), and a route needs ?to=
// (ADM-11).
var definedErrors = map[string]struct {
	status int
	code   string
}{
	"POST /v1/debut": {http.StatusBadRequest, "bad_request"},
	"GET /v1/route":  {http.StatusBadRequest, "bad_request"},
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

// --- judging an admin answer by SPEC.md -----------------------------------------------------

// adminExchange is one request sent to the admin API and the answer it got.
type adminExchange struct {
	method, path string // as sent; path may hold a query
	status       int
	contentType  string
	body         []byte
}

// adminExchangeKey keeps the last adminExchange in a scenario's context.
type adminExchangeKey struct{}

// exchange sends one admin request with a JSON body and keeps the whole answer.
func (w *world) exchange(method, path, body string) (adminExchange, error) {
	x := adminExchange{method: method, path: path}
	ctx, cancel := stepContext()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, w.node.AdminURL(path), strings.NewReader(body))
	if err != nil {
		return x, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return x, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	x.status, x.contentType = resp.StatusCode, resp.Header.Get("Content-Type")
	if x.body, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20)); err != nil {
		return x, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return x, nil
}

// String says what was sent and what came back, the body cut at 200 bytes.
func (x adminExchange) String() string {
	body := x.body
	more := ""
	if len(body) > 200 {
		body, more = body[:200], fmt.Sprintf(" (first 200 of %d bytes)", len(x.body))
	}
	return fmt.Sprintf("%s %s answered %d with Content-Type %q and body %q%s", x.method, x.path, x.status, x.contentType, body, more)
}

// endpoint is the method and the path without its query, as SPEC.md names endpoints.
func (x adminExchange) endpoint() string {
	path, _, _ := strings.Cut(x.path, "?")
	return x.method + " " + path
}

// jsonBody checks that the answer is JSON as SPEC.md §7 says every body is (Content-Type
// application/json) and returns its value, numbers kept as written.
func (x adminExchange) jsonBody() (jsonValue, error) {
	if mt, _, err := mime.ParseMediaType(x.contentType); err != nil || mt != "application/json" {
		return jsonValue{}, errors.New(`expected Content-Type "application/json" (SPEC.md §7)`)
	}
	dec := json.NewDecoder(bytes.NewReader(x.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonValue{}, fmt.Errorf("expected a JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonValue{}, errors.New("expected one JSON value, but the body goes on after it")
	}
	return jsonValue{path: "$", v: v}, nil
}

// isError checks an error answer: the status, and the JSON body {"error": text, "code": word}
// of ADM-5 with the given code.
func (x adminExchange) isError(status int, code string) error {
	if x.status != status {
		return fmt.Errorf("expected status %d; %v", status, x)
	}
	body, err := x.jsonBody()
	if err != nil {
		return fmt.Errorf("%v; %v", err, x)
	}
	var c jsonCheck
	if c.object(body) {
		if c.str(body.get("error")) == "" {
			c.failf(body.get("error"), "expected a message saying what went wrong, got an empty one")
		}
		c.oneOf(body.get("code"), code)
	}
	if c.err != nil {
		return fmt.Errorf(`expected the error body {"error": text, "code": %q} (ADM-5): %v; %v`, code, c.err, x)
	}
	return nil
}

// isSuccess checks an answer against what SPEC.md says a success of its endpoint looks like.
func (x adminExchange) isSuccess(n *harness.Node) error {
	ep := x.endpoint()
	want, ok := adminSuccess[ep]
	if !ok {
		return fmt.Errorf("sskit does not know what SPEC.md calls a success of %s (add it to adminSuccess); %v", ep, x)
	}
	if x.status != want.status {
		never := ""
		if x.status == http.StatusNotFound {
			never = ", never 404"
		}
		return fmt.Errorf(`expected %d as %s says, or 501 with code "not_implemented" (ADM-7%s); %v`, want.status, want.rule, never, x)
	}
	body, err := x.jsonBody()
	if err != nil {
		return fmt.Errorf("%v; %v", err, x)
	}
	var c jsonCheck
	if c.object(body) {
		want.check(&c, n, body)
	}
	if c.err != nil {
		return fmt.Errorf("expected the body %s describes: %v; %v", want.rule, c.err, x)
	}
	return nil
}

// successShape is what SPEC.md says a success of one endpoint looks like: its status, and a check
// of the fields of its JSON object (the node is there for fields that SPEC.md ties to its name or
// settings).
type successShape struct {
	rule   string
	status int
	check  func(c *jsonCheck, n *harness.Node, body jsonValue)
}

// adminSuccess covers every endpoint that ADM-7 lets a node leave out.
var adminSuccess = map[string]successShape{
	"GET /v1/stableset":    {"ADM-3", http.StatusOK, checkStableset},
	"GET /v1/decisions":    {"ADM-8", http.StatusOK, checkDecisions},
	"POST /v1/leave":       {"ADM-8", http.StatusAccepted, checkLeave},
	"GET /v1/neighborhood": {"ADM-9", http.StatusOK, checkNeighborhood},
	"POST /v1/debut":       {"ADM-10", http.StatusAccepted, checkDebut},
	"GET /v1/route":        {"ADM-11", http.StatusOK, checkRoute},
	"GET /v1/sections":     {"SEC-7", http.StatusOK, checkSections},
}

// phases are a node's phases in its stableset (ADM-3, ST-5, ST-7).
var phases = []string{"joining", "member", "leaving", "left"}

// checkStableset: ADM-3.
func checkStableset(c *jsonCheck, _ *harness.Node, b jsonValue) {
	c.id(b.get("id"))
	c.oneOf(b.get("phase"), phases...)
	for _, m := range c.array(b.get("members")) {
		c.member(m)
	}
	c.names(b.get("elders"))
	for _, list := range []string{"joining", "leaving"} {
		for _, m := range c.array(b.get(list)) {
			if c.member(m) {
				c.names(m.get("witnesses"))
			}
		}
	}
}

// checkDecisions: ADM-8. SPEC.md names the fields but not the fields of a decision (ST-12 lists
// what one records) nor whether applied and anti_entropy_frames are counts or lists.
func checkDecisions(c *jsonCheck, _ *harness.Node, b jsonValue) {
	for _, d := range c.array(b.get("decisions")) {
		c.object(d)
	}
	c.countOrList(b.get("applied"))
	c.countOrList(b.get("anti_entropy_frames"))
}

// checkLeave: ADM-8.
func checkLeave(c *jsonCheck, _ *harness.Node, b jsonValue) {
	c.oneOf(b.get("phase"), phases...)
}

// checkNeighborhood: ADM-9, versions at least 1 (NB-2), times in RFC 3339.
func checkNeighborhood(c *jsonCheck, n *harness.Node, b jsonValue) {
	c.equal(b.get("name"), c.name(b.get("name")), n.Name.String())
	c.version(b.get("version"))
	if c.boolean(b.get("accepts")) {
		c.addr(b.get("addr"))
	}
	c.names(b.get("full"))
	c.names(b.get("half"))
	for _, r := range c.array(b.get("records")) {
		if !c.object(r) {
			continue
		}
		c.name(r.get("name"))
		c.version(r.get("version"))
		c.boolean(r.get("accepts"))
		c.names(r.get("neighbors"))
		if addr := r.get("addr"); !addr.absent() {
			c.addr(addr)
		}
	}
	for _, ban := range c.array(b.get("bans")) {
		if c.object(ban) {
			c.name(ban.get("name"))
			c.str(ban.get("reason"))
			c.time(ban.get("at"))
		}
	}
	c.names(b.get("pending_debuts"))
}

// checkDebut: ADM-10.
func checkDebut(c *jsonCheck, _ *harness.Node, b jsonValue) {
	c.name(b.get("debut"))
	c.addr(b.get("addr"))
}

// checkRoute: ADM-11; route holds the names from the node to `to`, both included, so it has one
// name more than the route has hops (a hop is a link, NB-13).
func checkRoute(c *jsonCheck, n *harness.Node, b jsonValue) {
	from := c.name(b.get("from"))
	c.equal(b.get("from"), from, n.Name.String())
	to := c.name(b.get("to"))
	hops := c.count(b.get("hops"))
	route := c.names(b.get("route"))
	if c.err == nil && (len(route) == 0 || uint64(len(route)-1) != hops || route[0] != from || route[len(route)-1] != to) {
		c.failf(b.get("route"), "expected the %d names of a %d-hop route from %s to %s, got %v", hops+1, hops, from, to, route)
	}
}

// checkSections: SEC-7, with SEC-1's prefix (the first section bits of the node's name, the same
// number of bits at every node) and the section bits the harness gave the node (node contract).
func checkSections(c *jsonCheck, n *harness.Node, b jsonValue) {
	bits := c.count(b.get("section_bits"))
	if c.err == nil && bits != uint64(n.Settings.SectionBits) {
		c.failf(b.get("section_bits"), "expected %d, the section bits the node was started with, got %d", n.Settings.SectionBits, bits)
	}
	own := c.prefix(b.get("prefix"), int(bits))
	c.equal(b.get("prefix"), own, namePrefix(n.Name, int(bits)))
	last := ""
	for i, s := range c.array(b.get("sections")) {
		if !c.object(s) {
			continue
		}
		p := c.prefix(s.get("prefix"), int(bits))
		switch {
		case c.err != nil:
		case p == own:
			c.failf(s.get("prefix"), "expected only other sections than the node's own (%q)", own)
		case i > 0 && p <= last:
			c.failf(s.get("prefix"), "expected the sections in prefix order, each once; %q comes after %q", p, last)
		}
		last = p
		c.id(s.get("stableset_id"))
		c.count(s.get("age"))
		for _, m := range c.array(s.get("members")) {
			c.member(m)
		}
		c.names(s.get("elders"))
		c.time(s.get("accepted"))
		c.names(s.get("senders"))
	}
}

// namePrefix is the first bits of name as binary digits (SEC-1).
func namePrefix(name wire.Name, bits int) string {
	var sb strings.Builder
	for i := 0; i < bits && i < 8; i++ {
		sb.WriteByte('0' + name[0]>>(7-i)&1)
	}
	return sb.String()
}

// jsonValue is a value of a decoded JSON body and where it sits in it, as $.members[0].name.
type jsonValue struct {
	path string
	v    any // as encoding/json decodes into any, with json.Number; jsonAbsent when missing
}

// jsonAbsent stands for a member an object does not have.
type jsonAbsent struct{}

// get is the member key of an object; absent when v is not an object or lacks it.
func (j jsonValue) get(key string) jsonValue {
	o, _ := j.v.(map[string]any)
	v, ok := o[key]
	if !ok {
		return jsonValue{path: j.path + "." + key, v: jsonAbsent{}}
	}
	return jsonValue{path: j.path + "." + key, v: v}
}

func (j jsonValue) absent() bool { _, ok := j.v.(jsonAbsent); return ok }

// kind names a JSON value's type for a failure message.
func (j jsonValue) kind() string {
	switch v := j.v.(type) {
	case jsonAbsent:
		return "nothing (the field is missing)"
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", j.v)
}

// jsonCheck checks JSON values against SPEC.md's words and keeps the first mismatch. Once one is
// found, later checks still return zero values but record nothing.
type jsonCheck struct{ err error }

func (c *jsonCheck) failf(at jsonValue, format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%s: %s", at.path, fmt.Sprintf(format, args...))
	}
}

func (c *jsonCheck) object(j jsonValue) bool {
	_, ok := j.v.(map[string]any)
	if !ok {
		c.failf(j, "expected an object, got %s", j.kind())
	}
	return ok
}

func (c *jsonCheck) array(j jsonValue) []jsonValue {
	a, ok := j.v.([]any)
	if !ok {
		c.failf(j, "expected an array, got %s", j.kind())
		return nil
	}
	out := make([]jsonValue, len(a))
	for i, v := range a {
		out[i] = jsonValue{path: fmt.Sprintf("%s[%d]", j.path, i), v: v}
	}
	return out
}

func (c *jsonCheck) str(j jsonValue) string {
	s, ok := j.v.(string)
	if !ok {
		c.failf(j, "expected a string, got %s", j.kind())
	}
	return s
}

func (c *jsonCheck) boolean(j jsonValue) bool {
	b, ok := j.v.(bool)
	if !ok {
		c.failf(j, "expected true or false, got %s", j.kind())
	}
	return b
}

// count is an unsigned integer, as every integer of the spec is.
func (c *jsonCheck) count(j jsonValue) uint64 {
	if num, ok := j.v.(json.Number); ok {
		if u, err := strconv.ParseUint(num.String(), 10, 64); err == nil {
			return u
		}
	}
	c.failf(j, "expected an unsigned integer, got %s", j.kind())
	return 0
}

// version is a record version, at least 1 (NB-2).
func (c *jsonCheck) version(j jsonValue) {
	if v := c.count(j); c.err == nil && v == 0 {
		c.failf(j, "expected a version of at least 1 (NB-2), got 0")
	}
}

// countOrList is a field SPEC.md describes as a number of things without saying whether it
// gives their count or lists them.
func (c *jsonCheck) countOrList(j jsonValue) {
	if _, ok := j.v.([]any); !ok {
		if _, ok := j.v.(json.Number); !ok {
			c.failf(j, "expected a count or a list, got %s", j.kind())
			return
		}
		c.count(j)
	}
}

func (c *jsonCheck) oneOf(j jsonValue, values ...string) string {
	s := c.str(j)
	if c.err == nil && !slices.Contains(values, s) {
		c.failf(j, "expected one of %q, got %q", values, s)
	}
	return s
}

func (c *jsonCheck) equal(j jsonValue, got, want string) {
	if c.err == nil && got != want {
		c.failf(j, "expected %q, got %q", want, got)
	}
}

// name is a node's name as ID-1 writes it in JSON: 64 lowercase hexadecimal characters.
func (c *jsonCheck) name(j jsonValue) string {
	s := c.str(j)
	if c.err == nil && !lowerHexName.MatchString(s) {
		c.failf(j, "expected a name, 64 lowercase hex characters (ID-1), got %q", s)
	}
	return s
}

func (c *jsonCheck) names(j jsonValue) []string {
	var out []string
	for _, e := range c.array(j) {
		out = append(out, c.name(e))
	}
	return out
}

// id is a stableset id in hex: SHA-256, 32 bytes (WIRE-10).
func (c *jsonCheck) id(j jsonValue) {
	s := c.str(j)
	if b, err := hex.DecodeString(s); c.err == nil && (err != nil || len(b) != 32) {
		c.failf(j, "expected the hex of a 32-byte stableset id (WIRE-10), got %q", s)
	}
}

// addr is an IP:PORT that can be dialed (MSG-2: a port that is not 0).
func (c *jsonCheck) addr(j jsonValue) {
	s := c.str(j)
	if ap, err := netip.ParseAddrPort(s); c.err == nil && (err != nil || ap.Port() == 0) {
		c.failf(j, "expected an address IP:PORT, got %q", s)
	}
}

func (c *jsonCheck) time(j jsonValue) {
	s := c.str(j)
	if _, err := time.Parse(time.RFC3339, s); c.err == nil && err != nil {
		c.failf(j, "expected an RFC 3339 time, got %q", s)
	}
}

// member is a Member of a stableset in JSON: name, addr and ordinal (ADM-3).
func (c *jsonCheck) member(j jsonValue) bool {
	if !c.object(j) {
		return false
	}
	c.name(j.get("name"))
	c.addr(j.get("addr"))
	c.count(j.get("ordinal"))
	return true
}

// prefix is a section prefix as binary digits, bits of them (SEC-7).
func (c *jsonCheck) prefix(j jsonValue, bits int) string {
	s := c.str(j)
	if c.err == nil && (len(s) != bits || strings.Trim(s, "01") != "") {
		c.failf(j, "expected a prefix of %d binary digits, got %q", bits, s)
	}
	return s
}
