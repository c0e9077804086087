// Package procstat reads a process's CPU time, context switches and peak
// memory from /proc, for the bench module's commands (benchrun, abcpu).
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is a process's CPU time from /proc/<pid>/stat: its own (all threads,
// live and exited) and that of its children it has waited for. The zero
// value is no time.
type CPU struct {
	Self     time.Duration // user+system of the process itself
	Children time.Duration // user+system of its waited-for children
}

// clockTick is USER_HZ, 100 on every Linux port Go supports.
const clockTick = 10 * time.Millisecond

// ReadCPU reads pid's CPU times, in clock ticks of 10 ms.
func ReadCPU(pid int) (CPU, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPU{}, err
	}
	// Fields after the parenthesized command start at field 3 (state);
	// utime, stime, cutime, cstime are fields 14-17.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return CPU{}, fmt.Errorf("reading /proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 15 {
		return CPU{}, fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(f))
	}
	var t [4]int64
	for k := range t {
		if t[k], err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return CPU{}, fmt.Errorf("reading /proc/%d/stat: field %d: %w", pid, 14+k, err)
		}
	}
	return CPU{
		Self:     time.Duration(t[0]+t[1]) * clockTick,
		Children: time.Duration(t[2]+t[3]) * clockTick,
	}, nil
}

// Sub returns c - o.
func (c CPU) Sub(o CPU) CPU { return CPU{c.Self - o.Self, c.Children - o.Children} }

// PeakRSS reads pid's VmHWM in bytes.
func PeakRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading /proc/%d/status: VmHWM %q: %w", pid, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("reading /proc/%d/status: no VmHWM", pid)
}

// ThreadsSwitches sums the voluntary and involuntary context switches of
// pid's live threads (/proc/<pid>/task/*/status). On a paravirtualised
// machine each costs tens of µs, so how often a bootstrap sleeps and wakes
// is much of its CPU. Like ThreadsCPU it is blind to exited threads and to
// children.
func ThreadsSwitches(pid int) (int64, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/status")
		if err != nil {
			continue // the thread exited meanwhile
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || !strings.HasSuffix(k, "ctxt_switches") {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading %s/%s/status: %s: %w", dir, t.Name(), k, err)
			}
			sum += n
		}
	}
	return sum, nil
}

// ThreadsCPU sums the time on CPU, in ns, of pid's live threads
// (/proc/<pid>/task/*/schedstat): precise where the 10 ms ticks of
// ReadCPU are not, but blind to threads that have exited and to children.
func ThreadsCPU(pid int) (time.Duration, error) {
	per, err := PerThreadCPU(pid)
	var sum time.Duration
	for _, d := range per {
		sum += d
	}
	return sum, err
}

// PerThreadCPU is ThreadsCPU by thread id. Two readings tell whether a
// thread exited in between (an id of the first missing in the second),
// which is when their difference misses time.
func PerThreadCPU(pid int) (map[int]time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	per := make(map[int]time.Duration, len(tasks))
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return nil, fmt.Errorf("reading %s/%s/schedstat: empty", dir, t.Name())
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading %s/%s/schedstat: %w", dir, t.Name(), err)
		}
		per[tid] = time.Duration(ns)
	}
	return per, nil
}
