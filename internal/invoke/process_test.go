package invoke

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testEnv is the environment the test handlers get: just enough to find
// the usual tools.
func testEnv() []string { return []string{"PATH=/usr/local/bin:/usr/bin:/bin"} }

// script writes a /bin/sh handler with the given body to a fresh directory
// and returns the Command that runs it there.
func script(t testing.TB, body string) Command {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "handler")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Command{Path: path, Dir: dir}
}

// start starts cmd, with the test environment unless opts has one.
func start(t testing.TB, cmd Command, opts Options) *Process {
	t.Helper()
	if opts.Env == nil {
		opts.Env = testEnv()
	}
	p, err := Start(cmd, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs a script handler, reads its stdout to EOF and waits for it.
func run(t testing.TB, body string, opts Options) ([]byte, Result) {
	t.Helper()
	p := start(t, script(t, body), opts)
	out, err := io.ReadAll(p.Stdout())
	if err != nil {
		t.Errorf("reading stdout: %v", err)
	}
	return out, p.Wait()
}

// processGone reports whether pid no longer runs: it does not exist or is a
// zombie nobody has reaped yet (PID 1 in a container may never reap it).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(data, ')') // the state follows the command name
	return i >= 0 && i+2 < len(data) && data[i+2] == 'Z'
}

// waitGone fails the test unless pid is gone within a few seconds; a
// SIGKILLed process needs a moment to die.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if processGone(pid) {
			return
		}
	}
	t.Errorf("process %d still running", pid)
}

// killLater makes sure a process the test let escape does not outlive it.
func killLater(t *testing.T, pid int) {
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
}

// countFDs returns how many descriptors this process has open.
func countFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors: %v", err)
	}
	return len(entries)
}

// lines splits output into lines without the trailing empty one.
func lines(b []byte) []string {
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// firstInt returns the first line of out that is a number, as a pid.
func firstInt(t *testing.T, out []byte) int {
	t.Helper()
	for _, l := range lines(out) {
		if n, err := strconv.Atoi(strings.TrimSpace(l)); err == nil {
			return n
		}
	}
	t.Fatalf("no pid in output %q", out)
	return 0
}

// awaitFile is shell that waits, bounded at a few seconds, for the file
// named by its argument in the working directory: a readiness signal from
// another process (an escapee that has left the group, or the test) that
// needs no guessed sleep.
const awaitFile = `await() { i=0; while [ ! -e "$1" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; }`

// exitedAt is when the handler of r exited, for a handler that exited
// after it was fed: Duration counts from Fed then, from Started if it was
// never fed.
func exitedAt(r Result) time.Time {
	if r.Fed.IsZero() {
		return r.Started.Add(r.Duration)
	}
	return r.Fed.Add(r.Duration)
}

func TestEchoStdin(t *testing.T) {
	out, r := run(t, "cat", Options{Stdin: []byte(`{"hello":"world"}`)})
	if string(out) != `{"hello":"world"}` {
		t.Fatalf("stdout = %q", out)
	}
	if !r.Success() || r.Message() != "" || r.ExitCode != 0 || r.Signal != 0 {
		t.Fatalf("result = %+v, want success", r)
	}
	if r.Started.IsZero() || r.Duration <= 0 || r.Duration > 10*time.Second {
		t.Fatalf("Started %v, Duration %v", r.Started, r.Duration)
	}
}

func TestEmptyStdin(t *testing.T) {
	out, r := run(t, "wc -c", Options{})
	if strings.TrimSpace(string(out)) != "0" || !r.Success() {
		t.Fatalf("stdout = %q, result %+v; want 0 bytes read", out, r)
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, size := range []int{1, 4096, 65536, 65537, 1 << 20, 6 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			in := make([]byte, size)
			_, _ = rand.Read(in)
			in[0] = 0
			in[size/2] = 0
			out, r := run(t, "cat", Options{Stdin: in})
			if !bytes.Equal(out, in) {
				t.Fatalf("round trip of %d bytes returned %d bytes, equal=%v", len(in), len(out), bytes.Equal(out, in))
			}
			if !r.Success() {
				t.Fatalf("result %+v", r)
			}
		})
	}
}

func TestIncrementalOutput(t *testing.T) {
	// The handler writes its second line only once the test, having read
	// the first, creates "go": the first cannot have waited for the exit.
	cmd := script(t, awaitFile+"; echo first; await go; echo second")
	p := start(t, cmd, Options{})
	defer p.Wait()
	buf := make([]byte, 64)
	n, err := p.Stdout().Read(buf)
	if err != nil || string(buf[:n]) != "first\n" {
		t.Fatalf("first Read = %q, %v", buf[:n], err)
	}
	select {
	case <-p.exited:
		t.Fatal("the first line was only readable after the handler exited")
	default:
	}
	if err := os.WriteFile(filepath.Join(cmd.Dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(p.Stdout())
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
	if r := p.Wait(); !r.Success() {
		t.Fatalf("result %+v", r)
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		body     string
		code     int
		sig      syscall.Signal
		message  string
		succeeds bool
	}{
		{"exit 0", 0, 0, "", true},
		{"true", 0, 0, "", true},
		{"exit 1", 1, 0, "exit status 1", false},
		{"exit 3", 3, 0, "exit status 3", false},
		{"exit 255", 255, 0, "exit status 255", false},
		{"echo partial; kill -9 $$", -1, syscall.SIGKILL, "signal: killed", false},
		{"kill -TERM $$", -1, syscall.SIGTERM, "signal: terminated", false},
		{"kill -SEGV $$", -1, syscall.SIGSEGV, "signal: segmentation fault", false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, r := run(t, tt.body, Options{})
			if r.ExitCode != tt.code || r.Signal != tt.sig || r.Message() != tt.message || r.Success() != tt.succeeds {
				t.Fatalf("result %+v (message %q), want code %d signal %v message %q success %v",
					r, r.Message(), tt.code, tt.sig, tt.message, tt.succeeds)
			}
			if r.TimedOut || r.Stopped != nil {
				t.Fatalf("result %+v claims a timeout or stop", r)
			}
		})
	}
}

func TestEnvAndDir(t *testing.T) {
	cmd := script(t, `echo "foo=$FOO"; echo "home=$HOME"; pwd; echo "args=$*"`)
	cmd.Args = []string{"a b", "c"}
	p := start(t, cmd, Options{Env: []string{"FOO=bar", "PATH=/usr/bin:/bin"}})
	out, _ := io.ReadAll(p.Stdout())
	p.Wait()
	wantDir, _ := filepath.EvalSymlinks(cmd.Dir)
	got := lines(out)
	if len(got) != 4 || got[0] != "foo=bar" || got[1] != "home=" || got[3] != "args=a b c" {
		t.Fatalf("output %q", got)
	}
	if gotDir, _ := filepath.EvalSymlinks(got[2]); gotDir != wantDir {
		t.Fatalf("working directory %q, want %q", got[2], cmd.Dir)
	}
}

func TestNilEnvIsEmpty(t *testing.T) {
	t.Setenv("STREAMSTRAP_LEAK", "1")
	cmd := script(t, `echo "[$STREAMSTRAP_LEAK]"`)
	p, err := Start(cmd, Options{}) // nil Env on purpose
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(p.Stdout())
	p.Wait()
	if string(out) != "[]\n" {
		t.Fatalf("the bootstrap's environment leaked into the handler: %q", out)
	}
}

func TestDeadline(t *testing.T) {
	// The deadline leaves the shell ample time to write its line, even on a
	// loaded machine; what is checked is relative to when it started.
	cmd := script(t, "echo started; sleep 30")
	deadline := time.Now().Add(2 * time.Second)
	p := start(t, cmd, Options{Deadline: deadline})
	out, _ := io.ReadAll(p.Stdout())
	r := p.Wait()
	if string(out) != "started\n" {
		t.Fatalf("stdout %q", out)
	}
	if !r.TimedOut || r.Signal != syscall.SIGTERM || r.ExitCode != -1 || r.Success() || r.Stopped != nil {
		t.Fatalf("result %+v, want timed out by SIGTERM", r)
	}
	// The clock starts when the handler got its input (Fed), which Start
	// does at once.
	if r.Fed.IsZero() || r.Fed.Before(r.Started) {
		t.Fatalf("Fed %v, Started %v", r.Fed, r.Started)
	}
	// Signalled at the deadline, not before; 30s would be the sleep.
	if exitAt := exitedAt(r); exitAt.Before(deadline) || r.Duration > 20*time.Second {
		t.Fatalf("exited %v after the deadline (Duration %v)", exitAt.Sub(deadline), r.Duration)
	}
	want := "timed out after " + deadline.Sub(r.Fed).Round(time.Millisecond).String()
	if msg := r.Message(); msg != want {
		t.Fatalf("Message() = %q, want %q (Fed to the deadline)", msg, want)
	}
}

func TestDeadlineAlreadyPassed(t *testing.T) {
	_, r := run(t, "sleep 30", Options{Deadline: time.Now().Add(-time.Second)})
	if !r.TimedOut || r.Message() != "timed out after 0s" {
		t.Fatalf("result %+v, message %q", r, r.Message())
	}
}

func TestDeadlineNotReached(t *testing.T) {
	_, r := run(t, "echo ok", Options{Deadline: time.Now().Add(time.Hour)})
	if !r.Success() || r.TimedOut {
		t.Fatalf("result %+v", r)
	}
}

func TestSIGTERMIgnoredGetsSIGKILL(t *testing.T) {
	// The shell and the sleep it runs both ignore SIGTERM (an ignored
	// signal stays ignored across exec); "ready" says the trap is set.
	body := "trap '' TERM; echo ready; sleep 30; echo survived"
	for _, viaDeadline := range []bool{false, true} {
		t.Run(fmt.Sprintf("deadline=%v", viaDeadline), func(t *testing.T) {
			opts := Options{KillGrace: 200 * time.Millisecond}
			if viaDeadline {
				// Ample time to set the trap first, even under load.
				opts.Deadline = time.Now().Add(2 * time.Second)
			}
			p := start(t, script(t, body), opts)
			rd := bufio.NewReader(p.Stdout())
			if line, err := rd.ReadString('\n'); line != "ready\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			var stoppedAt time.Time
			if !viaDeadline {
				stoppedAt = time.Now()
				p.Stop(errors.New("test stop"))
			} else {
				stoppedAt = opts.Deadline
			}
			rest, _ := io.ReadAll(rd)
			r := p.Wait()
			if len(rest) != 0 {
				t.Fatalf("handler went on: %q", rest)
			}
			if r.Signal != syscall.SIGKILL || r.TimedOut != viaDeadline || (r.Stopped != nil) == viaDeadline {
				t.Fatalf("result %+v, want SIGKILL", r)
			}
			if exitAt := exitedAt(r); exitAt.Sub(stoppedAt) < 150*time.Millisecond {
				t.Fatalf("SIGKILL came %v after SIGTERM, want the 200ms grace", exitAt.Sub(stoppedAt))
			}
			if want := "stopped: test stop"; !viaDeadline && r.Message() != want {
				t.Fatalf("Message() = %q, want %q", r.Message(), want)
			}
			if viaDeadline && !strings.HasPrefix(r.Message(), "timed out after ") {
				t.Fatalf("Message() = %q", r.Message())
			}
		})
	}
}

func TestStop(t *testing.T) {
	p := start(t, script(t, "echo ready; sleep 30"), Options{})
	rd := bufio.NewReader(p.Stdout())
	if line, _ := rd.ReadString('\n'); line != "ready\n" {
		t.Fatalf("first line %q", line)
	}
	reason := errors.New("client went away")
	p.Stop(reason)
	// More calls, concurrent ones, and calls racing the exit change nothing.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { p.Stop(fmt.Errorf("late %d", i)) })
	}
	_, _ = io.ReadAll(rd)
	r := p.Wait()
	wg.Wait()
	p.Stop(errors.New("after Wait"))
	if r.Stopped != reason || r.Signal != syscall.SIGTERM || r.TimedOut || r.Success() {
		t.Fatalf("result %+v", r)
	}
	if r.Message() != "stopped: client went away" {
		t.Fatalf("Message() = %q", r.Message())
	}
	if r2 := p.Wait(); r2.Stopped != reason {
		t.Fatalf("second Wait returned %+v", r2)
	}
}

func TestStopWithoutReading(t *testing.T) {
	// The caller gives up without reading stdout; Wait must not hang on a
	// handler blocked writing to a full pipe.
	p := start(t, script(t, "while :; do echo spam; done"), Options{})
	p.Stop(nil)
	r := p.Wait()
	if r.Stopped == nil || r.Success() || !strings.HasPrefix(r.Message(), "stopped: ") {
		t.Fatalf("result %+v, message %q", r, r.Message())
	}
}

func TestStopAfterExitRecordsNothing(t *testing.T) {
	p := start(t, script(t, "exit 0"), Options{})
	_, _ = io.ReadAll(p.Stdout())
	<-p.exited
	p.Stop(errors.New("too late"))
	if r := p.Wait(); !r.Success() || r.Stopped != nil {
		t.Fatalf("result %+v", r)
	}
}

func TestWaitWithoutReadingStdout(t *testing.T) {
	// 1 MiB does not fit in the pipe: Wait must discard it for the handler
	// to get to its exit.
	p := start(t, script(t, "head -c 1048576 /dev/zero; exit 7"), Options{})
	if r := p.Wait(); r.ExitCode != 7 || r.Message() != "exit status 7" {
		t.Fatalf("result %+v", r)
	}
	if _, err := p.Stdout().Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("Read after Wait = %v, want io.EOF", err)
	}
}

func TestOrphanHoldingStdout(t *testing.T) {
	// The background sleep inherits stdout. Killing the group when the
	// leader exits must end the stream long before the drain timeout.
	start0 := time.Now()
	p := start(t, script(t, `sleep 30 & echo "$!"; echo hi; exit 0`), Options{DrainTimeout: 10 * time.Second})
	out, err := io.ReadAll(p.Stdout())
	elapsed := time.Since(start0)
	r := p.Wait()
	if err != nil || !slices.Contains(lines(out), "hi") {
		t.Fatalf("stdout %q, %v", out, err)
	}
	pid := firstInt(t, out)
	killLater(t, pid)
	if elapsed > 5*time.Second {
		t.Fatalf("stdout reached EOF after %v; the orphan kept it open", elapsed)
	}
	if !r.Success() {
		t.Fatalf("result %+v", r)
	}
	waitGone(t, pid)
}

// runEscapee runs a handler whose child leaves the process group with
// setsid while holding stdout, reads stdout to its end and waits. The
// escapee prints its pid first, which is returned; it is killed when the
// test ends.
//
// With clearEnv the escapee also drops its environment, and with it the
// marker, so that only the drain timeout can end the stream.
func runEscapee(t *testing.T, opts Options, clearEnv bool) (Result, int) {
	t.Helper()
	escape := "setsid"
	if clearEnv {
		escape = "setsid env -i"
	}
	p := start(t, script(t, awaitFile+`; `+escape+` /bin/sh -c 'echo $$; : >left; exec sleep 30' & await left; echo hi; exit 0`), opts)
	out, err := io.ReadAll(p.Stdout())
	r := p.Wait()
	if err != nil || !slices.Contains(lines(out), "hi") {
		t.Fatalf("stdout %q, %v", out, err)
	}
	pid := firstInt(t, out)
	killLater(t, pid)
	return r, pid
}

func TestSetsidEscapee(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	// The escapee leaves the process group and drops the marker, so only
	// the drain timeout can end the stream. It prints its own pid, so the
	// test can clean up.
	const drain = 300 * time.Millisecond
	r, pid := runEscapee(t, Options{DrainTimeout: drain}, true)
	if waited := time.Since(exitedAt(r)); waited < drain-50*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("stream ended %v after the exit, want about %v", waited, drain)
	}
	if processGone(pid) {
		t.Fatal("the escapee died; the test proves nothing")
	}
	if !r.Success() {
		t.Fatalf("result %+v", r)
	}
}

func TestDrainDeliversBufferedOutput(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	// An escapee holds stdout and stderr open; the leader fills the pipe
	// and exits. The caller only starts reading after the drain deadline
	// has passed: everything written before the exit must still arrive.
	pids := make(chan int, 1)
	p := start(t, script(t, awaitFile+`; setsid sh -c 'echo $$ >&2; : >left; exec sleep 30' & await left; head -c 60000 /dev/zero | tr '\0' x; exit 0`), Options{
		DrainTimeout: 20 * time.Millisecond,
		Stderr: func(line []byte) {
			if n, err := strconv.Atoi(string(line)); err == nil {
				pids <- n
			}
		},
	})
	<-p.exited
	time.Sleep(200 * time.Millisecond) // well past the drain deadline
	out, err := io.ReadAll(p.Stdout())
	r := p.Wait()
	select {
	case pid := <-pids:
		killLater(t, pid)
	default:
		t.Error("no escapee pid on stderr")
	}
	if err != nil || len(out) != 60000 || strings.Trim(string(out), "x") != "" {
		t.Fatalf("got %d bytes (%v), want 60000 x's", len(out), err)
	}
	if !r.Success() {
		t.Fatalf("result %+v", r)
	}
}

func TestStdinIgnored(t *testing.T) {
	payload := bytes.Repeat([]byte("e"), 6<<20)
	for _, body := range []string{"exit 0", "sleep 0.1; echo done", "head -c 10 >/dev/null; echo read10"} {
		t.Run(body, func(t *testing.T) {
			_, r := run(t, body, Options{Stdin: payload})
			if !r.Success() {
				t.Fatalf("result %+v", r)
			}
		})
	}
}

func TestStdinHeldByEscapee(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	// The escapee keeps stdin open and never reads it, so the writer
	// blocks on a full pipe forever unless Wait closes the write end.
	// (A background job's stdin is /dev/null unless redirected, hence fd 3.)
	body := awaitFile + `
exec 3<&0
setsid sh -c 'echo $$; : >left; exec sleep 30 >/dev/null 2>&1' <&3 3<&- &
exec 3<&-
await left
exit 0`
	p := start(t, script(t, body), Options{Stdin: bytes.Repeat([]byte("e"), 6<<20)})
	out, _ := io.ReadAll(p.Stdout())
	pid := firstInt(t, out)
	killLater(t, pid)
	done := make(chan Result)
	go func() { done <- p.Wait() }()
	select {
	case r := <-done:
		if !r.Success() {
			t.Fatalf("result %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait hangs on the stdin writer")
	}
	if processGone(pid) {
		t.Fatal("the escapee died; the test proves nothing")
	}
	select {
	case <-p.stdinDone:
	default:
		t.Fatal("stdin writer still running after Wait")
	}
}

func TestStdoutBeforeStdin(t *testing.T) {
	// The handler writes 1 MiB before it reads its 6 MiB event: the event
	// writer and the stdout reader must not wait on each other.
	payload := bytes.Repeat([]byte("e"), 6<<20)
	out, r := run(t, "head -c 1048576 /dev/zero; wc -c", Options{Stdin: payload})
	if !r.Success() {
		t.Fatalf("result %+v", r)
	}
	if len(out) < 1<<20 || bytes.Count(out[:1<<20], []byte{0}) != 1<<20 {
		t.Fatalf("got %d bytes of stdout", len(out))
	}
	if got := strings.TrimSpace(string(out[1<<20:])); got != strconv.Itoa(6<<20) {
		t.Fatalf("handler read %q bytes of stdin, want %d", got, 6<<20)
	}
}

// collector gathers Stderr callback lines; the callback runs on one
// goroutine, the mutex is for reading them in the test.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) add(line []byte) {
	c.mu.Lock()
	c.lines = append(c.lines, string(line))
	c.mu.Unlock()
}

func (c *collector) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

func TestStderrLines(t *testing.T) {
	body := `i=1
while [ $i -le 30 ]; do echo "line $i" >&2; echo "out $i"; i=$((i+1)); done
printf 'crlf\r\n' >&2
printf '\n' >&2
printf 'last' >&2`
	var c collector
	out, r := run(t, body, Options{Stderr: c.add})
	var want []string
	for i := 1; i <= 30; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	want = append(want, "crlf", "", "last")
	if got := c.get(); !slices.Equal(got, want) {
		t.Fatalf("stderr lines %q, want %q", got, want)
	}
	if !slices.Equal(r.StderrTail, want[len(want)-20:]) {
		t.Fatalf("tail %q, want the last 20 of %q", r.StderrTail, want)
	}
	if len(lines(out)) != 30 {
		t.Fatalf("stdout %q", out)
	}
}

func TestStderrTailSizes(t *testing.T) {
	body := `echo one >&2; echo two >&2; echo three >&2`
	for _, tt := range []struct {
		tail int
		want []string
	}{
		{0, []string{"one", "two", "three"}}, // default 20
		{2, []string{"two", "three"}},
		{3, []string{"one", "two", "three"}},
		{-1, nil},
	} {
		_, r := run(t, body, Options{StderrTail: tt.tail})
		if !slices.Equal(r.StderrTail, tt.want) {
			t.Errorf("StderrTail %d: got %q, want %q", tt.tail, r.StderrTail, tt.want)
		}
	}
	if _, r := run(t, "true", Options{}); r.StderrTail != nil {
		t.Errorf("no stderr, tail %q", r.StderrTail)
	}
}

func TestStderrLongLines(t *testing.T) {
	// Written in odd-sized chunks so that lines straddle reads.
	py := `import sys, os
data = b"a"*150000 + b"\n" + b"b"*65536 + b"\n" + b"c"*65537 + b"\r\n" + b"\n" + b"d"*10
for i in range(0, len(data), 7777):
    os.write(2, data[i:i+7777])
`
	cmd := script(t, "exec python3 -c '"+py+"'")
	var c collector
	p := start(t, cmd, Options{Stderr: c.add, StderrTail: 3})
	_, _ = io.ReadAll(p.Stdout())
	r := p.Wait()
	if !r.Success() {
		t.Fatalf("result %+v", r)
	}
	want := []string{
		strings.Repeat("a", 65536), strings.Repeat("a", 65536), strings.Repeat("a", 150000-2*65536),
		strings.Repeat("b", 65536),
		strings.Repeat("c", 65536), "c",
		"",
		strings.Repeat("d", 10),
	}
	got := c.get()
	if len(got) != len(want) {
		lens := make([]int, len(got))
		for i, l := range got {
			lens[i] = len(l)
		}
		t.Fatalf("got %d lines of lengths %v, want %d", len(got), lens, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: %d bytes %.10q..., want %d bytes %.10q...", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
	if !slices.Equal(r.StderrTail, want[len(want)-3:]) {
		t.Fatalf("tail has %d lines", len(r.StderrTail))
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := script(t, "true")
	before := countFDs(t)
	for _, cmd := range []Command{
		{},
		{Path: filepath.Join(dir, "missing")},
		{Path: notExec},
		{Path: good.Path, Dir: filepath.Join(dir, "no-such-dir")},
	} {
		p, err := Start(cmd, Options{Env: testEnv()})
		if err == nil || p != nil {
			t.Errorf("Start(%+v) = %v, %v; want an error and no Process", cmd, p, err)
			if p != nil {
				p.Wait()
			}
			continue
		}
		if !strings.Contains(err.Error(), "start handler") {
			t.Errorf("error %q lacks context", err)
		}
	}
	if after := countFDs(t); after != before {
		t.Fatalf("descriptors: %d before, %d after failed starts", before, after)
	}
}

func TestNoFDLeaks(t *testing.T) {
	// Warm up: the runtime opens its poller and friends lazily.
	run(t, "cat", Options{Stdin: []byte("x")})
	before := countFDs(t)
	payload := bytes.Repeat([]byte("p"), 200<<10)
	for i := range 50 {
		var opts Options
		body := "cat"
		switch i % 5 {
		case 0:
			opts.Stdin = []byte("small")
		case 1:
			opts.Stdin = payload // needs the writer goroutine
		case 2:
			body = "echo err >&2; exit 2"
		case 3:
			body = "sleep 30"
			opts.Deadline = time.Now().Add(10 * time.Millisecond)
		case 4:
			body = "sleep 5 & exit 0" // an orphan to kill
			opts.Stdin = payload
		}
		run(t, body, opts)
	}
	if after := countFDs(t); after != before {
		t.Fatalf("descriptors: %d before, %d after 50 runs", before, after)
	}
}

func TestConcurrentProcesses(t *testing.T) {
	// One script for all: writing executables while other goroutines
	// fork makes exec fail with ETXTBSY (a known Go/Unix race).
	cmd := script(t, "cat; echo bye >&2")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			in := []byte(strings.Repeat(strconv.Itoa(i), 100000))
			p, err := Start(cmd, Options{Env: testEnv(), Stdin: in})
			if err != nil {
				t.Error(err)
				return
			}
			if i%4 == 0 {
				go p.Stop(errors.New("racing stop"))
			}
			out, _ := io.ReadAll(p.Stdout())
			r := p.Wait()
			if r.Stopped == nil && (!bytes.Equal(out, in) || !r.Success() || !slices.Equal(r.StderrTail, []string{"bye"})) {
				t.Errorf("process %d: %d bytes, result %+v", i, len(out), r)
			}
		})
	}
	wg.Wait()
}

func TestPid(t *testing.T) {
	p := start(t, script(t, "echo $$; ps -o pgid= -p $$ 2>/dev/null || echo $$"), Options{})
	out, _ := io.ReadAll(p.Stdout())
	p.Wait()
	got := lines(out)
	if len(got) != 2 || got[0] != strconv.Itoa(p.Pid()) || strings.TrimSpace(got[1]) != strconv.Itoa(p.Pid()) {
		t.Fatalf("handler says pid/pgid %q, Pid() = %d", got, p.Pid())
	}
}

func TestResultMessage(t *testing.T) {
	tests := []struct {
		r    Result
		want string
		ok   bool
	}{
		{Result{}, "", true},
		{Result{ExitCode: 3}, "exit status 3", false},
		{Result{ExitCode: -1, Signal: syscall.SIGKILL}, "signal: killed", false},
		{Result{ExitCode: -1, Signal: syscall.SIGTERM}, "signal: terminated", false},
		{Result{ExitCode: -1, Signal: syscall.SIGTERM, TimedOut: true, timeout: 2500 * time.Millisecond}, "timed out after 2.5s", false},
		{Result{TimedOut: true, timeout: 1234567 * time.Microsecond}, "timed out after 1.235s", false},
		{Result{ExitCode: -1, Signal: syscall.SIGTERM, Stopped: errors.New("client gone")}, "stopped: client gone", false},
		{Result{Stopped: errors.New("exited 0 anyway")}, "stopped: exited 0 anyway", false},
	}
	for _, tt := range tests {
		if got := tt.r.Message(); got != tt.want || tt.r.Success() != tt.ok {
			t.Errorf("%+v: Message() = %q, Success() = %v; want %q, %v", tt.r, got, tt.r.Success(), tt.want, tt.ok)
		}
	}
}
