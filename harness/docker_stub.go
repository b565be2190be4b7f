package harness

import (
	"context"
	"errors"
)

// Temporary until the docker backend lands.
func newDockerBackend(ctx context.Context, clusterID string, impl Implementation) (Backend, error) {
	return nil, errors.New("docker backend not built yet")
}
