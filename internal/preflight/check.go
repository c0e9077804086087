// Package preflight tells, before a handler first runs, whether Linux will
// execute it here, and when it will not, says why in words a user can act
// on, where starting it would only give "no such file or directory" or "exec
// format error". It reads the start of the file as execve does: a #! line
// and its interpreter (with CRLF line endings and a byte order mark
// diagnosed, and what GNU env will do with the line's argument worked out),
// an ELF binary's machine, type and dynamic loader, the shapes of Mach-O,
// Windows and text files, and the binfmt_misc handlers registered with the
// kernel. It only reads files; it never starts a process.
package preflight

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unicode"
)

// NotRunnableError reports a handler that exists and may be executed but
// that cannot run here: a #! line that names a missing interpreter, a binary
// built for another machine, and the like. Error gives one line that names
// the file, what is wrong and what to do.
type NotRunnableError struct {
	Path string // the handler, as given to Check

	// Reason says what is wrong, as a phrase that follows the path:
	// `is built for linux/arm64, but this machine is linux/amd64 (exec format error)`.
	Reason string

	// Hint says what to do about it: `rebuild it for linux/amd64 (...)`.
	Hint string

	// Err is the error that starting the handler gives (syscall.ENOEXEC,
	// ENOENT or EACCES), or nil when the start itself succeeds and the
	// handler fails right after it: /usr/bin/env not finding the program,
	// an interpreter given an argument that ends in a carriage return.
	Err error
}

// Error returns "handler <Path> <Reason>: <Hint>", e.g.
// `handler /var/task/app is built for linux/arm64, but this machine is
// linux/amd64 (exec format error): rebuild it for linux/amd64 (...)`.
func (e *NotRunnableError) Error() string {
	msg := "handler " + e.Path + " " + e.Reason
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// Unwrap returns Err, so errors.Is(err, syscall.ENOEXEC) works.
func (e *NotRunnableError) Unwrap() error { return e.Err }

// Check checks that the executable at path (absolute, as the handler's
// resolution returns it) can be executed here by a process whose working
// directory is dir, and when it cannot, returns a *NotRunnableError.
//
// It reads the start of the file as Linux's execve does:
//
//   - A #! line is parsed as the kernel parses it (the interpreter is the
//     first word, the rest of the line one optional argument). A line ending
//     in a carriage return (CRLF line endings) is reported as such; the
//     interpreter must exist and be executable (a relative one is taken
//     relative to dir) and, when it is an ELF binary, pass the checks
//     below. When the interpreter is env, the program env will run must be
//     found in pathEnv (the PATH the handler runs with, where empty means
//     unset) as env would look for it.
//   - An ELF binary must be built for this machine (runtime.GOARCH), be an
//     executable or shared object, and its program interpreter (the dynamic
//     loader, such as /lib64/ld-linux-x86-64.so.2) must exist.
//   - Anything else cannot be executed (Go's os/exec, unlike a shell, does
//     not fall back to running it with /bin/sh), unless a binfmt_misc handler
//     registered with the kernel takes it.
//
// Check reports only what it is sure of: whatever it cannot read or judge
// passes, such as a file without read permission (an ELF binary runs with
// execute permission alone) or an env option it does not know. It reads at
// most a few hundred bytes per file, plus the program headers of an ELF
// binary, so it takes microseconds. On systems other than Linux it returns
// nil.
func Check(path, dir, pathEnv string) error {
	if runtime.GOOS != "linux" {
		return nil
	}
	c := checker{
		dir:        dir,
		pathEnv:    pathEnv,
		goarch:     runtime.GOARCH,
		binfmtMisc: "/proc/sys/fs/binfmt_misc",
	}
	if e := c.check(path); e != nil {
		return e
	}
	return nil
}

// checker holds what Check's verdict depends on besides the files, so
// that tests can pretend to be another machine or use a fake binfmt_misc.
type checker struct {
	dir        string // the handler's working directory
	pathEnv    string // the handler's PATH; empty means unset
	goarch     string // the machine the handler must be built for
	binfmtMisc string // where binfmt_misc is mounted; empty: not consulted
}

// binprmBufSize is how much of a file execve reads to decide how to run it
// (BINPRM_BUF_SIZE); a #! line is parsed within it.
const binprmBufSize = 256

// check returns what keeps the file at path from running, or nil.
func (c *checker) check(path string) *NotRunnableError {
	f, head := openHead(path)
	if f == nil {
		return nil // unreadable: leave it to exec
	}
	defer f.Close()

	var e *NotRunnableError
	switch {
	case bytes.HasPrefix(head, []byte("#!")):
		e = c.script(path, head)
	case bytes.HasPrefix(head, []byte(elfMag)):
		if e = c.elfBinary(f, head); e != nil && errors.Is(e.Err, syscall.ENOEXEC) && c.binfmtMiscTakes(path, head) {
			e = nil // e.g. qemu-user running a binary of another machine
		}
	default:
		if !c.binfmtMiscTakes(path, head) {
			e = notExecutable(head)
		}
	}
	if e == nil {
		return nil
	}
	e.Path = path
	return e
}

// openHead opens path and reads its first binprmBufSize bytes (fewer for a
// shorter file). It returns a nil file when path cannot be opened or read,
// or is not a regular file. The caller closes the file.
func openHead(path string) (*os.File, []byte) {
	// O_NONBLOCK: opening a FIFO put in the handler's place must not hang.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil
	}
	head := make([]byte, binprmBufSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		_ = f.Close()
		return nil, nil
	}
	return f, head[:n]
}

// whyNot says why Executable rejected a file, as a phrase that follows
// its name: "does not exist (no such file or directory)".
func whyNot(err error) string {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return "does not exist (no such file or directory)"
	case errors.Is(err, syscall.ENOTDIR):
		return "does not exist (a part of its path is not a directory)"
	case errors.Is(err, syscall.EACCES):
		return "is not executable (permission denied)"
	case errors.Is(err, syscall.EISDIR):
		return "is a directory"
	case errors.Is(err, ErrUnsearchable):
		return "cannot be reached (" + ErrUnsearchable.Error() + ")"
	}
	return "cannot be executed (" + err.Error() + ")"
}

// execErrno returns the errno execve gives for a file Executable
// rejected: ENOENT or ENOTDIR for a missing one, EACCES for the rest.
func execErrno(err error) error {
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		return err
	}
	return syscall.EACCES
}

// show returns s as it is when it reads unambiguously in a message, else
// quoted: a path with a space or a control character in it.
func show(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '"' || !unicode.IsPrint(r)
	}) {
		return strconv.Quote(s)
	}
	return s
}

// ErrUnsearchable is the reason Executable gives when a directory on the way
// to the file cannot be searched (a PATH entry of another user), so that
// whether the file exists is unknown.
var ErrUnsearchable = errors.New("a directory on the path cannot be searched")

// ErrNoExecuteBit is the reason Executable gives for a regular file whose
// mode has no execute bit at all, which chmod +x fixes. It is a permission
// error: errors.Is(ErrNoExecuteBit, fs.ErrPermission) and
// errors.Is(ErrNoExecuteBit, syscall.EACCES) hold, and its text is
// EACCES's.
var ErrNoExecuteBit error = noExecuteBit{}

type noExecuteBit struct{}

func (noExecuteBit) Error() string { return syscall.EACCES.Error() }

// Is makes ErrNoExecuteBit match what execve would say, EACCES.
func (noExecuteBit) Is(target error) bool {
	return target == fs.ErrPermission || target == syscall.EACCES
}

// Executable returns nil when path is a regular file the current user may
// execute, else the bare reason, without the path (which the caller
// names): an errno such as ENOENT, EACCES or EISDIR, ErrNoExecuteBit, or
// ErrUnsearchable. It is the first test both of finding the handler and of
// Check's look at an interpreter or a loader.
func Executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			// The file may not even exist: a directory on the way cannot be
			// searched.
			return ErrUnsearchable
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
		if errors.Is(err, syscall.EACCES) && fi.Mode().Perm()&0o111 == 0 {
			return ErrNoExecuteBit
		}
		return err
	}
	return nil
}

// accessX is X_OK for access(2); the syscall package does not name it.
const accessX = 0x1

// FileExists reports whether a reason Executable gave is about a file that
// exists ("permission denied", "is a directory"), rather than one that
// does not or cannot be reached, which says more when a caller
// tried several paths.
func FileExists(reason error) bool {
	return !errors.Is(reason, fs.ErrNotExist) && !errors.Is(reason, ErrUnsearchable)
}
