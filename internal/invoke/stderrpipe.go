package invoke

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// StderrPipe is one stderr pipe that the handlers of one loop share, one at
// a time (Options.StderrPipe): each gets its write end as descriptor 2, and
// one long-lived reader splits what arrives into lines and hands each to the
// handler attached at the time. It saves each invocation a pipe of its own,
// its registration with the runtime's poller, its reader goroutine and its
// close: 9 of the 67 system calls of a trivial invocation, and about 5 % of
// the bootstrap's CPU for it (BENCHMARKS.md, fourth pass).
//
// Lines stay with their handler: one is attached from just before its fork
// until Wait, which, once the handler has exited and its group is killed,
// reads everything the pipe still holds as that handler's and delivers its
// unterminated last line. A process that escaped the group and still writes
// afterwards has its lines delivered to the StderrPipe's own callback, or to
// the handler attached when they arrive; unlike with a pipe of its own, it
// holds nothing open that an invocation waits for.
//
// Create one with NewStderrPipe and Close it once no handler attached to it
// runs. Handlers attached to one StderrPipe must not overlap; a handler
// started while another one still runs (a spare, --prespawn) needs a pipe of
// its own (Options.StderrPipe nil).
type StderrPipe struct {
	r     *os.File          // read end: non-blocking, on the runtime's poller
	w     int               // write end: every handler's descriptor 2
	other func(line []byte) // lines while no handler is attached; may be nil
	done  chan struct{}     // closed when the reader returns

	mu    sync.Mutex
	lines *lineSplitter
	cur   *Process // the attached handler, or nil
}

// NewStderrPipe makes the pipe and starts its reader. other, when not nil,
// gets the lines that arrive while no handler is attached, as
// Options.Stderr gets a handler's.
func NewStderrPipe(other func(line []byte)) (*StderrPipe, error) {
	var fds [2]int
	if err := pipeCloexec(fds[:]); err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", os.NewSyscallError("pipe2", err))
	}
	setNonblock(fds[0])
	sp := &StderrPipe{
		r:     os.NewFile(uintptr(fds[0]), "|2"),
		w:     fds[1],
		other: other,
		done:  make(chan struct{}),
		lines: newLineSplitter(),
	}
	go sp.read()
	return sp, nil
}

// Close ends the reader and closes both ends. Lines still unread are
// delivered to other first.
func (sp *StderrPipe) Close() error {
	closeRaw(sp.w)
	err := sp.r.Close() // wakes the parked reader
	<-sp.done
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.cur = nil
	sp.lines.flush(sp.emit)
	sp.lines.release()
	return err
}

// read runs on its own goroutine for the pipe's whole life: it parks until
// the pipe turns readable, then reads what it holds under the lock, so that
// a detach never finds bytes read but not yet delivered.
func (sp *StderrPipe) read() {
	defer close(sp.done)
	rc, err := sp.r.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		return sp.drain(fd)
	})
}

// drain reads until the pipe is empty and delivers the lines; it reports
// whether the pipe has ended (every write end closed, or an error). Called
// with mu held.
func (sp *StderrPipe) drain(fd uintptr) (ended bool) {
	for {
		b := sp.lines.space()
		// Raw: a read of a non-blocking pipe never blocks (see package rawio).
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return false
		case e != 0 || n == 0:
			return true
		}
		sp.lines.wrote(int(n), sp.emit)
	}
}

// emit delivers a line to the attached handler, else to other.
func (sp *StderrPipe) emit(line []byte) {
	if sp.cur != nil {
		sp.cur.emitLine(line)
		return
	}
	if sp.other != nil {
		sp.other(line)
	}
}

// attach makes p the handler the lines are delivered to, from now on; an
// unterminated line left by whoever wrote before is delivered first, as
// theirs.
func (sp *StderrPipe) attach(p *Process) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.lines.flush(sp.emit)
	sp.cur = p
}

// detach ends p's attachment: what the pipe holds now is read as p's, and
// its unterminated last line delivered. Called once p has exited and its
// group is killed, so that nothing of p's can still arrive.
func (sp *StderrPipe) detach(p *Process) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.cur != p {
		return
	}
	if rc, err := sp.r.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { sp.drain(fd) })
	}
	sp.lines.flush(sp.emit)
	sp.cur = nil
}
