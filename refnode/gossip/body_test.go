package gossip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/stableset/sskit/refnode/record"
)

func TestGossipBodyRoundTrips(t *testing.T) {
	ps := peers(1, 3)
	var recs [][]byte
	for _, p := range ps {
		recs = append(recs, p.concealed(t, 2, ghosts(1, 2)...))
	}
	b := body(recs...)
	views, err := DecodeGossip(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 3 {
		t.Fatalf("decoded %d records, want 3", len(views))
	}
	again, err := AppendGossip(nil, func() [][]byte {
		var rs [][]byte
		for i := range views {
			rs = append(rs, views[i].Bytes())
		}
		return rs
	}()...)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding gave %x, %v; want %x", again, err, b)
	}
	// Layout: count, then length and bytes of each record, big-endian.
	if binary.BigEndian.Uint16(b) != 3 || int(binary.BigEndian.Uint16(b[2:])) != len(views[0].Bytes()) {
		t.Fatalf("body does not start with count 3 and the first length: %x", b[:4])
	}
}

func TestDecodeGossipRejectsMalformedBodies(t *testing.T) {
	a, c := newPeer(1), newPeer(2)
	ra, rc := a.concealed(t, 1), c.concealed(t, 1)
	good := body(ra, rc)
	first, second := good[2:4+len(ra)], good[4+len(ra):] // length-prefixed records in name order
	withCount := func(n uint16, rest ...[]byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, n)
		for _, r := range rest {
			b = append(b, r...)
		}
		return b
	}
	badRecord := bytes.Clone(first)
	badRecord[2] = 0x02 // format byte of the record
	short := binary.BigEndian.AppendUint16(nil, record.MinSize-1)
	short = append(short, make([]byte, record.MinSize-1)...)
	long := binary.BigEndian.AppendUint16(nil, record.MaxSize+1)
	long = append(long, make([]byte, record.MaxSize+1)...)
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"one byte", []byte{0}, ErrTruncated},
		{"count 0", withCount(0), ErrNoRecords},
		{"count larger than the records", withCount(3, first, second), ErrTruncated},
		{"count larger than the body could hold", withCount(65535, first), ErrTruncated},
		{"count smaller than the records", withCount(1, first, second), ErrTrailing},
		{"record cut short", withCount(2, first, second[:len(second)-1]), ErrTruncated},
		{"length cut short", withCount(2, first, second[:1]), ErrTruncated},
		{"trailing byte", append(bytes.Clone(good), 0), ErrTrailing},
		{"record shorter than a record can be", withCount(1, short, []byte{0, 0, 0}), ErrRecordLength},
		{"record longer than a record can be", withCount(1, long), ErrRecordLength},
		{"records out of order", withCount(2, second, first), ErrRecordOrder},
		{"record repeated", withCount(2, first, first), ErrRecordOrder},
		{"record that does not decode", withCount(1, badRecord), record.ErrFormat},
		{"body too large", make([]byte, MaxBodySize+1), ErrBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]record.View, 1, 4)
			got, err := DecodeGossip(tc.body, dst)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if len(got) != 1 {
				t.Fatalf("a failed decode returned %d views, want the 1 it was given", len(got))
			}
		})
	}
	var re *RecordError
	if _, err := DecodeGossip(withCount(1, badRecord), nil); !errors.As(err, &re) || re.Index != 0 {
		t.Fatalf("undecodable record: got %v, want a *RecordError for record 0", err)
	}
}

func TestAppendGossipRefusesWhatDecodeRejects(t *testing.T) {
	a, c := newPeer(1), newPeer(2)
	ra, rc := a.concealed(t, 1), c.concealed(t, 1)
	if nameLess(rc, ra) {
		ra, rc = rc, ra
	}
	dst := []byte{9}
	for _, tc := range []struct {
		name    string
		records [][]byte
		want    error
	}{
		{"none", nil, ErrNoRecords},
		{"out of order", [][]byte{rc, ra}, ErrRecordOrder},
		{"repeated", [][]byte{ra, ra}, ErrRecordOrder},
		{"not a record", [][]byte{ra[:50]}, record.ErrTooShort},
	} {
		got, err := AppendGossip(dst, tc.records...)
		if !errors.Is(err, tc.want) || !bytes.Equal(got, dst) {
			t.Errorf("%s: got %v and %x, want %v and dst unchanged", tc.name, err, got, tc.want)
		}
	}
	// The most records that fit, all of the smallest size, and one more.
	var many [][]byte
	for _, p := range peers(10, MaxRecords+1) {
		many = append(many, p.concealed(t, 1))
	}
	slices.SortFunc(many, func(a, b []byte) int { return bytes.Compare(a[nameOff:nameOff+32], b[nameOff:nameOff+32]) })
	b, err := AppendGossip(nil, many[:MaxRecords]...)
	if err != nil {
		t.Fatalf("MaxRecords records: %v", err)
	}
	if views, err := DecodeGossip(b, nil); err != nil || len(views) != MaxRecords {
		t.Fatalf("MaxRecords records decode to %d, %v", len(views), err)
	}
	if _, err := AppendGossip(nil, many...); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("MaxRecords+1 records: got %v, want ErrBodyTooLarge", err)
	}
}

func TestDecodeGossipAllocatesNothingWithRoomForTheViews(t *testing.T) {
	var recs [][]byte
	for _, p := range peers(1, 20) {
		recs = append(recs, p.addressed(t, 3, ghosts(2, 5)...))
	}
	b := body(recs...)
	dst := make([]record.View, 0, 20)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if dst, err = DecodeGossip(b, dst[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("DecodeGossip allocated %v times per call", allocs)
	}
}

func TestFailureBodyHoldsOneReason(t *testing.T) {
	for r := NoNeighbors; r <= UnknownFailure; r++ {
		got, err := DecodeFailure(AppendFailure(nil, r))
		if err != nil || got != r {
			t.Errorf("%v: decoded %v, %v", r, got, err)
		}
	}
	for _, b := range [][]byte{nil, {0}, {5}, {2, 2}} {
		if _, err := DecodeFailure(b); !errors.Is(err, ErrFailureBody) {
			t.Errorf("%x: got %v, want ErrFailureBody", b, err)
		}
	}
}
