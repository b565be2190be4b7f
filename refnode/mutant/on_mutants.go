//go:build mutants

package mutant

import "fmt"

// Enabled reports whether this binary was built with -tags mutants.
const Enabled = true

// active is the name of the defect switched on, or "" for none. It is set once at start, before
// the node runs, and only read afterwards.
var active string

// Set switches on the defect called name, a Name in All; "" switches every defect off.
func Set(name string) error {
	if name == "" {
		active = ""
		return nil
	}
	for _, m := range All {
		if m.Name == name {
			active = name
			return nil
		}
	}
	return fmt.Errorf("mutant: no mutant %q (refnode --list-mutants lists them)", name)
}

// Is reports whether the defect called name is switched on.
func Is(name string) bool { return active == name }
