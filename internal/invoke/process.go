package invoke

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	// means an empty environment, not the bootstrap's.
	Env []string

	// Stdin is written to the handler's stdin, then stdin is closed. A
	// handler that never reads it, or reads only part, blocks nothing:
	// the write happens in its own goroutine and stops when the handler
	// is gone. The slice must not be modified until Wait returns.
	Stdin []byte

	// Deadline, when not zero, is when the whole process group gets
	// SIGTERM, then SIGKILL after KillGrace; Result.TimedOut reports it.
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

	// Marker, when not empty, is an entry of Env ("NAME=value") unique to
	// this run. A process that left the handler's process group (setsid)
	// cannot be signalled through the group; when the drain timeout shows
	// one still holds the handler's stdout or stderr, every process whose
	// environment still carries Marker is killed (Linux; Result.Escaped).
	Marker string
}

// Process is one running handler, started by Start. Its methods are safe for
// concurrent use, except that Stdout is read by one goroutine at a time and
// Wait is called exactly once.
type Process struct {
	cmd       *exec.Cmd
	pid       int
	started   time.Time
	deadline  time.Time
	killGrace time.Duration
	drain     time.Duration
	onStderr  func([]byte)
	tailMax   int
	marker    string

	stdin     *os.File   // parent's write end of stdin
	stdinOnce sync.Once  // closes stdin exactly once: the writer and Wait both try
	stdout    pipeReader // parent's read end of stdout
	stderr    pipeReader // parent's read end of stderr

	stdinDone  chan struct{} // closed when the stdin writer returns; nil if there is none
	stderrDone chan struct{} // closed when the stderr reader returns
	exited     chan struct{} // closed when the handler is reaped and its group killed

	// timers counts armed timers whose callback may still run, so that Wait
	// can be sure none is running when it returns.
	timers sync.WaitGroup

	mu            sync.Mutex
	hasExited     bool // the leader exited: no more signals, no more timers
	termSent      bool // SIGTERM was sent by Stop or the deadline
	timedOut      bool
	stopped       error
	deadlineTimer *time.Timer
	killTimer     *time.Timer

	// Written by the waiter goroutine before exited is closed.
	state    *os.ProcessState
	duration time.Duration

	// Owned by the stderr goroutine until stderrDone is closed.
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
// connected to pipes the Process owns, and begins writing opts.Stdin.
//
// On Linux the handler also gets SIGKILL if the bootstrap dies. A start
// failure returns no Process and leaves no fd or goroutine behind.
func Start(cmd Command, opts Options) (*Process, error) {
	if cmd.Path == "" {
		return nil, errors.New("start handler: empty executable path")
	}
	var files []*os.File // every pipe end, closed on failure
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	pipe := func(what string) (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err != nil {
			return nil, nil, fmt.Errorf("start handler %s: %s pipe: %w", cmd.Path, what, err)
		}
		files = append(files, r, w)
		return r, w, nil
	}
	inR, inW, err := pipe("stdin")
	if err != nil {
		return nil, err
	}
	outR, outW, err := pipe("stdout")
	if err != nil {
		closeAll()
		return nil, err
	}
	growPipe(outR, stdoutPipeSize)
	errR, errW, err := pipe("stderr")
	if err != nil {
		closeAll()
		return nil, err
	}

	env := opts.Env
	if env == nil {
		env = []string{} // nil would make exec.Cmd pass the bootstrap's environment
	}
	args := make([]string, 0, 1+len(cmd.Args))
	args = append(append(args, cmd.Path), cmd.Args...)
	// The child ends are *os.File, so exec.Cmd hands them to the child as
	// they are and starts no copying goroutines.
	c := &exec.Cmd{
		Path:        cmd.Path,
		Args:        args,
		Env:         env,
		Dir:         cmd.Dir,
		Stdin:       inR,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: sysProcAttr(),
	}
	started := time.Now()
	if err := c.Start(); err != nil {
		closeAll()
		return nil, fmt.Errorf("start handler: %w", err)
	}
	// The child has its copies; keeping ours would hold the pipes open
	// (stdout would never reach EOF, stdin never EPIPE).
	_ = inR.Close()
	_ = outW.Close()
	_ = errW.Close()

	p := &Process{
		cmd:        c,
		pid:        c.Process.Pid,
		started:    started,
		deadline:   opts.Deadline,
		killGrace:  opts.KillGrace,
		drain:      opts.DrainTimeout,
		onStderr:   opts.Stderr,
		tailMax:    opts.StderrTail,
		marker:     opts.Marker,
		stdin:      inW,
		stderrDone: make(chan struct{}),
		exited:     make(chan struct{}),
	}
	p.stdout.f = outR
	p.stderr.f = errR
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

	if !p.deadline.IsZero() {
		// Armed before the waiter starts, so the waiter sees the timer.
		p.timers.Add(1)
		p.deadlineTimer = time.AfterFunc(time.Until(p.deadline), p.onDeadline)
	}
	go p.wait()
	go p.readStderr()
	p.writeStdin(opts.Stdin)
	return p, nil
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

// Stop ends the handler early: SIGTERM to its process group, SIGKILL after
// KillGrace. reason is recorded in Result.Stopped; the first call wins, and a
// call after the handler has exited or after the deadline signalled it records
// nothing. A nil reason is recorded as a generic one. Stop is safe to call many
// times, concurrently, and after exit.
func (p *Process) Stop(reason error) {
	if reason == nil {
		reason = errNoReason
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hasExited || p.termSent {
		return
	}
	p.stopped = reason
	p.terminateLocked()
}

// onDeadline runs on the deadline timer's goroutine.
func (p *Process) onDeadline() {
	defer p.timers.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hasExited || p.termSent {
		return
	}
	p.timedOut = true
	p.terminateLocked()
}

// terminateLocked sends SIGTERM to the group and arms the SIGKILL timer.
// p.mu is held and the leader has not exited.
func (p *Process) terminateLocked() {
	p.termSent = true
	signalGroup(p.pid, syscall.SIGTERM)
	p.timers.Add(1)
	p.killTimer = time.AfterFunc(p.killGrace, p.onKillGrace)
}

// onKillGrace runs on the kill timer's goroutine.
func (p *Process) onKillGrace() {
	defer p.timers.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hasExited {
		signalGroup(p.pid, syscall.SIGKILL)
	}
}

// signalGroup sends sig to every process in group pgid. ESRCH (nobody left)
// is expected after the leader exits; nothing useful can be done about the
// other errors (EPERM from a member that changed its credentials).
func signalGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
}

// wait runs on its own goroutine: it waits for the handler to exit, kills
// the rest of its group, reaps it and starts the drain deadline.
func (p *Process) wait() {
	defer close(p.exited)
	// On Linux the exit is seen without reaping, so the zombie keeps the
	// pid, and with it the process group id, from being reused while the
	// group is killed. Elsewhere the leader is reaped first.
	reaped := false
	if err := waitExitedNoReap(p.pid); err != nil {
		_ = p.cmd.Wait()
		reaped = true
	}
	exitedAt := time.Now()
	p.duration = exitedAt.Sub(p.started)

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
		_ = p.cmd.Wait() // the status is in ProcessState; an ExitError says nothing more
	}
	p.state = p.cmd.ProcessState

	drainBy := exitedAt.Add(p.drain)
	_ = p.stdout.f.SetReadDeadline(drainBy)
	_ = p.stderr.f.SetReadDeadline(drainBy)
}

// writeStdin writes data to the handler's stdin and closes it. What fits in
// the pipe is written right away without blocking, which for the usual small
// event spares a goroutine; the rest is written by a goroutine.
func (p *Process) writeStdin(data []byte) {
	if len(data) > 0 {
		if rc, err := p.stdin.SyscallConn(); err == nil {
			var n int
			_ = rc.Write(func(fd uintptr) bool {
				for {
					m, err := syscall.Write(int(fd), data)
					if err == syscall.EINTR {
						continue
					}
					n = max(m, 0)
					if err != nil && err != syscall.EAGAIN {
						n = len(data) // EPIPE: the handler is gone or closed stdin; drop the rest
					}
					return true // never wait here; the goroutine does
				}
			})
			data = data[n:]
		}
	}
	if len(data) == 0 {
		p.closeStdin()
		return
	}
	p.stdinDone = make(chan struct{})
	go func() {
		defer close(p.stdinDone)
		// EPIPE means the handler exited or closed stdin without reading
		// everything, and ErrClosed that Wait gave up on a reader that was
		// never coming; neither is the handler's failure to report here.
		_, _ = p.stdin.Write(data)
		p.closeStdin()
	}()
}

// closeStdin closes the write end of stdin once: the handler sees EOF, and a
// writer blocked on a full pipe returns.
func (p *Process) closeStdin() {
	p.stdinOnce.Do(func() { _ = p.stdin.Close() })
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
	// Reading stdout to the end, rather than closing it, lets a handler
	// whose output nobody wants run to completion instead of dying of
	// SIGPIPE, and it ends at the drain deadline at the latest.
	_, _ = io.Copy(io.Discard, &p.stdout)
	<-p.exited
	p.closeStdin()
	if p.stdinDone != nil {
		<-p.stdinDone
	}
	<-p.stderrDone
	p.timers.Wait()
	escaped := 0
	if p.marker != "" && (p.stdout.drained() || p.stderr.drained()) {
		escaped = killMarked(p.marker)
	}
	_ = p.stdout.f.Close()
	_ = p.stderr.f.Close()

	p.mu.Lock()
	r := Result{
		ExitCode:   -1,
		TimedOut:   p.timedOut,
		Stopped:    p.stopped,
		Started:    p.started,
		Duration:   p.duration,
		StderrTail: p.tailLines(),
		Escaped:    escaped,
	}
	p.mu.Unlock()
	if p.state != nil {
		r.ExitCode = p.state.ExitCode()
		if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Signal = ws.Signal()
		}
	}
	if r.TimedOut {
		r.timeout = max(p.deadline.Sub(p.started), 0) // a deadline already past at Start
	}
	p.result = r
}
