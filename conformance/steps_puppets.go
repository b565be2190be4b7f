package conformance

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cucumber/godog"

	"github.com/stableset/sskit/harness"
)

// The puppet steps (SPEC.md §8) put the node under test in a stableset whose other members are
// puppets (puppets.go), and play scripts of frames against it.

func registerPuppetSteps(sc *godog.ScenarioContext, w *world) {
	sc.Step(`^the node under test(?:, with (elder size|section bits) (\d+),)? founds a stableset(?: alone| that puppets? ([a-z0-9, ]+) joins?, one at a time)$`, w.foundWithPuppets)
	sc.Step(`^the node under test(?:, with section bits (\d+),)? joins a stableset of puppets ([a-z0-9, ]+) through (\w+)$`,
		func(bits, names, through string) error { return w.joinPuppets(bits, names, through, false) })
	sc.Step(`^the node under test, with section bits (\d+), starts with puppet (\w+) of another section as its bootstrap peer$`,
		func(bits, name string) error { return w.joinPuppets(bits, name, name, true) })
	sc.Step(`^the puppets play:$`, func(script *godog.DocString) error { return w.stage().play(script.Content) })
}

var puppetList = regexp.MustCompile(`\s*(?:,|\band\b)\s*`)

// foundWithPuppets starts the node under test alone, so that it founds a stableset with ordinal 0
// (ST-5), and has each puppet join it in turn through the join protocol itself, the elders among
// the puppets answering the node's WITNESS_REQUESTs until a strict majority witnessed the join.
// The script it plays is in the frame trace, like any other.
func (w *world) foundWithPuppets(setting, value, names string) error {
	size, bits := 4, 0
	switch setting {
	case "elder size":
		size, _ = strconv.Atoi(value)
	case "section bits":
		bits, _ = strconv.Atoi(value)
	}
	if err := w.newCluster(); err != nil {
		return err
	}
	w.stage().nodeName = w.cluster.NextName()
	ctx, cancel := stepContext()
	defer cancel()
	n, err := w.cluster.AddNodeWith(ctx, func(s *harness.Settings) { s.ElderSize, s.SectionBits = size, bits })
	w.node = n
	if err := w.started(err); err != nil {
		return err
	}
	w.run.noteVersion(ctx, n)
	s := w.stage()
	s.sectionBits = uint8(bits)
	s.startPolling()
	if names == "" {
		return nil
	}
	var script strings.Builder
	var joined []string // the puppets in, in join order
	for _, name := range puppetList.Split(strings.TrimSpace(names), -1) {
		if name == "" {
			continue
		}
		ordinal := len(joined) + 1
		members := len(joined) + 1 // with the node
		elders := min(size, members)
		need := elders/2 + 1 // the node witnesses the join itself
		fmt.Fprintf(&script, "%s asks join %s@0\n", name, name)
		for _, e := range joined[:min(need-1, len(joined))] {
			fmt.Fprintf(&script, "%s answers join %s@%d\n", e, name, ordinal)
		}
		fmt.Fprintf(&script, "node sends %s WITNESS join %s@%d\n", name, name, ordinal)
		fmt.Fprintf(&script, "node holds member %s@%d\n", name, ordinal)
		joined = append(joined, name)
	}
	s.quick = true
	defer func() { s.quick = false }()
	return s.play(script.String())
}

// joinPuppets makes the puppets first, listening, in the node's section (or, foreign, in the
// next section), then starts the node under test with one of them as its bootstrap peer: the
// node is a joiner (ST-5, SEC-5, SEC-6), and the script decides what it is answered.
func (w *world) joinPuppets(sectionBits, names, through string, foreign bool) error {
	bits := 0
	if sectionBits != "" {
		bits, _ = strconv.Atoi(sectionBits)
	}
	if err := w.newCluster(); err != nil {
		return err
	}
	s := w.stage()
	s.nodeName, s.sectionBits = w.cluster.NextName(), uint8(bits)
	labels := puppetList.Split(strings.TrimSpace(names), -1)
	if foreign {
		if err := s.declareForeign(labels); err != nil {
			return err
		}
	}
	for _, name := range labels {
		if name == "" {
			continue
		}
		if _, err := s.puppet(name); err != nil {
			return err
		}
	}
	boot := s.puppets[through]
	if boot == nil {
		return fmt.Errorf("the bootstrap peer %q is not one of the puppets %s", through, names)
	}
	ctx, cancel := stepContext()
	defer cancel()
	n, err := w.cluster.AddNodeWith(ctx, func(st *harness.Settings) {
		st.SectionBits, st.Bootstrap = bits, []string{boot.listener.Bootstrap()}
	})
	w.node = n
	if err := w.started(err); err != nil {
		return err
	}
	w.run.noteVersion(ctx, n)
	s.startPolling()
	// Every puppet connects now, before the script: a node that dials a puppet while that puppet
	// dials it closes one of the two connections (TRN-3), and a frame sent on it may be lost.
	for _, label := range s.order {
		if label == through {
			continue // the node dials its bootstrap peer itself
		}
		if _, err := s.conn(s.puppets[label]); err != nil {
			return err
		}
	}
	return nil
}
