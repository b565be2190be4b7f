package raftcmp

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// acceptWithin calls l.Accept and fails t if no connection arrives within d. The call goes on
// after a timeout and ends when l closes.
func acceptWithin(t *testing.T, l net.Listener, d time.Duration) net.Conn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("accept on %s: %v", l.Addr(), r.err)
		}
		return r.c
	case <-time.After(d):
		t.Fatalf("accept on %s: nothing within %v", l.Addr(), d)
		return nil
	}
}

// exchange sends msg over from and reads it from to, within a second.
func exchange(t *testing.T, from, to net.Conn, msg string) {
	t.Helper()
	if _, err := from.Write([]byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	_ = to.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(to, buf); err != nil {
		t.Fatalf("read %q: %v", msg, err)
	}
	_ = to.SetReadDeadline(time.Time{})
	if string(buf) != msg {
		t.Fatalf("read %q, want %q", buf, msg)
	}
}

// readFails reads from c and fails t unless the read fails (rather than waits) within d.
func readFails(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	start := time.Now()
	n, err := c.Read(make([]byte, 1))
	if err == nil {
		t.Fatalf("%s: read %d bytes, want an error", what, n)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: read still waiting after %v (%v), want the connection to end", what, time.Since(start), err)
	}
}

// TestQUICStreamLayer sends a message each way through the QUIC stream layer: a dials b (c
// listens too and must see nothing), writes, b accepts and answers. It checks the addresses of
// both ends, that a second Dial is a second stream on the same connection, that read deadlines
// work, that closing one end (or the whole layer) ends the other end's reads at once, that a
// closed layer accepts and dials nothing, and that closing the layers leaves no goroutine
// behind.
func TestQUICStreamLayer(t *testing.T) {
	checkNoGoroutineLeak(t)
	var layers [3]*quicStreamLayer
	for i := range layers {
		l, err := listenQUIC("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		layers[i] = l
		if u, ok := l.Addr().(*net.UDPAddr); !ok || !u.IP.IsLoopback() || u.Port == 0 {
			t.Fatalf("layer listens on %v (%T), want 127.0.0.1 UDP, a port", l.Addr(), l.Addr())
		}
	}
	a, b, c := layers[0], layers[1], layers[2]

	out, err := a.Dial(raft.ServerAddress(b.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if out.RemoteAddr().String() != b.Addr().String() || out.LocalAddr().String() != a.Addr().String() {
		t.Errorf("dialed connection %v -> %v, want %v -> %v", out.LocalAddr(), out.RemoteAddr(), a.Addr(), b.Addr())
	}
	// The stream reaches b with the dialer's first write.
	if _, err := out.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	in := acceptWithin(t, b, 2*time.Second)
	if in.RemoteAddr().String() != a.Addr().String() || in.LocalAddr().String() != b.Addr().String() {
		t.Errorf("accepted connection %v <- %v, want %v <- %v", in.LocalAddr(), in.RemoteAddr(), b.Addr(), a.Addr())
	}
	buf := make([]byte, 4)
	_ = in.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(in, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("b read %q, %v; want %q", buf, err, "ping")
	}
	exchange(t, in, out, "pong")
	exchange(t, out, in, "ping again")

	// A second Dial to b is a second stream on the same connection, accepted on its own.
	conns := quicStats.conns.Load()
	out3, err := a.Dial(raft.ServerAddress(b.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if n := quicStats.conns.Load() - conns; n != 0 {
		t.Errorf("a second Dial to b dialed %d new QUIC connections, want 0", n)
	}
	if _, err := out3.Write([]byte("two!")); err != nil {
		t.Fatal(err)
	}
	in3 := acceptWithin(t, b, 2*time.Second)
	_ = in3.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(in3, buf); err != nil || string(buf) != "two!" {
		t.Fatalf("b read %q, %v on the second stream; want %q", buf, err, "two!")
	}
	exchange(t, in3, out3, "back")
	exchange(t, in, out, "first")
	_ = out3.Close()
	readFails(t, in3, time.Second, "b after a closed the second stream")
	_ = in3.Close()

	// A read deadline ends a read that waits for nothing.
	_ = out.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	readErr := make(chan error, 1)
	go func() {
		_, err := out.Read(buf)
		readErr <- err
	}()
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read past the deadline: %v, want %v", err, os.ErrDeadlineExceeded)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("read still waiting 2s after a read deadline 50ms ahead")
	}
	_ = out.SetDeadline(time.Time{})

	// Closing one end ends the other's reads at once.
	if err := out.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	readFails(t, in, time.Second, "b after a closed the stream")
	_ = in.Close()

	// Closing a layer ends its peers' reads too.
	out2, err := b.Dial(raft.ServerAddress(a.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out2.Write([]byte("hola")); err != nil {
		t.Fatal(err)
	}
	in2 := acceptWithin(t, a, 2*time.Second)
	_ = in2.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(in2, buf[:4]); err != nil || string(buf) != "hola" {
		t.Fatalf("a read %q, %v; want %q", buf, err, "hola")
	}
	exchange(t, in2, out2, "hi")
	if err := a.Close(); err != nil {
		t.Errorf("closing the layer: %v", err)
	}
	readFails(t, out2, time.Second, "b after a closed its layer")
	_ = out2.Close()
	if conn, err := a.Accept(); err == nil {
		t.Errorf("a closed layer accepted a connection from %v", conn.RemoteAddr())
	}
	if conn, err := a.Dial(raft.ServerAddress(b.Addr().String()), 200*time.Millisecond); err == nil {
		t.Errorf("a closed layer dialed %v", conn.RemoteAddr())
	}

	// Nothing went to c.
	select {
	case conn := <-c.accepted:
		t.Errorf("c accepted a connection from %v", conn.RemoteAddr())
	default:
	}
}
