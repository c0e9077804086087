package main

// Benchmarks of --prespawn: event handed out by /next → first body byte at
// the Runtime API, for interpreted handlers with and without the flag,
// against a compiled handler. Invocations are spaced by idle gaps, as in
// real traffic, so that a spare has the time to start.
//
//	go test -run='^$' -bench=Prespawn -benchtime=3x ./cmd/bootstrap/
//
// Metrics per contender: median-ms and p99-ms (first byte), bootstrap-cpu-ms
// and handler-cpu-ms per invocation (the bootstrap's own CPU, and that of
// the handlers it reaped, from /proc/<pid>/stat at 10 ms resolution over the
// whole run), spare-rss-MB (the resident set of the idle spare; 0 without
// the flag).

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
)

// Prespawn workload: invocations per op and the idle gap before each.
const (
	prespawnBatch = 5
	prespawnGap   = 800 * time.Millisecond // more than a loaded machine's Python start plus 200 ms
)

// interpreter returns the real path of an interpreter (not a version
// manager's shim, whose own start-up would be measured too), or skips.
func interpreter(b *testing.B, name, printSelf string) string {
	b.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		b.Skipf("no %s", name)
	}
	out, err := exec.Command(path, "-e", printSelf).Output()
	if name == "python3" {
		out, err = exec.Command(path, "-c", printSelf).Output()
	}
	if err != nil {
		b.Skipf("%s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func BenchmarkPrespawnFirstByte(b *testing.B) {
	python := interpreter(b, "python3", "import sys; print(sys.executable)")
	node := interpreter(b, "node", "console.log(process.execPath)")
	head := needTool(b, "head")
	const (
		pyEcho   = "import sys; sys.stdout.write(sys.stdin.read()); sys.stdout.flush()"
		pySlow   = "import time; time.sleep(0.2)\n" + pyEcho
		nodeEcho = "process.stdout.write(require('fs').readFileSync(0))"
		nodeSlow = "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); " + nodeEcho
	)
	handlers := []struct {
		name string
		args []string
	}{
		{"compiled", []string{head, "-c", "2"}},
		{"python", []string{python, "-c", pyEcho}},
		{"python-200ms-imports", []string{python, "-c", pySlow}},
		{"node", []string{node, "-e", nodeEcho}},
		{"node-200ms-imports", []string{node, "-e", nodeSlow}},
	}
	for _, h := range handlers {
		for _, prespawn := range []bool{false, true} {
			name := h.name
			if prespawn {
				name += "/prespawn"
			}
			b.Run(name, func(b *testing.B) {
				benchFirstByte(b, h.args, prespawn)
			})
		}
	}
}

func benchFirstByte(b *testing.B, args []string, prespawn bool) {
	srv := benchServer(b, false)
	p := bootstraptest.Start(b, bootstrapBin, bootstraptest.Options{
		RuntimeAPI: srv.Addr(),
		Args:       append([]string{fmt.Sprintf("--prespawn=%v", prespawn), "--"}, args...),
		TaskRoot:   b.TempDir(),
	})
	defer stopBench(b, p)
	for range 2 { // warm up: page cache, connections
		time.Sleep(prespawnGap)
		invokeOK(b, srv, p, 2)
	}
	self0, children0 := procCPU(b, p.Pid())
	var lat []time.Duration
	var spareRSS int64
	for b.Loop() {
		for range prespawnBatch {
			time.Sleep(prespawnGap)
			if prespawn {
				spareRSS = max(spareRSS, markedRSS(b, p.Marked()))
			}
			inv := invokeOK(b, srv, p, 2)
			if len(inv.Chunks) == 0 {
				b.Fatal("no chunk")
			}
			lat = append(lat, inv.Chunks[0].At.Sub(inv.HandedOut))
		}
	}
	self, children := procCPU(b, p.Pid())
	n := float64(len(lat))
	b.ReportMetric(ms(quantile(lat, 0.5)), "median-ms")
	b.ReportMetric(ms(quantile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(self-self0)/n, "bootstrap-cpu-ms")
	b.ReportMetric(ms(children-children0)/n, "handler-cpu-ms")
	b.ReportMetric(float64(spareRSS)/1e6, "spare-rss-MB")
}

// procCPU returns a live process's own user+system CPU time and that of its
// reaped children, from /proc/<pid>/stat (clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) (self, children time.Duration) {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 15 {
		b.Fatalf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	var t [4]int64
	for j := range t { // utime, stime, cutime, cstime: fields 14-17
		if t[j], err = strconv.ParseInt(f[11+j], 10, 64); err != nil {
			b.Fatalf("unexpected /proc/%d/stat: %q", pid, stat)
		}
	}
	return time.Duration(t[0]+t[1]) * 10 * time.Millisecond, time.Duration(t[2]+t[3]) * 10 * time.Millisecond
}

// markedRSS sums the resident sets (VmRSS) of pids, in bytes; a process gone
// meanwhile counts nothing.
func markedRSS(b *testing.B, pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += kb * 1024
			}
		}
	}
	return sum
}
