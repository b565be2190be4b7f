package gossip

import "testing"

// Rulebook 51 (GossipAcceptorReal::new, last_gossip_handler_rejects_everything): classification
// runs Debut, Pass, Introduction, Standard, and Standard takes whatever is left, so no honest
// gossip is unclassifiable.
func TestGossipIsClassifiedDebutPassIntroductionStandard(t *testing.T) {
	a, b, c := newPeer(1), newPeer(2), newPeer(3)
	for _, tc := range []struct {
		name  string
		known []peer // records stored beforehand
		body  func(f *fixture) []byte
		want  Type
	}{
		{"sender's unknown record with address", nil, func(f *fixture) []byte { return body(a.addressed(t, 1)) }, Debut},
		{"sender's unknown record, originate-only", nil, func(f *fixture) []byte { return body(a.sign(t, rec{})) }, Debut},
		{"sender's known record without address", []peer{a}, func(f *fixture) []byte { return body(a.concealed(t, 2)) }, Standard},
		{"sender's known record with address", []peer{a}, func(f *fixture) []byte { return body(a.addressed(t, 2)) }, Debut},
		{"sender's known record, originate-only", []peer{a}, func(f *fixture) []byte { return body(a.sign(t, rec{version: 2})) }, Standard},
		{"another node's record with address", nil, func(f *fixture) []byte { return body(b.addressed(t, 1)) }, Pass},
		{"sender's and an unknown node's, both with address", nil, func(f *fixture) []byte { return body(a.addressed(t, 1), b.addressed(t, 1)) }, Introduction},
		{"sender's and a known node's", []peer{b}, func(f *fixture) []byte { return body(a.addressed(t, 1), b.addressed(t, 2)) }, Standard},
		{"three records", nil, func(f *fixture) []byte { return body(a.addressed(t, 1), b.addressed(t, 1), c.concealed(t, 1)) }, Standard},
	} {
		f := newFixture(t)
		for _, p := range tc.known {
			f.store(p.concealed(t, 1))
		}
		res := f.accept(a, tc.body(f))
		wantNoBan(t, res)
		if res.Type != tc.want {
			t.Errorf("%s: classified %v, want %v", tc.name, res.Type, tc.want)
		}
	}
}
