package peer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/stableset/sskit/refnode/wire"
)

// This file is the peer's own implementation of SPEC.md §1 (identity). It deliberately shares no
// code with refnode/identity, so that the two implementations check each other.

// Identity is the peer's ed25519 key pair. Its name is the public key (ID-1).
type Identity struct {
	key   ed25519.PrivateKey
	name  wire.Name
	alone wire.StablesetID // the stableset id of name alone, put in every frame a Conn makes up
}

// NewIdentity derives the identity a node with this 32-byte seed has (ID-3, RFC 8032 §5.1.5).
func NewIdentity(seed []byte) (*Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("peer: seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	id := &Identity{key: ed25519.NewKeyFromSeed(seed)}
	copy(id.name[:], id.key[ed25519.SeedSize:]) // an ed25519 private key is seed || public key
	id.alone = StablesetID([]wire.Member{{Name: id.name}})
	return id, nil
}

// RandomIdentity returns an identity with a fresh random seed.
func RandomIdentity() *Identity {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed) // crypto/rand.Read never fails; it crashes the program instead
	id, _ := NewIdentity(seed)
	return id
}

// NameFromSeed returns the name a node started with seed has (ID-3, NC-2), so a harness knows
// every name before it starts any node. It panics unless seed is 32 bytes.
func NameFromSeed(seed []byte) wire.Name {
	id, err := NewIdentity(seed)
	if err != nil {
		panic(err)
	}
	return id.name
}

// Name is the identity's name: its 32-byte ed25519 public key.
func (id *Identity) Name() wire.Name { return id.name }

// StablesetID is the stableset id of a node alone, as WIRE-10 defines it: itself at ordinal 0.
// A Conn puts it in the header of every frame it makes up itself (Request, Ping, answers).
// Hashed once, since a flooding peer sends frames at full speed.
func (id *Identity) StablesetID() wire.StablesetID { return id.alone }

// StablesetID is the stableset id of a member list (WIRE-10): SHA-256 over each member's name
// followed by its ordinal (8 bytes, big-endian), in ascending bytewise order of the names. The
// harness writes it from SPEC.md rather than taking refnode's, so that the two are checked
// against each other (conformance/vectors/stableset_ids.json).
func StablesetID(members []wire.Member) wire.StablesetID {
	byName := slices.Clone(members)
	slices.SortFunc(byName, func(a, b wire.Member) int { return bytes.Compare(a.Name[:], b.Name[:]) })
	h := sha256.New()
	for _, m := range byName {
		h.Write(m.Name[:])
		h.Write(binary.BigEndian.AppendUint64(nil, m.Ordinal))
	}
	return wire.StablesetID(h.Sum(nil))
}

// CertKind selects the certificate the peer presents in its handshakes. Only CertValid and
// CertExpired obey ID-4; the others exist to check that a node rejects them (ID-6).
type CertKind int

const (
	// CertValid is a self-signed certificate of the identity's ed25519 key (ID-4).
	CertValid CertKind = iota
	// CertExpired is a valid self-signed certificate whose validity ended in 2001. ID-4 says dates
	// are not checked, so a node must accept it.
	CertExpired
	// CertNotSelfSigned holds the identity's key but is signed by another ed25519 key. The peer
	// still proves the identity's key in the handshake; the certificate's signature is what is bad.
	CertNotSelfSigned
	// CertNotEd25519 is a self-signed ECDSA P-256 certificate; the peer proves that key instead.
	CertNotEd25519
	// CertChainOfTwo presents the valid certificate followed by a second, unrelated one.
	CertChainOfTwo
)

// String names the kind, for subtest names and logs.
func (k CertKind) String() string {
	switch k {
	case CertValid:
		return "valid"
	case CertExpired:
		return "expired"
	case CertNotSelfSigned:
		return "not-self-signed"
	case CertNotEd25519:
		return "not-ed25519"
	case CertChainOfTwo:
		return "chain-of-two"
	}
	return fmt.Sprintf("CertKind(%d)", int(k))
}

// certificate builds the TLS certificate of the given kind for id.
func (id *Identity) certificate(kind CertKind) (tls.Certificate, error) {
	notBefore, notAfter := time.Now().Add(-time.Hour), time.Now().Add(100*365*24*time.Hour)
	if kind == CertExpired {
		notBefore, notAfter = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var (
		pub    crypto.PublicKey = id.key.Public()
		priv   crypto.Signer    = id.key // proves the key in the handshake
		signer crypto.Signer    = id.key // signs the certificate
	)
	switch kind {
	case CertValid, CertExpired, CertChainOfTwo:
	case CertNotSelfSigned:
		signer = RandomIdentity().key
	case CertNotEd25519:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, err
		}
		pub, priv, signer = k.Public(), k, k
	default:
		return tls.Certificate{}, fmt.Errorf("peer: unknown certificate kind %v", kind)
	}
	der, err := makeCert(pub, signer, notBefore, notAfter)
	if err != nil {
		return tls.Certificate{}, err
	}
	chain := [][]byte{der}
	if kind == CertChainOfTwo {
		other := RandomIdentity().key
		extra, err := makeCert(other.Public(), other, notBefore, notAfter)
		if err != nil {
			return tls.Certificate{}, err
		}
		chain = append(chain, extra)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: priv}, nil
}

func makeCert(pub crypto.PublicKey, signer crypto.Signer, notBefore, notAfter time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "sskit scripted peer"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	// The parent carries no public key, so x509 accepts a signer whose key differs from pub.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("peer: make certificate: %w", err)
	}
	return der, nil
}

// NameMismatchError is the dial failure when the node proves a name other than the expected one
// (ID-5). Dial's error wraps it; find it with errors.As.
type NameMismatchError struct {
	Expected, Got wire.Name
}

func (e *NameMismatchError) Error() string {
	return fmt.Sprintf("peer: name mismatch: expected %s, got %s", e.Expected, e.Got)
}

// provenName checks the certificates the other side presented as ID-4 demands (exactly one,
// ed25519 key, valid self-signature) and returns the name it holds.
func provenName(raw [][]byte) (wire.Name, error) {
	var name wire.Name
	if len(raw) != 1 {
		return name, fmt.Errorf("peer: want exactly one certificate, got %d", len(raw))
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return name, fmt.Errorf("peer: parse certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return name, errors.New("peer: certificate key is not ed25519")
	}
	if cert.SignatureAlgorithm != x509.PureEd25519 || !ed25519.Verify(pub, cert.RawTBSCertificate, cert.Signature) {
		return name, errors.New("peer: certificate is not self-signed by its own key")
	}
	copy(name[:], pub)
	return name, nil
}

// tlsConfig is the TLS 1.3 configuration for one side of a handshake. A dialer (server false)
// pins expected unless anyName; an acceptor requires a client certificate. Both check what the
// other side presents with provenName; TLS itself proves possession of the key.
func (id *Identity) tlsConfig(server bool, cert tls.Certificate, alpn []string, expected wire.Name, anyName bool) *tls.Config {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		got, err := provenName(raw)
		if err != nil {
			return err
		}
		if !server && !anyName && !bytes.Equal(got[:], expected[:]) {
			return &NameMismatchError{Expected: expected, Got: got}
		}
		return nil
	}
	conf := &tls.Config{
		MinVersion:            tls.VersionTLS13,
		MaxVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{cert},
		NextProtos:            alpn,
		VerifyPeerCertificate: verify,
	}
	if server {
		conf.ClientAuth = tls.RequireAnyClientCert
	} else {
		conf.ServerName = "stableset" // not checked by either side (ID-4)
		// No certificate authority: skip the chain and host name checks; verify pins the key.
		conf.InsecureSkipVerify = true
	}
	return conf
}

// nameOf returns the name proven in a completed handshake.
func nameOf(state tls.ConnectionState) (wire.Name, error) {
	raw := make([][]byte, len(state.PeerCertificates))
	for i, c := range state.PeerCertificates {
		raw[i] = c.Raw
	}
	return provenName(raw)
}
