package conformance

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/stableset/sskit/harness"
)

// ImplementationFromEnv chooses the node under test from NODE_CMD (a command template),
// NODE_IMAGE (a container image) and IMPL_NAME (its label in reports). With neither, it is
// refnode, built from this module.
func ImplementationFromEnv(ctx context.Context, getenv func(string) string) (harness.Implementation, error) {
	cmd, image := getenv("NODE_CMD"), getenv("NODE_IMAGE")
	var impl harness.Implementation
	switch {
	case cmd != "" && image != "":
		return impl, errors.New("set NODE_CMD or NODE_IMAGE, not both")
	case cmd != "":
		impl = harness.Implementation{Name: filepath.Base(harness.ParseCommand(cmd)[0]), Command: harness.ParseCommand(cmd)}
	case image != "":
		impl = harness.Implementation{Name: image, Image: image}
	default:
		var err error
		if impl, err = harness.Refnode(ctx); err != nil {
			return impl, err
		}
	}
	if name := getenv("IMPL_NAME"); name != "" {
		impl.Name = name
	}
	return impl, nil
}
