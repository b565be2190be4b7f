package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stableset/sskit/harness/peer"
)

// Every scenario keeps a frame trace: what its scripted peers and listeners sent to and received
// from the nodes, one line each, written next to the node logs as frames.txt so that an
// implementer whose node failed can read what happened on the wire.

// traceFile is the name of the trace in a scenario's log directory.
const traceFile = "frames.txt"

// startTrace gives the scenario a new, empty trace whose times count from start, the scenario's.
func (w *world) startTrace(start time.Time) { w.trace = peer.NewTrace(start) }

// frameTrace is the scenario's trace; a world made outside a scenario (in tests) gets one on
// first use.
func (w *world) frameTrace() *peer.Trace {
	if w.trace == nil {
		w.trace = peer.NewTrace(time.Now())
	}
	return w.trace
}

// traceFor is the option that puts a scripted peer's connections, dialed or accepted, in the
// scenario's trace under label (the peer's name in the feature).
func (w *world) traceFor(label string) peer.Option { return peer.WithTrace(w.frameTrace(), label) }

// traceStep notes in the trace the step about to run, so that its frames read under it.
func (w *world) traceStep(text string) { w.frameTrace().Note(text) }

// writeTrace writes the scenario's trace to <logDir>/frames.txt and returns that path relative to
// the run directory, or "" when no scripted peer connected or tried to. It is the scenario's
// last use of the trace: call it once the peers are closed, so that their closes are in it.
func (w *world) writeTrace() (relPath string) {
	t := w.frameTrace()
	if t.Empty() || w.logDir == "" {
		return ""
	}
	path := filepath.Join(w.logDir, traceFile)
	if err := writeTraceFile(path, t); err != nil {
		w.run.mu.Lock() // Progress takes whole lines from one scenario at a time
		fmt.Fprintf(w.run.opts.Progress, "sskit conformance: frame trace not written: %v\n", err)
		w.run.mu.Unlock()
		return ""
	}
	rel, err := filepath.Rel(w.run.res.Dir, path)
	if err != nil {
		return path
	}
	return rel
}

func writeTraceFile(path string, t *peer.Trace) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, "# frames the scripted peers sent to (→ node) and received from (← node) the nodes, and their connections' events; ms since the scenario started")
	if err == nil {
		_, err = t.WriteTo(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
