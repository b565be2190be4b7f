package peer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/wire"
)

// refnodeBin is the reference node, built once by TestMain. The tests treat it as a black box:
// a process started with flags, observed through the wire protocol, its stderr and its admin API.
var refnodeBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sskit-peer-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	refnodeBin = filepath.Join(dir, "refnode")
	build := exec.Command("go", "build", "-o", refnodeBin, "github.com/stableset/sskit/refnode/cmd/refnode")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build refnode: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// node is one refnode process.
type node struct {
	cmd     *exec.Cmd
	name    wire.Name
	listen  netip.AddrPort
	admin   string
	exited  chan struct{} // closed when the process has been waited for
	exitErr error         // valid after exited is closed

	mu      sync.Mutex
	log     bytes.Buffer
	changed chan struct{} // closed and replaced at every new log line
}

var startLine = regexp.MustCompile(`^refnode \S+ name=([0-9a-f]{64}) listen=(\S+) admin=(\S+)$`)

// startNode runs refnode on loopback with fresh ports and waits for its start line.
func startNode(t *testing.T, args ...string) *node {
	t.Helper()
	n := &node{changed: make(chan struct{}), exited: make(chan struct{})}
	n.cmd = exec.Command(refnodeBin, append([]string{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, args...)...)
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.log.WriteString(sc.Text() + "\n")
			close(n.changed)
			n.changed = make(chan struct{})
			n.mu.Unlock()
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe, so read it to the end first
		n.exitErr = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		_ = n.cmd.Process.Kill()
		<-n.exited
		if t.Failed() {
			t.Logf("refnode log:\n%s", n.logText())
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	line, err := n.waitLog(ctx, startLine.MatchString)
	if err != nil {
		t.Fatalf("refnode printed no start line: %v", err)
	}
	m := startLine.FindStringSubmatch(line)
	if n.name, err = wire.ParseName(m[1]); err != nil {
		t.Fatal(err)
	}
	if n.listen, err = netip.ParseAddrPort(m[2]); err != nil {
		t.Fatal(err)
	}
	n.admin = m[3]
	return n
}

func (n *node) logText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// waitLog waits for a log line for which match is true and returns it.
func (n *node) waitLog(ctx context.Context, match func(string) bool) (string, error) {
	for {
		n.mu.Lock()
		for _, line := range strings.Split(n.log.String(), "\n") {
			if match(line) {
				n.mu.Unlock()
				return line, nil
			}
		}
		changed := n.changed
		n.mu.Unlock()
		select {
		case <-changed:
		case <-n.exited:
			return "", fmt.Errorf("refnode exited: %v", n.exitErr)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// getJSON reads an admin API endpoint.
func (n *node) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + n.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial connects a fresh random peer to n and closes it at the end of the test.
func dial(t *testing.T, n *node, opts ...Option) *Conn {
	t.Helper()
	c, err := Dial(timeout(t), RandomIdentity(), n.name, n.listen, opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", n.listen, err)
	}
	t.Cleanup(func() { _ = c.Close(wire.CodeNoError) })
	return c
}

func seed(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestPingRoundTrip(t *testing.T) {
	n := startNode(t)
	c := dial(t, n)
	if c.RemoteName() != n.name {
		t.Fatalf("RemoteName %s, want %s", c.RemoteName(), n.name)
	}
	payload := []byte("stableset ping payload")
	for _, p := range [][]byte{payload, nil, make([]byte, wire.MaxBodySize)} {
		rtt, err := c.Ping(timeout(t), p)
		if err != nil {
			t.Fatal(err)
		}
		if rtt <= 0 {
			t.Fatalf("rtt %v", rtt)
		}
	}
	frames := c.Frames()
	if len(frames) != 3 {
		t.Fatalf("recorded %d frames, want 3: %v", len(frames), frames)
	}
	first := frames[0]
	if first.Header.Type != wire.TypePong || first.Header.ID != 1 || !bytes.Equal(first.Body, payload) || first.At.IsZero() {
		t.Fatalf("first frame %v body %q, want PONG id=1 with the payload", first, first.Body)
	}
	if want := StablesetID([]wire.Member{{Name: n.name}}); first.Header.Stableset != want {
		t.Fatalf("PONG stableset field %x, want the id of the node alone at ordinal 0 %x (WIRE-10)", first.Header.Stableset, want)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].At.Before(frames[i-1].At) {
			t.Fatal("frame timestamps go backwards")
		}
	}
	sent, received := c.Counts()
	if sent[wire.TypePing] != 3 || received[wire.TypePong] != 3 || len(sent) != 1 || len(received) != 1 {
		t.Fatalf("counts sent %v received %v, want 3 PINGs and 3 PONGs", sent, received)
	}
	if c.Err() != nil || c.Closed() != nil {
		t.Fatalf("connection ended: %v %v", c.Err(), c.Closed())
	}
}

// Frames the node has no use for are ignored, and the connection stays open (WIRE-9, WIRE-11).
func TestIgnoredFramesKeepTheConnection(t *testing.T) {
	n := startNode(t)
	c := dial(t, n)
	self := RandomIdentity()
	m := wire.Member{Name: self.Name(), Ordinal: 0, Addr: netip.MustParseAddrPort("127.0.0.1:4000")}
	obs := wire.Observation{Kind: wire.ChangeJoin, Member: m}
	ss := self.StablesetID()
	for _, f := range []struct {
		typ  wire.Type
		body []byte
	}{
		{wire.TypeStableset, wire.AppendStableset(nil, []wire.Member{m}, nil, nil)},
		{wire.TypeWitnessRequest, obs.Append(nil)},
		{wire.TypePong, []byte("unsolicited")}, // answers no request
		{wire.TypeWitness, obs.Append(nil)},    // answers no request
	} {
		if err := c.Send(f.typ, 1000, ss, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Ping(timeout(t), []byte("still there")); err != nil {
		t.Fatal(err)
	}
	if frames := c.Frames(); len(frames) != 1 {
		t.Fatalf("node sent %v, want only the PONG", frames)
	}
	if c.Closed() != nil {
		t.Fatalf("connection ended: %v", c.Closed())
	}
}

func TestWrongNameFailsTheDial(t *testing.T) {
	n := startNode(t)
	wrong := NameFromSeed(seed(0x22))
	_, err := Dial(timeout(t), RandomIdentity(), wrong, n.listen)
	var mismatch *NameMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("dial with the wrong name: %v, want a *NameMismatchError", err)
	}
	if mismatch.Got != n.name || mismatch.Expected != wrong {
		t.Fatalf("mismatch %+v, want expected %s got %s", mismatch, wrong, n.name)
	}

	c := dial(t, n, AcceptAnyName())
	if c.RemoteName() != n.name {
		t.Fatalf("RemoteName %s, want %s", c.RemoteName(), n.name)
	}
}

// awaitPong checks that the node still accepts and serves a fresh connection (TRN-4).
func awaitPong(t *testing.T, n *node) {
	t.Helper()
	c, err := Dial(timeout(t), RandomIdentity(), n.name, n.listen)
	if err != nil {
		t.Fatalf("node does not accept a fresh connection: %v", err)
	}
	defer c.Close(wire.CodeNoError)
	if _, err := c.Ping(timeout(t), []byte("after")); err != nil {
		t.Fatalf("node does not serve a fresh connection: %v", err)
	}
}

func TestNodeClosesOnBadFrames(t *testing.T) {
	n := startNode(t)
	var ss wire.StablesetID
	ping, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: 7}, []byte("hello"))
	cases := []struct {
		name string
		do   func(c *Conn) error
		want wire.Code
	}{
		{"oversize length prefix", func(c *Conn) error { return c.SendRaw([]byte{0x00, 0x01, 0x00, 0x01}) }, wire.CodeFrameTooLarge},
		{"length below header", func(c *Conn) error {
			return c.SendRaw(append([]byte{0, 0, 0, wire.HeaderSize - 1}, make([]byte, wire.HeaderSize-1)...))
		}, wire.CodeMalformed},
		{"unknown type", func(c *Conn) error { return c.Send(0x7f, 1, ss, nil) }, wire.CodeUnknownType},
		{"WITNESS body of wrong length", func(c *Conn) error { return c.Send(wire.TypeWitness, 1, ss, make([]byte, wire.ObservationSize-1)) }, wire.CodeMalformed},
		{"FIN after part of a frame", func(c *Conn) error {
			if err := c.SendRaw(ping[:20]); err != nil {
				return err
			}
			return c.CloseWrite()
		}, wire.CodeFrameTruncated},
		{"FIN inside the length", func(c *Conn) error {
			if err := c.SendRaw(ping[:2]); err != nil {
				return err
			}
			return c.CloseWrite()
		}, wire.CodeFrameTruncated},
	}
	t.Run("FIN between frames", func(t *testing.T) {
		// WIRE-4: an orderly end. The node answers what arrived before the FIN and ends its own
		// side; this peer, which ended first, then closes with NO_ERROR.
		c := dial(t, n)
		big, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: 8}, make([]byte, 30000))
		if err := c.SendRaw(big); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		info, err := c.WaitClosed(timeout(t))
		if err != nil {
			t.Fatal(err)
		}
		if !info.Application || info.Code != wire.CodeNoError {
			t.Fatalf("connection ended with %v, want NO_ERROR", info)
		}
		if _, err := c.WaitFrame(timeout(t), func(f Frame) bool { return f.Header.ID == 8 && len(f.Body) == 30000 }); err != nil {
			t.Fatalf("the PONG owed before the FIN was lost: %v", err)
		}
		if c2, err := Dial(timeout(t), RandomIdentity(), n.name, n.listen); err != nil {
			t.Fatalf("node does not accept a new peer: %v", err)
		} else {
			_ = c2.Close(wire.CodeNoError)
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, n)
			if err := tc.do(c); err != nil {
				t.Fatal(err)
			}
			info, err := c.WaitClosed(timeout(t))
			if err != nil {
				t.Fatal(err)
			}
			if !info.Remote || !info.Application || info.Code != tc.want {
				t.Fatalf("connection ended with %v, want the node to close it with %v", info, tc.want)
			}
			var ae *quic.ApplicationError
			if !errors.As(c.Err(), &ae) || !ae.Remote {
				t.Fatalf("Err() = %v, want the node's close", c.Err())
			}
			awaitPong(t, n)
		})
	}
}

func TestNameFromSeed(t *testing.T) {
	s := seed(0x11)
	n := startNode(t, "--seed", hex.EncodeToString(s))
	if got := NameFromSeed(s); got != n.name {
		t.Fatalf("NameFromSeed %s, node's start line says %s", got, n.name)
	}
	var info struct {
		Name string `json:"name"`
		Addr string `json:"addr"`
	}
	n.getJSON(t, "/v1/node", &info)
	if info.Name != NameFromSeed(s).String() || info.Addr != n.listen.String() {
		t.Fatalf("GET /v1/node says %+v, want name %s addr %s", info, NameFromSeed(s), n.listen)
	}
	// The value the node's own test suite relies on (refnode/cmd/refnode), computed independently.
	if got := NameFromSeed(seed(0x11)).String(); got != "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737" {
		t.Fatalf("NameFromSeed(0x11 x 32) = %s", got)
	}
	if _, err := NewIdentity(make([]byte, 31)); err == nil {
		t.Fatal("NewIdentity accepted a 31-byte seed")
	}
}

// A node dials its bootstrap peers at start with a PING (NC-8); the peer is one of them.
func TestListenerAcceptsBootstrapDial(t *testing.T) {
	l, err := Listen(RandomIdentity(), netip.MustParseAddrPort("127.0.0.1:0"), AnswerPings())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	n := startNode(t, "--bootstrap", l.Bootstrap())
	c, err := l.Accept(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteName() != n.name {
		t.Fatalf("accepted %s, want the node %s", c.RemoteName(), n.name)
	}
	ping, err := c.WaitFrame(timeout(t), func(f Frame) bool { return f.Header.Type == wire.TypePing })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.waitLog(timeout(t), func(line string) bool {
		return strings.Contains(line, "bootstrap peer answered") && strings.Contains(line, l.Name().String())
	}); err != nil {
		t.Fatalf("node did not log the PONG to its PING id=%d: %v", ping.Header.ID, err)
	}
	// The stream the node opened carries frames both ways (TRN-2).
	if _, err := c.Ping(timeout(t), []byte("back")); err != nil {
		t.Fatal(err)
	}
	sent, received := c.Counts()
	if sent[wire.TypePong] != 1 || sent[wire.TypePing] != 1 || received[wire.TypePing] != 1 || received[wire.TypePong] != 1 {
		t.Fatalf("counts sent %v received %v", sent, received)
	}
}

// ID-7: a handshake offering no matching ALPN fails (TLS no_application_protocol, CRYPTO_ERROR 0x178).
func TestALPNMismatchFails(t *testing.T) {
	n := startNode(t)
	_, err := Dial(timeout(t), RandomIdentity(), n.name, n.listen, WithALPN("stableset/1"))
	var te *quic.TransportError
	if !errors.As(err, &te) || te.ErrorCode != 0x178 {
		t.Fatalf("dial with ALPN stableset/1: %v, want CRYPTO_ERROR 0x178", err)
	}
	awaitPong(t, n)
}

// ID-4, ID-6: the node accepts only a single, self-signed ed25519 certificate, whatever its dates.
func TestNodeChecksClientCertificates(t *testing.T) {
	n := startNode(t)
	t.Run("expired", func(t *testing.T) {
		c := dial(t, n, WithCertificate(CertExpired))
		if _, err := c.Ping(timeout(t), nil); err != nil {
			t.Fatalf("node rejected an expired certificate (ID-4 says dates are not checked): %v", err)
		}
	})
	for _, kind := range []CertKind{CertNotSelfSigned, CertNotEd25519, CertChainOfTwo} {
		t.Run(kind.String(), func(t *testing.T) {
			c, err := Dial(timeout(t), RandomIdentity(), n.name, n.listen, WithCertificate(kind))
			var info *CloseInfo
			how := "the dial failed"
			if err == nil {
				how = "the connection closed after the dial"
				// In TLS 1.3 the client finishes first; the node's rejection arrives as a close.
				defer c.Close(wire.CodeNoError)
				_ = c.SendRaw([]byte{0}) // a frame would reach the node only if it had accepted
				if info, err = c.WaitClosed(timeout(t)); err != nil {
					t.Fatalf("node accepted a %v certificate: %v", kind, err)
				}
			} else {
				info = closeInfoOf(err, time.Now())
			}
			if !info.Remote || info.Application || info.TransportCode < 0x100 || info.TransportCode > 0x1ff {
				t.Fatalf("%v certificate: %v, want the node to fail the handshake with a CRYPTO_ERROR", kind, info)
			}
			t.Logf("%v certificate rejected, %s: %v", kind, how, info)
		})
	}
	awaitPong(t, n)
}

// TRN-5: on SIGTERM the node closes every connection with SHUTDOWN.
func TestShutdownClosesWithShutdown(t *testing.T) {
	n := startNode(t)
	c := dial(t, n)
	if _, err := c.Ping(timeout(t), nil); err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	info, err := c.WaitClosed(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Remote || !info.Application || info.Code != wire.CodeShutdown {
		t.Fatalf("connection ended with %v, want the node's SHUTDOWN", info)
	}
	select {
	case <-n.exited:
		if n.exitErr != nil {
			t.Fatalf("refnode exited with %v", n.exitErr)
		}
	case <-timeout(t).Done():
		t.Fatal("refnode did not exit after SIGTERM")
	}
}

// Two scripted peers talk to each other: the listener side records a bad frame as an error
// instead of failing, and closes with the code SPEC.md gives.
func TestPeerRecordsBadFramesFromTheOtherSide(t *testing.T) {
	server := RandomIdentity()
	l, err := Listen(server, netip.MustParseAddrPort("127.0.0.1:0"), AnswerPings())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	if _, err := Dial(timeout(t), RandomIdentity(), NameFromSeed(seed(3)), l.Addr()); !errors.As(err, new(*NameMismatchError)) {
		t.Fatalf("dial with the wrong name: %v", err)
	}

	accepted := make(chan *Conn, 1)
	go func() {
		c, err := l.Accept(timeout(t))
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	d, err := Dial(timeout(t), RandomIdentity(), server.Name(), l.Addr(), FromIP(netip.MustParseAddr("127.0.0.2")))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(wire.CodeNoError)
	if d.LocalAddr().Addr() != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("dialed from %v, want 127.0.0.2", d.LocalAddr())
	}
	if _, err := d.Ping(timeout(t), []byte("p2p")); err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	if a == nil {
		t.FailNow()
	}
	if a.RemoteAddr() != d.LocalAddr() {
		t.Fatalf("accepted from %v, dialer is at %v", a.RemoteAddr(), d.LocalAddr())
	}
	if err := d.Send(wire.TypeWitnessRequest, 9, wire.StablesetID{}, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	info, err := d.WaitClosed(timeout(t))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Remote || info.Code != wire.CodeMalformed {
		t.Fatalf("dialer saw %v, want a remote MALFORMED close", info)
	}
	if info, err := a.WaitClosed(timeout(t)); err != nil || info.Remote || info.Code != wire.CodeMalformed {
		t.Fatalf("listener side close %v (%v), want a local MALFORMED close", info, err)
	}
	var bad *BadFrameError
	if !errors.As(a.Err(), &bad) || bad.Err != wire.ErrBodyLength {
		t.Fatalf("listener side Err() = %v, want a *BadFrameError for the body length", a.Err())
	}
	if _, err := a.WaitFrame(timeout(t), func(f Frame) bool { return f.Header.Type == wire.TypeWitnessRequest }); err == nil {
		t.Fatal("WaitFrame found the bad frame")
	} else if !errors.As(err, &bad) {
		t.Fatalf("WaitFrame after the bad frame: %v", err)
	}
	if _, err := d.Ping(timeout(t), nil); !errors.As(err, new(*quic.ApplicationError)) {
		t.Fatalf("Ping on a closed connection: %v, want the close error", err)
	}
}

func TestNodeAllowsNoSecondStream(t *testing.T) {
	n := startNode(t)
	c := dial(t, n)
	var limit *quic.StreamLimitReachedError // quic-go returns a pointer
	if err := c.TryOpenStream(); !errors.As(err, &limit) {
		t.Fatalf("second stream: err = %v, want StreamLimitReachedError", err)
	}
	st := c.State()
	if st.TLS.NegotiatedProtocol != wire.ALPN || st.Version != quic.Version1 || len(st.TLS.PeerCertificates) != 1 {
		t.Fatalf("state: alpn %q version %v certs %d", st.TLS.NegotiatedProtocol, st.Version, len(st.TLS.PeerCertificates))
	}
}

// TRN-2: ResetStream and StopSending end the connection's only stream; the node closes the
// connection with PROTOCOL_VIOLATION.
func TestNodeClosesWhenTheStreamIsResetOrStopped(t *testing.T) {
	n := startNode(t)
	ping, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: 7}, []byte("hello"))
	cases := []struct {
		name string
		do   func(c *Conn) error
	}{
		{"reset between frames", func(c *Conn) error { c.ResetStream(wire.CodeNoError); return nil }},
		{"reset inside a frame", func(c *Conn) error {
			if err := c.SendRaw(ping[:9]); err != nil {
				return err
			}
			c.ResetStream(wire.CodeNoError)
			return nil
		}},
		{"stop sending", func(c *Conn) error {
			c.StopSending(wire.CodeNoError)
			// The node may have closed already; if not, this PING makes it write.
			_ = c.Send(wire.TypePing, 8, wire.StablesetID{}, nil)
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, n)
			if _, err := c.Ping(timeout(t), nil); err != nil {
				t.Fatal(err)
			}
			if err := tc.do(c); err != nil {
				t.Fatal(err)
			}
			info, err := c.WaitClosed(timeout(t))
			if err != nil {
				t.Fatal(err)
			}
			if !info.Remote || !info.Application || info.Code != wire.CodeProtocolViolation {
				t.Fatalf("connection ended with %v, want the node to close it with PROTOCOL_VIOLATION", info)
			}
			awaitPong(t, n)
		})
	}
}
