package transport

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/stableset/sskit/refnode/mutant"
)

// frameClock is the stream as the frame reader sees it. It times each frame from the read that
// brings its first byte to the frame's end, and calls stalled if the frame is not whole within
// limit (SPEC.md WIRE-12). Between frames no clock runs, so a connection with no frame in flight
// stays open for as long as QUIC keeps it (TRN-6).
//
// The frame reader reads a length prefix and then exactly the frame it announces, never beyond,
// so the first read that returns bytes after a frame ended brings the next frame's first byte.
// Reading, starting and stopping allocate nothing: the timer is made once per connection.
type frameClock struct {
	r     io.Reader
	limit time.Duration
	timer *time.Timer
	epoch time.Time    // monotonic origin of since
	since atomic.Int64 // 1 + nanoseconds from epoch to the frame's first byte; 0 between frames
}

// newFrameClock returns a clock on r that calls stalled, on a goroutine of its own, when a frame
// has not been whole for limit. Stop it with end once the reader is done.
func newFrameClock(r io.Reader, limit time.Duration, stalled func()) *frameClock {
	c := &frameClock{r: r, limit: limit, epoch: time.Now()}
	c.timer = time.AfterFunc(time.Hour, func() {
		if c.expired() {
			stalled()
		}
	})
	c.timer.Stop()
	return c
}

// Read reads from the stream and starts the clock when a frame's first byte arrives.
func (c *frameClock) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 && c.since.Load() == 0 {
		c.since.Store(int64(time.Since(c.epoch)) + 1)
		c.timer.Reset(c.limit)
	}
	return n, err
}

// whole stops the clock: the frame read last is complete.
func (c *frameClock) whole() {
	if mutant.Is("stall-clock-between-frames") { // times the silence after a frame as if a frame were in flight
		c.since.Store(int64(time.Since(c.epoch)) + 1)
		c.timer.Reset(c.limit)
		return
	}
	if c.since.Load() != 0 {
		c.since.Store(0)
		c.timer.Stop()
	}
}

// end stops the clock for good, whatever it was timing.
func (c *frameClock) end() {
	c.since.Store(0)
	c.timer.Stop()
}

// expired reports whether a frame is in flight and has been for limit. A timer that fired for a
// frame that has since ended (its callback raced whole) finds no frame, or a newer one that
// started less than limit ago, and does nothing.
func (c *frameClock) expired() bool {
	s := c.since.Load()
	return s != 0 && time.Since(c.epoch)-time.Duration(s-1) >= c.limit
}
