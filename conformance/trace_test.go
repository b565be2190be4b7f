package conformance

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// A scenario whose peers did nothing leaves no frames.txt; one whose peers talked leaves it in
// its log directory, named relative to the run directory, with every connection of every peer.
func TestWriteTraceWritesTheScenarioFramesNextToItsLogs(t *testing.T) {
	run := &suiteRun{res: &Result{Dir: t.TempDir()}}
	quiet := &world{run: run, logDir: filepath.Join(run.res.Dir, "logs", "quiet")}
	quiet.startTrace(time.Now())
	quiet.traceStep("Given nothing happens")
	if rel := quiet.writeTrace(); rel != "" {
		t.Fatalf("a scenario without peers wrote a trace %q", rel)
	}
	if _, err := os.Stat(quiet.logDir); !os.IsNotExist(err) {
		t.Fatalf("a scenario without peers made its log directory: %v", err)
	}

	w := &world{run: run, logDir: filepath.Join(run.res.Dir, "logs", "framing-01-ping")}
	w.startTrace(time.Now())
	bob := peer.RandomIdentity()
	l, err := peer.Listen(bob, netip.MustParseAddrPort("127.0.0.1:0"), w.traceFor("bob"), peer.AnswerPings())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	w.traceStep(`When peer "alice" pings peer "bob"`)
	c, err := peer.Dial(ctx, peer.RandomIdentity(), bob.Name(), l.Addr(), w.traceFor("alice"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = l.Accept(ctx) }()
	if _, err := c.Ping(ctx, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(wire.CodeNoError)
	if _, err := c.WaitClosed(ctx); err != nil {
		t.Fatal(err)
	}

	rel := w.writeTrace()
	if want := filepath.Join("logs", "framing-01-ping", "frames.txt"); rel != want {
		t.Fatalf("writeTrace returned %q, want %q", rel, want)
	}
	b, err := os.ReadFile(filepath.Join(run.res.Dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{
		`── When peer "alice" pings peer "bob"`,
		"alice  → node  dialed",
		"alice  → node  PING",
		"bob    ← node  accepted",
		"bob    ← node  PING",
		"bob    → node  PONG",
		"alice  ← node  PONG",
		"alice  → node  closed",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("frames.txt lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "When peer") > strings.Index(text, "dialed") {
		t.Errorf("the step's note comes after its frames:\n%s", text)
	}

}
