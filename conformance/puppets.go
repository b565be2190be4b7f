package conformance

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/stableset/sskit/harness"
	"github.com/stableset/sskit/harness/peer"
	"github.com/stableset/sskit/refnode/wire"
)

// Puppets are scripted members of the node's stableset (SPEC.md §8). Each has its own identity
// and listens and dials from one UDP socket, so the address the node records for it is one it
// can be reached at. A puppet answers PINGs, as a live member does, and does nothing else unless
// a script line makes it: the scenario decides which witnesses the node receives, from whom, in
// what order and how often, and reads the outcome from GET /v1/stableset and from the frames the
// node sends to the puppets. A node that counts witnesses carelessly passes every scenario of an
// honest cluster, where such frames never arrive; here it fails.
//
// A script is the documentation of its case: one action or expectation per line, run in order.
//
//	p1 asks join j@4                       p1 sends WITNESS_REQUEST(JOIN of j, ordinal 4)
//	p1 answers join j@4                    p1 answers the node's WITNESS_REQUEST for it with a WITNESS
//	p1 sends stableset members node@0, p1@1 joining j@4 leaving -
//	node sends p1 WITNESS_REQUEST join j@4 a frame from the node to p1, not matched before
//	node sends p1 no WITNESS join j@4 within 1s
//	node sends p4 STABLESET with member j@4   (or without; member, joining or leaving)
//	node sent each elder one frame of join j@4   counted by the puppets (ST-9)
//	node counts the frames of join j@4 as the puppets saw them   GET /v1/decisions (ST-12)
//	node holds member j@4                  awaited in GET /v1/stableset, then steady for a moment
//	node holds no j                        neither a member nor pending
//	node holds pending join j@4 witnessed by node, p1
//	node holds elders node, p1, p2, p3
//	node is joining                        (or a member, leaving, left: ADM-3's phase)
//
// With sections (SPEC.md §10, section bits above 0), puppets are of the node's section unless a
// line says otherwise, and these lines say what sections do:
//
//	q1, q2, x are of another section       made in the section after the node's
//	q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4   (age: SPEC.md §10, 3+5+7+9 here)
//	q5 sends elder loss of q1@1, q2@2, q3@3, q4@4
//	q5 sends elder loss of q1@1, q2@2 every 1s until the node answers within 12s   (as SEC-8's sender retries)
//	q1 falls silent                        it answers no PING from now on
//	node sends q5 ELDER_LOSS within 10s    (any frame expectation may give its own time)
//	node sends z SECTION_LIST with member q1@1
//	node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
//	node holds no other section
//
// Members and bounds (ST-7, ST-13):
//
//	p4 speaks again                        a silent puppet answers PINGs again
//	p4 sends stableset members node@0, p1@1 joining 300 made-up members   (names that never connected)
//	node holds 21 pending changes witnessed by p4
//	node counts 279 dropped witnesses      GET /v1/stableset's dropped_witnesses
//	node holds nothing pending within 8s
//
// "node" is the node under test; any other name is a puppet, made on first mention. Lines that
// start with # are comments. A line may end with the rules it judges in brackets, "[ST-7]": when
// it fails, only those rules are broken and the scenario's others are not judged.

// stateWait is how long an expectation about the node's state or frames is awaited; steady is how
// long a state must then hold, so that a frame the node has received but not yet acted on cannot
// pass for one it ignored.
const (
	stateWait = 5 * time.Second
	steady    = 250 * time.Millisecond
)

type puppet struct {
	label    string
	id       *peer.Identity
	listener *peer.Listener

	mu      sync.Mutex
	silent  bool                        // answers no PING
	conns   []*peer.Conn                // dialed and accepted, in the order they began
	matched map[*peer.Conn]map[int]bool // the frames an earlier line matched, by index
	// answered are the requests the puppet answered, by index: an answer goes to the newest
	// request not answered yet, whether or not a line matched it, since an older one may have
	// timed out at the node (TRN-7).
	answered map[*peer.Conn]map[int]bool
}

// sentFrame is a WITNESS_REQUEST or WITNESS a puppet sent.
type sentFrame struct {
	puppet string
	obs    wire.Observation
}

// stage is a scenario's puppets and what it has seen of the node.
type stage struct {
	w       *world
	puppets map[string]*puppet
	order   []string

	quick       bool      // expectations need not hold steady: the join protocol of the setup, not a case
	sectionBits uint8     // the network's section bits (SPEC.md SEC-1); 0: one section
	nodeName    wire.Name // the node under test's, known before it starts
	foreign     map[string]bool

	mu     sync.Mutex
	sent   []sentFrame // the WITNESS_REQUEST and WITNESS frames the puppets sent
	nodeID wire.StablesetID
	inSet  map[wire.Name]bool // the members of the node's stableset, as last read
	stop   chan struct{}
	polled sync.WaitGroup
}

func (w *world) stage() *stage {
	if w.puppets == nil {
		w.puppets = &stage{w: w, puppets: map[string]*puppet{}, stop: make(chan struct{}), inSet: map[wire.Name]bool{}}
	}
	return w.puppets
}

// close stops the stage's poller and kills the node under test: its graceful leave (ST-7)
// would wait in vain for the puppets to witness it. The puppets' listeners close with the
// world's peers.
func (s *stage) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.polled.Wait()
	if s.w.cluster != nil && s.w.node != nil {
		ctx, cancel := stepContext()
		defer cancel()
		_ = s.w.cluster.Kill(ctx, s.w.node)
	}
}

var puppetName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// puppet returns the puppet called label, listening, made on first use.
func (s *stage) puppet(label string) (*puppet, error) {
	if p := s.puppets[label]; p != nil {
		return p, nil
	}
	if label == "node" || !puppetName.MatchString(label) {
		return nil, fmt.Errorf("%q is not a puppet's name (a lowercase word other than node)", label)
	}
	p := &puppet{label: label, id: s.identityFor(label), matched: map[*peer.Conn]map[int]bool{}, answered: map[*peer.Conn]map[int]bool{}}
	l, err := peer.Listen(p.id, netip.AddrPortFrom(s.w.cluster.HostIP(), 0),
		s.w.traceFor(label), peer.AnswerPingsAs(func() wire.StablesetID { return s.idFor(p.id) }))
	if err != nil {
		return nil, err
	}
	p.listener = l
	// The world closes the listener, and with it every connection it accepted or dialed.
	s.w.peers[label] = &scriptedPeer{id: p.id, listener: l, arrived: make(chan struct{})}
	s.puppets[label] = p
	s.order = append(s.order, label)
	go func() {
		for {
			c, err := l.Accept(harness.Closing())
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			if p.silent {
				c.StopAnsweringPings()
			}
			p.mu.Unlock()
		}
	}()
	return p, nil
}

// identityFor makes a puppet's identity: with sections, one whose name is in the node's section,
// or in the next section for a puppet a line declared of another section.
func (s *stage) identityFor(label string) *peer.Identity {
	if s.sectionBits == 0 {
		return peer.RandomIdentity()
	}
	want := s.prefixOf(s.nodeName)
	if s.foreign[label] {
		want = s.otherPrefix()
	}
	for {
		id := peer.RandomIdentity()
		if s.prefixOf(id.Name()) == want {
			return id
		}
	}
}

// prefixOf is the section prefix value of a name: its first sectionBits bits.
func (s *stage) prefixOf(n wire.Name) uint8 { return n[0] & wire.PrefixMask(s.sectionBits) }

// otherPrefix is the section after the node's: its prefix plus one, modulo the sections.
func (s *stage) otherPrefix() uint8 {
	step := uint8(1) << (8 - s.sectionBits)
	return s.prefixOf(s.nodeName) + step
}

// idFor is the stableset field a puppet's frames carry: the node's id once the node lists the
// puppet as a member, as a member that agrees with it would send; before that, its own (WIRE-10).
func (s *stage) idFor(id *peer.Identity) wire.StablesetID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inSet[id.Name()] {
		return s.nodeID
	}
	return id.StablesetID()
}

// poll keeps the node's id and members current for the puppets' frames.
func (s *stage) startPolling() {
	s.polled.Add(1)
	go func() {
		defer s.polled.Done()
		for {
			ctx, cancel := context.WithTimeout(harness.Closing(), time.Second)
			st, err := s.read(ctx)
			cancel()
			if err == nil {
				s.learn(st)
			}
			select {
			case <-s.stop:
				return
			case <-harness.Closing().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

func (s *stage) learn(st *adminStableset) {
	id, err := parseStablesetID(st.ID)
	if err != nil {
		return
	}
	in := map[wire.Name]bool{}
	for _, m := range st.Members {
		if n, err := wire.ParseName(m.Name); err == nil {
			in[n] = true
		}
	}
	s.mu.Lock()
	s.nodeID, s.inSet = id, in
	s.mu.Unlock()
}

func parseStablesetID(hexID string) (wire.StablesetID, error) {
	n, err := wire.ParseName(hexID) // the same 64 hex characters
	return wire.StablesetID(n), err
}

// conn is the puppet's newest open connection to the node, dialed from its listener if it has none.
func (s *stage) conn(p *puppet) (*peer.Conn, error) {
	p.mu.Lock()
	for i := len(p.conns) - 1; i >= 0; i-- {
		if p.conns[i].Closed() == nil {
			c := p.conns[i]
			p.mu.Unlock()
			return c, nil
		}
	}
	p.mu.Unlock()
	ctx, cancel := stepContext()
	defer cancel()
	c, err := p.listener.Dial(ctx, s.w.node.Name, s.w.node.QUIC())
	if err != nil {
		return nil, err
	}
	// The stream reaches the node with the dialer's first frame, and the node can send on the
	// connection only once it has the stream: a puppet greets with a PING, as a node does.
	if _, err := c.Ping(ctx, []byte("puppet "+p.label)); err != nil {
		return nil, fmt.Errorf("puppet %s: the node did not answer its first PING: %w", p.label, err)
	}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	return c, nil
}

// --- what the node holds -------------------------------------------------------------------

type adminChange struct {
	memberJSON
	Witnesses []string `json:"witnesses"`
}

type adminStableset struct {
	ID      string        `json:"id"`
	Phase   string        `json:"phase"`
	Members []memberJSON  `json:"members"`
	Elders  []string      `json:"elders"`
	Joining []adminChange `json:"joining"`
	Leaving []adminChange `json:"leaving"`
	// DroppedWitnesses is ST-13's count; a pointer, so that a node that leaves it out is told so.
	DroppedWitnesses *uint64 `json:"dropped_witnesses"`
}

func (s *stage) read(ctx context.Context) (*adminStableset, error) {
	var st adminStableset
	if err := s.w.node.GetJSON(ctx, "/v1/stableset", &st); err != nil {
		return nil, s.w.admin(err)
	}
	return &st, nil
}

// label names a node's name in the script's words.
func (s *stage) label(hexName string) string {
	if hexName == s.nodeName.String() {
		return "node"
	}
	for _, l := range s.order {
		if s.puppets[l].id.Name().String() == hexName {
			return l
		}
	}
	if len(hexName) > 8 {
		return "stranger " + hexName[:8]
	}
	return "stranger " + hexName
}

// describe writes the node's stableset in the script's words, for failure messages.
func (s *stage) describe(st *adminStableset) string {
	var b strings.Builder
	b.WriteString("phase " + st.Phase + "; members ")
	for i, m := range st.Members {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s@%d", s.label(m.Name), m.Ordinal)
	}
	b.WriteString("; elders ")
	for i, e := range st.Elders {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.label(e))
	}
	for _, l := range []struct {
		what string
		list []adminChange
	}{{"join", st.Joining}, {"leave", st.Leaving}} {
		for _, c := range l.list {
			ws := make([]string, len(c.Witnesses))
			for i, w := range c.Witnesses {
				ws[i] = s.label(w)
			}
			slices.Sort(ws)
			fmt.Fprintf(&b, "; pending %s %s@%d witnessed by %s", l.what, s.label(c.Name), c.Ordinal, strings.Join(ws, ", "))
		}
	}
	return b.String()
}

// --- the script ----------------------------------------------------------------------------

// change is a JOIN or LEAVE of one instance, as a script names it.
type change struct {
	kind    wire.ChangeKind
	who     string
	ordinal uint64
}

func (c change) String() string {
	k := "join"
	if c.kind == wire.ChangeLeave {
		k = "leave"
	}
	return fmt.Sprintf("%s %s@%d", k, c.who, c.ordinal)
}

var instancePattern = regexp.MustCompile(`^([a-z][a-z0-9]*)@(\d+)$`)

func parseInstance(s string) (string, uint64, error) {
	m := instancePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", 0, fmt.Errorf("%q is not an instance (name@ordinal)", s)
	}
	n, err := strconv.ParseUint(m[2], 10, 64)
	return m[1], n, err
}

func parseChange(kind, inst string) (change, error) {
	var c change
	switch kind {
	case "join":
		c.kind = wire.ChangeJoin
	case "leave":
		c.kind = wire.ChangeLeave
	default:
		return c, fmt.Errorf("%q is not join or leave", kind)
	}
	var err error
	c.who, c.ordinal, err = parseInstance(inst)
	return c, err
}

// splitList reads "a, b, c" (or "-" for none).
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "-" || s == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

// member is the wire Member of a script's instance: its name, the ordinal given, and the address
// it can be reached at.
func (s *stage) member(who string, ordinal uint64) (wire.Member, error) {
	if who == "node" {
		return wire.Member{Name: s.w.node.Name, Ordinal: ordinal, Addr: s.w.node.QUIC()}, nil
	}
	p, err := s.puppet(who)
	if err != nil {
		return wire.Member{}, err
	}
	return wire.Member{Name: p.id.Name(), Ordinal: ordinal, Addr: p.listener.Addr()}, nil
}

func (s *stage) observation(c change) (wire.Observation, error) {
	m, err := s.member(c.who, c.ordinal)
	return wire.Observation{Kind: c.kind, Member: m}, err
}

// play runs a script, line by line; the first line that fails ends it. A script's expectations
// about frames look only at frames the node sends from its start on.
func (s *stage) play(script string) error {
	for _, label := range s.order {
		s.puppets[label].matchAll()
	}
	for i, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s.w.traceStep("  " + line)
		var judged []string
		if m := judgesLine.FindStringSubmatch(line); m != nil {
			line, judged = m[1], splitList(m[2])
		}
		if err := s.line(line); err != nil {
			if errors.Is(err, godog.ErrSkip) {
				return err
			}
			err = fmt.Errorf("script line %d, %q: %w", i+1, line, err)
			if len(judged) > 0 {
				err = violates(err, judged...)
			}
			return err
		}
	}
	return nil
}

var (
	// judgesLine is a line that ends with the rules it judges, "... [ST-7]": its failure breaks
	// those rules only, and the scenario's other rules are blocked (conformance/violation.go).
	judgesLine   = regexp.MustCompile(`^(.*?)\s+\[([A-Z]+-\d+(?:, [A-Z]+-\d+)*)\]$`)
	asksLine     = regexp.MustCompile(`^(\w+) (asks|answers) (join|leave) (\S+)$`)
	stablesetCmd = regexp.MustCompile(`^(\w+) sends stableset members (.*?)(?: joining (.*?))?(?: leaving (.*?))?$`)
	sendsLine    = regexp.MustCompile(`^node sends (\w+) (no )?(WITNESS_REQUEST|WITNESS|STABLESET|SECTION_LIST|ELDER_LOSS)(?: (join|leave) (\S+))?(?: with(out)? (member|joining|leaving) (\S+))?(?: within (\d+(?:\.\d+)?)s)?$`)
	sentEach     = regexp.MustCompile(`^node sent each elder one frame of (join|leave) (\S+)$`)
	countsLine   = regexp.MustCompile(`^node counts the frames of (join|leave) (\S+) as the puppets saw them$`)
	holdsMember  = regexp.MustCompile(`^node holds member (\S+)$`)
	holdsNo      = regexp.MustCompile(`^node holds no (\w+)$`)
	holdsPending = regexp.MustCompile(`^node holds pending (join|leave) (\S+) witnessed by (.+)$`)
	holdsElders  = regexp.MustCompile(`^node holds elders (.+)$`)
	foreignLine  = regexp.MustCompile(`^([a-z0-9, ]+) (?:is|are) of another section$`)
	listLine     = regexp.MustCompile(`^(\w+) sends section list age (\d+) members (.+)$`)
	lossLine     = regexp.MustCompile(`^(\w+) sends elder loss of (.+?)(?: every (\d+)s until the node answers within (\d+)s)?$`)
	silentLine   = regexp.MustCompile(`^(\w+) falls silent$`)
	speaksLine   = regexp.MustCompile(`^(\w+) speaks again$`)
	madeUpLine   = regexp.MustCompile(`^(\w+) sends stableset members (.*?) joining (\d+) made-up members$`)
	holdsNone    = regexp.MustCompile(`^node holds nothing pending(?: within (\d+)s)?$`)
	holdsCharged = regexp.MustCompile(`^node holds (\d+) pending changes witnessed by (\w+)$`)
	droppedLine  = regexp.MustCompile(`^node counts (\d+) dropped witnesses$`)
	holdsList    = regexp.MustCompile(`^node holds section list age (\d+) members (.+) from (.+)$`)
	holdsNoList  = regexp.MustCompile(`^node holds no other section$`)
	phaseLine    = regexp.MustCompile(`^node is (joining|a member|leaving|left)$`)
)

func (s *stage) line(line string) error {
	if m := asksLine.FindStringSubmatch(line); m != nil {
		c, err := parseChange(m[3], m[4])
		if err != nil {
			return err
		}
		return s.witness(m[1], c, m[2] == "answers")
	}
	if m := madeUpLine.FindStringSubmatch(line); m != nil {
		n, _ := strconv.Atoi(m[3])
		return s.sendMadeUp(m[1], m[2], n)
	}
	if m := stablesetCmd.FindStringSubmatch(line); m != nil {
		return s.sendStableset(m[1], m[2], m[3], m[4])
	}
	if m := sendsLine.FindStringSubmatch(line); m != nil {
		return s.expectFrame(m)
	}
	if m := foreignLine.FindStringSubmatch(line); m != nil {
		return s.declareForeign(puppetList.Split(m[1], -1))
	}
	if m := listLine.FindStringSubmatch(line); m != nil {
		return s.sendList(m[1], m[2], m[3])
	}
	if m := lossLine.FindStringSubmatch(line); m != nil {
		if m[3] == "" {
			return s.sendLoss(m[1], m[2])
		}
		every, _ := strconv.Atoi(m[3])
		within, _ := strconv.Atoi(m[4])
		return s.lossUntilAnswered(m[1], m[2], time.Duration(every)*time.Second, time.Duration(within)*time.Second)
	}
	if m := silentLine.FindStringSubmatch(line); m != nil {
		return s.fallSilent(m[1])
	}
	if m := speaksLine.FindStringSubmatch(line); m != nil {
		return s.speakAgain(m[1])
	}
	if m := holdsNone.FindStringSubmatch(line); m != nil {
		wait := stateWait
		if m[1] != "" {
			secs, _ := strconv.Atoi(m[1])
			wait = time.Duration(secs) * time.Second
		}
		return s.expectStateWithin("nothing pending", wait, func(st *adminStableset) bool { return len(st.Joining)+len(st.Leaving) == 0 })
	}
	if m := holdsCharged.FindStringSubmatch(line); m != nil {
		want, _ := strconv.Atoi(m[1])
		who := m[2]
		return s.expectState(fmt.Sprintf("%d pending changes witnessed by %s", want, who), func(st *adminStableset) bool {
			n := 0
			for _, c := range append(slices.Clone(st.Joining), st.Leaving...) {
				if slices.ContainsFunc(c.Witnesses, func(w string) bool { return s.label(w) == who }) {
					n++
				}
			}
			return n == want
		})
	}
	if m := droppedLine.FindStringSubmatch(line); m != nil {
		want, _ := strconv.ParseUint(m[1], 10, 64)
		return s.expectState(fmt.Sprintf("dropped_witnesses %d", want), func(st *adminStableset) bool {
			return st.DroppedWitnesses != nil && *st.DroppedWitnesses == want
		})
	}
	if m := holdsList.FindStringSubmatch(line); m != nil {
		return s.expectList(m[1], m[2], m[3])
	}
	if m := phaseLine.FindStringSubmatch(line); m != nil {
		phase := strings.TrimPrefix(m[1], "a ")
		return s.expectState("phase "+phase, func(st *adminStableset) bool { return st.Phase == phase })
	}
	if holdsNoList.MatchString(line) {
		return s.expectSections("no other section", func(l []adminSection) bool { return len(l) == 0 })
	}
	if m := sentEach.FindStringSubmatch(line); m != nil {
		c, err := parseChange(m[1], m[2])
		if err != nil {
			return err
		}
		return s.sentEachElderOne(c)
	}
	if m := countsLine.FindStringSubmatch(line); m != nil {
		c, err := parseChange(m[1], m[2])
		if err != nil {
			return err
		}
		return s.countsAsSeen(c)
	}
	if m := holdsMember.FindStringSubmatch(line); m != nil {
		who, ord, err := parseInstance(m[1])
		if err != nil {
			return err
		}
		return s.expectState("member "+m[1], func(st *adminStableset) bool {
			return slices.ContainsFunc(st.Members, func(x memberJSON) bool { return s.label(x.Name) == who && x.Ordinal == ord })
		})
	}
	if m := holdsNo.FindStringSubmatch(line); m != nil {
		who := m[1]
		return s.expectState("no "+who, func(st *adminStableset) bool {
			named := func(x memberJSON) bool { return s.label(x.Name) == who }
			return !slices.ContainsFunc(st.Members, named) &&
				!slices.ContainsFunc(st.Joining, func(c adminChange) bool { return named(c.memberJSON) }) &&
				!slices.ContainsFunc(st.Leaving, func(c adminChange) bool { return named(c.memberJSON) })
		})
	}
	if m := holdsPending.FindStringSubmatch(line); m != nil {
		c, err := parseChange(m[1], m[2])
		if err != nil {
			return err
		}
		want := splitList(m[3])
		slices.Sort(want)
		return s.expectState(fmt.Sprintf("pending %s witnessed by %s", c, strings.Join(want, ", ")), func(st *adminStableset) bool {
			list := st.Joining
			if c.kind == wire.ChangeLeave {
				list = st.Leaving
			}
			for _, x := range list {
				if s.label(x.Name) != c.who || x.Ordinal != c.ordinal {
					continue
				}
				got := make([]string, len(x.Witnesses))
				for i, w := range x.Witnesses {
					got[i] = s.label(w)
				}
				slices.Sort(got)
				return slices.Equal(got, want)
			}
			return false
		})
	}
	if m := holdsElders.FindStringSubmatch(line); m != nil {
		want := splitList(m[1])
		return s.expectState("elders "+strings.Join(want, ", "), func(st *adminStableset) bool {
			got := make([]string, len(st.Elders))
			for i, e := range st.Elders {
				got[i] = s.label(e)
			}
			slices.Sort(got)
			w := slices.Clone(want)
			slices.Sort(w)
			return slices.Equal(got, w)
		})
	}
	return errors.New("the script has no such line; see conformance/puppets.go for what a line can say")
}

// witness sends the puppet's witness of the change (ST-2): a WITNESS_REQUEST, or, answering, the
// WITNESS to the node's WITNESS_REQUEST for it, which it waits for (MSG-5 lets a WITNESS arrive
// no other way).
func (s *stage) witness(who string, c change, answering bool) error {
	p, err := s.puppet(who)
	if err != nil {
		return err
	}
	o, err := s.observation(c)
	if err != nil {
		return err
	}
	var conn *peer.Conn
	typ, id := wire.TypeWitnessRequest, uint64(0)
	if answering {
		var request peer.Frame
		request, conn, err = s.newestRequest(p, s.matchObservation(o))
		typ, id = wire.TypeWitness, request.Header.ID
	} else if conn, err = s.conn(p); err == nil {
		id = conn.NextID()
	}
	if err != nil {
		return err
	}
	if err := conn.Send(typ, id, s.idFor(p.id), o.Append(nil)); err != nil {
		return err
	}
	s.mu.Lock()
	s.sent = append(s.sent, sentFrame{who, o})
	s.mu.Unlock()
	return nil
}

func (s *stage) sendStableset(who, members, joining, leaving string) error {
	var lists [3][]wire.Member
	for i, text := range []string{members, joining, leaving} {
		var err error
		if lists[i], err = s.members(text); err != nil {
			return err
		}
	}
	// The header carries the id of the members the puppet lists: they are its stableset (WIRE-10).
	return s.sendFrom(who, wire.TypeStableset, func(*puppet) wire.StablesetID { return idOf(lists[0]) },
		wire.AppendStableset(nil, lists[0], lists[1], lists[2]))
}

// sendMadeUp sends the puppet's STABLESET listing the members given and n joins of names that
// never connected (ordinals from 100 on, the puppet's address): a member growing the node's
// pending changes (ST-13).
func (s *stage) sendMadeUp(who, members string, n int) error {
	listed, err := s.members(members)
	if err != nil {
		return err
	}
	p, err := s.puppet(who)
	if err != nil {
		return err
	}
	joining := make([]wire.Member, n)
	for i := range joining {
		name := sha256.Sum256(fmt.Appendf(nil, "made-up %s %d", who, i))
		joining[i] = wire.Member{Name: wire.Name(name), Ordinal: uint64(100 + i), Addr: p.listener.Addr()}
	}
	slices.SortFunc(joining, wire.CompareMembers)
	return s.sendFrom(who, wire.TypeStableset, func(*puppet) wire.StablesetID { return idOf(listed) },
		wire.AppendStableset(nil, listed, joining, nil))
}

// sendFrom sends a one-way frame from the puppet, with the stableset field header gives it.
func (s *stage) sendFrom(who string, typ wire.Type, header func(*puppet) wire.StablesetID, body []byte) error {
	p, err := s.puppet(who)
	if err != nil {
		return err
	}
	conn, err := s.conn(p)
	if err != nil {
		return err
	}
	return conn.Send(typ, 0, header(p), body)
}

// members reads a list of instances "a@1, b@2" ("-" for none) as wire Members, sorted as a valid
// STABLESET or SECTION_LIST has them (MSG-4, MSG-7).
func (s *stage) members(text string) ([]wire.Member, error) {
	var out []wire.Member
	for _, inst := range splitList(text) {
		name, ord, err := parseInstance(inst)
		if err != nil {
			return nil, err
		}
		m, err := s.member(name, ord)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, wire.CompareMembers)
	return out, nil
}

// idOf is the stableset id of a member list (WIRE-10), as the harness computes it.
func idOf(members []wire.Member) wire.StablesetID { return peer.StablesetID(members) }

// matchObservation matches a frame whose body is the observation, whatever address it gives.
func (s *stage) matchObservation(want wire.Observation) func(peer.Frame) bool {
	return func(f peer.Frame) bool {
		var o wire.Observation
		return o.Decode(f.Body) == nil && o.Kind == want.Kind && o.Member.Name == want.Member.Name && o.Member.Ordinal == want.Member.Ordinal
	}
}

// await returns the first frame of type typ that the node sent to the puppet, on any of its
// connections, that no earlier line matched and for which match holds; it marks it matched.
func (s *stage) await(p *puppet, typ wire.Type, match func(peer.Frame) bool, d time.Duration) (peer.Frame, *peer.Conn, error) {
	deadline := time.Now().Add(d)
	for {
		if f, c, ok := p.take(typ, match); ok {
			return f, c, nil
		}
		if time.Now().After(deadline) {
			return peer.Frame{}, nil, fmt.Errorf("the node sent %s no such %v within %v; it sent %s", p.label, typ, d, p.summary())
		}
		if !pause(20 * time.Millisecond) {
			return peer.Frame{}, nil, errors.New("interrupted")
		}
	}
}

// newestRequest waits for a WITNESS_REQUEST from the node to the puppet for which match holds
// and that the puppet has not answered, and returns the newest such; it marks it answered and
// matched.
func (s *stage) newestRequest(p *puppet, match func(peer.Frame) bool) (peer.Frame, *peer.Conn, error) {
	deadline := time.Now().Add(stateWait)
	for {
		p.mu.Lock()
		var found peer.Frame
		var in *peer.Conn
		index := -1
		for _, c := range p.conns {
			for i, f := range c.Frames() {
				if f.Header.Type == wire.TypeWitnessRequest && !p.answered[c][i] && match(f) && (in == nil || f.At.After(found.At)) {
					found, in, index = f, c, i
				}
			}
		}
		if in != nil {
			for _, m := range []map[*peer.Conn]map[int]bool{p.answered, p.matched} {
				if m[in] == nil {
					m[in] = map[int]bool{}
				}
				m[in][index] = true
			}
		}
		p.mu.Unlock()
		if in != nil {
			return found, in, nil
		}
		if time.Now().After(deadline) {
			return peer.Frame{}, nil, fmt.Errorf("the node sent %s no such %v within %v; it sent %s", p.label, wire.TypeWitnessRequest, stateWait, p.summary())
		}
		if !pause(20 * time.Millisecond) {
			return peer.Frame{}, nil, errors.New("interrupted")
		}
	}
}

// take finds and marks the first unmatched frame of type typ for which match holds.
func (p *puppet) take(typ wire.Type, match func(peer.Frame) bool) (peer.Frame, *peer.Conn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		for i, f := range c.Frames() {
			if p.matched[c][i] || f.Header.Type != typ || !match(f) {
				continue
			}
			if p.matched[c] == nil {
				p.matched[c] = map[int]bool{}
			}
			p.matched[c][i] = true
			return f, c, true
		}
	}
	return peer.Frame{}, nil, false
}

// matchAll marks every frame received so far as matched.
func (p *puppet) matchAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if p.matched[c] == nil {
			p.matched[c] = map[int]bool{}
		}
		for i := range c.Frames() {
			p.matched[c][i] = true
		}
	}
}

// summary lists the types of the frames the node sent the puppet, for failure messages.
func (p *puppet) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	counts := map[wire.Type]int{}
	for _, c := range p.conns {
		for _, f := range c.Frames() {
			counts[f.Header.Type]++
		}
	}
	if len(counts) == 0 {
		return "nothing"
	}
	var parts []string
	for _, t := range wire.Types {
		if counts[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d %v", counts[t], t))
		}
	}
	return strings.Join(parts, ", ") + " (frames.txt has them all)"
}

func (s *stage) expectFrame(m []string) error {
	p, err := s.puppet(m[1])
	if err != nil {
		return err
	}
	negative := m[2] != ""
	typ := map[string]wire.Type{"WITNESS_REQUEST": wire.TypeWitnessRequest, "WITNESS": wire.TypeWitness, "STABLESET": wire.TypeStableset,
		"SECTION_LIST": wire.TypeSectionList, "ELDER_LOSS": wire.TypeElderLoss}[m[3]]
	match := func(peer.Frame) bool { return true }
	what := m[3]
	if m[4] != "" {
		c, err := parseChange(m[4], m[5])
		if err != nil {
			return err
		}
		o, err := s.observation(c)
		if err != nil {
			return err
		}
		match, what = s.matchObservation(o), what+" "+c.String()
	}
	if m[8] != "" {
		name, ord, err := parseInstance(m[8])
		if err != nil {
			return err
		}
		mem, err := s.member(name, ord)
		if err != nil {
			return err
		}
		without := m[6] != ""
		list := map[string]int{"member": wire.ListMembers, "joining": wire.ListJoining, "leaving": wire.ListLeaving}[m[7]]
		match = func(f peer.Frame) bool {
			var entries []wire.Member
			switch typ {
			case wire.TypeSectionList:
				var l wire.SectionList
				if l.Decode(f.Body) != nil || list != wire.ListMembers {
					return false
				}
				entries = l.Members
			default:
				var v wire.StablesetView
				if v.Decode(f.Body) != nil {
					return false
				}
				entries = make([]wire.Member, v.Len(list))
				for i := range entries {
					v.Entry(list, i, &entries[i])
				}
			}
			found := slices.ContainsFunc(entries, func(e wire.Member) bool { return e.Name == mem.Name && e.Ordinal == mem.Ordinal })
			return found != without
		}
		what += " with" + map[bool]string{true: "out", false: ""}[without] + " " + m[7] + " " + m[8]
	}
	d := stateWait
	if m[9] != "" {
		secs, _ := strconv.ParseFloat(m[9], 64)
		d = time.Duration(secs * float64(time.Second))
	}
	if !negative {
		_, _, err := s.await(p, typ, match, d)
		return err
	}
	if m[9] == "" {
		return errors.New("a line that says the node sends no frame needs a time: within Ns")
	}
	if _, _, err := s.await(p, typ, match, d); err == nil {
		return fmt.Errorf("the node sent %s %s, which it must not", p.label, what)
	}
	return nil
}

// expectState awaits a state of the node's stableset that ok accepts, then requires it to hold
// for steady: a node that applies what it must not usually does so at once, but not before the
// first read.
func (s *stage) expectState(what string, ok func(*adminStableset) bool) error {
	return s.expectStateWithin(what, stateWait, ok)
}

// expectStateWithin is expectState with its own time to wait.
func (s *stage) expectStateWithin(what string, wait time.Duration, ok func(*adminStableset) bool) error {
	return s.steadilyWithin(what, wait, func() (bool, func() string, error) {
		ctx, cancel := stepContext()
		st, err := s.read(ctx)
		cancel()
		if err != nil {
			return false, nil, err
		}
		s.learn(st)
		return ok(st), func() string { return s.describe(st) }, nil
	})
}

// steadily polls check until it accepts what the node holds, then requires that to hold for
// steady (unless quick); state describes what check last read, for the failure message.
func (s *stage) steadily(what string, check func() (ok bool, state func() string, err error)) error {
	return s.steadilyWithin(what, stateWait, check)
}

func (s *stage) steadilyWithin(what string, wait time.Duration, check func() (ok bool, state func() string, err error)) error {
	deadline := time.Now().Add(wait)
	var since time.Time
	for {
		ok, state, err := check()
		if err != nil {
			return err
		}
		switch {
		case ok && (s.quick || !since.IsZero() && time.Since(since) >= steady):
			return nil
		case ok && since.IsZero():
			since = time.Now()
		case !ok && !since.IsZero():
			return fmt.Errorf("expected the node to hold %s; it did, then %v later held %s", what, time.Since(since).Round(time.Millisecond), state())
		}
		if since.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("expected the node to hold %s within %v; it holds %s", what, wait, state())
		}
		if !pause(50 * time.Millisecond) {
			return errors.New("interrupted")
		}
	}
}

// framesOf counts, per puppet, the WITNESS_REQUEST and WITNESS frames carrying the change that
// the node sent it, and the STABLESET frames the node sent it.
func (s *stage) framesOf(o wire.Observation) (carrying, stablesets map[string]int) {
	match := s.matchObservation(o)
	carrying, stablesets = map[string]int{}, map[string]int{}
	for _, label := range s.order {
		p := s.puppets[label]
		p.mu.Lock()
		for _, c := range p.conns {
			for _, f := range c.Frames() {
				switch {
				case (f.Header.Type == wire.TypeWitnessRequest || f.Header.Type == wire.TypeWitness) && match(f):
					carrying[label]++
				case f.Header.Type == wire.TypeStableset:
					stablesets[label]++
				}
			}
		}
		p.mu.Unlock()
	}
	return carrying, stablesets
}

// sentAbout counts, per puppet, the WITNESS_REQUEST and WITNESS frames it sent carrying o.
func (s *stage) sentAbout(o wire.Observation) map[string]int {
	match := s.matchObservation(o)
	n := map[string]int{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.sent {
		if match(peer.Frame{Body: f.obs.Append(nil)}) {
			n[f.puppet]++
		}
	}
	return n
}

// sentEachElderOne checks ST-9 by the puppets' own count: the node told every other elder of the
// change once (a WITNESS_REQUEST, or the WITNESS answering that elder's pending request) and
// answered each request with one WITNESS; so an elder that sent k frames about it got k or k+1
// (k+1 when the node told it before it asked), and at least 1.
func (s *stage) sentEachElderOne(c change) error {
	o, err := s.observation(c)
	if err != nil {
		return err
	}
	ctx, cancel := stepContext()
	st, err := s.read(ctx)
	cancel()
	if err != nil {
		return err
	}
	asked := s.sentAbout(o)
	carrying, _ := s.framesOf(o)
	var wrong []string
	for _, e := range st.Elders {
		label := s.label(e)
		if label == "node" || s.puppets[label] == nil {
			continue
		}
		if low, high := max(1, asked[label]), asked[label]+1; carrying[label] < low || carrying[label] > high {
			wrong = append(wrong, fmt.Sprintf("%s got %d (want %d to %d: it sent %d about it)", label, carrying[label], low, high, asked[label]))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("the frames carrying %s that the node sent each other elder, counted by the puppets: %s", c, strings.Join(wrong, "; "))
	}
	return nil
}

// countsAsSeen compares the node's decision log (GET /v1/decisions, ST-12) for the change with
// what the puppets saw on the wire: every frame carrying the change the puppets sent is counted
// as received from that puppet, and the frames counted as sent to a puppet are those carrying
// the change plus at most the STABLESETs the node sent it. A node that under-reports its frames
// cannot pass ST-9's budget on its own word.
func (s *stage) countsAsSeen(c change) error {
	o, err := s.observation(c)
	if err != nil {
		return err
	}
	var log decisionsJSON
	ctx, cancel := stepContext()
	err = s.w.node.GetJSON(ctx, "/v1/decisions", &log)
	cancel()
	if err != nil {
		return s.w.admin(err)
	}
	kind := map[wire.ChangeKind]string{wire.ChangeJoin: "JOIN", wire.ChangeLeave: "LEAVE"}[c.kind]
	i := slices.IndexFunc(log.Decisions, func(d decisionJSON) bool {
		return strings.EqualFold(d.Kind, kind) && d.Member.Name == o.Member.Name.String() && d.Member.Ordinal == c.ordinal
	})
	if i < 0 {
		return fmt.Errorf("GET /v1/decisions has no decision for %s", c)
	}
	d := log.Decisions[i]
	received := s.sentAbout(o)
	carrying, stablesets := s.framesOf(o)
	var wrong []string
	for _, label := range s.order {
		reported := d.Peers[s.puppets[label].id.Name().String()]
		if reported.Received != received[label] {
			wrong = append(wrong, fmt.Sprintf("from %s it counts %d received, the puppet sent %d", label, reported.Received, received[label]))
		}
		if reported.Sent < carrying[label] || reported.Sent > carrying[label]+stablesets[label] {
			wrong = append(wrong, fmt.Sprintf("to %s it counts %d sent, the puppet got %d carrying the change and %d STABLESETs", label, reported.Sent, carrying[label], stablesets[label]))
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("the node's decision log for %s disagrees with the wire: %s", c, strings.Join(wrong, "; "))
	}
	return nil
}
