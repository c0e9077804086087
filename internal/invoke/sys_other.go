//go:build !linux

package invoke

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr puts the handler in its own process group, so that signals can
// reach everything it spawned. Outside Linux there is no parent-death signal.
func sysProcAttr(pidfd *int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// waitExitedNoReap is not available outside Linux: without waitid(WNOWAIT)
// the group is signalled right after the leader is reaped, which leaves a
// tiny window in which its pid could be reused.
func waitExitedNoReap(pid int, pidfd *os.File) error { return errors.ErrUnsupported }

// pipeCapacity returns the usual pipe capacity; there is no portable way to
// ask.
func pipeCapacity(fd uintptr) int { return defaultPipeCapacity }

// reapExited has no non-blocking reap here; the caller's wait4 reaps.
func reapExited(pid int, status *syscall.WaitStatus, ru *syscall.Rusage) bool { return false }

// closeRaw closes a descriptor nothing else refers to.
func closeRaw(fd int) { _ = syscall.Close(fd) }

// setNonblock puts a descriptor this package just created in non-blocking
// mode.
func setNonblock(fd int) { _ = syscall.SetNonblock(fd, true) }

// growPipe is a no-op where pipes cannot be resized.
func growPipe(f *os.File, size int) {}

// killMarked is not available without /proc; escapees are left alone.
func killMarked(marker string) int { return 0 }

// maxRSSBytes returns wait4's ru_maxrss in bytes: the BSDs and macOS differ
// in its unit, so nothing is claimed there.
func maxRSSBytes(ru *syscall.Rusage) int64 { return 0 }

// pipeCloexec makes a pipe whose ends are closed on exec. Without pipe2 the
// fork lock keeps a concurrent fork from inheriting them in between.
func pipeCloexec(fds []int) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := syscall.Pipe(fds); err != nil {
		return err
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return nil
}

// writeRaw writes what of b a non-blocking pipe takes at once and returns
// how much that was, with the error that stopped it (EAGAIN when the pipe
// is full).
func writeRaw(fd int, b []byte) (int, syscall.Errno) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(fd, b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			errno, _ := err.(syscall.Errno)
			return n, errno
		}
		n += m
	}
	return n, 0
}

// QuietChildExits does nothing off Linux.
func QuietChildExits() error { return nil }
