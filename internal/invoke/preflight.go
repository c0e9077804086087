package invoke

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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
	Path string // the handler, as in Command.Path

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

// Preflight checks that cmd (already found by Resolve) can be executed here,
// and when it cannot, returns a *NotRunnableError that says why in words a
// user can act on, where starting it would only say "no such file or
// directory" or "exec format error".
//
// It reads the start of cmd.Path as Linux's execve does:
//
//   - A #! line is parsed as the kernel parses it (the interpreter is the
//     first word, the rest of the line one optional argument). A line ending
//     in a carriage return (CRLF line endings) is reported as such; the
//     interpreter must exist and be executable (a relative one is taken
//     relative to cmd.Dir, the handler's working directory) and, when it is
//     an ELF binary, pass the checks below. When the interpreter is env, the
//     program env will run must be found in pathEnv (the PATH the handler
//     runs with, where empty means unset) as env would look for it.
//   - An ELF binary must be built for this machine (runtime.GOARCH), be an
//     executable or shared object, and its program interpreter (the dynamic
//     loader, such as /lib64/ld-linux-x86-64.so.2) must exist.
//   - Anything else cannot be executed (Go's os/exec, unlike a shell, does
//     not fall back to running it with /bin/sh), unless a binfmt_misc handler
//     registered with the kernel takes it.
//
// Preflight reports only what it is sure of: whatever it cannot read or
// judge passes, such as a file without read permission (an ELF binary runs
// with execute permission alone) or an env option it does not know. It
// reads at most a few hundred bytes per file, plus the program headers of
// an ELF binary, so it takes microseconds. On systems other than Linux it
// returns nil.
func Preflight(cmd Command, pathEnv string) error {
	if runtime.GOOS != "linux" {
		return nil
	}
	c := checker{
		dir:        cmd.Dir,
		pathEnv:    pathEnv,
		goarch:     runtime.GOARCH,
		binfmtMisc: "/proc/sys/fs/binfmt_misc",
	}
	if e := c.check(cmd.Path); e != nil {
		return e
	}
	return nil
}

// checker holds what Preflight's verdict depends on besides the files, so
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
	case bytes.HasPrefix(head, []byte(elf.ELFMAG)):
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
	if err := checkExecutable(interp); err != nil {
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

// env checks what /usr/bin/env (or another env) will do with the argument
// of a #! line: find a program on PATH and run it.
func (c *checker) env(sb shebang) *NotRunnableError {
	plan := planEnv(sb, c.pathEnv)
	envName := show(sb.interp)
	switch plan.kind {
	case envUnsure:
		return nil
	case envUnsplit:
		return &NotRunnableError{
			Reason: fmt.Sprintf("passes %q to %s as a single argument (Linux does not split the rest of a #! line into words), and env does not split it either",
				sb.arg, envName),
			Hint: fmt.Sprintf("split it with -S: %q", "#!"+sb.interp+" -S "+sb.arg),
		}
	case envNoProgram:
		return &NotRunnableError{
			Reason: fmt.Sprintf("has a #! line that gives %s no program to run, so env runs the script itself, which starts env again, forever", envName),
			Hint:   fmt.Sprintf("name the program, e.g. %q", "#!"+sb.interp+" sh"),
		}
	}

	prog := plan.prog
	if strings.ContainsRune(prog, '/') {
		// env (execvp) runs a name with a slash as it is, relative to the
		// working directory.
		full := prog
		if !filepath.IsAbs(full) {
			full = filepath.Join(c.dir, full)
		}
		if err := checkExecutable(full); err != nil {
			return &NotRunnableError{
				Reason: fmt.Sprintf("runs %q through %s, but %s %s", prog, envName, show(full), whyNot(err)),
				Hint:   "ship it at that path, or name an interpreter that exists",
			}
		}
		return c.program(prog, envName, full)
	}

	var nonExec string // an entry that exists but cannot be executed
	for _, d := range strings.Split(plan.path, ":") {
		// execvp: an empty entry is the working directory, and so is the
		// base of a relative one.
		if !filepath.IsAbs(d) {
			d = filepath.Join(c.dir, d)
		}
		full := filepath.Join(d, prog)
		err := checkExecutable(full)
		if err == nil {
			return c.program(prog, envName, full)
		}
		if nonExec == "" && telling(err) {
			nonExec = fmt.Sprintf("; %s exists but %s", show(full), whyNot(err))
		}
	}
	where := fmt.Sprintf("PATH (%s)", show(plan.path))
	if !plan.pathSet {
		where = fmt.Sprintf("the default search path (%s; PATH is unset)", plan.path)
	}
	return &NotRunnableError{
		Reason: fmt.Sprintf("runs %q through %s, but %s is not on %s%s", prog, envName, show(prog), where, nonExec),
		Hint:   fmt.Sprintf("the runtime has no %s; add a layer or image that provides it, or name an interpreter that exists", show(prog)),
	}
}

// program checks the program env runs, found at full, when it is a binary.
func (c *checker) program(prog, envName, full string) *NotRunnableError {
	e := c.binaryAt(full)
	if e == nil {
		return nil
	}
	e.Reason = fmt.Sprintf("runs %q through %s, and %s %s", prog, envName, show(full), e.Reason)
	e.Err = nil // env itself starts; it is the program that fails
	return e
}

// binaryAt checks the file at path when it is an ELF binary, which is how
// the interpreter of a #! line and the program env runs are checked: no
// deeper, as a #! line naming a script works and the rest is rare. The
// Reason it returns has no subject ("is built for ...").
func (c *checker) binaryAt(path string) *NotRunnableError {
	f, head := openHead(path)
	if f == nil {
		return nil
	}
	defer f.Close()
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		return nil
	}
	e := c.elfBinary(f, head)
	if e != nil && errors.Is(e.Err, syscall.ENOEXEC) && c.binfmtMiscTakes(path, head) {
		return nil
	}
	return e
}

// What env does with the argument of a #! line.
const (
	envRun       = iota // runs prog, searching path
	envUnsplit          // fails: one argument with blanks, and no -S
	envNoProgram        // runs the script itself, which runs env again
	envUnsure           // something planEnv does not model
)

// envPlan is what env will do.
type envPlan struct {
	kind    int
	prog    string // envRun: the program
	path    string // envRun: where it is looked for when it has no slash
	pathSet bool   // whether PATH is set in env's environment, else path is the default
}

// defaultPath is where execvp looks when PATH is unset: glibc's
// "/bin:/usr/bin" with musl's /usr/local/bin, so as never to miss a
// program either would find.
const defaultPath = "/usr/local/bin:/bin:/usr/bin"

// planEnv works out what GNU env (coreutils 8.30 or later, as on Amazon
// Linux 2023) does with the one argument the kernel passes from a #! line,
// followed by the script's path. Options are parsed up to the first
// non-option ("+" in getopt terms), -S splits its string at blanks, then
// NAME=value assignments come, then the program. What this does not model
// (quotes and escapes in -S, -C, an option taking the script's path as its
// value) comes out envUnsure.
func planEnv(sb shebang, pathEnv string) envPlan {
	p := envPlan{path: pathEnv, pathSet: pathEnv != ""}
	unset := func() { p.path, p.pathSet = "", false }
	if !sb.hasArg {
		return envPlan{kind: envNoProgram}
	}
	arg := sb.arg
	blank := func(r rune) bool { return r == ' ' || r == '\t' }

	var words []string
	if s, ok := strings.CutPrefix(arg, "--split-string="); ok {
		arg = "-S" + s
	}
	if len(arg) > 1 && arg[0] == '-' && arg[1] != '-' {
		// A cluster of short options; -S takes the rest of it as the
		// string to split.
		j := 1
		ignoreEnv := false
		for j < len(arg) && strings.IndexByte("iv0", arg[j]) >= 0 {
			ignoreEnv = ignoreEnv || arg[j] == 'i'
			j++
		}
		if j < len(arg) && arg[j] == 'S' {
			s := arg[j+1:]
			if strings.ContainsAny(s, "\"'\\$#") {
				return envPlan{kind: envUnsure} // -S has quoting, escapes, ${VAR} and comments
			}
			if words = strings.FieldsFunc(s, blank); len(words) == 0 {
				return envPlan{kind: envUnsure} // -S takes the script's path as its string
			}
			if ignoreEnv {
				unset()
			}
		}
	}
	if words == nil {
		if strings.ContainsFunc(arg, blank) {
			return envPlan{kind: envUnsplit}
		}
		words = []string{arg}
	}

	i := 0
	// needsValue consumes the value of an option that takes one: the rest
	// of its word, else the next word.
	needsValue := func(rest string) (string, bool) {
		if rest != "" {
			return rest, true
		}
		if i+1 < len(words) {
			i++
			return words[i], true
		}
		return "", false // the value would be the script's path
	}
options:
	for ; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--":
			i++
			break options
		case len(w) < 2 || w[0] != '-':
			break options
		case strings.HasPrefix(w, "--"):
			name, value, hasValue := strings.Cut(w[2:], "=")
			switch name {
			case "ignore-environment":
				unset()
			case "null", "debug", "list-signal-handling", "block-signal", "default-signal", "ignore-signal":
			case "unset", "argv0":
				if !hasValue {
					var ok bool
					if value, ok = needsValue(""); !ok {
						return envPlan{kind: envUnsure}
					}
				}
				if name == "unset" && value == "PATH" {
					unset()
				}
			default: // --chdir, a nested --split-string, abbreviations
				return envPlan{kind: envUnsure}
			}
		default:
			for j := 1; j < len(w); j++ {
				switch w[j] {
				case 'i':
					unset()
				case 'v', '0':
				case 'u', 'a':
					value, ok := needsValue(w[j+1:])
					if !ok {
						return envPlan{kind: envUnsure}
					}
					if w[j] == 'u' && value == "PATH" {
						unset()
					}
					j = len(w)
				default: // -C, a nested -S, options of other versions
					return envPlan{kind: envUnsure}
				}
			}
		}
	}
	if i < len(words) && words[i] == "-" { // a lone "-" means -i
		unset()
		i++
	}
	for ; i < len(words) && strings.ContainsRune(words[i], '='); i++ {
		if value, ok := strings.CutPrefix(words[i], "PATH="); ok {
			p.path, p.pathSet = value, true
		}
	}
	if i == len(words) {
		return envPlan{kind: envNoProgram}
	}
	p.kind, p.prog = envRun, words[i]
	if !p.pathSet {
		p.path = defaultPath
	}
	return p
}

// nativeELF is what an ELF binary must say to run on each GOARCH Lambda
// (or a developer's machine) may have; others are not checked.
var nativeELF = map[string]struct {
	machine elf.Machine
	class   elf.Class
}{
	"amd64": {elf.EM_X86_64, elf.ELFCLASS64},
	"arm64": {elf.EM_AARCH64, elf.ELFCLASS64},
	"386":   {elf.EM_386, elf.ELFCLASS32},
	"arm":   {elf.EM_ARM, elf.ELFCLASS32},
}

// elfBinary checks an ELF file as the kernel's load_elf_binary does before
// it runs it: the machine, the type, the program headers and the program
// interpreter (the dynamic loader). It reads the headers itself rather than
// with elf.NewFile, which also wants valid section headers, which the
// kernel ignores (and a packed or oddly stripped binary may lack).
func (c *checker) elfBinary(f *os.File, head []byte) *NotRunnableError {
	damaged := func(what string) *NotRunnableError {
		return &NotRunnableError{
			Reason: fmt.Sprintf("is a damaged ELF binary: %s (exec format error)", what),
			Hint:   "build it again, and check that whatever copies or zips it copies all of it as is",
			Err:    syscall.ENOEXEC,
		}
	}
	if len(head) < elf.EI_NIDENT+4 {
		return damaged("it ends within its header")
	}
	class, data := elf.Class(head[elf.EI_CLASS]), elf.Data(head[elf.EI_DATA])
	var order binary.ByteOrder = binary.LittleEndian
	if data == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	machine := elf.Machine(order.Uint16(head[18:]))

	if want, ok := nativeELF[c.goarch]; ok {
		if machine != want.machine || class != want.class || data != elf.ELFDATA2LSB {
			built := elfArch(machine, class, data)
			hint := fmt.Sprintf("rebuild it for linux/%s (for Go: GOOS=linux GOARCH=%s)", c.goarch, c.goarch)
			if mine, theirs := lambdaArch[c.goarch], lambdaArch[strings.TrimPrefix(built, "linux/")]; mine != "" && theirs != "" {
				hint = fmt.Sprintf("rebuild it for linux/%s, Lambda's %s (for Go: GOOS=linux GOARCH=%s), or switch the function's architecture to %s",
					c.goarch, mine, c.goarch, theirs)
			}
			return &NotRunnableError{
				Reason: fmt.Sprintf("is built for %s, but this machine is linux/%s (exec format error)", built, c.goarch),
				Hint:   hint,
				Err:    syscall.ENOEXEC,
			}
		}
	}

	// The header fields the kernel uses, from either class.
	var typ elf.Type
	var phoff uint64
	var phentsize, phnum, wantEntsize int
	switch class {
	case elf.ELFCLASS64:
		var h elf.Header64
		if _, err := binary.Decode(head, order, &h); err != nil {
			return damaged("it ends within its header")
		}
		typ, phoff, phentsize, phnum = elf.Type(h.Type), h.Phoff, int(h.Phentsize), int(h.Phnum)
		wantEntsize = binary.Size(elf.Prog64{})
	case elf.ELFCLASS32:
		var h elf.Header32
		if _, err := binary.Decode(head, order, &h); err != nil {
			return damaged("it ends within its header")
		}
		typ, phoff, phentsize, phnum = elf.Type(h.Type), uint64(h.Phoff), int(h.Phentsize), int(h.Phnum)
		wantEntsize = binary.Size(elf.Prog32{})
	default:
		return nil // only reached for a GOARCH not in nativeELF: no opinion
	}

	if typ != elf.ET_EXEC && typ != elf.ET_DYN {
		what, hint := fmt.Sprintf("an ELF file of type %v", typ), "ship the built executable instead"
		switch typ {
		case elf.ET_REL:
			what, hint = "an object file (ELF type ET_REL)", "link it into an executable (a compiler's .o output is not one)"
		case elf.ET_CORE:
			what = "a core dump (ELF type ET_CORE)"
		}
		return &NotRunnableError{
			Reason: fmt.Sprintf("is %s, not an executable (exec format error)", what),
			Hint:   hint,
			Err:    syscall.ENOEXEC,
		}
	}

	// The kernel's limits for the program header table.
	const maxPhdrs = 65536
	if phentsize != wantEntsize || phnum == 0 || phnum*wantEntsize > maxPhdrs || phoff > math.MaxInt64 {
		return damaged("its program header table is invalid")
	}
	phdrs := make([]byte, phnum*wantEntsize)
	if _, err := f.ReadAt(phdrs, int64(phoff)); err != nil {
		return damaged("its program header table is cut short")
	}
	for i := 0; i < phnum; i++ {
		var off, size uint64
		if class == elf.ELFCLASS64 {
			var p elf.Prog64
			_, _ = binary.Decode(phdrs[i*wantEntsize:], order, &p) // cannot fail: the slice holds one
			if elf.ProgType(p.Type) != elf.PT_INTERP {
				continue
			}
			off, size = p.Off, p.Filesz
		} else {
			var p elf.Prog32
			_, _ = binary.Decode(phdrs[i*wantEntsize:], order, &p)
			if elf.ProgType(p.Type) != elf.PT_INTERP {
				continue
			}
			off, size = uint64(p.Off), uint64(p.Filesz)
		}
		// Only the first PT_INTERP counts, and it must be a NUL-terminated
		// path of at most PATH_MAX bytes.
		const pathMax = 4096
		if size < 2 || size > pathMax || off > math.MaxInt64 {
			return damaged("its program interpreter entry is invalid")
		}
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, int64(off)); err != nil {
			return damaged("its program interpreter entry points past its end")
		}
		if buf[size-1] != 0 {
			return damaged("its program interpreter entry is not terminated")
		}
		return c.loader(string(buf[:bytes.IndexByte(buf, 0)]))
	}
	return nil // statically linked
}

// loader checks the program interpreter (dynamic loader) an ELF binary names.
func (c *checker) loader(loader string) *NotRunnableError {
	full := loader
	if !filepath.IsAbs(full) {
		full = filepath.Join(c.dir, full)
	}
	err := checkExecutable(full)
	if err == nil {
		return nil
	}
	libc := "it was linked against a C library this system does not have where the binary expects it (built on another distribution?)"
	if strings.Contains(filepath.Base(loader), "musl") {
		libc = "it was linked against musl libc (as on Alpine Linux), which this system does not have"
	}
	return &NotRunnableError{
		Reason: fmt.Sprintf("is dynamically linked, and its loader %s %s", show(full), whyNot(err)),
		Hint:   libc + "; build it statically (for Go: CGO_ENABLED=0) or on Amazon Linux 2023",
		Err:    execErrno(err),
	}
}

// lambdaArch names the GOARCH values of Lambda's two architectures as Lambda
// does.
var lambdaArch = map[string]string{"amd64": "x86_64", "arm64": "arm64"}

// elfArch names the platform an ELF binary is built for the way Go does
// ("linux/arm64"), or by its e_machine when Go has no name for it.
func elfArch(m elf.Machine, class elf.Class, data elf.Data) string {
	is64, le := class == elf.ELFCLASS64, data != elf.ELFDATA2MSB
	pick := func(a, b string) string {
		if is64 {
			return a
		}
		return b
	}
	name := ""
	switch m {
	case elf.EM_X86_64:
		name = pick("amd64", "amd64 (x32 ABI)")
	case elf.EM_AARCH64:
		name = pick("arm64", "arm64 (ILP32)")
	case elf.EM_386:
		name = "386"
	case elf.EM_ARM:
		name = "arm"
	case elf.EM_RISCV:
		name = pick("riscv64", "riscv32")
	case elf.EM_PPC64:
		name = "ppc64"
		if le {
			name = "ppc64le"
		}
	case elf.EM_PPC:
		name = "ppc"
	case elf.EM_S390:
		name = pick("s390x", "s390")
	case elf.EM_MIPS:
		name = pick("mips64", "mips")
		if le {
			name += "le"
		}
	case elf.EM_LOONGARCH:
		name = pick("loong64", "loong32")
	case elf.EM_SPARCV9:
		name = "sparc64"
	default:
		return fmt.Sprintf("another machine (ELF machine %v, %v)", m, class)
	}
	if !le && (m == elf.EM_X86_64 || m == elf.EM_AARCH64 || m == elf.EM_386 || m == elf.EM_ARM || m == elf.EM_RISCV) {
		name += " (big-endian)"
	}
	return "linux/" + name
}

// notExecutable explains a file that is neither a #! script nor an ELF
// binary, which execve refuses with ENOEXEC.
func notExecutable(head []byte) *NotRunnableError {
	goos := "for Go: GOOS=linux GOARCH=" + runtime.GOARCH
	e := &NotRunnableError{Err: syscall.ENOEXEC}
	bom := []byte("\xef\xbb\xbf")
	switch {
	case len(head) == 0:
		e.Reason = "is empty (exec format error)"
		e.Hint = "check the build or copy that should have written it"
	case bytes.HasPrefix(head, append(bom, "#!"...)):
		e.Reason = "starts with a UTF-8 byte order mark before its #! line (as some Windows editors save files), so Linux does not see the #! (exec format error)"
		e.Hint = "save it as UTF-8 without a BOM"
	case bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n"), []byte("#!")):
		e.Reason = "has blank space or empty lines before its #! line, so Linux does not see the #! (exec format error)"
		e.Hint = "make #! the first two bytes of the file"
	case hasMachOMagic(head):
		e.Reason = "is a macOS (Mach-O) binary, not a Linux one (exec format error)"
		e.Hint = "build it for Linux (" + goos + ")"
	case bytes.HasPrefix(head, []byte("MZ")):
		e.Reason = "is a Windows program, not a Linux one (exec format error)"
		e.Hint = "build it for Linux (" + goos + ")"
	default:
		e.Reason = "has no #! line and is not a binary (exec format error)"
		e.Hint = `start it with "#!/bin/sh" or the interpreter it needs`
	}
	return e
}

// hasMachOMagic reports whether head starts like a Mach-O binary, thin or
// universal. A universal binary shares its magic with Java class files;
// its second word, the number of architectures, tells them apart (a class
// file has its version there, 45 or more).
func hasMachOMagic(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	switch binary.BigEndian.Uint32(head) {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return true
	case 0xcafebabe:
		return binary.BigEndian.Uint32(head[4:]) < 45
	}
	return false
}

// binfmtMiscTakes reports whether a binfmt_misc handler registered with the
// kernel (by magic bytes or file name extension) runs the file at path,
// such as qemu-user for binaries of another machine. Only asked about files
// that would otherwise be reported, so it costs nothing when all is well.
func (c *checker) binfmtMiscTakes(path string, head []byte) bool {
	if c.binfmtMisc == "" {
		return false
	}
	status, err := os.ReadFile(filepath.Join(c.binfmtMisc, "status"))
	if err != nil || strings.TrimSpace(string(status)) != "enabled" {
		return false
	}
	entries, err := os.ReadDir(c.binfmtMisc)
	if err != nil {
		return false
	}
	var buf [binprmBufSize]byte // what the kernel matches against: zero-padded
	copy(buf[:], head)
	for _, ent := range entries {
		if name := ent.Name(); name == "status" || name == "register" {
			continue
		}
		text, err := os.ReadFile(filepath.Join(c.binfmtMisc, ent.Name()))
		if err != nil {
			continue
		}
		if binfmtMiscMatches(string(text), path, buf[:]) {
			return true
		}
	}
	return false
}

// binfmtMiscMatches reports whether the binfmt_misc entry described by
// text (as the kernel shows it in /proc/sys/fs/binfmt_misc/NAME) is enabled
// and matches the file at path whose first bytes are buf.
func binfmtMiscMatches(text, path string, buf []byte) bool {
	lines := strings.Split(text, "\n")
	if lines[0] != "enabled" {
		return false
	}
	offset := 0
	var magic, mask []byte
	for _, line := range lines[1:] {
		key, value, _ := strings.Cut(line, " ")
		var err error
		switch key {
		case "extension":
			// The kernel compares with what follows the last '.' of the
			// whole path.
			ext, ok := strings.CutPrefix(value, ".")
			dot := strings.LastIndexByte(path, '.')
			return ok && dot >= 0 && path[dot+1:] == ext
		case "offset":
			offset, err = strconv.Atoi(value)
		case "magic":
			magic, err = hex.DecodeString(value)
		case "mask":
			mask, err = hex.DecodeString(value)
		}
		if err != nil {
			return false
		}
	}
	if len(magic) == 0 || offset < 0 || offset+len(magic) > len(buf) || (mask != nil && len(mask) != len(magic)) {
		return false
	}
	for i, m := range magic {
		b := buf[offset+i]
		if mask != nil {
			b, m = b&mask[i], m&mask[i]
		}
		if b != m {
			return false
		}
	}
	return true
}

// whyNot says why checkExecutable rejected a file, as a phrase that follows
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
	case errors.Is(err, errNoSearch):
		return "cannot be reached (" + errNoSearch.Error() + ")"
	}
	return "cannot be executed (" + err.Error() + ")"
}

// execErrno returns the errno execve gives for a file checkExecutable
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
