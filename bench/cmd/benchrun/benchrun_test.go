package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuick runs every measurement of the benchmark once, small (-quick),
// so that it cannot rot, and checks the report and the plot are complete.
// It asserts no speed.
func TestQuick(t *testing.T) {
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := run(t.Context(), quickConfig(), out, []string{"benchrun", "-quick"}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"streamstrap", spliceOnName, spliceOffName, refName, bashName, copyName, copyHeadName, copyCardName, rawName, rawCardName, execName, forkexecName} {
		// One row in each table: per invocation, start/stream/size, and the
		// 128 MB ones (per invocation, stream) unless they were skipped.
		want := 2
		if !strings.Contains(string(md), "skipped") {
			want = 4
		}
		if got := strings.Count(string(md), "| "+name+" | "); got != want {
			t.Errorf("%d rows for %q in the report, want %d:\n%s", got, name, want, md)
		}
	}
	// The splice section compares the two modes of the same run.
	if !strings.Contains(string(md), "## splice(2)") || !strings.Contains(string(md), "| idle, 2 cores | ") {
		t.Errorf("no splice section:\n%s", md)
	}
	// The reference's first byte is a measured number, not a dash.
	if !strings.Contains(string(md), "| "+refName+" | ") || strings.Contains(string(md), "| "+refName+" | —") {
		t.Errorf("no figures for %s:\n%s", refName, md)
	}
	f, err := os.Open(strings.TrimSuffix(out, ".md") + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding the plot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != plotWidth || b.Dy() < 100 {
		t.Errorf("plot is %v", b)
	}
}
