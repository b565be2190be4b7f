package raftcmp

import (
	"io"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// Kind classifies an RPC between raft nodes.
type Kind int

// The kinds of RPC the counting transport tells apart.
const (
	// Heartbeat is an AppendEntries sent by raft's heartbeat goroutine: no entries, no
	// PrevLogEntry/PrevLogTerm and no LeaderCommitIndex. raft sends one to every follower every
	// HeartbeatTimeout/10 .. HeartbeatTimeout/5, whether or not anything changes.
	Heartbeat Kind = iota
	// EmptyAppend is an AppendEntries without entries sent by the replication goroutine: the
	// consistency probe to a new or lagging follower, and the periodic (every CommitTimeout ..
	// 2*CommitTimeout) append that tells followers the leader's commit index.
	EmptyAppend
	// EntriesAppend is an AppendEntries that carries at least one log entry.
	EntriesAppend
	// Vote is a RequestVote or RequestPreVote.
	Vote
	// Snapshot is an InstallSnapshot (the snapshot data is streamed within the one request).
	Snapshot
	// TimeoutNow is a leadership-transfer TimeoutNow.
	TimeoutNow

	numKinds
)

var kindNames = [numKinds]string{"heartbeat", "empty-append", "entries-append", "vote", "snapshot", "timeout-now"}

func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return "unknown"
	}
	return kindNames[k]
}

// Counter counts RPC messages sent between raft nodes: one request when a node sends an RPC and
// one response when the RPC returns without error. One Counter is shared by all transports of a
// cluster. It is safe for concurrent use.
type Counter struct {
	req, resp     [numKinds]atomic.Int64
	configAppends atomic.Int64
}

// Counts is a snapshot of a Counter, or the difference of two snapshots.
type Counts struct {
	Req, Resp [numKinds]int64
	// ConfigAppends counts AppendEntries requests that carried a LogConfiguration entry.
	ConfigAppends int64
}

// Snapshot returns the current counts.
func (c *Counter) Snapshot() Counts {
	var s Counts
	for k := range numKinds {
		s.Req[k] = c.req[k].Load()
		s.Resp[k] = c.resp[k].Load()
	}
	s.ConfigAppends = c.configAppends.Load()
	return s
}

// Sub returns s - o.
func (s Counts) Sub(o Counts) Counts {
	for k := range numKinds {
		s.Req[k] -= o.Req[k]
		s.Resp[k] -= o.Resp[k]
	}
	s.ConfigAppends -= o.ConfigAppends
	return s
}

// Add returns s + o.
func (s Counts) Add(o Counts) Counts {
	for k := range numKinds {
		s.Req[k] += o.Req[k]
		s.Resp[k] += o.Resp[k]
	}
	s.ConfigAppends += o.ConfigAppends
	return s
}

// Msgs returns the requests plus responses of kind k.
func (s Counts) Msgs(k Kind) int64 { return s.Req[k] + s.Resp[k] }

// Total returns all requests plus responses.
func (s Counts) Total() int64 {
	var n int64
	for k := range numKinds {
		n += s.Msgs(k)
	}
	return n
}

// NonHeartbeat returns all messages except those of raft's heartbeat goroutine.
func (s Counts) NonHeartbeat() int64 { return s.Total() - s.Msgs(Heartbeat) }

// WithEntries returns the messages that are not AppendEntries without entries: AppendEntries
// carrying entries and their responses, plus votes, snapshots and TimeoutNow.
func (s Counts) WithEntries() int64 {
	return s.Total() - s.Msgs(Heartbeat) - s.Msgs(EmptyAppend)
}

// CountingTransport wraps a raft.Transport and counts the RPCs this node sends (requests) and
// the answers it gets (responses) in a Counter. Pipelined AppendEntries are refused
// (ErrPipelineReplicationNotSupported), so raft falls back to one synchronous AppendEntries at a
// time and every message goes through a counted method.
type CountingTransport struct {
	inner raft.Transport
	c     *Counter
}

var (
	_ raft.Transport   = (*CountingTransport)(nil)
	_ raft.WithPreVote = (*CountingTransport)(nil)
	_ raft.WithClose   = (*CountingTransport)(nil)
)

// NewCountingTransport wraps inner. If inner implements raft.WithPreVote, pre-vote requests are
// forwarded and counted; otherwise they fail (raft checks for the interface on the wrapper, which
// always has it, so inner should be a transport with pre-vote support such as
// raft.NetworkTransport).
func NewCountingTransport(inner raft.Transport, c *Counter) *CountingTransport {
	return &CountingTransport{inner: inner, c: c}
}

func (t *CountingTransport) sent(k Kind, err error) {
	t.c.req[k].Add(1)
	if err == nil {
		t.c.resp[k].Add(1)
	}
}

// ClassifyAppend returns the Kind of an AppendEntries request.
func ClassifyAppend(args *raft.AppendEntriesRequest) Kind {
	switch {
	case len(args.Entries) > 0:
		return EntriesAppend
	case args.PrevLogEntry == 0 && args.PrevLogTerm == 0 && args.LeaderCommitIndex == 0:
		return Heartbeat
	default:
		return EmptyAppend
	}
}

// Consumer implements raft.Transport.
func (t *CountingTransport) Consumer() <-chan raft.RPC { return t.inner.Consumer() }

// LocalAddr implements raft.Transport.
func (t *CountingTransport) LocalAddr() raft.ServerAddress { return t.inner.LocalAddr() }

// AppendEntriesPipeline implements raft.Transport; it disables pipelining.
func (t *CountingTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

// AppendEntries implements raft.Transport.
func (t *CountingTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	k := ClassifyAppend(args)
	if k == EntriesAppend {
		for _, e := range args.Entries {
			if e.Type == raft.LogConfiguration {
				t.c.configAppends.Add(1)
				break
			}
		}
	}
	err := t.inner.AppendEntries(id, target, args, resp)
	t.sent(k, err)
	return err
}

// RequestVote implements raft.Transport.
func (t *CountingTransport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	err := t.inner.RequestVote(id, target, args, resp)
	t.sent(Vote, err)
	return err
}

// RequestPreVote implements raft.WithPreVote.
func (t *CountingTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	pv, ok := t.inner.(raft.WithPreVote)
	if !ok {
		return raft.ErrUnsupportedProtocol
	}
	err := pv.RequestPreVote(id, target, args, resp)
	t.sent(Vote, err)
	return err
}

// InstallSnapshot implements raft.Transport.
func (t *CountingTransport) InstallSnapshot(id raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	err := t.inner.InstallSnapshot(id, target, args, resp, data)
	t.sent(Snapshot, err)
	return err
}

// TimeoutNow implements raft.Transport.
func (t *CountingTransport) TimeoutNow(id raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	err := t.inner.TimeoutNow(id, target, args, resp)
	t.sent(TimeoutNow, err)
	return err
}

// EncodePeer implements raft.Transport.
func (t *CountingTransport) EncodePeer(id raft.ServerID, addr raft.ServerAddress) []byte {
	return t.inner.EncodePeer(id, addr)
}

// DecodePeer implements raft.Transport.
func (t *CountingTransport) DecodePeer(b []byte) raft.ServerAddress { return t.inner.DecodePeer(b) }

// SetHeartbeatHandler implements raft.Transport.
func (t *CountingTransport) SetHeartbeatHandler(cb func(rpc raft.RPC)) {
	t.inner.SetHeartbeatHandler(cb)
}

// Close implements raft.WithClose.
func (t *CountingTransport) Close() error {
	if c, ok := t.inner.(raft.WithClose); ok {
		return c.Close()
	}
	return nil
}
