package localapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

func TestPreludeSplitter(t *testing.T) {
	nul8 := string(make([]byte, 8))
	tests := []struct {
		name    string
		parts   []string
		prelude string
		body    string
	}{
		{"one piece", []string{`{"statusCode":200}` + nul8 + "body"}, `{"statusCode":200}`, "body"},
		{"split delimiter", []string{`{"a":1}` + nul8[:3], nul8[3:] + "b", "ody"}, `{"a":1}`, "body"},
		{"no delimiter within 16 KiB", []string{strings.Repeat("x", maxPrelude+1), "y"}, "", strings.Repeat("x", maxPrelude+1) + "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &preludeSplitter{}
			var body []byte
			for _, p := range tt.parts {
				if s.done {
					body = append(body, p...)
					continue
				}
				body = append(body, s.feed([]byte(p))...)
			}
			if string(s.prelude) != tt.prelude || string(body) != tt.body {
				t.Errorf("prelude %q body %q", s.prelude, body)
			}
		})
	}
}

// TestServerProtocol drives the server with Go's HTTP client, the way a
// runtime does: /next, then a streamed /response with trailers.
func TestServerProtocol(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr() + runtimeapi.PathPrefix
	var body bytes.Buffer
	done := make(chan *Result, 1)
	go func() {
		res, err := s.Invoke(context.Background(), Invocation{Payload: []byte(`{"x":1}`), Timeout: time.Minute, Body: &body})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	resp, err := http.Get(base + "/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	event, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if string(event) != `{"x":1}` || id == "" || resp.Header.Get("Lambda-Runtime-Deadline-Ms") == "" {
		t.Fatalf("next: %q %v", event, resp.Header)
	}

	// A wrong id is refused as Lambda does.
	r, err := http.Post(base+"/invocation/nope/response", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest {
		t.Errorf("wrong id: %d", r.StatusCode)
	}

	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/invocation/"+id+"/response", pr)
	req.Header.Set("Content-Type", "text/plain")
	req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
	go func() {
		_, _ = io.WriteString(pw, "part one ")
		_, _ = io.WriteString(pw, "part two")
		req.Trailer.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ExitError")
		req.Trailer.Set("Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString([]byte(`{"errorType":"Runtime.ExitError","errorMessage":"exit status 1"}`)))
		pw.Close()
	}()
	r, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusAccepted {
		t.Errorf("response status %d", r.StatusCode)
	}
	res := <-done
	if body.String() != "part one part two" || res.ErrorType != "Runtime.ExitError" || !strings.Contains(string(res.Error), "exit status 1") ||
		res.Outcome != "response" || !res.Failed() || res.Bytes != 17 {
		t.Errorf("result %+v body %q", res, body.String())
	}
}

// TestInvokeWith runs a small runtime made of the real Runtime API client
// alongside one invocation, and runtimes that end too soon.
func TestInvokeWith(t *testing.T) {
	serve := func(ctx context.Context, addr string) error {
		c := runtimeapi.NewClient(addr, "streamstrap/test", 1)
		defer c.CloseIdle()
		inv, err := c.Next(ctx)
		if err != nil {
			return err
		}
		// As the loop does: the stream's context ends the stream, and the
		// server may end the invocation before its 202 is read.
		s, err := c.OpenResponse(context.WithoutCancel(ctx), inv.RequestID, "text/plain")
		if err != nil {
			return err
		}
		if _, err := s.Write(append([]byte("got "), inv.Payload...)); err != nil {
			return err
		}
		if a, err := s.Close(nil); err != nil || a.StatusCode != http.StatusAccepted {
			return fmt.Errorf("close: %d %v", a.StatusCode, err)
		}
		<-ctx.Done() // a loop runs until it is stopped
		return errors.New("stopped")
	}
	boom := errors.New("boom")
	tests := []struct {
		name    string
		runtime func(ctx context.Context, addr string) error
		body    string
		lateErr error // the runtime's error after the invocation
		err     error
	}{
		{"served", serve, "got {}", errors.New("stopped"), nil},
		{"runtime fails first", func(context.Context, string) error { return boom }, "", nil, boom},
		{"runtime returns nil first", func(context.Context, string) error { return nil }, "", nil, ErrRuntimeStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var body bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, lateErr, err := s.InvokeWith(ctx, Invocation{Payload: []byte("{}"), Body: &body},
				func(ctx context.Context) error { return tt.runtime(ctx, s.Addr()) })
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if fmt.Sprint(lateErr) != fmt.Sprint(tt.lateErr) {
				t.Errorf("runtime error = %v, want %v", lateErr, tt.lateErr)
			}
			if tt.err == nil && (res == nil || res.Failed() || body.String() != tt.body) {
				t.Errorf("result %+v, body %q, want %q", res, body.String(), tt.body)
			}
		})
	}
}
