// Package record encodes, signs and verifies node records: the signed statement a node makes
// about itself in neighborhood gossip. Records are relayed as the exact signed bytes and never
// re-serialised, so a relay cannot change them without breaking the signature.
//
// # Layout
//
// A signed record is, big-endian:
//
//	offset   size    field
//	0        1       format: 0x01
//	1        1       flags: bit 0 accepts connections, bit 1 has an address; bits 2-7 are 0
//	2        8       version: u64, at least 1
//	10       32      name: the node's ed25519 public key
//	42       18      address, only when flag bit 1 is set: IP as 16 bytes (IPv4 as
//	                 IPv4-mapped IPv6), then port u16; the port is not 0 and the IP is
//	                 neither unspecified nor multicast
//	42|60    1       neighbor count n: 0..255
//	43|61    32·n    neighbor names, strictly increasing bytewise (sorted, no duplicates),
//	                 never the record's own name
//	end-64   64      signature: ed25519 by name over Context followed by every byte before
//	                 the signature (the payload)
//
// A record is 107 bytes (MinSize) up to 8285 bytes (MaxSize).
//
// # Canonical form
//
// Exactly one payload encodes a given record, and View.Decode rejects every other byte string: an
// unknown format, reserved flag bits, version 0, an address that is malformed or whose presence
// disagrees with flag bit 1, neighbors out of order, repeated or equal to the name, and any byte
// missing or left over. A decoded payload re-encodes to the same bytes. The signature itself is
// not unique: ed25519 signing as done here is deterministic, but the owner of a key can make
// other valid signatures over the same payload.
//
// # Domain separation
//
// The signed message is Context ("stableset record v1" and a zero byte) followed by the payload,
// with plain Ed25519 (RFC 8032, no Ed25519ctx), so any Ed25519 library can check it and a record
// signature can never be taken for a signature over another kind of message.
//
// Decode and Verify allocate nothing of their own; the View they fill points into the caller's
// bytes.
package record

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"net/netip"

	"github.com/stableset/sskit/refnode/wire"
)

// Format is the first byte of every record of this layout.
const Format = 0x01

// Context is prefixed to the payload to make the message a record's signature covers.
const Context = "stableset record v1\x00"

// The flag bits; all others must be 0.
const (
	FlagAccepts = 1 << 0 // the node accepts connections
	FlagAddr    = 1 << 1 // an address follows the name
)

// Sizes of the layout.
const (
	NameSize      = 32                                         // a name (ed25519 public key)
	AddrSize      = 16 + 2                                     // IPv6 or IPv4-mapped IPv6, then port
	SignatureSize = ed25519.SignatureSize                      // 64
	MaxNeighbors  = 255                                        // the count is one byte
	MinSize       = 1 + 1 + 8 + NameSize + 1 + SignatureSize   // no address, no neighbors: 107
	MaxSize       = MinSize + AddrSize + MaxNeighbors*NameSize // 8285

	nameOff    = 10                                     // offset of the name
	addrOff    = nameOff + NameSize                     // offset of the address, when present
	maxMessage = len(Context) + MaxSize - SignatureSize // the longest signed message
)

// Record is a node's statement about itself, as its owner builds it before signing and as
// View.Record returns it.
type Record struct {
	Name      wire.Name      // the node's public key; the record must be signed with its private key
	Version   uint64         // 1 for the first record, then exactly 1 more for each change
	Accepts   bool           // the node accepts connections
	Addr      netip.AddrPort // the node's address; the zero value means none
	Neighbors []wire.Name    // strictly increasing bytewise, at most MaxNeighbors, never Name
}

// AppendSigned checks that r is valid and that key is r.Name's private key, then appends the
// signed record to dst. On error it returns dst unchanged. An IPv4-mapped IPv6 address is
// encoded as the IPv4 address it maps, so it decodes as that IPv4 address.
func (r *Record) AppendSigned(dst []byte, key ed25519.PrivateKey) ([]byte, error) {
	if err := r.check(); err != nil {
		return dst, err
	}
	if len(key) != ed25519.PrivateKeySize || !bytes.Equal(key[ed25519.SeedSize:], r.Name[:]) {
		return dst, ErrKey
	}
	start := len(dst)
	dst = r.appendPayload(dst)
	var msg [maxMessage]byte
	n := copy(msg[:], Context)
	n += copy(msg[n:], dst[start:])
	sig := ed25519.Sign(key, msg[:n])
	// The public half of an ed25519.PrivateKey is not checked against its seed by Sign; a key
	// whose halves disagree would sign records nobody can verify.
	if !verifySignature(r.Name[:], msg[:n], sig) {
		return dst[:start], ErrKey
	}
	return append(dst, sig...), nil
}

// check reports the first reason r cannot be encoded in canonical form.
func (r *Record) check() error {
	if r.Version == 0 {
		return ErrVersionZero
	}
	if len(r.Neighbors) > MaxNeighbors {
		return ErrTooManyNeighbors
	}
	for i := range r.Neighbors {
		if r.Neighbors[i] == r.Name {
			return ErrSelfNeighbor
		}
		if i > 0 && bytes.Compare(r.Neighbors[i-1][:], r.Neighbors[i][:]) >= 0 {
			return ErrNeighborOrder
		}
	}
	if r.Addr == (netip.AddrPort{}) {
		return nil
	}
	ip := r.Addr.Addr()
	if !ip.IsValid() || ip.Zone() != "" {
		return ErrAddress
	}
	return checkAddr(ip.Unmap(), r.Addr.Port())
}

// checkAddr applies the address rules of the layout to an unmapped IP and a port.
func checkAddr(ip netip.Addr, port uint16) error {
	if port == 0 {
		return ErrPortZero
	}
	if ip.IsUnspecified() || ip.IsMulticast() {
		return ErrAddress
	}
	return nil
}

// appendPayload appends every byte of the record before the signature. r must be valid.
func (r *Record) appendPayload(dst []byte) []byte {
	var flags byte
	if r.Accepts {
		flags |= FlagAccepts
	}
	hasAddr := r.Addr.Addr().IsValid()
	if hasAddr {
		flags |= FlagAddr
	}
	dst = append(dst, Format, flags)
	dst = binary.BigEndian.AppendUint64(dst, r.Version)
	dst = append(dst, r.Name[:]...)
	if hasAddr {
		ip := r.Addr.Addr().As16() // IPv4 becomes IPv4-mapped IPv6
		dst = append(dst, ip[:]...)
		dst = binary.BigEndian.AppendUint16(dst, r.Addr.Port())
	}
	dst = append(dst, byte(len(r.Neighbors)))
	for i := range r.Neighbors {
		dst = append(dst, r.Neighbors[i][:]...)
	}
	return dst
}
