package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// ModuleRoot is the directory of sskit's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the sskit module")
	}
	return filepath.Dir(mod), nil
}

// Refnode builds the reference node as a static binary at <module>/bin/refnode (once per
// process; go's build cache makes it quick) and returns the implementation that runs it. refnode
// reads its settings from the SSKIT_* variables, so its command needs no placeholders.
func Refnode(ctx context.Context) (Implementation, error) {
	buildOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(root, "bin", "refnode")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", buildPath, "./refnode/cmd/refnode")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build refnode: %v\n%s", err, out)
		}
	})
	return Implementation{Name: "refnode", Command: []string{buildPath}}, buildErr
}
