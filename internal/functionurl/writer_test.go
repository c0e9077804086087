package functionurl

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// flushRecorder is a ResponseRecorder that counts flushes and what had
// been written at each one.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes []string
}

func (f *flushRecorder) Flush() {
	f.ResponseRecorder.Flush()
	f.flushes = append(f.flushes, f.Body.String())
}

func newRecorder() *flushRecorder { return &flushRecorder{ResponseRecorder: httptest.NewRecorder()} }

const nul8 = "\x00\x00\x00\x00\x00\x00\x00\x00"

func TestWriter(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		writes      []string
		wantStatus  int
		wantHeader  http.Header // checked key by key
		wantCookies []string
		wantBody    string
		wantErr     bool // Write or Close reports a PreludeError
	}{
		{
			name:        "prelude and body",
			contentType: IntegrationContentType,
			writes:      []string{`{"statusCode":201,"headers":{"content-type":"text/html","x-custom":"a, b"},"cookies":["a=1; Path=/","b=2; HttpOnly"]}` + nul8 + "<p>hello", "</p>"},
			wantStatus:  201,
			wantHeader:  http.Header{"Content-Type": {"text/html"}, "X-Custom": {"a, b"}},
			wantCookies: []string{"a=1; Path=/", "b=2; HttpOnly"},
			wantBody:    "<p>hello</p>",
		},
		{
			name:        "content type parameters",
			contentType: IntegrationContentType + "; charset=utf-8",
			writes:      []string{`{"statusCode":404}` + nul8 + "nope"},
			wantStatus:  404,
			wantBody:    "nope",
		},
		{
			name:        "no status means 200",
			contentType: IntegrationContentType,
			writes:      []string{`{"headers":{"x-a":"1"}}` + nul8},
			wantStatus:  200,
			wantHeader:  http.Header{"X-A": {"1"}},
		},
		{
			name:        "body with NULs after the prelude",
			contentType: IntegrationContentType,
			writes:      []string{`{}` + nul8 + nul8 + "x" + nul8},
			wantStatus:  200,
			wantBody:    nul8 + "x" + nul8,
		},
		{
			name:        "hop-by-hop headers dropped",
			contentType: IntegrationContentType,
			writes:      []string{`{"statusCode":200,"headers":{"content-length":"99","transfer-encoding":"gzip","connection":"close","x-kept":"y"}}` + nul8 + "ab"},
			wantStatus:  200,
			wantHeader:  http.Header{"Content-Length": nil, "Transfer-Encoding": nil, "Connection": nil, "X-Kept": {"y"}},
			wantBody:    "ab",
		},
		{
			name:        "raw response",
			contentType: "text/plain",
			writes:      []string{"one ", "two"},
			wantStatus:  200,
			wantHeader:  http.Header{"Content-Type": {"text/plain"}},
			wantBody:    "one two",
		},
		{
			name:        "raw response that looks like a prelude",
			contentType: "application/json",
			writes:      []string{`{"statusCode":500}` + nul8},
			wantStatus:  200,
			wantBody:    `{"statusCode":500}` + nul8,
		},
		{
			name:        "raw empty response",
			contentType: "application/octet-stream",
			wantStatus:  200,
		},
		{
			name:        "malformed JSON",
			contentType: IntegrationContentType,
			writes:      []string{`{"statusCode":` + nul8 + "body"},
			wantStatus:  502,
			wantBody:    "Internal Server Error",
			wantErr:     true,
		},
		{
			name:        "status out of range",
			contentType: IntegrationContentType,
			writes:      []string{`{"statusCode":103}` + nul8},
			wantStatus:  502,
			wantBody:    "Internal Server Error",
			wantErr:     true,
		},
		{
			name:        "bad header name",
			contentType: IntegrationContentType,
			writes:      []string{`{"headers":{"bad name":"x"}}` + nul8},
			wantStatus:  502,
			wantBody:    "Internal Server Error",
			wantErr:     true,
		},
		{
			name:        "prelude never ends",
			contentType: IntegrationContentType,
			writes:      []string{`{"statusCode":200}`, "no delimiter"},
			wantStatus:  502,
			wantBody:    "Internal Server Error",
			wantErr:     true,
		},
		{
			name:        "prelude over the limit",
			contentType: IntegrationContentType,
			writes:      []string{`{"headers":{"x":"` + strings.Repeat("a", MaxPrelude) + `"}}` + nul8},
			wantStatus:  502,
			wantBody:    "Internal Server Error",
			wantErr:     true,
		},
		{
			name:        "empty integration response",
			contentType: IntegrationContentType,
			wantStatus:  502,
			wantBody:    "Internal Server Error",
			wantErr:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			w := NewWriter(rec, tt.contentType)
			var gotErr error
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if err != nil {
					gotErr = err
					break
				}
				if n != len(s) {
					t.Errorf("Write returned %d, want %d", n, len(s))
				}
			}
			if err := w.Close(); err != nil && gotErr == nil {
				gotErr = err
			}
			var pe *PreludeError
			if tt.wantErr != errors.As(gotErr, &pe) {
				t.Errorf("error %v, want a PreludeError: %v", gotErr, tt.wantErr)
			}
			if !tt.wantErr && gotErr != nil {
				t.Errorf("unexpected error %v", gotErr)
			}
			res := rec.Result()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			for k, v := range tt.wantHeader {
				if got := res.Header.Values(k); !equalStrings(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if got := res.Header.Values("Set-Cookie"); !equalStrings(got, tt.wantCookies) {
				t.Errorf("Set-Cookie = %q, want %q", got, tt.wantCookies)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body %q, want %q", got, tt.wantBody)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWriterSplitPrelude feeds the same response cut at every position,
// and one byte per write: the result must not depend on the split.
func TestWriterSplitPrelude(t *testing.T) {
	const body = "first\x00second"
	resp := `{"statusCode":418,"headers":{"x-tea":"pot"},"cookies":["c=1"]}` + nul8 + body
	check := func(t *testing.T, rec *flushRecorder) {
		t.Helper()
		res := rec.Result()
		if res.StatusCode != 418 || res.Header.Get("X-Tea") != "pot" || res.Header.Get("Set-Cookie") != "c=1" {
			t.Fatalf("status %d, header %v", res.StatusCode, res.Header)
		}
		if rec.Body.String() != body {
			t.Fatalf("body %q, want %q", rec.Body.String(), body)
		}
	}
	for cut := 0; cut <= len(resp); cut++ {
		rec := newRecorder()
		w := NewWriter(rec, IntegrationContentType)
		for _, part := range []string{resp[:cut], resp[cut:]} {
			if _, err := w.Write([]byte(part)); err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("cut %d: Close: %v", cut, err)
		}
		check(t, rec)
	}
	rec := newRecorder()
	w := NewWriter(rec, IntegrationContentType)
	for i := range len(resp) {
		if _, err := w.Write([]byte{resp[i]}); err != nil {
			t.Fatal(err)
		}
		if w.Started() != (i >= len(resp)-len(body)-1) {
			t.Fatalf("after byte %d: Started() = %v", i, w.Started())
		}
	}
	w.Close()
	check(t, rec)
}

// TestWriterFlushesEveryWrite checks that each body write reaches the
// client at once.
func TestWriterFlushesEveryWrite(t *testing.T) {
	rec := newRecorder()
	w := NewWriter(rec, IntegrationContentType)
	for _, s := range []string{`{}`, nul8 + "a", "b", "c"} {
		w.Write([]byte(s))
	}
	want := []string{"a", "ab", "abc"}
	if !equalStrings(rec.flushes, want) {
		t.Errorf("flushed %q, want %q", rec.flushes, want)
	}
}

func TestWriterAfterFailure(t *testing.T) {
	rec := newRecorder()
	w := NewWriter(rec, IntegrationContentType)
	if _, err := w.Write([]byte("not json" + nul8)); err == nil {
		t.Fatal("no error for a bad prelude")
	}
	if _, err := w.Write([]byte("more")); !errors.Is(err, ErrFailed) {
		t.Errorf("Write after failure: %v, want ErrFailed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after failure: %v", err)
	}
	if rec.Body.String() != "Internal Server Error" {
		t.Errorf("body %q", rec.Body.String())
	}
}

func TestWriterFail(t *testing.T) {
	rec := newRecorder()
	w := NewWriter(rec, IntegrationContentType)
	w.Write([]byte(`{"statusCode":200`)) // prelude not yet complete
	if !w.Fail() {
		t.Fatal("Fail before the status reports false")
	}
	if rec.Code != 502 || rec.Body.String() != "Internal Server Error" {
		t.Errorf("got %d %q", rec.Code, rec.Body.String())
	}
	rec = newRecorder()
	w = NewWriter(rec, "text/plain")
	w.Write([]byte("partial"))
	if w.Fail() {
		t.Error("Fail after the status reports true")
	}
	if rec.Code != 200 || rec.Body.String() != "partial" {
		t.Errorf("got %d %q", rec.Code, rec.Body.String())
	}
}

// TestWriterOverHTTP runs a Writer in a real server on loopback and reads
// the response with net/http's client: status, one Set-Cookie per cookie,
// and the first body piece readable before the handler writes the second.
func TestWriterOverHTTP(t *testing.T) {
	second := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := NewWriter(rw, IntegrationContentType)
		w.Write([]byte(`{"statusCode":202,"headers":{"content-type":"text/plain"},"cookies":["a=1","b=2"]}`))
		w.Write([]byte(nul8 + "first\n"))
		<-second
		w.Write([]byte("second\n"))
		w.Close()
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		close(second)
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 202 {
		t.Errorf("status %d", res.StatusCode)
	}
	if got := res.Header.Values("Set-Cookie"); !equalStrings(got, []string{"a=1", "b=2"}) {
		t.Errorf("Set-Cookie %q", got)
	}
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(second) // only now may the handler write the rest
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}
