package eventstream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// golden is the JSON description of a message in testdata/decoded.
type golden struct {
	TotalLength   uint32 `json:"total_length"`
	HeadersLength uint32 `json:"headers_length"`
	PreludeCRC    int64  `json:"prelude_crc"`
	Headers       []struct {
		Name  string          `json:"name"`
		Type  ValueType       `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"headers"`
	Payload    []byte `json:"payload"`
	MessageCRC int64  `json:"message_crc"`
}

// message turns the description into a Message.
func (g *golden) message(t *testing.T) Message {
	t.Helper()
	var m Message
	for _, h := range g.Headers {
		v := Value{Type: h.Type}
		switch h.Type {
		case True, False:
		case Byte, Short, Int, Long, Timestamp:
			if err := json.Unmarshal(h.Value, &v.Int); err != nil {
				t.Fatalf("header %s: %v", h.Name, err)
			}
		case String, ByteArray, UUID:
			var b64 string
			if err := json.Unmarshal(h.Value, &b64); err != nil {
				t.Fatalf("header %s: %v", h.Name, err)
			}
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatalf("header %s: %v", h.Name, err)
			}
			if h.Type == String {
				v.Str = string(raw)
			} else {
				v.Bytes = raw
			}
		default:
			t.Fatalf("header %s: type %d", h.Name, h.Type)
		}
		m.Headers = append(m.Headers, Header{Name: h.Name, Value: v})
	}
	m.Payload = g.Payload
	return m
}

func positiveVectors(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob("testdata/encoded/positive/*")
	if err != nil || len(names) == 0 {
		t.Fatalf("no golden vectors: %v", err)
	}
	return names
}

func TestGoldenPositive(t *testing.T) {
	for _, enc := range positiveVectors(t) {
		name := filepath.Base(enc)
		t.Run(name, func(t *testing.T) {
			wire, err := os.ReadFile(enc)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := os.ReadFile(filepath.Join("testdata/decoded/positive", name))
			if err != nil {
				t.Fatal(err)
			}
			var g golden
			if err := json.Unmarshal(desc, &g); err != nil {
				t.Fatal(err)
			}
			want := g.message(t)

			// Decode: every header and the payload as described.
			d := NewDecoder(bytes.NewReader(wire))
			got, err := d.Decode()
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(got.Headers) != len(want.Headers) {
				t.Fatalf("got %d headers, want %d", len(got.Headers), len(want.Headers))
			}
			for i := range want.Headers {
				if !equalHeader(got.Headers[i], want.Headers[i]) {
					t.Errorf("header %d: got %+v, want %+v", i, got.Headers[i], want.Headers[i])
				}
			}
			if !bytes.Equal(got.Payload, want.Payload) {
				t.Errorf("payload: got %q, want %q", got.Payload, want.Payload)
			}
			if _, err := d.Decode(); err == nil || !errors.Is(err, errEOF) {
				t.Errorf("second Decode: got %v, want io.EOF", err)
			}

			// Encode: byte for byte the vector, CRCs included.
			var buf bytes.Buffer
			if err := NewEncoder(&buf).Encode(want); err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), wire) {
				t.Errorf("Encode:\n got % x\nwant % x", buf.Bytes(), wire)
			}
			if n := uint32(len(wire)); n != g.TotalLength {
				t.Errorf("vector is %d bytes, description says %d", n, g.TotalLength)
			}
		})
	}
}

func equalHeader(a, b Header) bool {
	return a.Name == b.Name && a.Value.Type == b.Value.Type && a.Value.Int == b.Value.Int &&
		a.Value.Str == b.Value.Str && bytes.Equal(a.Value.Bytes, b.Value.Bytes)
}

func TestGoldenNegative(t *testing.T) {
	// The SDK reports "Prelude checksum mismatch" or "Message checksum
	// mismatch" (testdata/decoded/negative); the Part says which.
	parts := map[string]string{
		"Prelude checksum mismatch": "prelude",
		"Message checksum mismatch": "message",
	}
	names, _ := filepath.Glob("testdata/encoded/negative/*")
	if len(names) == 0 {
		t.Fatal("no negative vectors")
	}
	for _, enc := range names {
		name := filepath.Base(enc)
		t.Run(name, func(t *testing.T) {
			wire, err := os.ReadFile(enc)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := os.ReadFile(filepath.Join("testdata/decoded/negative", name))
			if err != nil {
				t.Fatal(err)
			}
			part, ok := parts[string(bytes.TrimSpace(desc))]
			if !ok {
				t.Fatalf("unknown expectation %q", desc)
			}
			_, err = NewDecoder(bytes.NewReader(wire)).Decode()
			var ce *ChecksumError
			if !errors.As(err, &ce) || ce.Part != part {
				t.Fatalf("Decode: got %v, want a %s ChecksumError", err, part)
			}
		})
	}
}
