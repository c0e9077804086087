package invoke

import (
	"os"
	"syscall"
	"time"
)

// Feed gives a spawned handler its input: in.Extra to the ExtraFD pipe
// (which is then closed), in.Stdin to stdin (which is then closed, by a
// goroutine if it does not fit the pipe at once), and arms in.Deadline. A
// handler that has already exited is fed nothing and its Result says how it
// ended. Feed returns ErrFed when the Process was fed before (Start feeds
// it) and ErrWaited after Wait.
func (p *Process) Feed(in Input) error {
	p.mu.Lock()
	switch {
	case p.waited:
		p.mu.Unlock()
		return ErrWaited
	case !p.fed.IsZero():
		p.mu.Unlock()
		return ErrFed
	}
	p.fed = time.Now()
	p.arm(in.Deadline)
	p.mu.Unlock()
	p.feed(in.Extra, in.Stdin)
	return nil
}

// arm records the deadline and, unless the handler has exited, starts its
// timer. The caller holds p.mu or is the only goroutine that knows p.
func (p *Process) arm(deadline time.Time) {
	p.deadline = deadline
	if !deadline.IsZero() && !p.hasExited {
		p.timers.Add(1)
		p.deadlineTimer = time.AfterFunc(time.Until(deadline), p.onDeadline)
	}
}

// feed writes extra, closes the extra pipe, writes stdin and closes it.
// What fits in the pipes is written right away without blocking, which for
// the usual small event spares a goroutine; the rest is written, in the same
// order, by a goroutine.
func (p *Process) feed(extra, stdin []byte) {
	if p.extra != nil {
		extra = writeNow(p.extra, extra)
		if len(extra) == 0 {
			p.closeExtra()
		}
	}
	if len(extra) == 0 {
		stdin = writeNow(p.stdin, stdin)
		if len(stdin) == 0 {
			p.closeStdin()
			return
		}
	}
	p.stdinDone = make(chan struct{})
	go func() {
		defer close(p.stdinDone)
		// EPIPE means the handler exited or closed the pipe without
		// reading everything, and ErrClosed that Wait gave up on a reader
		// that was never coming; neither is the handler's failure to
		// report here.
		if len(extra) > 0 {
			_, _ = p.extra.Write(extra)
			p.closeExtra()
		}
		if len(stdin) > 0 {
			_, _ = p.stdin.Write(stdin)
		}
		p.closeStdin()
	}()
}

// writeNow writes what of data fits in pipe f without waiting and returns
// the rest. After EPIPE (the reader is gone) nothing is left to write.
func writeNow(f *os.File, data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return data
	}
	var n int
	_ = rc.Write(func(fd uintptr) bool {
		var e syscall.Errno
		n, e = writeRaw(int(fd), data)
		if e != 0 && e != syscall.EAGAIN {
			n = len(data) // EPIPE: the handler is gone or closed the pipe; drop the rest
		}
		return true // never wait here; the goroutine does
	})
	return data[n:]
}

// prefill writes what of in fits the pipes to their parent ends in fds (the
// child not yet started) and returns the rest for feed. A pipe whose input
// is all in is closed and its fd set to -1; one left open is made
// non-blocking first, for feed's writer. Extra comes whole before stdin's
// first byte, as Feed promises, so stdin is written only once extra is all
// in.
func prefill(fds *[8]int, pipes int, in Input) Input {
	if pipes < 4 {
		in.Extra = nil // Feed ignores it without the extra pipe
	} else if in.Extra = fill(fds, 7, in.Extra); len(in.Extra) > 0 {
		setNonblock(fds[1])
		return in
	}
	if in.Stdin = fill(fds, 1, in.Stdin); len(in.Stdin) == 0 {
		in.Stdin = nil
	}
	return in
}

// fill writes data to the empty pipe whose write end is fds[i] and returns
// what did not fit; a pipe that took everything is closed (fds[i] = -1).
// Up to pipeAtomic bytes an empty pipe takes at once, so the descriptor
// stays blocking, as a closed one may: the usual event costs no fcntl.
func fill(fds *[8]int, i int, data []byte) []byte {
	if len(data) > pipeAtomic {
		setNonblock(fds[i])
		if n, _ := writeRaw(fds[i], data); n < len(data) {
			return data[n:]
		}
	} else if n, _ := writeRaw(fds[i], data); n < len(data) {
		// Cannot happen (see above); keep the order and let feed finish.
		setNonblock(fds[i])
		return data
	}
	closeRaw(fds[i])
	fds[i] = -1
	return nil
}

// pipeAtomic is PIPE_BUF: a pipe's capacity is never less, so an empty
// pipe takes this many bytes at once.
const pipeAtomic = 4096

// closeStdin closes the write end of stdin once: the handler sees EOF, and a
// writer blocked on a full pipe returns.
func (p *Process) closeStdin() {
	if p.stdin != nil { // nil: SpawnFed closed it before the fork
		p.stdinOnce.Do(func() { _ = p.stdin.Close() })
	}
}

// closeExtra closes the write end of the extra pipe once, if there is one.
func (p *Process) closeExtra() {
	if p.extra != nil {
		p.extraOnce.Do(func() { _ = p.extra.Close() })
	}
}
