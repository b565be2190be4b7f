package wire

import "encoding/binary"

// MaxSectionBits is the longest section prefix a frame can name (SPEC.md §10).
const MaxSectionBits = 8

// MaxSectionListMembers is how many members a SECTION_LIST carries at most: the seed's top 20.
const MaxSectionListMembers = 20

// SectionList is the body of SECTION_LIST: a section's top-20 list as one of its elders holds it
// (SPEC.md §4 and §10).
type SectionList struct {
	Bits    uint8  // prefix length, 0 to MaxSectionBits
	Value   uint8  // the prefix in the high Bits bits; the other bits are zero
	Age     uint64 // the section's age (SPEC.md §10): every change its stableset applies raises it
	ID      StablesetID
	Members []Member // 1 to 20, strictly increasing (ordinal, name); the first elder-size are the elders
}

// sectionListFixed is the part of a SECTION_LIST before its members.
const sectionListFixed = 1 + 1 + 8 + 32 + 1

// Append appends the encoded list to dst.
func (l *SectionList) Append(dst []byte) []byte {
	dst = append(dst, l.Bits, l.Value)
	dst = binary.BigEndian.AppendUint64(dst, l.Age)
	dst = append(dst, l.ID[:]...)
	dst = append(dst, byte(len(l.Members)))
	for i := range l.Members {
		dst = appendMember(dst, &l.Members[i])
	}
	return dst
}

// Decode fills l from body, reusing l.Members.
func (l *SectionList) Decode(body []byte) error {
	if len(body) < sectionListFixed {
		return ErrBodyLength
	}
	l.Bits, l.Value = body[0], body[1]
	if err := checkPrefix(l.Bits, l.Value); err != nil {
		return err
	}
	l.Age = binary.BigEndian.Uint64(body[2:10])
	copy(l.ID[:], body[10:42])
	n := int(body[42])
	if n == 0 || n > MaxSectionListMembers {
		return ErrSectionCount
	}
	var err error
	l.Members, err = decodeSectionMembers(l.Members[:0], l.Bits, l.Value, body[sectionListFixed:], n)
	return err
}

// ElderLoss is the body of ELDER_LOSS: the sender has heard nothing, for the elder-loss timeout,
// from any of these elders of the section with the given prefix (SPEC.md §10, SEC-8).
type ElderLoss struct {
	Bits, Value uint8
	Elders      []Member // 1 to 20, strictly increasing (ordinal, name)
}

const elderLossFixed = 1 + 1 + 1

// Append appends the encoded body to dst.
func (e *ElderLoss) Append(dst []byte) []byte {
	dst = append(dst, e.Bits, e.Value, byte(len(e.Elders)))
	for i := range e.Elders {
		dst = appendMember(dst, &e.Elders[i])
	}
	return dst
}

// Decode fills e from body, reusing e.Elders.
func (e *ElderLoss) Decode(body []byte) error {
	if len(body) < elderLossFixed {
		return ErrBodyLength
	}
	e.Bits, e.Value = body[0], body[1]
	if err := checkPrefix(e.Bits, e.Value); err != nil {
		return err
	}
	n := int(body[2])
	if n == 0 || n > MaxSectionListMembers {
		return ErrSectionCount
	}
	var err error
	e.Elders, err = decodeSectionMembers(e.Elders[:0], e.Bits, e.Value, body[elderLossFixed:], n)
	return err
}

// PrefixMask is the mask of a bits-bit prefix over a name's first byte.
func PrefixMask(bits uint8) uint8 { return ^uint8(0xff >> bits) }

func checkPrefix(bits, value uint8) error {
	if bits > MaxSectionBits || value&^PrefixMask(bits) != 0 {
		return ErrSectionPrefix
	}
	return nil
}

// decodeSectionMembers reads exactly n members from b, each of the prefix's section, in strictly
// increasing (ordinal, name) order.
func decodeSectionMembers(dst []Member, bits, value uint8, b []byte, n int) ([]Member, error) {
	if len(b) != n*MemberSize {
		return dst, ErrBodyLength
	}
	for i := 0; i < n; i++ {
		var m Member
		if err := decodeMember(&m, b[i*MemberSize:]); err != nil {
			return dst, err
		}
		if m.Name[0]&PrefixMask(bits) != value {
			return dst, ErrSectionPrefix
		}
		if i > 0 && !dst[i-1].Less(&m) {
			return dst, ErrStablesetOrder
		}
		dst = append(dst, m)
	}
	return dst, nil
}
