// Package rietest runs the real bootstrap binary under the AWS Lambda Runtime
// Interface Emulator (RIE), the second Runtime API peer of the house rule
// (the first is our strict fake, internal/runtimeapitest). The RIE is an
// external binary, installed by install-rie.sh and named by STREAMSTRAP_RIE;
// without it the tests skip, except under CI, where they fail.
//
// What the RIE can check is limited (see
// https://github.com/aws/aws-lambda-runtime-interface-emulator): its invoke
// endpoint buffers the whole response, so nothing here is about incremental
// delivery or timing. It does check the protocol: the streaming mode header
// and chunked upload (202), /error, /init/error, and, in managed-instances
// mode only, the error trailers, which classic mode ignores.
//
// Each test starts its own emulator on free loopback ports, invokes it one
// request at a time (a concurrent invoke crashes classic mode), stops it by
// PID and checks that no bootstrap or handler process is left behind.
//
// How the bootstrap gets its handler:
//   - classic mode: `aws-lambda-rie [flags] <bootstrap> -- behave.sh`. The
//     RIE passes every argument after the flags through as the bootstrap's
//     command line ("--" included, go-flags keeps it), so the bootstrap sees
//     `-- behave.sh`; the RIE also sets _HANDLER to the last argument. The
//     emulator's working directory (the task root) becomes the bootstrap's.
//   - managed-instances mode ignores the command line and only looks for
//     /var/runtime/bootstrap, /var/task/bootstrap and /opt/bootstrap, so the
//     emulator runs in a private mount namespace where /var is an overlay
//     whose upper layer (on a private tmpfs) holds task/bootstrap and
//     task/behave.sh; the handler comes from _HANDLER, which the emulator
//     passes through (LAMBDA_TASK_ROOT is forced to /var/task). This needs
//     root and unshare(1).
package rietest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
)

// rieVar names the emulator binary; install-rie.sh prints a value for it.
const rieVar = "STREAMSTRAP_RIE"

const invokePath = "/2015-03-31/functions/function/invocations"

// Generous waits: the tests must pass on a loaded two-core machine.
const (
	startupWait = 30 * time.Second
	stopWait    = 15 * time.Second
	leftWait    = 10 * time.Second
	invokeWait  = 60 * time.Second
)

// deadlineMargin is the bootstrap's --deadline-margin in the deadline tests
// (via STREAMSTRAP_DEADLINE_MARGIN, which the emulator passes through): the
// handler is stopped 1 s before AWS_LAMBDA_FUNCTION_TIMEOUT, leaving the
// bootstrap a full second to report before the emulator's own timeout.
const deadlineMargin = "1s"

var (
	tmpRoot   string
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "streamstrap-rie-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// inCI reports whether skipping is forbidden.
func inCI() bool { return os.Getenv("CI") != "" }

// skipOrFail skips the test, or fails it when CI is set, so that CI cannot
// silently skip the RIE tests.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if inCI() {
		t.Fatalf("%s (CI is set: the RIE tests must run there)", reason)
	}
	t.Skip(reason)
}

// rieBinary returns the absolute path of the emulator named by
// STREAMSTRAP_RIE, or skips (fails under CI).
func rieBinary(t *testing.T) string {
	t.Helper()
	const hint = "; install it with: export " + rieVar + "=\"$(bash internal/rietest/install-rie.sh)\""
	path := os.Getenv(rieVar)
	if path == "" {
		skipOrFail(t, rieVar+" is not set"+hint)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		skipOrFail(t, fmt.Sprintf("%s=%q: %v%s", rieVar, path, err, hint))
	}
	st, err := os.Stat(abs)
	switch {
	case err != nil:
		skipOrFail(t, fmt.Sprintf("%s=%q: %v%s", rieVar, path, err, hint))
	case st.IsDir() || st.Mode()&0o111 == 0:
		skipOrFail(t, fmt.Sprintf("%s=%q is not an executable file%s", rieVar, path, hint))
	}
	return abs
}

// bootstrapBinary builds ./cmd/bootstrap once per test binary.
func bootstrapBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { buildBin, buildErr = bootstraptest.Build(tmpRoot) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

var (
	managedOnce   sync.Once
	managedReason string
)

// needManaged skips unless the mount-namespace overlay that
// managed-instances mode needs works here. Unlike a missing emulator, this
// skips under CI too: whether a sandbox grants mount namespaces is the
// machine's choice, and the same trailers are checked end to end against
// runtimeapitest in every run.
func needManaged(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("managed-instances mode needs root: the emulator only finds the bootstrap under /var or /opt, which the tests overlay in a private mount namespace")
	}
	managedOnce.Do(func() {
		if _, err := exec.LookPath("unshare"); err != nil {
			managedReason = "managed-instances mode needs unshare(1) (util-linux): " + err.Error()
			return
		}
		// The same steps as the real start, on an empty marker file.
		dir, err := os.MkdirTemp(tmpRoot, "probe-")
		if err != nil {
			managedReason = err.Error()
			return
		}
		out, err := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", `set -e
mount -t tmpfs streamstrap-rie "$1"
mkdir -p "$1/upper" "$1/work"
: > "$1/upper/streamstrap-probe"
mount -t overlay overlay -o "lowerdir=/var,upperdir=$1/upper,workdir=$1/work" /var
test -e /var/streamstrap-probe`, "sh", dir).CombinedOutput()
		if err != nil {
			managedReason = fmt.Sprintf("managed-instances mode needs a private mount namespace with an overlay on /var, which failed here: %v\n%s", err, out)
		}
	})
	if managedReason != "" {
		t.Skip(managedReason)
	}
}

type rieMode int

const (
	classic rieMode = iota // the default emulator
	managed                // AWS_LAMBDA_MAX_CONCURRENCY set
)

func (m rieMode) String() string {
	if m == managed {
		return "managed-instances"
	}
	return "classic"
}

// config describes one emulator.
type config struct {
	mode rieMode
	// handler is the handler string: after "--" in classic mode, _HANDLER
	// in managed mode. Empty means behave.sh.
	handler string
	// timeout is AWS_LAMBDA_FUNCTION_TIMEOUT in seconds; 0 means 10.
	timeout int
	// env is added to the emulator's (and so the bootstrap's) environment.
	env []string
	// mayExit: the emulator is expected to exit on its own (an init error
	// in managed mode), so it need not come up.
	mayExit bool
	// logLevel is the emulator's --log-level; empty means warn.
	logLevel string
}

// emulator is a running aws-lambda-rie.
type emulator struct {
	t          *testing.T
	cfg        config
	cmd        *exec.Cmd
	done       chan struct{}
	logPath    string
	marker     string
	invokeAddr string
	rapiAddr   string
	client     *http.Client
	mu         sync.Mutex // one invoke at a time
	stopped    bool
}

// startRIE starts the emulator with the real bootstrap and stops it at the
// end of the test. A port taken between choosing and binding is retried.
func startRIE(t *testing.T, cfg config) *emulator {
	t.Helper()
	rie := rieBinary(t)
	if cfg.mode == managed {
		needManaged(t)
	}
	bin := bootstrapBinary(t)
	if cfg.handler == "" {
		cfg.handler = "behave.sh"
	}
	if cfg.timeout == 0 {
		cfg.timeout = 10
	}
	if cfg.logLevel == "" {
		cfg.logLevel = "warn"
	}
	task := filepath.Join(t.TempDir(), "task")
	if err := os.Mkdir(task, 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "cmd", "bootstrap", "testdata", "handlers", "behave.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(task, "behave.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		e, err := launch(t, cfg, rie, bin, task)
		if err == nil {
			return e
		}
		if !errors.Is(err, errPortBusy) || attempt == 5 {
			t.Fatalf("starting the %s RIE: %v", cfg.mode, err)
		}
		t.Logf("attempt %d: %v; retrying with other ports", attempt, err)
	}
}

var errPortBusy = errors.New("a port was taken before the emulator could bind it")

func launch(t *testing.T, cfg config, rie, bin, task string) (*emulator, error) {
	t.Helper()
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	var m [8]byte
	_, _ = rand.Read(m[:])
	e := &emulator{
		t:          t,
		cfg:        cfg,
		done:       make(chan struct{}),
		logPath:    filepath.Join(t.TempDir(), "rie.log"),
		marker:     hex.EncodeToString(m[:]),
		invokeAddr: ports[0],
		rapiAddr:   ports[1],
		client:     &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	// A minimal environment: the emulator copies its whole environment into
	// the bootstrap's, and AWS_LAMBDA_MAX_CONCURRENCY alone switches modes.
	// The marker, inherited by the bootstrap and its handlers, finds leftovers.
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		bootstraptest.MarkerVar + "=" + e.marker,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(cfg.timeout),
	}
	flags := []string{
		"--log-level", cfg.logLevel,
		"--runtime-interface-emulator-address", e.invokeAddr,
		"--runtime-api-address", e.rapiAddr,
	}
	switch cfg.mode {
	case classic:
		env = append(env, "LAMBDA_TASK_ROOT="+task)
		e.cmd = exec.Command(rie, append(flags, bin, "--", cfg.handler)...)
		e.cmd.Dir = task
	case managed:
		env = append(env, "AWS_LAMBDA_MAX_CONCURRENCY=1", "_HANDLER="+cfg.handler)
		ns, err := os.MkdirTemp(tmpRoot, "ns-")
		if err != nil {
			return nil, err
		}
		// unshare and sh exec in place, so the PID is the emulator's. The
		// tmpfs and the overlay exist only in the new mount namespace.
		args := []string{"-m", "--propagation", "private", "sh", "-c", `set -e
ns=$1 bin=$2 task=$3; shift 3
mount -t tmpfs streamstrap-rie "$ns"
mkdir -p "$ns/upper/task" "$ns/work"
cp "$bin" "$ns/upper/task/bootstrap"
cp "$task"/* "$ns/upper/task/"
mount -t overlay overlay -o "lowerdir=/var,upperdir=$ns/upper,workdir=$ns/work" /var
cd /var/task
exec "$@"`, "sh", ns, bin, task, rie}
		e.cmd = exec.Command("unshare", append(args, flags...)...)
	}
	e.cmd.Env = append(env, cfg.env...)
	logf, err := os.Create(e.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	e.cmd.Stdout = logf
	e.cmd.Stderr = logf
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = e.cmd.Wait()
		close(e.done)
	}()

	deadline := time.Now().Add(startupWait)
	for {
		if e.exited() {
			log := e.log()
			if strings.Contains(log, "address already in use") {
				bootstraptest.KillMarked(e.marker)
				return nil, fmt.Errorf("%w:\n%s", errPortBusy, tail(log))
			}
			if cfg.mayExit {
				break
			}
			bootstraptest.KillMarked(e.marker)
			return nil, fmt.Errorf("the emulator exited (%s) before it was ready:\n%s", e.cmd.ProcessState, tail(log))
		}
		if canDial(e.invokeAddr) && canDial(e.rapiAddr) {
			break
		}
		if time.Now().After(deadline) {
			e.stopped = true
			_ = e.cmd.Process.Kill()
			<-e.done
			bootstraptest.KillMarked(e.marker)
			return nil, fmt.Errorf("the emulator did not listen on %s and %s within %s:\n%s", e.invokeAddr, e.rapiAddr, startupWait, tail(e.log()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(e.stop)
	return e, nil
}

// freePorts picks n distinct free loopback ports (they may be taken again
// before the emulator binds them; startRIE retries).
func freePorts(n int) ([]string, error) {
	var addrs []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

func canDial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (e *emulator) exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// log returns everything the emulator wrote so far: its own logs, and the
// bootstrap's stdout and stderr (its logs and its handlers' stderr).
func (e *emulator) log() string {
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", e.logPath, err)
	}
	return string(b)
}

func tail(s string) string {
	const max = 16 << 10
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

// waitExit waits for an emulator that is expected to exit on its own and
// returns its exit code.
func (e *emulator) waitExit(d time.Duration) int {
	e.t.Helper()
	select {
	case <-e.done:
		return e.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		e.t.Fatalf("the emulator did not exit within %s:\n%s", d, tail(e.log()))
		return 0
	}
}

// stop stops the emulator by PID (SIGTERM, as the notes do) and checks that
// no process of this test (bootstrap, handler) is left. Idempotent.
func (e *emulator) stop() {
	t := e.t
	t.Helper()
	if e.stopped {
		return
	}
	e.stopped = true
	if !e.exited() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(stopWait):
			t.Errorf("the emulator (pid %d) did not exit within %s of SIGTERM; killing it", e.cmd.Process.Pid, stopWait)
			_ = e.cmd.Process.Kill()
			<-e.done
		}
	}
	if !bootstraptest.WaitFor(leftWait, func() bool { return len(bootstraptest.MarkedPids(e.marker)) == 0 }) {
		t.Errorf("processes left behind after the emulator exited: %s", describe(bootstraptest.MarkedPids(e.marker)))
		bootstraptest.KillMarked(e.marker)
	}
	log := e.log()
	for _, bad := range []string{"[PANIC]", "panic:"} {
		if strings.Contains(log, bad) {
			t.Errorf("the emulator's log has %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("%s RIE log (%s):\n%s", e.cfg.mode, e.logPath, tail(log))
	}
}

func describe(pids []int) string {
	var parts []string
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		parts = append(parts, fmt.Sprintf("%d %q", pid, strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")))
	}
	return strings.Join(parts, ", ")
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) String() string {
	h := make([]string, 0, len(r.header))
	for k, v := range r.header {
		h = append(h, k+": "+strings.Join(v, ","))
	}
	return fmt.Sprintf("%d [%s] %q", r.status, strings.Join(h, "; "), r.body)
}

// invoke posts event to the emulator's invoke endpoint and reads the whole
// (buffered) response.
//
// Managed-instances mode does not queue an invoke while its only runtime is
// not waiting in /next: it rejects it at once with 400 and Error-Type
// Runtime.Unavailable ("no idle runtimes"). That happens right after start-up
// (init is eager, the port opens before the bootstrap's first /next) and
// right after each invoke (the caller gets its answer when the runtime's
// POST ends, a moment before the bootstrap's next /next arrives). The
// rejected invoke never reached the runtime, so it is retried.
func (e *emulator) invoke(event string) response {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), invokeWait)
	defer cancel()
	for {
		r := e.invokeOnce(ctx, event)
		if e.cfg.mode != managed || r.status != http.StatusBadRequest || r.header.Get("Error-Type") != "Runtime.Unavailable" {
			return r
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("invoke %q: the runtime stayed unavailable for %s: %s\nRIE log:\n%s", firstLine(event), invokeWait, r, tail(e.log()))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (e *emulator) invokeOnce(ctx context.Context, event string) response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.invokeAddr+invokePath, strings.NewReader(event))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("invoke %q: %v\nRIE log:\n%s", firstLine(event), err, tail(e.log()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("invoke %q: reading the response: %v\nRIE log:\n%s", firstLine(event), err, tail(e.log()))
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// bootstrapPid invokes the "parent" action: the pid and executable of the
// bootstrap that runs the handler.
func (e *emulator) bootstrapPid() (pid int, exe string) {
	e.t.Helper()
	r := e.invoke("parent")
	if r.status != http.StatusOK || r.header.Get("Error-Type") != "" {
		e.t.Fatalf("parent: got %s", r)
	}
	f := strings.Fields(r.body)
	if len(f) != 2 {
		e.t.Fatalf("parent: got body %q, want \"<pid> <exe>\"", r.body)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		e.t.Fatalf("parent: %v", err)
	}
	// The leftover check at stop finds processes by the marker: make sure
	// the bootstrap really carries it (through unshare, sh and the RIE).
	if !slices.Contains(bootstraptest.MarkedPids(e.marker), pid) {
		e.t.Fatalf("the bootstrap (pid %d) does not carry the test's marker %s=%s", pid, bootstraptest.MarkerVar, e.marker)
	}
	return pid, f[1]
}

// errorDoc is the bootstrap's error document.
type errorDoc struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace"`
}

func decodeError(t *testing.T, body string) errorDoc {
	t.Helper()
	var d errorDoc
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("the body is not our error document: %v: %q", err, body)
	}
	return d
}

// mustNotContain fails for each of bad found in log.
func mustNotContain(t *testing.T, what, log string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(log, b) {
			t.Errorf("%s has %q", what, b)
		}
	}
}

// The emulator's complaints about a runtime, in both modes, and the
// bootstrap's own complaints about the Runtime API.
var protocolComplaints = []string{
	"InvalidStateTransition", "State transition", // out-of-order Runtime API call
	"InvalidFunctionResponseMode", "InvalidResponseModeHeader", // bad streaming header
	"TruncatedResponse", "unexpected EOF", // stream ended without its 0-chunk
	"RequestEntityTooLarge", "ResponseSizeTooLarge",
	"Runtime.Unknown",                                                         // an error type the emulator would not accept
	"Runtime API refused", "response stream failed", "the Runtime API failed", // bootstrap
}

// classicComplaints are what classic mode logs (at warn) when something went
// wrong; "Reset initiated" means it killed and will re-init the runtime.
var classicComplaints = append([]string{"[ERROR]", "Reset initiated", "Task timed out", "exited:"}, protocolComplaints...)

// managedComplaints: managed mode logs at slog levels.
var managedComplaints = append([]string{"level=ERROR", "Sandbox.Timedout", "Task timed out"}, protocolComplaints...)

func checkCleanLog(t *testing.T, e *emulator) {
	t.Helper()
	// Taken before stop: stopping adds its own reset/shutdown lines.
	log := e.log()
	if e.cfg.mode == classic {
		mustNotContain(t, "the classic RIE's log", log, classicComplaints...)
		return
	}
	// Rejected invokes (see invoke) are logged at ERROR; they are retried.
	var kept []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "Runtime.Unavailable: no idle runtimes") {
			kept = append(kept, line)
		}
	}
	mustNotContain(t, "the managed RIE's log", strings.Join(kept, "\n"), managedComplaints...)
}

func chunksBody() string {
	var b strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, "chunk %d\n", i)
	}
	return b.String()
}

func wantOK(t *testing.T, action string, r response, body string) {
	t.Helper()
	if r.status != http.StatusOK || r.header.Get("Error-Type") != "" || r.body != body {
		if len(r.body) > 200 {
			r.body = r.body[:200] + "…"
		}
		t.Errorf("%s: got %s; want 200 with a %d-byte body %.60q", action, r, len(body), body)
	}
}

// --- classic mode ---------------------------------------------------------

// A response streamed over several writes with pauses: the emulator accepts
// the streaming POST (no complaint in its log) and hands the caller exactly
// the bytes the handler wrote.
func TestClassicStreamedSuccess(t *testing.T) {
	e := startRIE(t, config{mode: classic})
	wantOK(t, "chunks", e.invoke("chunks"), chunksBody())
	big := 2 << 20
	wantOK(t, "big", e.invoke("big "+strconv.Itoa(big)), strings.Repeat("x", big))
	checkCleanLog(t, e)
}

// A handler that fails before writing anything: the bootstrap posts /error,
// and classic mode hands the caller the posted error document (status 200).
func TestClassicErrorBeforeOutput(t *testing.T) {
	e := startRIE(t, config{mode: classic})
	r := e.invoke("exit-before")
	if r.status != http.StatusOK {
		t.Errorf("exit-before: got %s, want 200 and the error document", r)
	}
	d := decodeError(t, r.body)
	if d.ErrorType != "Runtime.ExitError" || d.ErrorMessage != "exit status 4" {
		t.Errorf("exit-before: got %+v, want Runtime.ExitError \"exit status 4\"", d)
	}
	if len(d.StackTrace) != 1 || d.StackTrace[0] != "nothing to say" {
		t.Errorf("exit-before: stackTrace %q, want the handler's stderr", d.StackTrace)
	}
	wantOK(t, "hello after the error", e.invoke("hello"), "hello\n")
	checkCleanLog(t, e)
}

// A handler that does not exist: the bootstrap posts /init/error and exits 1;
// classic mode answers 502 with the posted document, and re-runs init (and
// fails again) on every later invoke.
func TestClassicMissingHandler(t *testing.T) {
	e := startRIE(t, config{mode: classic, handler: "no-such-handler.sh"})
	for i := range 2 {
		r := e.invoke("hello")
		if r.status != http.StatusBadGateway {
			t.Errorf("invoke %d: got %s, want 502", i+1, r)
		}
		d := decodeError(t, r.body)
		if d.ErrorType != "Runtime.HandlerNotFound" || !strings.Contains(d.ErrorMessage, `"no-such-handler.sh"`) {
			t.Errorf("invoke %d: got %+v, want Runtime.HandlerNotFound naming the handler", i+1, d)
		}
	}
	log := e.log()
	if n := strings.Count(log, "exited: exit status 1"); n != 2 {
		t.Errorf("the emulator saw the bootstrap exit with status 1 %d times, want 2 (once per init)", n)
	}
	mustNotContain(t, "the classic RIE's log", log, protocolComplaints...)
}

// Invocations in a row, successes and a failure mixed, all served by the same
// bootstrap process.
func TestClassicSeveralInvocations(t *testing.T) {
	e := startRIE(t, config{mode: classic})
	pid, _ := e.bootstrapPid()
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	for i := range 3 {
		wantOK(t, "hello", e.invoke("hello"), "hello\n")
		payload := fmt.Sprintf("round %d\n%s\n{\"any\": \"bytes\"}", i, binary)
		wantOK(t, "echo", e.invoke("echo\n"+payload), payload)
		wantOK(t, "chunks", e.invoke("chunks"), chunksBody())
		wantOK(t, "empty", e.invoke("empty"), "")
		r := e.invoke("exit-before")
		if d := decodeError(t, r.body); r.status != http.StatusOK || d.ErrorType != "Runtime.ExitError" {
			t.Errorf("exit-before: got %s", r)
		}
		wantOK(t, "big", e.invoke("big 100000"), strings.Repeat("x", 100000))
	}
	if again, _ := e.bootstrapPid(); again != pid {
		t.Errorf("the bootstrap changed from pid %d to %d: the emulator re-initialised the runtime", pid, again)
	}
	checkCleanLog(t, e)
}

// A handler that writes nothing and succeeds: an empty streamed response.
func TestClassicEmptyBody(t *testing.T) {
	e := startRIE(t, config{mode: classic})
	r := e.invoke("empty")
	wantOK(t, "empty", r, "")
	if cl := r.header.Get("Content-Length"); cl != "0" {
		t.Errorf("Content-Length %q, want 0", cl)
	}
	wantOK(t, "hello after empty", e.invoke("hello"), "hello\n")
	checkCleanLog(t, e)
}

// Handlers sleeping past AWS_LAMBDA_FUNCTION_TIMEOUT: the bootstrap stops them
// its margin before the deadline and reports before the emulator's own
// timeout. Classic mode shows our /error document for a silent handler; for a
// handler that already wrote, it ignores the trailers and returns the partial
// body. Either way the emulator does not time out or reset the runtime: the
// next invoke runs in the same bootstrap, without a re-init.
func TestClassicDeadline(t *testing.T) {
	// Init is lazy in classic mode, so the first invoke's deadline also
	// covers the bootstrap's start, which load can stretch past a second:
	// 4s leaves the first invoke 3s before the margin stops it.
	e := startRIE(t, config{mode: classic, timeout: 4, env: []string{"STREAMSTRAP_DEADLINE_MARGIN=" + deadlineMargin}})
	pid, _ := e.bootstrapPid()

	r := e.invoke("sleep-silent")
	if r.status != http.StatusOK {
		t.Errorf("sleep-silent: got %s, want 200 and our error document", r)
	}
	if d := decodeError(t, r.body); d.ErrorType != "Runtime.HandlerTimeout" || !strings.HasPrefix(d.ErrorMessage, "timed out after") {
		t.Errorf("sleep-silent: got %+v, want Runtime.HandlerTimeout", d)
	}

	// Trailers are ignored in classic mode: only the partial body shows.
	wantOK(t, "sleep", e.invoke("sleep"), "started\n")

	if again, _ := e.bootstrapPid(); again != pid {
		t.Errorf("the bootstrap changed from pid %d to %d: the emulator re-initialised the runtime", pid, again)
	}
	checkCleanLog(t, e)
}

// --- managed-instances mode -----------------------------------------------

// A streamed success: the emulator echoes our streaming mode header and keeps
// our Content-Type, and the bootstrap (run from /var/task/bootstrap, as
// managed mode requires) logs JSON because the mode sets
// AWS_LAMBDA_MAX_CONCURRENCY and AWS_LAMBDA_LOG_FORMAT=json (at DEBUG, so
// that a success's "invocation done" is logged).
func TestManagedStreamedSuccess(t *testing.T) {
	e := startRIE(t, config{mode: managed, env: []string{"AWS_LAMBDA_LOG_LEVEL=DEBUG"}})
	pid, exe := e.bootstrapPid()
	if exe != "/var/task/bootstrap" {
		t.Errorf("the bootstrap runs from %q, want /var/task/bootstrap (the overlay)", exe)
	}
	r := e.invoke("chunks")
	wantOK(t, "chunks", r, chunksBody())
	if m := r.header.Get("Lambda-Runtime-Function-Response-Mode"); m != "streaming" {
		t.Errorf("Lambda-Runtime-Function-Response-Mode %q, want streaming (echoed from our POST)", m)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q, want application/octet-stream (the bootstrap's default)", ct)
	}
	big := 2 << 20
	wantOK(t, "big", e.invoke("big "+strconv.Itoa(big)), strings.Repeat("x", big))
	wantOK(t, "empty", e.invoke("empty"), "")
	if again, _ := e.bootstrapPid(); again != pid {
		t.Errorf("the bootstrap changed from pid %d to %d", pid, again)
	}
	checkCleanLog(t, e)

	// The bootstrap's own lines are JSON in this mode.
	var found bool
	for _, line := range strings.Split(e.log(), "\n") {
		if !strings.Contains(line, `"invocation done"`) {
			continue
		}
		found = true
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a bootstrap log line is not JSON: %v: %q", err, line)
			continue
		}
		if rec["requestId"] == nil || rec["level"] != "DEBUG" {
			t.Errorf("bootstrap log record %v lacks requestId or level DEBUG", rec)
		}
	}
	if !found {
		t.Errorf("no \"invocation done\" line from the bootstrap in the log")
	}
}

// A handler that fails after writing: the bootstrap ends the stream with
// error trailers; managed mode turns them into Error-Type and the decoded
// error document, dropping the partial body. The runtime stays up.
func TestManagedErrorTrailers(t *testing.T) {
	e := startRIE(t, config{mode: managed})
	pid, _ := e.bootstrapPid()

	r := e.invoke("exit-after")
	if r.status != http.StatusOK || r.header.Get("Error-Type") != "Runtime.ExitError" {
		t.Errorf("exit-after: got %s, want 200 with Error-Type: Runtime.ExitError", r)
	}
	d := decodeError(t, r.body)
	if d.ErrorType != "Runtime.ExitError" || d.ErrorMessage != "exit status 3" {
		t.Errorf("exit-after: got %+v, want Runtime.ExitError \"exit status 3\"", d)
	}
	if want := []string{"boom details", "last words"}; strings.Join(d.StackTrace, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit-after: stackTrace %q, want %q", d.StackTrace, want)
	}
	if !strings.Contains(e.log(), "Runtime sent error trailers after response body") {
		t.Errorf("the emulator did not log receiving error trailers")
	}

	// Before any output: /error, which this mode also maps to Error-Type.
	r = e.invoke("exit-before")
	if r.status != http.StatusOK || r.header.Get("Error-Type") != "Runtime.ExitError" {
		t.Errorf("exit-before: got %s, want 200 with Error-Type: Runtime.ExitError", r)
	}
	if d := decodeError(t, r.body); d.ErrorMessage != "exit status 4" {
		t.Errorf("exit-before: got %+v, want \"exit status 4\"", d)
	}

	wantOK(t, "hello after the errors", e.invoke("hello"), "hello\n")
	if again, _ := e.bootstrapPid(); again != pid {
		t.Errorf("the bootstrap changed from pid %d to %d", pid, again)
	}
	checkCleanLog(t, e)
}

// Handlers sleeping past the timeout: after output began the bootstrap's
// Runtime.HandlerTimeout arrives as trailers (managed mode does not enforce
// its timeout once the response has begun, so this is ours, not the
// emulator's Sandbox.Timedout); before output, through /error.
func TestManagedTimeoutTrailers(t *testing.T) {
	e := startRIE(t, config{mode: managed, timeout: 2, env: []string{"STREAMSTRAP_DEADLINE_MARGIN=" + deadlineMargin}})
	pid, _ := e.bootstrapPid()

	for _, action := range []string{"sleep", "sleep-silent"} {
		r := e.invoke(action)
		if r.status != http.StatusOK || r.header.Get("Error-Type") != "Runtime.HandlerTimeout" {
			t.Errorf("%s: got %s, want 200 with Error-Type: Runtime.HandlerTimeout", action, r)
		}
		if d := decodeError(t, r.body); d.ErrorType != "Runtime.HandlerTimeout" || !strings.HasPrefix(d.ErrorMessage, "timed out after") {
			t.Errorf("%s: got %+v, want Runtime.HandlerTimeout", action, d)
		}
	}
	if !strings.Contains(e.log(), "Runtime sent error trailers after response body") {
		t.Errorf("the emulator did not log receiving error trailers")
	}
	wantOK(t, "hello after the timeouts", e.invoke("hello"), "hello\n")
	if again, _ := e.bootstrapPid(); again != pid {
		t.Errorf("the bootstrap changed from pid %d to %d", pid, again)
	}
	checkCleanLog(t, e)
}

// A missing handler in managed mode: init is eager, the bootstrap posts
// /init/error, and the emulator exits with status 1, naming our error type.
func TestManagedInitError(t *testing.T) {
	e := startRIE(t, config{mode: managed, handler: "no-such-handler.sh", mayExit: true})
	if code := e.waitExit(startupWait); code != 1 {
		t.Errorf("the emulator exited with %d, want 1", code)
	}
	log := e.log()
	if !strings.Contains(log, `Received Runtime Init Error" errType=Runtime.HandlerNotFound`) {
		t.Errorf("the emulator's log does not report our init error Runtime.HandlerNotFound:\n%s", tail(log))
	}
	if strings.Contains(log, "Runtime.Unknown") {
		t.Errorf("the emulator normalised our error type to Runtime.Unknown")
	}
}
