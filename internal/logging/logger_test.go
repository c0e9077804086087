package logging

import (
	"bytes"
	"errors"
	"log"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestLoggerMatchesZap: for the same core, a Logger writes byte for byte the
// line zap's own Logger writes, for each field constructor, With and every
// level, in both formats.
func TestLoggerMatchesZap(t *testing.T) {
	type call struct {
		name string
		do   func(ours *Logger, theirs *zap.Logger)
	}
	errBoom := errors.New("boom")
	calls := []call{
		{"string, int, bool", func(o *Logger, z *zap.Logger) {
			o.Info("m", String("s", "a\"b\n"), Int("i", -3), Int64("j", 1<<40), Bool("t", true), Bool("f", false))
			z.Info("m", zap.String("s", "a\"b\n"), zap.Int("i", -3), zap.Int64("j", 1<<40), zap.Bool("t", true), zap.Bool("f", false))
		}},
		{"duration, strings", func(o *Logger, z *zap.Logger) {
			o.Warn("m", Duration("d", 1500*time.Microsecond), Strings("l", []string{"x", "y z"}))
			z.Warn("m", zap.Duration("d", 1500*time.Microsecond), zap.Strings("l", []string{"x", "y z"}))
		}},
		{"error, nil error", func(o *Logger, z *zap.Logger) {
			o.Error("m", Error(errBoom), Error(nil))
			z.Error("m", zap.Error(errBoom), zap.Error(nil))
		}},
		{"with", func(o *Logger, z *zap.Logger) {
			o.With(String("requestId", "r1")).Info("done", Int("n", 1))
			z.With(zap.String("requestId", "r1")).Info("done", zap.Int("n", 1))
		}},
		{"with, twice", func(o *Logger, z *zap.Logger) {
			o.With(String("a", "1")).With(Int("b", 2)).Warn("done", Bool("c", true))
			z.With(zap.String("a", "1")).With(zap.Int("b", 2)).Warn("done", zap.Bool("c", true))
		}},
		{"log at a level", func(o *Logger, z *zap.Logger) {
			o.Log(zapcore.WarnLevel, "m", Int("n", 2))
			z.Log(zapcore.WarnLevel, "m", zap.Int("n", 2))
			o.Log(zapcore.DebugLevel, "hidden")
			z.Log(zapcore.DebugLevel, "hidden")
		}},
		{"below the level", func(o *Logger, z *zap.Logger) {
			o.Debug("hidden", String("a", "b"))
			z.Debug("hidden", zap.String("a", "b"))
		}},
	}
	cfg := zapcore.EncoderConfig{LevelKey: "level", MessageKey: "message", NameKey: "logger",
		LineEnding: "\n", EncodeLevel: zapcore.CapitalLevelEncoder, EncodeDuration: zapcore.StringDurationEncoder,
		ConsoleSeparator: "\t"}
	for _, enc := range []struct {
		name string
		new  func() zapcore.Encoder
	}{{"json", func() zapcore.Encoder { return zapcore.NewJSONEncoder(cfg) }}, {"console", func() zapcore.Encoder { return zapcore.NewConsoleEncoder(cfg) }}} {
		for _, c := range calls {
			t.Run(enc.name+"/"+c.name, func(t *testing.T) {
				var ours, theirs bytes.Buffer
				o := NewLogger(zapcore.NewCore(enc.new(), zapcore.AddSync(&ours), zapcore.InfoLevel), "streamstrap")
				z := zap.New(zapcore.NewCore(enc.new(), zapcore.AddSync(&theirs), zapcore.InfoLevel)).Named("streamstrap")
				c.do(o, z)
				if ours.String() != theirs.String() {
					t.Errorf("Logger wrote\n%q\nzap wrote\n%q", ours.String(), theirs.String())
				}
			})
		}
	}
}

func TestNilAndNopLoggers(t *testing.T) {
	var l *Logger
	l.Info("nothing")
	if l.With(String("a", "b")) != nil || l.Enabled(zapcore.ErrorLevel) || l.Sync() != nil {
		t.Error("a nil Logger is not inert")
	}
	if Nop().Enabled(zapcore.ErrorLevel) {
		t.Error("Nop is enabled")
	}
	Nop().Error("nothing")
}

func TestStdLog(t *testing.T) {
	s, buf := fixedSink(Text)
	l := s.Logger(zapcore.InfoLevel)
	l.StdLog(zapcore.WarnLevel).Printf("from net/http: %d", 7)
	restore := RedirectStdLog(l)
	log.Printf("from the standard logger")
	restore()
	out := buf.String()
	if !strings.Contains(out, "WARN\tstreamstrap\tfrom net/http: 7\n") || !strings.Contains(out, "INFO\tstreamstrap\tfrom the standard logger\n") {
		t.Errorf("lines:\n%s", out)
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("want two lines, got:\n%s", out)
	}
}
