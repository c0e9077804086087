// Package eventstream writes and reads the AWS event-stream binary framing
// (media type application/vnd.amazon.eventstream), the body of a Lambda
// InvokeWithResponseStream response.
//
// # Framing
//
// Every integer is big-endian. A message is
//
//	total length    uint32  (16 + headers length + payload length)
//	headers length  uint32
//	prelude CRC     uint32  CRC-32 (IEEE) of the 8 bytes above
//	headers         headers length bytes
//	payload         the rest
//	message CRC     uint32  CRC-32 (IEEE) of everything before it, prelude CRC included
//
// A header is a name (uint8 length, then the bytes), a value type (uint8)
// and the value: 0 true and 1 false (no bytes), 2 byte (int8), 3 short
// (int16), 4 integer (int32), 5 long (int64), 6 byte array and 7 string
// (uint16 length, then the bytes), 8 timestamp (int64 milliseconds since the
// Unix epoch), 9 UUID (16 bytes).
//
// The layout and the limits ([MaxHeadersLen], [MaxPayloadLen],
// [MaxMessageLen]) are those of the AWS SDKs' decoders (aws-sdk-go
// private/protocol/eventstream, aws-sdk-go-v2 aws/protocol/eventstream);
// the tests check this package against their golden vectors.
//
// An [Encoder] writes one message per call with a single Write and reuses
// its buffer, so a steady stream of messages allocates nothing. A [Decoder]
// reads messages back, checking both CRCs and the limits; the server side
// does not need it, tests and client-side checks do.
//
// [Encoder.PayloadChunk] and [Encoder.InvokeComplete] write the events of
// an InvokeWithResponseStream response as Lambda sends them;
// [Encoder.Error] and [Encoder.Exception] write the protocol's error and
// exception messages, which Lambda does not document for this operation.
// The sdkcheck module's tests read all four with aws-sdk-go-v2's Lambda
// client.
package eventstream
