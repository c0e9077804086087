package invoke

import (
	"io"
	"os/exec"
	"testing"
)

// BenchmarkStartWait measures the fixed cost of one handler run: pipes,
// fork/exec, the helper goroutines, reaping and cleanup.
func BenchmarkStartWait(b *testing.B) {
	cmd := Command{Path: "/bin/true", Dir: b.TempDir()}
	b.ReportAllocs()
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
}

// BenchmarkBareExec is the same-run baseline for BenchmarkStartWait: what
// os/exec alone costs for the same program.
func BenchmarkBareExec(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c := exec.Command("/bin/true")
		c.Env = testEnv()
		if err := c.Run(); err != nil {
			b.Fatal(err)
		}
	}
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
