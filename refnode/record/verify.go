package record

import (
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// stdlibRules verifies exactly as Go's crypto/ed25519 does (cofactorless, small-order and
// non-canonical keys allowed), so that a record is valid here if and only if it is valid to
// crypto/ed25519: which signatures count is the spec's (ID-1), not the library's.
var stdlibRules = &voied.Options{Verify: voied.VerifyOptionsStdLib}

// verifySignature reports whether sig is name's ed25519 signature over msg. It uses
// curve25519-voi, which verifies the same signatures as crypto/ed25519 in a little over half
// the time; a node verifies every record version it is sent, and at 64 nodes debuting at once
// that was a fifth of its CPU.
func verifySignature(name, msg, sig []byte) bool {
	return voied.VerifyWithOptions(voied.PublicKey(name), msg, sig, stdlibRules)
}
