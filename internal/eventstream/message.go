package eventstream

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Sizes of the fixed parts of a message and the limits the AWS SDK decoders
// enforce (aws-sdk-go private/protocol/eventstream/message.go).
const (
	preludeLen = 12 // two lengths and the prelude CRC
	crcLen     = 4
	minMsgLen  = preludeLen + crcLen

	// MaxHeadersLen is the largest headers section, in bytes (128 KiB).
	MaxHeadersLen = 128 * 1024
	// MaxPayloadLen is the largest payload, in bytes (16 MiB).
	MaxPayloadLen = 16 * 1024 * 1024
	// MaxMessageLen is the largest message: the fixed 16 bytes, the
	// largest headers section and the largest payload.
	MaxMessageLen = minMsgLen + MaxHeadersLen + MaxPayloadLen

	maxNameLen  = 255       // the name length is one byte
	maxValueLen = 1<<15 - 1 // the SDKs refuse longer byte-array and string values
)

// ValueType is the type byte of a header value.
type ValueType uint8

// The header value types.
const (
	True      ValueType = 0 // boolean true, no value bytes
	False     ValueType = 1 // boolean false, no value bytes
	Byte      ValueType = 2 // int8
	Short     ValueType = 3 // int16
	Int       ValueType = 4 // int32
	Long      ValueType = 5 // int64
	ByteArray ValueType = 6 // uint16 length, bytes
	String    ValueType = 7 // uint16 length, UTF-8 bytes
	Timestamp ValueType = 8 // int64 milliseconds since the Unix epoch
	UUID      ValueType = 9 // 16 bytes
)

// String returns the type's name as the event-stream specification spells it.
func (t ValueType) String() string {
	switch t {
	case True, False:
		return "boolean"
	case Byte:
		return "byte"
	case Short:
		return "short"
	case Int:
		return "integer"
	case Long:
		return "long"
	case ByteArray:
		return "byte_array"
	case String:
		return "string"
	case Timestamp:
		return "timestamp"
	case UUID:
		return "uuid"
	}
	return "ValueType(" + strconv.Itoa(int(t)) + ")"
}

// Value is a header value. Type says which field holds it; the others are
// ignored. The zero Value is boolean true.
type Value struct {
	// Type is the value's type.
	Type ValueType
	// Int holds Byte, Short, Int, Long and Timestamp values (a Timestamp
	// in milliseconds since the Unix epoch). Zero is the value 0.
	Int int64
	// Str holds a String value. Empty is the empty string.
	Str string
	// Bytes holds a ByteArray value, and a UUID value in its first 16
	// bytes. Nil is an empty byte array.
	Bytes []byte
}

// StringValue returns a String value. It does not allocate.
func StringValue(s string) Value { return Value{Type: String, Str: s} }

// BoolValue returns a True or False value.
func BoolValue(b bool) Value {
	if b {
		return Value{Type: True}
	}
	return Value{Type: False}
}

// Int32Value returns an Int value.
func Int32Value(i int32) Value { return Value{Type: Int, Int: int64(i)} }

// TimestampValue returns a Timestamp value, t truncated to milliseconds.
func TimestampValue(t time.Time) Value { return Value{Type: Timestamp, Int: t.UnixMilli()} }

// String returns the value as text: a String as is, an integer in decimal,
// a timestamp in RFC 3339, a byte array or UUID in hex.
func (v Value) String() string {
	switch v.Type {
	case True:
		return "true"
	case False:
		return "false"
	case Byte, Short, Int, Long:
		return strconv.FormatInt(v.Int, 10)
	case String:
		return v.Str
	case Timestamp:
		return time.UnixMilli(v.Int).UTC().Format(time.RFC3339Nano)
	case ByteArray, UUID:
		return hex.EncodeToString(v.Bytes)
	}
	return v.Type.String()
}

// Header is one message header.
type Header struct {
	// Name is the header name, at most 255 bytes. Names starting with ':'
	// are reserved for the protocol (":message-type" and so on).
	Name string
	// Value is the header's value.
	Value Value
}

// Message is one event-stream message.
type Message struct {
	// Headers are the headers in wire order. Nil is none.
	Headers []Header
	// Payload is the payload. Nil is empty.
	Payload []byte
}

// Get returns the value of the first header called name and whether there
// is one.
func (m *Message) Get(name string) (Value, bool) {
	for _, h := range m.Headers {
		if h.Name == name {
			return h.Value, true
		}
	}
	return Value{}, false
}

// ChecksumError reports a CRC that does not match the bytes it covers.
type ChecksumError struct {
	// Part is "prelude" or "message".
	Part string
	// Want is the CRC computed over the bytes; Got is the one on the wire.
	Want, Got uint32
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("eventstream: %s checksum mismatch: computed %#08x, message has %#08x", e.Part, e.Want, e.Got)
}

// LengthError reports a length outside the limits.
type LengthError struct {
	// Part names what is too long or too short: "message", "headers",
	// "payload", "header name", "header value".
	Part string
	// Len is the length found; Limit the most (or, for "message", the
	// least) allowed.
	Len, Limit int
}

func (e *LengthError) Error() string {
	if e.Part == "message" && e.Len < e.Limit {
		return fmt.Sprintf("eventstream: message length %d is shorter than the %d-byte minimum", e.Len, e.Limit)
	}
	return fmt.Sprintf("eventstream: %s length %d exceeds the limit of %d", e.Part, e.Len, e.Limit)
}

// HeaderError reports a malformed headers section: a header that runs past
// the end of the section, or an unknown value type.
type HeaderError struct {
	// Offset is where the bad header starts, from the start of the
	// headers section.
	Offset int
	// Reason says what is wrong.
	Reason string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("eventstream: malformed header at offset %d: %s", e.Offset, e.Reason)
}
