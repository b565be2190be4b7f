package record

import "testing"

var benchSink int

// benchRecord is a record with an address and 5 neighbors, the most a node's own record lists
// under the degree limit.
func benchRecord(b *testing.B) []byte {
	tr := testRecords()[2]
	if len(tr.r.Neighbors) != 5 || !tr.r.Addr.IsValid() {
		b.Fatal("testRecords()[2] is no longer the 5-neighbor record")
	}
	return mustSign(b, tr.r, tr.key)
}

func BenchmarkDecode(b *testing.B) {
	rec := benchRecord(b)
	var v View
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := v.Decode(rec); err != nil {
			b.Fatal(err)
		}
	}
	benchSink = v.NumNeighbors()
}

func BenchmarkVerify(b *testing.B) {
	rec := benchRecord(b)
	var v View
	if err := v.Decode(rec); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := v.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeAndVerify(b *testing.B) {
	rec := benchRecord(b)
	var v View
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := v.Decode(rec); err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(); err != nil {
			b.Fatal(err)
		}
	}
	benchSink = v.NumNeighbors()
}

// BenchmarkAppendSigned is what a node pays each time its own record changes.
func BenchmarkAppendSigned(b *testing.B) {
	tr := testRecords()[2]
	buf := make([]byte, 0, MaxSize)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = tr.r.AppendSigned(buf[:0], tr.key); err != nil {
			b.Fatal(err)
		}
	}
	benchSink = len(buf)
}
