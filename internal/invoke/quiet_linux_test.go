package invoke

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
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
	t.Cleanup(func() {
		// Give the runtime its handler back for the other tests.
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGCHLD)
		signal.Stop(c)
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
