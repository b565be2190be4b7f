package harness

import "testing"

func TestCountersSinceIsPerKeyDifference(t *testing.T) {
	before := Counters{
		Sent: TypeCounts{"PING": 2, "PONG": 1}, Received: TypeCounts{"PING": 1},
		Peers:      map[string]PeerCounts{"a": {Sent: TypeCounts{"PING": 2}, Received: TypeCounts{}}},
		ClosedByUs: map[string]int64{"MALFORMED": 1},
	}
	after := Counters{
		Sent: TypeCounts{"PING": 5, "PONG": 1}, Received: TypeCounts{"PING": 1, "WITNESS": 3},
		Peers: map[string]PeerCounts{
			"a": {Sent: TypeCounts{"PING": 4}, Received: TypeCounts{"WITNESS": 3}},
			"b": {Sent: TypeCounts{"PING": 1}, Received: TypeCounts{}},
		},
		ClosedByUs:         map[string]int64{"MALFORMED": 3},
		UnmatchedResponses: 2,
	}
	d := after.Since(before)
	if d.Sent["PING"] != 3 || d.Sent["PONG"] != 0 || d.Received["WITNESS"] != 3 || d.Sent.Total() != 3 {
		t.Fatalf("totals: %+v %+v", d.Sent, d.Received)
	}
	if d.Peers["a"].Sent["PING"] != 2 || d.Peers["a"].Received["WITNESS"] != 3 || d.Peers["b"].Sent["PING"] != 1 {
		t.Fatalf("per peer: %+v", d.Peers)
	}
	if d.ClosedByUs["MALFORMED"] != 2 || d.UnmatchedResponses != 2 {
		t.Fatalf("closes %v unmatched %d", d.ClosedByUs, d.UnmatchedResponses)
	}
}

// An admin error names the method the harness sent: a POST reported as a GET misleads an
// implementer looking for the bug.
func TestStatusErrorNamesTheMethod(t *testing.T) {
	if got := (&StatusError{Node: "node-0", Method: "POST", Path: "/v1/debut", Status: 501}).Error(); got != "node-0: POST /v1/debut answered 501" {
		t.Errorf("got %q", got)
	}
	if got := (&StatusError{Node: "node-0", Path: "/v1/route", Status: 501}).Error(); got != "node-0: GET /v1/route answered 501" {
		t.Errorf("got %q", got)
	}
}
