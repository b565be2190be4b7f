package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/stableset/sskit/refnode/mutant"
)

// ChangeKind says whether an observation is a join or a leave.
type ChangeKind uint8

const (
	ChangeJoin  ChangeKind = 1
	ChangeLeave ChangeKind = 2
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeJoin:
		return "JOIN"
	case ChangeLeave:
		return "LEAVE"
	}
	return "INVALID"
}

// Member is a node as the stableset knows it: name, join ordinal and address.
type Member struct {
	Name    Name
	Ordinal uint64
	Addr    netip.AddrPort
}

// MemberSize is the encoded size of a Member: name 32, ordinal 8, IPv6 (or IPv4-mapped) 16, port 2.
const MemberSize = 32 + 8 + 16 + 2

// Less orders members by (ordinal, name), the order that decides who is eldest.
func (m *Member) Less(o *Member) bool {
	if m.Ordinal != o.Ordinal {
		return m.Ordinal < o.Ordinal
	}
	return bytes.Compare(m.Name[:], o.Name[:]) < 0
}

// CompareMembers orders a before b by (ordinal, name), for slices.SortFunc.
func CompareMembers(a, b Member) int {
	switch {
	case a.Less(&b):
		return -1
	case b.Less(&a):
		return 1
	}
	return 0
}

// HasName reports whether one of list is named n.
func HasName(list []Member, n Name) bool {
	for i := range list {
		if list[i].Name == n {
			return true
		}
	}
	return false
}

func appendMember(dst []byte, m *Member) []byte {
	dst = append(dst, m.Name[:]...)
	dst = binary.BigEndian.AppendUint64(dst, m.Ordinal)
	ip := m.Addr.Addr().As16() // IPv4 becomes IPv4-mapped IPv6
	dst = append(dst, ip[:]...)
	return binary.BigEndian.AppendUint16(dst, m.Addr.Port())
}

// decodeMember reads a member from b, which must hold at least MemberSize bytes.
func decodeMember(m *Member, b []byte) error {
	copy(m.Name[:], b[:32])
	m.Ordinal = binary.BigEndian.Uint64(b[32:40])
	ip := netip.AddrFrom16([16]byte(b[40:56])).Unmap()
	port := binary.BigEndian.Uint16(b[56:58])
	if port == 0 && !mutant.Is("port-zero-accepted") {
		return ErrPortZero
	}
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() {
		return ErrAddressForm
	}
	m.Addr = netip.AddrPortFrom(ip, port)
	return nil
}

// Observation is the body of WITNESS_REQUEST and WITNESS: one join or leave of one member.
type Observation struct {
	Kind   ChangeKind
	Member Member
}

// ObservationSize is the encoded size of an Observation body.
const ObservationSize = 1 + MemberSize

// Append appends the encoded observation to dst.
func (o *Observation) Append(dst []byte) []byte {
	dst = append(dst, byte(o.Kind))
	return appendMember(dst, &o.Member)
}

// Decode fills o from body.
func (o *Observation) Decode(body []byte) error {
	if len(body) != ObservationSize {
		return ErrBodyLength
	}
	o.Kind = ChangeKind(body[0])
	if o.Kind != ChangeJoin && o.Kind != ChangeLeave {
		return ErrChangeKind
	}
	return decodeMember(&o.Member, body[1:])
}

// stablesetCountsSize is the three u16 counts (members, joining, leaving) at the start of STABLESET.
const stablesetCountsSize = 6

// AppendStableset appends a STABLESET body. Each list must already be in strictly increasing
// (ordinal, name) order; witness sets are never sent (authority cannot be proxied).
func AppendStableset(dst []byte, members, joining, leaving []Member) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(members)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(joining)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(leaving)))
	for _, list := range [3][]Member{members, joining, leaving} {
		for i := range list {
			dst = appendMember(dst, &list[i])
		}
	}
	return dst
}

// StablesetView reads a STABLESET body in place, without copying it.
type StablesetView struct {
	body   []byte
	counts [3]int
}

// Decode checks body and points the view at it. The view is valid while body is.
func (v *StablesetView) Decode(body []byte) error {
	*v = StablesetView{}
	if len(body) < stablesetCountsSize {
		return ErrBodyLength
	}
	total := 0
	for i := range v.counts {
		v.counts[i] = int(binary.BigEndian.Uint16(body[2*i:]))
		total += v.counts[i]
	}
	if total > MaxBodySize/MemberSize {
		return ErrStablesetTooMany
	}
	if len(body) != stablesetCountsSize+total*MemberSize {
		return ErrBodyLength
	}
	v.body = body
	var prev, cur Member
	for list := range v.counts {
		for i := 0; i < v.counts[list]; i++ {
			if err := v.entry(list, i, &cur); err != nil {
				*v = StablesetView{}
				return err
			}
			if i > 0 && !prev.Less(&cur) && !mutant.Is("stableset-order-unchecked") {
				*v = StablesetView{}
				return ErrStablesetOrder
			}
			prev = cur
		}
	}
	return nil
}

// Lists of a stableset, for Len and Entry.
const (
	ListMembers = 0
	ListJoining = 1
	ListLeaving = 2
)

// Len returns the number of entries in list (ListMembers, ListJoining or ListLeaving).
func (v *StablesetView) Len(list int) int { return v.counts[list] }

// Entry decodes entry i of list into m. Entries were checked by Decode.
func (v *StablesetView) Entry(list, i int, m *Member) { _ = v.entry(list, i, m) }

func (v *StablesetView) entry(list, i int, m *Member) error {
	off := stablesetCountsSize
	for l := 0; l < list; l++ {
		off += v.counts[l] * MemberSize
	}
	off += i * MemberSize
	return decodeMember(m, v.body[off:off+MemberSize])
}

// GossipFailureSize is the size of a GOSSIP_FAILURE body: the reason alone.
const GossipFailureSize = 1

// The reasons a GOSSIP_FAILURE gives (SPEC.md §4, MASQ's GossipFailure kinds).
const (
	FailureNoNeighbors         = 1
	FailureNoSuitableNeighbors = 2
	FailureManualRejection     = 3
	FailureUnknown             = 4
)

// CheckGossipFailure reports whether body is a GOSSIP_FAILURE body: exactly one byte holding a
// reason from 1 to 4.
func CheckGossipFailure(body []byte) error {
	if len(body) != GossipFailureSize {
		return ErrBodyLength
	}
	if body[0] < FailureNoNeighbors || body[0] > FailureUnknown {
		return ErrFailureReason
	}
	return nil
}
