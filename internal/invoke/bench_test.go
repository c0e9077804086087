package invoke

import (
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// selfCPU is the user+system CPU this process has used, not counting its
// children: the parent's share of a spawn.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the parent's CPU per op since before.
func reportCPU(b *testing.B, before time.Duration) {
	b.ReportMetric(float64(selfCPU(b)-before)/float64(b.N)/1e3, "parent-cpu-µs/op")
}

// BenchmarkStartWait measures the fixed cost of one handler run: pipes,
// fork/exec, the helper goroutines, reaping and cleanup.
func BenchmarkStartWait(b *testing.B) {
	cmd := Command{Path: "/bin/true", Dir: b.TempDir()}
	b.ReportAllocs()
	cpu := selfCPU(b)
	for b.Loop() {
		p, err := Start(cmd, Options{Env: testEnv(), Stdin: []byte(`{"event":1}`)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, p.Stdout()); err != nil {
			b.Fatal(err)
		}
		if r := p.Wait(); !r.Success() {
			b.Fatalf("result %+v", r)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkBareExec is the same-run baseline for BenchmarkStartWait: what
// os/exec alone costs for the same program.
func BenchmarkBareExec(b *testing.B) {
	b.ReportAllocs()
	cpu := selfCPU(b)
	for b.Loop() {
		c := exec.Command("/bin/true")
		c.Env = testEnv()
		if err := c.Run(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkBareForkExec is the floor: syscall.ForkExec and wait4 of the same
// program, no pipes.
func BenchmarkBareForkExec(b *testing.B) {
	b.ReportAllocs()
	env := testEnv()
	cpu := selfCPU(b)
	for b.Loop() {
		pid, err := syscall.ForkExec("/bin/true", []string{"/bin/true"}, &syscall.ProcAttr{Env: env})
		if err != nil {
			b.Fatal(err)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
			b.Fatal(err, ws)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkStdoutThroughput streams 256 MiB of handler output through
// Stdout with a 256 KiB buffer, as a response streamer would.
func BenchmarkStdoutThroughput(b *testing.B) {
	const size = 256 << 20
	cmd := script(b, "exec head -c 268435456 /dev/zero")
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Start(cmd, Options{Env: testEnv()})
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for {
			m, err := p.Stdout().Read(buf)
			n += int64(m)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if r := p.Wait(); !r.Success() || n != size {
			b.Fatalf("read %d bytes, result %+v", n, r)
		}
	}
}

// BenchmarkBareExecThroughput is the baseline for BenchmarkStdoutThroughput:
// exec.Cmd.StdoutPipe read with the same buffer.
func BenchmarkBareExecThroughput(b *testing.B) {
	const size = 256 << 20
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		c := exec.Command("head", "-c", "268435456", "/dev/zero")
		out, err := c.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		var n int64
		for {
			m, err := out.Read(buf)
			n += int64(m)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := c.Wait(); err != nil || n != size {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}
