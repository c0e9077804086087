package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/localapi"
)

// fakeAPI answers every invocation with a fixed result and body.
type fakeAPI struct {
	body string
	res  localapi.Result
	wait chan struct{} // when set, Invoke blocks until it is closed
}

func (f *fakeAPI) Invoke(ctx context.Context, inv localapi.Invocation) (*localapi.Result, error) {
	if f.wait != nil {
		<-f.wait
	}
	w := inv.Body
	if inv.Open != nil {
		w = inv.Open(f.res.ContentType)
	}
	if w != nil && f.body != "" {
		_, _ = io.WriteString(w, f.body)
	}
	r := f.res
	r.RequestID = inv.RequestID
	return &r, nil
}

func TestFrontAPIErrors(t *testing.T) {
	f := NewFront(context.Background(), FrontConfig{API: &fakeAPI{body: "ok"}, FunctionName: "fn", Timeout: time.Second})
	tests := []struct {
		name, path, body string
		header           [2]string
		status           int
		errType          string
	}{
		{"unknown function", "/2015-03-31/functions/other/invocations", "{}", [2]string{}, 404, "ResourceNotFoundException"},
		{"qualifier", "/2015-03-31/functions/fn/invocations?Qualifier=2", "{}", [2]string{}, 404, "ResourceNotFoundException"},
		{"not JSON", "/2015-03-31/functions/fn/invocations", "nope", [2]string{}, 400, "InvalidRequestContentException"},
		{"bad invocation type", "/2015-03-31/functions/fn/invocations", "{}", [2]string{"X-Amz-Invocation-Type", "Later"}, 400, "InvalidParameterValueException"},
		{"Event on the stream API", "/2021-11-15/functions/fn/response-streaming-invocations", "{}", [2]string{"X-Amz-Invocation-Type", "Event"}, 400, "InvalidParameterValueException"},
		{"bad log type", "/2015-03-31/functions/fn/invocations", "{}", [2]string{"X-Amz-Log-Type", "All"}, 400, "InvalidParameterValueException"},
		{"bad client context", "/2015-03-31/functions/fn/invocations", "{}", [2]string{"X-Amz-Client-Context", "!!"}, 400, "InvalidParameterValueException"},
		{"too large", "/2015-03-31/functions/fn/invocations", `"` + strings.Repeat("x", MaxPayload) + `"`, [2]string{}, 413, "RequestTooLargeException"},
		{"DryRun", "/2015-03-31/functions/fn/invocations", "{}", [2]string{"X-Amz-Invocation-Type", "DryRun"}, 204, ""},
		{"ok", "/2015-03-31/functions/fn/invocations", "", [2]string{}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			if tt.header[0] != "" {
				r.Header.Set(tt.header[0], tt.header[1])
			}
			w := httptest.NewRecorder()
			f.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("X-Amzn-ErrorType") != tt.errType {
				t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
			}
			if tt.errType != "" {
				var doc map[string]string
				if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc["Type"] != "User" || doc["message"] == "" {
					t.Errorf("body %s", w.Body)
				}
			}
		})
	}
}

// TestFrontThrottles: with the one worker busy, a request waits the timeout
// and gets 429 TooManyRequestsException.
func TestFrontThrottles(t *testing.T) {
	api := &fakeAPI{body: "ok", wait: make(chan struct{})}
	f := NewFront(context.Background(), FrontConfig{API: api, Timeout: 100 * time.Millisecond})
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := httptest.NewRecorder()
		close(started)
		f.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/function/invocations", strings.NewReader("{}")))
	}()
	<-started
	// Wait until the first request holds the worker.
	for range 1000 {
		if len(f.slots) == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	w := httptest.NewRecorder()
	f.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/function/invocations", strings.NewReader("{}")))
	if w.Code != 429 || w.Header().Get("X-Amzn-ErrorType") != "TooManyRequestsException" {
		t.Errorf("%d %v %s", w.Code, w.Header(), w.Body)
	}
	close(api.wait)
	<-done
}

func TestFrontFunctionErrorAndSizeLimit(t *testing.T) {
	tests := []struct {
		name string
		api  *fakeAPI
		want string
	}{
		{"error document", &fakeAPI{res: localapi.Result{Outcome: "error", ErrorType: "Runtime.ExitError", Error: []byte(`{"errorType":"Runtime.ExitError","errorMessage":"exit status 3"}`)}},
			`{"errorType":"Runtime.ExitError","errorMessage":"exit status 3"}`},
		{"too large", &fakeAPI{body: strings.Repeat("x", MaxPayload+1), res: localapi.Result{Outcome: "response"}}, "Function.ResponseSizeTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFront(context.Background(), FrontConfig{API: tt.api})
			w := httptest.NewRecorder()
			f.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/2015-03-31/functions/function/invocations", strings.NewReader("{}")))
			if w.Code != 200 || w.Header().Get("X-Amz-Function-Error") != "Unhandled" || !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("%d %v %.200s", w.Code, w.Header(), w.Body)
			}
		})
	}
}
