package localapi

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// LogTailSize is how much of an invocation's log Result.Log keeps: the 4 KB
// that Lambda returns, base64-encoded, in X-Amz-Log-Result.
const LogTailSize = 4096

// logTail keeps the last LogTailSize bytes of the lines added to it.
type logTail struct {
	buf []byte
}

func (t *logTail) add(line []byte) {
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	if over := len(t.buf) - LogTailSize; over > 0 {
		// Compact in place only once the buffer is twice the limit, so
		// a chatty handler costs amortised O(1) per byte.
		if len(t.buf) > 2*LogTailSize {
			t.buf = append(t.buf[:0], t.buf[over:]...)
		}
	}
}

func (t *logTail) bytes() []byte {
	b := t.buf
	if len(b) > LogTailSize {
		b = b[len(b)-LogTailSize:]
	}
	return append([]byte(nil), b...)
}

// platformLine writes one platform line to the log and to p's tail. The
// caller holds s.mu, which also keeps lines of concurrent invocations whole.
func (s *Server) platformLine(p *pending, line []byte) {
	p.log.add(line)
	if s.opts.Log != nil {
		_, _ = s.opts.Log.Write(append(line, '\n'))
	}
}

// jsonRecord is one platform.* record of Lambda's JSON log format (the
// Telemetry API's shape).
type jsonRecord struct {
	Time   string `json:"time"`
	Type   string `json:"type"`
	Record any    `json:"record"`
}

func (s *Server) record(typ string, rec any) []byte {
	b, _ := json.Marshal(jsonRecord{Time: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), Type: typ, Record: rec})
	return b
}

func (s *Server) startLine(p *pending) []byte {
	if s.opts.JSONLog {
		return s.record("platform.start", map[string]string{"requestId": p.id, "version": "$LATEST"})
	}
	return fmt.Appendf(nil, "START RequestId: %s Version: $LATEST", p.id)
}

// status is the platform's word for how res ended.
func status(res *Result) string {
	switch {
	case res.ErrorType == "Runtime.HandlerTimeout":
		return "timeout"
	case res.Failed():
		return "error"
	}
	return "success"
}

func (s *Server) endLine(p *pending, res *Result) []byte {
	if s.opts.JSONLog {
		rec := map[string]any{"requestId": p.id, "status": status(res)}
		if res.ErrorType != "" {
			rec["errorType"] = res.ErrorType
		}
		return s.record("platform.runtimeDone", rec)
	}
	return fmt.Appendf(nil, "END RequestId: %s", p.id)
}

// overMemory is the REPORT line's warning for a handler whose peak resident
// set exceeded the memory size: on Lambda it would have been killed.
const overMemory = "Warning: Max Memory Used exceeds Memory Size; on Lambda this invocation would fail with Runtime.OutOfMemory"

func (s *Server) reportLine(p *pending, res *Result) []byte {
	ms := float64(res.Duration.Microseconds()) / 1000
	billed := int64(math.Ceil(ms))
	usedMB := int64(math.Ceil(float64(res.PeakRSS) / (1 << 20)))
	over := res.PeakRSS > int64(s.opts.MemoryMB)<<20
	if s.opts.JSONLog {
		rec := map[string]any{
			"requestId": p.id,
			"status":    status(res),
			"metrics": map[string]any{
				"durationMs": ms, "billedDurationMs": billed,
				"memorySizeMB": s.opts.MemoryMB, "maxMemoryUsedMB": usedMB,
			},
		}
		if res.ErrorType != "" {
			rec["errorType"] = res.ErrorType
		}
		if over {
			rec["warning"] = overMemory
		}
		return s.record("platform.report", rec)
	}
	line := fmt.Appendf(nil, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		p.id, ms, billed, s.opts.MemoryMB, usedMB)
	if over {
		line = append(line, overMemory...)
	}
	return line
}
