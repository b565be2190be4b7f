// Package identity holds a node's ed25519 key, the self-signed certificate made from it, and the
// TLS settings that make a QUIC handshake prove both names (SPEC.md ID-*). A node's name is its
// public key; there is no certificate authority.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
	"github.com/stableset/sskit/refnode/wire"
)

// Identity is a node's key pair and the certificate it presents in every handshake.
type Identity struct {
	Name wire.Name
	Key  ed25519.PrivateKey
	cert tls.Certificate
}

// FromSeed derives the identity from a 32-byte ed25519 seed.
func FromSeed(seed []byte) (*Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("seed must be %d bytes, got %d", ed25519.SeedSize, len(seed))
	}
	if mutant.Is("ignore-seed") {
		seed = make([]byte, ed25519.SeedSize)
		_, _ = rand.Read(seed)
	}
	key := ed25519.NewKeyFromSeed(seed)
	id := &Identity{Key: key}
	copy(id.Name[:], key.Public().(ed25519.PublicKey))
	der, err := selfSignedCertificate(key)
	if err != nil {
		return nil, err
	}
	id.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return id, nil
}

// FromHexSeed parses a 64-character hex seed, as given to --seed.
func FromHexSeed(s string) (*Identity, error) {
	seed, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("seed is not valid hex")
	}
	return FromSeed(seed)
}

// Generate makes a fresh random identity.
func Generate() (*Identity, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	return FromSeed(seed)
}

// LoadOrCreate reads the hex seed in path, or creates the file with a new seed (mode 0600) when
// it does not exist, so a node keeps its name across restarts.
func LoadOrCreate(path string) (*Identity, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		id, err := Generate()
		if err != nil {
			return nil, err
		}
		seed := hex.EncodeToString(id.Key.Seed()) + "\n"
		if err := os.WriteFile(path, []byte(seed), 0o600); err != nil {
			return nil, fmt.Errorf("write key file: %w", err)
		}
		return id, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	id, err := FromHexSeed(string(raw))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return id, nil
}

func selfSignedCertificate(key ed25519.PrivateKey) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stableset node"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

// NameMismatchError is the handshake failure when a peer proves a name other than the pinned one.
type NameMismatchError struct {
	Expected, Got wire.Name
}

func (e *NameMismatchError) Error() string {
	return fmt.Sprintf("peer name mismatch: expected %s, got %s", e.Expected, e.Got)
}

// keyExchanges are the TLS key exchanges refnode offers and accepts: X25519 first, then P-256 for
// peers without it. Go's default puts the hybrid X25519MLKEM768 first, which protects a
// connection's confidentiality against a future quantum computer and costs 0.77 ms more per
// handshake here (2.57 against 1.80 ms for a QUIC handshake between two endpoints in one
// process). Nothing in the protocol is confidential (records are signed, stablesets are sent to
// every member), while handshakes lie on its hot paths: elders dial every joiner (ST-10) and each
// hop of a gossip walk is a fresh connection (NB-5).
var keyExchanges = []tls.CurveID{tls.X25519, tls.CurveP256}

// ServerTLS accepts any peer that proves an ed25519 key with a valid self-signed certificate; the
// peer's name is read from it afterwards with PeerName.
func (id *Identity) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: keyExchanges,
		Certificates:     []tls.Certificate{id.cert},
		ClientAuth:       tls.RequireAnyClientCert,
		NextProtos:       []string{wire.ALPN},
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := nameFromChain(raw)
			return err
		},
	}
}

// ClientTLS dials a peer whose name must be expected; any other key fails the handshake with a
// *NameMismatchError.
func (id *Identity) ClientTLS(expected wire.Name) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: keyExchanges,
		Certificates:     []tls.Certificate{id.cert},
		NextProtos:       []string{wire.ALPN},
		ServerName:       "stableset",
		// Only the CA and host name checks are skipped; the key is pinned below instead.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			got, err := nameFromChain(raw)
			if err != nil {
				return err
			}
			// mutant.Enabled first: transport inlines this closure without inlining mutant.Is.
			if got != expected && !(mutant.Enabled && mutant.Is("accept-wrong-name")) {
				return &NameMismatchError{Expected: expected, Got: got}
			}
			return nil
		},
	}
}

// PeerName returns the name proven in a handshake of ServerTLS or ClientTLS. Their
// VerifyPeerCertificate has checked the certificate's self-signature, so it is not checked
// again: an ed25519 verification is about a tenth of a handshake's CPU here, and an accepting
// endpoint reads the name twice per connection.
func PeerName(state tls.ConnectionState) (wire.Name, error) {
	if len(state.PeerCertificates) == 0 {
		return wire.Name{}, errors.New("peer presented no certificate")
	}
	return nameOfKey(state.PeerCertificates[0])
}

func nameFromChain(raw [][]byte) (wire.Name, error) {
	if len(raw) != 1 {
		return wire.Name{}, fmt.Errorf("peer must present exactly one self-signed certificate, got %d", len(raw))
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return wire.Name{}, fmt.Errorf("peer certificate: %w", err)
	}
	return nameFromCert(cert)
}

// nameFromCert is the name of a certificate's key, once its self-signature is checked (ID-6).
func nameFromCert(cert *x509.Certificate) (wire.Name, error) {
	n, err := nameOfKey(cert)
	if err != nil {
		return n, err
	}
	if err := cert.CheckSignature(x509.PureEd25519, cert.RawTBSCertificate, cert.Signature); err != nil && !mutant.Is("accept-foreign-signature") {
		return wire.Name{}, fmt.Errorf("peer certificate is not self-signed by its key: %w", err)
	}
	return n, nil
}

// nameOfKey is the name of a certificate's ed25519 key, its signature unchecked.
func nameOfKey(cert *x509.Certificate) (wire.Name, error) {
	var n wire.Name
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || len(pub) != len(n) {
		return n, errors.New("peer certificate key is not ed25519")
	}
	copy(n[:], pub)
	return n, nil
}
