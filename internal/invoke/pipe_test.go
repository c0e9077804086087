package invoke

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// rawThenRead reads r as a zero-copy reader does: through its RawConn until
// that fails, then with Read to EOF. It returns what was read and the error
// that ended the raw reads.
func rawThenRead(t *testing.T, r io.Reader) ([]byte, error) {
	t.Helper()
	sc, ok := r.(syscall.Conn)
	if !ok {
		t.Fatalf("Stdout is a %T, not a syscall.Conn", r)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	var rawErr error
	for range 100000 {
		var (
			n    int
			rerr error
		)
		rawErr = rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), buf)
			return rerr != syscall.EAGAIN
		})
		if rawErr == nil && rerr != nil {
			rawErr = rerr
		}
		if rawErr == nil && n == 0 {
			rawErr = io.EOF
		}
		if rawErr != nil {
			break
		}
		out = append(out, buf[:n]...)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Errorf("Read after the raw reads: %v", err)
	}
	return append(out, rest...), rawErr
}

func TestStdoutRawConn(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		opts    Options
		want    string
		wantRaw func(error) bool
	}{
		{
			name:    "to EOF",
			body:    `printf 'a%.0s' $(seq 1 5000); echo; echo end`,
			want:    "end",
			wantRaw: func(err error) bool { return err == io.EOF },
		},
		{
			// The escapee holds stdout past the handler's exit: the drain
			// deadline ends the raw reads and Read delivers what is left.
			name:    "drain deadline",
			body:    awaitFile + `; setsid sh -c 'echo $$; : >left; exec sleep 30' & await left; echo hi; exit 0`,
			opts:    Options{DrainTimeout: 200 * time.Millisecond},
			want:    "hi",
			wantRaw: func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, script(t, tt.body), tt.opts)
			out, rawErr := rawThenRead(t, p.Stdout())
			r := p.Wait()
			if !tt.wantRaw(rawErr) {
				t.Errorf("raw reads ended with %v", rawErr)
			}
			if !slices.Contains(lines(out), tt.want) {
				t.Errorf("stdout %q lacks %q", out, tt.want)
			}
			if tt.name == "drain deadline" {
				killLater(t, firstInt(t, out))
			} else if !bytes.HasPrefix(out, bytes.Repeat([]byte("a"), 5000)) || !r.Success() {
				t.Errorf("stdout %.40q..., result %+v", out, r)
			}
			// Once Read has reported the end, the raw path is closed.
			sc := p.Stdout().(syscall.Conn)
			rc, _ := sc.SyscallConn()
			if err := rc.Read(func(uintptr) bool { return true }); !errors.Is(err, errRawDone) {
				t.Errorf("raw Read after EOF = %v, want errRawDone", err)
			}
		})
	}
}
