package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// Steps of SPEC.md §2 about time: how long a node waits for a response (TRN-7) and how it tries
// a failed dial again (TRN-8).

type transportSteps struct {
	w        *world
	refusers map[string]*peer.Refuser // scripted peers whose address refuses every QUIC connection
	answered map[string]*peer.Conn    // the connection on which a peer answered the node's PING
}

func registerTransportSteps(sc *godog.ScenarioContext, w *world) {
	t := &transportSteps{w: w, refusers: map[string]*peer.Refuser{}, answered: map[string]*peer.Conn{}}
	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		for _, r := range t.refusers {
			_ = r.Close()
		}
		return ctx, nil
	})
	sc.Step(`^scripted peer "([^"]+)" has an address that answers every QUIC connection attempt with Version Negotiation$`, t.peerRefuses)
	sc.Step(`^the second node's first dial to peer "([^"]+)" makes at least (\d+) connection attempts, each a fresh connection (\d+) to (\d+) ms after the one before$`, t.dialAttempts)
	sc.Step(`^peer "([^"]+)" answers the first PING of the second node after (\d+(?:\.\d+)?) seconds$`, t.answerFirstPingAfter)
	sc.Step(`^the second node keeps peer "([^"]+)"'s connection open and answers its PING$`, t.keepsConnection)
	sc.Step(`^the second node has counted the PONG from peer "([^"]+)" and (\d+) unmatched responses?$`, t.countsUnmatched)
}

// --- TRN-8 ---------------------------------------------------------------------------------

// peerRefuses gives the peer an address at which a Refuser answers every connection attempt
// with a Version Negotiation packet that offers no version the node speaks: each dial fails
// within a round trip, for a reason other than a name mismatch, and every attempt is recorded.
func (t *transportSteps) peerRefuses(name string) error {
	if err := t.w.newCluster(); err != nil {
		return err
	}
	r, err := peer.Refuse(netip.AddrPortFrom(t.w.cluster.HostIP(), 0))
	if err != nil {
		return err
	}
	t.refusers[name] = r
	t.w.peer(name).reserved = r.Addr() // "a second node starts with bootstrap peer" gives this address
	return nil
}

// dialAttempts checks the attempts of the node's first dial: the first connection attempt to
// arrive opens the first dial, and each of the next n-1 must be a fresh connection (a new
// Destination Connection ID, RFC 9000 §7.2) that follows the one before by min to max ms.
// A dial ends within a round trip at a Refuser, so these gaps are the node's wait between
// attempts, which TRN-8 sets at 100 ms.
func (t *transportSteps) dialAttempts(name string, n, minMS, maxMS int) error {
	r := t.refusers[name]
	if r == nil {
		return fmt.Errorf("peer %q has no address that refuses connections", name)
	}
	ctx, cancel := stepContext()
	defer cancel()
	got, err := r.WaitAttempts(ctx, n)
	if err != nil {
		return fmt.Errorf("expected the second node to try its failed dial to peer %q again, %d attempts in all; %v:\n%s", name, n, err, describeAttempts(got))
	}
	lo, hi := time.Duration(minMS)*time.Millisecond, time.Duration(maxMS)*time.Millisecond
	for i := 1; i < n; i++ {
		if gap := got[i].At.Sub(got[i-1].At); gap < lo || gap > hi {
			return fmt.Errorf("expected attempt %d of the second node's first dial %v to %v after attempt %d, it came %v after it; attempts:\n%s",
				i+1, lo, hi, i, gap.Round(time.Millisecond), describeAttempts(got))
		}
	}
	return nil
}

// describeAttempts lists attempts with their time from the first, one a line.
func describeAttempts(as []peer.Attempt) string {
	if len(as) == 0 {
		return "  (no connection attempt arrived)"
	}
	var b strings.Builder
	for i, a := range as {
		fmt.Fprintf(&b, "  attempt %d at +%v: %v\n", i+1, a.At.Sub(as[0].At).Round(time.Millisecond), a)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// --- TRN-7 ---------------------------------------------------------------------------------

// answerFirstPingAfter answers the first PING the second node sends on its connection to the
// peer (its greeting, NC-8) with a PONG that the peer sends that long after the PING arrived.
func (t *transportSteps) answerFirstPingAfter(name, seconds string) error {
	secs, err := strconv.ParseFloat(seconds, 64)
	if err != nil {
		return err
	}
	delay := time.Duration(secs * float64(time.Second))
	c, err := t.w.accepted(name)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	f, err := c.WaitFrame(ctx, isPing)
	if err != nil {
		return fmt.Errorf("expected a PING from the second node: %v", err)
	}
	// The peer holds the answer back on purpose: this wait is the scripted behaviour, not a guess
	// at how long something takes.
	hold, release := context.WithDeadline(harness.Closing(), f.At.Add(delay))
	info, err := c.WaitClosed(hold)
	release()
	if err == nil {
		return fmt.Errorf("the second node closed the connection before peer %q answered its PING: %v", name, info)
	}
	t.answered[name] = c
	return c.Send(wire.TypePong, f.Header.ID, t.w.peer(name).id.StablesetID(), f.Body)
}

// keepsConnection checks that the connection on which the peer answered is still open and that
// the node still reads it: it answers a PING sent after the answer. A node reads a stream in
// order, so once that PONG is back the node has read the answer before it.
func (t *transportSteps) keepsConnection(name string) error {
	c := t.answered[name]
	if c == nil {
		return fmt.Errorf("peer %q has answered no PING", name)
	}
	if info := c.Closed(); info != nil {
		return fmt.Errorf("expected the second node to drop the PONG without error and keep the connection; it ended: %v", info)
	}
	ctx, cancel := stepContext()
	defer cancel()
	if _, err := c.Ping(ctx, []byte("still there?")); err != nil {
		if info := c.Closed(); info != nil {
			return fmt.Errorf("expected the second node to drop the PONG without error and keep the connection; it ended: %v", info)
		}
		return fmt.Errorf("expected the second node to answer a PING after the PONG: %v", err)
	}
	return nil
}

// settleFor is how long a counter must keep its value once it has it: counters may be updated a
// moment after the frame has been handled.
const settleFor = 500 * time.Millisecond

// countsUnmatched checks GET /v1/counters of the second node: the PONG from the peer has been
// received (ADM-4), and unmatched_responses, the responses that matched no request the node was
// waiting for (WIRE-11), is n and stays n.
func (t *transportSteps) countsUnmatched(name string, n int) error {
	key := t.w.peer(name).id.Name().String()
	check := func() error {
		c, err := t.w.countersOf(t.w.second)
		if err != nil {
			return err
		}
		if got := c.Peers[key].Received["PONG"]; got < 1 {
			return fmt.Errorf("expected the second node to count the PONG it received from peer %q, got received.PONG = %d", name, got)
		}
		if c.UnmatchedResponses != int64(n) {
			return fmt.Errorf("expected unmatched_responses = %d, got %d", n, c.UnmatchedResponses)
		}
		return nil
	}
	if err := await(check); err != nil {
		return err
	}
	return holdsFor(settleFor, 50*time.Millisecond, check)
}
