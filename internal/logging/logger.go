package logging

import (
	"bytes"
	"log"
	"time"

	"go.uber.org/zap/zapcore"
)

// Logger writes the bootstrap's own lines through a zapcore.Core: zap's
// encoders, levels and fields, without package zap's Logger. Package zap
// imports net/http (for AtomicLevel's ServeHTTP), and so net/http's and
// crypto/tls's package initialisation, which cost about 2 to 4 ms of CPU at
// every cold start and 1.9 MB of binary (BENCHMARKS.md); zapcore imports
// neither.
//
// A Logger is safe for concurrent use. A nil *Logger, like NewLogger(nil),
// discards everything.
type Logger struct {
	core   zapcore.Core
	name   string
	fields []zapcore.Field // With's, written before each line's own
}

// NewLogger returns a Logger that writes to core under the logger name name
// ("" for none). A nil core discards every line.
func NewLogger(core zapcore.Core, name string) *Logger {
	if core == nil {
		core = zapcore.NewNopCore()
	}
	return &Logger{core: core, name: name}
}

// Nop returns a Logger that discards everything.
func Nop() *Logger { return NewLogger(nil, "") }

// With returns a Logger that adds fields to every line it writes, before
// the line's own. They are encoded with each line, not here as zap's With
// does: the logger of an invocation writes one line or none, and an eager
// With (a clone of the encoder and its buffer) cost more than that line.
func (l *Logger) With(fields ...zapcore.Field) *Logger {
	if l == nil || len(fields) == 0 {
		return l
	}
	all := make([]zapcore.Field, 0, len(l.fields)+len(fields))
	return &Logger{core: l.core, name: l.name, fields: append(append(all, l.fields...), fields...)}
}

// Enabled reports whether a line at lvl would be written.
func (l *Logger) Enabled(lvl zapcore.Level) bool { return l != nil && l.core.Enabled(lvl) }

// Log writes msg and fields at lvl, as zap's Logger.Log: for a line whose
// level the caller decides.
func (l *Logger) Log(lvl zapcore.Level, msg string, fields ...zapcore.Field) {
	l.write(lvl, msg, fields)
}

// Debug writes msg and fields at DEBUG.
func (l *Logger) Debug(msg string, fields ...zapcore.Field) { l.write(zapcore.DebugLevel, msg, fields) }

// Info writes msg and fields at INFO.
func (l *Logger) Info(msg string, fields ...zapcore.Field) { l.write(zapcore.InfoLevel, msg, fields) }

// Warn writes msg and fields at WARN.
func (l *Logger) Warn(msg string, fields ...zapcore.Field) { l.write(zapcore.WarnLevel, msg, fields) }

// Error writes msg and fields at ERROR.
func (l *Logger) Error(msg string, fields ...zapcore.Field) { l.write(zapcore.ErrorLevel, msg, fields) }

// Sync flushes what the core buffers (nothing, for the Sink's cores).
func (l *Logger) Sync() error {
	if l == nil {
		return nil
	}
	return l.core.Sync()
}

// write is zap's Logger.Check and Write without caller, stack or hooks,
// which the bootstrap's lines never carry. A failed write is dropped: the
// log is the only place it could be told.
func (l *Logger) write(lvl zapcore.Level, msg string, fields []zapcore.Field) {
	if l == nil || !l.core.Enabled(lvl) {
		return
	}
	ent := zapcore.Entry{LoggerName: l.name, Time: time.Now(), Level: lvl, Message: msg}
	if ce := l.core.Check(ent, nil); ce != nil {
		if len(l.fields) > 0 {
			fields = append(l.fields[:len(l.fields):len(l.fields)], fields...)
		}
		ce.Write(fields...)
	}
}

// StdLog returns a standard library *log.Logger whose every line becomes
// one line of l at lvl (for net/http's server ErrorLog).
func (l *Logger) StdLog(lvl zapcore.Level) *log.Logger {
	return log.New(stdWriter{l: l, lvl: lvl}, "", 0)
}

// RedirectStdLog sends the standard library's global logger to l at INFO
// (a library's log.Printf becomes one of the bootstrap's lines) and returns
// a function that restores it.
func RedirectStdLog(l *Logger) func() {
	flags, prefix, out := log.Flags(), log.Prefix(), log.Writer()
	log.SetFlags(0)
	log.SetPrefix("")
	log.SetOutput(stdWriter{l: l, lvl: zapcore.InfoLevel})
	return func() {
		log.SetFlags(flags)
		log.SetPrefix(prefix)
		log.SetOutput(out)
	}
}

// stdWriter is the standard logger's output: each Write is one line.
type stdWriter struct {
	l   *Logger
	lvl zapcore.Level
}

func (w stdWriter) Write(p []byte) (int, error) {
	w.l.write(w.lvl, string(bytes.TrimSuffix(p, []byte("\n"))), nil)
	return len(p), nil
}

// Fields, as zap's constructors of the same names build them.

// String is a string field.
func String(key, value string) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.StringType, String: value}
}

// Int is an int field.
func Int(key string, value int) zapcore.Field { return Int64(key, int64(value)) }

// Int64 is an int64 field.
func Int64(key string, value int64) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.Int64Type, Integer: value}
}

// Bool is a bool field.
func Bool(key string, value bool) zapcore.Field {
	var i int64
	if value {
		i = 1
	}
	return zapcore.Field{Key: key, Type: zapcore.BoolType, Integer: i}
}

// Duration is a time.Duration field, encoded as the encoder's
// EncodeDuration says (here a string such as "1.5ms").
func Duration(key string, value time.Duration) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.DurationType, Integer: int64(value)}
}

// Error is the field "error" holding err's message; a nil err adds nothing.
func Error(err error) zapcore.Field {
	if err == nil {
		return zapcore.Field{Type: zapcore.SkipType}
	}
	return zapcore.Field{Key: "error", Type: zapcore.ErrorType, Interface: err}
}

// Strings is a field holding a list of strings.
func Strings(key string, values []string) zapcore.Field {
	return zapcore.Field{Key: key, Type: zapcore.ArrayMarshalerType, Interface: stringArray(values)}
}

type stringArray []string

func (a stringArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, s := range a {
		enc.AppendString(s)
	}
	return nil
}
