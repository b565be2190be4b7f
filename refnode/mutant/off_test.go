//go:build !mutants

package mutant

import "testing"

func TestDefaultBuildHasNoMutants(t *testing.T) {
	if Enabled {
		t.Fatal("Enabled without -tags mutants")
	}
	for _, m := range All {
		if err := Set(m.Name); err == nil {
			t.Errorf("Set(%q) succeeded without -tags mutants", m.Name)
		}
		if Is(m.Name) {
			t.Errorf("Is(%q) is true without -tags mutants", m.Name)
		}
	}
}
