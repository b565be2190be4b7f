//go:build mutants

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/stableset/sskit/refnode/mutant"
)

func TestListMutantsPrintsAllAsJSON(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--list-mutants"}, noEnv, &out, io.Discard); code != exitOK {
		t.Fatalf("--list-mutants: exit %d", code)
	}
	var got []mutant.Mutant
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("--list-mutants printed no JSON list: %v\n%s", err, out.String())
	}
	if !reflect.DeepEqual(got, mutant.All) {
		t.Fatalf("--list-mutants printed %d mutants, not mutant.All (%d)", len(got), len(mutant.All))
	}
}

func TestMutantFlagAndVariable(t *testing.T) {
	t.Cleanup(func() { _ = mutant.Set("") })
	var help bytes.Buffer
	run([]string{"--help"}, noEnv, &help, io.Discard)
	if !strings.Contains(help.String(), "-mutant") || !strings.Contains(help.String(), "-list-mutants") {
		t.Errorf("--help of a mutants build does not show its flags:\n%s", help.String())
	}
	var stderr bytes.Buffer
	if code := run([]string{"--mutant", "no-such-mutant"}, noEnv, io.Discard, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no-such-mutant") {
		t.Errorf("--mutant no-such-mutant: exit %d, %q; want exit %d naming it", code, stderr.String(), exitUsage)
	}
	seed := strings.Repeat("1", 64)
	env := map[string]string{"SSKIT_MUTANT": "ignore-seed", "SSKIT_SEED": seed}
	if _, _, err := parse(nil, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil || !mutant.Is("ignore-seed") {
		t.Fatalf("SSKIT_MUTANT=ignore-seed: err %v, switched on: %v", err, mutant.Is("ignore-seed"))
	}
	if _, _, err := parse([]string{"--mutant", "silent"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil || !mutant.Is("silent") {
		t.Fatalf("--mutant silent over SSKIT_MUTANT: err %v, switched on: %v", err, mutant.Is("silent"))
	}
	if _, _, err := parse([]string{"--seed", seed}, noEnv, io.Discard, io.Discard); err != nil || mutant.Is("silent") {
		t.Fatalf("no --mutant: err %v, silent still on: %v", err, mutant.Is("silent"))
	}
}
