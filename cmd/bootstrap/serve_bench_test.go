package main

// Benchmarks of `bootstrap serve` (issue 8), each side by side with the
// bootstrap alone against runtimeapitest's strict server in the same run,
// in alternating rounds so that a busy machine weighs on both alike:
//
//	BenchmarkServeFirstByte   added time to first byte through the Function URL front and InvokeWithResponseStream
//	BenchmarkServeThroughput  one 256 MiB stream through each path
//	BenchmarkServePeakRSS     serve's peak RSS with 50 concurrent slow streams (--concurrency 50)
//
//	go test -run='^$' -bench=BenchmarkServe -benchtime=30x ./cmd/bootstrap/

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/eventstream"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// Paths of serve's Invoke APIs for the default function name.
const (
	streamPath = "/2021-11-15/functions/function/response-streaming-invocations"
)

// serveStreamSize is the size of the throughput stream: 256 MiB.
const serveStreamSize = 256 << 20

// startServeB starts serve for a benchmark and returns it and its base URL.
func startServeB(b *testing.B, args ...string) (*bootstraptest.Process, string) {
	b.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)
	p := bootstraptest.Start(b, bootstrapBin, bootstraptest.Options{Args: args, TaskRoot: handlersDir(b)})
	if !p.WaitStderr("Ctrl-C stops.", 20*time.Second) {
		b.Fatalf("serve did not start:\n%s", p.Stderr())
	}
	m := listenLine.FindStringSubmatch(p.Stderr())
	if m == nil {
		b.Fatal("no Function URL line")
	}
	return p, m[1]
}

// serveClient is an HTTP client that keeps enough idle connections for the
// concurrent benchmark.
func serveClient(b *testing.B) *http.Client {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(c.CloseIdleConnections)
	return c
}

// fetch sends a request to serve (a GET of the Function URL front, or for
// path streamPath the InvokeWithResponseStream call with payload {}) and
// reads the response to its end: n is the body bytes (the PayloadChunks'
// for streamPath), first is when the first of them came. It does not call
// b.Fatal, so goroutines may use it.
func fetch(c *http.Client, base, path string) (n int64, first time.Time, err error) {
	method, body := http.MethodGet, ""
	if path == streamPath {
		method, body = http.MethodPost, "{}"
	}
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, first, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, first, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return 0, first, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
	}
	if path != streamPath {
		one := make([]byte, 1)
		if _, err := io.ReadFull(resp.Body, one); err != nil {
			return 0, first, fmt.Errorf("%s %s: %w", method, path, err)
		}
		first = time.Now()
		m, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return 0, first, fmt.Errorf("%s %s: %w", method, path, err)
		}
		return 1 + m, first, nil
	}
	d := eventstream.NewDecoder(resp.Body)
	for {
		p, err := nextPayload(d)
		if err == io.EOF {
			return n, first, nil
		}
		if err != nil {
			return n, first, fmt.Errorf("%s %s: %w", method, path, err)
		}
		if n == 0 && len(p) > 0 {
			first = time.Now()
		}
		n += int64(len(p))
	}
}

// nextPayload returns the next PayloadChunk's payload, or io.EOF after an
// InvokeComplete without an ErrorCode.
func nextPayload(d *eventstream.Decoder) ([]byte, error) {
	m, err := d.Decode()
	if err != nil {
		return nil, err
	}
	typ, _ := m.Get(":event-type")
	switch typ.String() {
	case "PayloadChunk":
		return m.Payload, nil
	case "InvokeComplete":
		if bytes.Contains(m.Payload, []byte(`"ErrorCode"`)) {
			return nil, fmt.Errorf("InvokeComplete: %s", m.Payload)
		}
		return nil, io.EOF
	}
	return nil, fmt.Errorf("unexpected event %q", typ.String())
}

// servePaths are the two streamed paths of serve the benchmarks compare.
var servePaths = []struct{ name, path string }{
	{"function-url", "/"},
	{"response-stream", streamPath},
}

// BenchmarkServeFirstByte: request sent → first body byte, with the
// compiled ticker handler writing one line (so the handler's own start-up
// is a few milliseconds, not an interpreter's). Each op is one round of
// three: the bootstrap alone (runtimeapitest: event queued → first chunk
// read, the handler's start included), then serve's Function URL front and
// its InvokeWithResponseStream (a plain HTTP/1.1 client, connection kept).
// added-*-ms is serve's figure minus the bootstrap's, per quantile.
func BenchmarkServeFirstByte(b *testing.B) {
	ticker := tickerBin(b)
	srv := benchServer(b, false)
	alone := startBench(b, srv, ticker, "1")
	_, base := startServeB(b, "--", ticker, "1")
	c := serveClient(b)
	var bare []time.Duration
	got := make([][]time.Duration, len(servePaths))
	for b.Loop() {
		start := time.Now()
		inv := invokeOK(b, srv, alone, -1)
		if len(inv.Chunks) == 0 {
			b.Fatal("bootstrap alone: no chunk")
		}
		bare = append(bare, inv.Chunks[0].At.Sub(start))
		for i, sp := range servePaths {
			start := time.Now()
			n, first, err := fetch(c, base, sp.path)
			if err != nil || n == 0 {
				b.Fatalf("%s: %d bytes, %v", sp.name, n, err)
			}
			got[i] = append(got[i], first.Sub(start))
		}
	}
	bmed, bp99 := quantile(bare, 0.5), quantile(bare, 0.99)
	b.ReportMetric(ms(bmed), "alone-median-ms")
	b.ReportMetric(ms(bp99), "alone-p99-ms")
	for i, sp := range servePaths {
		med, p99 := quantile(got[i], 0.5), quantile(got[i], 0.99)
		b.ReportMetric(ms(med), sp.name+"-median-ms")
		b.ReportMetric(ms(p99), sp.name+"-p99-ms")
		b.ReportMetric(ms(med-bmed), sp.name+"-added-median-ms")
		b.ReportMetric(ms(p99-bp99), sp.name+"-added-p99-ms")
	}
}

// BenchmarkServeThroughput streams serveStreamSize bytes of `head -c` from
// /dev/zero through the bootstrap alone (to runtimeapitest, recording and
// hashing off), serve's Function URL front and its InvokeWithResponseStream
// (decoded, every PayloadChunk counted), one after another in each op.
// Above 200 MB the loop logs that Lambda may cut the stream; serve does not.
func BenchmarkServeThroughput(b *testing.B) {
	head := needTool(b, "head")
	handler := []string{head, "-c", strconv.Itoa(serveStreamSize), "/dev/zero"}
	srv := benchServer(b, true)
	alone := startBench(b, srv, handler...)
	_, base := startServeB(b, append([]string{"--"}, handler...)...)
	c := serveClient(b)
	var bare time.Duration
	got := make([]time.Duration, len(servePaths))
	for b.Loop() {
		start := time.Now()
		invokeOK(b, srv, alone, serveStreamSize)
		bare += time.Since(start)
		for i, sp := range servePaths {
			start := time.Now()
			n, _, err := fetch(c, base, sp.path)
			got[i] += time.Since(start)
			if err != nil || n != serveStreamSize {
				b.Fatalf("%s: %d bytes (want %d), %v", sp.name, n, serveStreamSize, err)
			}
		}
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * serveStreamSize / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(bare), "alone-MB/s")
	for i, sp := range servePaths {
		b.ReportMetric(mbps(got[i]), sp.name+"-MB/s")
		b.ReportMetric(bare.Seconds()/got[i].Seconds(), sp.name+"-ratio-vs-alone")
	}
}

// Slow streams of BenchmarkServePeakRSS: concurrent requests, each a ticker
// of slowLines lines slowInterval apart (about 1 s).
const (
	slowStreams  = 50
	slowLines    = 20
	slowInterval = "50ms"
)

// want is fetch's error, or one for an empty body.
func want(n int64, _ time.Time, err error) error {
	if err == nil && n == 0 {
		err = errors.New("empty body")
	}
	return err
}

// firstErr drains errs, whose senders are done, and returns the first error.
func firstErr(errs chan error) error {
	var first error
	for {
		select {
		case err := <-errs:
			if first == nil {
				first = err
			}
		default:
			return first
		}
	}
}

// BenchmarkServePeakRSS: the peak RSS (VmHWM) of a fresh serve process
// with --concurrency 50 while 50 requests stream at once (25 through the
// Function URL front, 25 through InvokeWithResponseStream), and of a fresh
// bootstrap alone running 50 loops (AWS_LAMBDA_MAX_CONCURRENCY=50) against
// runtimeapitest for 50 such invocations at once. The handlers' own memory
// is not counted (they are other processes).
func BenchmarkServePeakRSS(b *testing.B) {
	ticker := tickerBin(b)
	handler := []string{ticker, strconv.Itoa(slowLines), slowInterval}
	var servePeak, alonePeak, serveIdle int64
	for b.Loop() {
		// The bootstrap alone.
		srv := runtimeapitest.New(b, runtimeapitest.Options{Concurrency: slowStreams})
		alone := bootstraptest.Start(b, bootstrapBin, bootstraptest.Options{
			RuntimeAPI: srv.Addr(),
			Args:       append([]string{"--"}, handler...),
			TaskRoot:   b.TempDir(),
			Env:        []string{"AWS_LAMBDA_MAX_CONCURRENCY=" + strconv.Itoa(slowStreams)},
		})
		var wg sync.WaitGroup
		errs := make(chan error, slowStreams)
		for range slowStreams {
			wg.Go(func() {
				inv, err := srv.Invoke(benchCtx(b, time.Minute), runtimeapitest.Event{Payload: []byte(`{}`)})
				if err == nil && (inv.Status != http.StatusAccepted || inv.BodySize == 0) {
					err = fmt.Errorf("status %d, %d bytes", inv.Status, inv.BodySize)
				}
				errs <- err
			})
		}
		wg.Wait()
		if err := firstErr(errs); err != nil {
			b.Fatalf("bootstrap alone: %v; stderr:\n%s", err, alone.Stderr())
		}
		hwm, err := alone.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}
		alonePeak = max(alonePeak, hwm)
		stopBench(b, alone)
		srv.Close()

		// serve.
		p, base := startServeB(b, append([]string{"--concurrency", strconv.Itoa(slowStreams), "--"}, handler...)...)
		hwm, err = p.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}
		serveIdle = max(serveIdle, hwm)
		c := serveClient(b)
		for i := range slowStreams {
			sp := servePaths[i%len(servePaths)]
			wg.Go(func() { errs <- want(fetch(c, base, sp.path)) })
		}
		wg.Wait()
		if err := firstErr(errs); err != nil {
			b.Fatalf("serve: %v; stderr:\n%s", err, p.Stderr())
		}
		hwm, err = p.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}
		servePeak = max(servePeak, hwm)
		stopBench(b, p)
	}
	b.ReportMetric(float64(servePeak)/1e6, "serve-peak-RSS-MB")
	b.ReportMetric(float64(serveIdle)/1e6, "serve-idle-RSS-MB")
	b.ReportMetric(float64(alonePeak)/1e6, "alone-peak-RSS-MB")
}
