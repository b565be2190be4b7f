package peer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Attempt is one QUIC connection attempt a node made to a Refuser: the long-header packets that
// carried one Destination Connection ID. A client chooses a new, unpredictable Destination
// Connection ID for every connection it starts (RFC 9000 §7.2), so each new one is a fresh
// connection; the same one again is the same attempt, its Initial sent again.
type Attempt struct {
	At      time.Time // when its first packet arrived
	From    netip.AddrPort
	Version uint32 // the QUIC version of its first packet
	DCID    []byte // Destination Connection ID
	SCID    []byte // Source Connection ID of its first packet
	Packets int    // datagrams that carried it
}

// String describes the attempt in one line, for test logs.
func (a Attempt) String() string {
	return fmt.Sprintf("version 0x%08x dcid %s from %s, %d packet(s)", a.Version, hex.EncodeToString(a.DCID), a.From, a.Packets)
}

// reservedVersion is a version that no implementation supports (RFC 9000 §15, the pattern
// 0x?a?a?a?a), the only one a Refuser offers.
const reservedVersion = 0x1a2a3a4a

// Refuser is a UDP socket at which no QUIC version a node speaks is to be had. It answers every
// long-header packet with a Version Negotiation packet (RFC 9000 §17.2.1) that offers only a
// reserved version, so that a client of QUIC version 1 abandons the connection attempt at once
// (RFC 9000 §6.2): a dial that fails within a round trip, and not for a name mismatch. It records
// every connection attempt with its arrival time. It never completes a handshake, so it learns no
// name and reads no frame.
type Refuser struct {
	udp  *net.UDPConn
	addr netip.AddrPort
	done chan struct{} // closed when the reader has stopped

	mu       sync.Mutex
	attempts []Attempt
	byDCID   map[string]int // index in attempts
	replyErr error          // the first failure to send a Version Negotiation packet
	changed  chan struct{}  // closed and replaced whenever attempts change
}

// Refuse opens a UDP socket on addr (port 0 picks one) and refuses every QUIC connection attempt
// that arrives on it.
func Refuse(addr netip.AddrPort) (*Refuser, error) {
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("peer: refuser on %s: %w", addr, err)
	}
	r := &Refuser{
		udp: udp, addr: udp.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{}),
		byDCID: map[string]int{}, changed: make(chan struct{}),
	}
	go r.readLoop()
	return r, nil
}

// Addr is the UDP address the Refuser receives on.
func (r *Refuser) Addr() netip.AddrPort { return r.addr }

func (r *Refuser) readLoop() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := r.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		at := time.Now()
		version, dcid, scid, ok := parseLongHeader(buf[:n])
		if !ok {
			continue // a short-header packet, a Version Negotiation packet or garbage: no attempt
		}
		r.record(at, from, version, dcid, scid)
		if _, err := r.udp.WriteToUDPAddrPort(versionNegotiation(dcid, scid), from); err != nil {
			r.mu.Lock()
			if r.replyErr == nil {
				r.replyErr = err
			}
			r.mu.Unlock()
		}
	}
}

func (r *Refuser) record(at time.Time, from netip.AddrPort, version uint32, dcid, scid []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := string(dcid)
	if i, ok := r.byDCID[key]; ok {
		r.attempts[i].Packets++
	} else {
		r.byDCID[key] = len(r.attempts)
		r.attempts = append(r.attempts, Attempt{At: at, From: from, Version: version,
			DCID: bytes.Clone(dcid), SCID: bytes.Clone(scid), Packets: 1})
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// Attempts returns the connection attempts so far, in the order their first packets arrived.
func (r *Refuser) Attempts() []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Attempt(nil), r.attempts...)
}

// WaitAttempts waits until n connection attempts have arrived and returns them all. When ctx ends
// first it returns those that did arrive, and an error.
func (r *Refuser) WaitAttempts(ctx context.Context, n int) ([]Attempt, error) {
	for {
		r.mu.Lock()
		got, changed, replyErr := append([]Attempt(nil), r.attempts...), r.changed, r.replyErr
		r.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-r.done:
			return got, errors.New("peer: refuser closed")
		case <-ctx.Done():
			if replyErr != nil {
				return got, fmt.Errorf("%d of %d connection attempts arrived (%w); sending Version Negotiation failed: %v", len(got), n, ctx.Err(), replyErr)
			}
			return got, fmt.Errorf("%d of %d connection attempts arrived: %w", len(got), n, ctx.Err())
		}
	}
}

// Close releases the socket.
func (r *Refuser) Close() error {
	err := r.udp.Close()
	<-r.done
	return err
}

// parseLongHeader reads the version-independent fields of a long-header packet (RFC 8999 §5.1,
// RFC 9000 §17.2): the version and both connection IDs. It reports false for a short-header
// packet, a Version Negotiation packet (version 0) and a packet too short for its fields.
func parseLongHeader(b []byte) (version uint32, dcid, scid []byte, ok bool) {
	if len(b) < 7 || b[0]&0x80 == 0 {
		return 0, nil, nil, false
	}
	version = binary.BigEndian.Uint32(b[1:5])
	if version == 0 {
		return 0, nil, nil, false
	}
	rest := b[5:]
	dl := int(rest[0])
	if len(rest) < 1+dl+1 {
		return 0, nil, nil, false
	}
	dcid, rest = rest[1:1+dl], rest[1+dl:]
	sl := int(rest[0])
	if len(rest) < 1+sl {
		return 0, nil, nil, false
	}
	return version, dcid, rest[1 : 1+sl], true
}

// versionNegotiation is the Version Negotiation packet that answers a packet with these
// connection IDs (RFC 9000 §17.2.1): the client's Source Connection ID as its destination, the
// client's Destination Connection ID as its source, and the reserved version alone.
func versionNegotiation(dcid, scid []byte) []byte {
	var first [1]byte
	_, _ = rand.Read(first[:]) // the unused bits are random; no harm if they are not
	b := make([]byte, 0, 1+4+1+len(scid)+1+len(dcid)+4)
	b = append(b, 0x80|0x40|first[0]&0x3f) // long header; the fixed bit helps demultiplexing (RFC 9443)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, byte(len(scid)))
	b = append(b, scid...)
	b = append(b, byte(len(dcid)))
	b = append(b, dcid...)
	return binary.BigEndian.AppendUint32(b, reservedVersion)
}
