package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/streamstrap/streamstrap/bench/internal/procstat"
	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// kind says how a contender is driven.
type kind int

const (
	viaRuntimeAPI kind = iota // a bootstrap: invocations come from the Runtime API
	viaLines                  // forkexec: one spawn per line on stdin
)

// contender is one program under test.
type contender struct {
	name   string
	kind   kind
	bin    string   // the executable; its size is reported unless sizeNote is set
	flags  []string // before the handler
	script bool     // bin is a script: its helpers (curl, ...) run as its children
	// divide shrinks this contender's invocation counts (at least 2 remain):
	// bash+curl takes hundreds of ms per invocation. 0 and 1 keep them.
	divide int
}

// count scales an invocation count for c.
func (c *contender) count(n int) int {
	if c.divide > 1 {
		return max(2, n/c.divide)
	}
	return n
}

// argv returns the command line that runs handler.
func (c *contender) argv(handler ...string) []string {
	return append(slices.Clone(c.flags), handler...)
}

// measures are one contender's samples over all rounds.
type measures struct {
	cpuInv, childInv     []float64       // bootstrap's own / its children's CPU ms per trivial invocation, one per round
	switchesInv          []float64       // context switches of the bootstrap's live threads per trivial invocation, one per round
	wallInv              []time.Duration // every trivial invocation
	first                []time.Duration // every first-byte invocation
	startWall, startCPU  []time.Duration // process start to first /next, one per process started
	streamCPU, streamKid []float64       // CPU ms per GB (10^9 bytes): own, children's
	streamMBps           []float64
	peakRSS              int64 // highest VmHWM while streaming
}

// harness runs the contenders.
type harness struct {
	contenders []*contender
	trueBin    string
	stampBin   string
	headBin    string
	taskRoot   string
}

// Contender names; the ratios are against refName.
const (
	refName      = "aws-lambda-go"
	bashName     = "bash+curl"
	copyName     = "floor: bare copy"
	copyHeadName = "floor: bare copy, head at first byte"
	rawName      = "floor: raw syscalls"
	copyCardName = "floor: bare copy + cobra, zap"
	rawCardName  = "floor: raw syscalls + cobra, zap"
	execName     = "floor: os/exec, 2 pipes"
	forkexecName = "floor: syscall.ForkExec"
	// The same binary with splice(2) forced on and off.
	spliceOnName  = "streamstrap --splice=on"
	spliceOffName = "streamstrap --splice=off"
)

func newHarness(b binaries, dir string, extra []string) (*harness, error) {
	h := &harness{stampBin: b.stamp, taskRoot: dir}
	var err error
	if h.trueBin, err = exec.LookPath("true"); err != nil {
		return nil, err
	}
	if h.headBin, err = exec.LookPath("head"); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("curl"); err != nil {
		return nil, fmt.Errorf("the %s contender needs curl: %w", bashName, err)
	}
	h.contenders = []*contender{
		{name: "streamstrap", bin: b.streamstrap, flags: []string{"--"}},
		{name: spliceOnName, bin: b.streamstrap, flags: []string{"--splice=on", "--max-response-bytes=0", "--"}},
		{name: spliceOffName, bin: b.streamstrap, flags: []string{"--splice=off", "--"}},
		{name: refName, bin: b.awslambdago},
		{name: bashName, bin: b.bashcurl, script: true, divide: 5},
		{name: copyName, bin: b.barecopy},
		{name: copyHeadName, bin: b.barecopy, flags: []string{"-head=first-byte"}},
		{name: copyCardName, bin: b.barecopyCard},
		{name: rawName, bin: b.rawloop},
		{name: rawCardName, bin: b.rawloopCard},
		{name: execName, kind: viaLines, bin: b.forkexec},
		{name: forkexecName, kind: viaLines, bin: b.forkexec, flags: []string{"-pipes=false"}},
	}
	for _, e := range extra {
		name, bin, _ := strings.Cut(e, "=")
		h.contenders = append(h.contenders, &contender{name: name, bin: bin, flags: []string{"--"}})
	}
	return h, nil
}

// report is the outcome of a run.
type report struct {
	cfg        config
	contenders []*contender
	full, slow map[string]*measures
	slowNote   string // why the 128 MB run was skipped, or what it used
	command    string
	machine    string
}

// run measures every contender, alternating, then the 128 MB run.
func (h *harness) run(ctx context.Context, cfg config) (*report, error) {
	if cfg.only != "" {
		var keep []*contender
		for name := range strings.SplitSeq(cfg.only, ",") {
			i := slices.IndexFunc(h.contenders, func(c *contender) bool { return c.name == name })
			if i < 0 {
				return nil, fmt.Errorf("no contender %q", name)
			}
			keep = append(keep, h.contenders[i])
		}
		h.contenders = keep
	}
	rep := &report{cfg: cfg, contenders: h.contenders, full: map[string]*measures{}, slow: map[string]*measures{}}
	for _, c := range h.contenders {
		rep.full[c.name], rep.slow[c.name] = &measures{}, &measures{}
	}
	for r := range cfg.rounds {
		for k := range h.contenders {
			c := h.contenders[(k+r)%len(h.contenders)]
			fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", r+1, cfg.rounds, c.name)
			if err := h.measure(ctx, c, cfg.trivial, cfg.firstBytes, cfg.starts, cfg.warmup, cfg.streamBytes, nil, rep.full[c.name]); err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	if cfg.slowRounds == 0 {
		rep.slowNote = "skipped: -slow-rounds=0"
		return rep, nil
	}
	cg, err := newCgroup(fmt.Sprintf("streamstrap-bench-%d", os.Getpid()))
	if err != nil {
		rep.slowNote = "skipped: " + err.Error()
		return rep, nil
	}
	defer cg.remove()
	rep.slowNote = "cgroup " + cg.String()
	for r := range cfg.slowRounds {
		for k := range h.contenders {
			c := h.contenders[(k+r)%len(h.contenders)]
			fmt.Fprintf(os.Stderr, "128 MB round %d/%d: %s\n", r+1, cfg.slowRounds, c.name)
			if err := h.measure(ctx, c, cfg.slowN, cfg.slowN, 0, cfg.warmup, cfg.slowStream, cg, rep.slow[c.name]); err != nil {
				return nil, fmt.Errorf("%s (128 MB run): %w", c.name, err)
			}
		}
	}
	return rep, nil
}

// measure runs one round of one contender: n trivial invocations, fb
// first-byte invocations and, if stream > 0, one stream of that size, each
// in a fresh process (moved into cg if not nil), then starts more processes
// that only reach their first /next, for more start-up samples (none in cg,
// where start-up is not measured).
func (h *harness) measure(ctx context.Context, c *contender, n, fb, starts, warmup int, stream int64, cg *cgroup, m *measures) error {
	n, fb = c.count(n), c.count(fb)
	if c.kind == viaLines {
		return h.spawnLoop(ctx, c, n, warmup, cg, m)
	}
	steps := []func() error{
		func() error { return h.trivial(ctx, c, n, warmup, cg, m) },
		func() error { return h.firstByte(ctx, c, fb, warmup, cg, m) },
	}
	if stream > 0 {
		steps = append(steps, func() error { return h.stream(ctx, c, stream, cg, m) })
	}
	if cg == nil {
		for range starts {
			steps = append(steps, func() error {
				return h.withSession(ctx, c, nil, m, true, func(*session) error { return nil }, h.trueBin)
			})
		}
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// session is one contender process against its own Runtime API.
type session struct {
	sc   *scope
	srv  *runtimeapitest.Server
	p    *bootstraptest.Process
	ctx  context.Context
	next int // /next calls expected so far
}

// open starts c with handler against a new server, waits for its first
// /next and records the start-up figures in m (when m is not nil).
func (h *harness) open(ctx context.Context, c *contender, cg *cgroup, m *measures, quiet bool, handler ...string) (s *session, err error) {
	s = &session{sc: &scope{}, ctx: ctx}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			s.close()
			s, err = nil, fmt.Errorf("%s", f.msg)
		}
	}()
	s.srv = runtimeapitest.New(s.sc, runtimeapitest.Options{})
	if quiet {
		s.srv.SetRecordData(false)
		s.srv.SetHashData(false)
	}
	start := time.Now()
	s.p = bootstraptest.Start(s.sc, c.bin, bootstraptest.Options{
		RuntimeAPI: s.srv.Addr(),
		Args:       c.argv(handler...),
		TaskRoot:   h.taskRoot,
	})
	if cg != nil {
		if err := cg.add(s.p.Pid()); err != nil {
			s.close()
			return nil, err
		}
	}
	if err := s.awaitNext(); err != nil {
		s.close()
		return nil, err
	}
	if m != nil && cg == nil {
		m.startWall = append(m.startWall, time.Since(start))
		u, err := procstat.ThreadsCPU(s.p.Pid())
		if err != nil {
			s.close()
			return nil, err
		}
		m.startCPU = append(m.startCPU, u)
	}
	return s, nil
}

// awaitNext waits for the contender's next GET /next: it is then idle and
// has reaped the previous handler.
func (s *session) awaitNext() error {
	s.next++
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	if err := s.srv.WaitNextCalls(ctx, s.next); err != nil {
		return fmt.Errorf("waiting for /next #%d: %w; stderr:\n%s", s.next, err, tail(s.p.Stderr()))
	}
	return nil
}

// invoke runs one invocation and checks it streamed size bytes (size < 0:
// any), then waits for the next /next.
func (s *session) invoke(size int64) (*runtimeapitest.Invocation, error) {
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute)
	defer cancel()
	inv, err := s.srv.Invoke(ctx, runtimeapitest.Event{Payload: []byte(`{}`)})
	if err != nil {
		return nil, fmt.Errorf("invoke: %w; stderr:\n%s", err, tail(s.p.Stderr()))
	}
	if inv.Outcome != "response" || inv.Status != http.StatusAccepted || inv.Truncated || inv.ErrorType() != "" ||
		(size >= 0 && inv.BodySize != size) {
		return nil, fmt.Errorf("invocation %s: outcome %q status %d truncated %v error %q, %d body bytes (want %d); stderr:\n%s",
			inv.RequestID, inv.Outcome, inv.Status, inv.Truncated, inv.ErrorType(), inv.BodySize, size, tail(s.p.Stderr()))
	}
	return inv, s.awaitNext()
}

// close stops the contender and the server; Runtime API violations are
// errors.
func (s *session) close() error {
	if s.p != nil {
		// SIGKILL to the contender and whatever it started (a script's
		// curl waiting in /next would hold its stderr open); how it shuts
		// down is not measured.
		bootstraptest.KillMarked(s.p.Marker)
	}
	if errs := s.sc.close(); len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// withSession runs run on a session of c with handler, and closes the
// session; the first error of the two is the result.
func (h *harness) withSession(ctx context.Context, c *contender, cg *cgroup, m *measures, quiet bool, run func(*session) error, handler ...string) (err error) {
	s, err := h.open(ctx, c, cg, m, quiet, handler...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.close(); err == nil {
			err = cerr
		}
	}()
	return run(s)
}

// trivial measures n invocations of `true`: the bootstrap's CPU per
// invocation from /proc/<pid>/stat (its own; the handler is a child) and the
// wall time of each.
func (h *harness) trivial(ctx context.Context, c *contender, n, warmup int, cg *cgroup, m *measures) (err error) {
	return h.withSession(ctx, c, cg, m, false, func(s *session) error {
		for range warmup { // page cache, connections
			if _, err := s.invoke(0); err != nil {
				return err
			}
		}
		before, err := readCPU(s.p.Pid())
		if err != nil {
			return err
		}
		switches, err := procstat.ThreadsSwitches(s.p.Pid())
		if err != nil {
			return err
		}
		for range n {
			inv, err := s.invoke(0)
			if err != nil {
				return err
			}
			m.wallInv = append(m.wallInv, inv.Done.Sub(inv.HandedOut))
		}
		if err := m.addSwitchesPerInvocation(s.p.Pid(), switches, n); err != nil {
			return err
		}
		return m.addCPUPerInvocation(s.p.Pid(), before, n)
	}, h.trueBin)
}

// firstByte measures fb invocations of the stamp handler: the arrival of
// the first body chunk at the Runtime API minus the time the handler wrote.
func (h *harness) firstByte(ctx context.Context, c *contender, fb, warmup int, cg *cgroup, m *measures) (err error) {
	return h.withSession(ctx, c, cg, m, false, func(s *session) error {
		for i := range warmup + fb {
			inv, err := s.invoke(-1)
			if err != nil {
				return err
			}
			ns, perr := strconv.ParseInt(strings.TrimSpace(string(inv.Body)), 10, 64)
			if perr != nil || len(inv.Chunks) == 0 {
				return fmt.Errorf("stamp handler output %q (%d chunks): %v", inv.Body, len(inv.Chunks), perr)
			}
			if i >= warmup {
				m.first = append(m.first, inv.Chunks[0].At.Sub(time.Unix(0, ns)))
			}
		}
		return nil
	}, h.stampBin)
}

// stream measures one invocation streaming size bytes of `head -c`: wall
// time, the bootstrap's CPU and its peak RSS.
func (h *harness) stream(ctx context.Context, c *contender, size int64, cg *cgroup, m *measures) (err error) {
	return h.withSession(ctx, c, cg, m, true, func(s *session) error {
		before, err := procstat.ReadCPU(s.p.Pid())
		if err != nil {
			return err
		}
		t := time.Now()
		if _, err := s.invoke(size); err != nil {
			return err
		}
		wall := time.Since(t)
		after, err := procstat.ReadCPU(s.p.Pid())
		if err != nil {
			return err
		}
		rss, err := procstat.PeakRSS(s.p.Pid())
		if err != nil {
			return err
		}
		d, gb := after.Sub(before), float64(size)/1e9
		m.streamCPU = append(m.streamCPU, ms(d.Self)/gb)
		m.streamKid = append(m.streamKid, ms(d.Children)/gb)
		m.streamMBps = append(m.streamMBps, float64(size)/1e6/wall.Seconds())
		m.peakRSS = max(m.peakRSS, rss)
		return nil
	}, h.headBin, "-c", strconv.FormatInt(size, 10), "/dev/zero")
}

// spawnLoop drives a viaLines contender: n spawns of `true`, its own CPU
// and its children's, and the wall time of each.
func (h *harness) spawnLoop(ctx context.Context, c *contender, n, warmup int, cg *cgroup, m *measures) error {
	cmd := exec.CommandContext(ctx, c.bin, c.argv(h.trueBin)...)
	cmd.Stderr = os.Stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Wait()
	defer w.Close()
	if cg != nil {
		if err := cg.add(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			return err
		}
	}
	br := bufio.NewReader(r)
	one := func() error {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
		_, err := br.ReadString('\n')
		return err
	}
	for range warmup {
		if err := one(); err != nil {
			return fmt.Errorf("spawn: %w", err)
		}
	}
	before, err := readCPU(cmd.Process.Pid)
	if err != nil {
		return err
	}
	switches, err := procstat.ThreadsSwitches(cmd.Process.Pid)
	if err != nil {
		return err
	}
	for range n {
		t := time.Now()
		if err := one(); err != nil {
			return fmt.Errorf("spawn: %w", err)
		}
		m.wallInv = append(m.wallInv, time.Since(t))
	}
	if err := m.addSwitchesPerInvocation(cmd.Process.Pid, switches, n); err != nil {
		return err
	}
	return m.addCPUPerInvocation(cmd.Process.Pid, before, n)
}

// cpuSample is a process's CPU time at one moment, both ways procstat
// reads it: the ticks of /proc/<pid>/stat, which count exited threads and
// waited-for children, and the ns of each live thread's schedstat.
type cpuSample struct {
	ticks   procstat.CPU
	threads map[int]time.Duration
}

// readCPU takes a cpuSample of pid.
func readCPU(pid int) (cpuSample, error) {
	t, err := procstat.ReadCPU(pid)
	if err != nil {
		return cpuSample{}, err
	}
	per, err := procstat.PerThreadCPU(pid)
	return cpuSample{t, per}, err
}

// addCPUPerInvocation records the CPU pid and its children used since before
// over n invocations. The process's own time is its threads' schedstat, in
// ns: a 10 ms tick over the few dozen invocations of a "128 MB" batch is a
// step of a third of a millisecond. If a thread exited in between, its time
// is lost to schedstat, and the ticks are taken.
func (m *measures) addCPUPerInvocation(pid int, before cpuSample, n int) error {
	after, err := readCPU(pid)
	if err != nil {
		return err
	}
	d := after.ticks.Sub(before.ticks)
	self, exited := time.Duration(0), false
	for tid, t := range after.threads {
		self += t - before.threads[tid] // a thread born in between: all of it
	}
	for tid := range before.threads {
		if _, ok := after.threads[tid]; !ok {
			exited = true
		}
	}
	if exited {
		self = d.Self
	}
	m.cpuInv = append(m.cpuInv, ms(self)/float64(n))
	m.childInv = append(m.childInv, ms(d.Children)/float64(n))
	return nil
}

// addSwitchesPerInvocation records the context switches of pid's live
// threads since before (their sum then) over n invocations.
func (m *measures) addSwitchesPerInvocation(pid int, before int64, n int) error {
	after, err := procstat.ThreadsSwitches(pid)
	if err != nil {
		return err
	}
	m.switchesInv = append(m.switchesInv, float64(after-before)/float64(n))
	return nil
}

// tail returns the end of a long log.
func tail(s string) string {
	const max = 2000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
