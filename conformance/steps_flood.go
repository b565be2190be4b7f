package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cucumber/godog"
	"github.com/montanaflynn/stats"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// The flood (SPEC.md ST-14): one member of a cluster of nodes under test sends the node
// under test, at full speed, every kind of frame a member may send (stablesets listing made-up
// joins, witness requests about made-up joins and about a healthy member's leave), while the
// harness watches every node from outside: its resident memory, the size of its
// GET /v1/stableset answer, whether a made-up name ever becomes a member, and how fast it answers
// another peer's PINGs. The scenario is tagged @alone: it runs after all others, one at a time,
// so that its figures are the node's and not the machine's.

// floodSecondsEnv sets how long the flood lasts; `make flood` runs it for 60 s.
const floodSecondsEnv = "SSKIT_FLOOD_SECONDS"

const defaultFloodTime = 8 * time.Second

func floodTime() (time.Duration, error) {
	v := os.Getenv(floodSecondsEnv)
	if v == "" {
		return defaultFloodTime, nil
	}
	s, err := strconv.Atoi(v)
	if err != nil || s < 1 {
		return 0, fmt.Errorf("%s=%q: want a whole number of seconds, at least 1", floodSecondsEnv, v)
	}
	return time.Duration(s) * time.Second, nil
}

// flooder is the member that floods: its own identity and listening socket, so that the nodes
// can dial it back (ST-5, ST-10), answering their PINGs with the stableset id the node under
// test last reported, as a live member would. Its frames are not traced: a trace of a flood
// would be the largest file of the run and say nothing.
type flooder struct {
	id       *peer.Identity
	listener *peer.Listener
	conn     *peer.Conn
	stableID atomic.Value // wire.StablesetID

	// What the watchers saw, per node label.
	mu         sync.Mutex
	frames     int
	floodTime  time.Duration
	maxRSS     map[string]int64
	maxAdmin   map[string]int
	rtts       map[string][]time.Duration
	pingErrs   map[string]int
	madeUp     map[string]bool // names the flood made up
	madeUpSeen string          // the first made-up member any node listed, and where
}

func registerFloodSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^a member joins the stableset through the node under test, to flood it$`, w.flooderJoins)
	sc.Step(`^the member floods the node under test at full speed for the flood time \(8 s; SSKIT_FLOOD_SECONDS\), while a stranger PINGs every node every 10 ms$`, w.flood)
	sc.Step(`^no made-up name was ever a member of any node$`, w.noMadeUpMember)
	sc.Step(`^every node's resident memory stayed under (\d+) MiB$`, w.rssStayedUnder)
	sc.Step(`^every node's GET /v1/stableset answer stayed under (\d+) KiB$`, w.adminStayedUnder)
	sc.Step(`^every node answered the stranger's PINGs with a 99th percentile under (\d+) ms$`, w.pingP99Under)
	sc.Step(`^within (\d+) s after the flood the node under test holds nothing pending and the same members as the others$`, w.floodLeavesNothing)
}

func (w *world) flooderJoins() error {
	// The cluster first: a member that joined an elder short of the others would be an elder
	// itself, and every later join would wait for its witness.
	if err := w.allAgree(30, len(w.live())); err != nil {
		return err
	}
	id := peer.RandomIdentity()
	f := &flooder{id: id, maxRSS: map[string]int64{}, maxAdmin: map[string]int{}, rtts: map[string][]time.Duration{},
		pingErrs: map[string]int{}, madeUp: map[string]bool{}}
	f.stableID.Store(wire.StablesetID{})
	l, err := peer.Listen(id, netip.AddrPortFrom(w.cluster.HostIP(), 0),
		peer.AnswerPingsAs(func() wire.StablesetID { return f.stableID.Load().(wire.StablesetID) }))
	if err != nil {
		return err
	}
	f.listener = l
	w.peers["flooder"] = &scriptedPeer{id: id, listener: l, arrived: make(chan struct{})}
	w.flooder = f
	go func() { // the nodes dial the new member to announce the stableset (ST-10) and to ping it
		for {
			if _, err := l.Accept(harness.Closing()); err != nil {
				return
			}
		}
	}()
	ctx, cancel := stepContext()
	defer cancel()
	if f.conn, err = l.Dial(ctx, w.node.Name, w.node.QUIC()); err != nil {
		return err
	}
	if _, err := f.conn.Ping(ctx, []byte("flooder")); err != nil {
		return fmt.Errorf("the node under test did not answer the joiner's first PING: %w", err)
	}
	o := wire.Observation{Kind: wire.ChangeJoin, Member: wire.Member{Name: id.Name(), Addr: l.Addr()}}
	if err := f.conn.Send(wire.TypeWitnessRequest, f.conn.NextID(), id.StablesetID(), o.Append(nil)); err != nil {
		return err
	}
	if err := w.allAgree(20, len(w.live())+1); err != nil {
		return fmt.Errorf("the member that is to flood did not get in: %w", err)
	}
	return w.learnFloodStableset(ctx)
}

// learnFloodStableset reads the node under test's stableset: its id for the flooder's frames,
// and its members for the stablesets the flooder sends.
func (w *world) learnFloodStableset(ctx context.Context) error {
	var st stablesetJSON
	if err := w.node.GetJSON(ctx, "/v1/stableset", &st); err != nil {
		return w.admin(err)
	}
	b, err := hex.DecodeString(st.ID)
	if err != nil || len(b) != len(wire.StablesetID{}) {
		return fmt.Errorf("GET /v1/stableset: id %q is not 64 hex digits", st.ID)
	}
	w.flooder.stableID.Store(wire.StablesetID(b))
	return nil
}

// wireMembers reads a stableset answer's members as wire Members, in (ordinal, name) order.
func wireMembers(st stablesetJSON) ([]wire.Member, error) {
	var out []wire.Member
	for _, m := range st.Members {
		n, err := wire.ParseName(m.Name)
		if err != nil {
			return nil, err
		}
		addr, err := netip.ParseAddrPort(m.Addr)
		if err != nil {
			return nil, fmt.Errorf("member %s: address %q: %v", m.Name, m.Addr, err)
		}
		out = append(out, wire.Member{Name: n, Ordinal: m.Ordinal, Addr: addr})
	}
	slices.SortFunc(out, wire.CompareMembers)
	return out, nil
}

// flood runs the flood and the watchers side by side for the flood time.
func (w *world) flood() error {
	f := w.flooder
	if f == nil {
		return fmt.Errorf("no member joined to flood")
	}
	d, err := floodTime()
	if err != nil {
		return err
	}
	f.floodTime = d
	ctx, cancel := context.WithTimeout(harness.Closing(), 10*time.Second)
	var st stablesetJSON
	err = w.node.GetJSON(ctx, "/v1/stableset", &st)
	cancel()
	if err != nil {
		return w.admin(err)
	}
	members, err := wireMembers(st)
	if err != nil {
		return err
	}
	victim := members[len(members)-1] // a healthy member whose leave the flood asks for
	for _, m := range members {
		if m.Name != w.node.Name && m.Name != f.id.Name() {
			victim = m
			break
		}
	}
	// The frames: a stableset listing 1000 made-up joins, then witness requests about the joins
	// of 5000 more made-up names, one at a time, and about the victim's leave.
	madeUp := func(i int) wire.Member {
		name := wire.Name(sha256.Sum256(fmt.Appendf(nil, "flood %s %d", f.id.Name(), i)))
		f.madeUp[name.String()] = true
		return wire.Member{Name: name, Ordinal: uint64(1000 + i), Addr: f.listener.Addr()}
	}
	var joining []wire.Member
	for i := range 1000 {
		joining = append(joining, madeUp(i))
	}
	slices.SortFunc(joining, wire.CompareMembers)
	view := wire.AppendStableset(nil, members, joining, nil)
	requests := make([][]byte, 5000)
	for i := range requests {
		requests[i] = (&wire.Observation{Kind: wire.ChangeJoin, Member: madeUp(1000 + i)}).Append(nil)
	}
	leave := (&wire.Observation{Kind: wire.ChangeLeave, Member: victim}).Append(nil)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); w.watchMemory(stop) }()
	go func() { defer wg.Done(); w.watchPings(stop) }()
	floodErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		header := f.stableID.Load().(wire.StablesetID)
		deadline := time.Now().Add(d)
		sent := 0
		for i := 0; time.Now().Before(deadline); i++ {
			var err error
			switch i % 4 {
			case 0:
				err = f.conn.Send(wire.TypeStableset, 0, header, view)
			case 1, 2:
				err = f.conn.Send(wire.TypeWitnessRequest, f.conn.NextID(), header, requests[(i/4*2+i%4-1)%len(requests)])
			case 3:
				err = f.conn.Send(wire.TypeWitnessRequest, f.conn.NextID(), header, leave)
			}
			if err != nil {
				floodErr <- fmt.Errorf("the flood stopped after %d frames: the node's connection ended: %w", sent, err)
				break
			}
			sent++
		}
		f.mu.Lock()
		f.frames = sent
		f.mu.Unlock()
		close(stop)
	}()
	wg.Wait()
	w.traceStep(fmt.Sprintf("  flood: %d frames in %v", f.frames, d))
	if err := w.writeFloodFigures(); err != nil {
		return err
	}
	select {
	case err := <-floodErr:
		// Closing a member's connection for frames that are all well formed breaks no rule of
		// framing, but the flood was meant to last: say so, without judging a rule.
		return err
	default:
	}
	return nil
}

// watchMemory samples every node's resident memory and GET /v1/stableset every 250 ms until
// stop, and once more after it.
func (w *world) watchMemory(stop <-chan struct{}) {
	f := w.flooder
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		for _, n := range w.live() {
			rss, err := n.ResidentBytes()
			ctx, cancel := context.WithTimeout(harness.Closing(), 2*time.Second)
			code, body, aerr := n.Do(ctx, "GET", "/v1/stableset", "")
			cancel()
			var st stablesetJSON
			if aerr == nil && code == 200 {
				_ = json.Unmarshal(body, &st)
			}
			f.mu.Lock()
			if err == nil && rss > f.maxRSS[n.Label()] {
				f.maxRSS[n.Label()] = rss
			}
			if aerr == nil && len(body) > f.maxAdmin[n.Label()] {
				f.maxAdmin[n.Label()] = len(body)
			}
			for _, m := range st.Members {
				if f.madeUp[m.Name] && f.madeUpSeen == "" {
					f.madeUpSeen = fmt.Sprintf("%s listed the made-up member %s@%d", n.Label(), m.Name, m.Ordinal)
				}
			}
			f.mu.Unlock()
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// watchPings has a stranger PING every node in turn, every 10 ms, until stop: the latency
// another peer sees while one member floods.
func (w *world) watchPings(stop <-chan struct{}) {
	f := w.flooder
	conns := map[string]*peer.Conn{}
	for _, n := range w.live() {
		ctx, cancel := stepContext()
		c, err := peer.Dial(ctx, peer.RandomIdentity(), n.Name, n.QUIC(), peer.FromIP(w.cluster.HostIP()))
		cancel()
		if err != nil {
			f.mu.Lock()
			f.pingErrs[n.Label()]++
			f.mu.Unlock()
			continue
		}
		defer c.Close(wire.CodeNoError)
		conns[n.Label()] = c
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		for label, c := range conns {
			ctx, cancel := context.WithTimeout(harness.Closing(), time.Second)
			rtt, err := c.Ping(ctx, nil)
			cancel()
			f.mu.Lock()
			if err != nil {
				f.pingErrs[label]++
			} else {
				f.rtts[label] = append(f.rtts[label], rtt)
			}
			f.mu.Unlock()
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// msPercentile is the nearest-rank percentile of round trips, in milliseconds (0 for none).
func msPercentile(rtts []time.Duration, p float64) float64 {
	if len(rtts) == 0 {
		return 0
	}
	values := make([]float64, len(rtts))
	for i, d := range rtts {
		values[i] = float64(d) / float64(time.Millisecond)
	}
	v, _ := stats.PercentileNearestRank(values, p)
	return v
}

// writeFloodFigures writes what the watchers measured to flood.md in the scenario's log
// directory, linked from the report with the node's logs: the figures behind the verdicts.
func (w *world) writeFloodFigures() error {
	f := w.flooder
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# Flood from one member: %d frames in %v to %s\n\n", f.frames, f.floodTime, w.node.Label())
	fmt.Fprintf(&b, "Measured from outside, every 250 ms (memory, admin answer) and every 10 ms (a stranger's PING to each node).\n\n")
	fmt.Fprintf(&b, "| node | max resident memory (MiB) | max GET /v1/stableset (bytes) | PINGs | failed | p50 (ms) | p99 (ms) | max (ms) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range w.live() {
		label := n.Label()
		rtts := f.rtts[label]
		fmt.Fprintf(&b, "| %s | %.1f | %d | %d | %d | %.2f | %.2f | %.2f |\n", label, float64(f.maxRSS[label])/(1<<20),
			f.maxAdmin[label], len(rtts), f.pingErrs[label], msPercentile(rtts, 50), msPercentile(rtts, 99), msPercentile(rtts, 100))
	}
	if f.madeUpSeen != "" {
		fmt.Fprintf(&b, "\nA made-up name became a member: %s\n", f.madeUpSeen)
	}
	if w.logDir == "" {
		return nil
	}
	if err := os.MkdirAll(w.logDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(w.logDir, "flood.md"), []byte(b.String()), 0o644)
}

// judgeFlood runs a check on what the watchers saw during this scenario's flood. A check
// returns the nodes that broke its bound, one phrase each; they make a violation of rule.
func (w *world) judgeFlood(rule, expected string, check func(f *flooder) []string) error {
	if w.flooder == nil || w.flooder.floodTime == 0 {
		return fmt.Errorf("no flood ran in this scenario")
	}
	f := w.flooder
	f.mu.Lock()
	problems := check(f)
	f.mu.Unlock()
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return violates(fmt.Errorf("expected %s during a %v flood; %s", expected, f.floodTime, strings.Join(problems, "; ")), rule)
}

func (w *world) noMadeUpMember() error {
	return w.judgeFlood("ST-9", "no made-up name to become a member", func(f *flooder) []string {
		if f.madeUpSeen != "" {
			return []string{f.madeUpSeen}
		}
		return nil
	})
}

func (w *world) rssStayedUnder(mib int) error {
	return w.judgeFlood("ST-14", fmt.Sprintf("every node's resident memory under %d MiB", mib), func(f *flooder) []string {
		var over []string
		for _, n := range w.live() {
			b, ok := f.maxRSS[n.Label()]
			if !ok {
				over = append(over, n.Label()+"'s resident memory could not be read")
				continue
			}
			w.traceStep(fmt.Sprintf("  %s: resident memory at most %.1f MiB", n.Label(), float64(b)/(1<<20)))
			if b >= int64(mib)<<20 {
				over = append(over, fmt.Sprintf("%s reached %.1f MiB", n.Label(), float64(b)/(1<<20)))
			}
		}
		return over
	})
}

func (w *world) adminStayedUnder(kib int) error {
	return w.judgeFlood("ST-14", fmt.Sprintf("GET /v1/stableset under %d KiB", kib), func(f *flooder) []string {
		var over []string
		for label, n := range f.maxAdmin {
			if n >= kib<<10 {
				over = append(over, fmt.Sprintf("%s answered %d bytes", label, n))
			}
		}
		return over
	})
}

func (w *world) pingP99Under(ms int) error {
	return w.judgeFlood("ST-14", fmt.Sprintf("every node to answer PINGs with p99 under %d ms", ms), func(f *flooder) []string {
		var over []string
		for _, n := range w.live() {
			label := n.Label()
			rtts := f.rtts[label]
			if len(rtts) < 100 || f.pingErrs[label] > 0 {
				over = append(over, fmt.Sprintf("%s answered %d PINGs and failed %d", label, len(rtts), f.pingErrs[label]))
				continue
			}
			p99 := msPercentile(rtts, 99)
			w.traceStep(fmt.Sprintf("  %s: %d PINGs, p99 %.2f ms", label, len(rtts), p99))
			if p99 >= float64(ms) {
				over = append(over, fmt.Sprintf("%s: p99 %.1f ms over %d PINGs", label, p99, len(rtts)))
			}
		}
		return over
	})
}

// floodLeavesNothing: what the flood made the node record lapses once the flood stops (ST-13),
// and the node under test still agrees with the others on the members.
func (w *world) floodLeavesNothing(seconds int) error {
	if w.flooder == nil || w.flooder.floodTime == 0 {
		return fmt.Errorf("no flood ran in this scenario")
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		ctx, cancel := stepContext()
		var st adminStableset
		err := w.node.GetJSON(ctx, "/v1/stableset", &st)
		cancel()
		if err != nil {
			return w.admin(err)
		}
		pending := len(st.Joining) + len(st.Leaving)
		if pending == 0 {
			return w.allAgree(5, len(w.live())+1)
		}
		if time.Now().After(deadline) {
			return violates(fmt.Errorf("expected nothing pending %d s after the flood stopped; the node holds %d joining and %d leaving",
				seconds, len(st.Joining), len(st.Leaving)), "ST-13")
		}
		if !pause(100 * time.Millisecond) {
			return fmt.Errorf("interrupted")
		}
	}
}
