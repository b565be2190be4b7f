package record

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/stableset/sskit/refnode/wire"
)

// View reads a signed record in place, without copying it. Decode fills it; the view is valid
// while the bytes it was given are. The zero View, and a View whose last Decode failed, hold no
// record: their accessors return zero values and Verify fails.
type View struct {
	b []byte
}

// Decode checks that b is exactly one record in canonical form and points the view at it. It
// does not check the signature (see Verify) and allocates nothing.
func (v *View) Decode(b []byte) error {
	v.b = nil
	if len(b) < MinSize {
		return ErrTooShort
	}
	if b[0] != Format {
		return ErrFormat
	}
	flags := b[1]
	if flags&^(FlagAccepts|FlagAddr) != 0 {
		return ErrFlags
	}
	if binary.BigEndian.Uint64(b[2:nameOff]) == 0 {
		return ErrVersionZero
	}
	off := addrOff
	if flags&FlagAddr != 0 {
		if len(b) < MinSize+AddrSize {
			return ErrTooShort
		}
		if err := checkAddr(addrAt(b).Addr(), addrAt(b).Port()); err != nil {
			return err
		}
		off += AddrSize
	}
	n := int(b[off])
	off++
	switch end := off + n*NameSize + SignatureSize; {
	case len(b) < end:
		return ErrTooShort
	case len(b) > end:
		return ErrTooLong
	}
	name := b[nameOff:addrOff]
	for i := 0; i < n; i++ {
		nb := b[off+i*NameSize : off+(i+1)*NameSize]
		if bytes.Equal(nb, name) {
			return ErrSelfNeighbor
		}
		if i > 0 && bytes.Compare(b[off+(i-1)*NameSize:off+i*NameSize], nb) >= 0 {
			return ErrNeighborOrder
		}
	}
	v.b = b[:len(b):len(b)]
	return nil
}

// addrAt reads the address of a record whose flag bit 1 is set, IPv4-mapped IPv6 as IPv4.
func addrAt(b []byte) netip.AddrPort {
	ip := netip.AddrFrom16([16]byte(b[addrOff : addrOff+16])).Unmap()
	return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[addrOff+16:]))
}

// Verify reports whether the record's signature is its name's signature over Context and the
// payload. It returns ErrSignature when it is not, or when the view holds no record.
func (v *View) Verify() error {
	if len(v.b) < MinSize {
		return ErrSignature
	}
	payload, sig := v.b[:len(v.b)-SignatureSize], v.b[len(v.b)-SignatureSize:]
	var msg [maxMessage]byte
	n := copy(msg[:], Context)
	n += copy(msg[n:], payload)
	if !verifySignature(v.b[nameOff:addrOff], msg[:n], sig) {
		return ErrSignature
	}
	return nil
}

// Bytes returns the signed record exactly as decoded, for storing and relaying. Its capacity
// is its length, so appending to it never writes over the caller's following bytes.
func (v *View) Bytes() []byte { return v.b }

// Name returns the node's name, the public key its record is signed with.
func (v *View) Name() wire.Name {
	var n wire.Name
	if v.b != nil {
		copy(n[:], v.b[nameOff:addrOff])
	}
	return n
}

// Version returns the record's version, at least 1.
func (v *View) Version() uint64 {
	if v.b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v.b[2:nameOff])
}

// Accepts reports whether the node accepts connections.
func (v *View) Accepts() bool { return v.b != nil && v.b[1]&FlagAccepts != 0 }

// Addr returns the node's address and true, or false when the record has none.
func (v *View) Addr() (netip.AddrPort, bool) {
	if !v.hasAddr() {
		return netip.AddrPort{}, false
	}
	return addrAt(v.b), true
}

func (v *View) hasAddr() bool { return v.b != nil && v.b[1]&FlagAddr != 0 }

// neighborsOff is the offset of the neighbor count.
func (v *View) neighborsOff() int {
	if v.hasAddr() {
		return addrOff + AddrSize
	}
	return addrOff
}

// NumNeighbors returns the number of neighbor names, 0 to MaxNeighbors.
func (v *View) NumNeighbors() int {
	if v.b == nil {
		return 0
	}
	return int(v.b[v.neighborsOff()])
}

// Neighbor returns neighbor name i; it panics unless 0 <= i < NumNeighbors(). Names come in
// strictly increasing byte order.
func (v *View) Neighbor(i int) wire.Name {
	if i < 0 || i >= v.NumNeighbors() {
		panic("record: neighbor index out of range")
	}
	off := v.neighborsOff() + 1 + i*NameSize
	return wire.Name(v.b[off : off+NameSize])
}

// Record copies the view into a Record (allocating its Neighbors, nil when there are none),
// for tests and admin display.
func (v *View) Record() Record {
	r := Record{Name: v.Name(), Version: v.Version(), Accepts: v.Accepts()}
	r.Addr, _ = v.Addr()
	if n := v.NumNeighbors(); n > 0 {
		r.Neighbors = make([]wire.Name, n)
		for i := range r.Neighbors {
			r.Neighbors[i] = v.Neighbor(i)
		}
	}
	return r
}
