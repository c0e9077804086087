package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reportLine is serve's REPORT line, its Max Memory Used and what follows.
var reportLine = regexp.MustCompile(`REPORT RequestId: \S+\tDuration: [0-9.]+ ms\tBilled Duration: \d+ ms\tMemory Size: (\d+) MB\tMax Memory Used: (\d+) MB\t([^\n]*)`)

// TestServeReportsPeakMemory: REPORT's Max Memory Used is the handler's
// real peak RSS (from wait4), in the Invoke API's X-Amz-Log-Result and on
// serve's stderr alike, and a handler above --memory gets the warning.
func TestServeReportsPeakMemory(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not in PATH")
	}
	tests := []struct {
		name     string
		handler  []string
		payload  string
		min, max int // Max Memory Used bounds, MB
		warn     bool
	}{
		{"shell handler under --memory", []string{"./serve-raw.sh"}, `"hello"`, 1, 127, false},
		// 210 MiB, every page written: bytearray(n) zeroes its buffer.
		{"python over --memory", []string{python, "-c", "b = bytearray(210 << 20); print(len(b))"}, `{}`, 200, 1024, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, base := startServe(t, nil, append([]string{"--memory", "128", "--"}, tt.handler...)...)
			req, _ := http.NewRequest(http.MethodPost, base+"/2015-03-31/functions/function/invocations", strings.NewReader(tt.payload))
			req.Header.Set("X-Amz-Log-Type", "Tail")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
				t.Fatalf("Invoke: %s %v %s", resp.Status, resp.Header, body)
			}
			tail, _ := base64.StdEncoding.DecodeString(resp.Header.Get("X-Amz-Log-Result"))
			if !p.WaitStderr("REPORT RequestId:", 10*time.Second) {
				t.Fatalf("no REPORT line on stderr:\n%s", p.Stderr())
			}
			for where, logs := range map[string]string{"X-Amz-Log-Result": string(tail), "stderr": p.Stderr()} {
				m := reportLine.FindStringSubmatch(logs)
				if m == nil {
					t.Errorf("%s: no REPORT line in %q", where, logs)
					continue
				}
				used, _ := strconv.Atoi(m[2])
				if m[1] != "128" || used < tt.min || used > tt.max || strings.Contains(m[3], "Warning") != tt.warn {
					t.Errorf("%s: Memory Size %s MB, Max Memory Used %d MB (want %d to %d), after it %q (warning %v)",
						where, m[1], used, tt.min, tt.max, m[3], tt.warn)
				}
			}
		})
	}
}
