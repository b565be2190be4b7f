package record

import (
	"crypto/ed25519"
	"encoding/hex"
	"testing"
)

// Encodings of the points on the curve of small order (1, 2, 4 and 8), and non-canonical
// encodings (y ≥ p, or a negative zero x): where ed25519 verifiers part ways.
var edgePoints = []string{
	"0100000000000000000000000000000000000000000000000000000000000000",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

// Scalars S: zero, one, the group order L, L+1 and 2^253: the last three are not reduced.
var edgeScalars = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
	"eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
	"0000000000000000000000000000000000000000000000000000000000000020",
}

// TestSignaturesValidAsToCryptoEd25519 checks that verifySignature accepts exactly the
// signatures crypto/ed25519 accepts: records a node signed with Go's standard library, or any
// library that agrees with it, must not be valid to one verifier and forged to another. The
// cases are a real key and signature, each part of it replaced in turn by the encodings on which
// ed25519 verifiers are known to disagree (small-order and non-canonical points, unreduced
// scalars), and every mix of small-order key and R with S = 0, which some verifiers accept for
// any message.
func TestSignaturesValidAsToCryptoEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := [][]byte{nil, []byte("stableset record"), make([]byte, maxMessage)}
	var points, scalars [][]byte
	for _, h := range edgePoints {
		points = append(points, mustHex(t, h))
	}
	for _, h := range edgeScalars {
		scalars = append(scalars, mustHex(t, h))
	}
	cases, accepted := 0, 0
	check := func(name string, key, msg, sig []byte) {
		t.Helper()
		cases++
		want := ed25519.Verify(ed25519.PublicKey(key), msg, sig)
		if want {
			accepted++
		}
		if got := verifySignature(key, msg, sig); got != want {
			t.Errorf("%s: key %x sig %x over %d bytes: verifySignature %v, crypto/ed25519 %v", name, key, sig, len(msg), got, want)
		}
	}
	for _, msg := range msgs {
		sig := ed25519.Sign(priv, msg)
		check("real", pub, msg, sig)
		for _, p := range points {
			check("small or non-canonical key", p, msg, sig)
			check("small or non-canonical R", pub, msg, append(p[:32:32], sig[32:]...))
			for _, r := range points {
				for _, s := range scalars {
					check("edge key, R and S", p, msg, append(r[:32:32], s...))
				}
			}
		}
		for _, s := range scalars {
			check("edge S", pub, msg, append(sig[:32:32], s...))
		}
		bent := append([]byte(nil), sig...)
		bent[63] |= 0xe0 // S far above L
		check("high bits of S", pub, msg, bent)
	}
	// The cases must hold signatures crypto/ed25519 accepts besides the real ones, or they
	// could not tell a verifier that accepts too few from one that agrees.
	if accepted <= len(msgs) {
		t.Fatalf("crypto/ed25519 accepted %d of %d cases, only the real signatures: the edge cases test nothing", accepted, cases)
	}
	t.Logf("%d cases, %d accepted by crypto/ed25519", cases, accepted)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
