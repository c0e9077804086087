package invoke

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults for the zero values of Options.
const (
	defaultKillGrace    = 100 * time.Millisecond
	defaultStderrTail   = 20
	defaultDrainTimeout = 50 * time.Millisecond
)

// Options configures one handler run.
type Options struct {
	// Env is the handler's whole environment; the caller builds it. Nil
	// means an empty environment, not the bootstrap's. When a name occurs
	// more than once, the last entry wins, as with os/exec. Start and
	// Spawn add one entry of their own, MarkerVar.
	Env []string

	// Stdin is written to the handler's stdin by Start, then stdin is
	// closed. A handler that never reads it, or reads only part, blocks
	// nothing: the write happens in its own goroutine and stops when the
	// handler is gone. The slice must not be modified until Wait returns.
	// Spawn ignores it; Feed takes the input instead.
	Stdin []byte

	// Deadline, when not zero, is when the whole process group gets
	// SIGTERM, then SIGKILL after KillGrace; Result.TimedOut reports it.
	// Spawn ignores it; Feed takes the deadline instead.
	Deadline time.Time

	// KillGrace is how long a signalled handler has between SIGTERM and
	// SIGKILL; 100ms when zero or negative.
	KillGrace time.Duration

	// Stderr, when not nil, is called for each complete stderr line, in
	// order, from a single goroutine. The line excludes the "\n" and a
	// trailing "\r"; the final unterminated line at EOF is delivered too.
	// Lines longer than 64 KiB are delivered in 64 KiB pieces. The slice
	// is only valid during the call. A slow callback slows the handler
	// down once the pipe fills, and delays Wait.
	Stderr func(line []byte)

	// StderrTail is how many of the last stderr lines Result keeps; 20
	// when zero, none when negative.
	StderrTail int

	// DrainTimeout bounds how long after the handler exits its stdout and
	// stderr may stay open (held by a process that escaped the process
	// group); 50ms when zero or negative.
	DrainTimeout time.Duration

	// StderrPipe, when not nil, is the handler's stderr: a pipe shared
	// with the handlers before and after it, never with one running at
	// the same time (see StderrPipe). Stderr and StderrTail work as with a
	// pipe of its own; DrainTimeout then bounds stdout only. Nil gives the
	// handler a stderr pipe of its own.
	StderrPipe *StderrPipe

	// ExtraPipe, when true, gives the handler one more pipe, open for
	// reading as descriptor ExtraFD. Feed writes Input.Extra to it and
	// closes it just before the handler's stdin gets its first byte, so a
	// handler started before its input existed can read facts about the
	// run there. False means the handler gets descriptors 0-2 only.
	ExtraPipe bool
}

// ExtraFD is the handler's descriptor of the pipe that Options.ExtraPipe
// asks for: the first one after stdin, stdout and stderr.
const ExtraFD = 3

// MarkerVar is the environment variable that Start and Spawn set, in every
// handler, to a value unique to that process. Every process the handler
// starts inherits it, even one that leaves the process group (setsid): when
// the drain timeout shows that one still holds the handler's stdout or
// stderr, every process whose environment still carries the entry is killed
// (Linux; Result.Escaped). Unique per process rather than per request, so
// that two runs can never end each other's processes.
const MarkerVar = "STREAMSTRAP_PROCESS"

// Input is what Feed gives a spawned handler.
type Input struct {
	// Extra is written to the ExtraFD pipe, which is then closed, before
	// Stdin is written. Ignored without Options.ExtraPipe. A handler that
	// reads stdin before ExtraFD must be given an Extra that fits the pipe
	// (64 KiB), or the two wait for each other until the deadline.
	Extra []byte

	// Stdin is written to the handler's stdin, then stdin is closed; see
	// Options.Stdin. The slice must not be modified until Wait returns.
	Stdin []byte

	// Deadline is as Options.Deadline; zero means none. The clock of
	// Result.Duration and of the timeout message starts at Feed.
	Deadline time.Time
}

// Errors of Feed.
var (
	ErrFed    = errors.New("feed handler: already fed")
	ErrWaited = errors.New("feed handler: Wait was called")
)

// Process is one running handler, started by Start or Spawn. Its methods are
// safe for concurrent use, except that Stdout is read by one goroutine at a
// time, Feed is not called concurrently with Wait, and Wait is called exactly
// once.
type Process struct {
	pid       int
	pidfd     *os.File // a pidfd of the handler (Linux), closed by the waiter; nil if none
	marker    string   // MarkerVar=value, as in the handler's environment
	started   time.Time
	killGrace time.Duration
	drain     time.Duration
	onStderr  func([]byte)
	tailMax   int

	stdin     *os.File  // parent's write end of stdin
	stdinOnce sync.Once // closes stdin exactly once: the writer and Wait both try
	extra     *os.File  // parent's write end of the ExtraFD pipe; nil without ExtraPipe
	extraOnce sync.Once
	stdout    pipeReader  // parent's read end of stdout
	stderr    pipeReader  // parent's read end of stderr; unused with shared
	shared    *StderrPipe // Options.StderrPipe, which p is attached to until Wait; nil: stderr is p's own

	stdinDone  chan struct{} // closed when the stdin writer returns; nil if there is none
	stderrDone chan struct{} // closed when the stderr reader returns; nil with shared
	exited     chan struct{} // closed when the handler is reaped and its group killed

	// timers counts armed timers whose callback may still run, so that Wait
	// can be sure none is running when it returns.
	timers sync.WaitGroup

	mu            sync.Mutex
	fed           time.Time // when Feed ran; zero before
	waited        bool      // Wait was called: Feed must not start a writer
	deadline      time.Time
	hasExited     bool // the leader exited: no more signals, no more timers
	termSent      bool // SIGTERM was sent by Stop or the deadline
	timedOut      bool
	stopped       error
	deadlineTimer *time.Timer
	killTimer     *time.Timer

	// Written by the waiter goroutine before exited is closed.
	status   syscall.WaitStatus
	reaped   bool // status and rusage are valid
	maxRSS   int64
	exitedAt time.Time

	// Owned by the stderr goroutine until stderrDone is closed (with
	// shared: by shared's reader, under its lock, until the detach).
	tail     [][]byte
	tailNext int

	waitOnce sync.Once
	result   Result
}

// stdoutPipeSize is the stdout pipe's buffer: Linux's default maximum for
// unprivileged users (/proc/sys/fs/pipe-max-size).
const stdoutPipeSize = 1 << 20

// errNoReason is recorded when Stop is called with a nil reason, so that
// Result.Stopped still shows that Stop was called.
var errNoReason = errors.New("no reason given")

// Start starts cmd in its own process group with stdin, stdout and stderr
// connected to pipes the Process owns, and begins writing opts.Stdin: it is
// SpawnFed with opts.Stdin and opts.Deadline.
//
// On Linux the handler also gets SIGKILL if the bootstrap dies. A start
// failure returns no Process and leaves no fd or goroutine behind.
func Start(cmd Command, opts Options) (*Process, error) {
	return SpawnFed(cmd, opts, Input{Stdin: opts.Stdin, Deadline: opts.Deadline})
}

// Spawn starts cmd as Start does but gives it no input yet: the handler runs
// (an interpreter starts, imports its modules) and blocks reading stdin until
// Feed. Its stdout is not read before the caller reads it, so what it writes
// early is kept in the pipe for whoever reads Stdout after Feed. No deadline
// runs before Feed; Stop and Wait work before Feed too (Wait closes stdin, so
// the handler reads EOF).
func Spawn(cmd Command, opts Options) (*Process, error) {
	return startProcess(cmd, opts, nil)
}

// SpawnFed is Spawn followed by Feed(in), except that what of the input
// fits the pipes (64 KiB each, the usual event) is written before the
// handler exists: it finds its input at its first read instead of blocking
// until the bootstrap, back from the fork, writes it, and no write of ours
// races its start-up for the CPU. A larger input is written as Feed writes
// it. The Process counts as fed; Feed then returns ErrFed.
func SpawnFed(cmd Command, opts Options, in Input) (*Process, error) {
	return startProcess(cmd, opts, &in)
}

// startProcess is Spawn, and with in not nil SpawnFed.
func startProcess(cmd Command, opts Options, in *Input) (*Process, error) {
	if cmd.Path == "" {
		return nil, errors.New("start handler: empty executable path")
	}
	marker := newMarker()
	// fds are every pipe end still to be closed on failure (-1 once
	// closed); the child's ends are closed in any case once it has them.
	var fds [8]int
	n := 0
	closeAll := func() {
		for _, fd := range fds[:n] {
			if fd >= 0 {
				_ = syscall.Close(fd)
			}
		}
	}
	pipes := 3
	if opts.ExtraPipe {
		pipes = 4
	}
	shared := opts.StderrPipe
	for i := range pipes {
		if i == 2 && shared != nil {
			// No stderr pipe of its own: fds[4:6] stay -1, and the
			// child gets the shared write end, which is not ours to close.
			fds[n], fds[n+1] = -1, -1
			n += 2
			continue
		}
		if err := pipeCloexec(fds[n : n+2]); err != nil {
			closeAll()
			return nil, fmt.Errorf("start handler %s: %s pipe: %w", cmd.Path, pipeNames[i], os.NewSyscallError("pipe2", err))
		}
		n += 2
	}
	// fds[0:2] stdin, [2:4] stdout, [4:6] stderr, [6:8] extra, each {read, write}.
	child := [4]uintptr{uintptr(fds[0]), uintptr(fds[3]), uintptr(fds[5]), uintptr(fds[6])}
	if shared != nil {
		child[2] = uintptr(shared.w)
	}
	// Non-blocking parent ends are registered with the runtime's poller
	// by os.NewFile below, so reads and writes park goroutines, not
	// threads; set before the fork, so that prefill cannot block.
	setNonblock(fds[2])
	if shared == nil {
		setNonblock(fds[4])
	}
	var rest Input
	if in != nil {
		rest = prefill(&fds, pipes, *in) // and makes the write ends non-blocking that stay open
	} else {
		setNonblock(fds[1])
		if pipes == 4 {
			setNonblock(fds[7])
		}
	}
	parent := [4]int{fds[1], fds[2], fds[4], fds[7]}

	p := &Process{
		marker:    marker,
		killGrace: opts.KillGrace,
		drain:     opts.DrainTimeout,
		onStderr:  opts.Stderr,
		tailMax:   opts.StderrTail,
		shared:    shared,
		exited:    make(chan struct{}),
	}
	if p.killGrace <= 0 {
		p.killGrace = defaultKillGrace
	}
	if p.drain <= 0 {
		p.drain = defaultDrainTimeout
	}
	switch {
	case p.tailMax == 0:
		p.tailMax = defaultStderrTail
	case p.tailMax < 0:
		p.tailMax = 0
	}
	p.attachStderr()

	args := make([]string, 0, 1+len(cmd.Args))
	args = append(append(args, cmd.Path), cmd.Args...)
	env := make([]string, 0, len(opts.Env)+1)
	env = append(dedupEnv(env, opts.Env), marker)
	started := time.Now()
	pidfd := -1
	pid, err := syscall.ForkExec(cmd.Path, args, &syscall.ProcAttr{
		Dir:   cmd.Dir,
		Env:   env,
		Files: child[:pipes],
		Sys:   sysProcAttr(&pidfd),
	})
	if err != nil {
		closeAll()
		if shared != nil {
			shared.detach(p)
		}
		return nil, fmt.Errorf("start handler: %w", &os.PathError{Op: "fork/exec", Path: cmd.Path, Err: err})
	}
	p.pid, p.started = pid, started
	// The child has its copies; keeping ours would hold the pipes open
	// (stdout would never reach EOF, stdin never EPIPE). The shared
	// stderr's write end stays open for the next handler.
	for i, fd := range child[:pipes] {
		if i != 2 || shared == nil {
			closeRaw(int(fd))
		}
	}

	if pidfd >= 0 {
		// Waiting for the exit then parks a goroutine on the poller
		// instead of holding a thread in waitid, which would make the
		// runtime hand its P off and wake sysmon on every invocation.
		setNonblock(pidfd)
		p.pidfd = os.NewFile(uintptr(pidfd), "pidfd")
	}
	// A write end prefill closed is -1: its pipe is complete.
	if parent[0] >= 0 {
		p.stdin = os.NewFile(uintptr(parent[0]), "|0")
	}
	p.stdout.f = os.NewFile(uintptr(parent[1]), "|1")
	if opts.ExtraPipe && parent[3] >= 0 {
		p.extra = os.NewFile(uintptr(parent[3]), "|3")
	}
	p.stdout.grow = stdoutPipeSize
	if in != nil {
		// Fed at the fork: the handler had its input from its first
		// instruction. None of p's goroutines runs yet, so no lock is
		// needed.
		p.fed = started
		p.arm(in.Deadline)
		p.feed(rest.Extra, rest.Stdin)
	}
	p.openStderr(parent[2]) // before the waiter, which sets its drain deadline
	go p.wait()
	return p, nil
}

// pipeNames name the pipes in Spawn's errors, in the order they are made.
var pipeNames = [4]string{"stdin", "stdout", "stderr", "extra"}

// newMarker returns a MarkerVar entry with a fresh random value: 128 bits,
// so that no two processes of any bootstrap on the host share one. They
// come from the runtime's ChaCha8 generator (math/rand/v2), seeded from the
// kernel at start: the marker needs to be unique, and crypto/rand would
// link crypto's FIPS module, whose initialisation runs at every cold start.
func newMarker() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	var s [len(MarkerVar) + 1 + 2*len(b)]byte
	copy(s[:], MarkerVar+"=")
	hex.Encode(s[len(MarkerVar)+1:], b[:])
	return string(s[:])
}

// dedupEnv appends env to dst without duplicate names, the last entry of a
// name winning, as os/exec does. The common case, no duplicate, costs one
// pass and no map.
func dedupEnv(dst, env []string) []string {
	seen := make(map[string]int, len(env))
	dup := false
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := seen[name]; ok {
			dup = true
		}
		seen[name] = i
	}
	if !dup {
		return append(dst, env...)
	}
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if seen[name] == i {
			dst = append(dst, kv)
		}
	}
	return dst
}

// Pid returns the handler's process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Stdout returns the read side of the handler's stdout.
//
// Each Read returns what is in the pipe as soon as the handler writes it;
// nothing is buffered, since this is a streaming runtime. Reads return
// io.EOF once the handler has exited and no process holds the pipe open.
// When the handler (the group leader) exits, what is left of its process
// group is SIGKILLed, so a background child holding stdout cannot keep the
// invocation alive. If the pipe is still open DrainTimeout after the exit (a
// process that escaped the group, e.g. with setsid), reading stops with
// io.EOF anyway, but only after the data the pipe held has been delivered.
//
// Use it from one goroutine at a time. Wait discards what is left unread.
func (p *Process) Stdout() io.Reader { return &p.stdout }

// wait runs on its own goroutine: it waits for the handler to exit, kills
// the rest of its group, reaps it and starts the drain deadline.
func (p *Process) wait() {
	defer close(p.exited)
	// On Linux the exit is seen without reaping, so the zombie keeps the
	// pid, and with it the process group id, from being reused while the
	// group is killed. Elsewhere the leader is reaped first.
	reaped := false
	var ru syscall.Rusage
	err := waitExitedNoReap(p.pid, p.pidfd)
	if p.pidfd != nil {
		_ = p.pidfd.Close()
	}
	if err != nil {
		reaped = p.reap(&ru)
	}
	p.exitedAt = time.Now()

	p.mu.Lock()
	p.hasExited = true
	// Stragglers must not keep the invocation alive by holding stdout.
	signalGroup(p.pid, syscall.SIGKILL)
	if p.deadlineTimer != nil && p.deadlineTimer.Stop() {
		p.timers.Done()
	}
	if p.killTimer != nil && p.killTimer.Stop() {
		p.timers.Done()
	}
	p.mu.Unlock()

	if !reaped {
		reaped = p.reap(&ru)
	}
	p.reaped = reaped
	p.maxRSS = maxRSSBytes(&ru)

	drainBy := p.exitedAt.Add(p.drain)
	_ = p.stdout.f.SetReadDeadline(drainBy)
	p.drainStderrBy(drainBy)
}

// reap collects the exited handler's status and resource usage with wait4;
// it reports false if that failed (nothing can be said about the ending).
func (p *Process) reap(ru *syscall.Rusage) bool {
	// The exit is known (waitExitedNoReap), so a non-blocking try, made
	// raw (see package rawio for why), finds it; the blocking call is only
	// the fallback.
	if reapExited(p.pid, &p.status, ru) {
		return true
	}
	for {
		_, err := syscall.Wait4(p.pid, &p.status, 0, ru)
		if err != syscall.EINTR {
			return err == nil
		}
	}
}

// Wait waits for the handler to exit and returns how it ended.
//
// It first reads and discards whatever is left unread on Stdout, so that a
// handler whose output nobody wants still gets to exit. The caller normally
// reads Stdout to EOF first; calling Wait while another goroutine still reads
// Stdout for output it wants (rather than after Stop) splits the output
// between the two. Then Wait waits for the exit, kills what is left of the
// group, waits at most DrainTimeout after the exit for stderr to drain,
// closes every pipe and stops the timers.
//
// Call it exactly once (later calls return the same Result). After Wait
// returns, no goroutine, timer or descriptor of this Process remains; a
// Stderr callback still running when the drain ends is waited for.
func (p *Process) Wait() Result {
	p.waitOnce.Do(p.finish)
	return p.result
}

// finish does the work of Wait.
func (p *Process) finish() {
	p.mu.Lock()
	p.waited = true
	unfed := p.fed.IsZero()
	p.mu.Unlock()
	if unfed {
		// Nothing is coming: a handler waiting for its input reads EOF.
		p.closeExtra()
		p.closeStdin()
	}
	// Reading stdout to the end, rather than closing it, lets a handler
	// whose output nobody wants run to completion instead of dying of
	// SIGPIPE, and it ends at the drain deadline at the latest.
	_, _ = io.Copy(io.Discard, &p.stdout)
	<-p.exited
	p.closeExtra()
	p.closeStdin()
	if p.stdinDone != nil {
		<-p.stdinDone
	}
	stderrHeld := p.endStderr()
	p.timers.Wait()
	escaped := 0
	if p.stdout.drained() || stderrHeld {
		escaped = killMarked(p.marker)
	}
	_ = p.stdout.f.Close()
	p.closeStderr()

	p.mu.Lock()
	from := p.fed
	if from.IsZero() || p.exitedAt.Before(from) {
		// Never fed, or exited before its input (a crash at start-up,
		// or a handler that reads nothing): its whole life counts.
		from = p.started
	}
	r := Result{
		ExitCode:   -1,
		TimedOut:   p.timedOut,
		Stopped:    p.stopped,
		Started:    p.started,
		Fed:        p.fed,
		Duration:   p.exitedAt.Sub(from),
		PeakRSS:    p.maxRSS,
		StderrTail: p.tailLines(),
		Escaped:    escaped,
	}
	if r.TimedOut {
		r.timeout = max(p.deadline.Sub(from), 0) // a deadline already past at Feed
	}
	p.mu.Unlock()
	if p.reaped {
		switch {
		case p.status.Exited():
			r.ExitCode = p.status.ExitStatus()
		case p.status.Signaled():
			r.Signal = p.status.Signal()
		}
	}
	p.result = r
}
