// Package bench holds side-by-side benchmarks of sskit's transport against raw quic-go and TCP.
//
// BenchmarkRoundTrip sends the same witness-sized frame (a WITNESS_REQUEST carrying one encoded
// wire.Observation, 104 bytes on the wire) and waits for its echo, over three paths:
//
//	impl=sskit    two refnode/transport Endpoints on loopback, Endpoint.Request
//	impl=rawquic  plain quic-go with the same TLS and QUIC settings, one long-lived stream
//	impl=tcp      one loopback TCP connection
//
// The QUIC paths use the same framing (package wire) as the transport, so the difference between
// sskit and rawquic is what the transport adds. Compare them with benchstat, for example:
//
//	go test -run '^$' -bench RoundTrip -benchmem -count 6 ./bench/ > bench.txt
//	benchstat -col /impl bench.txt
//
// TestRoundTripAllocsMatchRawQUIC keeps the transport's allocations per round trip at those of
// raw quic-go (plus one, for quic-go's own variation).
package bench
