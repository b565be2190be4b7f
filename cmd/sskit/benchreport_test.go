package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchReport(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench"}, exitUsage, "want compare OLD NEW, or report DIR"},
		{[]string{"bench", "report"}, exitUsage, "want one directory"},
		{[]string{"bench", "report", "--help"}, exitOK, "Usage: sskit bench report DIR"},
		{[]string{"bench", "report", filepath.Join(t.TempDir(), "none")}, exitUsage, "no such file"},
	} {
		var out bytes.Buffer
		if code := run(c.args, &out, &out); code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("sskit %v: exit %d, want %d; output %q should contain %q", c.args, code, c.code, out.String(), c.want)
		}
	}

	dir := t.TempDir()
	results := "BenchmarkCluster/nodes=4/decisions-2 \t 1 \t 14 msgs/decision \t 16 max-msgs/decision \t 3.1 join-p50-ms\n" +
		"BenchmarkCluster/nodes=8/decisions-2 \t 1 \t 14 msgs/decision \t 17 max-msgs/decision \t 4.2 join-p50-ms\n"
	if err := os.WriteFile(filepath.Join(dir, "cluster.txt"), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run([]string{"bench", "report", dir}, &out, &out); code != exitOK {
		t.Fatalf("sskit bench report: exit %d: %s", code, out.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "| 8 | – | 14 | 17 |") || !strings.Contains(out.String(), "wrote "+filepath.Join(dir, "report.html")) {
		t.Errorf("report.md (%v):\n%s\noutput:\n%s", err, md, out.String())
	}
}
