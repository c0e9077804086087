package handler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/preflight"
)

// NotFoundError reports a handler that cannot be found or is not executable.
type NotFoundError struct {
	Name  string   // the program name as the handler string gave it
	Tried []string // every path checked, in order, each once
	// Path is the candidate Err is about when that file exists (it is not
	// executable, or is a directory); empty when no candidate exists.
	Path string
	Err  error // why the most relevant candidate was rejected
}

// Error describes the handler and what to do, e.g.
// `handler "app.py" exists but is not executable: chmod +x /var/task/app.py`
// for a file without an execute bit, else every path tried and the reason:
// `handler "app.py" not found or not executable (tried /var/task/app.py, /usr/bin/app.py): no such file or directory`.
func (e *NotFoundError) Error() string {
	if e.Path != "" && errors.Is(e.Err, preflight.ErrNoExecuteBit) {
		return fmt.Sprintf("handler %q exists but is not executable: chmod +x %s", e.Name, e.Path)
	}
	msg := fmt.Sprintf("handler %q not found or not executable (tried %s)", e.Name, strings.Join(e.Tried, ", "))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the reason, so errors.Is(err, fs.ErrNotExist) and
// errors.Is(err, fs.ErrPermission) work.
func (e *NotFoundError) Unwrap() error { return e.Err }

// resolve finds the executable for words[0] and returns the Command to run.
//
// A name containing '/' is used as is when absolute, else joined to taskRoot.
// A bare name is looked up in taskRoot first, then in each directory of
// pathEnv (colon-separated; empty entries are skipped rather than meaning the
// current directory, relative entries are taken relative to taskRoot, so
// the result is always absolute, and a directory already searched is not
// searched again). A candidate must be a regular file (after following
// symlinks) that the current user may execute.
//
// Dir is taskRoot, or the current directory when taskRoot is empty, made
// absolute. When nothing fits, resolve returns a *NotFoundError.
func resolve(words []string, taskRoot, pathEnv string) (invoke.Command, error) {
	if len(words) == 0 || words[0] == "" {
		return invoke.Command{}, fmt.Errorf("resolve handler: %w", errEmptyHandler)
	}
	dir := taskRoot
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return invoke.Command{}, fmt.Errorf("resolve handler: task root is empty and the current directory is unknown: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return invoke.Command{}, fmt.Errorf("resolve handler: task root %q: %w", taskRoot, err)
	}

	name := words[0]
	nf := &NotFoundError{Name: name}
	tried := make(map[string]bool)
	try := func(path string) bool {
		if tried[path] {
			return false // same file, same verdict; listed once
		}
		tried[path] = true
		nf.Tried = append(nf.Tried, path)
		err := preflight.Executable(path)
		if err == nil {
			return true
		}
		// Keep the most telling reason: "permission denied" or "is a
		// directory" for a file that exists says more than "no such
		// file" for the candidates that do not.
		if nf.Err == nil || (!preflight.FileExists(nf.Err) && preflight.FileExists(err)) {
			nf.Err = err
			if preflight.FileExists(err) {
				nf.Path = path
			}
		}
		return false
	}
	found := ""
	if strings.ContainsRune(name, '/') {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if try(path) {
			found = path
		}
	} else {
		if path := filepath.Join(dir, name); try(path) {
			found = path
		} else {
			for _, d := range filepath.SplitList(pathEnv) {
				if d == "" {
					continue
				}
				if !filepath.IsAbs(d) {
					d = filepath.Join(dir, d)
				}
				if path := filepath.Join(d, name); try(path) {
					found = path
					break
				}
			}
		}
	}
	if found == "" {
		return invoke.Command{}, nf
	}
	return invoke.Command{
		Path: found,
		Args: append([]string(nil), words[1:]...), // a copy: the caller may reuse words
		Dir:  dir,
	}, nil
}
