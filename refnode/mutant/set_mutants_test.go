//go:build mutants

package mutant

import "testing"

func TestSetRejectsUnknownNames(t *testing.T) {
	t.Cleanup(func() { _ = Set("") })
	for _, name := range []string{"no-such-mutant", "Silent", " silent", "silent ", "ID-1"} {
		if err := Set(name); err == nil {
			t.Errorf("Set(%q) accepted a name that is not in All", name)
		}
	}
	if active != "" {
		t.Fatalf("a rejected name switched on %q", active)
	}
}

func TestSetSwitchesOnExactlyOne(t *testing.T) {
	t.Cleanup(func() { _ = Set("") })
	if !Enabled {
		t.Fatal("Enabled is false with -tags mutants")
	}
	for _, m := range All {
		if err := Set(m.Name); err != nil {
			t.Fatalf("Set(%q): %v", m.Name, err)
		}
		for _, o := range All {
			if Is(o.Name) != (o.Name == m.Name) {
				t.Errorf("after Set(%q), Is(%q) = %v", m.Name, o.Name, Is(o.Name))
			}
		}
	}
	if err := Set(""); err != nil {
		t.Fatal(err)
	}
	for _, m := range All {
		if Is(m.Name) {
			t.Errorf("after Set(\"\"), Is(%q) is true", m.Name)
		}
	}
}
