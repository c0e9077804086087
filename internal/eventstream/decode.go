package eventstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Decoder reads event-stream messages from an io.Reader, checking both
// CRCs and the limits before it trusts a length. A Decoder is not safe for
// concurrent use.
type Decoder struct {
	r   io.Reader
	buf []byte
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r}
}

// Decode reads the next message. The message's payload and byte values
// share the Decoder's buffer and are valid only until the next call; strings
// and the Headers slice are the caller's.
//
// At the end of the input between messages it returns io.EOF; input that
// ends inside a message is an error wrapping io.ErrUnexpectedEOF. A bad
// length is a [*LengthError], a bad CRC a [*ChecksumError], a malformed
// headers section a [*HeaderError]. After an error the stream is out of
// step and the Decoder should not be used again.
func (d *Decoder) Decode() (Message, error) {
	var prelude [preludeLen]byte
	if _, err := io.ReadFull(d.r, prelude[:]); err != nil {
		if err == io.EOF {
			return Message{}, io.EOF
		}
		return Message{}, readError("prelude", err)
	}
	total := binary.BigEndian.Uint32(prelude[0:4])
	headersLen := binary.BigEndian.Uint32(prelude[4:8])
	if want, got := crc32.ChecksumIEEE(prelude[0:8]), binary.BigEndian.Uint32(prelude[8:12]); want != got {
		return Message{}, &ChecksumError{Part: "prelude", Want: want, Got: got}
	}
	// Compare in uint64 so that huge lengths cannot wrap.
	switch {
	case total < minMsgLen:
		return Message{}, &LengthError{Part: "message", Len: int(total), Limit: minMsgLen}
	case total > MaxMessageLen:
		return Message{}, &LengthError{Part: "message", Len: int(total), Limit: MaxMessageLen}
	case headersLen > MaxHeadersLen:
		return Message{}, &LengthError{Part: "headers", Len: int(headersLen), Limit: MaxHeadersLen}
	case uint64(headersLen)+minMsgLen > uint64(total):
		return Message{}, &LengthError{Part: "headers", Len: int(headersLen), Limit: int(total) - minMsgLen}
	}
	payloadLen := int(total) - minMsgLen - int(headersLen)
	if payloadLen > MaxPayloadLen {
		return Message{}, &LengthError{Part: "payload", Len: payloadLen, Limit: MaxPayloadLen}
	}

	rest := int(total) - preludeLen
	if cap(d.buf) < rest {
		d.buf = make([]byte, rest)
	}
	b := d.buf[:rest]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return Message{}, readError("message", err)
	}
	crc := crc32.Update(crc32.ChecksumIEEE(prelude[:]), crc32.IEEETable, b[:rest-crcLen])
	if got := binary.BigEndian.Uint32(b[rest-crcLen:]); crc != got {
		return Message{}, &ChecksumError{Part: "message", Want: crc, Got: got}
	}
	headers, err := parseHeaders(b[:headersLen])
	if err != nil {
		return Message{}, err
	}
	m := Message{Headers: headers}
	if payloadLen > 0 {
		m.Payload = b[headersLen : int(headersLen)+payloadLen]
	}
	return m, nil
}

func readError(part string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("eventstream: read %s: %w", part, err)
}

// parseHeaders parses a headers section.
func parseHeaders(b []byte) ([]Header, error) {
	var hs []Header
	for off := 0; off < len(b); {
		start := off
		short := func(what string) error {
			return &HeaderError{Offset: start, Reason: what + " runs past the end of the headers section"}
		}
		nameLen := int(b[off])
		off++
		if off+nameLen+1 > len(b) {
			return nil, short("name")
		}
		var h Header
		h.Name = string(b[off : off+nameLen])
		off += nameLen
		h.Value.Type = ValueType(b[off])
		off++
		need := 0
		switch h.Value.Type {
		case True, False:
		case Byte:
			need = 1
		case Short:
			need = 2
		case Int:
			need = 4
		case Long, Timestamp:
			need = 8
		case UUID:
			need = 16
		case ByteArray, String:
			if off+2 > len(b) {
				return nil, short("value length of " + h.Name)
			}
			need = int(binary.BigEndian.Uint16(b[off:]))
			off += 2
		default:
			return nil, &HeaderError{Offset: start, Reason: fmt.Sprintf("header %q has unknown value type %d", h.Name, h.Value.Type)}
		}
		if off+need > len(b) {
			return nil, short("value of " + h.Name)
		}
		v := b[off : off+need]
		off += need
		switch h.Value.Type {
		case Byte:
			h.Value.Int = int64(int8(v[0]))
		case Short:
			h.Value.Int = int64(int16(binary.BigEndian.Uint16(v)))
		case Int:
			h.Value.Int = int64(int32(binary.BigEndian.Uint32(v)))
		case Long, Timestamp:
			h.Value.Int = int64(binary.BigEndian.Uint64(v))
		case String:
			h.Value.Str = string(v)
		case ByteArray, UUID:
			h.Value.Bytes = v
		}
		hs = append(hs, h)
	}
	return hs, nil
}
