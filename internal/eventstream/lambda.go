package eventstream

import (
	"encoding/json"
	"fmt"
)

// ContentType is the media type of an event stream, the Content-Type of an
// InvokeWithResponseStream response.
const ContentType = "application/vnd.amazon.eventstream"

// The protocol headers and the Lambda event names (aws-sdk-go-v2
// service/lambda: the InvokeWithResponseStreamResponseEvent union has the
// members PayloadChunk and InvokeComplete).
const (
	HeaderMessageType   = ":message-type"
	HeaderEventType     = ":event-type"
	HeaderContentType   = ":content-type"
	HeaderErrorCode     = ":error-code"
	HeaderErrorMessage  = ":error-message"
	HeaderExceptionType = ":exception-type"

	MessageTypeEvent     = "event"
	MessageTypeError     = "error"
	MessageTypeException = "exception"

	EventPayloadChunk   = "PayloadChunk"
	EventInvokeComplete = "InvokeComplete"
)

// InvokeComplete is the payload of the InvokeComplete event that ends an
// InvokeWithResponseStream response (the SDK's
// InvokeWithResponseStreamCompleteEvent). Empty fields are left out of the
// JSON; on success all three are empty and the payload is {}.
type InvokeComplete struct {
	// ErrorCode is the function error's type. Empty means success.
	ErrorCode string `json:"ErrorCode,omitempty"`
	// ErrorDetails describes the error. Empty means none.
	ErrorDetails string `json:"ErrorDetails,omitempty"`
	// LogResult is the base64 of the invocation's last 4 KB of log, sent
	// when the request asked for X-Amz-Log-Type: Tail. Empty means not asked.
	LogResult string `json:"LogResult,omitempty"`
}

// eventHeaders returns the headers of a Lambda event of the given type.
func eventHeaders(eventType, contentType string) []Header {
	return []Header{
		{Name: HeaderMessageType, Value: StringValue(MessageTypeEvent)},
		{Name: HeaderEventType, Value: StringValue(eventType)},
		{Name: HeaderContentType, Value: StringValue(contentType)},
	}
}

// PayloadChunk writes p as PayloadChunk events: headers :message-type
// "event", :event-type "PayloadChunk", :content-type
// "application/octet-stream", and the raw bytes as payload. A p larger than
// [MaxPayloadLen] is split over several events; an empty p writes nothing,
// since an empty chunk tells the client nothing. It does not allocate once
// the Encoder's buffer has grown to the chunk size.
func (e *Encoder) PayloadChunk(p []byte) error {
	if e.chunkHeaders == nil {
		e.chunkHeaders, _ = appendHeaders(nil, eventHeaders(EventPayloadChunk, "application/octet-stream"))
	}
	for len(p) > 0 {
		n := min(len(p), MaxPayloadLen)
		if err := e.encodeRaw(e.chunkHeaders, p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// InvokeComplete writes the InvokeComplete event that ends the stream:
// :content-type "application/json" and c as the JSON payload.
func (e *Encoder) InvokeComplete(c InvokeComplete) error {
	payload, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("eventstream: marshal InvokeComplete: %w", err)
	}
	return e.Encode(Message{Headers: eventHeaders(EventInvokeComplete, "application/json"), Payload: payload})
}

// Error writes an error message (:message-type "error" with :error-code
// and :error-message), which the SDK turns into an API error with that
// code and message and which ends the stream for it.
func (e *Encoder) Error(code, message string) error {
	return e.Encode(Message{Headers: []Header{
		{Name: HeaderMessageType, Value: StringValue(MessageTypeError)},
		{Name: HeaderErrorCode, Value: StringValue(code)},
		{Name: HeaderErrorMessage, Value: StringValue(message)},
	}})
}

// Exception writes an exception message (:message-type "exception",
// :exception-type typ, :content-type "application/json" and the payload
// {"message": message}). The Lambda event stream models no exceptions, so
// the SDK reports it as an API error with code typ and that message.
func (e *Encoder) Exception(typ, message string) error {
	payload, err := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	if err != nil {
		return fmt.Errorf("eventstream: marshal exception: %w", err)
	}
	return e.Encode(Message{
		Headers: []Header{
			{Name: HeaderMessageType, Value: StringValue(MessageTypeException)},
			{Name: HeaderExceptionType, Value: StringValue(typ)},
			{Name: HeaderContentType, Value: StringValue("application/json")},
		},
		Payload: payload,
	})
}
