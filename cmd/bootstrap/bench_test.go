package main

// Performance benchmarks of the bootstrap (issue "Performance"): the real
// binary, real handler processes and the strict Runtime API of runtimeapitest
// on loopback, each against a baseline measured in the same run.
//
// Recommended invocation (about a minute in all):
//
//	go test -run='^$' -bench=. -benchtime=3x ./cmd/bootstrap/
//
// Each iteration ("op") is a batch big enough for -benchtime=3x to give
// stable numbers; the targets are read from the custom metrics:
//
//	BenchmarkTimeToFirstByte     median-µs < 1000 (handler write → chunk read by the Runtime API)
//	BenchmarkThroughput          MB/s ≥ 1000 and ratio-vs-bare ≥ 0.80
//	BenchmarkInvocationOverhead  overhead-ms < 2
//	BenchmarkStartup             median-ms < 10 (process start → first /next)
//	BenchmarkPeakRSS             peak-RSS-MB < 20 while streaming 1 GiB (MB = 10^6 bytes)
//	BenchmarkBinarySize          binary-MB (reported; MB = 10^6 bytes)

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"math"
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

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/chunked"
	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// benchStreamSize is the size of the throughput and RSS streams: 1 GiB.
const benchStreamSize = 1 << 30

// Time-to-first-byte workload: lines per invocation and the pause between them.
const (
	tickerLines    = 150
	tickerInterval = "2ms"
)

// benchArtifacts builds helper binaries once per test process, next to the
// bootstrap that TestMain built (its directory is removed at exit).
var benchArtifacts struct {
	tickerOnce, strippedOnce sync.Once
	ticker, stripped         string
	tickerErr, strippedErr   error
}

// tickerBin builds testdata/ticker once and returns its path.
func tickerBin(b *testing.B) string {
	b.Helper()
	a := &benchArtifacts
	a.tickerOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(bootstrapBin), "ticker")
		cmd := exec.Command("go", "build", "-o", bin, "./testdata/ticker")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			a.tickerErr = fmt.Errorf("building testdata/ticker: %w\n%s", err, out)
			return
		}
		a.ticker = bin
	})
	if a.tickerErr != nil {
		b.Skip(a.tickerErr)
	}
	return a.ticker
}

// needTool skips the benchmark when name is not in PATH and returns its path.
func needTool(b *testing.B, name string) string {
	b.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		b.Skipf("%s not found in PATH: %v", name, err)
	}
	return p
}

// benchServer is a Runtime API for benchmarks; with big=true it neither
// records nor hashes /response bodies, so the receiver is not the bottleneck.
func benchServer(b *testing.B, big bool) *runtimeapitest.Server {
	srv := runtimeapitest.New(b, runtimeapitest.Options{})
	if big {
		srv.SetRecordData(false)
		srv.SetHashData(false)
	}
	return srv
}

// startBench starts the bootstrap with handler args against srv.
func startBench(b *testing.B, srv *runtimeapitest.Server, args ...string) *bootstraptest.Process {
	return bootstraptest.Start(b, bootstrapBin, bootstraptest.Options{
		RuntimeAPI: srv.Addr(),
		Args:       append([]string{"--"}, args...),
		TaskRoot:   b.TempDir(),
	})
}

// stopBench ends a bootstrap with SIGTERM and waits for it.
func stopBench(b *testing.B, p *bootstraptest.Process) {
	b.Helper()
	if err := p.Signal(syscall.SIGTERM); err != nil && !p.Exited() {
		b.Fatalf("SIGTERM: %v", err)
	}
	if code, ok := p.Wait(10 * time.Second); !ok || code != 0 {
		b.Fatalf("bootstrap exit %d (exited %v) after SIGTERM; stderr:\n%s", code, ok, p.Stderr())
	}
}

func benchCtx(b *testing.B, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	b.Cleanup(cancel)
	return c
}

// invokeOK runs one invocation and checks it succeeded with size body bytes
// (size < 0: any size).
func invokeOK(b *testing.B, srv *runtimeapitest.Server, p *bootstraptest.Process, size int64) *runtimeapitest.Invocation {
	b.Helper()
	inv, err := srv.Invoke(benchCtx(b, 2*time.Minute), runtimeapitest.Event{Payload: []byte(`{}`)})
	if err != nil {
		b.Fatalf("invoke: %v; stderr:\n%s", err, p.Stderr())
	}
	if inv.Outcome != "response" || inv.Status != http.StatusAccepted || inv.Truncated || inv.ErrorType() != "" ||
		(size >= 0 && inv.BodySize != size) {
		b.Fatalf("invocation: outcome %q status %d truncated %v error %q, %d body bytes (want %d); stderr:\n%s",
			inv.Outcome, inv.Status, inv.Truncated, inv.ErrorType(), inv.BodySize, size, p.Stderr())
	}
	return inv
}

// quantile returns the q-quantile (nearest rank) of ds, which it sorts.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func µs(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// segment is one piece of a byte stream as it arrived: a chunk read by the
// Runtime API, or one read from a socket.
type segment struct {
	at   time.Time
	data []byte
}

// tickLatencies turns the ticker's output, as it arrived in segments, into
// one latency per segment: the segment's arrival minus the timestamp of the
// first line that ends in it (a segment holding several lines counts once,
// with its first line; a line split over segments counts where it ends).
// multi counts the segments that held more than one line.
func tickLatencies(segs []segment) (lat []time.Duration, multi int, err error) {
	var pending []byte
	for _, s := range segs {
		pending = append(pending, s.data...)
		first := true
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			if first {
				ns, err := strconv.ParseInt(string(pending[:i]), 10, 64)
				if err != nil {
					return nil, 0, fmt.Errorf("ticker line %q: %w", pending[:i], err)
				}
				lat = append(lat, s.at.Sub(time.Unix(0, ns)))
				first = false
			} else {
				multi++
			}
			pending = pending[i+1:]
		}
	}
	if len(pending) > 0 {
		return nil, 0, fmt.Errorf("ticker output ends with a partial line %q", pending)
	}
	return lat, multi, nil
}

// bareTicks is the time-to-first-byte baseline: the ticker started directly,
// its stdout pipe io.Copy'd into a loopback TCP connection whose peer
// timestamps each read.
func bareTicks(b *testing.B, ticker string) []segment {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	segsc := make(chan []segment, 1)
	go func() {
		var segs []segment
		defer func() { segsc <- segs }()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				segs = append(segs, segment{at: time.Now(), data: bytes.Clone(buf[:n])})
			}
			if err != nil {
				return
			}
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(ticker, strconv.Itoa(tickerLines), tickerInterval)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	_, cerr := io.Copy(conn, out)
	conn.Close()
	if err := cmd.Wait(); err != nil || cerr != nil {
		b.Fatalf("bare ticker: %v, copy: %v", err, cerr)
	}
	return <-segsc
}

// BenchmarkTimeToFirstByte measures handler write → bytes read by the Runtime
// API, per chunk: the ticker handler writes a timestamped line every 2ms and
// each chunk's latency is its arrival time (Chunk.At) minus the timestamp of
// the first line in it. Baseline: the same ticker with its stdout pipe
// io.Copy'd into a loopback TCP socket read by a timestamping peer.
// One op is one invocation of tickerLines lines plus one baseline run.
//
// The first chunk of an invocation also pays for connecting to the Runtime
// API and sending the request head (the bootstrap connects on the first
// byte); it is in median-µs and reported alone as first-chunk-µs. The
// baseline's connection is made before its ticker starts.
func BenchmarkTimeToFirstByte(b *testing.B) {
	ticker := tickerBin(b)
	srv := benchServer(b, false)
	p := startBench(b, srv, ticker, strconv.Itoa(tickerLines), tickerInterval)
	var ours, bare, first []time.Duration
	multi, bareMulti := 0, 0
	for b.Loop() {
		inv := invokeOK(b, srv, p, -1)
		segs := make([]segment, len(inv.Chunks))
		for i, c := range inv.Chunks {
			segs[i] = segment{at: c.At, data: c.Data}
		}
		lat, m, err := tickLatencies(segs)
		if err != nil || len(lat) == 0 {
			b.Fatalf("bootstrap ticker output: %v (%d chunks)", err, len(inv.Chunks))
		}
		first = append(first, lat[0])
		ours = append(ours, lat...)
		multi += m

		lat, m, err = tickLatencies(bareTicks(b, ticker))
		if err != nil || len(lat) == 0 {
			b.Fatalf("bare ticker output: %v", err)
		}
		bare = append(bare, lat...)
		bareMulti += m
	}
	med, bmed := quantile(ours, 0.5), quantile(bare, 0.5)
	b.ReportMetric(µs(med), "median-µs")
	b.ReportMetric(µs(quantile(ours, 0.99)), "p99-µs")
	b.ReportMetric(µs(quantile(first, 0.5)), "first-chunk-µs")
	b.ReportMetric(µs(bmed), "baseline-median-µs")
	b.ReportMetric(µs(quantile(bare, 0.99)), "baseline-p99-µs")
	b.ReportMetric(µs(med-bmed), "median-minus-baseline-µs")
	// Lines that shared a chunk with an earlier line (not counted on their
	// own): should be 0, since the ticker pauses between lines.
	b.ReportMetric(float64(multi), "extra-lines-in-chunks")
	b.ReportMetric(float64(bareMulti), "baseline-extra-lines-in-reads")
}

// discardServer accepts one connection at a time on loopback and reads
// everything with a large buffer; each connection's byte count goes to counts.
func discardServer(b *testing.B) (addr string, counts <-chan int64) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	ch := make(chan int64, 1)
	go func() {
		buf := make([]byte, 1<<20)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			var n int64
			for {
				m, err := c.Read(buf)
				n += int64(m)
				if err != nil {
					break
				}
			}
			c.Close()
			ch <- n
		}
	}()
	return ln.Addr().String(), ch
}

// onlyReader and onlyWriter hide io.WriterTo and io.ReaderFrom, so that
// io.CopyBuffer does plain read(2)/write(2) with the given buffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// startHead starts `head -c size /dev/zero` with its stdout as a pipe.
func startHead(b *testing.B, head string, size int64) (*exec.Cmd, *os.File) {
	b.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(head, "-c", strconv.FormatInt(size, 10), "/dev/zero")
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pw.Close()
	return cmd, pr
}

// bareCopy times head → pipe → this process → loopback TCP → discarding
// peer. With plain=false the copy is io.Copy, which tries sendfile(2) and,
// since a pipe cannot be sent that way, falls back to a 32 KiB read/write
// loop; with plain=true it is read/write through a 256 KiB buffer, the
// bootstrap's buffer size.
func bareCopy(b *testing.B, head, addr string, counts <-chan int64, plain bool) time.Duration {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	cmd, pr := startHead(b, head, benchStreamSize)
	var n int64
	if plain {
		n, err = io.CopyBuffer(onlyWriter{conn}, onlyReader{pr}, make([]byte, chunked.CopyBufferSize))
	} else {
		n, err = io.Copy(conn, pr)
	}
	pr.Close()
	conn.Close()
	got := <-counts
	d := time.Since(start)
	if werr := cmd.Wait(); err != nil || werr != nil || n != benchStreamSize || got != benchStreamSize {
		b.Fatalf("bare copy: %v, head: %v, copied %d, received %d", err, werr, n, got)
	}
	return d
}

// chunkedCopy times head → pipe → this process → chunked.Stream.ReadFrom →
// loopback TCP → runtimeapitest's chunk parser (data not recorded or hashed):
// the bootstrap's copy path and receiver without the bootstrap process. It
// also returns the number of chunks received.
func chunkedCopy(b *testing.B, head string, srv *runtimeapitest.Server, client *http.Client) (time.Duration, int) {
	b.Helper()
	id := srv.Enqueue(runtimeapitest.Event{Payload: []byte(`{}`)})
	resp, err := client.Get("http://" + srv.Addr() + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get(runtimeapitest.HeaderRequestID); resp.StatusCode != http.StatusOK || got != id {
		b.Fatalf("/next: %d, request id %q (want %q)", resp.StatusCode, got, id)
	}
	start := time.Now()
	cmd, pr := startHead(b, head, benchStreamSize)
	s, err := chunked.Open(context.Background(), nil, chunked.Request{
		Addr: srv.Addr(),
		Path: "/2018-06-01/runtime/invocation/" + id + "/response",
		Header: httpwire.Header{
			"Content-Type":                    {"application/octet-stream"},
			runtimeapitest.HeaderResponseMode: {"streaming"},
		},
		Trailer: []string{runtimeapitest.HeaderErrorType, runtimeapitest.HeaderErrorBody},
	})
	if err != nil {
		b.Fatal(err)
	}
	n, err := s.ReadFrom(pr)
	pr.Close()
	werr := cmd.Wait()
	r, cerr := s.Close(nil)
	d := time.Since(start)
	if err != nil || werr != nil || cerr != nil || n != benchStreamSize || r.StatusCode != http.StatusAccepted {
		b.Fatalf("chunked copy: %v, head: %v, close: %v, %d bytes", err, werr, cerr, n)
	}
	inv, err := srv.Wait(benchCtx(b, time.Minute), id)
	if err != nil || inv.BodySize != benchStreamSize || inv.Truncated {
		b.Fatalf("chunked copy received: %v", err)
	}
	return d, len(inv.Chunks)
}

// BenchmarkThroughput streams 1 GiB of `head -c 1073741824 /dev/zero` through
// the bootstrap to runtimeapitest (recording and hashing off). ns/op and MB/s
// are the bootstrap's alone: each op also runs, with the timer stopped, three
// baselines that start the same handler from the benchmark:
//
//	bare:    io.Copy(tcpConn, pipe) (sendfile fails for a pipe: a 32 KiB read/write loop), to a peer discarding with a 1 MiB buffer
//	plain:   the same with read/write through a 256 KiB buffer, the bootstrap's size
//	chunked: chunked.Stream.ReadFrom(pipe) into runtimeapitest's parser, as the bootstrap does
//
// ratio-vs-bare is the target (≥ 0.80); the others tell where a gap comes from.
func BenchmarkThroughput(b *testing.B) {
	head := needTool(b, "head")
	if _, err := os.Stat("/dev/zero"); err != nil {
		b.Skip(err)
	}
	srv := benchServer(b, true)
	p := startBench(b, srv, head, "-c", strconv.Itoa(benchStreamSize), "/dev/zero")
	srv2 := benchServer(b, true)
	client := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(client.CloseIdleConnections)
	addr, counts := discardServer(b)

	// Wall time and CPU time (this process: receiver, and sender for the
	// baselines; the bootstrap: sender) of each path, summed over the ops.
	type cost struct{ wall, self, boot time.Duration }
	var ours, bare, plain, chunk cost
	var chunks, chunkedChunks int // chunks received: ours, and the chunked baseline's
	timed := func(c *cost, bootPid int, run func() time.Duration) {
		self0, boot0 := selfCPU(b), time.Duration(0)
		if bootPid > 0 {
			boot0 = cpuTime(b, bootPid)
		}
		c.wall += run()
		c.self += selfCPU(b) - self0
		if bootPid > 0 {
			c.boot += cpuTime(b, bootPid) - boot0
		}
	}
	b.SetBytes(benchStreamSize)
	for b.Loop() {
		timed(&ours, p.Pid(), func() time.Duration {
			start := time.Now()
			inv := invokeOK(b, srv, p, benchStreamSize)
			chunks += len(inv.Chunks)
			return time.Since(start)
		})
		b.StopTimer()
		timed(&bare, 0, func() time.Duration { return bareCopy(b, head, addr, counts, false) })
		timed(&plain, 0, func() time.Duration { return bareCopy(b, head, addr, counts, true) })
		timed(&chunk, 0, func() time.Duration {
			d, k := chunkedCopy(b, head, srv2, client)
			chunkedChunks += k
			return d
		})
		b.StartTimer()
	}
	n := float64(b.N)
	mbps := func(c cost) float64 { return n * benchStreamSize / 1e6 / c.wall.Seconds() }
	b.ReportMetric(mbps(bare), "bare-MB/s")
	b.ReportMetric(mbps(plain), "plain-rw-MB/s")
	b.ReportMetric(mbps(chunk), "chunked-MB/s")
	b.ReportMetric(bare.wall.Seconds()/ours.wall.Seconds(), "ratio-vs-bare")
	b.ReportMetric(plain.wall.Seconds()/ours.wall.Seconds(), "ratio-vs-plain-rw")
	b.ReportMetric(chunk.wall.Seconds()/ours.wall.Seconds(), "ratio-vs-chunked")
	// CPU per GiB of copying (sender + receiver; the handler's own CPU is
	// not counted): where the time goes when the two cores are the limit.
	// bootstrap-cpu-% near 100 would mean the bootstrap itself is the
	// bottleneck.
	perGiB := func(d time.Duration) float64 { return ms(d) / n }
	b.ReportMetric(perGiB(ours.self+ours.boot), "cpu-ms/GiB")
	b.ReportMetric(perGiB(ours.boot), "bootstrap-cpu-ms/GiB")
	b.ReportMetric(perGiB(bare.self), "bare-cpu-ms/GiB")
	b.ReportMetric(perGiB(plain.self), "plain-rw-cpu-ms/GiB")
	b.ReportMetric(perGiB(chunk.self), "chunked-cpu-ms/GiB")
	b.ReportMetric(100*ours.boot.Seconds()/ours.wall.Seconds(), "bootstrap-cpu-%")
	// Mean chunk size: each chunk is one read of the handler's pipe.
	b.ReportMetric(n*benchStreamSize/1024/float64(chunks), "chunk-KiB")
	b.ReportMetric(n*benchStreamSize/1024/float64(chunkedChunks), "chunked-chunk-KiB")
}

// selfCPU returns this process's user+system CPU time so far.
func selfCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTime returns the user+system CPU time of a live process so far, from
// /proc/<pid>/stat (in clock ticks, assumed 100 Hz as on every Linux port
// Go supports).
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the parenthesized command: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 13 {
		b.Fatalf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("unexpected /proc/%d/stat: %q", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// BenchmarkInvocationOverhead compares, invocation by invocation, the
// trivial handler `true` run through the bootstrap (Enqueue + Wait on
// runtimeapitest: /next, fork/exec, reap, an empty streamed /response, 202)
// with a bare exec.Command(true).Run() from the benchmark. One op is a batch
// of 50 of each, interleaved.
func BenchmarkInvocationOverhead(b *testing.B) {
	const batch = 50
	truePath := needTool(b, "true")
	srv := benchServer(b, false)
	p := startBench(b, srv, "true")
	for range 3 { // warm up: connections, page cache
		invokeOK(b, srv, p, 0)
		if err := exec.Command(truePath).Run(); err != nil {
			b.Fatal(err)
		}
	}
	var ours, bare []time.Duration
	for b.Loop() {
		for range batch {
			start := time.Now()
			invokeOK(b, srv, p, 0)
			ours = append(ours, time.Since(start))

			start = time.Now()
			if err := exec.Command(truePath).Run(); err != nil {
				b.Fatal(err)
			}
			bare = append(bare, time.Since(start))
		}
	}
	var sumOurs, sumBare time.Duration
	for i := range ours {
		sumOurs += ours[i]
		sumBare += bare[i]
	}
	n := time.Duration(len(ours))
	b.ReportMetric(ms(sumOurs/n), "ms/invocation")
	b.ReportMetric(ms(sumBare/n), "baseline-ms")
	b.ReportMetric(ms((sumOurs-sumBare)/n), "overhead-ms")
	mo, mb := quantile(ours, 0.5), quantile(bare, 0.5)
	b.ReportMetric(ms(mo), "median-ms/invocation")
	b.ReportMetric(ms(mb), "median-baseline-ms")
	b.ReportMetric(ms(mo-mb), "median-overhead-ms")
}

// BenchmarkStartup measures process start → first GET /next: the bootstrap
// (handler `true`) is started, the server's first /next awaited, then the
// bootstrap is stopped with SIGTERM. One op is a batch of 10 starts. For
// scale, bare-exec-ms is the median of exec.Command(true).Run() in the
// same run.
func BenchmarkStartup(b *testing.B) {
	const batch = 10
	truePath := needTool(b, "true")
	srv := benchServer(b, false)
	var starts, execs []time.Duration
	for b.Loop() {
		for range batch {
			calls := srv.NextCalls() + 1 // the previous bootstrap has exited
			start := time.Now()
			p := startBench(b, srv, "true")
			if err := srv.WaitNextCalls(benchCtx(b, 30*time.Second), calls); err != nil {
				b.Fatalf("%v; stderr:\n%s", err, p.Stderr())
			}
			starts = append(starts, time.Since(start))
			stopBench(b, p)

			start = time.Now()
			if err := exec.Command(truePath).Run(); err != nil {
				b.Fatal(err)
			}
			execs = append(execs, time.Since(start))
		}
	}
	b.ReportMetric(ms(quantile(starts, 0.5)), "median-ms")
	b.ReportMetric(ms(quantile(starts, 0.9)), "p90-ms")
	b.ReportMetric(ms(quantile(execs, 0.5)), "bare-exec-ms")
}

// BenchmarkPeakRSS starts a fresh bootstrap per op, streams 1 GiB through it
// (`head -c` of /dev/zero) and reads its VmHWM before stopping it.
// peak-RSS-MB is the highest over the ops; idle-RSS-MB is VmHWM at the
// first /next, before any invocation.
func BenchmarkPeakRSS(b *testing.B) {
	head := needTool(b, "head")
	if _, err := os.Stat("/dev/zero"); err != nil {
		b.Skip(err)
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip(err)
	}
	srv := benchServer(b, true)
	var peak, idle int64
	for b.Loop() {
		calls := srv.NextCalls() + 1 // the previous bootstrap has exited
		p := startBench(b, srv, head, "-c", strconv.Itoa(benchStreamSize), "/dev/zero")
		if err := srv.WaitNextCalls(benchCtx(b, 30*time.Second), calls); err != nil {
			b.Fatalf("%v; stderr:\n%s", err, p.Stderr())
		}
		hwm, err := p.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}
		idle = max(idle, hwm)
		invokeOK(b, srv, p, benchStreamSize)
		hwm, err = p.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, hwm)
		stopBench(b, p)
	}
	b.ReportMetric(float64(peak)/1e6, "peak-RSS-MB")
	b.ReportMetric(float64(idle)/1e6, "idle-RSS-MB")
}

// strippedBin builds the release-style binary once: static, trimmed paths,
// no symbol table or DWARF.
func strippedBin(b *testing.B) string {
	b.Helper()
	a := &benchArtifacts
	a.strippedOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(bootstrapBin), "bootstrap-stripped")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			a.strippedErr = fmt.Errorf("building the stripped bootstrap: %w\n%s", err, out)
			return
		}
		a.stripped = bin
	})
	if a.strippedErr != nil {
		b.Fatal(a.strippedErr)
	}
	return a.stripped
}

// BenchmarkBinarySize reports the size of the stripped static binary
// (CGO_ENABLED=0 go build -trimpath -ldflags '-s -w'); the loop does nothing.
func BenchmarkBinarySize(b *testing.B) {
	bin := strippedBin(b)
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			b.Fatalf("%s is dynamically linked (has PT_INTERP)", bin)
		}
	}
	unstripped, err := os.Stat(bootstrapBin)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
	}
	b.ReportMetric(float64(fi.Size())/1e6, "binary-MB")
	b.ReportMetric(float64(unstripped.Size())/1e6, "unstripped-MB")
}
