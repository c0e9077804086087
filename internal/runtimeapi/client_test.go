package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNextParsesTheInvocation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/2018-06-01/runtime/invocation/next" || r.Method != http.MethodGet {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if !strings.HasPrefix(r.UserAgent(), "streamstrap/") {
			t.Errorf("user agent %q", r.UserAgent())
		}
		h := w.Header()
		h.Set(HeaderRequestID, "req-1")
		h.Set(HeaderDeadlineMs, "1700000000123")
		h.Set(HeaderFunctionARN, "arn:f")
		h.Set(HeaderTraceID, "Root=1")
		h.Set(HeaderClientContext, "cc")
		h.Set(HeaderCognitoIdentity, "ci")
		h.Set(HeaderTenantID, "t")
		_, _ = io.WriteString(w, `{"k":"v"}`)
	}))
	defer srv.Close()
	c := NewClient(strings.TrimPrefix(srv.URL, "http://"), "streamstrap/test", 1)
	inv, err := c.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Invocation{RequestID: "req-1", DeadlineMs: 1700000000123, Deadline: time.UnixMilli(1700000000123),
		FunctionARN: "arn:f", TraceID: "Root=1", ClientContext: "cc", CognitoIdentity: "ci", TenantID: "t", Payload: []byte(`{"k":"v"}`)}
	if inv.RequestID != want.RequestID || !inv.Deadline.Equal(want.Deadline) || inv.DeadlineMs != want.DeadlineMs ||
		inv.FunctionARN != want.FunctionARN || inv.TraceID != want.TraceID || inv.ClientContext != want.ClientContext ||
		inv.CognitoIdentity != want.CognitoIdentity || inv.TenantID != want.TenantID || string(inv.Payload) != string(want.Payload) {
		t.Errorf("got %+v\nwant %+v", inv, want)
	}
}

func TestNextFailures(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantFatal bool // a *StatusError with Fatal()
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, `{"errorType":"x"}`, 500) }, true},
		{"403", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, `{}`, 403) }, false},
		{"no request id", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") }, false},
		{"bad deadline", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set(HeaderRequestID, "r")
			w.Header().Set(HeaderDeadlineMs, "soon")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, err := NewClient(strings.TrimPrefix(srv.URL, "http://"), "ua", 1).Next(context.Background())
			if err == nil {
				t.Fatal("Next succeeded")
			}
			var se *StatusError
			if got := errors.As(err, &se) && se.Fatal(); got != tt.wantFatal {
				t.Errorf("fatal = %v for %v", got, err)
			}
		})
	}
}

func TestNextConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	if _, err := NewClient(addr, "ua", 1).Next(context.Background()); err == nil {
		t.Fatal("Next succeeded against a closed port")
	}
}

func TestPostErrorSendsTheDocument(t *testing.T) {
	type seen struct {
		path, typ, ct string
		doc           map[string]any
	}
	got := make(chan seen, 2)
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer := status // read before the send below, which orders it before the test's next write
		var doc map[string]any
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			t.Errorf("body: %v", err)
		}
		got <- seen{r.URL.Path, r.Header.Get(HeaderErrorType), r.Header.Get("Content-Type"), doc}
		w.WriteHeader(answer)
	}))
	defer srv.Close()
	c := NewClient(strings.TrimPrefix(srv.URL, "http://"), "ua", 1)
	fe := FunctionError{Type: TypeExitError, Message: "exit status 2", StackTrace: []string{"boom"}}
	if err := c.PostError(context.Background(), "req-9", fe); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.path != "/2018-06-01/runtime/invocation/req-9/error" || s.typ != TypeExitError || s.ct != ContentTypeError {
		t.Errorf("request: %+v", s)
	}
	if s.doc["errorType"] != TypeExitError || s.doc["errorMessage"] != "exit status 2" {
		t.Errorf("document: %v", s.doc)
	}
	if err := c.PostInitError(context.Background(), FunctionError{Type: TypeHandlerNotFound, Message: "m"}); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.path != "/2018-06-01/runtime/init/error" || s.typ != TypeHandlerNotFound {
		t.Errorf("init error request: %+v", s)
	}
	status = http.StatusBadRequest
	err := c.PostError(context.Background(), "req-9", fe)
	<-got
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || se.Fatal() {
		t.Errorf("400 answer: %v", err)
	}
}
