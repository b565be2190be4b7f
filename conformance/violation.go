package conformance

import (
	"errors"
	"slices"
)

// Violation is an assertion's finding that names the rules the node broke. A scenario tagged
// with several rules then fails only those, and its other rules are blocked (not judged) rather
// than broken; an error that names no rule fails every rule the scenario is tagged with. Steps
// that judge one rule among several a scenario checks return one, so that a defect shows up as
// the rule it breaks and not as every rule of the scenario.
type Violation struct {
	Rules []string
	Err   error
}

func (v *Violation) Error() string { return v.Err.Error() }
func (v *Violation) Unwrap() error { return v.Err }

// violates puts err down to rules; nil stays nil.
func violates(err error, rules ...string) error {
	if err == nil {
		return nil
	}
	var v *Violation
	if errors.As(err, &v) {
		return err // an inner check named its rule already
	}
	return &Violation{Rules: slices.Clone(rules), Err: err}
}

// brokenRules is what a scenario's failure is put down to: the rules its failing step's
// Violation names, or else every rule it is tagged with.
func brokenRules(stepErr error, tagged []string) []string {
	var v *Violation
	if errors.As(stepErr, &v) && len(v.Rules) > 0 {
		return v.Rules
	}
	return tagged
}
