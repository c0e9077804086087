package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDeterministicZip(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	doc := filepath.Join(dir, "doc")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho hi\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	const mtime = "2026-11-25T17:19:00+01:00"
	a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	if err := run(a, mtime, []string{"z/doc=" + doc, "bootstrap=" + exe}); err != nil {
		t.Fatal(err)
	}
	// Different argument order and source mtimes: same bytes.
	later := time.Now().Add(time.Hour)
	os.Chtimes(exe, later, later)
	if err := run(b, mtime, []string{"bootstrap=" + exe, "z/doc=" + doc}); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if !bytes.Equal(x, y) {
		t.Fatal("two runs on the same inputs differ")
	}

	zr, err := zip.OpenReader(a)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	want := []struct {
		name string
		mode os.FileMode
	}{{"bootstrap", 0o755}, {"z/doc", 0o644}}
	if len(zr.File) != len(want) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(want))
	}
	at, _ := time.Parse(time.RFC3339, mtime)
	for i, f := range zr.File {
		if f.Name != want[i].name || f.Mode() != want[i].mode {
			t.Errorf("entry %d: %s %v, want %s %v", i, f.Name, f.Mode(), want[i].name, want[i].mode)
		}
		if !f.Modified.Equal(at) {
			t.Errorf("%s: mtime %v, want %v", f.Name, f.Modified, at)
		}
	}
}

func TestRejects(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, nil, 0o644)
	out := filepath.Join(dir, "out.zip")
	for _, args := range [][]string{
		{"../x=" + f},
		{"/abs=" + f},
		{"a/=" + f},
		{"a=" + f, "a=" + f},
		{"nofile"},
		{"d=" + dir},
	} {
		if err := run(out, "2026-01-01T00:00:00Z", args); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
	if err := run(out, "yesterday", []string{"a=" + f}); err == nil {
		t.Error("a bad -mtime was accepted")
	}
}
