// Package sskit embeds what the conformance suite is made of, the specification and the feature
// files, so that the sskit command carries them and runs from anywhere.
package sskit

import "embed"

// Suite holds conformance/SPEC.md and features/*.feature.
//
//go:embed conformance/SPEC.md features/*.feature
var Suite embed.FS
