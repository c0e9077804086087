// Command abcpu compares the per-invocation CPU of two bootstrap binaries,
// alternating them over rounds on a shared machine: each runs N trivial
// invocations (handler `true`) against its own internal/runtimeapitest
// server, and the figure is the bootstrap process's user+system time
// (/proc/<pid>/stat, all threads; the handler is a child and not counted)
// over the batch, divided by N. It prints each round and the medians.
// With -starts K it measures start-up instead: K starts per binary and
// round, each one's wall time and CPU from just before the process starts
// to its first GET /next, as benchrun's "to first /next" does.
//
//	go run ./cmd/abcpu -n 2000 -rounds 5 OLD NEW
//	go run ./cmd/abcpu -starts 20 -rounds 5 OLD NEW
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/bench/internal/procstat"
	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// config is what main's flags say of each measurement.
type config struct {
	handler string   // -handler
	n       int      // -n
	env     []string // -env, added to each bootstrap's environment
	stderr  bool     // -stderr: print each bootstrap's stderr after its batch
	starts  int      // -starts: measure start-up, this many starts per round
}

func main() {
	var cfg config
	flag.IntVar(&cfg.n, "n", 2000, "trivial invocations per binary and round")
	rounds := flag.Int("rounds", 5, "rounds; the binaries alternate within each")
	flag.StringVar(&cfg.handler, "handler", "true", "the handler each invocation runs")
	flag.Func("env", "`NAME=VALUE` added to each bootstrap's environment (repeatable), e.g. GODEBUG=gctrace=1", func(kv string) error {
		if !strings.Contains(kv, "=") {
			return fmt.Errorf("%q is not NAME=VALUE", kv)
		}
		cfg.env = append(cfg.env, kv)
		return nil
	})
	flag.BoolVar(&cfg.stderr, "stderr", false, "print each bootstrap's stderr after its batch")
	flag.IntVar(&cfg.starts, "starts", 0, "measure start-up instead: this many starts per binary and round, wall and CPU to the first /next")
	flag.Parse()
	bins := flag.Args()
	if len(bins) == 0 {
		fmt.Fprintln(os.Stderr, "usage: abcpu [-n N] [-rounds R] BOOTSTRAP...")
		os.Exit(2)
	}
	if cfg.starts > 0 {
		compareStarts(bins, *rounds, cfg)
		return
	}
	per := make([][]time.Duration, len(bins))
	for r := 0; r < *rounds; r++ {
		for i, bin := range bins {
			// Alternate the order, so neither always runs first.
			if r%2 == 1 {
				i = len(bins) - 1 - i
				bin = bins[i]
			}
			d, err := measure(bin, cfg)
			if err != nil {
				fmt.Fprintln(os.Stderr, "abcpu:", bin+":", err)
				os.Exit(1)
			}
			per[i] = append(per[i], d)
			fmt.Printf("round %d  %-40s %8.1f µs/invocation\n", r+1, bin, float64(d)/float64(time.Microsecond))
		}
	}
	for i, bin := range bins {
		slices.Sort(per[i])
		fmt.Printf("median   %-40s %8.1f µs/invocation (%d rounds of %d)\n", bin,
			float64(per[i][len(per[i])/2])/float64(time.Microsecond), *rounds, cfg.n)
	}
}

// measure runs cfg.n invocations of cfg.handler through bin and returns its
// CPU per invocation, after a warm-up of 20.
func measure(bin string, cfg config) (d time.Duration, err error) {
	n := cfg.n
	sc := &scope{}
	defer sc.end(&err)
	srv := runtimeapitest.New(sc, runtimeapitest.Options{})
	p := startOn(sc, srv, bin, cfg)
	if cfg.stderr {
		defer func() { fmt.Printf("--- stderr of %s\n%s", bin, p.Stderr()) }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	next := 1
	run := func() error {
		inv, err := srv.Invoke(ctx, runtimeapitest.Event{Payload: []byte(`{}`)})
		if err != nil {
			return err
		}
		if inv.Outcome != "response" || inv.Status != http.StatusAccepted {
			return fmt.Errorf("outcome %q status %d; stderr:\n%s", inv.Outcome, inv.Status, p.Stderr())
		}
		next++
		return srv.WaitNextCalls(ctx, next)
	}
	if err := srv.WaitNextCalls(ctx, 1); err != nil {
		return 0, err
	}
	for i := 0; i < 20; i++ {
		if err := run(); err != nil {
			return 0, err
		}
	}
	before, err := takeSample(p.Pid())
	if err != nil {
		return 0, err
	}
	if out := os.Getenv("ABCPU_PERF"); out != "" {
		// perf record of the bootstrap (not its handlers) over the batch.
		// ABCPU_PERF_EVENT records another event, every one of them (for a
		// tracepoint such as raw_syscalls:sys_enter: what was called, and
		// from where, per invocation).
		sample := []string{"-e", "cpu-clock", "-F", "4000"}
		if ev := os.Getenv("ABCPU_PERF_EVENT"); ev != "" {
			sample = []string{"-e", ev, "-c", "1"}
		}
		rec := exec.Command("perf", append(append([]string{"record", "-q"}, sample...), "-g", "--no-inherit",
			"-p", strconv.Itoa(p.Pid()), "-o", out)...)
		rec.Stderr = os.Stderr
		if err := rec.Start(); err != nil {
			return 0, err
		}
		time.Sleep(300 * time.Millisecond) // perf attaches
		defer func() { _ = rec.Process.Signal(os.Interrupt); _ = rec.Wait() }()
	}
	for i := 0; i < n; i++ {
		if err := run(); err != nil {
			return 0, err
		}
	}
	after, err := takeSample(p.Pid())
	if err != nil {
		return 0, err
	}
	// On a paravirtualised machine a context switch costs tens of µs, so
	// how often the bootstrap sleeps and wakes is much of its CPU.
	fmt.Printf("         %-40s %8.1f context switches/invocation, %6.1f µs on CPU/invocation (live threads' schedstat)\n", bin,
		float64(after.switches-before.switches)/float64(n),
		float64(after.onCPU-before.onCPU)/float64(n)/float64(time.Microsecond))
	bootstraptest.KillMarked(p.Marker)
	return after.ticks.Sub(before.ticks).Self / time.Duration(n), nil
}

// compareStarts prints, per round and binary, the median wall time and CPU
// from process start to the first /next over cfg.starts starts, then the
// medians of those over the rounds.
func compareStarts(bins []string, rounds int, cfg config) {
	wall := make([][]time.Duration, len(bins))
	cpu := make([][]time.Duration, len(bins))
	for r := 0; r < rounds; r++ {
		for i := range bins {
			if r%2 == 1 {
				i = len(bins) - 1 - i
			}
			var ws, cs []time.Duration
			for k := 0; k < cfg.starts; k++ {
				w, c, err := measureStart(bins[i], cfg)
				if err != nil {
					fmt.Fprintln(os.Stderr, "abcpu:", bins[i]+":", err)
					os.Exit(1)
				}
				ws, cs = append(ws, w), append(cs, c)
			}
			w, c := median(ws), median(cs)
			wall[i], cpu[i] = append(wall[i], w), append(cpu[i], c)
			fmt.Printf("round %d  %-40s %8.2f ms wall %8.2f ms CPU to the first /next\n", r+1, bins[i], ms(w), ms(c))
		}
	}
	for i, bin := range bins {
		fmt.Printf("median   %-40s %8.2f ms wall %8.2f ms CPU (%d rounds of %d starts)\n", bin, ms(median(wall[i])), ms(median(cpu[i])), rounds, cfg.starts)
	}
}

// measureStart starts bin once and returns the wall time and its CPU (its
// live threads' schedstat) from just before the start to its first /next.
func measureStart(bin string, cfg config) (wall, cpu time.Duration, err error) {
	sc := &scope{}
	defer sc.end(&err)
	srv := runtimeapitest.New(sc, runtimeapitest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	p := startOn(sc, srv, bin, cfg)
	if err := srv.WaitNextCalls(ctx, 1); err != nil {
		return 0, 0, err
	}
	wall = time.Since(start)
	cpu, err = procstat.ThreadsCPU(p.Pid())
	bootstraptest.KillMarked(p.Marker)
	return wall, cpu, err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startOn starts bin against srv as cfg says, its handler after handlerArgs.
func startOn(sc *scope, srv *runtimeapitest.Server, bin string, cfg config) *bootstraptest.Process {
	return bootstraptest.Start(sc, bin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: handlerArgs(bin, cfg.handler), Env: cfg.env})
}

// sample is what measure reads of the bootstrap before and after a batch.
type sample struct {
	ticks    procstat.CPU  // /proc/<pid>/stat
	switches int64         // context switches of its live threads
	onCPU    time.Duration // schedstat of its live threads
}

// takeSample reads a sample of pid.
func takeSample(pid int) (sample, error) {
	var s sample
	var err error
	if s.ticks, err = procstat.ReadCPU(pid); err != nil {
		return s, err
	}
	if s.switches, err = procstat.ThreadsSwitches(pid); err != nil {
		return s, err
	}
	s.onCPU, err = procstat.ThreadsCPU(pid)
	return s, err
}

// handlerArgs is the command line that runs `true` under bin: the
// contenders of ../../contenders that take the handler as their arguments
// (awslambdago, barecopy, rawloop; by base name) get just that, a
// bootstrap gets it after "--".
func handlerArgs(bin, handler string) []string {
	switch b := filepath.Base(bin); {
	case strings.HasSuffix(b, "awslambdago"), b == "barecopy", b == "rawloop":
		return []string{handler}
	}
	return []string{"--", handler}
}

// scope is the testing.TB runtimeapitest and bootstraptest need, outside a
// test: cleanups run at close, a fatal error panics.
type scope struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (s *scope) Helper() {}
func (s *scope) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}
func (s *scope) Errorf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (s *scope) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (s *scope) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (s *scope) Failed() bool                      { return false }
func (s *scope) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (s *scope) Name() string                      { return "abcpu" }
func (s *scope) TempDir() string {
	d, err := os.MkdirTemp("", "abcpu-")
	if err != nil {
		panic(err)
	}
	s.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// end, deferred, turns a fatal error's panic into *err, then closes s.
func (s *scope) end(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%v", r)
	}
	s.close()
}

func (s *scope) close() {
	s.mu.Lock()
	cs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}
