package eventstream

import (
	"encoding/binary"
	"hash/crc32"
	"io"
)

// Encoder writes event-stream messages to an io.Writer, each message with a
// single Write so that a flush after it never splits a frame. It reuses one
// buffer, so encoding allocates only while that buffer grows to the largest
// message seen. An Encoder is not safe for concurrent use.
type Encoder struct {
	w   io.Writer
	buf []byte

	chunkHeaders []byte // PayloadChunk's headers section, encoded on first use
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w}
}

// Encode writes m as one message. It returns a [*LengthError] (and writes
// nothing) when a name, a value, the headers or the payload exceeds the
// limits, or the error of the Write.
func (e *Encoder) Encode(m Message) error {
	b := e.buf[:0]
	b = append(b, make([]byte, preludeLen)...) // filled below; append of make does not allocate
	b, err := appendHeaders(b, m.Headers)
	if err != nil {
		e.buf = b[:0]
		return err
	}
	return e.finish(b, len(b)-preludeLen, m.Payload)
}

// encodeRaw writes a message whose headers section is already encoded.
func (e *Encoder) encodeRaw(headers, payload []byte) error {
	b := append(e.buf[:0], make([]byte, preludeLen)...)
	b = append(b, headers...)
	return e.finish(b, len(headers), payload)
}

// finish checks the lengths, appends the payload and the CRCs to b (which
// holds room for the prelude and the encoded headers) and writes it.
func (e *Encoder) finish(b []byte, headersLen int, payload []byte) error {
	if headersLen > MaxHeadersLen {
		e.buf = b[:0]
		return &LengthError{Part: "headers", Len: headersLen, Limit: MaxHeadersLen}
	}
	if len(payload) > MaxPayloadLen {
		e.buf = b[:0]
		return &LengthError{Part: "payload", Len: len(payload), Limit: MaxPayloadLen}
	}
	total := minMsgLen + headersLen + len(payload)
	binary.BigEndian.PutUint32(b[0:4], uint32(total))
	binary.BigEndian.PutUint32(b[4:8], uint32(headersLen))
	binary.BigEndian.PutUint32(b[8:12], crc32.ChecksumIEEE(b[0:8]))
	b = append(b, payload...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	e.buf = b[:0]
	_, err := e.w.Write(b)
	return err
}

// appendHeader appends h in wire form.
func appendHeader(b []byte, h *Header) ([]byte, error) {
	if len(h.Name) > maxNameLen {
		return b, &LengthError{Part: "header name", Len: len(h.Name), Limit: maxNameLen}
	}
	b = append(b, byte(len(h.Name)))
	b = append(b, h.Name...)
	v := &h.Value
	b = append(b, byte(v.Type))
	switch v.Type {
	case True, False:
	case Byte:
		b = append(b, byte(int8(v.Int)))
	case Short:
		b = binary.BigEndian.AppendUint16(b, uint16(int16(v.Int)))
	case Int:
		b = binary.BigEndian.AppendUint32(b, uint32(int32(v.Int)))
	case Long, Timestamp:
		b = binary.BigEndian.AppendUint64(b, uint64(v.Int))
	case ByteArray:
		if len(v.Bytes) > maxValueLen {
			return b, &LengthError{Part: "header value", Len: len(v.Bytes), Limit: maxValueLen}
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(v.Bytes)))
		b = append(b, v.Bytes...)
	case String:
		if len(v.Str) > maxValueLen {
			return b, &LengthError{Part: "header value", Len: len(v.Str), Limit: maxValueLen}
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(v.Str)))
		b = append(b, v.Str...)
	case UUID:
		var u [16]byte
		copy(u[:], v.Bytes)
		b = append(b, u[:]...)
	default:
		return b, &HeaderError{Reason: "unknown value type " + v.Type.String() + " for header " + h.Name}
	}
	return b, nil
}

// appendHeaders appends the wire form of hs to b.
func appendHeaders(b []byte, hs []Header) ([]byte, error) {
	var err error
	for i := range hs {
		if b, err = appendHeader(b, &hs[i]); err != nil {
			return b, err
		}
	}
	return b, nil
}
