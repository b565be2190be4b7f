package peer

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/stableset/sskit/refnode/wire"
)

// This file is the peer's own implementation of the records and gossip bodies of SPEC.md §9. It
// shares no code with refnode/record or refnode/gossip, so that the two check each other, and it
// encodes whatever it is given: records out of order, with forged names or broken signatures,
// which a scripted malefactor sends on purpose.

// recordContext is prefixed to a record's bytes to make the message its signature covers.
const recordContext = "stableset record v1\x00"

// Record is a node record as a peer writes it or reads it.
type Record struct {
	Name      wire.Name
	Version   uint64
	Accepts   bool
	Addr      netip.AddrPort // zero: no address
	Neighbors []wire.Name    // written in the order given
}

// Lists reports whether the record names n as a neighbor.
func (r *Record) Lists(n wire.Name) bool { return slices.Contains(r.Neighbors, n) }

// payload encodes every byte of r before the signature.
func (r *Record) payload() []byte {
	flags := byte(0)
	if r.Accepts {
		flags |= 1
	}
	if r.Addr.IsValid() {
		flags |= 2
	}
	b := []byte{0x01, flags}
	b = binary.BigEndian.AppendUint64(b, r.Version)
	b = append(b, r.Name[:]...)
	if r.Addr.IsValid() {
		ip := r.Addr.Addr().As16()
		b = append(b, ip[:]...)
		b = binary.BigEndian.AppendUint16(b, r.Addr.Port())
	}
	b = append(b, byte(len(r.Neighbors)))
	for _, n := range r.Neighbors {
		b = append(b, n[:]...)
	}
	return b
}

// SignRecord encodes r and signs it with the identity's key. Neighbors are sorted first, as a
// valid record needs. With r.Name another than the identity's, the record is a forgery that
// no one can verify.
func (id *Identity) SignRecord(r Record) []byte {
	r.Neighbors = slices.Clone(r.Neighbors)
	slices.SortFunc(r.Neighbors, func(a, b wire.Name) int { return bytes.Compare(a[:], b[:]) })
	p := r.payload()
	sig := ed25519.Sign(id.key, append([]byte(recordContext), p...))
	return append(p, sig...)
}

// GossipBody puts signed records into a GOSSIP body in the order given (SPEC.md §9 asks for
// increasing name order; SortRecords gives it).
func GossipBody(records ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(records)))
	for _, r := range records {
		b = binary.BigEndian.AppendUint16(b, uint16(len(r)))
		b = append(b, r...)
	}
	return b
}

// SortRecords orders signed records by name, as a valid GOSSIP body has them.
func SortRecords(records ...[]byte) [][]byte {
	out := slices.Clone(records)
	slices.SortFunc(out, func(a, b []byte) int { return bytes.Compare(a[10:42], b[10:42]) })
	return out
}

// SignedRecord is one record of a gossip the node sent: its fields and its exact bytes.
type SignedRecord struct {
	Record
	Bytes []byte
}

// ParseGossip reads a GOSSIP body and checks every record's layout and signature, and that
// the records are in strictly increasing order of name.
func ParseGossip(body []byte) ([]SignedRecord, error) {
	if len(body) < 2 {
		return nil, errors.New("gossip: shorter than its count")
	}
	n := int(binary.BigEndian.Uint16(body))
	if n == 0 {
		return nil, errors.New("gossip: no record")
	}
	rest := body[2:]
	var out []SignedRecord
	for i := range n {
		if len(rest) < 2 {
			return nil, fmt.Errorf("gossip: record %d: length missing", i)
		}
		size := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+size {
			return nil, fmt.Errorf("gossip: record %d: %d bytes announced, %d left", i, size, len(rest)-2)
		}
		raw := rest[2 : 2+size]
		rest = rest[2+size:]
		r, err := parseRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("gossip: record %d: %w", i, err)
		}
		if i > 0 && bytes.Compare(out[i-1].Name[:], r.Name[:]) >= 0 {
			return nil, fmt.Errorf("gossip: record %d is not after record %d in name order", i, i-1)
		}
		out = append(out, SignedRecord{Record: r, Bytes: bytes.Clone(raw)})
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("gossip: %d bytes after the last record", len(rest))
	}
	return out, nil
}

func parseRecord(b []byte) (Record, error) {
	var r Record
	const fixed = 1 + 1 + 8 + 32
	if len(b) < fixed+1+ed25519.SignatureSize {
		return r, errors.New("record too short")
	}
	if b[0] != 0x01 || b[1]&^3 != 0 {
		return r, fmt.Errorf("format %#x flags %#x", b[0], b[1])
	}
	r.Accepts = b[1]&1 != 0
	r.Version = binary.BigEndian.Uint64(b[2:])
	copy(r.Name[:], b[10:42])
	off := fixed
	if b[1]&2 != 0 {
		if len(b) < off+18+1+ed25519.SignatureSize {
			return r, errors.New("record too short for its address")
		}
		ip := netip.AddrFrom16([16]byte(b[off : off+16])).Unmap()
		r.Addr = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[off+16:]))
		off += 18
	}
	count := int(b[off])
	off++
	if len(b) != off+32*count+ed25519.SignatureSize {
		return r, fmt.Errorf("record of %d bytes for %d neighbors", len(b), count)
	}
	for i := range count {
		var n wire.Name
		copy(n[:], b[off+32*i:])
		if n == r.Name {
			return r, fmt.Errorf("neighbor %d is the record's own name", i)
		}
		if i > 0 && bytes.Compare(r.Neighbors[i-1][:], n[:]) >= 0 {
			return r, fmt.Errorf("neighbor %d is not after neighbor %d in name order", i, i-1)
		}
		r.Neighbors = append(r.Neighbors, n)
	}
	sigAt := len(b) - ed25519.SignatureSize
	if r.Version == 0 || !ed25519.Verify(r.Name[:], append([]byte(recordContext), b[:sigAt]...), b[sigAt:]) {
		return r, errors.New("version 0 or a signature that does not verify")
	}
	return r, nil
}

// SendGossip sends a GOSSIP frame with body.
func (c *Conn) SendGossip(body []byte) error {
	return c.Send(wire.TypeGossip, c.NextID(), c.self.StablesetID(), body)
}
