package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stableset/sskit/harness"
)

// preflightTimeout bounds the whole preflight: a start (which may build a container), readiness
// within NC-3's 10 s, and one admin request.
const preflightTimeout = 40 * time.Second

// preflight starts one node alone and asks it GET /v1/node before any scenario runs. A node that
// cannot be started, never becomes ready or whose admin API does not answer would fail every
// scenario after a long wait each, and the report would blame rules for what is a setup problem;
// the preflight says so in seconds instead. It also gives the first screen the name, version and
// spec version the node reports, so an implementer sees at once what is being tested.
func (s *suiteRun) preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	start := time.Now()
	c, err := harness.NewCluster(ctx, harness.Options{
		Impl: s.opts.Impl, Backend: s.opts.Backend, Seed: s.opts.Seed, LogDir: filepath.Join(s.res.Dir, "logs", "preflight"),
	})
	if err != nil {
		return fmt.Errorf("cannot prepare the %s backend: %w", s.opts.Backend, err)
	}
	defer c.Close()
	n, err := c.AddNode(ctx)
	if err != nil {
		var se *harness.StartError
		if errors.As(err, &se) && se.Exited && se.ExitCode == exitUnsupported {
			return fmt.Errorf("the node exited with code 127 (unsupported) when started alone with the default settings; every scenario needs that much\n%v", err)
		}
		return err
	}
	status, body, err := n.Do(ctx, http.MethodGet, "/v1/node", "")
	if err != nil {
		return fmt.Errorf("%s is ready, but GET %s failed: %w", n.Label(), n.AdminURL("/v1/node"), err)
	}
	var info harness.NodeInfo
	switch {
	case status == http.StatusNotImplemented:
		fmt.Fprintf(s.opts.Progress, "sskit conformance: preflight: node ready in %v; GET /v1/node answers 501, so its name and version are unknown\n", n.ReadyIn.Round(time.Millisecond))
		return s.probeParts(ctx, n)
	case status != http.StatusOK:
		return fmt.Errorf("%s is ready, but GET %s answered %d, want 200 (SPEC.md ADM-2) or 501: %s", n.Label(), n.AdminURL("/v1/node"), status, snippet(body))
	case json.Unmarshal(body, &info) != nil:
		return fmt.Errorf("%s is ready, but GET %s answered 200 with a body that is not the JSON object of SPEC.md ADM-2: %s", n.Label(), n.AdminURL("/v1/node"), snippet(body))
	}
	s.mu.Lock()
	s.res.NodeName, s.res.NodeVersion = info.Implementation, info.Version
	s.mu.Unlock()
	fmt.Fprintf(s.opts.Progress, "sskit conformance: preflight: the node says it is %s %s, spec version %s; ready in %v (preflight %v)\n",
		orUnknown(info.Implementation), orUnknown(info.Version), orUnknown(info.SpecVersion), n.ReadyIn.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return s.probeParts(ctx, n)
}

// probeParts learns the node's profile as SPEC.md "Parts and profiles" says: each part but core
// is asked once at its first GET endpoint, and 501 means the node leaves the part out. A part
// whose dependency is left out is left out too. Once known, a left-out part costs no scenario
// time: its scenarios are reported unsupported without starting a node.
func (s *suiteRun) probeParts(ctx context.Context, n *harness.Node) error {
	for _, p := range s.spec.Parts {
		if len(p.DependsOn) == 0 {
			continue // core: the preflight itself showed the node has it
		}
		if dep := slices.IndexFunc(p.DependsOn, func(d string) bool { _, out := s.leftOut[d]; return out }); dep >= 0 {
			s.leftOut[p.Name] = fmt.Sprintf("it depends on %s, which the node leaves out", p.DependsOn[dep])
			continue
		}
		path := p.Probe()
		if path == "" {
			continue
		}
		status, _, err := n.Do(ctx, http.MethodGet, path, "")
		if err != nil {
			return fmt.Errorf("%s is ready, but GET %s, which says whether it implements %s, failed: %w", n.Label(), n.AdminURL(path), p.Name, err)
		}
		if status == http.StatusNotImplemented {
			s.leftOut[p.Name] = "GET " + path + " answered 501"
		}
	}
	for _, p := range s.spec.Parts {
		if why, out := s.leftOut[p.Name]; out {
			fmt.Fprintf(s.opts.Progress, "sskit conformance: preflight: the node leaves out %s (%s): its rules are reported unsupported\n", p.Name, why)
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// snippet is the start of a body for an error message, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return fmt.Sprintf("%q", s)
}
