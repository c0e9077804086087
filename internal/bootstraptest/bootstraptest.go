// Package bootstraptest builds the real bootstrap binary and runs it as a
// subprocess for tests: the end-to-end tests of the runtime, of the HTTP
// modes and of the examples all start it the same way, against the strict
// Runtime API of package runtimeapitest.
//
// Every process a test starts carries a marker in its environment, inherited
// by the handlers and anything they spawn, so a test can find leaked
// processes by scanning /proc, whoever their parent is now.
package bootstraptest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// MarkerVar is the environment variable carrying a test run's marker.
const MarkerVar = "STREAMSTRAP_TEST_MARKER"

// Build compiles ./cmd/bootstrap of this module into dir and returns the
// binary's path. Tests call it once, from TestMain. The binary is the host
// build (it has `local` and `serve`) linked with the Lambda build's GODEBUG
// default (the Makefile's LAMBDA_GODEBUG), so the tests run the Go runtime
// the way Lambda runs it.
func Build(dir string) (string, error) { return build(dir, "bootstrap", "") }

// BuildLambda compiles the Lambda build (-tags lambda, as the layer and the
// image ship it: no development commands) into dir, for the tests of what
// only that build does. Its path is returned.
func BuildLambda(dir string) (string, error) { return build(dir, "bootstrap-lambda", "lambda") }

// build compiles ./cmd/bootstrap with tags into dir/name.
func build(dir, name, tags string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	godebug, err := LambdaGodebug(filepath.Join(root, "Makefile"))
	if err != nil {
		return "", err
	}
	ldflags := "-X runtime.godebugDefault=" + godebug
	if longUp() {
		// schedtrace's line would be printed at every start (its period
		// has passed on the monotonic clock) and read as a log line.
		ldflags = ""
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-tags", tags, "-ldflags", ldflags, "-o", bin, "./cmd/bootstrap")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the bootstrap (tags %q): %w\n%s", tags, err, out)
	}
	return bin, nil
}

// longUp reports whether the system has been up for over 24 days (or its
// uptime cannot be read): near the 24.8-day period of LAMBDA_GODEBUG's
// schedtrace, after which the runtime prints its trace line.
func longUp() bool {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return true
	}
	first, _, _ := strings.Cut(string(b), " ")
	s, err := strconv.ParseFloat(strings.TrimSpace(first), 64)
	return err != nil || s > 24*24*3600
}

// LambdaGodebug reads the Makefile's LAMBDA_GODEBUG: the GODEBUG default
// the Lambda build is linked with (-X runtime.godebugDefault).
func LambdaGodebug(makefile string) (string, error) {
	b, err := os.ReadFile(makefile)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^LAMBDA_GODEBUG\s*:?=\s*(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s has no LAMBDA_GODEBUG", makefile)
	}
	return string(m[1]), nil
}

// Main is the TestMain of a package that runs the bootstrap: it builds the
// binary into a temporary folder, sets *bin to its path, runs the tests,
// checks with goleak that they left no goroutine behind, removes the folder
// and returns the exit code for os.Exit.
func Main(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "streamstrap-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the streamstrap module")
	}
	return filepath.Dir(gomod), nil
}

// Options describe one bootstrap process.
type Options struct {
	// RuntimeAPI is the host:port of the Runtime API (AWS_LAMBDA_RUNTIME_API);
	// leave empty to test its absence.
	RuntimeAPI string
	// Args are the bootstrap's arguments (flags, "--", handler...).
	Args []string
	// TaskRoot becomes LAMBDA_TASK_ROOT and the working directory.
	TaskRoot string
	// Env is added to a minimal environment (PATH, HOME, the marker).
	Env []string
}

// Process is a running bootstrap.
type Process struct {
	Marker string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	stdout *lockedBuffer
	done   chan struct{}
	err    error
}

// Start starts the bootstrap binary bin. The process is killed at the end of
// the test if it is still running.
func Start(tb testing.TB, bin string, opts Options) *Process {
	tb.Helper()
	var m [8]byte
	_, _ = rand.Read(m[:])
	p := &Process{Marker: hex.EncodeToString(m[:]), stderr: &lockedBuffer{}, stdout: &lockedBuffer{}, done: make(chan struct{})}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		MarkerVar + "=" + p.Marker,
	}
	if opts.RuntimeAPI != "" {
		env = append(env, "AWS_LAMBDA_RUNTIME_API="+opts.RuntimeAPI)
	}
	if opts.TaskRoot != "" {
		env = append(env, "LAMBDA_TASK_ROOT="+opts.TaskRoot)
	}
	env = append(env, opts.Env...)
	p.cmd = exec.Command(bin, opts.Args...)
	p.cmd.Env = env
	p.cmd.Dir = opts.TaskRoot
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stdout
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("starting the bootstrap: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("bootstrap stderr:\n%s", p.Stderr())
		}
		KillMarked(p.Marker)
	})
	return p
}

// Pid is the bootstrap's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stderr returns everything the bootstrap wrote to stderr so far (its logs
// and its handlers' stderr).
func (p *Process) Stderr() string { return p.stderr.String() }

// WaitStderr waits up to timeout for s to appear in the bootstrap's stderr,
// which reaches the test through a pipe and may lag behind the Runtime API.
func (p *Process) WaitStderr(s string, timeout time.Duration) bool {
	return WaitFor(timeout, func() bool { return strings.Contains(p.Stderr(), s) })
}

// Stdout returns what the bootstrap wrote to stdout (it should write nothing).
func (p *Process) Stdout() string { return p.stdout.String() }

// Signal sends sig to the bootstrap.
func (p *Process) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the bootstrap to exit and returns its exit
// code; ok is false when it is still running.
func (p *Process) Wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}

// Exited reports whether the bootstrap has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// OpenFDs counts the bootstrap's open file descriptors by kind: "pipe",
// "socket", "anon_inode" (epoll and the like) and "file" for the rest.
func (p *Process) OpenFDs() (map[string]int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", p.Pid())
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing fds: %w", err)
	}
	kinds := make(map[string]int)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		kind, _, found := strings.Cut(target, ":")
		if !found || strings.HasPrefix(target, "/") {
			kind = "file"
		}
		kinds[kind]++
	}
	return kinds, nil
}

// PeakRSS reads the bootstrap's peak resident set size (VmHWM) in bytes.
func (p *Process) PeakRSS() (int64, error) { return p.statusBytes("VmHWM:") }

// RSS reads the bootstrap's current resident set size (VmRSS) in bytes.
func (p *Process) RSS() (int64, error) { return p.statusBytes("VmRSS:") }

// statusBytes reads a "kB" field of /proc/PID/status, in bytes.
func (p *Process) statusBytes(field string) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("reading the status: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q: %w", field, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, p.Pid())
}

// Threads counts the bootstrap's OS threads.
func (p *Process) Threads() (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("listing threads: %w", err)
	}
	return len(entries), nil
}

// Marked lists the pids of live processes, other than the bootstrap itself,
// whose environment carries marker: handlers and whatever they left behind.
func (p *Process) Marked() []int {
	var out []int
	for _, pid := range MarkedPids(p.Marker) {
		if pid != p.Pid() {
			out = append(out, pid)
		}
	}
	return out
}

// Runs reports whether a live process carrying the bootstrap's marker runs
// exactly argv (its /proc/PID/cmdline). A handler that runs a command once
// it is ready (a trap set, a line written) makes a readiness signal that
// needs no sleep.
func (p *Process) Runs(argv ...string) bool {
	want := []byte(strings.Join(argv, "\x00") + "\x00")
	for _, pid := range p.Marked() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Equal(b, want) {
			return true
		}
	}
	return false
}

// MarkedPids lists live (non-zombie) processes whose environment has marker.
func MarkedPids(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	want := []byte(MarkerVar + "=" + marker)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, want) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// KillMarked kills every process carrying marker, so a failed test leaves
// nothing behind for the next.
func KillMarked(marker string) {
	for _, pid := range MarkedPids(marker) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// WaitFor polls cond every 10ms until it holds or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p under the lock.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns a copy of what was written.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
