package eventstream

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
)

var errEOF = io.EOF

// frame builds a message by hand, CRCs computed, lengths as given.
func frame(total, headersLen uint32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, total)
	b = binary.BigEndian.AppendUint32(b, headersLen)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func TestRoundTrip(t *testing.T) {
	uuid := []byte("0123456789abcdef")
	tests := []struct {
		name string
		msg  Message
	}{
		{"empty", Message{}},
		{"payload only", Message{Payload: []byte("hello")}},
		{"every type", Message{Headers: []Header{
			{Name: "t", Value: BoolValue(true)},
			{Name: "f", Value: BoolValue(false)},
			{Name: "b", Value: Value{Type: Byte, Int: -1}},
			{Name: "s", Value: Value{Type: Short, Int: -300}},
			{Name: "i", Value: Int32Value(-70000)},
			{Name: "l", Value: Value{Type: Long, Int: -1 << 40}},
			{Name: "ba", Value: Value{Type: ByteArray, Bytes: []byte{0, 1, 2}}},
			{Name: "str", Value: StringValue("héllo")},
			{Name: "ts", Value: TimestampValue(time.UnixMilli(1700000000123))},
			{Name: "u", Value: Value{Type: UUID, Bytes: uuid}},
			{Name: "empty", Value: StringValue("")},
		}, Payload: []byte{0, 0xff, 0}}},
		{"255-byte name", Message{Headers: []Header{{Name: strings.Repeat("n", 255), Value: StringValue("v")}}}},
		{"longest value", Message{Headers: []Header{{Name: "v", Value: StringValue(strings.Repeat("v", maxValueLen))}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewEncoder(&buf).Encode(tt.msg); err != nil {
				t.Fatal(err)
			}
			got, err := NewDecoder(&buf).Decode()
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Headers) != len(tt.msg.Headers) {
				t.Fatalf("got %d headers, want %d", len(got.Headers), len(tt.msg.Headers))
			}
			for i, h := range tt.msg.Headers {
				if !equalHeader(got.Headers[i], h) {
					t.Errorf("header %d: got %+v, want %+v", i, got.Headers[i], h)
				}
			}
			if !bytes.Equal(got.Payload, tt.msg.Payload) {
				t.Errorf("payload: got %q, want %q", got.Payload, tt.msg.Payload)
			}
		})
	}
}

func TestEncodeLimits(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		part string
	}{
		{"name", Message{Headers: []Header{{Name: strings.Repeat("n", 256), Value: StringValue("")}}}, "header name"},
		{"string", Message{Headers: []Header{{Name: "v", Value: StringValue(strings.Repeat("v", maxValueLen+1))}}}, "header value"},
		{"bytes", Message{Headers: []Header{{Name: "v", Value: Value{Type: ByteArray, Bytes: make([]byte, maxValueLen+1)}}}}, "header value"},
		{"headers", Message{Headers: func() []Header {
			var hs []Header
			for range 5 {
				hs = append(hs, Header{Name: "v", Value: StringValue(strings.Repeat("v", maxValueLen))})
			}
			return hs
		}()}, "headers"},
		{"payload", Message{Payload: make([]byte, MaxPayloadLen+1)}, "payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := NewEncoder(&buf).Encode(tt.msg)
			var le *LengthError
			if !errors.As(err, &le) || le.Part != tt.part {
				t.Fatalf("got %v, want a %q LengthError", err, tt.part)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes on error", buf.Len())
			}
		})
	}
	// An unknown type is refused too.
	err := NewEncoder(io.Discard).Encode(Message{Headers: []Header{{Name: "x", Value: Value{Type: 10}}}})
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("unknown type: got %v, want a HeaderError", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := func() []byte {
		var buf bytes.Buffer
		NewEncoder(&buf).Encode(Message{Headers: []Header{{Name: "a", Value: StringValue("b")}}, Payload: []byte("xyz")})
		return buf.Bytes()
	}()
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	tests := []struct {
		name  string
		in    []byte
		check func(error) bool
	}{
		{"truncated prelude", good[:5], func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"truncated body", good[:len(good)-1], func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"prelude crc", flip(9), isChecksum("prelude")},
		{"length bit", flip(3), isChecksum("prelude")},
		{"header byte", flip(13), isChecksum("message")},
		{"payload byte", flip(len(good) - 5), isChecksum("message")},
		{"message crc", flip(len(good) - 1), isChecksum("message")},
		{"too short", frame(15, 0, nil), isLength("message")},
		{"too long", frame(MaxMessageLen+1, 0, nil), isLength("message")},
		{"headers over limit", frame(MaxHeadersLen+17, MaxHeadersLen+1, nil), isLength("headers")},
		{"headers past total", frame(20, 5, []byte{0, 0, 0, 0}), isLength("headers")},
		{"payload over limit", frame(MaxPayloadLen+17, 0, nil), isLength("payload")},
		{"unknown type", frame(16+3, 3, []byte{1, 'x', 10}), isHeader},
		{"name past end", frame(16+2, 2, []byte{5, 'x'}), isHeader},
		{"string past end", frame(16+6, 6, []byte{1, 'x', 7, 0, 9, 'a'}), isHeader},
		{"uuid past end", frame(16+4, 4, []byte{1, 'x', 9, 0}), isHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDecoder(bytes.NewReader(tt.in)).Decode()
			if err == nil || !tt.check(err) {
				t.Fatalf("got %v", err)
			}
			if err.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

func isChecksum(part string) func(error) bool {
	return func(err error) bool {
		var ce *ChecksumError
		return errors.As(err, &ce) && ce.Part == part
	}
}

func isLength(part string) func(error) bool {
	return func(err error) bool {
		var le *LengthError
		return errors.As(err, &le) && le.Part == part
	}
}

func isHeader(err error) bool {
	var he *HeaderError
	return errors.As(err, &he)
}

func TestLambdaEvents(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	steps := []func() error{
		func() error { return e.PayloadChunk([]byte("one")) },
		func() error { return e.PayloadChunk(nil) }, // writes nothing
		func() error { return e.PayloadChunk([]byte{0, 1, 2}) },
		func() error { return e.InvokeComplete(InvokeComplete{}) },
		func() error {
			return e.InvokeComplete(InvokeComplete{ErrorCode: "Runtime.ExitError", ErrorDetails: "exit status 1", LogResult: "bG9n"})
		},
		func() error { return e.Error("ServiceException", "boom") },
		func() error { return e.Exception("ResourceNotFoundException", "no such function") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	type want struct {
		headers map[string]string
		payload string
	}
	wants := []want{
		{map[string]string{":message-type": "event", ":event-type": "PayloadChunk", ":content-type": "application/octet-stream"}, "one"},
		{map[string]string{":message-type": "event", ":event-type": "PayloadChunk", ":content-type": "application/octet-stream"}, "\x00\x01\x02"},
		{map[string]string{":message-type": "event", ":event-type": "InvokeComplete", ":content-type": "application/json"}, `{}`},
		{map[string]string{":message-type": "event", ":event-type": "InvokeComplete", ":content-type": "application/json"},
			`{"ErrorCode":"Runtime.ExitError","ErrorDetails":"exit status 1","LogResult":"bG9n"}`},
		{map[string]string{":message-type": "error", ":error-code": "ServiceException", ":error-message": "boom"}, ""},
		{map[string]string{":message-type": "exception", ":exception-type": "ResourceNotFoundException", ":content-type": "application/json"},
			`{"message":"no such function"}`},
	}
	d := NewDecoder(&buf)
	for i, w := range wants {
		m, err := d.Decode()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(m.Headers) != len(w.headers) {
			t.Errorf("message %d: %d headers, want %d", i, len(m.Headers), len(w.headers))
		}
		for name, value := range w.headers {
			v, ok := m.Get(name)
			if !ok || v.Type != String || v.Str != value {
				t.Errorf("message %d: %s = %+v, want string %q", i, name, v, value)
			}
		}
		if string(m.Payload) != w.payload {
			t.Errorf("message %d: payload %q, want %q", i, m.Payload, w.payload)
		}
		if ct, _ := m.Get(HeaderContentType); ct.Str == "application/json" {
			var c InvokeComplete
			if err := json.Unmarshal(m.Payload, &c); err != nil {
				t.Errorf("message %d: payload is not JSON: %v", i, err)
			}
		}
	}
	if _, err := d.Decode(); err != io.EOF {
		t.Errorf("after the last message: %v, want io.EOF", err)
	}
}

func TestPayloadChunkSplitsLargeChunks(t *testing.T) {
	p := make([]byte, MaxPayloadLen+10)
	for i := range p {
		p[i] = byte(i)
	}
	var buf bytes.Buffer
	if err := NewEncoder(&buf).PayloadChunk(p); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&buf)
	var got []byte
	for n := 0; ; n++ {
		m, err := d.Decode()
		if err == io.EOF {
			if n != 2 {
				t.Errorf("got %d messages, want 2", n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Payload...)
	}
	if !bytes.Equal(got, p) {
		t.Error("payload changed")
	}
}

// countingWriter counts Write calls: every message must be one Write.
type countingWriter struct{ writes int }

func (w *countingWriter) Write(p []byte) (int, error) { w.writes++; return len(p), nil }

func TestOneWritePerMessage(t *testing.T) {
	var w countingWriter
	e := NewEncoder(&w)
	e.PayloadChunk([]byte("a"))
	e.InvokeComplete(InvokeComplete{})
	e.Error("c", "m")
	if w.writes != 3 {
		t.Errorf("%d writes for 3 messages", w.writes)
	}
}

func TestPayloadChunkAllocs(t *testing.T) {
	e := NewEncoder(io.Discard)
	p := make([]byte, 32*1024)
	e.PayloadChunk(p) // grow the buffer
	if n := testing.AllocsPerRun(100, func() { e.PayloadChunk(p) }); n != 0 {
		t.Errorf("PayloadChunk: %v allocs per message, want 0", n)
	}
	m := Message{Headers: []Header{{Name: ":message-type", Value: StringValue("event")}, {Name: "n", Value: Int32Value(7)}}, Payload: p}
	e.Encode(m)
	if n := testing.AllocsPerRun(100, func() { e.Encode(m) }); n != 0 {
		t.Errorf("Encode: %v allocs per message, want 0", n)
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{BoolValue(true), "true"},
		{BoolValue(false), "false"},
		{Int32Value(-5), "-5"},
		{StringValue("x"), "x"},
		{Value{Type: ByteArray, Bytes: []byte{0xab}}, "ab"},
		{TimestampValue(time.UnixMilli(0)), "1970-01-01T00:00:00Z"},
		{Value{Type: 42}, "ValueType(42)"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.v, got, tt.want)
		}
	}
}
