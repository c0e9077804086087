package invoke

import (
	"syscall"
	"time"
)

// Stop ends the handler early: SIGTERM to its process group, SIGKILL after
// KillGrace. reason is recorded in Result.Stopped; the first call wins, and a
// call after the handler has exited or after the deadline signalled it records
// nothing. A nil reason is recorded as a generic one. Stop is safe to call many
// times, concurrently, and after exit.
func (p *Process) Stop(reason error) {
	if reason == nil {
		reason = errNoReason
	}
	p.terminate(func() { p.stopped = reason })
}

// onDeadline runs on the deadline timer's goroutine.
func (p *Process) onDeadline() {
	defer p.timers.Done()
	p.terminate(func() { p.timedOut = true })
}

// terminate records why the handler is stopped (why runs under p.mu) and
// terminates it, unless it has exited or was signalled already.
func (p *Process) terminate(why func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hasExited || p.termSent {
		return
	}
	why()
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
