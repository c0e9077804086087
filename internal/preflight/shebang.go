package preflight

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
)

// shebang is a parsed #! line: what execve runs instead of the script.
type shebang struct {
	interp string // the interpreter, as written
	arg    string // the optional argument: the rest of the line, not split
	hasArg bool
}

// Reasons a #! line names no interpreter the kernel will try.
var (
	errNoInterp        = errors.New("no interpreter")
	errInterpTruncated = errors.New("interpreter path truncated")
)

// parseShebang parses head, which starts with "#!", exactly as Linux's
// load_script (fs/binfmt_script.c) does, so that what it reports matches
// what the kernel will do. That code works on the zero-padded first 256
// bytes, and its bounds are inclusive; so are these.
func parseShebang(head []byte) (shebang, error) {
	var b [binprmBufSize]byte
	copy(b[:], head)
	const bufEnd = binprmBufSize - 1

	spacetab := func(c byte) bool { return c == ' ' || c == '\t' }
	nextNonSpacetab := func(first, last int) int {
		for ; first <= last; first++ {
			if !spacetab(b[first]) {
				return first
			}
		}
		return -1
	}
	nextTerminator := func(first, last int) int {
		for ; first <= last; first++ {
			if spacetab(b[first]) || b[first] == 0 {
				return first
			}
		}
		return -1
	}
	cstring := func(from int) string {
		s := b[from:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}

	// strnchr: the search for the newline stops at a NUL byte.
	end := -1
	for i := 0; i < len(b) && b[i] != 0; i++ {
		if b[i] == '\n' {
			end = i
			break
		}
	}
	if end < 0 {
		// No newline: the line may have been cut at 256 bytes. The kernel
		// accepts that only when the interpreter's name ends before the
		// cut, as a truncated argument does no harm.
		first := nextNonSpacetab(2, bufEnd)
		if first < 0 {
			return shebang{}, errNoInterp
		}
		if nextTerminator(first, bufEnd) < 0 {
			return shebang{}, errInterpTruncated
		}
		end = bufEnd
	}
	for spacetab(b[end-1]) { // b[1] is '!', so this stops by then
		end--
	}
	name := nextNonSpacetab(2, end)
	if name < 0 || name == end {
		return shebang{}, errNoInterp
	}
	sep := nextTerminator(name, end)
	arg := -1
	if sep >= 0 && b[sep] != 0 {
		arg = nextNonSpacetab(sep, end)
	}
	b[end] = 0
	var sb shebang
	if arg >= 0 {
		b[sep] = 0
		sb.arg, sb.hasArg = cstring(arg), true
	}
	sb.interp = cstring(name)
	return sb, nil
}

// script checks a file that starts with "#!".
func (c *checker) script(path string, head []byte) *NotRunnableError {
	sb, err := parseShebang(head)
	switch err {
	case errNoInterp:
		return &NotRunnableError{
			Reason: "has a #! line that names no interpreter (exec format error)",
			Hint:   `write the interpreter's absolute path right after the #!, e.g. "#!/bin/sh"`,
			Err:    syscall.ENOEXEC,
		}
	case errInterpTruncated:
		return &NotRunnableError{
			Reason: "has a #! line whose interpreter path does not end within the first 255 bytes, all that Linux reads (exec format error)",
			Hint:   "use a shorter path to the interpreter",
			Err:    syscall.ENOEXEC,
		}
	}

	if sb.interp == "" {
		// "#!" then a NUL (or the end of the file): the kernel goes on to
		// open "" as the interpreter, which fails with EACCES (Linux 6.18).
		return &NotRunnableError{
			Reason: "has a #! line that names no interpreter",
			Hint:   `write the interpreter's absolute path right after the #!, e.g. "#!/bin/sh"`,
			Err:    syscall.EACCES,
		}
	}

	isEnv := filepath.Base(sb.interp) == "env"
	if e := crlf(path, sb, isEnv); e != nil {
		return e
	}

	interp := sb.interp
	if !filepath.IsAbs(interp) {
		// The kernel opens it relative to the working directory of the
		// process calling execve, which is the handler's.
		interp = filepath.Join(c.dir, interp)
	}
	if err := Executable(interp); err != nil {
		e := &NotRunnableError{Err: execErrno(err)}
		if interp != sb.interp {
			e.Reason = fmt.Sprintf("names the interpreter %s in its #! line, a relative path that Linux takes relative to the working directory, and %s %s",
				show(sb.interp), show(interp), whyNot(err))
			e.Hint = `give the interpreter's absolute path, e.g. "#!/bin/sh"`
		} else {
			e.Reason = fmt.Sprintf("names the interpreter %s in its #! line, which %s", show(interp), whyNot(err))
			e.Hint = fmt.Sprintf(`point the #! line at an interpreter this runtime has (e.g. "#!/bin/sh", or "#!/usr/bin/env NAME" to find NAME on PATH), or add a layer or image that provides %s`, show(interp))
			if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTDIR) {
				e.Hint = "point the #! line at an interpreter that can be executed"
			}
		}
		return e
	}
	if e := c.binaryAt(interp); e != nil {
		e.Reason = fmt.Sprintf("names the interpreter %s in its #! line, which %s", show(interp), e.Reason)
		return e
	}
	if isEnv {
		return c.env(sb)
	}
	return nil
}

// crlf reports a #! line that ends in a carriage return: the file was saved
// with CRLF line endings, and the kernel, which splits the line at spaces
// and tabs only, keeps the CR as part of the interpreter or its argument.
func crlf(path string, sb shebang, isEnv bool) *NotRunnableError {
	last := sb.interp
	if sb.hasArg {
		last = sb.arg
	}
	if !strings.HasSuffix(last, "\r") {
		return nil
	}
	e := &NotRunnableError{Hint: fmt.Sprintf("convert the file to LF line endings (dos2unix %s)", show(filepath.Base(path)))}
	var so string
	switch {
	case !sb.hasArg:
		so = fmt.Sprintf("the kernel looks for the interpreter %q", sb.interp)
		e.Err = syscall.ENOENT
	case isEnv && !strings.ContainsAny(sb.arg, " \t=") && !strings.HasPrefix(sb.arg, "-"):
		so = fmt.Sprintf("%s looks for the program %q", show(sb.interp), sb.arg)
	default:
		so = fmt.Sprintf("%s gets the argument %q", show(sb.interp), sb.arg)
	}
	e.Reason = "has a #! line that ends in a carriage return (CRLF line endings, as saved on Windows), so " + so
	return e
}
