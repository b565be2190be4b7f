// Package wire encodes and decodes stableset frames (conformance/SPEC.md, "Framing" and
// "Message catalogue"). It does no I/O beyond FrameReader and allocates nothing per message:
// encoders append to caller-owned buffers and decoders fill caller-owned values or return
// views into the frame.
package wire

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/stableset/sskit/refnode/mutant"
)

// Sizes fixed by SPEC.md (WIRE-1 .. WIRE-4).
const (
	LengthPrefixSize = 4                               // u32 big-endian length of header+body
	HeaderSize       = 1 + 8 + 32                      // type, message id, sender's stableset id
	MaxFrameSize     = 64 * 1024                       // largest allowed header+body
	MaxBodySize      = MaxFrameSize - HeaderSize       // largest allowed body
	MaxWireSize      = LengthPrefixSize + MaxFrameSize // largest frame on the stream
)

// ALPN names the protocol version in the TLS handshake (ID-7).
const ALPN = "stableset/0"

// Name is a node's 32-byte ed25519 public key.
type Name [32]byte

// String returns the lowercase hex form used in text (ID-1).
func (n Name) String() string { return hex.EncodeToString(n[:]) }

// ParseName reads the 64-character lowercase or uppercase hex form of a name.
func ParseName(s string) (Name, error) {
	var n Name
	if len(s) != 2*len(n) {
		return n, errors.New("name must be 64 hex characters (32 bytes)")
	}
	if mutant.Is("lowercase-names-only") && strings.ToLower(s) != s {
		return n, errors.New("name is not lowercase hex")
	}
	if _, err := hex.Decode(n[:], []byte(s)); err != nil {
		return n, errors.New("name is not valid hex")
	}
	return n, nil
}

// StablesetID is SHA-256 over the members, each name followed by its ordinal, in name order
// (WIRE-10); all zero until a node runs consensus.
type StablesetID [32]byte

// Type is the one-byte message type in every header.
type Type uint8

// The message catalogue of SPEC.md §4.
const (
	TypePing           Type = 0x01
	TypePong           Type = 0x02
	TypeWitnessRequest Type = 0x10
	TypeWitness        Type = 0x11
	TypeStableset      Type = 0x12
	TypeGossip         Type = 0x20 // neighborhood gossip (SPEC.md §9); the body is checked there
	TypeGossipFailure  Type = 0x21 // a Debut target that cannot place the debutant says why
	TypeSectionList    Type = 0x30 // a section's top-20 list (SPEC.md §10)
	TypeElderLoss      Type = 0x31 // the sender hears none of a section's elders (SPEC.md §10)
)

// Types lists every known type in catalogue order (for counters and benchmarks).
var Types = [...]Type{TypePing, TypePong, TypeWitnessRequest, TypeWitness, TypeStableset, TypeGossip, TypeGossipFailure, TypeSectionList, TypeElderLoss}

// Known reports whether t is in the catalogue.
func (t Type) Known() bool {
	switch t {
	case TypePing, TypePong, TypeWitnessRequest, TypeWitness, TypeStableset, TypeGossip, TypeGossipFailure, TypeSectionList, TypeElderLoss:
		return true
	}
	return false
}

// IsResponse reports whether t answers a request, carrying the request's message id (WIRE-7).
func (t Type) IsResponse() bool { return t == TypePong || t == TypeWitness }

// String returns the SPEC.md name of the type, or "unknown(0xNN)".
func (t Type) String() string {
	switch t {
	case TypePing:
		return "PING"
	case TypePong:
		return "PONG"
	case TypeWitnessRequest:
		return "WITNESS_REQUEST"
	case TypeWitness:
		return "WITNESS"
	case TypeStableset:
		return "STABLESET"
	case TypeGossip:
		return "GOSSIP"
	case TypeGossipFailure:
		return "GOSSIP_FAILURE"
	case TypeSectionList:
		return "SECTION_LIST"
	case TypeElderLoss:
		return "ELDER_LOSS"
	}
	const digits = "0123456789abcdef"
	return "unknown(0x" + string([]byte{digits[t>>4], digits[t&0xf]}) + ")"
}

// Header is the fixed part at the start of every frame.
type Header struct {
	Type      Type
	ID        uint64      // chosen by the sender of a request; echoed by its response
	Stableset StablesetID // the sender's stableset id at the time of sending
}

// AppendFrameStart appends a length placeholder and the header to dst. The frame starts at the
// returned offset; append the body, then call FinishFrame with that offset.
func AppendFrameStart(dst []byte, h Header) ([]byte, int) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(h.Type))
	dst = binary.BigEndian.AppendUint64(dst, h.ID)
	dst = append(dst, h.Stableset[:]...)
	return dst, start
}

// FinishFrame writes the length prefix of the frame that starts at start. It fails with
// ErrFrameTooLarge when header and body exceed MaxFrameSize.
func FinishFrame(buf []byte, start int) error {
	n := len(buf) - start - LengthPrefixSize
	if n > MaxFrameSize {
		return ErrFrameTooLarge
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(n))
	return nil
}

// AppendFrame appends a whole frame with an already encoded body.
func AppendFrame(dst []byte, h Header, body []byte) ([]byte, error) {
	dst, start := AppendFrameStart(dst, h)
	dst = append(dst, body...)
	return dst, FinishFrame(dst, start)
}

// DecodeHeader splits a frame (without its length prefix) into header and body and checks the
// body against the type's layout, so a frame that decodes here is well formed.
func DecodeHeader(frame []byte) (Header, []byte, error) {
	var h Header
	if len(frame) < HeaderSize {
		return h, nil, ErrShortFrame
	}
	if len(frame) > MaxFrameSize {
		return h, nil, ErrFrameTooLarge
	}
	h.Type = Type(frame[0])
	h.ID = binary.BigEndian.Uint64(frame[1:9])
	copy(h.Stableset[:], frame[9:HeaderSize])
	body := frame[HeaderSize:]
	if err := CheckBody(h.Type, body); err != nil {
		return h, nil, err
	}
	return h, body, nil
}

// DecodeFrame decodes one whole frame, length prefix included, from the start of b and returns
// the number of bytes it used. A b that holds less than one frame gives ErrFrameTruncated.
func DecodeFrame(b []byte) (Header, []byte, int, error) {
	if len(b) < LengthPrefixSize {
		return Header{}, nil, 0, ErrFrameTruncated
	}
	n := binary.BigEndian.Uint32(b)
	if n > MaxFrameSize {
		return Header{}, nil, 0, ErrFrameTooLarge
	}
	if n < HeaderSize {
		return Header{}, nil, 0, ErrShortFrame
	}
	end := LengthPrefixSize + int(n)
	if len(b) < end {
		return Header{}, nil, 0, ErrFrameTruncated
	}
	h, body, err := DecodeHeader(b[LengthPrefixSize:end])
	return h, body, end, err
}

// CheckBody reports whether body is well formed for type t, without keeping anything.
func CheckBody(t Type, body []byte) error {
	switch t {
	case TypePing, TypePong:
		return nil // opaque payload of any length the frame allows
	case TypeWitnessRequest, TypeWitness:
		var o Observation
		return o.Decode(body)
	case TypeStableset:
		var v StablesetView
		return v.Decode(body)
	case TypeGossip:
		// The records inside are the neighborhood layer's to judge: a GOSSIP that does not hold
		// valid gossip gets its sender banned (SPEC.md NB rules), which a MALFORMED close here
		// would pre-empt.
		return nil
	case TypeGossipFailure:
		return CheckGossipFailure(body)
	case TypeSectionList:
		var l SectionList
		return l.Decode(body)
	case TypeElderLoss:
		var e ElderLoss
		return e.Decode(body)
	}
	if mutant.Is("unknown-type-ignored") {
		return nil
	}
	return ErrUnknownType
}
