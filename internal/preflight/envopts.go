package preflight

import (
	"fmt"
	"path/filepath"
	"strings"
)

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
		if err := Executable(full); err != nil {
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
		err := Executable(full)
		if err == nil {
			return c.program(prog, envName, full)
		}
		if nonExec == "" && FileExists(err) {
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
