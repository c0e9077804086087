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
// reach everything it spawned, and asks the kernel to SIGKILL it if the
// bootstrap dies, so that a crashing runtime does not leave handlers behind.
//
// Pdeathsig is tied to the OS thread that forked the child, not to the
// process: it also fires if that thread exits. The Go runtime only ends
// threads whose goroutine exits while locked to them (runtime.LockOSThread),
// which Start never does, so in practice it fires when the bootstrap dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitExitedNoReap blocks until process pid has exited but leaves it a
// zombie. While the zombie exists its pid, and so the process group id, cannot
// be reused, which makes it safe to signal -pid for the rest of the group.
func waitExitedNoReap(pid int) error {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t; only needed as a place for the kernel to write
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
			_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSETPIPESZ, uintptr(size))
		})
	}
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
