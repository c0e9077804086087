package runtimeapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/streamstrap/streamstrap/internal/httpwire"
)

func TestParseDeadline(t *testing.T) {
	tests := []struct {
		in     string
		ms     int64
		ok     bool
		reject bool
	}{
		{in: "1796151156081", ms: 1796151156081, ok: true},
		{in: "1", ms: 1, ok: true},
		{in: ""},
		{in: "abc", reject: true},
		{in: "1796151156081.5", reject: true},
		{in: "99999999999999999999", reject: true},
		{in: "0", reject: true},
		{in: "-1", reject: true},
		{in: "+1796151156081", ok: true, ms: 1796151156081}, // strconv's sign, harmless
		{in: "1e12", reject: true},
	}
	for _, tt := range tests {
		ms, ok, err := parseDeadline(tt.in)
		if (err != nil) != tt.reject || ok != tt.ok || ms != tt.ms {
			t.Errorf("parseDeadline(%q) = %d, %v, %v", tt.in, ms, ok, err)
		}
	}
}

func TestInvocationPath(t *testing.T) {
	for _, id := range []string{"../init/error#", "a/b", "a?b", "%zz", "a\tb", "a b", "é", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"} {
		for _, ep := range []string{"response", "error"} {
			p := invocationPath(id, ep)
			rest, ok := strings.CutPrefix(p, PathPrefix+"/invocation/")
			seg, tail, _ := strings.Cut(rest, "/")
			got, err := url.PathUnescape(seg)
			if !ok || tail != ep || err != nil || got != id || strings.ContainsAny(seg, "?# \t") {
				t.Errorf("invocationPath(%q, %q) = %q", id, ep, p)
			}
		}
	}
}

func TestInvocationFrom(t *testing.T) {
	h := func(kv ...string) httpwire.Header {
		out := httpwire.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	var ee *EventError
	if _, err := invocationFrom(h()); err == nil || errors.As(err, &ee) {
		t.Errorf("no id: %v, want a fatal error", err)
	}
	if _, err := invocationFrom(h(HeaderRequestID, "..")); err == nil || errors.As(err, &ee) {
		t.Errorf("dot segment id: %v, want a fatal error", err)
	}
	if _, err := invocationFrom(h(HeaderRequestID, "id", HeaderDeadlineMs, "abc")); !errors.As(err, &ee) || ee.RequestID != "id" {
		t.Errorf("bad deadline: %v, want an EventError for id", err)
	}
	inv, err := invocationFrom(h(HeaderRequestID, "id", HeaderDeadlineMs, "1796151156081", HeaderTraceID, "Root=1"))
	if err != nil || inv.DeadlineMs != 1796151156081 || inv.Deadline.UnixMilli() != 1796151156081 || inv.TraceID != "Root=1" {
		t.Errorf("good headers: %+v, %v", inv, err)
	}
}

func TestReadEvent(t *testing.T) {
	if b, err := readEvent(strings.NewReader(strings.Repeat("x", MaxEventBytes))); err != nil || len(b) != MaxEventBytes {
		t.Errorf("at the limit: %d bytes, %v", len(b), err)
	}
	if _, err := readEvent(strings.NewReader(strings.Repeat("x", MaxEventBytes+1))); err == nil {
		t.Errorf("over the limit: no error")
	}
}

func TestBoundedErrorDocument(t *testing.T) {
	line := strings.Repeat("é", 35000) // 70 KB
	st := make([]string, 25)
	for i := range st {
		st[i] = line
	}
	e := FunctionError{Type: TypeExitError, Message: line, StackTrace: st}.Bounded()
	if n := len(e.JSON()); n > maxErrorDocument {
		t.Errorf("document of %d bytes", n)
	}
	if len(e.StackTrace) == 0 || !utf8.ValidString(e.Message) {
		t.Errorf("%d stack lines, message valid UTF-8 %v", len(e.StackTrace), utf8.ValidString(e.Message))
	}
	small := FunctionError{Type: TypeExitError, Message: "m", StackTrace: []string{"a", "b"}}
	if got := small.Bounded(); string(got.JSON()) != string(small.JSON()) {
		t.Errorf("a small document changed: %s", got.JSON())
	}
}

// FuzzNextHeaders: any header values from /next give an invocation, a fatal
// error or an EventError for a known id, never a panic; an invocation's id
// always makes a post path of one segment.
func FuzzNextHeaders(f *testing.F) {
	f.Add("8476a536-e9f4-11e8-9739-2dfe598c3fcd", "1796151156081", "arn:aws:lambda:us-east-1:1:function:f", "Root=1-a", "eyJ9", "{}")
	f.Add("../init/error#", "abc", "", "", "", "")
	f.Add("a/b", "1796151156081.5", "", "", "", "")
	f.Add("%zz", "99999999999999999999", "", "", "", "")
	f.Add("..", "0", "", "", "", "")
	f.Add("a\tb", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, id, deadline, arn, trace, clientCtx, cognito string) {
		h := httpwire.Header{}
		for k, v := range map[string]string{HeaderRequestID: id, HeaderDeadlineMs: deadline, HeaderFunctionARN: arn,
			HeaderTraceID: trace, HeaderClientContext: clientCtx, HeaderCognitoIdentity: cognito} {
			if v != "" {
				h.Set(k, v)
			}
		}
		inv, err := invocationFrom(h)
		var ee *EventError
		switch {
		case err == nil:
			if inv.DeadlineMs < 0 || (inv.DeadlineMs == 0) != inv.Deadline.IsZero() {
				t.Fatalf("deadline %d / %v", inv.DeadlineMs, inv.Deadline)
			}
			rest := strings.TrimPrefix(invocationPath(inv.RequestID, "error"), PathPrefix+"/invocation/")
			seg, tail, _ := strings.Cut(rest, "/")
			if got, err := url.PathUnescape(seg); err != nil || got != inv.RequestID || tail != "error" {
				t.Fatalf("id %q makes path segment %q + %q", inv.RequestID, seg, tail)
			}
		case errors.As(err, &ee):
			if ee.RequestID != id {
				t.Fatalf("EventError for %q, want %q", ee.RequestID, id)
			}
		}
	})
}
