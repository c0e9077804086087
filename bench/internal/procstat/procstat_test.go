package procstat

import (
	"os"
	"testing"
	"time"
)

// TestOwnProcess: every reader gives a plausible figure for this process,
// and CPU time grows with work done.
func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	before, err := ReadCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	onBefore, err := ThreadsCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has charged at least two clock ticks.
	x := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); x++ {
		if c, err := ReadCPU(pid); err == nil && c.Sub(before).Self >= 2*clockTick {
			break
		}
	}
	after, err := ReadCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Sub(before).Self; d < 2*clockTick {
		t.Errorf("ReadCPU grew by %v after %d busy loops", d, x)
	}
	onAfter, err := ThreadsCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	if onAfter <= onBefore {
		t.Errorf("ThreadsCPU went from %v to %v", onBefore, onAfter)
	}
	per, err := PerThreadCPU(pid)
	if err != nil || len(per) == 0 || per[pid] <= 0 {
		t.Errorf("PerThreadCPU = %v, %v; want the main thread (%d) among them", per, err, pid)
	}
	var sum time.Duration
	for _, d := range per {
		sum += d
	}
	if sum < onAfter {
		t.Errorf("PerThreadCPU sums to %v, below ThreadsCPU's earlier %v", sum, onAfter)
	}
	if n, err := ThreadsSwitches(pid); err != nil || n <= 0 {
		t.Errorf("ThreadsSwitches = %d, %v", n, err)
	}
	if rss, err := PeakRSS(pid); err != nil || rss < 1<<20 {
		t.Errorf("PeakRSS = %d, %v", rss, err)
	}
	if _, err := ReadCPU(-1); err == nil {
		t.Error("ReadCPU of no process succeeded")
	}
}
