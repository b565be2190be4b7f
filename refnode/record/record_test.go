package record

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/stableset/sskit/refnode/wire"
)

// testSeed derives a fixed ed25519 seed from a label, so vectors can be re-signed bit-exactly.
func testSeed(label string) []byte {
	s := sha256.Sum256([]byte("sskit record test key " + label))
	return s[:]
}

func testKey(label string) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(testSeed(label)) }

func nameOf(key ed25519.PrivateKey) wire.Name { return wire.Name(key.Public().(ed25519.PublicKey)) }

// namesOf returns the names of the labelled keys, sorted as a record lists them.
func namesOf(labels ...string) []wire.Name {
	var ns []wire.Name
	for _, l := range labels {
		ns = append(ns, nameOf(testKey(l)))
	}
	slices.SortFunc(ns, func(a, b wire.Name) int { return bytes.Compare(a[:], b[:]) })
	return ns
}

// signRaw appends key's signature over Context and payload, whatever the payload says. It
// makes records that AppendSigned refuses to make: non-canonical ones, or ones signed by
// someone other than their name.
func signRaw(payload []byte, key ed25519.PrivateKey) []byte {
	msg := append([]byte(Context), payload...)
	return append(append([]byte(nil), payload...), ed25519.Sign(key, msg)...)
}

func mustSign(t testing.TB, r Record, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := r.AppendSigned(nil, key)
	if err != nil {
		t.Fatalf("AppendSigned: %v", err)
	}
	return b
}

// testRecord is a record and the key of its name.
type testRecord struct {
	label string
	key   ed25519.PrivateKey
	r     Record
}

// testRecords covers each optional part of the layout: addresses of both families or none,
// both values of the flag, 0 to 5 neighbors, the first and the largest versions.
func testRecords() []testRecord {
	mk := func(label string, version uint64, accepts bool, addr string, neighbors ...string) testRecord {
		key := testKey(label)
		r := Record{Name: nameOf(key), Version: version, Accepts: accepts, Neighbors: namesOf(neighbors...)}
		if addr != "" {
			r.Addr = netip.MustParseAddrPort(addr)
		}
		return testRecord{label, key, r}
	}
	return []testRecord{
		mk("first-record-originate-only", 1, false, ""),
		mk("debut-ipv4-accepting", 2, true, "192.0.2.10:4001", "bob"),
		mk("ipv6-five-neighbors", 0x0102030405060708, true, "[2001:db8::7]:65535", "bob", "carol", "dave", "erin", "frank"),
		mk("max-version-address-not-accepting", 1<<64-1, false, "127.0.0.1:1", "bob", "carol"),
	}
}

// payloadSize is the size a record of r's shape must have, from the layout table.
func payloadSize(r Record) int {
	n := MinSize + NameSize*len(r.Neighbors)
	if r.Addr.IsValid() {
		n += AddrSize
	}
	return n
}

func TestRoundTrip(t *testing.T) {
	for _, tr := range testRecords() {
		t.Run(tr.label, func(t *testing.T) {
			prefix := []byte("bytes before")
			out, err := tr.r.AppendSigned(slices.Clone(prefix), tr.key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, prefix) {
				t.Fatal("AppendSigned changed the bytes before the record")
			}
			signed := out[len(prefix):]
			if len(signed) != payloadSize(tr.r) {
				t.Fatalf("record is %d bytes, the layout says %d", len(signed), payloadSize(tr.r))
			}
			var v View
			if err := v.Decode(signed); err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(); err != nil {
				t.Fatal(err)
			}
			if got := v.Record(); !reflect.DeepEqual(got, tr.r) {
				t.Fatalf("decoded %+v\nwant    %+v", got, tr.r)
			}
			if v.Name() != tr.r.Name || v.Version() != tr.r.Version || v.Accepts() != tr.r.Accepts || v.NumNeighbors() != len(tr.r.Neighbors) {
				t.Fatal("accessors disagree with the record")
			}
			if addr, ok := v.Addr(); ok != tr.r.Addr.IsValid() || addr != tr.r.Addr {
				t.Fatalf("Addr() = %v, %v; want %v", addr, ok, tr.r.Addr)
			}
			for i, n := range tr.r.Neighbors {
				if v.Neighbor(i) != n {
					t.Fatalf("neighbor %d differs", i)
				}
			}
			if b := v.Bytes(); !bytes.Equal(b, signed) || &b[0] != &signed[0] || cap(b) != len(b) {
				t.Fatal("Bytes() is not the decoded slice, capped at its length")
			}
		})
	}
}

func TestLargestRecord(t *testing.T) {
	key := testKey("largest")
	r := Record{Name: nameOf(key), Version: 7, Accepts: true, Addr: netip.MustParseAddrPort("[2001:db8::1]:4001")}
	for i := 1; i <= MaxNeighbors; i++ {
		var n wire.Name
		n[0], n[31] = byte(i), 0xee
		r.Neighbors = append(r.Neighbors, n)
	}
	b := mustSign(t, r, key)
	if len(b) != MaxSize {
		t.Fatalf("largest record is %d bytes, MaxSize is %d", len(b), MaxSize)
	}
	var v View
	if err := v.Decode(b); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(); err != nil {
		t.Fatal(err)
	}
	if got := v.Record(); !reflect.DeepEqual(got, r) {
		t.Fatal("largest record does not round-trip")
	}
}

// An IPv4-mapped IPv6 address has the same 16 bytes as its IPv4 address, so both records are
// the same bytes and decode with the IPv4 address.
func TestIPv4MappedAddressDecodesAsIPv4(t *testing.T) {
	key := testKey("mapped")
	r4 := Record{Name: nameOf(key), Version: 1, Addr: netip.MustParseAddrPort("10.0.0.1:5")}
	r6 := r4
	r6.Addr = netip.MustParseAddrPort("[::ffff:10.0.0.1]:5")
	b4, b6 := mustSign(t, r4, key), mustSign(t, r6, key)
	if !bytes.Equal(b4, b6) {
		t.Fatal("IPv4 and IPv4-mapped records differ")
	}
	var v View
	if err := v.Decode(b6); err != nil {
		t.Fatal(err)
	}
	if addr, _ := v.Addr(); addr != r4.Addr {
		t.Fatalf("Addr() = %v, want %v", addr, r4.Addr)
	}
}

// TestTamperedRecordFails is rule 81 (no tattling): a relay cannot change a byte of another
// node's record and have it accepted. Every single-bit flip and every byte inverted, at every
// position, makes Decode or Verify fail; the gossip layer bans the relay on either failure.
func TestTamperedRecordFails(t *testing.T) {
	for _, tr := range testRecords() {
		t.Run(tr.label, func(t *testing.T) {
			signed := mustSign(t, tr.r, tr.key)
			b := slices.Clone(signed)
			var v View
			for i := range b {
				for _, mask := range []byte{0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff} {
					b[i] ^= mask
					if err := v.Decode(b); err == nil {
						if err := v.Verify(); err != ErrSignature {
							t.Fatalf("byte %d ^ %#02x: Decode and Verify accepted it (Verify: %v)", i, mask, err)
						}
					}
					b[i] ^= mask
				}
			}
			if !bytes.Equal(b, signed) {
				t.Fatal("test did not restore the record")
			}
		})
	}
}

// A record that decodes but is signed by another key than its name fails Verify.
func TestSignedByAnotherKeyFails(t *testing.T) {
	for _, tr := range testRecords() {
		payload := mustSign(t, tr.r, tr.key)
		payload = payload[:len(payload)-SignatureSize]
		forged := signRaw(payload, testKey("mallory"))
		var v View
		if err := v.Decode(forged); err != nil {
			t.Fatalf("%s: %v", tr.label, err)
		}
		if err := v.Verify(); err != ErrSignature {
			t.Fatalf("%s: Verify of a record signed by another key = %v, want ErrSignature", tr.label, err)
		}
		// The same payload signed by its own key verifies, so the key was the only difference.
		if err := v.Decode(signRaw(payload, tr.key)); err != nil || v.Verify() != nil {
			t.Fatalf("%s: the control record does not verify", tr.label)
		}
	}
}

// nonCanonical returns records with a valid signature over a payload Decode must reject.
func nonCanonical(t testing.TB) []struct {
	name string
	b    []byte
	err  error
} {
	key := testKey("alice")
	name := nameOf(key)
	base := Record{Name: name, Version: 3, Accepts: true, Addr: netip.MustParseAddrPort("192.0.2.1:4001"), Neighbors: namesOf("bob", "carol", "dave")}
	good := mustSign(t, base, key)
	payload := good[:len(good)-SignatureSize]
	neighborsAt := addrOff + AddrSize + 1 // first neighbor, in base's layout
	edit := func(f func(p []byte) []byte) []byte { return signRaw(f(slices.Clone(payload)), key) }
	setAddr := func(addr string) []byte {
		return edit(func(p []byte) []byte {
			ap := netip.MustParseAddrPort(addr)
			ip := ap.Addr().As16()
			copy(p[addrOff:], ip[:])
			p[addrOff+16], p[addrOff+17] = byte(ap.Port()>>8), byte(ap.Port())
			return p
		})
	}
	noAddr := Record{Name: name, Version: 1}
	noAddrSigned := mustSign(t, noAddr, key)
	flagWithoutAddr := slices.Clone(noAddrSigned[:len(noAddrSigned)-SignatureSize])
	flagWithoutAddr[1] |= FlagAddr
	bob := namesOf("bob")[0]
	return []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrTooShort},
		{"one-byte-short-of-the-minimum", noAddrSigned[:MinSize-1], ErrTooShort},
		{"signature-cut-short", good[:len(good)-1], ErrTooShort},
		{"byte-after-signature", append(slices.Clone(good), 0), ErrTooLong},
		{"format-0x00", edit(func(p []byte) []byte { p[0] = 0; return p }), ErrFormat},
		{"format-0x02", edit(func(p []byte) []byte { p[0] = 2; return p }), ErrFormat},
		{"flag-bit-2", edit(func(p []byte) []byte { p[1] |= 1 << 2; return p }), ErrFlags},
		{"flag-bit-7", edit(func(p []byte) []byte { p[1] |= 1 << 7; return p }), ErrFlags},
		{"version-0", edit(func(p []byte) []byte { clear(p[2:nameOff]); return p }), ErrVersionZero},
		{"address-port-0", setAddr("192.0.2.1:0"), ErrPortZero},
		{"address-ipv4-unspecified", setAddr("0.0.0.0:4001"), ErrAddress},
		{"address-ipv6-unspecified", setAddr("[::]:4001"), ErrAddress},
		{"address-ipv4-multicast", setAddr("224.0.0.1:4001"), ErrAddress},
		{"address-ipv6-multicast", setAddr("[ff02::1]:4001"), ErrAddress},
		{"address-without-flag", edit(func(p []byte) []byte { p[1] &^= FlagAddr; return p }), ErrTooLong},
		{"flag-without-address", signRaw(flagWithoutAddr, key), ErrTooShort},
		{"count-above-neighbors", edit(func(p []byte) []byte { p[neighborsAt-1]++; return p }), ErrTooShort},
		{"count-below-neighbors", edit(func(p []byte) []byte { p[neighborsAt-1]--; return p }), ErrTooLong},
		{"neighbors-unsorted", edit(func(p []byte) []byte {
			a, b := p[neighborsAt:neighborsAt+NameSize], p[neighborsAt+NameSize:neighborsAt+2*NameSize]
			var tmp wire.Name
			copy(tmp[:], a)
			copy(a, b)
			copy(b, tmp[:])
			return p
		}), ErrNeighborOrder},
		{"neighbor-repeated", edit(func(p []byte) []byte {
			copy(p[neighborsAt+NameSize:], p[neighborsAt:neighborsAt+NameSize])
			return p
		}), ErrNeighborOrder},
		{"neighbor-is-self", edit(func(p []byte) []byte {
			p = append(p[:neighborsAt-1], 2)
			if bytes.Compare(bob[:], name[:]) < 0 {
				return append(append(p, bob[:]...), name[:]...)
			}
			return append(append(p, name[:]...), bob[:]...)
		}), ErrSelfNeighbor},
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	for _, c := range nonCanonical(t) {
		t.Run(c.name, func(t *testing.T) {
			var v View
			if err := v.Decode(mustSign(t, testRecords()[1].r, testRecords()[1].key)); err != nil {
				t.Fatal(err)
			}
			if err := v.Decode(c.b); err != c.err {
				t.Fatalf("Decode = %v, want %v", err, c.err)
			}
			if v.Bytes() != nil || v.Verify() != ErrSignature || v.NumNeighbors() != 0 || v.Version() != 0 || v.Accepts() {
				t.Fatal("a failed Decode left the earlier record in the view")
			}
		})
	}
}

func TestZeroViewHoldsNoRecord(t *testing.T) {
	var v View
	if _, ok := v.Addr(); ok || v.Bytes() != nil || v.Name() != (wire.Name{}) || v.Verify() != ErrSignature {
		t.Fatal("zero View is not empty")
	}
	if !reflect.DeepEqual(v.Record(), Record{}) {
		t.Fatal("zero View has a record")
	}
}

func TestAppendSignedRefusesInvalidRecords(t *testing.T) {
	key := testKey("alice")
	name := nameOf(key)
	ok := Record{Name: name, Version: 1, Accepts: true, Addr: netip.MustParseAddrPort("192.0.2.1:4001"), Neighbors: namesOf("bob", "carol")}
	bc := ok.Neighbors
	tooMany := make([]wire.Name, MaxNeighbors+1)
	for i := range tooMany {
		tooMany[i][0], tooMany[i][1] = byte(i>>8), byte(i)
	}
	mixedKey := slices.Concat(testKey("mallory").Seed(), name[:]) // right public half, wrong seed
	cases := []struct {
		name string
		edit func(r *Record)
		key  ed25519.PrivateKey
		err  error
	}{
		{"version-0", func(r *Record) { r.Version = 0 }, key, ErrVersionZero},
		{"neighbors-unsorted", func(r *Record) { r.Neighbors = []wire.Name{bc[1], bc[0]} }, key, ErrNeighborOrder},
		{"neighbor-repeated", func(r *Record) { r.Neighbors = []wire.Name{bc[0], bc[0]} }, key, ErrNeighborOrder},
		{"neighbor-is-self", func(r *Record) { r.Neighbors = []wire.Name{name} }, key, ErrSelfNeighbor},
		{"256-neighbors", func(r *Record) { r.Neighbors = tooMany }, key, ErrTooManyNeighbors},
		{"port-0", func(r *Record) { r.Addr = netip.MustParseAddrPort("192.0.2.1:0") }, key, ErrPortZero},
		{"unspecified", func(r *Record) { r.Addr = netip.MustParseAddrPort("[::]:1") }, key, ErrAddress},
		{"mapped-unspecified", func(r *Record) { r.Addr = netip.MustParseAddrPort("[::ffff:0.0.0.0]:1") }, key, ErrAddress},
		{"multicast", func(r *Record) { r.Addr = netip.MustParseAddrPort("239.1.1.1:1") }, key, ErrAddress},
		{"zoned", func(r *Record) { r.Addr = netip.MustParseAddrPort("[fe80::1%eth0]:1") }, key, ErrAddress},
		{"port-without-ip", func(r *Record) { r.Addr = netip.AddrPortFrom(netip.Addr{}, 1) }, key, ErrAddress},
		{"another-nodes-key", func(*Record) {}, testKey("mallory"), ErrKey},
		{"nil-key", func(*Record) {}, nil, ErrKey},
		{"short-key", func(*Record) {}, key[:ed25519.SeedSize], ErrKey},
		{"key-halves-disagree", func(*Record) {}, mixedKey, ErrKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			c.edit(&r)
			dst := []byte("kept")
			out, err := r.AppendSigned(dst, c.key)
			if err != c.err {
				t.Fatalf("AppendSigned = %v, want %v", err, c.err)
			}
			if string(out) != "kept" {
				t.Fatalf("AppendSigned changed dst on error: %q", out)
			}
		})
	}
	if _, err := ok.AppendSigned(nil, key); err != nil {
		t.Fatalf("the unedited record is refused: %v", err)
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	all := []*Error{ErrTooShort, ErrTooLong, ErrFormat, ErrFlags, ErrVersionZero, ErrPortZero, ErrAddress,
		ErrNeighborOrder, ErrSelfNeighbor, ErrTooManyNeighbors, ErrSignature, ErrKey}
	seen := map[string]bool{}
	for _, e := range all {
		if seen[e.Error()] {
			t.Fatalf("two errors read %q", e.Error())
		}
		seen[e.Error()] = true
		var target *Error
		if !errors.As(error(e), &target) || !errors.Is(e, e) {
			t.Fatalf("%v is not a *Error", e)
		}
	}
}

// TestDecodeAndVerifyAllocs: Decode and Verify allocate nothing, whether the signature holds or
// not (crypto/ed25519 allocates once for a signature that does not).
func TestDecodeAndVerifyAllocs(t *testing.T) {
	tr := testRecords()[2] // address and 5 neighbors
	good := mustSign(t, tr.r, tr.key)
	bad := slices.Clone(good)
	bad[len(bad)-SignatureSize] ^= 1 // R of the signature
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{{"valid", good, nil}, {"bad-signature", bad, ErrSignature}} {
		t.Run(c.name, func(t *testing.T) {
			var v View
			if err := v.Decode(c.b); err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(); err != c.want {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			decode := testing.AllocsPerRun(50, func() { _ = v.Decode(c.b) })
			both := testing.AllocsPerRun(50, func() { _ = v.Decode(c.b); _ = v.Verify() })
			if decode != 0 {
				t.Errorf("Decode allocates %v times per record, want 0", decode)
			}
			if both != 0 {
				t.Errorf("Decode+Verify allocates %v times per record, want 0", both)
			}
		})
	}
	var v View
	if a := testing.AllocsPerRun(50, func() { _ = v.Decode(bad[:len(bad)-1]) }); a != 0 {
		t.Errorf("a rejected Decode allocates %v times", a)
	}
}
