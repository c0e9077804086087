package main

// The soak test: thousands of mixed invocations through one bootstrap,
// watching it from outside for growth. `make test` runs 1,000 of them,
// `make soak` 10,000 (STREAMSTRAP_SOAK sets the count).

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// Growth the soak test tolerates between the sample taken after the first
// tenth of the run (once the runtime, the allocator and the caches are warm)
// and the last one. Descriptors and handler processes must come back to
// where they were exactly. Goroutines may differ by the two that come and
// go between invocations (the keep-alive connection's reader, a timer's
// callback); memory and threads move with the Go runtime's own choices (a
// scavenger pass, a thread parked for a syscall), by much less than one
// leaked big response (1 MiB each here) per hundred invocations would cost.
const (
	soakRSSGrowth        = 8 << 20
	soakThreadsGrowth    = 4
	soakGoroutinesGrowth = 2
)

// soakSample is the bootstrap seen from outside after n invocations.
type soakSample struct {
	n          int
	rss        int64
	fds        int
	threads    int
	goroutines int
	left       int // live handler processes
}

func (s soakSample) String() string {
	return fmt.Sprintf("%6d invocations: RSS %5.1f MiB, %2d fds, %2d threads, %2d goroutines, %d processes left",
		s.n, float64(s.rss)/(1<<20), s.fds, s.threads, s.goroutines, s.left)
}

// soakKinds is the mix, by invocation number modulo its length.
var soakKinds = []string{
	"hello", "echo", "hello", "echo", "hello", "echo", "hello", "echo", "hello", "echo",
	"exit-after", "exit-before", "big", "orphan", "kill-self",
	"hello", "echo", "exit-after", "exit-before", "hello",
}

func TestSoak(t *testing.T) {
	n := 1000
	if v := os.Getenv("STREAMSTRAP_SOAK"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("STREAMSTRAP_SOAK=%q: want a count of at least 10", v)
		}
	} else if testing.Short() {
		t.Skip("1,000 invocations; skipped with -short")
	}
	srv, p := start(t, runtimeapitest.Options{}, nil, "--log-level", "debug", "--", "./behave.sh")
	srv.SetRecordData(false)
	every := min(1000, n/10)
	var samples []soakSample
	for i := 1; i <= n; i++ {
		kind := soakKinds[i%len(soakKinds)]
		ev := runtimeapitest.Event{Payload: []byte(kind + "\nsoak")}
		if i%100 == 50 {
			// Output began, so the timeout ends the stream with trailers:
			// 1.25s before the default margin stops it, ample to write
			// "started" on a loaded machine (150ms may not be).
			kind, ev = "timeout", runtimeapitest.Event{Payload: []byte("sleep"), Timeout: 1500 * time.Millisecond}
		}
		inv, err := srv.Invoke(ctx(t, 60*time.Second), ev)
		if err != nil {
			t.Fatalf("invocation %d (%s): %v", i, kind, err)
		}
		if err := soakCheck(kind, inv); err != nil {
			t.Fatalf("invocation %d (%s): %v", i, kind, err)
		}
		if i%every == 0 {
			s, err := sample(p, i)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(s)
			samples = append(samples, s)
		}
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Fatalf("violations: %q", v)
	}
	first, last := samples[0], samples[len(samples)-1]
	if last.fds > first.fds || last.goroutines > first.goroutines+soakGoroutinesGrowth || last.left > 0 ||
		last.rss > first.rss+soakRSSGrowth || last.threads > first.threads+soakThreadsGrowth {
		t.Errorf("growth beyond the tolerance (RSS +%d MiB, threads +%d, goroutines +%d, nothing else):\n%v\n%v",
			soakRSSGrowth>>20, soakThreadsGrowth, soakGoroutinesGrowth, first, last)
	}
}

// soakCheck checks the outcome of one invocation of the given kind.
func soakCheck(kind string, inv *runtimeapitest.Invocation) error {
	want := map[string][2]string{ // outcome, error type
		"hello":       {"response", ""},
		"echo":        {"response", ""},
		"big":         {"response", ""},
		"orphan":      {"response", ""},
		"exit-after":  {"response", "Runtime.ExitError"},
		"kill-self":   {"response", "Runtime.ExitError"},
		"exit-before": {"error", "Runtime.ExitError"},
		"timeout":     {"response", "Runtime.HandlerTimeout"},
	}[kind]
	if inv.Outcome != want[0] || inv.ErrorType() != want[1] || inv.Truncated || inv.Status != 202 {
		return fmt.Errorf("outcome %q error %q truncated %v status %d, want %q %q",
			inv.Outcome, inv.ErrorType(), inv.Truncated, inv.Status, want[0], want[1])
	}
	if kind == "big" && inv.BodySize != 1<<20 {
		return fmt.Errorf("%d bytes, want %d", inv.BodySize, 1<<20)
	}
	return nil
}

// sample measures the bootstrap. The goroutine count comes from its last
// "runtime stats" debug line, logged after each invocation.
func sample(p *bootstraptest.Process, n int) (soakSample, error) {
	s := soakSample{n: n}
	// The line for invocation n follows the Runtime API's 202: wait for it.
	var stats string
	bootstraptest.WaitFor(30*time.Second, func() bool {
		out := p.Stderr()
		stats = out[strings.LastIndex(out, "runtime stats")+1:]
		return strings.Count(out, "runtime stats") >= n
	})
	if i := strings.IndexByte(stats, '{'); i >= 0 {
		var f struct {
			Goroutines int `json:"goroutines"`
		}
		line, _, _ := strings.Cut(stats[i:], "\n")
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			return s, fmt.Errorf("runtime stats %q: %w", line, err)
		}
		s.goroutines = f.Goroutines
	}
	var err error
	if s.rss, err = p.RSS(); err != nil {
		return s, err
	}
	fds, err := p.OpenFDs()
	if err != nil {
		return s, err
	}
	for _, c := range fds {
		s.fds += c
	}
	if s.threads, err = p.Threads(); err != nil {
		return s, err
	}
	s.left = len(p.Marked())
	return s, nil
}
