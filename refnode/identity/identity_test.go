package identity

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestSeedGivesStableName(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	a, err := FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FromHexSeed("0707070707070707070707070707070707070707070707070707070707070707")
	if a.Name != b.Name {
		t.Fatal("same seed gave two names")
	}
	if _, err := FromSeed(seed[:31]); err == nil {
		t.Fatal("31-byte seed accepted")
	}
	if _, err := FromHexSeed("zz"); err == nil {
		t.Fatal("non-hex seed accepted")
	}
}

func TestLoadOrCreateKeepsName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.key")
	first, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, err %v", info.Mode(), err)
	}
	second, err := LoadOrCreate(path)
	if err != nil || second.Name != first.Name {
		t.Fatalf("reloaded name %v differs from %v (err %v)", second.Name, first.Name, err)
	}
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("corrupt key file accepted")
	}
}

func TestClientPinsName(t *testing.T) {
	server, _ := Generate()
	other, _ := Generate()
	client, _ := Generate()
	raw := server.cert.Certificate
	if err := client.ClientTLS(server.Name).VerifyPeerCertificate(raw, nil); err != nil {
		t.Fatalf("right name rejected: %v", err)
	}
	err := client.ClientTLS(other.Name).VerifyPeerCertificate(raw, nil)
	var mismatch *NameMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != server.Name || mismatch.Expected != other.Name {
		t.Fatalf("wrong name: err = %v", err)
	}
	cert, _ := x509.ParseCertificate(raw[0])
	if got, err := nameFromCert(cert); err != nil || got != server.Name {
		t.Fatalf("name from certificate = %v, %v", got, err)
	}
}

func TestServerRejectsForeignSignature(t *testing.T) {
	a, _ := Generate()
	b, _ := Generate()
	// A certificate whose key is a's but whose signature comes from b's certificate.
	certA, _ := x509.ParseCertificate(a.cert.Certificate[0])
	certB, _ := x509.ParseCertificate(b.cert.Certificate[0])
	certA.Signature = certB.Signature
	if _, err := nameFromCert(certA); err == nil {
		t.Fatal("certificate not signed by its own key accepted")
	}
	if err := a.ServerTLS().VerifyPeerCertificate([][]byte{[]byte("garbage")}, nil); err == nil {
		t.Fatal("unparseable certificate accepted")
	}
}

// Two refnode identities agree on X25519 (keyExchanges), and a peer that offers Go's default
// key exchanges, the hybrid X25519MLKEM768 first, still gets X25519 from a refnode acceptor.
func TestHandshakeUsesX25519(t *testing.T) {
	server, _ := Generate()
	client, _ := Generate()
	stranger := client.ClientTLS(server.Name)
	stranger.CurvePreferences = nil // Go's default, as a peer built on crypto/tls offers it
	for name, conf := range map[string]*tls.Config{"refnode": client.ClientTLS(server.Name), "default": stranger} {
		a, b := net.Pipe()
		errs := make(chan error, 1)
		go func() { errs <- tls.Server(a, server.ServerTLS()).Handshake() }()
		c := tls.Client(b, conf)
		if err := c.Handshake(); err != nil {
			t.Fatalf("%s client: %v", name, err)
		}
		if err := <-errs; err != nil {
			t.Fatalf("%s client, server side: %v", name, err)
		}
		if got := c.ConnectionState().CurveID; got != tls.X25519 {
			t.Errorf("%s client: key exchange %v, want X25519", name, got)
		}
		a.Close()
		b.Close()
	}
}
