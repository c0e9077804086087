package invoke

import (
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestStdoutPipeGrowsOnlyOnceFull: a handler that writes little keeps the
// default pipe (no fcntl per invocation); one that fills it gets the larger
// pipe at the read that finds it full, and its output is whole.
func TestStdoutPipeGrowsOnlyOnceFull(t *testing.T) {
	capacity := func(p *Process) int {
		n := 0
		rc, err := p.stdout.f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		_ = rc.Control(func(fd uintptr) { n = pipeCapacity(fd) })
		return n
	}
	t.Run("small output", func(t *testing.T) {
		p := start(t, script(t, `echo hi`), Options{Env: testEnv()})
		out, err := io.ReadAll(p.Stdout())
		if err != nil || string(out) != "hi\n" {
			t.Fatalf("%q, %v", out, err)
		}
		if got := capacity(p); got != defaultPipeCapacity {
			t.Errorf("pipe capacity %d, want the default %d", got, defaultPipeCapacity)
		}
		p.Wait()
	})
	t.Run("a full pipe", func(t *testing.T) {
		const size = 3 << 20
		p := start(t, script(t, `head -c `+strconv.Itoa(size)+` /dev/zero`), Options{Env: testEnv()})
		// Wait until the handler has filled the pipe and blocks on it
		// (FIONREAD: the bytes it holds), for as long as that takes.
		rc, err := p.stdout.f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		for held := int32(0); held < defaultPipeCapacity; time.Sleep(5 * time.Millisecond) {
			_ = rc.Control(func(fd uintptr) {
				_, _, _ = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&held)))
			})
		}
		buf := make([]byte, 256<<10)
		n, err := p.Stdout().Read(buf)
		if err != nil || n != defaultPipeCapacity {
			t.Fatalf("first read %d, %v; want the full default pipe, %d", n, err, defaultPipeCapacity)
		}
		rest, err := io.ReadAll(p.Stdout())
		if err != nil || n+len(rest) != size {
			t.Fatalf("read %d bytes, %v; want %d", n+len(rest), err, size)
		}
		// Root, or a user within /proc/sys/fs/pipe-max-size, gets it.
		if got := capacity(p); got != stdoutPipeSize && os.Geteuid() == 0 {
			t.Errorf("pipe capacity %d after a full read, want %d", got, stdoutPipeSize)
		}
		p.Wait()
	})
}
