package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/transport"
	"github.com/stableset/sskit/refnode/wire"
)

// The QUIC settings of both QUIC paths: the transport's defaults (transport.Config, SPEC.md TRN-6).
const (
	keepAlive   = 2 * time.Second
	idleTimeout = 10 * time.Second
)

// witnessBody is the payload of every round trip: one encoded observation (59 bytes), which a
// full frame turns into 104 bytes on the wire.
func witnessBody() []byte {
	var name wire.Name
	for i := range name {
		name[i] = byte(i + 1)
	}
	obs := wire.Observation{Kind: wire.ChangeJoin, Member: wire.Member{
		Name: name, Ordinal: 7, Addr: netip.MustParseAddrPort("127.0.0.1:4001"),
	}}
	return obs.Append(nil)
}

// rig is one way of sending the witness body to an echo server and reading the answer.
type rig interface {
	// roundTrip sends one WITNESS_REQUEST and appends the WITNESS body it gets back to dst.
	roundTrip(dst []byte) ([]byte, error)
}

// impls are the paths compared, in the order they are benchmarked.
var impls = []struct {
	name  string
	setup func(testing.TB) rig
}{
	{"sskit", newSskitRig},
	{"rawquic", newRawQUICRig},
	{"tcp", newTCPRig},
}

// --- sskit: two transport.Endpoints ---

type sskitRig struct {
	ctx    context.Context
	client *transport.Endpoint
	name   wire.Name
	addr   netip.AddrPort
	body   []byte
}

func newSskitRig(tb testing.TB) rig {
	tb.Helper()
	echo := func(p *transport.Peer, h wire.Header, body []byte) {
		if h.Type == wire.TypeWitnessRequest {
			_ = p.Respond(h.ID, wire.TypeWitness, body)
		}
	}
	server := listen(tb, echo)
	client := listen(tb, nil)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	r := &sskitRig{ctx: ctx, client: client, name: server.Name(), addr: server.Addr(), body: witnessBody()}
	dialCtx, cancelDial := context.WithTimeout(ctx, 10*time.Second)
	defer cancelDial()
	if _, err := client.Connect(dialCtx, r.name, r.addr); err != nil {
		tb.Fatalf("connect: %v", err)
	}
	checkEcho(tb, r, r.body)
	return r
}

func listen(tb testing.TB, h transport.Handler) *transport.Endpoint {
	tb.Helper()
	id, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	ep, err := transport.Listen(transport.Config{
		Identity: id, Listen: "127.0.0.1:0", Handler: h, KeepAlive: keepAlive, IdleTimeout: idleTimeout,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ep.Close() })
	return ep
}

func (r *sskitRig) roundTrip(dst []byte) ([]byte, error) {
	return r.client.Request(r.ctx, r.name, r.addr, wire.TypeWitnessRequest, r.body, dst)
}

// --- shared framing of the raw paths ---

var errBadEcho = errors.New("bench: echo is not the WITNESS answering the request")

// frameClient sends requests and reads answers on one long-lived stream, the way the transport
// frames them, with buffers it reuses.
type frameClient struct {
	rw   io.ReadWriter
	fr   *wire.FrameReader
	wbuf []byte
	id   uint64
	body []byte
}

func newFrameClient(rw io.ReadWriter) *frameClient {
	return &frameClient{rw: rw, fr: wire.NewFrameReader(rw), wbuf: make([]byte, 0, 512), body: witnessBody()}
}

func (c *frameClient) roundTrip(dst []byte) ([]byte, error) {
	c.id++
	var err error
	if c.wbuf, err = wire.AppendFrame(c.wbuf[:0], wire.Header{Type: wire.TypeWitnessRequest, ID: c.id}, c.body); err != nil {
		return dst, err
	}
	if _, err := c.rw.Write(c.wbuf); err != nil {
		return dst, err
	}
	h, body, err := c.fr.Next()
	if err != nil {
		return dst, err
	}
	if h.Type != wire.TypeWitness || h.ID != c.id {
		return dst, errBadEcho
	}
	return append(dst, body...), nil
}

// serveEcho answers every WITNESS_REQUEST read from rw with a WITNESS carrying the same id and
// body, until the stream ends or a frame is not a WITNESS_REQUEST.
func serveEcho(rw io.ReadWriter) error {
	fr := wire.NewFrameReader(rw)
	buf := make([]byte, 0, 512)
	for {
		h, body, err := fr.Next()
		if err != nil {
			return err
		}
		if h.Type != wire.TypeWitnessRequest {
			return fmt.Errorf("bench: echo server got %v", h.Type)
		}
		if buf, err = wire.AppendFrame(buf[:0], wire.Header{Type: wire.TypeWitness, ID: h.ID, Stableset: h.Stableset}, body); err != nil {
			return err
		}
		if _, err := rw.Write(buf); err != nil {
			return err
		}
	}
}

// --- rawquic: plain quic-go, same TLS, QUIC settings and framing as the transport ---

func newRawQUICRig(tb testing.TB) rig {
	tb.Helper()
	serverID, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	clientID, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(wg.Wait) // cleanups run last-registered first: this runs after everything below
	tb.Cleanup(cancel)

	serverTr := quicTransport(tb)
	clientTr := quicTransport(tb)
	// As the transport: the dialer opens the pair's one stream, the acceptor accepts exactly one.
	dialCfg := &quic.Config{KeepAlivePeriod: keepAlive, MaxIdleTimeout: idleTimeout, MaxIncomingStreams: -1, MaxIncomingUniStreams: -1}
	listenCfg := &quic.Config{KeepAlivePeriod: keepAlive, MaxIdleTimeout: idleTimeout, MaxIncomingStreams: 1, MaxIncomingUniStreams: -1,
		RequireStreamCreditRelease: true}
	ln, err := serverTr.Listen(serverID.ServerTLS(), listenCfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ln.Close() })

	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		stream, err := conn.AcceptStream(ctx) // appears with the client's first frame
		if err != nil {
			_ = conn.CloseWithError(1, err.Error())
			return
		}
		if err := serveEcho(stream); err != nil {
			_ = conn.CloseWithError(1, err.Error())
		}
	}()

	dialCtx, cancelDial := context.WithTimeout(ctx, 10*time.Second)
	defer cancelDial()
	conn, err := clientTr.Dial(dialCtx, net.UDPAddrFromAddrPort(udpAddr(serverTr)), clientID.ClientTLS(serverID.Name), dialCfg)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { _ = conn.CloseWithError(0, "done") })
	stream, err := conn.OpenStream()
	if err != nil {
		tb.Fatalf("open stream: %v", err)
	}
	c := newFrameClient(stream)
	checkEcho(tb, c, c.body)
	return c
}

// quicTransport is a quic.Transport on its own loopback UDP socket, closed at cleanup.
func quicTransport(tb testing.TB) *quic.Transport {
	tb.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	tb.Cleanup(func() {
		_ = tr.Close()
		_ = udp.Close()
	})
	return tr
}

func udpAddr(tr *quic.Transport) netip.AddrPort {
	return tr.Conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// --- tcp: one loopback TCP connection, same framing ---

func newTCPRig(tb testing.TB) rig {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(wg.Wait)
	tb.Cleanup(func() { _ = ln.Close() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = serveEcho(conn)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	c := newFrameClient(conn)
	checkEcho(tb, c, c.body)
	return c
}

// checkEcho makes one round trip and checks that the body came back unchanged.
func checkEcho(tb testing.TB, r rig, body []byte) {
	tb.Helper()
	got, err := r.roundTrip(nil)
	if err != nil {
		tb.Fatalf("first round trip: %v", err)
	}
	if !bytes.Equal(got, body) {
		tb.Fatalf("echo differs: got %x, want %x", got, body)
	}
}

// BenchmarkRoundTrip runs one request/response of a witness-sized frame over each path. Compare
// the paths with: benchstat -col /impl.
func BenchmarkRoundTrip(b *testing.B) {
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			r := impl.setup(b)
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = r.roundTrip(dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
			if len(dst) != wire.ObservationSize {
				b.Fatalf("last answer has %d bytes, want %d", len(dst), wire.ObservationSize)
			}
		})
	}
}

// TestRoundTripAllocsMatchRawQUIC keeps the transport from allocating per round trip beyond what
// quic-go itself does. Counts are process-wide, so they include both ends and quic-go's
// goroutines; quic-go's own count varies a little, hence the margin of one.
func TestRoundTripAllocsMatchRawQUIC(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random, so allocation counts mean nothing")
	}
	const warmup, runs = 500, 1000
	measure := func(name string, setup func(testing.TB) rig) float64 {
		var allocs float64
		t.Run(name, func(t *testing.T) { // its own subtest so its endpoints close before the next
			r := setup(t)
			dst := make([]byte, 0, 256)
			roundTrip := func() {
				var err error
				if dst, err = r.roundTrip(dst[:0]); err != nil {
					t.Fatal(err)
				}
			}
			for range warmup {
				roundTrip()
			}
			allocs = testing.AllocsPerRun(runs, roundTrip)
		})
		return allocs
	}
	sskit := measure("sskit", newSskitRig)
	raw := measure("rawquic", newRawQUICRig)
	if t.Failed() {
		return
	}
	t.Logf("allocations per round trip: sskit %.2f, raw quic-go %.2f", sskit, raw)
	if sskit > raw+1 {
		t.Errorf("sskit allocates %.2f times per round trip, raw quic-go %.2f: the transport adds %.2f",
			sskit, raw, sskit-raw)
	}
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
