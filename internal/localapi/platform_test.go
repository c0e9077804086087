package localapi

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLogTailKeepsTheLast4KB(t *testing.T) {
	tests := []struct {
		name  string
		lines int
		size  int
	}{
		{"short", 3, 10},
		{"exactly over", 1, LogTailSize},
		{"long", 1000, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lt logTail
			var all []byte
			for i := range tt.lines {
				line := bytes.Repeat([]byte{byte('a' + i%26)}, tt.size)
				lt.add(line)
				all = append(append(all, line...), '\n')
			}
			want := all[max(0, len(all)-LogTailSize):]
			if got := lt.bytes(); !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, want the last %d", len(got), len(want))
			}
		})
	}
}

func TestReportLine(t *testing.T) {
	s := &Server{opts: Options{MemoryMB: 128}}
	p := &pending{id: "id-1"}
	tests := []struct {
		peak     int64
		warn     bool
		usedText string
	}{
		{50 << 20, false, "Max Memory Used: 50 MB\t"},
		{200 << 20, true, "Max Memory Used: 200 MB\t"},
	}
	for _, tt := range tests {
		line := string(s.reportLine(p, &Result{Outcome: "response", Duration: 1500 * time.Microsecond, PeakRSS: tt.peak}))
		if !strings.HasPrefix(line, "REPORT RequestId: id-1\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"+tt.usedText) ||
			strings.Contains(line, "Warning") != tt.warn {
			t.Errorf("peak %d: %q", tt.peak, line)
		}
	}
	s.opts.JSONLog = true
	if line := string(s.reportLine(p, &Result{Outcome: "error", ErrorType: "Runtime.ExitError"})); !strings.Contains(line, `"type":"platform.report"`) ||
		!strings.Contains(line, `"status":"error"`) || !strings.Contains(line, `"memorySizeMB":128`) {
		t.Errorf("JSON: %s", line)
	}
}
