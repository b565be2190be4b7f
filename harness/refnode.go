package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// modulePath is sskit's module, and kitPackage the package of the sskit command.
const (
	modulePath = "github.com/stableset/sskit"
	kitPackage = modulePath + "/cmd/sskit"
)

var (
	refnodeOnce sync.Once
	refnodePath string
	refnodeErr  error
)

// ModuleRoot is the directory of sskit's go.mod: the module of the working directory, which must
// be sskit's.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the sskit module")
	}
	path, err := moduleOf(mod)
	if err != nil {
		return "", fmt.Errorf("not inside the sskit module: %w", err)
	}
	if path != modulePath {
		return "", fmt.Errorf("not inside the sskit module (%s is module %s, not %s)", mod, path, modulePath)
	}
	return filepath.Dir(mod), nil
}

// moduleOf reads the module path a go.mod declares.
func moduleOf(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		line, _, _ = strings.Cut(line, "//")
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`+"`"), nil
		}
	}
	return "", fmt.Errorf("%s declares no module", gomod)
}

// Refnode returns the reference node: the node under test when none is named, and the other
// nodes of mixed and partition scenarios. It is chosen once per process:
//
//   - In a built sskit (the running program is cmd/sskit) with a file named refnode beside its
//     executable, as make build puts bin/refnode beside bin/sskit, it is that binary, and only
//     if `refnode --version` reports the version sskit was built with (`sskit version`; make
//     build gives both the same -X main.version): a refnode of another version is refused, so
//     the reference nodes are always those of the kit that judges, whatever the working
//     directory holds.
//   - Otherwise (go test and go run, whose executables have no refnode beside them, another
//     program that imports the harness, or an sskit alone) it is refnode built from the sskit
//     module of the working directory, as a static binary at <module>/bin/refnode-dev; go's
//     build cache makes that quick. It never writes bin/refnode, which belongs to make build.
//
// refnode reads its settings from the SSKIT_* variables, so its command needs no placeholders.
func Refnode(ctx context.Context) (Implementation, error) {
	refnodeOnce.Do(func() {
		refnodePath, refnodeErr = chooseRefnode(ctx, runningKit(), buildRefnode)
	})
	return Implementation{Name: "refnode", Command: []string{refnodePath}}, refnodeErr
}

// runningKit is the executable of the running program when that program is sskit's command, or
// "" for any other (a test binary, a benchmark, a program that imports the harness).
func runningKit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Path != kitPackage {
		return ""
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return exe
}

// chooseRefnode returns the refnode beside the sskit executable kit (see Refnode), or, when kit
// is "" or has no refnode beside it, what build makes.
func chooseRefnode(ctx context.Context, kit string, build func(context.Context) (string, error)) (string, error) {
	if kit != "" {
		beside := filepath.Join(filepath.Dir(kit), "refnode")
		_, err := os.Stat(beside)
		switch {
		case err == nil:
			if err := sameVersion(ctx, kit, beside); err != nil {
				return "", err
			}
			return beside, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("reference node: %w", err)
		}
	}
	path, err := build(ctx)
	if err != nil && kit != "" {
		return "", fmt.Errorf("reference node: no refnode beside sskit in %s, and none could be built from the working directory: %w "+
			"(make build puts bin/refnode beside bin/sskit)", filepath.Dir(kit), err)
	}
	return path, err
}

// sameVersion checks that the refnode binary ref reports the version the sskit binary kit
// reports.
func sameVersion(ctx context.Context, kit, ref string) error {
	want, err := versionOf(ctx, kit, "sskit", "version")
	if err != nil {
		return fmt.Errorf("reference node: cannot learn sskit's own version: %w", err)
	}
	got, err := versionOf(ctx, ref, "refnode", "--version")
	if err != nil {
		return fmt.Errorf("reference node: %s is beside sskit but does not say its version: %w; "+
			"run make build to build both again", ref, err)
	}
	if got != want {
		return fmt.Errorf("reference node: %s is refnode %s, but this sskit is %s; the reference nodes must be "+
			"the refnode built with this sskit: run make build to build both again", ref, got, want)
	}
	return nil
}

// versionOf runs bin with args and reads its version from the first line it prints, which must
// be "<name> <version>" and possibly more after a space.
func versionOf(ctx context.Context, bin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return "", fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != name {
		return "", fmt.Errorf("%s %s printed %q, not %q and a version", bin, strings.Join(args, " "), strings.TrimSpace(line), name)
	}
	return fields[1], nil
}

// buildRefnode builds refnode from the sskit module of the working directory at
// <module>/bin/refnode-dev.
func buildRefnode(ctx context.Context) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, "bin", "refnode-dev")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", path, "./refnode/cmd/refnode")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build refnode: %v\n%s", err, out)
	}
	return path, nil
}
