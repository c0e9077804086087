// Command mkzip writes a deterministic zip archive: entries sorted by name,
// every mtime set to one fixed instant (the commit date), modes normalised
// to 0755 (source has any execute bit) or 0644, no directory entries, no
// extra metadata taken from the build machine. Two runs on the same inputs
// produce the same bytes.
//
// Usage:
//
//	mkzip -o out.zip -mtime 2026-11-25T16:19:00Z name=path [name=path ...]
//
// name is the path inside the archive (slash-separated, relative), path the
// file on disk.
package main

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type entry struct {
	name string // inside the archive
	src  string // on disk
}

func main() {
	out := flag.String("o", "", "output zip file (required)")
	mtime := flag.String("mtime", "", "modification time for every entry, RFC 3339 (required; use the commit date)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mkzip -o out.zip -mtime RFC3339 name=path...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*out, *mtime, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkzip:", err)
		os.Exit(1)
	}
}

func run(out, mtime string, args []string) error {
	if out == "" || mtime == "" || len(args) == 0 {
		flag.Usage()
		return errors.New("-o, -mtime and at least one name=path are required")
	}
	t, err := time.Parse(time.RFC3339, mtime)
	if err != nil {
		return fmt.Errorf("-mtime: %w", err)
	}
	// Zip stores local "DOS" times from 1980 on; keep it UTC and in range.
	t = t.UTC()
	if min := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC); t.Before(min) {
		t = min
	}
	entries, err := parseEntries(args)
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), ".mkzip-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := write(tmp, entries, t); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func parseEntries(args []string) ([]entry, error) {
	seen := map[string]bool{}
	var entries []entry
	for _, a := range args {
		name, src, ok := strings.Cut(a, "=")
		if !ok || name == "" || src == "" {
			return nil, fmt.Errorf("argument %q: want name=path", a)
		}
		clean := path.Clean(name)
		if clean != name || path.IsAbs(name) || strings.HasPrefix(name, "../") || name == ".." || strings.HasSuffix(name, "/") {
			return nil, fmt.Errorf("entry name %q: want a clean relative file path", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("entry %q given twice", name)
		}
		seen[name] = true
		entries = append(entries, entry{name: name, src: src})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

func write(w io.Writer, entries []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, e := range entries {
		if err := add(zw, e, mtime); err != nil {
			return err
		}
	}
	return zw.Close()
}

func add(zw *zip.Writer, e entry, mtime time.Time) error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", e.src)
	}
	mode := os.FileMode(0o644)
	if fi.Mode().Perm()&0o111 != 0 {
		mode = 0o755
	}
	h := &zip.FileHeader{
		Name:     e.name,
		Method:   zip.Deflate,
		Modified: mtime,
	}
	h.SetMode(mode) // also marks the entry as made on Unix, so the mode is honoured
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, f)
	return err
}
