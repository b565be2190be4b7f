package harness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeKit makes a directory holding an executable sskit that prints the version line the real
// one prints (cmd/sskit: "sskit VERSION (commit C), spec version S") and, unless refnode is "",
// an executable refnode whose script body is refnode. It returns sskit's path.
func fakeKit(t *testing.T, kitVersion, refnode string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("sskit", `[ "$1" = version ] || exit 2; echo "sskit `+kitVersion+` (commit 0123abc), spec version 4"`)
	if refnode != "" {
		write("refnode", refnode)
	}
	return filepath.Join(dir, "sskit")
}

// refnodeSays is the script of a refnode that prints the version line the real one prints
// (refnode/cmd/refnode: "refnode VERSION (spec S)") when asked with --version.
func refnodeSays(version string) string {
	return `[ "$1" = --version ] || exit 2; echo "refnode ` + version + ` (spec 3)"`
}

// fakeBuild stands for building refnode from the module: it records that it was asked.
type fakeBuild struct {
	calls int
	path  string
	err   error
}

func (b *fakeBuild) build(context.Context) (string, error) {
	b.calls++
	return b.path, b.err
}

func TestRefnodeBesideSskitOfTheSameVersionIsTheReference(t *testing.T) {
	kit := fakeKit(t, "v1.4.0-3-gabc1234-dirty", refnodeSays("v1.4.0-3-gabc1234-dirty"))
	b := &fakeBuild{path: "/nowhere/bin/refnode-dev"}
	got, err := chooseRefnode(t.Context(), kit, b.build)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(kit), "refnode"); got != want {
		t.Errorf("chose %s, want the refnode beside sskit, %s", got, want)
	}
	if b.calls != 0 {
		t.Errorf("built refnode from the module %d times although one of sskit's version lies beside sskit", b.calls)
	}
}

func TestRefnodeBesideSskitOfAnotherVersionIsRefused(t *testing.T) {
	for _, c := range []struct{ name, kit, ref string }{
		{"another commit", "v1.4.0-3-gabc1234", "v1.4.0-5-gdef5678"},
		{"a dirty tree against a clean one", "v1.4.0", "v1.4.0-dirty"},
		{"built without make build", "v1.4.0", "0.1.0-dev"},
		{"an sskit built without make build", "dev", "v1.4.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			kit := fakeKit(t, c.kit, refnodeSays(c.ref))
			b := &fakeBuild{path: "/nowhere/bin/refnode-dev"}
			got, err := chooseRefnode(t.Context(), kit, b.build)
			if err == nil {
				t.Fatalf("chose %s although it is refnode %s and sskit is %s", got, c.ref, c.kit)
			}
			for _, want := range []string{c.ref, c.kit, filepath.Join(filepath.Dir(kit), "refnode"), "make build"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not name %q: %v", want, err)
				}
			}
			if b.calls != 0 {
				t.Errorf("fell back to building refnode from the module instead of refusing")
			}
		})
	}
}

func TestRefnodeBesideSskitThatGivesNoVersionIsRefused(t *testing.T) {
	for _, c := range []struct{ name, script string }{
		{"fails", `echo "flag provided but not defined: -version" >&2; exit 2`},
		{"prints something else", `echo "v1.4.0"`},
		{"is another program", `echo "mynode v1.4.0"`},
		{"prints nothing", `exit 0`},
	} {
		t.Run(c.name, func(t *testing.T) {
			kit := fakeKit(t, "v1.4.0", c.script)
			b := &fakeBuild{path: "/nowhere/bin/refnode-dev"}
			if got, err := chooseRefnode(t.Context(), kit, b.build); err == nil {
				t.Fatalf("chose %s, whose version cannot be known", got)
			} else if !strings.Contains(err.Error(), "make build") {
				t.Errorf("the error does not say how to mend it: %v", err)
			}
			if b.calls != 0 {
				t.Errorf("fell back to building refnode from the module instead of refusing")
			}
		})
	}
}

func TestWithoutRefnodeBesideSskitItIsBuiltFromTheModule(t *testing.T) {
	kit := fakeKit(t, "v1.4.0", "")
	b := &fakeBuild{path: "/checkout/bin/refnode-dev"}
	got, err := chooseRefnode(t.Context(), kit, b.build)
	if err != nil || got != b.path || b.calls != 1 {
		t.Fatalf("got %q, %v after %d builds; want the one build's %s", got, err, b.calls, b.path)
	}

	// Outside the checkout the build fails: the error says where refnode was looked for.
	b = &fakeBuild{err: errors.New("not inside the sskit module")}
	_, err = chooseRefnode(t.Context(), kit, b.build)
	if err == nil || !strings.Contains(err.Error(), filepath.Dir(kit)) || !strings.Contains(err.Error(), "not inside the sskit module") {
		t.Fatalf("want an error naming %s and the failed build, got %v", filepath.Dir(kit), err)
	}
}

// A program that is not sskit (a test binary, a benchmark) always builds from the module, even
// with a refnode beside it: bin/cluster-bench.test lies beside bin/refnode.
func TestAProgramThatIsNotSskitBuildsRefnodeFromTheModule(t *testing.T) {
	kit := fakeKit(t, "v1.4.0", refnodeSays("v1.4.0"))
	b := &fakeBuild{path: "/checkout/bin/refnode-dev"}
	got, err := chooseRefnode(t.Context(), "", b.build)
	if err != nil || got != b.path || b.calls != 1 {
		t.Fatalf("got %q, %v after %d builds; want the one build's %s, not %s", got, err, b.calls, b.path, filepath.Join(filepath.Dir(kit), "refnode"))
	}
	if exe := runningKit(); exe != "" {
		t.Errorf("runningKit() = %q in a test binary; want \"\", so that go test builds refnode from the module", exe)
	}
}

func TestModuleOf(t *testing.T) {
	for _, c := range []struct{ gomod, want string }{
		{"module github.com/stableset/sskit\n\ngo 1.26\n", "github.com/stableset/sskit"},
		{"// the kit\nmodule \"github.com/stableset/sskit\" // quoted\n", "github.com/stableset/sskit"},
		{"go 1.26\nmodule\texample.com/other\n", "example.com/other"},
		{"modules example.com/x\n", ""},
		{"go 1.26\n", ""},
	} {
		path := filepath.Join(t.TempDir(), "go.mod")
		if err := os.WriteFile(path, []byte(c.gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := moduleOf(path)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("moduleOf(%q) = %q, %v; want %q", c.gomod, got, err, c.want)
		}
	}
}

func TestModuleRootRefusesAnotherModule(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/mynode\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if root, err := ModuleRoot(); err == nil || !strings.Contains(err.Error(), "not inside the sskit module") {
		t.Fatalf("ModuleRoot() in module example.com/mynode = %q, %v; want it refused", root, err)
	}
}
