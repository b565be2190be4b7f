//go:build !mutants

package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// The default build has no mutants: the flags that switch them on do not exist.
func TestDefaultBuildHasNoMutantFlags(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, noEnv, &out, io.Discard); code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	if strings.Contains(strings.ToLower(out.String()), "mutant") {
		t.Errorf("--help mentions mutants in the default build:\n%s", out.String())
	}
	for _, args := range [][]string{{"--mutant", "silent"}, {"--list-mutants"}} {
		var stderr bytes.Buffer
		if code := run(args, noEnv, io.Discard, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "not defined") {
			t.Errorf("%v: exit %d, %q; want exit %d for an undefined flag", args, code, stderr.String(), exitUsage)
		}
	}
	// SSKIT_MUTANT is not read either: the node starts as usual.
	env := map[string]string{"SSKIT_MUTANT": "ignore-seed", "SSKIT_SEED": strings.Repeat("1", 64)}
	_, cfg, err := parse(nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Identity.Name.String() != "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737" {
		t.Fatalf("SSKIT_MUTANT changed the default build: name %s", cfg.Identity.Name)
	}
}
