package invoke

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Command is a resolved handler: what to execute, where.
type Command struct {
	Path string   // absolute path of the executable
	Args []string // arguments after the program name
	Dir  string   // working directory for the handler (LAMBDA_TASK_ROOT)
}

// NotFoundError reports a handler that cannot be found or is not executable.
type NotFoundError struct {
	Name  string   // the program name as the handler string gave it
	Tried []string // every path checked, in order
	Err   error    // why the most relevant candidate was rejected
}

// Error describes the handler, every path tried and the reason, e.g.
// `handler "app.py" not found or not executable (tried /var/task/app.py, /usr/bin/app.py): permission denied`.
func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("handler %q not found or not executable (tried %s)", e.Name, strings.Join(e.Tried, ", "))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the reason, so errors.Is(err, fs.ErrNotExist) and
// errors.Is(err, fs.ErrPermission) work.
func (e *NotFoundError) Unwrap() error { return e.Err }

// Resolve finds the executable for words[0] and returns the Command to run.
//
// A name containing '/' is used as is when absolute, else joined to taskRoot.
// A bare name is looked up in taskRoot first, then in each directory of
// pathEnv (colon-separated; empty entries are skipped rather than meaning the
// current directory, and relative entries are taken relative to taskRoot, so
// the result is always absolute). A candidate must be a regular file (after
// following symlinks) that the current user may execute.
//
// Dir is taskRoot, or the current directory when taskRoot is empty, made
// absolute. When nothing fits, Resolve returns a *NotFoundError.
func Resolve(words []string, taskRoot, pathEnv string) (Command, error) {
	if len(words) == 0 || words[0] == "" {
		return Command{}, fmt.Errorf("resolve handler: %w", errEmptyHandler)
	}
	dir := taskRoot
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return Command{}, fmt.Errorf("resolve handler: task root is empty and the current directory is unknown: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Command{}, fmt.Errorf("resolve handler: task root %q: %w", taskRoot, err)
	}

	name := words[0]
	nf := &NotFoundError{Name: name}
	try := func(path string) bool {
		nf.Tried = append(nf.Tried, path)
		err := checkExecutable(path)
		if err == nil {
			return true
		}
		// Keep the most telling reason: "permission denied" or "is a
		// directory" for a file that exists says more than "no such
		// file" for the candidates that do not.
		if nf.Err == nil || (!telling(nf.Err) && telling(err)) {
			nf.Err = err
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
		return Command{}, nf
	}
	return Command{
		Path: found,
		Args: append([]string(nil), words[1:]...), // a copy: the caller may reuse words
		Dir:  dir,
	}, nil
}

// errNoSearch: a directory on the way to a candidate cannot be searched.
var errNoSearch = errors.New("a directory on the path cannot be searched")

// telling reports whether a reason says something about a file that exists
// ("permission denied", "is a directory"), which beats "no such file" and
// unsearchable directories when the NotFoundError picks its reason.
func telling(err error) bool {
	return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNoSearch)
}

// checkExecutable returns nil when path is a regular file the current user
// may execute, else the bare reason (an errno such as ENOENT, EACCES or
// EISDIR, without the path, which the NotFoundError lists anyway).
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			// The file may not even exist: a directory on the way cannot be
			// searched (a PATH entry of another user).
			return errNoSearch
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if fi.IsDir() {
		return syscall.EISDIR
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	}
	// access(2) rather than the mode bits: it knows the current user,
	// its groups and read-only or noexec mounts.
	if err := syscall.Access(path, accessX); err != nil {
		return err
	}
	return nil
}

// accessX is X_OK for access(2); the syscall package does not name it.
const accessX = 0x1
