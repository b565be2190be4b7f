package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v21"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// stepTimeout bounds every wait on the node; a conforming node answers well within it.
const stepTimeout = 10 * time.Second

// world is one scenario's state. godog makes a new one for every scenario.
type world struct {
	run     *suiteRun
	logDir  string
	cluster *harness.Cluster
	node    *harness.Node // the node under test
	second  *harness.Node // a second node of the same implementation
	// strangers are the identities a scenario connected one after another (ADM-4's bound).
	strangers *strangers
	// flooder is the member that floods the node under test, and what the watchers saw.
	flooder *flooder
	peers   map[string]*scriptedPeer
	trace   *peer.Trace // every frame the scenario's scripted peers sent and received

	pingIDs      []uint64
	payload      []byte
	status       int
	body         []byte
	stateBefore  string
	startErr     error
	stopped      chan struct{}
	stopCode     int
	stopErr      error
	stopDuration time.Duration
	unsupported  string
	notRun       bool // the run was interrupted before the scenario started
	partLeftOut  bool // the scenario's part is one the node leaves out: it did not run

	gone         string   // name of a node that left or was killed
	leaverLog    ownLog   // the decision log of the node that left, read just before it left
	formerElders []string // elders before the eldest was killed
	split        partition
	reference    harness.Implementation // refnode, for the other nodes of a mixed cluster
	puppets      *stage                 // scripted members of the node's stableset (puppets.go)
	gossip       *gossipSteps           // the scripted peers' records, for the shared gossip checks
}

// scriptedPeer is a named peer with the connections it dialed and the ones nodes dialed to it.
type scriptedPeer struct {
	id       *peer.Identity
	reserved netip.AddrPort // where it will listen once told to; unset for a peer that listens at once
	dialed   []*peer.Conn
	dialErr  error
	listener *peer.Listener

	mu       sync.Mutex
	accepted []*peer.Conn
	arrived  chan struct{} // closed and replaced on every accepted connection
}

// afterLastStep names the checks every scenario gets once its last step passed, where a failed
// step's text would go.
const afterLastStep = "(after the last step) every GOSSIP the node sent keeps NB-4: no target gets its own record, and an address goes only where NB-4 lets it"

func (r *suiteRun) initScenario(sc *godog.ScenarioContext) {
	w := &world{run: r, peers: map[string]*scriptedPeer{}}
	var failedStep, failedErr string
	var failedStepErr error
	failedInSetup := false
	var started, stepStarted time.Time
	var steps []StepResult
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		started = time.Now()
		w.startTrace(started)
		if r.ctx.Err() != nil { // interrupted: start nothing more
			w.notRun = true
			return ctx, godog.ErrSkip
		}
		d, _ := r.lookup(s)
		if part := r.spec.ScenarioPart(d); r.leftOut[part] != "" {
			w.unsupported = fmt.Sprintf("the node leaves out %s (%s); not run", part, r.leftOut[part])
			w.partLeftOut = true
			return ctx, godog.ErrSkip
		}
		feature := strings.TrimSuffix(filepath.Base(d.File), ".feature")
		w.logDir = filepath.Join(r.res.Dir, "logs", safeName(fmt.Sprintf("%s-%02d-%s", feature, d.index+1, d.Name)))
		return ctx, nil
	})
	sc.StepContext().Before(func(ctx context.Context, st *godog.Step) (context.Context, error) {
		stepStarted = time.Now()
		w.traceStep(st.Text)
		return ctx, nil
	})
	sc.StepContext().After(func(ctx context.Context, st *godog.Step, status godog.StepResultStatus, err error) (context.Context, error) {
		if err != nil && failedStep == "" {
			failedStep, failedErr, failedStepErr = st.Text, err.Error(), err
			failedInSetup = st.Type == messages.PickleStepType_CONTEXT // a Given step, or an And after one
		}
		sr := StepResult{Text: st.Text, Status: status.String()}
		if status != godog.StepSkipped { // a skipped step's hooks run, but the step does not
			sr.Duration = time.Since(stepStarted)
		}
		if err != nil && status != godog.StepSkipped {
			sr.Error = err.Error()
		}
		steps = append(steps, sr)
		return ctx, nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		if err == nil && !w.notRun && w.unsupported == "" && r.ctx.Err() == nil {
			// Checks that hold for every scenario, judged once all its steps passed.
			if perr := w.gossip.gossipPrivacy(); perr != nil {
				err, failedStep, failedErr, failedStepErr = perr, afterLastStep, perr.Error(), perr
			}
		}
		w.close()
		d, idx := r.lookup(s)
		res := ScenarioResult{Name: d.Name, Variant: d.Variant, File: d.File, Line: d.Line, Feature: d.Feature,
			Rules: d.Rules, Tags: d.Tags, Level: d.Level, Started: started, Duration: time.Since(started),
			Steps: withKeywords(steps, d.Steps), index: idx}
		switch {
		case w.notRun || r.ctx.Err() != nil: // what an interrupt cut short says nothing of the node
			res.Status, res.Error = NotRun, "the run was interrupted"
		case w.unsupported != "":
			res.Status, res.Error = Unsupported, w.unsupported
		case err != nil:
			res.Status, res.FailedStep, res.Error = Failed, failedStep, failedErr
			if failedErr == "" {
				res.Error = err.Error()
			}
			if res.FailedInSetup = failedInSetup; !failedInSetup {
				res.Broke = brokenRules(failedStepErr, d.Rules)
			}
		default:
			res.Status = Passed
		}
		res.Logs = w.logs()
		res.Nodes = w.nodeEvidence()
		res.Trace = w.writeTrace() // after w.close, so that the closes are in it
		res.partLeftOut = w.partLeftOut
		r.record(res)
		return ctx, nil
	})
	w.register(sc)
}

// withKeywords gives recorded steps the keyword and line the feature file declares for them, and
// adds the declared steps that never ran as skipped (godog reports steps after a failure only
// once the scenario has been recorded).
func withKeywords(recorded []StepResult, declared []DeclaredStep) []StepResult {
	steps := append([]StepResult(nil), recorded...)
	for i := range steps {
		if i < len(declared) && declared[i].Text == steps[i].Text {
			steps[i].Keyword, steps[i].Line = declared[i].Keyword, declared[i].Line
		}
	}
	for i := len(steps); i < len(declared); i++ {
		steps = append(steps, StepResult{Keyword: declared[i].Keyword, Text: declared[i].Text, Line: declared[i].Line, Status: "skipped"})
	}
	return steps
}

func (w *world) register(sc *godog.ScenarioContext) {
	// Nodes and clusters.
	registerConsensusSteps(sc, w)
	registerGossipSteps(sc, w)
	registerSectionSteps(sc, w)
	registerTransportSteps(sc, w)
	registerStreamSteps(sc, w)
	registerRestartSteps(sc, w)
	registerPuppetSteps(sc, w)
	registerFloodSteps(sc, w)
	sc.Step(`^a node under test$`, w.aNodeUnderTest)
	sc.Step(`^a second node starts with bootstrap peer "([^"]+)" under another name$`, w.secondNodeBootstrapsToPeerUnderAnotherName)
	sc.Step(`^a second node starts with bootstrap peer "([^"]+)"$`, w.secondNodeBootstrapsToPeer)
	sc.Step(`^a second node starts with the node as bootstrap peer, its name in uppercase$`, w.secondNodeBootstrapsUppercase)
	sc.Step(`^a node is started with (\w+) set to "([^"]*)"$`, w.nodeStartedWithSetting)
	sc.Step(`^it exits with code (\d+) before it is ready$`, w.itExitsBeforeReady)
	sc.Step(`^the node became ready within (\d+) seconds$`, w.nodeReadyWithin)
	sc.Step(`^the node's log has at least one line from the node$`, w.nodeLogHasLines)
	sc.Step(`^the node is stopped with SIGTERM$`, w.nodeStoppedWithSIGTERM)
	sc.Step(`^the node exits with code (\d+) within (\d+) seconds$`, w.nodeExitsWithin)

	// Identity.
	sc.Step(`^the node reports the name its seed gives, as 64 lowercase hex characters$`, w.nodeReportsSeedName)
	sc.Step(`^the node reports the QUIC address it was given$`, w.nodeReportsAddress)
	sc.Step(`^peer "([^"]+)" was shown one self-signed ed25519 certificate holding the node's name$`, w.peerSawCertificate)
	sc.Step(`^peer "([^"]+)" negotiated ALPN "([^"]+)" with TLS 1\.3 over QUIC version 1$`, w.peerNegotiated)
	sc.Step(`^the second node counts a failed handshake$`, w.secondNodeCountsFailedHandshake)
	sc.Step(`^the second node counts (\d+) name mismatch(?:es)?$`, w.secondNodeCountsNameMismatches)
	sc.Step(`^the handshake of peer "([^"]+)" fails$`, w.handshakeFails)

	// Scripted peers.
	sc.Step(`^scripted peer "([^"]+)" connects to the node$`, w.peerConnects)
	sc.Step(`^scripted peer "([^"]+)" connects to the node again$`, w.peerConnects)
	sc.Step(`^scripted peer "([^"]+)" can connect to the node again$`, w.peerCanConnectAgain)
	sc.Step(`^scripted peer "([^"]+)" connects to the node with a certificate signed by another key$`, w.peerConnectsWithForeignSignature)
	sc.Step(`^scripted peer "([^"]+)" connects to the node offering ALPN "([^"]+)"$`, w.peerConnectsWithALPN)
	sc.Step(`^scripted peer "([^"]+)" listens for connections$`, w.peerListens)
	sc.Step(`^scripted peer "([^"]+)" has an address but does not listen yet$`, w.peerReservesAddress)
	sc.Step(`^scripted peer "([^"]+)" starts listening$`, w.peerStartsListening)
	sc.Step(`^the second node counts a failed attempt to reach its bootstrap peer$`, w.secondNodeCountsFailedHandshake)
	sc.Step(`^scripted peer "([^"]+)" connects to the node without keep-alives$`, w.peerConnectsWithoutKeepAlive)
	sc.Step(`^once the connection is quiet, peer "([^"]+)" receives a packet from the node within (\d+) seconds$`, w.peerReceivesKeepAlive)
	sc.Step(`^scripted peer "([^"]+)" with a name (lower|higher) than the second node's listens for connections$`, w.peerWithOrderedNameListens)
	sc.Step(`^peer "([^"]+)" connects to the second node$`, w.peerConnectsToSecond)
	sc.Step(`^peer "([^"]+)" has received no frame$`, w.peerReceivedNoFrame)
	sc.Step(`^peer "([^"]+)" cannot open a second stream$`, w.peerCannotOpenSecondStream)
	sc.Step(`^peer "([^"]+)" cannot open a stream towards the second node$`, w.peerCannotOpenStreamTowardsSecond)
	sc.Step(`^peer "([^"]+)" gets a PONG for a PING$`, w.peerGetsPong)
	sc.Step(`^peer "([^"]+)" receives a PING on the stream the second node opened$`, w.peerReceivesPingFromSecond)
	sc.Step(`^peer "([^"]+)" answers the PING of the second node with a WITNESS$`, w.peerAnswersPingWithWitness)
	sc.Step(`^peer "([^"]+)" answers the PING of the second node$`, w.peerAnswersPing)
	sc.Step(`^the node answers a PING from a new peer$`, w.nodeAnswersNewPeer)
	sc.Step(`^the node counts a PING from the second node$`, w.nodeCountsPingFromSecond)

	// Frames.
	sc.Step(`^peer "([^"]+)" sends a PING with id (\d+) and payload "([^"]*)"$`, w.peerSendsPing)
	sc.Step(`^peer "([^"]+)" receives a PONG with id (\d+) and payload "([^"]*)"$`, w.peerReceivesPong)
	sc.Step(`^peer "([^"]+)" sends (\d+) PINGs in one write$`, w.peerSendsPingsInOneWrite)
	sc.Step(`^peer "([^"]+)" receives (\d+) PONGs with their ids$`, w.peerReceivesPongs)
	sc.Step(`^peer "([^"]+)" sends a PING with a payload of (\d+) bytes and then ends its stream$`, w.peerSendsBigPingThenFIN)
	sc.Step(`^peer "([^"]+)" sends a PING with a payload of (\d+) bytes$`, w.peerSendsBigPing)
	sc.Step(`^peer "([^"]+)" receives a PONG with the same payload$`, w.peerReceivesSamePayload)
	sc.Step(`^peer "([^"]+)" sends a well-formed (WITNESS_REQUEST|STABLESET)$`, w.peerSendsWellFormed)
	sc.Step(`^peer "([^"]+)" sends a PONG with id (\d+) that answers nothing$`, w.peerSendsUnmatchedPong)
	sc.Step(`^peer "([^"]+)" closes its connection with code (0x[0-9a-fA-F]+)$`, w.peerClosesWithCode)
	sc.Step(`^peer "([^"]+)" sends ((?:a frame (?:whose|of) |half a frame |two bytes |a WITNESS_REQUEST (?:with|of|naming) |a STABLESET (?:whose|with|listing) ).+)$`, w.peerSendsBadFrame)
	sc.Step(`^peer "([^"]+)" has received nothing but PONGs$`, w.peerReceivedOnlyPongs)
	sc.Step(`^the node closes peer "([^"]+)"'s first connection with ([A-Z_]+)$`, w.nodeClosesFirstConnection)
	sc.Step(`^the node closes peer "([^"]+)"'s connection with ([A-Z_]+)$`, w.nodeClosesConnection)
	sc.Step(`^the node closes peer "([^"]+)"'s connection with ([A-Z_]+) (\d+) to (\d+) seconds after the frame began$`, w.nodeClosesConnectionWithin)
	sc.Step(`^peer "([^"]+)" stays quiet for (\d+) seconds and its connection stays open$`, w.peerStaysQuietAndOpen)
	sc.Step(`^the second node closes peer "([^"]+)"'s connection with ([A-Z_]+)$`, w.secondClosesAcceptedConnection)
	sc.Step(`^the second node closes the connection it dialed with ([A-Z_]+)$`, w.secondClosesItsOwnConnection)
	sc.Step(`^the second node closes the connection peer "([^"]+)" dialed with ([A-Z_]+)$`, w.nodeClosesConnection)
	sc.Step(`^the connection of peer "([^"]+)" ends with ([A-Z_]+)$`, w.connectionEndsWith)
	sc.Step(`^the node counts (\d+) connections? it closed with ([A-Z_]+)$`, w.nodeCountsClosed)
	sc.Step(`^the stableset field of every frame peer "([^"]+)" received is the id the node reports$`, w.stablesetFieldMatches)
	sc.Step(`^the node's stableset id is the SHA-256 of its members' names and ordinals, in name order$`, w.stablesetIDIsHash)
	sc.Step(`^the stableset field of every frame peer "([^"]+)" received is the SHA-256 of the node's own name and ordinal 0$`, w.stablesetFieldIsOwnHash)

	// Admin API.
	sc.Step(`^GET /healthz answers 200 with status "ok"$`, w.healthz)
	sc.Step(`^GET /v1/node answers with the node's name, address, implementation, version and the version of this spec$`, w.nodeInfo)
	sc.Step(`^GET /v1/stableset lists the node alone with ordinal 0, as its own elder, with nothing joining or leaving$`, w.stablesetAlone)
	sc.Step(`^the node's counters show (\d+) PING received from peer "([^"]+)" and (\d+) PONG sent to it$`, w.countersShowPing)
	sc.Step(`^(\d+) strangers each connect to the node, get a PONG for a PING and close, one after another$`, w.strangersComeAndGo)
	sc.Step(`^the node's counters list (\d+) peers and count (\d+) more forgotten peers$`, w.countersBounded)
	sc.Step(`^the first (\d+) strangers are not listed and the last (\d+) are$`, w.strangersForgottenFirst)
	sc.Step(`^the node's counters show every stranger's PING received$`, w.strangersPingsCounted)
	sc.Step(`^the node's counters list every message type$`, w.countersListEveryType)
	sc.Step(`^GET /v1/counters\?peer= for peer "([^"]+)" shows the same counts$`, w.peerCounters)
	sc.Step(`^I send (\w+) (\S+) to the admin API$`, w.sendAdmin)
	sc.Step(`^the answer is (\d+) with error code "([^"]+)"$`, w.answerIs)
	sc.Step(`^the answer is what the path's part says for the node's profile$`, w.answerIsWhatItsPartSays)
	sc.Step(`^the node's state is as it was before the request$`, w.stateUnchanged)
}

func stepContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(harness.Closing(), stepTimeout)
}

// --- nodes ---------------------------------------------------------------------------------

func (w *world) newCluster() error {
	if w.cluster != nil {
		return nil
	}
	ctx, cancel := stepContext()
	defer cancel()
	c, err := harness.NewCluster(ctx, harness.Options{
		Impl: w.run.opts.Impl, Backend: w.run.opts.Backend, Seed: w.run.opts.Seed, LogDir: w.logDir,
	})
	if err != nil {
		return err
	}
	w.cluster = c
	return nil
}

func (w *world) aNodeUnderTest() error {
	if err := w.newCluster(); err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	n, err := w.cluster.AddNode(ctx)
	w.node = n
	if err == nil {
		w.run.noteVersion(ctx, n)
	}
	return w.started(err)
}

// exitUnsupported is the exit code with which a node says it does not support what it was asked
// to do (SPEC.md NC-5; the convention of command-not-found).
const exitUnsupported = 127

// started turns a node that exited with 127 before it was ready into "unsupported".
func (w *world) started(err error) error {
	var se *harness.StartError
	if errors.As(err, &se) && se.Exited && se.ExitCode == exitUnsupported {
		w.unsupported = "the node exited with code 127 (unsupported)"
		return fmt.Errorf("%w: %v", godog.ErrSkip, err)
	}
	return err
}

func (w *world) startSecond(modify func(*harness.Settings)) error {
	ctx, cancel := stepContext()
	defer cancel()
	n, err := w.cluster.AddNodeWith(ctx, modify)
	w.second = n
	return w.started(err)
}

func (w *world) secondNodeBootstrapsToPeer(name string) error {
	p := w.peer(name)
	boot := p.id.Name().String() + "@" + p.reserved.String()
	if p.listener != nil {
		boot = p.listener.Bootstrap()
	} else if !p.reserved.IsValid() {
		return fmt.Errorf("peer %q neither listens nor has an address", name)
	}
	return w.startSecond(func(s *harness.Settings) { s.Bootstrap = []string{boot} })
}

func (w *world) secondNodeBootstrapsToPeerUnderAnotherName(name string) error {
	p, err := w.listening(name)
	if err != nil {
		return err
	}
	other := peer.RandomIdentity().Name()
	return w.startSecond(func(s *harness.Settings) { s.Bootstrap = []string{other.String() + "@" + p.listener.Addr().String()} })
}

func (w *world) secondNodeBootstrapsUppercase() error {
	boot := strings.ToUpper(w.node.Name.String()) + "@" + w.node.QUIC().String()
	return w.startSecond(func(s *harness.Settings) { s.Bootstrap = []string{boot} })
}

func (w *world) nodeStartedWithSetting(setting, value string) error {
	if err := w.newCluster(); err != nil {
		return err
	}
	ctx, cancel := stepContext()
	defer cancel()
	w.node, w.startErr = w.cluster.AddNodeWith(ctx, func(s *harness.Settings) {
		s.Raw = map[string]string{setting: value}
	})
	return nil
}

func (w *world) itExitsBeforeReady(code int) error {
	var se *harness.StartError
	if !errors.As(w.startErr, &se) {
		return fmt.Errorf("expected the node to exit with code %d before it was ready, but it started (err %v)", code, w.startErr)
	}
	if !se.Exited || se.ExitCode != code {
		return fmt.Errorf("expected exit code %d, got: %v", code, se)
	}
	return nil
}

func (w *world) nodeReadyWithin(seconds int) error {
	if w.node.ReadyIn > time.Duration(seconds)*time.Second {
		return fmt.Errorf("expected readiness within %ds, took %v", seconds, w.node.ReadyIn)
	}
	return nil
}

// nodeLogHasLines waits for a line the node wrote: containers' output reaches the file a little
// after the container writes it.
func (w *world) nodeLogHasLines() error {
	return await(func() error {
		b, err := os.ReadFile(w.node.LogPath)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "=== sskit:") {
				return nil
			}
		}
		return fmt.Errorf("expected the node to write its log to stdout or stderr; %s has no line from it", w.node.LogPath)
	})
}

func (w *world) nodeStoppedWithSIGTERM() error {
	w.stopped = make(chan struct{})
	go func() {
		defer close(w.stopped)
		ctx, cancel := stepContext()
		defer cancel()
		start := time.Now()
		w.stopCode, w.stopErr = w.cluster.Stop(ctx, w.node)
		w.stopDuration = time.Since(start)
	}()
	return nil
}

func (w *world) nodeExitsWithin(code, seconds int) error {
	<-w.stopped
	if w.stopErr != nil {
		return w.stopErr
	}
	if w.stopDuration > time.Duration(seconds)*time.Second {
		return fmt.Errorf("expected an exit within %ds of SIGTERM, took %v (the harness then killed it)", seconds, w.stopDuration)
	}
	if w.stopCode != code {
		return fmt.Errorf("expected exit code %d after SIGTERM, got %d", code, w.stopCode)
	}
	return nil
}

func (w *world) close() {
	if w.puppets != nil {
		w.puppets.close()
	}
	for _, p := range w.peers {
		for _, c := range p.dialed {
			_ = c.Close(wire.CodeNoError)
		}
		if p.listener != nil {
			_ = p.listener.Close()
		}
	}
	if w.cluster != nil {
		_ = w.cluster.Close()
	}
}

// nodeEvidence is how each node of the scenario was started.
func (w *world) nodeEvidence() []NodeEvidence {
	if w.cluster == nil {
		return nil
	}
	var out []NodeEvidence
	for _, n := range w.cluster.Nodes() {
		ev := NodeEvidence{Label: n.Label(), Name: n.Name.String(), Admin: n.AdminURL(""), Launch: n.Launch}
		if rel, err := filepath.Rel(w.run.res.Dir, n.LogPath); err == nil {
			ev.Log = rel
		}
		out = append(out, ev)
	}
	return out
}

// logs lists the scenario's node logs relative to the run directory.
func (w *world) logs() []string {
	if w.cluster == nil {
		return nil
	}
	var out []string
	for _, n := range w.cluster.Nodes() {
		if rel, err := filepath.Rel(w.run.res.Dir, n.LogPath); err == nil {
			out = append(out, rel)
		}
	}
	return out
}
