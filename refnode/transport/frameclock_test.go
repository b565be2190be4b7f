package transport

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stableset/sskit/refnode/identity"
	"github.com/stableset/sskit/refnode/wire"
)

// newEndpointWithFrameTimeout is newEndpoint with a short frame timeout, so that WIRE-12 can be
// tested in a fraction of the 5 s default.
func newEndpointWithFrameTimeout(t *testing.T, timeout time.Duration) *Endpoint {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ep, err := Listen(Config{
		Identity: id, Listen: "127.0.0.1:0", RequestTimeout: time.Second, FrameTimeout: timeout,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// WIRE-12: a frame that stops arriving, in its length or in its body, closes the connection with
// FRAME_TRUNCATED once the frame timeout has passed since its first byte, not before; the close
// is counted (ADM-4) and the node keeps serving others (TRN-4).
func TestStalledFrameClosesWithFrameTruncated(t *testing.T) {
	const timeout = 400 * time.Millisecond
	big, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: 7}, make([]byte, 1000))
	cases := []struct {
		name string
		part []byte
	}{
		{"two bytes of a length", big[:2]},
		{"a length and half a body", big[:wire.LengthPrefixSize+wire.HeaderSize+500]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newEndpointWithFrameTimeout(t, timeout)
			r := dialRaw(t, b)
			r.ping(t, 1) // the node has accepted the stream and waits between frames
			start := time.Now()
			if _, err := r.stream.Write(tc.part); err != nil {
				t.Fatal(err)
			}
			if code := r.closedBy(t); code != wire.CodeFrameTruncated {
				t.Fatalf("node closed with %v, want FRAME_TRUNCATED", code)
			}
			if took := time.Since(start); took < timeout {
				t.Fatalf("node closed the connection %v after the frame's first byte, before the %v frame timeout", took, timeout)
			}
			if got := b.Counters().ClosedByUs["FRAME_TRUNCATED"]; got != 1 {
				t.Fatalf("connections_closed_by_us.FRAME_TRUNCATED = %d, want 1", got)
			}
			other := newEndpoint(t, nil, nil)
			if _, err := other.Request(ctx(t), b.Name(), b.Addr(), wire.TypePing, nil, nil); err != nil {
				t.Fatalf("node stopped serving other peers: %v", err)
			}
		})
	}
}

// WIRE-12 and TRN-6: the frame timeout runs only while a frame is in flight. A connection quiet
// between frames for several timeouts stays open, a frame that arrives in parts within the
// timeout is answered, and so is a run of frames that together take longer than one timeout.
func TestFrameTimeoutRunsOnlyWhileAFrameIsInFlight(t *testing.T) {
	const timeout = 300 * time.Millisecond
	b := newEndpointWithFrameTimeout(t, timeout)
	r := dialRaw(t, b) // keep-alives every second keep QUIC's idle timeout away
	r.ping(t, 1)
	// The absence of a close is what is tested, so only waiting out the time can show it.
	time.Sleep(3 * timeout)
	if err := r.conn.Context().Err(); err != nil {
		t.Fatalf("a connection with no frame in flight was closed: %v", context.Cause(r.conn.Context()))
	}
	r.ping(t, 2)

	frame, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: 3}, []byte("in two parts"))
	if _, err := r.stream.Write(frame[:3]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(timeout / 2)
	if _, err := r.stream.Write(frame[3:]); err != nil {
		t.Fatal(err)
	}
	h, _, err := wire.NewFrameReader(r.stream).Next()
	if err != nil || h.Type != wire.TypePong || h.ID != 3 {
		t.Fatalf("a frame whole within the timeout was answered by %v, %v", h, err)
	}
	// Each frame starts its own clock: 6 frames, each whole at once, a third of the timeout apart.
	for id := uint64(10); id < 16; id++ {
		time.Sleep(timeout / 3)
		r.ping(t, id)
	}
	if got := b.Counters().ClosedByUs["FRAME_TRUNCATED"]; got != 0 {
		t.Fatalf("connections_closed_by_us.FRAME_TRUNCATED = %d, want 0", got)
	}
}

// The read path stays allocation-free with the frame clock in it: reading frames, starting the
// clock at each frame's first byte and stopping it when the frame is whole allocate nothing.
func TestFrameClockAllocatesNothing(t *testing.T) {
	var stream []byte
	for i := range 3 {
		stream, _ = wire.AppendFrame(stream, wire.Header{Type: wire.TypePing, ID: uint64(i)}, make([]byte, 100*i))
	}
	src := bytes.NewReader(stream)
	stalled := false
	clock := newFrameClock(src, time.Hour, func() { stalled = true })
	defer clock.end()
	fr := wire.NewFrameReader(clock)
	allocs := testing.AllocsPerRun(200, func() {
		src.Reset(stream)
		for range 3 {
			if _, _, err := fr.Next(); err != nil {
				t.Fatal(err)
			}
			clock.whole()
		}
	})
	if allocs != 0 {
		t.Fatalf("reading a frame through the frame clock allocates %.1f times, want 0", allocs)
	}
	if stalled {
		t.Fatal("the clock called stalled")
	}
}

// A timer that fires for a frame that has ended, or that a newer frame restarted, does nothing.
func TestFrameClockIgnoresAFrameThatEnded(t *testing.T) {
	frame, _ := wire.AppendFrame(nil, wire.Header{Type: wire.TypePing, ID: 1}, nil)
	clock := newFrameClock(bytes.NewReader(append(frame, frame...)), time.Hour, func() {})
	defer clock.end()
	if clock.expired() {
		t.Fatal("expired with no frame in flight")
	}
	fr := wire.NewFrameReader(clock)
	if _, _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	if clock.since.Load() == 0 {
		t.Fatal("the clock did not start at the frame's first byte")
	}
	clock.limit = 0 // any frame in flight is now overdue
	if !clock.expired() {
		t.Fatal("a frame in flight past the limit is not expired")
	}
	clock.whole()
	if clock.expired() {
		t.Fatal("expired after the frame was whole")
	}
	clock.limit = time.Hour
	if _, _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	if clock.expired() {
		t.Fatal("a frame that has just started is expired")
	}
}
