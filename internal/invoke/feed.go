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
		for {
			m, err := syscall.Write(int(fd), data)
			if err == syscall.EINTR {
				continue
			}
			n = max(m, 0)
			if err != nil && err != syscall.EAGAIN {
				n = len(data) // EPIPE: the handler is gone or closed the pipe; drop the rest
			}
			return true // never wait here; the goroutine does
		}
	})
	return data[n:]
}

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
