package record_test

import (
	"crypto/ed25519"
	"fmt"
	"net/netip"

	"github.com/stableset/sskit/refnode/record"
	"github.com/stableset/sskit/refnode/wire"
)

// A node signs its own record; a receiver decodes and verifies the bytes and relays them as
// they are.
func Example() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	own := record.Record{
		Name:    wire.Name(key.Public().(ed25519.PublicKey)),
		Version: 1,
		Accepts: true,
		Addr:    netip.MustParseAddrPort("192.0.2.1:4001"),
	}
	signed, err := own.AppendSigned(nil, key)
	if err != nil {
		panic(err)
	}

	var v record.View
	if err := v.Decode(signed); err != nil {
		panic(err) // undecodable: the whole gossip is discarded (rule 80)
	}
	if err := v.Verify(); err != nil {
		panic(err) // forged or altered: discard the gossip and ban its relayer
	}
	addr, _ := v.Addr()
	fmt.Println(len(v.Bytes()), v.Version(), v.Accepts(), addr, v.NumNeighbors())
	// Output: 125 1 true 192.0.2.1:4001 0
}
