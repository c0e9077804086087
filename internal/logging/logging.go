// Package logging builds the bootstrap's logger and forwards handler stderr
// to the function's log, in the format Lambda's advanced logging controls ask
// for: plain lines by default, one JSON record per line when
// AWS_LAMBDA_LOG_FORMAT=JSON.
//
// The bootstrap's own records and the handler's lines share one locked
// writer and each is written with a single Write call, so two lines never mix
// mid-line, even with several handlers running at once.
package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

// Format is the log format chosen by AWS_LAMBDA_LOG_FORMAT.
type Format int

const (
	// Text writes human-readable lines; handler lines pass through unchanged.
	Text Format = iota
	// JSON writes one JSON object per line, as Lambda's JSON log format and
	// Lambda Managed Instances require.
	JSON
)

// ParseFormat reads an AWS_LAMBDA_LOG_FORMAT value; anything but JSON
// (case-insensitive) is Text, as Lambda itself treats it.
func ParseFormat(s string) Format {
	if strings.EqualFold(strings.TrimSpace(s), "json") {
		return JSON
	}
	return Text
}

// parseLevel reads an AWS_LAMBDA_LOG_LEVEL (or --log-level) value: TRACE,
// DEBUG, INFO, WARN, ERROR or FATAL, case-insensitive; empty means INFO.
func parseLevel(s string) (zapcore.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "INFO":
		return zapcore.InfoLevel, nil
	case "TRACE", "DEBUG":
		return zapcore.DebugLevel, nil
	case "WARN", "WARNING":
		return zapcore.WarnLevel, nil
	case "ERROR":
		return zapcore.ErrorLevel, nil
	case "FATAL":
		return zapcore.FatalLevel, nil
	}
	return zapcore.InfoLevel, fmt.Errorf("unknown log level %q (want TRACE, DEBUG, INFO, WARN, ERROR or FATAL)", s)
}

// Sink is the one destination of every log line of the process.
type Sink struct {
	mu     sync.Mutex
	w      io.Writer
	format Format
	now    func() time.Time
}

// newSink returns a Sink writing to w (normally os.Stderr) in format f.
func newSink(w io.Writer, f Format) *Sink {
	return &Sink{w: w, format: f, now: time.Now}
}

// Format reports the sink's format.
func (s *Sink) Format() Format { return s.format }

// Write writes p with one call on the underlying writer, under the sink's
// lock; zap's encoders hand it whole records.
func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Sync is a no-op; stderr is unbuffered.
func (s *Sink) Sync() error { return nil }

// Logger returns the bootstrap's own logger at the given level.
func (s *Sink) Logger(level zapcore.Level) *Logger {
	cfg := zapcore.EncoderConfig{
		TimeKey:        "timestamp",
		LevelKey:       "level",
		MessageKey:     "message",
		NameKey:        "logger",
		StacktraceKey:  "stackTrace",
		LineEnding:     "\n",
		EncodeTime:     zapcore.TimeEncoderOfLayout("2006-01-02T15:04:05.000Z07:00"),
		EncodeLevel:    zapcore.CapitalLevelEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
	}
	var enc zapcore.Encoder
	if s.format == JSON {
		enc = zapcore.NewJSONEncoder(cfg)
	} else {
		cfg.ConsoleSeparator = "\t"
		enc = zapcore.NewConsoleEncoder(cfg)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(s), level)
	return NewLogger(core, "streamstrap")
}

// HandlerLine writes one line of a handler's stderr. In Text format the line
// is written as is; in JSON format it becomes
// {"timestamp","level":"INFO","requestId","message"}, unless the line already
// is a JSON object, which passes through untouched so it is not encoded twice.
func (s *Sink) HandlerLine(requestID string, line []byte) {
	var buf bytes.Buffer
	if s.format == JSON {
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 1 && trimmed[0] == '{' && json.Valid(trimmed) {
			buf.Grow(len(trimmed) + 1)
			buf.Write(trimmed)
		} else {
			rec := struct {
				Timestamp string `json:"timestamp"`
				Level     string `json:"level"`
				RequestID string `json:"requestId,omitempty"`
				Message   string `json:"message"`
			}{s.now().UTC().Format("2006-01-02T15:04:05.000Z"), "INFO", requestID, string(line)}
			b, _ := json.Marshal(rec) // strings only: cannot fail
			buf.Write(b)
		}
	} else {
		buf.Grow(len(line) + 1)
		buf.Write(line)
	}
	buf.WriteByte('\n')
	_, _ = s.Write(buf.Bytes())
}

// New returns the Sink on w in format and the bootstrap's logger on it at
// level (a parseLevel value), the pair every command of the bootstrap logs
// with.
func New(w io.Writer, format Format, level string) (*Sink, *Logger, error) {
	lvl, err := parseLevel(level)
	if err != nil {
		return nil, nil, err
	}
	sink := newSink(w, format)
	return sink, sink.Logger(lvl), nil
}
