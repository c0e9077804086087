package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// figure is one number of the report; ok is false where it does not apply.
type figure struct {
	v  float64
	ok bool
}

// figures are one contender's medians.
type figures struct {
	cpuInv, wallInv, firstMed, firstP99 figure // ms, ms, µs, µs
	switchesInv                         figure // context switches per trivial invocation
	startWall, startCPU                 figure // ms
	cpuGB, mbps                         figure
	rssMB, binMB                        figure
}

func median(xs []float64) figure {
	if len(xs) == 0 {
		return figure{}
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return figure{s[len(s)/2], true}
	}
	return figure{(s[len(s)/2-1] + s[len(s)/2]) / 2, true}
}

// quantile is the nearest-rank q-quantile of ds in unit.
func quantile(ds []time.Duration, q float64, unit time.Duration) figure {
	if len(ds) == 0 {
		return figure{}
	}
	s := slices.Sorted(slices.Values(ds))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return figure{float64(s[min(max(i, 0), len(s)-1)]) / float64(unit), true}
}

// summarize turns samples into figures. handlerInv and handlerGB are the
// handler's own CPU (ms per invocation, per GB), measured under the floors,
// which a script contender's figures include and must shed.
func summarize(c *contender, m *measures, handlerInv, handlerGB figure) figures {
	f := figures{
		cpuInv:      median(m.cpuInv),
		switchesInv: median(m.switchesInv),
		wallInv:     quantile(m.wallInv, 0.5, time.Millisecond),
		firstMed:    quantile(m.first, 0.5, time.Microsecond),
		firstP99:    quantile(m.first, 0.99, time.Microsecond),
		startWall:   quantile(m.startWall, 0.5, time.Millisecond),
		startCPU:    quantile(m.startCPU, 0.5, time.Millisecond),
		cpuGB:       median(m.streamCPU),
		mbps:        median(m.streamMBps),
	}
	if c.script {
		f.cpuInv = scriptCPU(m.cpuInv, m.childInv, handlerInv)
		f.cpuGB = scriptCPU(m.streamCPU, m.streamKid, handlerGB)
		// bash's own switches leave out curl's, which do the work.
		f.switchesInv = figure{}
	}
	if m.peakRSS > 0 {
		f.rssMB = figure{float64(m.peakRSS) / 1e6, true}
	}
	if fi, err := os.Stat(c.bin); err == nil && !c.script && c.kind == viaRuntimeAPI {
		f.binMB = figure{float64(fi.Size()) / 1e6, true}
	}
	return f
}

// all summarizes every contender of one run (full or slow).
func (r *report) all(ms map[string]*measures) map[string]figures {
	var hInv, hGB figure
	for _, c := range r.contenders {
		switch c.name {
		case execName:
			hInv = median(ms[c.name].childInv)
		case copyName:
			hGB = median(ms[c.name].streamKid)
		}
	}
	out := map[string]figures{}
	for _, c := range r.contenders {
		out[c.name] = summarize(c, ms[c.name], hInv, hGB)
	}
	return out
}

// scriptCPU is the median of a script contender's own and its children's
// CPU, less the handler's: nothing when the handler's is not known.
func scriptCPU(own, children []float64, handler figure) figure {
	if !handler.ok || len(own) == 0 {
		return figure{}
	}
	tot := make([]float64, len(own))
	for i := range tot {
		tot[i] = own[i] + children[i] - handler.v
	}
	return median(tot)
}

// cell formats v with its ratio to ref.
func cell(v, ref figure, format string) string {
	if !v.ok {
		return "—"
	}
	s := fmt.Sprintf(format, v.v)
	if ref.ok && ref.v > 0 {
		s += fmt.Sprintf(" (%.2f×)", v.v/ref.v)
	}
	return s
}

// invocationTable writes the per-invocation table of set, each figure with
// its ratio to the reference contender's, the wall times in wallFormat.
func (r *report) invocationTable(w func(string, ...any), set map[string]figures, wallFormat string) {
	ref := set[refName]
	w("| contender | bootstrap CPU / trivial invocation | context switches / invocation | wall / trivial invocation | first byte, median | first byte, p99 |\n")
	w("|---|---|---|---|---|---|\n")
	for _, c := range r.contenders {
		f := set[c.name]
		w("| %s | %s | %s | %s | %s | %s |\n", c.name, cell(f.cpuInv, ref.cpuInv, "%.3f ms"), cell(f.switchesInv, ref.switchesInv, "%.1f"),
			cell(f.wallInv, ref.wallInv, wallFormat), cell(f.firstMed, ref.firstMed, "%.0f µs"), cell(f.firstP99, ref.firstP99, "%.0f µs"))
	}
}

func (r *report) markdown(png string) string {
	full := r.all(r.full)
	ref := full[refName]
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks\n\n")
	w("Whole-process benchmark of the real stripped `bootstrap` (`go build -trimpath -tags lambda -ldflags \"-s -w -X runtime.godebugDefault=$LAMBDA_GODEBUG\"` of `./cmd/bootstrap`, LAMBDA_GODEBUG from the Makefile: the build the layer and the image ship)\n")
	w("and its contenders, each running real handler processes against the strict Runtime API of\n")
	w("`internal/runtimeapitest` on loopback. The contenders alternate within every round; figures are\n")
	w("medians over the rounds, and each ratio (×) is against the aws-lambda-go contender of the same run\n")
	w("(below 1 is better, except throughput). Sources: `bench/` (its own Go module).\n\n")
	w("Command: `%s`  \n", r.command)
	w("Machine: %s  \n", r.machine)
	// Each measuring session is a start too: trivial, first byte, stream.
	sessions := 2
	if r.cfg.streamBytes > 0 {
		sessions++
	}
	w("Run: %d rounds; per contender and round %d trivial invocations, %d first-byte invocations, one %d MB stream, %d starts.\n\n",
		r.cfg.rounds, r.cfg.trivial, r.cfg.firstBytes, r.cfg.streamBytes/1e6, sessions+r.cfg.starts)
	w("bash+curl runs a fifth of those invocations (at least 2): each takes well over 100 ms here, most of it in starting curl twice.\n\n")
	w("Contenders:\n\n")
	w("- **streamstrap**: `bootstrap -- HANDLER`, with its defaults; **streamstrap --splice=on** (with `--max-response-bytes=0`: a capped body is counted through Read, so never spliced) and **--splice=off**: the same binary with the response body moved by splice(2), or copied through a buffer.\n")
	w("- **aws-lambda-go**: `bench/contenders/awslambdago`, the bootstrap a Go user writes with github.com/aws/aws-lambda-go v1.55.1: `lambda.StartHandlerFunc`, the handler's stdout returned as an `io.Reader` (sent chunked, one chunk per read, on a kept-alive connection); built with `-tags lambda.norpc`, as AWS's guide to Go on provided.al2023 builds a bootstrap (without the go1.x runtime's RPC server: 6.39 MB instead of 8.43 MB, and a quicker start).\n")
	w("- **bash+curl**: `bench/contenders/bashcurl/bootstrap`, the AWS custom-runtime tutorial's bootstrap with its `/response` streamed by `curl -T -`.\n")
	w("- **floor: bare copy**: `bench/contenders/barecopy`, `/next` on a kept connection, os/exec, the stdout pipe copied into a chunked POST on a new connection, nothing else. Its POST head is written as soon as the handler is started, before any output (as aws-lambda-go's is on the wire before the handler writes), which streamstrap must not do: a failure before any output goes to `/error`, not to a started `/response`.\n")
	w("- **floor: bare copy, head at first byte**: the same with `-head=first-byte`: the POST head goes out with the first chunk, as streamstrap sends it. The pair's first-byte difference is what the Runtime API spends parsing a request head that arrives with the first byte.\n")
	w("- **floor: bare copy + cobra, zap**: the bare copy built with `-tags cardpkgs` (`contenders/barecopy/cardpkgs.go`), which links github.com/spf13/cobra, go.uber.org/zap (its zapcore, the part the bootstrap links: package zap itself imports net/http) and github.com/valyala/bytebufferpool, the packages the design card gives the bootstrap, and so runs their package initialisation at every start; the rest is the bare copy's. Against the bare copy it shows what those packages alone cost to the first `/next`.\n")
	w("- **floor: raw syscalls**: `bench/contenders/rawloop`, the same work as the bare copy with the head at the first byte, on one goroutine and GOMAXPROCS 1, every per-invocation system call raw (`syscall.RawSyscall`: socket, connect, read, writev, pipe2, fcntl, its own epoll, wait4 after a pidfd; only the spawn is `syscall.ForkExec`). A raw call never enters the scheduler's syscall state, so it never wakes sysmon and costs no thread switches: the lowest CPU a Go bootstrap doing this work reaches here.\n")
	w("- **floor: raw syscalls + cobra, zap**: the raw floor built with `-tags cardpkgs` (`contenders/rawloop/cardpkgs.go`), which links cobra, zapcore and bytebufferpool as the bootstrap does and, unlike the bare copy's cardpkgs build, no net/http: the start-up no bootstrap built on the design card's packages can go under.\n")
	w("- **floor: os/exec, 2 pipes** and **floor: syscall.ForkExec**: `bench/contenders/forkexec`, one spawn and wait of the handler per line on stdin, no Runtime API.\n\n")

	w("## Per invocation\n\n")
	r.invocationTable(w, full, "%.3f ms")
	w("\n## Start, stream, size\n\n")
	w("| contender | wall to first /next | CPU to first /next | bootstrap CPU per GB | throughput | peak RSS (VmHWM), streaming | binary, stripped |\n")
	w("|---|---|---|---|---|---|---|\n")
	for _, c := range r.contenders {
		f := full[c.name]
		w("| %s | %s | %s | %s | %s | %s | %s |\n", c.name, cell(f.startWall, ref.startWall, "%.2f ms"), cell(f.startCPU, ref.startCPU, "%.0f ms"),
			cell(f.cpuGB, ref.cpuGB, "%.0f ms"), cell(f.mbps, ref.mbps, "%.0f MB/s"), cell(f.rssMB, ref.rssMB, "%.1f MB"), cell(f.binMB, ref.binMB, "%.2f MB"))
	}
	w("\n## \"128 MB\": 7.2 %% of one CPU\n\n")
	if r.slowNote == "" || strings.HasPrefix(r.slowNote, "skipped") {
		w("%s.\n", r.slowNote)
	} else {
		slow := r.all(r.slow)
		sref := slow[refName]
		w("Each contender process, and so its handlers, in %s: the CPU a 128 MB function gets (1,769 MB is one vCPU). %d rounds, %d trivial and %d first-byte invocations per contender and round; the Runtime API server is outside the group (bash+curl: a fifth of the invocations, at least 2).\n\n",
			r.slowNote, r.cfg.slowRounds, r.cfg.slowN, r.cfg.slowN)
		r.invocationTable(w, slow, "%.1f ms")
		if r.cfg.slowStream > 0 {
			w("\nOne %d MB `head -c` stream per contender and round, the handler in the group too:\n\n", r.cfg.slowStream/1e6)
			w("| contender | bootstrap CPU per GB | throughput | peak RSS (VmHWM), streaming |\n")
			w("|---|---|---|---|\n")
			for _, c := range r.contenders {
				f := slow[c.name]
				w("| %s | %s | %s | %s |\n", c.name, cell(f.cpuGB, sref.cpuGB, "%.0f ms"), cell(f.mbps, sref.mbps, "%.1f MB/s"), cell(f.rssMB, sref.rssMB, "%.1f MB"))
			}
		}
	}
	r.spliceSection(w, full)
	w("\n## How each figure is taken\n\n")
	w("- **bootstrap CPU / trivial invocation**: handler `true`; time on CPU of the contender process over the batch, divided by its size: the growth of its threads' `/proc/<pid>/task/*/schedstat` (ns; user and system; the handler is a child and not counted), or, if one of its threads exited during the batch (so that schedstat lost its time), `/proc/<pid>/stat` utime+stime (10 ms ticks, exited threads included); the batch ends once the contender is back in `/next`. For bash+curl it is bash plus its helpers (curl, grep, tr, cut: the waited-for children's time) minus the handler's own CPU as measured under the os/exec floor in the same run. For the os/exec and ForkExec floors, the CPU of the spawning process.\n")
	w("- **context switches / invocation**: the same batch; voluntary + involuntary context switches summed over the contender process's live threads (`/proc/<pid>/task/*/status`), after minus before, divided by the batch size. On a paravirtualised machine each costs tens of µs, so they are much of the CPU figure. For the os/exec and ForkExec floors, the spawning process's; for bash+curl —: bash's own leave out curl's, which do the work.\n")
	w("- **wall / trivial invocation**: enqueue → the `/response` fully read and answered 202, per invocation (for the os/exec and ForkExec floors: one spawn and wait).\n")
	w("- **first byte**: handler `stamp` writes its clock in ns just before writing; the figure is the first body chunk's arrival at the Runtime API minus that stamp, so it contains the response connection's setup where a contender dials at the first byte.\n")
	w("- **to first /next**: from just before the process starts to the server's first `GET /next`, and the contender's CPU (own + waited-for children) at that moment; one sample per process started: those that measure the other figures (three per round, two without a stream) and `-starts` more that only reach their first `/next`.\n")
	w("- **bootstrap CPU per GB, throughput**: one `head -c %d /dev/zero` stream with recording and hashing off in the server; CPU of the contender process (bash+curl: as above, minus `head`'s CPU measured under the bare-copy floor). GB is 10^9 bytes, MB 10^6.\n", r.cfg.streamBytes)
	w("- **peak RSS**: VmHWM of the contender process after the stream (bash+curl: bash only, curl not included).\n")
	w("- **binary**: size of the stripped static executable (the bash script needs bash and curl, not counted).\n\n")
	w("![per-invocation CPU and first byte per contender](%s)\n", png)
	return b.String()
}

// spliceSection compares streamstrap's two ways of moving the body, splice(2)
// and the copy, from the same run: the figures that decide --splice=auto.
func (r *report) spliceSection(w func(string, ...any), full map[string]figures) {
	if _, ok := r.full[spliceOnName]; !ok {
		return
	}
	if _, ok := r.full[spliceOffName]; !ok {
		return
	}
	w("\n## splice(2): `--splice=on` against `--splice=off`\n\n")
	w("The same binary and run as above; each ratio is on ÷ off (below 1: splice is better, except throughput).\n\n")
	w("| run | bootstrap CPU per GB, on / off | throughput, on / off | first byte median, on / off |\n")
	w("|---|---|---|---|\n")
	row := func(name string, f map[string]figures) {
		on, off := f[spliceOnName], f[spliceOffName]
		pair := func(a, b figure, format string) string {
			if !a.ok || !b.ok {
				return "—"
			}
			s := fmt.Sprintf(format+" / "+format, a.v, b.v)
			if b.v > 0 {
				s += fmt.Sprintf(" (%.2f×)", a.v/b.v)
			}
			return s
		}
		w("| %s | %s | %s | %s |\n", name, pair(on.cpuGB, off.cpuGB, "%.0f ms"), pair(on.mbps, off.mbps, "%.1f MB/s"), pair(on.firstMed, off.firstMed, "%.0f µs"))
	}
	row("idle, 2 cores", full)
	if len(r.slow[spliceOnName].cpuInv) > 0 {
		row("\"128 MB\" (7.2 % of one CPU)", r.all(r.slow))
	}
	w("\n`--splice=auto` (the default) turns splice on only where it costs less CPU per GB than the copy. ")
	w("With splice each chunk is what the pipe holds when it becomes readable (FIONREAD), sent as its size line (MSG_MORE), ")
	w("the bytes spliced pipe → socket (SPLICE_F_MORE) and the CRLF: the same chunk boundaries as one read of the copy.\n")
}
