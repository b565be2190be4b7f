package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/cucumber/godog"

	"github.com/stableset/sskit/harness"
)

// Steps about a peer that restarts: it vanishes as a killed process does, leaving the node a
// connection with nobody behind it, and comes back with the same key (TRN-3).

type restartSteps struct {
	w    *world
	back map[string]time.Time // when the new instance of a peer completed its handshake
}

func registerRestartSteps(sc *godog.ScenarioContext, w *world) {
	r := &restartSteps{w: w, back: map[string]time.Time{}}
	sc.Step(`^peer "([^"]+)" vanishes without closing its connection$`, r.vanishes)
	sc.Step(`^a new instance of peer "([^"]+)", with the same key, connects to the second node$`, r.comesBack)
	sc.Step(`^within (\d+) seconds? of that handshake, the second node answers a PING on the connection of peer "([^"]+)"'s new instance and keeps it open$`, r.keepsNewInstance)
}

// vanishes kills the peer's listener as kill -9 would: its socket is gone before anything is
// sent, so the connection the second node dialed to it stays open at the node's end, with no
// CONNECTION_CLOSE, until an idle timeout (10 s, TRN-6) or a probe (TRN-3) ends it.
func (r *restartSteps) vanishes(name string) error {
	p, err := r.w.listening(name)
	if err != nil {
		return err
	}
	p.mu.Lock()
	n := len(p.accepted)
	p.mu.Unlock()
	if n == 0 {
		return fmt.Errorf("peer %q has no connection from the node to leave behind", name)
	}
	return p.listener.Vanish()
}

// comesBack dials the second node with the peer's key from a new socket: to the node, a new
// instance of the same peer whose connection was dialed by the other end than the old one.
func (r *restartSteps) comesBack(name string) error {
	if err := r.w.peerConnectsToSecond(name); err != nil {
		return fmt.Errorf("expected the second node to accept the new instance of peer %q: %v", name, err)
	}
	r.back[name] = time.Now()
	return nil
}

// keepsNewInstance checks that the second node takes the new instance's connection within the
// bound, counted from its handshake: it answers a PING sent on it (so it reads the connection,
// having kept it) and has not closed it. A node that keeps the dead connection instead closes
// the new one with DUPLICATE_CONNECTION, or leaves it unread, until the dead one's idle timeout.
func (r *restartSteps) keepsNewInstance(seconds int, name string) error {
	at, ok := r.back[name]
	if !ok {
		return fmt.Errorf("no new instance of peer %q has connected", name)
	}
	c, err := r.w.conn(name)
	if err != nil {
		return err
	}
	bound := time.Duration(seconds) * time.Second
	ctx, cancel := context.WithDeadline(harness.Closing(), at.Add(bound))
	defer cancel()
	if _, err := c.Ping(ctx, []byte("a new instance")); err != nil {
		if info := c.Closed(); info != nil {
			return fmt.Errorf("expected the second node to keep the new instance's connection and close the one left over from the vanished instance; it closed the new one: %v", info)
		}
		return fmt.Errorf("expected the second node to answer a PING on the new instance's connection within %v of its handshake: %v", bound, err)
	}
	if info := c.Closed(); info != nil {
		return fmt.Errorf("expected the second node to keep the new instance's connection open; it ended: %v", info)
	}
	return nil
}
