package invoke

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// spawn spawns cmd with the test environment unless opts has one.
func spawn(t testing.TB, cmd Command, opts Options) *Process {
	t.Helper()
	if opts.Env == nil {
		opts.Env = testEnv()
	}
	p, err := Spawn(cmd, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSpawnFeed(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 200<<10) // more than a pipe holds
	tests := []struct {
		name        string
		body        string
		extra, in   []byte
		want        string
		noExtraPipe bool
	}{
		{"extra then stdin", `echo early; cat <&3; cat`, []byte("ctx\n"), []byte("event"), "early\nctx\nevent", false},
		{"stdin only read", `echo early; cat`, []byte("ctx\n"), []byte("event"), "early\nevent", false},
		{"empty input", `cat <&3; cat; echo end`, nil, nil, "end\n", false},
		{"large extra read first", `wc -c <&3; wc -c`, big, []byte("abc"), "204800\n3\n", false},
		{"large stdin", `wc -c <&3; wc -c`, []byte("12345"), big, "5\n204800\n", false},
		{"no extra pipe", `cat <&3 2>/dev/null || echo no fd 3; cat`, []byte("ctx"), []byte("event"), "no fd 3\nevent", true},
	}
	for _, tt := range tests {
		// Each case both ways: Spawn then Feed, and SpawnFed, which
		// writes what fits before the fork and the rest as Feed does.
		for _, fedAtSpawn := range []bool{false, true} {
			name := tt.name
			if fedAtSpawn {
				name += "/SpawnFed"
			}
			t.Run(name, func(t *testing.T) {
				opts := Options{ExtraPipe: !tt.noExtraPipe, Env: testEnv()}
				in := Input{Extra: tt.extra, Stdin: tt.in}
				var p *Process
				if fedAtSpawn {
					var err error
					if p, err = SpawnFed(script(t, tt.body), opts, in); err != nil {
						t.Fatal(err)
					}
				} else {
					p = spawn(t, script(t, tt.body), opts)
					if err := p.Feed(in); err != nil {
						t.Fatal(err)
					}
				}
				out, err := io.ReadAll(p.Stdout())
				r := p.Wait()
				if err != nil || string(out) != tt.want || !r.Success() {
					t.Fatalf("stdout %q (%v), result %+v; want %q", out, err, r, tt.want)
				}
			})
		}
	}
}

func TestSpawnFedIsFed(t *testing.T) {
	// The input is there before the handler runs, the deadline is armed,
	// and a later Feed is refused without reaching the handler.
	p, err := SpawnFed(script(t, "cat; sleep 5"), Options{Env: testEnv()},
		Input{Stdin: []byte("a"), Deadline: time.Now().Add(300 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Feed(Input{Stdin: []byte("b")}); !errors.Is(err, ErrFed) {
		t.Fatalf("Feed after SpawnFed: %v, want ErrFed", err)
	}
	out, _ := io.ReadAll(p.Stdout())
	r := p.Wait()
	if string(out) != "a" || !r.TimedOut {
		t.Fatalf("stdout %q, result %+v; want %q and a timeout", out, r, "a")
	}
}

func TestSpawnWaitsForFeed(t *testing.T) {
	// The handler runs before its input exists: what it writes early is
	// readable, and it gets its input only at Feed.
	p := spawn(t, script(t, `echo ready; read line; echo "got $line"`), Options{})
	buf := make([]byte, 64)
	n, err := p.Stdout().Read(buf)
	if err != nil || string(buf[:n]) != "ready\n" {
		t.Fatalf("before Feed: %q, %v", buf[:n], err)
	}
	if processGone(p.Pid()) {
		t.Fatal("the handler did not wait for its input")
	}
	if err := p.Feed(Input{Stdin: []byte("event\n")}); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(p.Stdout())
	r := p.Wait()
	if string(out) != "got event\n" || !r.Success() || r.Fed.Before(r.Started) {
		t.Fatalf("stdout %q, result %+v", out, r)
	}
}

func TestFeedMisuse(t *testing.T) {
	p := spawn(t, script(t, "cat"), Options{})
	if err := p.Feed(Input{Stdin: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if err := p.Feed(Input{Stdin: []byte("b")}); !errors.Is(err, ErrFed) {
		t.Fatalf("second Feed: %v, want ErrFed", err)
	}
	out, _ := io.ReadAll(p.Stdout())
	p.Wait()
	if string(out) != "a" {
		t.Fatalf("stdout %q: the second Feed reached the handler", out)
	}
	if err := p.Feed(Input{}); !errors.Is(err, ErrWaited) && !errors.Is(err, ErrFed) {
		t.Fatalf("Feed after Wait: %v", err)
	}

	q := spawn(t, script(t, "cat"), Options{})
	q.Wait()
	if err := q.Feed(Input{Stdin: []byte("late")}); !errors.Is(err, ErrWaited) {
		t.Fatalf("Feed after Wait of an unfed process: %v, want ErrWaited", err)
	}
}

func TestWaitUnfed(t *testing.T) {
	// A spare nobody feeds is ended by Wait: it reads EOF on stdin and on
	// the extra pipe, and exits.
	p := spawn(t, script(t, `cat <&3; cat; echo eof`), Options{ExtraPipe: true})
	r := p.Wait()
	if !r.Success() || !r.Fed.IsZero() {
		t.Fatalf("result %+v", r)
	}
}

func TestStopUnfed(t *testing.T) {
	p := spawn(t, script(t, `read x; echo never`), Options{ExtraPipe: true})
	time.Sleep(50 * time.Millisecond) // let the trap be set
	p.Stop(errors.New("shutting down"))
	r := p.Wait()
	if r.Stopped == nil || r.Success() {
		t.Fatalf("result %+v", r)
	}
	waitGone(t, p.Pid())
}

func TestFeedAfterExit(t *testing.T) {
	// A spare that died before its event: Feed is fine, the Result says
	// how the handler ended.
	p := spawn(t, script(t, `echo crash >&2; exit 3`), Options{ExtraPipe: true})
	waitGone(t, p.Pid())
	if err := p.Feed(Input{Extra: []byte("ctx"), Stdin: []byte("event"), Deadline: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(p.Stdout())
	r := p.Wait()
	if len(out) != 0 || r.ExitCode != 3 || r.TimedOut || len(r.StderrTail) != 1 || r.StderrTail[0] != "crash" {
		t.Fatalf("stdout %q, result %+v", out, r)
	}
}

func TestDeadlineStartsAtFeed(t *testing.T) {
	p := spawn(t, script(t, `read x; exec sleep 30`), Options{})
	time.Sleep(300 * time.Millisecond) // the spare waits; no deadline runs
	if err := p.Feed(Input{Stdin: []byte("go\n"), Deadline: time.Now().Add(100 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	r := p.Wait()
	if !r.TimedOut || r.timeout > 100*time.Millisecond || r.Duration >= time.Since(r.Started)-250*time.Millisecond {
		t.Fatalf("result %+v (timeout %v): the deadline or the duration counted the wait before Feed", r, r.timeout)
	}
}

func TestMarkerUniquePerProcess(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		out, r := run(t, `echo "$`+MarkerVar+`"`, Options{Env: append(testEnv(), MarkerVar+"=from-the-caller")})
		m := strings.TrimSpace(string(out))
		if !r.Success() || len(m) != 32 || seen[m] {
			t.Fatalf("marker %q (seen before: %v), result %+v", m, seen[m], r)
		}
		seen[m] = true
	}
}

func TestMarkerKillsAnEscapeeHoldingOutput(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	r, pid := runEscapee(t, Options{}, false)
	if r.Escaped != 1 || !r.Success() {
		t.Errorf("result %+v, want one escapee killed and success", r)
	}
	waitGone(t, pid)
}

func TestMarkerSparesOtherRuns(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	// Two runs with the very same environment (as two invocations with one
	// request id would have): the cleanup of one leaves the other alone.
	env := append(testEnv(), "AWS_LAMBDA_REQUEST_ID=same")
	other := start(t, script(t, `exec sleep 30`), Options{Env: env})
	defer other.Wait()
	defer other.Stop(errors.New("test over"))
	r, pid := runEscapee(t, Options{Env: env}, false)
	waitGone(t, pid)
	if r.Escaped != 1 {
		t.Fatalf("result %+v, want one escapee killed", r)
	}
	if processGone(other.Pid()) {
		t.Fatal("the cleanup of one run killed the other run's handler")
	}
}

func TestPeakRSS(t *testing.T) {
	// 400 MB, well above what the test binary holds, which ru_maxrss
	// counts too (see Result.PeakRSS).
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	_, r := run(t, `exec python3 -c "b = b'a' * 400_000_000"`, Options{Env: append(testEnv(), "HOME=/root")})
	if !r.Success() || r.PeakRSS < 400_000_000 || r.PeakRSS > 2<<30 {
		t.Fatalf("PeakRSS %d, result %+v", r.PeakRSS, r)
	}
}

func TestSpawnNoFDLeaks(t *testing.T) {
	run(t, "cat", Options{Stdin: []byte("x")})
	before := countFDs(t)
	for i := range 20 {
		var p *Process
		switch i % 5 {
		case 3, 4: // fed before the fork, all of it or not
			extra := []byte("c")
			if i%5 == 4 {
				extra = bytes.Repeat(extra, 100<<10)
			}
			var err error
			if p, err = SpawnFed(script(t, `cat <&3; cat`), Options{ExtraPipe: true, Env: testEnv()}, Input{Extra: extra, Stdin: []byte("e")}); err != nil {
				t.Fatal(err)
			}
		default:
			p = spawn(t, script(t, `cat <&3; cat`), Options{ExtraPipe: true})
		}
		switch i % 5 {
		case 0:
			_ = p.Feed(Input{Extra: []byte("c"), Stdin: []byte("e")})
		case 1:
			_ = p.Feed(Input{Extra: bytes.Repeat([]byte("c"), 100<<10), Stdin: []byte("e")})
		}
		if i%5 != 2 { // a spare never fed is ended by Wait alone
			_, _ = io.Copy(io.Discard, p.Stdout())
		}
		p.Wait()
	}
	if after := countFDs(t); after != before {
		t.Fatalf("descriptors: %d before, %d after 20 spawned runs", before, after)
	}
}

func TestExitWaitUsesAPidfd(t *testing.T) {
	// On Linux the waiter parks on the poller rather than a thread.
	p := spawn(t, script(t, "exit 5"), Options{})
	hasPidfd := p.pidfd != nil
	r := p.Wait()
	if r.ExitCode != 5 {
		t.Fatalf("result %+v", r)
	}
	if runtime.GOOS == "linux" && !hasPidfd {
		t.Error("no pidfd: the waiter fell back to a thread blocked in waitid (a kernel before 5.3?)")
	}
}

// TestExitSeenWhateverStdoutDoes: a handler that closes stdout and runs on,
// one that exits while a child of its group keeps stdout open, and ones that
// end at once are all waited for correctly, and no descriptor is left behind.
func TestExitSeenWhateverStdoutDoes(t *testing.T) {
	before := countFDs(t)
	t.Run("stdout closed early", func(t *testing.T) {
		p := start(t, script(t, `echo out; exec >&-; sleep 0.3; exit 4`), Options{})
		out, _ := io.ReadAll(p.Stdout())
		r := p.Wait()
		if string(out) != "out\n" || r.ExitCode != 4 || r.Duration < 300*time.Millisecond {
			t.Fatalf("output %q, result %+v", out, r)
		}
	})
	t.Run("stdout held by a child", func(t *testing.T) {
		p := start(t, script(t, `sleep 30 & echo out; exit 3`), Options{})
		out, _ := io.ReadAll(p.Stdout())
		r := p.Wait()
		if string(out) != "out\n" || r.ExitCode != 3 {
			t.Fatalf("output %q, result %+v", out, r)
		}
	})
	t.Run("ends at once", func(t *testing.T) {
		for range 20 {
			p := start(t, script(t, `exit 2`), Options{})
			_, _ = io.ReadAll(p.Stdout())
			if r := p.Wait(); r.ExitCode != 2 {
				t.Fatalf("result %+v", r)
			}
		}
	})
	if after := countFDs(t); after != before {
		t.Errorf("descriptors: %d before, %d after", before, after)
	}
}
