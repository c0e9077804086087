package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

func fixedSink(f Format) (*Sink, *bytes.Buffer) {
	var buf bytes.Buffer
	s := newSink(&buf, f)
	s.now = func() time.Time { return time.Date(2026, 11, 25, 16, 0, 0, 123e6, time.UTC) }
	return s, &buf
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"JSON": JSON, "json": JSON, " Json ": JSON, "Text": Text, "": Text, "xml": Text} {
		if got := ParseFormat(in); got != want {
			t.Errorf("ParseFormat(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    zapcore.Level
		wantErr bool
	}{
		{"", zapcore.InfoLevel, false},
		{"trace", zapcore.DebugLevel, false},
		{"DEBUG", zapcore.DebugLevel, false},
		{"Info", zapcore.InfoLevel, false},
		{"WARN", zapcore.WarnLevel, false},
		{"ERROR", zapcore.ErrorLevel, false},
		{"FATAL", zapcore.FatalLevel, false},
		{"loud", zapcore.InfoLevel, true},
	}
	for _, tt := range tests {
		got, err := parseLevel(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseLevel(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestHandlerLine(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		line   string
		want   string
	}{
		{"text passes through", Text, "plain line", "plain line\n"},
		{"text keeps JSON as is", Text, `{"a":1}`, `{"a":1}` + "\n"},
		{"json wraps plain", JSON, `hello "world"`, `{"timestamp":"2026-11-25T16:00:00.123Z","level":"INFO","requestId":"req-1","message":"hello \"world\""}` + "\n"},
		{"json passes objects", JSON, ` {"level":"ERROR","message":"x"} `, `{"level":"ERROR","message":"x"}` + "\n"},
		{"json wraps arrays", JSON, `[1,2]`, `{"timestamp":"2026-11-25T16:00:00.123Z","level":"INFO","requestId":"req-1","message":"[1,2]"}` + "\n"},
		{"json wraps broken objects", JSON, `{"a":`, `{"timestamp":"2026-11-25T16:00:00.123Z","level":"INFO","requestId":"req-1","message":"{\"a\":"}` + "\n"},
		{"json escapes control bytes", JSON, "a\x00b", `{"timestamp":"2026-11-25T16:00:00.123Z","level":"INFO","requestId":"req-1","message":"a\u0000b"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, buf := fixedSink(tt.format)
			s.HandlerLine("req-1", []byte(tt.line))
			if buf.String() != tt.want {
				t.Errorf("got  %q\nwant %q", buf.String(), tt.want)
			}
		})
	}
}

func TestLoggerJSONHasRequestIDAndLevelFilter(t *testing.T) {
	s, buf := fixedSink(JSON)
	log := s.Logger(zapcore.WarnLevel)
	log.Info("hidden", String("requestId", "r"))
	log.Warn("shown", String("requestId", "r-2"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["level"] != "WARN" || rec["message"] != "shown" || rec["requestId"] != "r-2" || rec["timestamp"] == nil {
		t.Errorf("record = %v", rec)
	}
}

func TestLoggerText(t *testing.T) {
	s, buf := fixedSink(Text)
	s.Logger(zapcore.InfoLevel).Info("started", String("requestId", "abc"))
	if got := buf.String(); !strings.Contains(got, "INFO\tstreamstrap\tstarted\t{\"requestId\": \"abc\"}") {
		t.Errorf("text record = %q", got)
	}
}

// TestLinesNeverInterleave writes from many goroutines and checks every
// output line is one of the lines written, whole.
func TestLinesNeverInterleave(t *testing.T) {
	s, buf := fixedSink(Text)
	log := s.Logger(zapcore.InfoLevel)
	long := strings.Repeat("x", 10000)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if g%2 == 0 {
					s.HandlerLine("r", []byte(long))
				} else {
					log.Info("event")
				}
			}
		}(g)
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if line != long && !strings.HasSuffix(line, "\tINFO\tstreamstrap\tevent") {
			t.Fatalf("mixed line: %.80q", line)
		}
	}
}
