package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
)

// startServeB starts serve for a benchmark and returns its base URL.
func startServeB(b *testing.B, args ...string) string {
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
	return m[1]
}

// BenchmarkServeFirstByte: the time from sending a request to its first
// body byte through serve's Function URL front and InvokeWithResponseStream
// (each including the handler's start), median and p99 over b.N requests.
func BenchmarkServeFirstByte(b *testing.B) {
	for _, tt := range []struct {
		name, path, body string
		args             []string
	}{
		{"function-url", "/headers", "", []string{"--mode", "http", "--", "./serve-http.py"}},
		{"response-stream", "/2021-11-15/functions/function/response-streaming-invocations", `"hello"`, []string{"--", "./serve-raw.sh"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			base := startServeB(b, tt.args...)
			var ttfb []time.Duration
			for b.Loop() {
				start := time.Now()
				method := http.MethodGet
				if tt.body != "" {
					method = http.MethodPost
				}
				req, _ := http.NewRequest(method, base+tt.path, strings.NewReader(tt.body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				one := make([]byte, 1)
				if _, err := io.ReadFull(resp.Body, one); err != nil {
					b.Fatal(err)
				}
				ttfb = append(ttfb, time.Since(start))
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			slices.Sort(ttfb)
			b.ReportMetric(float64(ttfb[len(ttfb)/2].Microseconds())/1000, "ms-median-ttfb")
			b.ReportMetric(float64(ttfb[len(ttfb)*99/100].Microseconds())/1000, "ms-p99-ttfb")
		})
	}
}
