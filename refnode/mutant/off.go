//go:build !mutants

package mutant

import "errors"

// Enabled reports whether this binary was built with -tags mutants.
const Enabled = false

// Set fails: this binary was built without -tags mutants.
func Set(name string) error {
	return errors.New("mutant: this binary has no mutants; build it with -tags mutants")
}

// Is is always false without -tags mutants; the compiler inlines it, so every check of a
// defect and the code behind it compile away.
func Is(string) bool { return false }
