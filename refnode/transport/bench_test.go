package transport

import (
	"context"
	"testing"

	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/wire"
)

// BenchmarkPingRoundTrip is one PING/PONG over loopback on a live connection: the path every
// frame takes, counting included.
func BenchmarkPingRoundTrip(b *testing.B) {
	a, z := benchEndpoint(b), benchEndpoint(b)
	ctx := context.Background()
	body, dst := []byte("ping"), make([]byte, 0, 64)
	if _, err := a.Request(ctx, z.Name(), z.Addr(), wire.TypePing, body, dst); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = a.Request(ctx, z.Name(), z.Addr(), wire.TypePing, body, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEndpoint(b *testing.B) *Endpoint {
	b.Helper()
	id, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	ep, err := Listen(Config{Identity: id, Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ep.Close() })
	return ep
}
