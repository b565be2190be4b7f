package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/stableset/sskit/refnode/wire"
)

// A QUIC version 1 client that dials a Refuser fails at once with a version negotiation error,
// and every dial shows as one attempt with a Destination Connection ID of its own.
func TestRefuserRefusesAndRecordsEveryAttempt(t *testing.T) {
	r, err := Refuse(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	defer tr.Close()
	tlsConf := &tls.Config{NextProtos: []string{wire.ALPN}, InsecureSkipVerify: true}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := tr.Dial(ctx, net.UDPAddrFromAddrPort(r.Addr()), tlsConf, &quic.Config{HandshakeIdleTimeout: 5 * time.Second})
		cancel()
		var vn *quic.VersionNegotiationError
		if !errors.As(err, &vn) {
			t.Fatalf("dial %d: expected a version negotiation error, got %v", i+1, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("dial %d: failing took %v; a Version Negotiation packet should end it within a round trip", i+1, took)
		}
	}
	got := r.Attempts()
	if len(got) != 3 {
		t.Fatalf("expected 3 attempts, got %d: %v", len(got), got)
	}
	from := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	for i, a := range got {
		if a.Version != 1 || a.Packets < 1 || a.From != from || len(a.DCID) < 8 {
			t.Errorf("attempt %d: %v", i+1, a)
		}
		if i > 0 && (bytes.Equal(a.DCID, got[i-1].DCID) || a.At.Before(got[i-1].At)) {
			t.Errorf("attempt %d is not a new attempt after %d: %v, %v", i+1, i, got[i-1], a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if more, err := r.WaitAttempts(ctx, 4); err == nil || len(more) != 3 {
		t.Errorf("WaitAttempts(4) after 3 attempts: %d, %v", len(more), err)
	}
}

func TestParseLongHeader(t *testing.T) {
	initial := append([]byte{0xc0, 0, 0, 0, 1, 4, 1, 2, 3, 4, 2, 9, 8}, make([]byte, 20)...)
	v, dcid, scid, ok := parseLongHeader(initial)
	if !ok || v != 1 || !bytes.Equal(dcid, []byte{1, 2, 3, 4}) || !bytes.Equal(scid, []byte{9, 8}) {
		t.Errorf("Initial: %v %x %x %v", v, dcid, scid, ok)
	}
	for name, b := range map[string][]byte{
		"short header":        {0x40, 1, 2, 3, 4, 5, 6, 7},
		"version negotiation": versionNegotiation([]byte{1, 2}, []byte{3}),
		"truncated dcid":      {0xc0, 0, 0, 0, 1, 20, 1, 2},
		"truncated scid":      {0xc0, 0, 0, 0, 1, 1, 7, 5, 1},
		"too short":           {0xc0, 0, 0},
	} {
		if _, _, _, ok := parseLongHeader(b); ok {
			t.Errorf("%s: parsed as a connection attempt", name)
		}
	}
	vn := versionNegotiation([]byte{1, 2}, []byte{3})
	want := []byte{0, 0, 0, 0, 1, 3, 2, 1, 2, 0x1a, 0x2a, 0x3a, 0x4a}
	if vn[0]&0x80 == 0 || !bytes.Equal(vn[1:], want) {
		t.Errorf("Version Negotiation packet % x", vn)
	}
}
