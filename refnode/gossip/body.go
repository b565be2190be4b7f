package gossip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// MaxBodySize is the largest gossip body: the largest frame body (wire.MaxBodySize, 65495).
const MaxBodySize = wire.MaxBodySize

// MaxRecords is the most records a body can hold: each takes at least a length and MinSize bytes.
const MaxRecords = (MaxBodySize - countSize) / (lengthSize + record.MinSize)

const (
	countSize  = 2 // u16 record count
	lengthSize = 2 // u16 length before each record
)

// The errors of DecodeGossip and AppendGossip. A record that does not decode is a *RecordError.
var (
	ErrBodyTooLarge = errors.New("gossip: body is larger than 65495 bytes")
	ErrNoRecords    = errors.New("gossip: record count is 0")
	ErrTruncated    = errors.New("gossip: body ends before its records do")
	ErrTrailing     = errors.New("gossip: bytes after the last record")
	ErrRecordLength = errors.New("gossip: record length outside 107..8285")
	ErrRecordOrder  = errors.New("gossip: records are not in strictly increasing order of name (unsorted or repeated)")
)

// RecordError is a record inside a gossip body that is not a record in canonical form.
type RecordError struct {
	Index int   // the record's position in the body, from 0
	Err   error // the *record.Error from record.View.Decode
}

func (e *RecordError) Error() string { return fmt.Sprintf("gossip: record %d: %v", e.Index, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// DecodeGossip checks that body is exactly one gossip body (see the package doc) and appends a
// view of each record to dst, in body order. The views point into body. Signatures are not
// checked (record.View.Verify does that). It allocates only when dst lacks the capacity for the
// records; on error it returns dst as it was.
func DecodeGossip(body []byte, dst []record.View) ([]record.View, error) {
	start := len(dst)
	fail := func(err error) ([]record.View, error) {
		clear(dst[start:]) // drop views into a body the caller may reuse
		return dst[:start], err
	}
	if len(body) > MaxBodySize {
		return fail(ErrBodyTooLarge)
	}
	if len(body) < countSize {
		return fail(ErrTruncated)
	}
	n := int(binary.BigEndian.Uint16(body))
	if n == 0 {
		return fail(ErrNoRecords)
	}
	// Checked before growing dst, so a forged count cannot make us allocate for records that
	// are not there.
	if n*(lengthSize+record.MinSize) > len(body)-countSize {
		return fail(ErrTruncated)
	}
	dst = slices.Grow(dst, n)
	off := countSize
	for i := range n {
		if len(body)-off < lengthSize {
			return fail(ErrTruncated)
		}
		l := int(binary.BigEndian.Uint16(body[off:]))
		off += lengthSize
		if l < record.MinSize || l > record.MaxSize {
			return fail(ErrRecordLength)
		}
		if len(body)-off < l {
			return fail(ErrTruncated)
		}
		var v record.View
		if err := v.Decode(body[off : off+l]); err != nil {
			return fail(&RecordError{Index: i, Err: err})
		}
		if i > 0 && !nameLess(dst[len(dst)-1].Bytes(), v.Bytes()) {
			return fail(ErrRecordOrder)
		}
		dst = append(dst, v)
		off += l
	}
	if off != len(body) && !mutant.Is("trailing-bytes-accepted") {
		return fail(ErrTrailing)
	}
	return dst, nil
}

// nameLess compares the names of two decoded records in place, without copying them.
func nameLess(a, b []byte) bool {
	return bytes.Compare(a[nameOff:nameOff+record.NameSize], b[nameOff:nameOff+record.NameSize]) < 0
}

// nameOff is where a record's name starts (record layout: format, flags, version, name).
const nameOff = 1 + 1 + 8

// AppendGossip appends a gossip body holding the given signed records to dst. The records must
// decode, be in strictly increasing order of name and fit in MaxBodySize; signatures are not
// checked. On error it returns dst unchanged.
func AppendGossip(dst []byte, records ...[]byte) ([]byte, error) {
	if len(records) == 0 {
		return dst, ErrNoRecords
	}
	size := countSize
	for i, b := range records {
		var v record.View
		if err := v.Decode(b); err != nil {
			return dst, &RecordError{Index: i, Err: err}
		}
		if i > 0 && !nameLess(records[i-1], b) {
			return dst, ErrRecordOrder
		}
		size += lengthSize + len(b)
	}
	if size > MaxBodySize {
		return dst, ErrBodyTooLarge
	}
	return appendBody(slices.Grow(dst, size), records), nil
}

// appendBody encodes records that are known to be valid, sorted and small enough.
func appendBody(dst []byte, records [][]byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(records)))
	for _, b := range records {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(b)))
		dst = append(dst, b...)
	}
	return dst
}

// FailureReason says why a Debut target could not place the debutant (rulebook 58). The codes
// are MASQ's GossipFailure kinds; this package sends only NoSuitableNeighbors.
type FailureReason uint8

// The failure reasons, as the one byte of a failure body.
const (
	NoNeighbors         FailureReason = 1
	NoSuitableNeighbors FailureReason = 2
	ManualRejection     FailureReason = 3
	UnknownFailure      FailureReason = 4
)

func (r FailureReason) String() string {
	switch r {
	case NoNeighbors:
		return "no neighbors"
	case NoSuitableNeighbors:
		return "no suitable neighbors"
	case ManualRejection:
		return "manual rejection"
	case UnknownFailure:
		return "unknown failure"
	}
	return fmt.Sprintf("failure reason %d", uint8(r))
}

// ErrFailureBody is a failure body that is not exactly one known reason byte.
var ErrFailureBody = errors.New("gossip: failure body is not one byte holding a reason 1..4")

// AppendFailure appends the one-byte failure body for r to dst.
func AppendFailure(dst []byte, r FailureReason) []byte { return append(dst, byte(r)) }

// DecodeFailure reads a failure body.
func DecodeFailure(body []byte) (FailureReason, error) {
	if len(body) != 1 || body[0] < byte(NoNeighbors) || body[0] > byte(UnknownFailure) {
		return 0, ErrFailureBody
	}
	return FailureReason(body[0]), nil
}
