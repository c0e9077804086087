//go:build linux

package invoke

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// sysProcAttr puts the handler in its own process group, so that signals can
// reach everything it spawned, asks the kernel to SIGKILL it if the bootstrap
// dies, so that a crashing runtime does not leave handlers behind, and asks
// for a pidfd in *pidfd (CLONE_PIDFD), left -1 by kernels without one.
//
// Pdeathsig is tied to the OS thread that forked the child, not to the
// process: it also fires if that thread exits. The Go runtime only ends
// threads whose goroutine exits while locked to them (runtime.LockOSThread),
// which Spawn never does, so in practice it fires when the bootstrap dies.
func sysProcAttr(pidfd *int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, PidFD: pidfd}
}

// waitid's idtype values and the offset of si_pid in siginfo_t.
const (
	pPID        = 1 // P_PID
	pPIDFD      = 3 // P_PIDFD
	siPIDOffset = 16
)

// waitExitedNoReap blocks until process pid has exited but leaves it a
// zombie. While the zombie exists its pid, and so the process group id, cannot
// be reused, which makes it safe to signal -pid for the rest of the group.
//
// With a pidfd (non-blocking, on the runtime's poller) the wait parks the
// goroutine until the pidfd turns readable at the exit; without one, a
// thread blocks in waitid.
func waitExitedNoReap(pid int, pidfd *os.File) error {
	var info [128]byte // siginfo_t
	if pidfd != nil {
		if rc, err := pidfd.SyscallConn(); err == nil {
			var werr error
			err = rc.Read(func(fd uintptr) bool {
				for {
					clear(info[:])
					// Raw: WNOHANG never blocks, and this is the first call
					// once the handler exits (see package rawio).
					_, _, e := syscall.RawSyscall6(syscall.SYS_WAITID, pPIDFD, fd,
						uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT|syscall.WNOHANG, 0, 0)
					switch e {
					case syscall.EINTR:
						continue
					case 0:
						// WNOHANG with nothing exited yet leaves si_pid 0:
						// wait for the pidfd to turn readable.
						return *(*int32)(unsafe.Pointer(&info[siPIDOffset])) != 0
					default:
						werr = e
						return true
					}
				}
			})
			if err == nil && werr == nil {
				return nil
			}
		}
	}
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return e
		}
	}
}

// pipeCapacity returns the capacity of the pipe fd in bytes: the most it can
// hold, which bounds how much buffered data a drain has to deliver.
func pipeCapacity(fd uintptr) int {
	const fGETPIPESZ = 1032 // F_GETPIPE_SZ
	n, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, fGETPIPESZ, 0)
	if e != 0 || int(n) <= 0 {
		return defaultPipeCapacity
	}
	return int(n)
}

// growPipe asks for a larger pipe buffer (F_SETPIPE_SZ). A fast handler then
// blocks less often on a full pipe and each read of the bootstrap takes
// more, which halves the wake-ups per byte. Failure (an unprivileged user
// over its pipe quota) is harmless: the pipe keeps its default size.
func growPipe(f *os.File, size int) {
	const fSETPIPESZ = 1031 // F_SETPIPE_SZ
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _, _ = syscall.RawSyscall(syscall.SYS_FCNTL, fd, fSETPIPESZ, uintptr(size))
		})
	}
}

// reapExited reaps pid, known to have exited, by a raw wait4 with WNOHANG;
// false means it was not there to reap.
func reapExited(pid int, status *syscall.WaitStatus, ru *syscall.Rusage) bool {
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(status)),
			syscall.WNOHANG, uintptr(unsafe.Pointer(ru)), 0, 0)
		if e != syscall.EINTR {
			return e == 0 && int(r) == pid
		}
	}
}

// closeRaw closes a descriptor nothing else refers to (a pipe end the child
// now holds a copy of): close(2) of a pipe never blocks, so it is made raw.
func closeRaw(fd int) { _, _, _ = syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }

// setNonblock puts a descriptor this package just created (a pipe end, a
// pidfd) in non-blocking mode, in one raw fcntl: syscall.SetNonblock reads
// the flags first and enters the scheduler's syscall state twice, and on an
// idle runtime each such entry wakes sysmon, which then polls every 20 µs
// while the invocation runs. F_SETFL never blocks, and a fresh descriptor
// has no other status flag to keep.
func setNonblock(fd int) {
	_, _, _ = syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFL, syscall.O_NONBLOCK)
}

// killMarked SIGKILLs every process but this one whose environment holds the
// entry marker, and returns how many it signalled. Processes of other users
// cannot be read and are skipped, which is right: they are not ours.
func killMarked(marker string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	entry := []byte(marker + "\x00")
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		if bytes.HasPrefix(env, entry) || bytes.Contains(env, append([]byte{0}, entry...)) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}

// maxRSSBytes converts wait4's ru_maxrss, in KiB on Linux, to bytes.
func maxRSSBytes(ru *syscall.Rusage) int64 { return ru.Maxrss * 1024 }

// pipeCloexec makes a pipe whose ends are closed on exec, in one call.
func pipeCloexec(fds []int) error { return syscall.Pipe2(fds, syscall.O_CLOEXEC) }

// writeRaw writes what of b a non-blocking pipe takes at once and returns
// how much that was, with the error that stopped it (EAGAIN when the pipe
// is full), in raw calls (see closeRaw).
func writeRaw(fd int, b []byte) (int, syscall.Errno) {
	n := 0
	for n < len(b) {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return n, e
		}
		n += int(r)
	}
	return n, 0
}

// QuietChildExits puts SIGCHLD back to its default disposition, under which
// the kernel drops the signal when it is raised: a handler's exit then wakes
// no thread of the bootstrap. The Go runtime installs a handler of its own
// (for os/signal), so otherwise each exit interrupts a sleeping thread, runs
// the handler and returns, two context switches per invocation for a signal
// nothing reads: exits are seen through the pidfd, or a blocking waitid.
// Unlike SIG_IGN the default keeps an exited child a zombie until it is
// reaped, so no status is lost.
//
// Call it once, at start, in a process that does not use os/signal for
// SIGCHLD (signal.Notify would install the runtime's handler again).
func QuietChildExits() error {
	// struct sigaction as rt_sigaction(2) takes it on amd64 and arm64;
	// all zero is SIG_DFL with no flags and an empty mask.
	var sa struct {
		handler, flags, restorer uintptr
		mask                     uint64
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGCHLD),
		uintptr(unsafe.Pointer(&sa)), 0, unsafe.Sizeof(sa.mask), 0, 0)
	if e != 0 {
		return os.NewSyscallError("rt_sigaction", e)
	}
	return nil
}
