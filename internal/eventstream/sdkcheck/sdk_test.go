package sdkcheck

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkes "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/streamstrap/streamstrap/internal/eventstream"
)

// TestSDKDecodesOurMessages: every value type, encoded here, decoded by the SDK.
func TestSDKDecodesOurMessages(t *testing.T) {
	uuid := []byte("0123456789abcdef")
	msg := eventstream.Message{Headers: []eventstream.Header{
		{Name: "t", Value: eventstream.BoolValue(true)},
		{Name: "f", Value: eventstream.BoolValue(false)},
		{Name: "b", Value: eventstream.Value{Type: eventstream.Byte, Int: -2}},
		{Name: "s", Value: eventstream.Value{Type: eventstream.Short, Int: -300}},
		{Name: "i", Value: eventstream.Int32Value(-70000)},
		{Name: "l", Value: eventstream.Value{Type: eventstream.Long, Int: -1 << 40}},
		{Name: "ba", Value: eventstream.Value{Type: eventstream.ByteArray, Bytes: []byte{1, 2}}},
		{Name: "str", Value: eventstream.StringValue("héllo")},
		{Name: "ts", Value: eventstream.TimestampValue(time.UnixMilli(1700000000123))},
		{Name: "u", Value: eventstream.Value{Type: eventstream.UUID, Bytes: uuid}},
	}, Payload: []byte("payload")}
	var buf bytes.Buffer
	if err := eventstream.NewEncoder(&buf).Encode(msg); err != nil {
		t.Fatal(err)
	}
	got, err := sdkes.NewDecoder().Decode(&buf, nil)
	if err != nil {
		t.Fatalf("SDK Decode: %v", err)
	}
	var u sdkes.UUIDValue
	copy(u[:], uuid)
	want := []struct {
		name  string
		value any
	}{
		{"t", true}, {"f", false}, {"b", int8(-2)}, {"s", int16(-300)}, {"i", int32(-70000)},
		{"l", int64(-1 << 40)}, {"ba", []byte{1, 2}}, {"str", "héllo"},
		{"ts", time.UnixMilli(1700000000123)}, {"u", u[:]},
	}
	if len(got.Headers) != len(want) {
		t.Fatalf("SDK saw %d headers, want %d", len(got.Headers), len(want))
	}
	for i, w := range want {
		h := got.Headers[i]
		v := h.Value.Get()
		ok := h.Name == w.name
		switch wv := w.value.(type) {
		case []byte:
			switch gv := v.(type) {
			case []byte:
				ok = ok && bytes.Equal(gv, wv)
			case sdkes.UUIDValue:
				ok = ok && bytes.Equal(gv[:], wv)
			default:
				ok = false
			}
		case time.Time:
			tv, isTime := v.(time.Time)
			ok = ok && isTime && tv.Equal(wv)
		default:
			ok = ok && v == w.value
		}
		if !ok {
			t.Errorf("header %d: SDK saw %s = %#v, want %s = %#v", i, h.Name, v, w.name, w.value)
		}
	}
	if string(got.Payload) != "payload" {
		t.Errorf("payload %q", got.Payload)
	}
}

// TestWeDecodeSDKMessages: the SDK's encoder, our decoder.
func TestWeDecodeSDKMessages(t *testing.T) {
	var hs sdkes.Headers
	hs.Set(":message-type", sdkes.StringValue("event"))
	hs.Set("n", sdkes.Int64Value(42))
	hs.Set("u", sdkes.UUIDValue{1, 2, 3})
	var buf bytes.Buffer
	if err := sdkes.NewEncoder().Encode(&buf, sdkes.Message{Headers: hs, Payload: []byte{0, 1}}); err != nil {
		t.Fatal(err)
	}
	m, err := eventstream.NewDecoder(&buf).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get(":message-type"); v.Str != "event" {
		t.Errorf(":message-type = %+v", v)
	}
	if v, _ := m.Get("n"); v.Type != eventstream.Long || v.Int != 42 {
		t.Errorf("n = %+v", v)
	}
	if v, _ := m.Get("u"); v.Type != eventstream.UUID || !bytes.Equal(v.Bytes, []byte{1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("u = %+v", v)
	}
	if !bytes.Equal(m.Payload, []byte{0, 1}) {
		t.Errorf("payload %q", m.Payload)
	}
}

// client returns a Lambda client for the server at url, with dummy
// credentials.
func client(url string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// TestLambdaClientReadsOurStream points the real Lambda client at a
// loopback server that answers with this package's events.
func TestLambdaClientReadsOurStream(t *testing.T) {
	tests := []struct {
		name       string
		write      func(e *eventstream.Encoder)
		wantChunks []string
		wantDone   *eventstream.InvokeComplete
		wantCode   string // an API error from the stream
	}{
		{
			name: "success",
			write: func(e *eventstream.Encoder) {
				e.PayloadChunk([]byte("hello "))
				e.PayloadChunk([]byte{0, 0xff})
				e.InvokeComplete(eventstream.InvokeComplete{})
			},
			wantChunks: []string{"hello ", "\x00\xff"},
			wantDone:   &eventstream.InvokeComplete{},
		},
		{
			name: "function error with log",
			write: func(e *eventstream.Encoder) {
				e.PayloadChunk([]byte("partial"))
				e.InvokeComplete(eventstream.InvokeComplete{ErrorCode: "Runtime.ExitError", ErrorDetails: "exit status 2", LogResult: "U1RBUlQ="})
			},
			wantChunks: []string{"partial"},
			wantDone:   &eventstream.InvokeComplete{ErrorCode: "Runtime.ExitError", ErrorDetails: "exit status 2", LogResult: "U1RBUlQ="},
		},
		{
			name: "error message",
			write: func(e *eventstream.Encoder) {
				e.PayloadChunk([]byte("x"))
				e.Error("ServiceException", "the stream broke")
			},
			wantChunks: []string{"x"},
			wantCode:   "ServiceException",
		},
		{
			name: "exception message",
			write: func(e *eventstream.Encoder) {
				e.Exception("ResourceConflictException", "busy")
			},
			wantCode: "ResourceConflictException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/2021-11-15/functions/fn/response-streaming-invocations" {
					http.Error(w, "bad path "+r.URL.Path, http.StatusNotFound)
					return
				}
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", eventstream.ContentType)
				w.Header().Set("X-Amz-Executed-Version", "$LATEST")
				w.WriteHeader(http.StatusOK)
				tt.write(eventstream.NewEncoder(w))
			}))
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := client(srv.URL).InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{
				FunctionName: aws.String("fn"),
				Payload:      []byte(`{}`),
			})
			if err != nil {
				t.Fatalf("InvokeWithResponseStream: %v", err)
			}
			if aws.ToString(out.ExecutedVersion) != "$LATEST" {
				t.Errorf("ExecutedVersion %q", aws.ToString(out.ExecutedVersion))
			}
			stream := out.GetStream()
			defer stream.Close()
			var chunks []string
			var done *types.InvokeWithResponseStreamCompleteEvent
			for ev := range stream.Events() {
				switch v := ev.(type) {
				case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
					chunks = append(chunks, string(v.Value.Payload))
				case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
					done = &v.Value
				default:
					t.Errorf("unexpected event %T", ev)
				}
			}
			if len(chunks) != len(tt.wantChunks) {
				t.Errorf("chunks %q, want %q", chunks, tt.wantChunks)
			} else {
				for i := range chunks {
					if chunks[i] != tt.wantChunks[i] {
						t.Errorf("chunk %d: %q, want %q", i, chunks[i], tt.wantChunks[i])
					}
				}
			}
			if tt.wantDone != nil {
				if done == nil {
					t.Fatalf("no InvokeComplete (stream error %v)", stream.Err())
				}
				if aws.ToString(done.ErrorCode) != tt.wantDone.ErrorCode ||
					aws.ToString(done.ErrorDetails) != tt.wantDone.ErrorDetails ||
					aws.ToString(done.LogResult) != tt.wantDone.LogResult {
					t.Errorf("InvokeComplete %q %q %q, want %+v", aws.ToString(done.ErrorCode),
						aws.ToString(done.ErrorDetails), aws.ToString(done.LogResult), *tt.wantDone)
				}
				if tt.wantDone.ErrorCode == "" && done.ErrorCode != nil {
					t.Errorf("ErrorCode set on success: %q", *done.ErrorCode)
				}
				if err := stream.Err(); err != nil {
					t.Errorf("stream error: %v", err)
				}
			}
			if tt.wantCode != "" {
				var ae smithy.APIError
				if err := stream.Err(); !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Errorf("stream error %v, want API error %s", err, tt.wantCode)
				}
			}
		})
	}
}
