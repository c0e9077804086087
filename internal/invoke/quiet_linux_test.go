package invoke

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// caughtSignals reads the SigCgt mask of /proc/self/status: the signals
// this process has a handler for.
func caughtSignals(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Skip("no SigCgt in /proc/self/status")
	return 0
}

func TestQuietChildExits(t *testing.T) {
	bit := uint64(1) << (syscall.SIGCHLD - 1)
	if caughtSignals(t)&bit == 0 {
		t.Fatal("the Go runtime does not catch SIGCHLD here: nothing to test")
	}
	// Give the runtime its handler back afterwards, for the other tests and
	// a second run (-count): signal.Notify would not, as the runtime still
	// counts SIGCHLD as handled. The struct is QuietChildExits's.
	var old struct {
		handler, flags, restorer uintptr
		mask                     uint64
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGCHLD),
		0, uintptr(unsafe.Pointer(&old)), unsafe.Sizeof(old.mask), 0, 0); e != 0 {
		t.Fatal(os.NewSyscallError("rt_sigaction", e))
	}
	t.Cleanup(func() {
		_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGCHLD),
			uintptr(unsafe.Pointer(&old)), 0, unsafe.Sizeof(old.mask), 0, 0)
	})
	if err := QuietChildExits(); err != nil {
		t.Fatal(err)
	}
	if caughtSignals(t)&bit != 0 {
		t.Fatal("SIGCHLD is still caught")
	}
	// Exits are still seen and reaped with their status.
	for _, code := range []int{0, 3} {
		_, r := run(t, "exit "+strconv.Itoa(code), Options{})
		if r.ExitCode != code {
			t.Fatalf("exit %d: result %+v", code, r)
		}
	}
}
