package runtimeapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStreamedResponse drives a streamed /response with Go's net/http client,
// the way the bootstrap does, and checks the recording and chunk timing.
func TestStreamedResponse(t *testing.T) {
	s := New(t, Options{})
	ctx := ctxT(t)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	id := s.Enqueue(Event{Payload: []byte(`{"k":1}`)})
	resp, err := client.Get("http://" + s.Addr() + base + "/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(payload) != `{"k":1}` || resp.Header.Get(HeaderRequestID) != id {
		t.Fatalf("/next gave %q id %q", payload, resp.Header.Get(HeaderRequestID))
	}

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+s.Addr()+respPath(id), pr)
	req.ContentLength = -1
	req.Close = true
	req.Header.Set(HeaderResponseMode, "streaming")
	req.Header.Set("Content-Type", "text/plain")
	req.Trailer = http.Header{HeaderErrorType: nil, HeaderErrorBody: nil}
	const gap = 60 * time.Millisecond
	go func() {
		io.WriteString(pw, "chunk 1\n")
		time.Sleep(gap)
		io.WriteString(pw, "chunk 2\n")
		time.Sleep(gap)
		io.WriteString(pw, "chunk 3\n")
		pw.Close()
	}()
	presp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	if presp.StatusCode != 202 || string(ack) != "{\"status\":\"OK\"}\n" {
		t.Fatalf("post: %d %q", presp.StatusCode, ack)
	}

	inv, err := s.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := "chunk 1\nchunk 2\nchunk 3\n"
	if string(inv.Body) != want || inv.BodySize != int64(len(want)) || inv.BodySHA256 != sha256.Sum256([]byte(want)) {
		t.Errorf("body %q size %d", inv.Body, inv.BodySize)
	}
	if !inv.Streaming || inv.Outcome != "response" || inv.Status != 202 || inv.Truncated {
		t.Errorf("inv = %+v", inv)
	}
	if len(inv.Chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(inv.Chunks))
	}
	for i, c := range inv.Chunks {
		if string(c.Data) != fmt.Sprintf("chunk %d\n", i+1) || c.Size != 8 {
			t.Errorf("chunk %d = %q", i, c.Data)
		}
		if i > 0 {
			if d := c.At.Sub(inv.Chunks[i-1].At); d < gap/2 {
				t.Errorf("chunk %d arrived %v after the previous one, want about %v", i, d, gap)
			}
		}
	}
	if inv.HandedOut.IsZero() || inv.Done.Before(inv.Chunks[2].At) || inv.Chunks[0].At.Before(inv.HandedOut) {
		t.Errorf("times: handed out %v, chunks %v, done %v", inv.HandedOut, inv.Chunks, inv.Done)
	}
	if inv.Header.Get("Content-Type") != "text/plain" || inv.Trailer != nil || inv.ErrorType() != "" {
		t.Errorf("header %v trailer %v", inv.Header, inv.Trailer)
	}
	if _, err := inv.DecodedErrorBody(); err == nil {
		t.Error("DecodedErrorBody on a success: no error")
	}
}

// errReader sets the error trailers and returns io.EOF, as aws-lambda-go does.
type errReader struct {
	data    []string
	trailer http.Header
	typ     string
	body    string
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data[0])
		r.data = r.data[1:]
		return n, nil
	}
	r.trailer.Set(HeaderErrorType, r.typ)
	r.trailer.Set(HeaderErrorBody, r.body)
	return 0, io.EOF
}

// TestGoClientTrailers sends error trailers with Go's native request trailers.
func TestGoClientTrailers(t *testing.T) {
	s := New(t, Options{})
	id := handOut(t, s)
	req, _ := http.NewRequest("POST", "http://"+s.Addr()+respPath(id), nil)
	req.Trailer = http.Header{HeaderErrorType: nil, HeaderErrorBody: nil}
	req.Body = io.NopCloser(&errReader{
		data:    []string{"partial "},
		trailer: req.Trailer,
		typ:     "Function.HandlerFailed",
		body:    b64(`{"errorType":"HandlerFailed","errorMessage":"boom","stackTrace":["a","b"]}`),
	})
	req.ContentLength = -1
	req.Close = true
	req.Header.Set(HeaderResponseMode, "streaming")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	inv, err := s.Wait(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if inv.ErrorType() != "Function.HandlerFailed" || string(inv.Body) != "partial " {
		t.Errorf("type %q body %q", inv.ErrorType(), inv.Body)
	}
	m, err := inv.DecodedErrorBody()
	if err != nil || m["errorMessage"] != "boom" {
		t.Errorf("decoded %v, %v", m, err)
	}
	// Go writes the declaration as one sorted, comma-separated line.
	if got := inv.Header.Get("Trailer"); got != HeaderErrorBody+","+HeaderErrorType {
		t.Errorf("Trailer header %q", got)
	}
}

// streamCase is one hand-written streamed /response.
type streamCase struct {
	name    string
	headers []string // nil: streamHeaders
	body    string   // bytes after the header block
	status  int
	viol    []string // substrings of the expected violations; none for a clean request
	check   func(t *testing.T, inv *Invocation)
}

func runStreamCases(t *testing.T, cases []streamCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := lax(t, Options{})
			id := handOut(t, s)
			hs := tc.headers
			if hs == nil {
				hs = streamHeaders
			}
			r := dialRaw(t, s)
			r.write(head("POST", respPath(id), hs...), tc.body)
			body := r.expectStatus(tc.status)
			if tc.status == 202 && string(body) != "{\"status\":\"OK\"}\n" {
				t.Errorf("202 body %q", body)
			}
			inv, err := s.Wait(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Status != tc.status {
				t.Errorf("inv.Status = %d, want %d", inv.Status, tc.status)
			}
			wantViolations(t, s, tc.viol...)
			if tc.check != nil {
				tc.check(t, inv)
			}
		})
	}
}

func trailerBody(lines ...string) string {
	return chunk("hello") + "0\r\n" + strings.Join(lines, "") + "\r\n"
}

func TestTrailers(t *testing.T) {
	et := func(v string) string { return HeaderErrorType + ": " + v + "\r\n" }
	eb := func(v string) string { return HeaderErrorBody + ": " + v + "\r\n" }
	declare := func(decl ...string) []string {
		return append([]string{
			"Lambda-Runtime-Function-Response-Mode: streaming",
			"Transfer-Encoding: chunked",
		}, decl...)
	}
	runStreamCases(t, []streamCase{
		{
			name: "success without trailer fields", body: trailerBody(), status: 202,
			check: func(t *testing.T, inv *Invocation) {
				if inv.Trailer != nil || inv.ErrorType() != "" || string(inv.Body) != "hello" || inv.Truncated {
					t.Errorf("inv %+v", inv)
				}
			},
		},
		{
			name: "failure with both trailers", status: 202,
			body: trailerBody(et("Function.HandlerFailed"), eb(b64(goodErr))),
			check: func(t *testing.T, inv *Invocation) {
				if inv.ErrorType() != "Function.HandlerFailed" {
					t.Errorf("ErrorType %q", inv.ErrorType())
				}
				m, err := inv.DecodedErrorBody()
				if err != nil || m["errorType"] != "HandlerFailed" {
					t.Errorf("decoded %v %v", m, err)
				}
			},
		},
		{
			name: "stackTrace of strings", status: 202,
			body: trailerBody(et("Runtime.ExitError"), eb(b64(`{"errorType":"x","errorMessage":"y","stackTrace":["l1","l2"]}`))),
		},
		{
			name: "declared on two lines", status: 202,
			headers: declare("Trailer: Lambda-Runtime-Function-Error-Type", "Trailer: Lambda-Runtime-Function-Error-Body"),
			body:    trailerBody(et("Function.Failed"), eb(b64(goodErr))),
		},
		{
			name: "declared lower case, no spaces", status: 202,
			headers: declare("trailer: lambda-runtime-function-error-body,lambda-runtime-function-error-type"),
			body:    trailerBody(et("Function.Failed"), eb(b64(goodErr))),
		},
		{
			name: "trailer names in lower case", status: 202,
			body: trailerBody("lambda-runtime-function-error-type: Function.Failed\r\n", "lambda-runtime-function-error-body: "+b64(goodErr)+"\r\n"),
			check: func(t *testing.T, inv *Invocation) {
				if inv.ErrorType() != "Function.Failed" {
					t.Errorf("ErrorType %q", inv.ErrorType())
				}
			},
		},
		{
			name: "no Trailer declaration", status: 202, headers: declare(),
			body: trailerBody(),
			viol: []string{"does not declare " + HeaderErrorType, "does not declare " + HeaderErrorBody},
		},
		{
			name: "declaration lists only the type", status: 202,
			headers: declare("Trailer: Lambda-Runtime-Function-Error-Type"),
			body:    trailerBody(),
			viol:    []string{"does not declare " + HeaderErrorBody},
		},
		{
			name: "type does not match the pattern", status: 202,
			body: trailerBody(et("Unhandled"), eb(b64(goodErr))),
			viol: []string{"does not match"},
		},
		{
			name: "type with lower-case reason", status: 202,
			body: trailerBody(et("Function.handlerFailed"), eb(b64(goodErr))),
			viol: []string{"does not match"},
		},
		{
			name: "only the type", status: 202,
			body: trailerBody(et("Function.Failed")),
			viol: []string{"only one of the error trailers"},
		},
		{
			name: "only the body", status: 202,
			body: trailerBody(eb(b64(goodErr))),
			viol: []string{"only one of the error trailers"},
		},
		{
			name: "body not base64", status: 202,
			body: trailerBody(et("Function.Failed"), eb(goodErr)),
			viol: []string{"not standard base64"},
		},
		{
			name: "body base64 without padding", status: 202,
			body: trailerBody(et("Function.Failed"), eb(base64.RawStdEncoding.EncodeToString([]byte(goodErr+" ")))),
			viol: []string{"not standard base64"},
		},
		{
			name: "body URL-safe base64", status: 202,
			body: trailerBody(et("Function.Failed"), eb(base64.URLEncoding.EncodeToString([]byte(`{"errorType":"a","errorMessage":"~~~?"}`)))),
			viol: []string{"not standard base64"},
		},
		{
			name: "body JSON not an object", status: 202,
			body: trailerBody(et("Function.Failed"), eb(b64(`["boom"]`))),
			viol: []string{"not a JSON object"},
		},
		{
			name: "body JSON without errorMessage", status: 202,
			body: trailerBody(et("Function.Failed"), eb(b64(`{"errorType":"x"}`))),
			viol: []string{`no "errorMessage" field`},
		},
		{
			name: "errorType not a string", status: 202,
			body: trailerBody(et("Function.Failed"), eb(b64(`{"errorType":1,"errorMessage":"m"}`))),
			viol: []string{`"errorType" is not a string`},
		},
		{
			name: "stackTrace of objects", status: 202,
			body: trailerBody(et("Function.Failed"), eb(b64(`{"errorType":"x","errorMessage":"m","stackTrace":[{"path":"a"}]}`))),
			viol: []string{"non-string element"},
		},
		{
			name: "stackTrace not an array", status: 202,
			body: trailerBody(et("Function.Failed"), eb(b64(`{"errorType":"x","errorMessage":"m","stackTrace":"a"}`))),
			viol: []string{`"stackTrace" is not an array`},
		},
		{
			name: "undeclared trailer field", status: 202,
			body: trailerBody("X-Extra: 1\r\n"),
			viol: []string{"X-Extra was not declared"},
		},
		{
			name: "trailers sent twice", status: 202,
			body: trailerBody(et("Function.Failed"), eb(b64(goodErr)), et("Function.Y"), eb(b64(goodErr))),
			viol: []string{"more than once"},
		},
		{
			name: "trailer section too long", status: 202,
			body: trailerBody(et("Function.Failed"), eb(b64(`{"errorType":"x","errorMessage":"`+strings.Repeat("m", 3200)+`"}`))),
			viol: []string{"trailer section is"},
			check: func(t *testing.T, inv *Invocation) {
				if inv.ErrorType() != "Function.Failed" {
					t.Errorf("ErrorType %q", inv.ErrorType())
				}
			},
		},
		{
			name: "trailer section just under the limit", status: 202,
			// 4095 bytes: type line + body line + final CRLF.
			body: func() string {
				tl := et("Function.Failed")
				pad := MaxTrailerSection - 1 - len(tl) - 2 - len(HeaderErrorBody+": \r\n")
				// b64 length must be a multiple of 4; adjust with spaces in the JSON.
				for pad%4 != 0 {
					pad--
				}
				js := `{"errorType":"x","errorMessage":"` + strings.Repeat("m", pad/4*3-len(`{"errorType":"x","errorMessage":""}`)) + `"}`
				return trailerBody(tl, eb(b64(js)))
			}(),
		},
		{
			name: "trailer line without colon", status: 400,
			body: trailerBody("garbage\r\n"),
			viol: []string{"malformed trailer line"},
		},
		{
			name: "obsolete line folding in trailer", status: 400,
			body: trailerBody(et("Function.Failed"), " continued\r\n"),
			viol: []string{"obsolete line folding"},
		},
		{
			name: "trailer line with bare LF", status: 400,
			body: chunk("hello") + "0\r\n" + HeaderErrorType + ": Function.Failed\n\r\n",
			viol: []string{"not terminated by CRLF"},
		},
	})
}

func TestStreamHeaders(t *testing.T) {
	runStreamCases(t, []streamCase{
		{
			name: "mode header with capital S", status: 400,
			headers: []string{"Lambda-Runtime-Function-Response-Mode: Streaming", "Transfer-Encoding: chunked"},
			body:    chunk("x") + "0\r\n\r\n",
			viol:    []string{`must be exactly "streaming"`},
		},
		{
			name: "mode header buffered", status: 400,
			headers: []string{"Lambda-Runtime-Function-Response-Mode: buffered", "Content-Length: 1"},
			body:    "x",
			viol:    []string{`must be exactly "streaming"`},
		},
		{
			name: "streaming with Content-Length", status: 202,
			headers: []string{"Lambda-Runtime-Function-Response-Mode: streaming", "Content-Length: 5", "Trailer: " + HeaderErrorType + "," + HeaderErrorBody},
			body:    "hello",
			viol:    []string{"without Transfer-Encoding: chunked", "has a Content-Length header"},
			check: func(t *testing.T, inv *Invocation) {
				if string(inv.Body) != "hello" || len(inv.Chunks) != 0 {
					t.Errorf("body %q chunks %d", inv.Body, len(inv.Chunks))
				}
			},
		},
		{
			name: "chunked and Content-Length", status: 202,
			headers: append([]string{"Content-Length: 5"}, streamHeaders...),
			body:    chunk("hello") + "0\r\n\r\n",
			viol:    []string{"has a Content-Length header", "both Transfer-Encoding and Content-Length"},
		},
		{
			name: "Expect header", status: 202,
			headers: append([]string{"Expect: 100-continue"}, streamHeaders...),
			body:    chunk("hello") + "0\r\n\r\n",
			viol:    []string{"Expect header"},
		},
		{
			name: "unsupported transfer coding", status: 400,
			headers: []string{"Lambda-Runtime-Function-Response-Mode: streaming", "Transfer-Encoding: gzip, chunked", "Trailer: " + HeaderErrorType + "," + HeaderErrorBody},
			body:    chunk("hello") + "0\r\n\r\n",
			viol:    []string{"unsupported Transfer-Encoding"},
		},
		{
			name: "buffered response", status: 202,
			headers: []string{"Content-Type: application/json", "Content-Length: 7"},
			body:    `{"a":1}`,
			check: func(t *testing.T, inv *Invocation) {
				if inv.Streaming || string(inv.Body) != `{"a":1}` || inv.Truncated || inv.Chunks != nil {
					t.Errorf("inv %+v", inv)
				}
			},
		},
		{
			name: "buffered chunked response without mode header", status: 202,
			headers: []string{"Transfer-Encoding: chunked", "Trailer: " + HeaderErrorBody + ", " + HeaderErrorType},
			body:    chunk(`{"a":`) + chunk(`1}`) + "0\r\n\r\n",
			check: func(t *testing.T, inv *Invocation) {
				if inv.Streaming || string(inv.Body) != `{"a":1}` || len(inv.Chunks) != 2 {
					t.Errorf("inv %+v", inv)
				}
			},
		},
	})
}

func TestHTTP10(t *testing.T) {
	s := lax(t, Options{})
	id := handOut(t, s)
	r := dialRaw(t, s)
	r.write("POST " + respPath(id) + " HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
	r.expectStatus(202)
	r.expectClosed()
	wantViolations(t, s, "HTTP/1.0")
}

func TestChunkFraming(t *testing.T) {
	runStreamCases(t, []streamCase{
		{
			name: "chunk extensions", status: 202,
			body: "5;name=value\r\nhello\r\n6 ; a=\"b;c\"\r\n world\r\n0;last\r\n\r\n",
			check: func(t *testing.T, inv *Invocation) {
				if string(inv.Body) != "hello world" || len(inv.Chunks) != 2 {
					t.Errorf("body %q chunks %d", inv.Body, len(inv.Chunks))
				}
			},
		},
		{
			name: "upper and lower case hex, leading zeros", status: 202,
			body: "00A\r\n0123456789\r\nb\r\nabcdefghijk\r\n000\r\n\r\n",
			check: func(t *testing.T, inv *Invocation) {
				if inv.BodySize != 21 || inv.Chunks[1].Size != 11 {
					t.Errorf("size %d chunks %+v", inv.BodySize, inv.Chunks)
				}
			},
		},
		{
			name: "empty body", status: 202, body: "0\r\n\r\n",
			check: func(t *testing.T, inv *Invocation) {
				if inv.BodySize != 0 || inv.Chunks != nil || inv.Truncated || inv.BodySHA256 != sha256.Sum256(nil) {
					t.Errorf("inv %+v", inv)
				}
			},
		},
		{name: "bad hex", status: 400, body: "zz\r\nhello\r\n0\r\n\r\n", viol: []string{"bad chunk size line"}},
		{name: "negative size", status: 400, body: "-5\r\nhello\r\n0\r\n\r\n", viol: []string{"bad chunk size line"}},
		{name: "size with 0x prefix", status: 400, body: "0x5\r\nhello\r\n0\r\n\r\n", viol: []string{"bad chunk size line"}},
		{name: "huge size", status: 400, body: "1000000000000000\r\nhello\r\n", viol: []string{"bad chunk size line"}},
		{name: "empty size line", status: 400, body: "\r\nhello\r\n", viol: []string{"bad chunk size line"}},
		{name: "empty extension", status: 400, body: "5;\r\nhello\r\n0\r\n\r\n", viol: []string{"empty chunk extension"}},
		{name: "size line with bare LF", status: 400, body: "5\nhello\r\n0\r\n\r\n", viol: []string{"not terminated by CRLF"}},
		{name: "stray bytes after data", status: 400, body: "5\r\nhelloX\r\n0\r\n\r\n", viol: []string{`followed by "X\r" instead of CRLF`}},
		{name: "size smaller than data", status: 400, body: "3\r\nhello\r\n0\r\n\r\n", viol: []string{"instead of CRLF"}},
		{name: "data without CRLF", status: 400, body: "5\r\nhello0\r\n\r\n", viol: []string{"instead of CRLF"}},
		{
			name: "no CRLF after data, then the terminator", status: 400, body: "5\r\nhello\n0\r\n\r\n",
			viol: []string{"instead of CRLF"},
			check: func(t *testing.T, inv *Invocation) {
				if !inv.Truncated || string(inv.Body) != "hello" {
					t.Errorf("inv %+v", inv)
				}
			},
		},
	})
}

// TestTruncatedStream: the client goes away before the terminating chunk.
func TestTruncatedStream(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		size   int64
		chunks int
	}{
		{"after a whole chunk", chunk("hello"), 5, 1},
		{"inside a chunk", "a\r\nhello", 5, 0},
		{"inside a size line", chunk("hello") + "1", 5, 1},
		{"between terminator and final CRLF", chunk("hello") + "0\r\n", 5, 1},
		{"inside a trailer", chunk("hello") + "0\r\n" + HeaderErrorType + ": Func", 5, 1},
		{"before any body byte", "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, Options{}) // a truncated stream alone is no violation
			id := handOut(t, s)
			r := dialRaw(t, s)
			r.write(streamHead(id), tc.body)
			r.c.Close()
			inv, err := s.Wait(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if !inv.Truncated || inv.Status != 0 || inv.BodySize != tc.size || len(inv.Chunks) != tc.chunks {
				t.Errorf("truncated %v status %d size %d chunks %d", inv.Truncated, inv.Status, inv.BodySize, len(inv.Chunks))
			}
			if string(inv.Body) != "hello"[:tc.size] {
				t.Errorf("body %q", inv.Body)
			}
			// The invocation is over: the next /next is allowed.
			s.Enqueue(Event{})
			dialRaw(t, s).next()
		})
	}
}

// TestConnectionReuseAfterStream: a request after a streamed 202 on the same
// connection is a violation (but is still served).
func TestConnectionReuseAfterStream(t *testing.T) {
	s := lax(t, Options{})
	id := handOut(t, s)
	r := dialRaw(t, s)
	r.write(streamHead(id), chunk("hi"), "0\r\n\r\n")
	r.expectStatus(202)
	s.Enqueue(Event{})
	r.next()
	wantViolations(t, s, "connection reused after streamed response")
}

// TestKeepAlive: Go's client reuses one connection for /next and buffered posts.
func TestKeepAlive(t *testing.T) {
	s := New(t, Options{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for i := 0; i < 3; i++ {
		id := s.Enqueue(Event{Payload: []byte(strconv.Itoa(i))})
		resp, err := client.Get("http://" + s.Addr() + base + "/invocation/next")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		kind, body := "response", `"ok"`
		if i == 1 {
			kind, body = "error", goodErr
		}
		resp, err = client.Post("http://"+s.Addr()+base+"/invocation/"+id+"/"+kind, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		inv, err := s.Wait(ctxT(t), id)
		if err != nil || inv.Outcome != kind || string(inv.Body) != body {
			t.Fatalf("inv %+v, %v", inv, err)
		}
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if n := s.NextCalls(); n != 3 {
		t.Errorf("%d /next calls, want 3", n)
	}
}

func TestNextHeaders(t *testing.T) {
	s := New(t, Options{})
	deadline := time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())
	id := s.Enqueue(Event{
		RequestID: "req-1", Payload: []byte(`{"x":1}`), Deadline: deadline,
		FunctionARN: "arn:aws:lambda:eu-west-1:1:function:f:alias",
		TraceID:     "Root=1-2-3;Parent=4;Sampled=1", ClientContext: `{"c":1}`,
		CognitoIdentity: `{"cognitoIdentityId":"i","cognitoIdentityPoolId":"p"}`, TenantID: "tenant-7",
	})
	if id != "req-1" {
		t.Fatalf("id %q", id)
	}
	r := dialRaw(t, s)
	resp, body, _ := r.next()
	for k, v := range map[string]string{
		HeaderRequestID:       "req-1",
		HeaderDeadlineMs:      strconv.FormatInt(deadline.UnixMilli(), 10),
		HeaderFunctionARN:     "arn:aws:lambda:eu-west-1:1:function:f:alias",
		HeaderTraceID:         "Root=1-2-3;Parent=4;Sampled=1",
		HeaderClientContext:   `{"c":1}`,
		HeaderCognitoIdentity: `{"cognitoIdentityId":"i","cognitoIdentityPoolId":"p"}`,
		HeaderTenantID:        "tenant-7",
		"Content-Type":        "application/json",
		"Content-Length":      "7",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if string(body) != `{"x":1}` {
		t.Errorf("body %q", body)
	}
	r.write(jsonPost(id, "response", `1`))
	r.expectStatus(202)

	// Defaults: generated id, default ARN, deadline from Timeout, no optional headers.
	id2 := s.Enqueue(Event{Timeout: 5 * time.Second})
	if len(id2) != 36 || strings.Count(id2, "-") != 4 {
		t.Errorf("generated id %q", id2)
	}
	before := time.Now()
	resp, body, got := r.next()
	if got != id2 || len(body) != 0 || resp.Header.Get(HeaderFunctionARN) != DefaultFunctionARN {
		t.Errorf("id %q body %q arn %q", got, body, resp.Header.Get(HeaderFunctionARN))
	}
	for _, k := range []string{HeaderTraceID, HeaderClientContext, HeaderCognitoIdentity, HeaderTenantID} {
		if _, ok := resp.Header[k]; ok {
			t.Errorf("unexpected header %s", k)
		}
	}
	ms, _ := strconv.ParseInt(resp.Header.Get(HeaderDeadlineMs), 10, 64)
	if d := time.UnixMilli(ms).Sub(before); d < 4*time.Second || d > 6*time.Second {
		t.Errorf("deadline %v from now, want 5s", d)
	}
	r.write(jsonPost(id2, "response", `2`))
	r.expectStatus(202)
	inv, _ := s.Wait(ctxT(t), id2)
	if inv.Event.Deadline.Sub(inv.HandedOut) != 5*time.Second || inv.Event.FunctionARN != DefaultFunctionARN {
		t.Errorf("event %+v handed out %v", inv.Event, inv.HandedOut)
	}

	// Default deadline: 30s.
	id3 := s.Enqueue(Event{})
	r.next()
	r.write(jsonPost(id3, "response", `3`))
	r.expectStatus(202)
	inv, _ = s.Wait(ctxT(t), id3)
	if inv.Event.Deadline.Sub(inv.HandedOut) != 30*time.Second {
		t.Errorf("default deadline %v", inv.Event.Deadline.Sub(inv.HandedOut))
	}
}

func TestErrorEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  func(id string) string
		viol []string
		typ  string
	}{
		{
			name: "good with header",
			req: func(id string) string {
				return jsonPost(id, "error", `{"errorType":"X","errorMessage":"m","stackTrace":["a"]}`, HeaderErrorType+": Function.HandlerFailed")
			},
			typ: "Function.HandlerFailed",
		},
		{
			name: "good without header",
			req:  func(id string) string { return jsonPost(id, "error", goodErr) },
			typ:  "HandlerFailed",
		},
		{
			name: "chunked body with trailers declared",
			req: func(id string) string {
				return head("POST", errPath(id), "Transfer-Encoding: chunked", "Trailer: "+HeaderErrorType) +
					chunk(goodErr[:10]) + chunk(goodErr[10:]) + "0\r\n\r\n"
			},
			typ: "HandlerFailed",
		},
		{
			name: "header type not matching",
			req:  func(id string) string { return jsonPost(id, "error", goodErr, HeaderErrorType+": Unhandled") },
			viol: []string{"does not match"}, typ: "Unhandled",
		},
		{
			name: "body not JSON",
			req:  func(id string) string { return jsonPost(id, "error", `panic: boom`) },
			viol: []string{"not a JSON object"},
		},
		{
			name: "body without errorType",
			req:  func(id string) string { return jsonPost(id, "error", `{"errorMessage":"m"}`) },
			viol: []string{`no "errorType" field`},
		},
		{
			name: "stackTrace of objects",
			req: func(id string) string {
				return jsonPost(id, "error", `{"errorType":"x","errorMessage":"m","stackTrace":[{"line":1}]}`)
			},
			viol: []string{"non-string element"}, typ: "x",
		},
		{
			name: "empty body",
			req:  func(id string) string { return head("POST", errPath(id), "Content-Length: 0") },
			viol: []string{"not a JSON object"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lax(t, Options{})
			id := handOut(t, s)
			r := dialRaw(t, s)
			r.write(tc.req(id))
			r.expectStatus(202)
			inv, err := s.Wait(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Outcome != "error" || inv.Status != 202 || inv.ErrorType() != tc.typ {
				t.Errorf("outcome %q status %d type %q", inv.Outcome, inv.Status, inv.ErrorType())
			}
			wantViolations(t, s, tc.viol...)
			if tc.viol == nil {
				if m, err := inv.DecodedErrorBody(); err != nil || m["errorMessage"] == nil {
					t.Errorf("decoded %v %v", m, err)
				}
			}
			// Keep-alive after /error.
			s.Enqueue(Event{})
			r.next()
		})
	}
}

func TestInitError(t *testing.T) {
	t.Run("before next", func(t *testing.T) {
		s := New(t, Options{})
		r := dialRaw(t, s)
		r.write(head("POST", base+"/init/error", HeaderErrorType+": Runtime.NoSuchHandler", "Content-Length: "+strconv.Itoa(len(goodErr))) + goodErr)
		r.expectStatus(202)
		ies := s.InitErrors()
		if len(ies) != 1 || string(ies[0].Body) != goodErr || ies[0].Header.Get(HeaderErrorType) != "Runtime.NoSuchHandler" || ies[0].At.IsZero() {
			t.Errorf("init errors %+v", ies)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		s := lax(t, Options{})
		r := dialRaw(t, s)
		r.write(head("POST", base+"/init/error", HeaderErrorType+": oops", "Content-Length: 3") + "bad")
		r.expectStatus(202)
		wantViolations(t, s, "does not match", "not a JSON object")
		if len(s.InitErrors()) != 1 {
			t.Error("not recorded")
		}
	})
	t.Run("after next", func(t *testing.T) {
		s := lax(t, Options{})
		handOut(t, s)
		r := dialRaw(t, s)
		r.write(head("POST", base+"/init/error", "Content-Length: "+strconv.Itoa(len(goodErr))) + goodErr)
		r.expectStatus(403)
		wantViolations(t, s, "/init/error after 1 /next call(s)")
		if len(s.InitErrors()) != 0 {
			t.Error("recorded")
		}
	})
}

func TestBadRequestID(t *testing.T) {
	s := lax(t, Options{})
	queued := s.Enqueue(Event{})
	for _, tc := range []struct{ name, req string }{
		{"unknown id response", jsonPost("nope", "response", `1`)},
		{"unknown id error", jsonPost("nope", "error", goodErr)},
		{"unknown id stream", streamHead("nope") + chunk("abc") + "0\r\n\r\n"},
		{"id not handed out yet", jsonPost(queued, "response", `1`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, s)
			r.write(tc.req)
			body := r.expectStatus(400)
			if string(body) != `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`+"\n" && !strings.Contains(string(body), "InvalidRequestID") {
				t.Errorf("body %q", body)
			}
		})
	}
	wantViolations(t, s, "answered 400 InvalidRequestID")
	if n := len(s.Violations()); n != 4 {
		t.Errorf("%d violations, want 4", n)
	}
}

func TestDoublePost(t *testing.T) {
	for _, tc := range []struct{ name, first, second string }{
		{"response then response", "response", "response"},
		{"response then error", "response", "error"},
		{"error then error", "error", "error"},
		{"error then response", "error", "response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lax(t, Options{})
			id := handOut(t, s)
			r := dialRaw(t, s)
			r.write(jsonPost(id, tc.first, goodErr))
			r.expectStatus(202)
			r.write(jsonPost(id, tc.second, goodErr))
			r.expectStatus(403)
			wantViolations(t, s, "answered 403 InvalidStateTransition: State transition failed: /"+tc.second+" after a /"+tc.first)
			inv, _ := s.Wait(ctxT(t), id)
			if inv.Outcome != tc.first || inv.Status != 202 {
				t.Errorf("inv %+v", inv)
			}
		})
	}
}

// TestErrorDuringStream: /error while the /response stream is still being uploaded.
func TestErrorDuringStream(t *testing.T) {
	s := lax(t, Options{})
	id := handOut(t, s)
	stream := dialRaw(t, s)
	stream.write(streamHead(id), chunk("part"))
	waitResponding(t, s, id)
	other := dialRaw(t, s)
	other.write(jsonPost(id, "error", goodErr))
	other.expectStatus(403)
	stream.write("0\r\n\r\n")
	stream.expectStatus(202)
	wantViolations(t, s, "/error after a /response")
}

func TestNextWhileInFlight(t *testing.T) {
	t.Run("no post yet", func(t *testing.T) {
		s := lax(t, Options{})
		id := handOut(t, s)
		r := dialRaw(t, s)
		r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
		body := r.expectStatus(403)
		if !strings.Contains(string(body), "InvalidStateTransition") {
			t.Errorf("body %q", body)
		}
		wantViolations(t, s, "/next while 1 invocation(s) are in flight", id+" (in flight)")
	})
	t.Run("response still uploading", func(t *testing.T) {
		s := lax(t, Options{})
		id := handOut(t, s)
		stream := dialRaw(t, s)
		stream.write(streamHead(id), chunk("part"))
		waitResponding(t, s, id)
		r := dialRaw(t, s)
		r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
		r.expectStatus(403)
		wantViolations(t, s, id+" (terminal POST being read)")
		stream.write("0\r\n\r\n")
		stream.expectStatus(202)
		// After the 202 the next /next is fine.
		s.Enqueue(Event{})
		dialRaw(t, s).next()
		if n := len(s.Violations()); n != 1 {
			t.Errorf("violations %q", s.Violations())
		}
	})
}

func TestUnknownEndpoint(t *testing.T) {
	for _, req := range []string{
		head("GET", "/2018-06-01/runtime/invocation/nexxt"),
		head("POST", base+"/invocation/next", "Content-Length: 0"),
		head("GET", base+"/invocation/x/response"),
		head("POST", base+"/invocation/x/status", "Content-Length: 2") + "{}",
		head("GET", "/ping"),
		// Of the Extensions API only register and event/next are served.
		head("POST", "/2020-01-01/extension/init/error", "Content-Length: 2") + "{}",
		head("GET", "/2020-01-01/extension/register"),
	} {
		t.Run(strings.Fields(req)[0]+" "+strings.Fields(req)[1], func(t *testing.T) {
			s := lax(t, Options{})
			r := dialRaw(t, s)
			r.write(req)
			r.expectStatus(404)
			wantViolations(t, s, "unknown endpoint")
		})
	}
}

func TestMalformedRequest(t *testing.T) {
	for _, tc := range []struct{ name, req, viol string }{
		{"bad request line", "HELLO\r\n\r\n", "bad request line"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "unsupported protocol"},
		{"bare LF request line", "GET " + base + "/invocation/next HTTP/1.1\nHost: x\r\n\r\n", "not terminated by CRLF"},
		{"bad content length", head("POST", base+"/init/error", "Content-Length: x"), "invalid Content-Length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lax(t, Options{})
			r := dialRaw(t, s)
			r.write(tc.req)
			resp, _, err := r.tryResp()
			if err == nil && resp.StatusCode < 400 {
				t.Errorf("status %d", resp.StatusCode)
			}
			wantViolations(t, s, tc.viol)
		})
	}
	t.Run("missing Host", func(t *testing.T) {
		s := lax(t, Options{})
		s.Enqueue(Event{})
		r := dialRaw(t, s)
		r.write("GET " + base + "/invocation/next HTTP/1.1\r\n\r\n")
		r.expectStatus(200)
		wantViolations(t, s, "exactly one Host header")
	})
}

func TestFaultFailNext(t *testing.T) {
	s := New(t, Options{})
	s.FailNext(500)
	s.DropNext()
	s.FailNext(403)
	id := s.Enqueue(Event{})

	r := dialRaw(t, s)
	r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := r.resp()
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"errorType"`) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	r.expectClosed()

	r = dialRaw(t, s)
	r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	r.expectClosed()

	r = dialRaw(t, s)
	r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	r.expectStatus(403)

	// The faults did not consume the event.
	r = dialRaw(t, s)
	if _, _, got := r.next(); got != id {
		t.Errorf("got %q want %q", got, id)
	}
	if n := s.NextCalls(); n != 4 {
		t.Errorf("NextCalls %d", n)
	}
}

func TestFaultRespondEarly(t *testing.T) {
	for _, status := range []int{413, 400, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			s := New(t, Options{})
			id := handOut(t, s)
			s.RespondEarly(id, status, 10)
			r := dialRaw(t, s)
			r.write(streamHead(id), chunk("0123456"), chunk("789abcdef"))
			resp, body := r.resp()
			if resp.StatusCode != status || !resp.Close || !strings.Contains(string(body), "errorType") {
				t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
			}
			// The client may keep writing; the server drains, then closes.
			r.write(chunk("more"))
			r.expectClosed()
			inv, err := s.Wait(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Status != status || !inv.Truncated || inv.BodySize != 10 || string(inv.Body) != "0123456789" || len(inv.Chunks) != 1 {
				t.Errorf("status %d truncated %v size %d body %q chunks %d", inv.Status, inv.Truncated, inv.BodySize, inv.Body, len(inv.Chunks))
			}
			// The invocation is over.
			s.Enqueue(Event{})
			dialRaw(t, s).next()
		})
	}
	t.Run("after 0 bytes, buffered", func(t *testing.T) {
		s := New(t, Options{})
		id := handOut(t, s)
		s.RespondEarly(id, 413, 0)
		r := dialRaw(t, s)
		r.write(head("POST", respPath(id), "Content-Length: 5"))
		r.expectStatus(413)
		inv, _ := s.Wait(ctxT(t), id)
		if inv.Status != 413 || inv.BodySize != 0 || !inv.Truncated {
			t.Errorf("inv %+v", inv)
		}
	})
	t.Run("Go client sees the status", func(t *testing.T) {
		s := New(t, Options{})
		id := handOut(t, s)
		s.RespondEarly(id, 413, 1<<20)
		req, _ := http.NewRequest("POST", "http://"+s.Addr()+respPath(id), io.LimitReader(zeros{}, 8<<20))
		req.ContentLength = -1
		req.Close = true
		req.Header.Set(HeaderResponseMode, "streaming")
		req.Trailer = http.Header{HeaderErrorType: nil, HeaderErrorBody: nil}
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Errorf("status %d", resp.StatusCode)
			}
		} else {
			t.Logf("client error (acceptable): %v", err)
		}
		inv, _ := s.Wait(ctxT(t), id)
		if inv.Status != 413 || inv.BodySize != 1<<20 {
			t.Errorf("status %d size %d", inv.Status, inv.BodySize)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestFaultResetResponse(t *testing.T) {
	s := New(t, Options{})
	id := handOut(t, s)
	s.ResetResponse(id, 3)
	r := dialRaw(t, s)
	r.write(streamHead(id), chunk("hello"))
	_, _, err := r.tryResp()
	if err == nil {
		t.Fatal("got a response, want a reset")
	}
	if !strings.Contains(err.Error(), "reset") && err != io.EOF && err != io.ErrUnexpectedEOF {
		t.Logf("read error: %v", err)
	}
	inv, _ := s.Wait(ctxT(t), id)
	if inv.Status != 0 || !inv.Truncated || string(inv.Body) != "hel" {
		t.Errorf("inv %+v", inv)
	}
	s.Enqueue(Event{})
	dialRaw(t, s).next()
}

func TestFaultFailPost(t *testing.T) {
	for _, kind := range []string{"response", "error"} {
		t.Run(kind, func(t *testing.T) {
			s := New(t, Options{})
			id := handOut(t, s)
			s.FailPost(id, 500)
			r := dialRaw(t, s)
			r.write(jsonPost(id, kind, goodErr))
			body := r.expectStatus(500)
			if !strings.Contains(string(body), "errorMessage") {
				t.Errorf("body %q", body)
			}
			inv, _ := s.Wait(ctxT(t), id)
			if inv.Status != 500 || inv.Truncated || inv.Outcome != kind || string(inv.Body) != goodErr {
				t.Errorf("inv %+v", inv)
			}
			s.Enqueue(Event{})
			dialRaw(t, s).next()
		})
	}
	t.Run("streamed", func(t *testing.T) {
		s := New(t, Options{})
		id := handOut(t, s)
		s.FailPost(id, 413)
		r := dialRaw(t, s)
		r.write(streamHead(id), chunk("abc"), "0\r\n\r\n")
		r.expectStatus(413)
		inv, _ := s.Wait(ctxT(t), id)
		if inv.Status != 413 || inv.Truncated || string(inv.Body) != "abc" {
			t.Errorf("inv %+v", inv)
		}
	})
}

func TestFaultsAreOneShotAndPerID(t *testing.T) {
	s := New(t, Options{})
	a := handOut(t, s)
	s.FailPost("other", 500)
	s.RespondEarly("other", 413, 0)
	r := dialRaw(t, s)
	r.write(jsonPost(a, "response", `1`))
	r.expectStatus(202)

	s.Enqueue(Event{RequestID: "other"})
	r.next()
	r.write(jsonPost("other", "response", `1`))
	r.expectStatus(413) // RespondEarly fires before the body is read; FailPost stays queued
	inv, _ := s.Wait(ctxT(t), "other")
	if inv.Status != 413 {
		t.Errorf("status %d", inv.Status)
	}
}

func TestThrottle(t *testing.T) {
	s := New(t, Options{})
	s.Throttle(10_000, 100_000) // 10 kB free, then 100 kB/s
	id := handOut(t, s)
	r := dialRaw(t, s)
	data := strings.Repeat("x", 1000)
	r.write(streamHead(id))
	start := time.Now()
	go func() {
		for i := 0; i < 40; i++ { // 40 kB: 30 kB throttled = 300ms
			if _, err := io.WriteString(r.c, chunk(data)); err != nil {
				return
			}
		}
		io.WriteString(r.c, "0\r\n\r\n")
	}()
	r.expectStatus(202)
	el := time.Since(start)
	if el < 250*time.Millisecond || el > 2*time.Second {
		t.Errorf("throttled upload took %v, want about 300ms", el)
	}
	inv, _ := s.Wait(ctxT(t), id)
	if inv.BodySize != 40_000 {
		t.Errorf("size %d", inv.BodySize)
	}
	// The first 10 kB arrive at once, the last chunk about 300ms later.
	if d := inv.Chunks[39].At.Sub(inv.Chunks[9].At); d < 250*time.Millisecond {
		t.Errorf("throttled part took %v", d)
	}
	if d := inv.Chunks[8].At.Sub(inv.Chunks[0].At); d > 100*time.Millisecond {
		t.Errorf("burst took %v", d)
	}

	// Throttle(0, 0) turns it off.
	s.Throttle(0, 0)
	s.Enqueue(Event{})
	_, _, id2 := r2next(t, s)
	r = dialRaw(t, s)
	r.write(streamHead(id2), strings.Repeat(chunk(data), 40), "0\r\n\r\n")
	r.expectStatus(202)
	s.mu.Lock()
	if s.throttle != (throttle{}) {
		t.Errorf("throttle still set: %+v", s.throttle)
	}
	s.mu.Unlock()
}

func r2next(t *testing.T, s *Server) (*http.Response, []byte, string) {
	return dialRaw(t, s).next()
}

func TestRecordDataOff(t *testing.T) {
	s := New(t, Options{})
	s.SetRecordData(false)
	id := handOut(t, s)
	r := dialRaw(t, s)
	var all bytes.Buffer
	r.write(streamHead(id))
	for i := 0; i < 50; i++ {
		c := strings.Repeat(string(rune('a'+i%26)), 10_000+i)
		all.WriteString(c)
		r.write(chunk(c))
	}
	r.write("0\r\n" + HeaderErrorType + ": Function.Failed\r\n" + HeaderErrorBody + ": " + b64(goodErr) + "\r\n\r\n")
	r.expectStatus(202)
	inv, _ := s.Wait(ctxT(t), id)
	if inv.Body != nil || inv.BodySize != int64(all.Len()) || inv.BodySHA256 != sha256.Sum256(all.Bytes()) {
		t.Errorf("body %d bytes, size %d, sha mismatch %v", len(inv.Body), inv.BodySize, inv.BodySHA256 != sha256.Sum256(all.Bytes()))
	}
	if len(inv.Chunks) != 50 || inv.Chunks[49].Size != 10_049 || inv.Chunks[49].Data != nil {
		t.Errorf("chunks %d", len(inv.Chunks))
	}
	if inv.ErrorType() != "Function.Failed" {
		t.Errorf("trailers %v", inv.Trailer)
	}

	// /error bodies are recorded anyway.
	id = s.Enqueue(Event{})
	r = dialRaw(t, s)
	r.next()
	r.write(jsonPost(id, "error", goodErr))
	r.expectStatus(202)
	inv, _ = s.Wait(ctxT(t), id)
	if string(inv.Body) != goodErr {
		t.Errorf("error body %q", inv.Body)
	}
}

// TestRecordDataLarge checks recording across bufio refills and big chunks.
func TestRecordDataLarge(t *testing.T) {
	s := New(t, Options{})
	id := handOut(t, s)
	r := dialRaw(t, s)
	big := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB
	go func() {
		io.WriteString(r.c, streamHead(id))
		fmt.Fprintf(r.c, "%x\r\n", len(big))
		r.c.Write(big)
		io.WriteString(r.c, "\r\n"+chunk("tail")+"0\r\n\r\n")
	}()
	r.expectStatus(202)
	inv, _ := s.Wait(ctxT(t), id)
	want := append(append([]byte(nil), big...), "tail"...)
	if !bytes.Equal(inv.Body, want) || len(inv.Chunks) != 2 || !bytes.Equal(inv.Chunks[0].Data, big) || string(inv.Chunks[1].Data) != "tail" {
		t.Errorf("body %d bytes, chunks %d", len(inv.Body), len(inv.Chunks))
	}
	if inv.BodySHA256 != sha256.Sum256(want) {
		t.Error("sha mismatch")
	}
}

func TestConcurrency(t *testing.T) {
	s := New(t, Options{Concurrency: 2})
	ctx := ctxT(t)
	r1, r2 := dialRaw(t, s), dialRaw(t, s)
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i, r := range []*raw{r1, r2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, _, err := r.tryResp()
			if err == nil {
				ids[i] = resp.Header.Get(HeaderRequestID)
			}
		}()
	}
	if err := s.WaitNextCalls(ctx, 2); err != nil {
		t.Fatal(err)
	}
	a, b := s.Enqueue(Event{}), s.Enqueue(Event{})
	wg.Wait()
	if !(ids[0] == a && ids[1] == b || ids[0] == b && ids[1] == a) {
		t.Fatalf("handed out %q, enqueued %q %q", ids, a, b)
	}
	// A third /next while two are in flight is refused.
	s3 := dialRaw(t, s)
	s3.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	s3.expectStatus(403)
	if v := s.Violations(); len(v) != 1 || !strings.Contains(v[0], "concurrency 2") {
		t.Errorf("violations %q", v)
	}
	s.AllowViolations()
	r1.write(jsonPost(ids[0], "response", `1`))
	r2.write(jsonPost(ids[1], "response", `2`))
	r1.expectStatus(202)
	r2.expectStatus(202)
	for _, id := range ids {
		if _, err := s.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrencyQueue: with concurrency 2 and one waiter, events queue up
// and are handed out in order.
func TestConcurrencyQueue(t *testing.T) {
	s := New(t, Options{Concurrency: 2})
	ids := []string{s.Enqueue(Event{}), s.Enqueue(Event{}), s.Enqueue(Event{})}
	r1, r2 := dialRaw(t, s), dialRaw(t, s)
	_, _, g1 := r1.next()
	_, _, g2 := r2.next()
	if g1 != ids[0] || g2 != ids[1] {
		t.Fatalf("got %q %q want %q", g1, g2, ids)
	}
	r1.write(jsonPost(g1, "response", `1`))
	r1.expectStatus(202)
	_, _, g3 := r1.next()
	if g3 != ids[2] {
		t.Fatalf("got %q", g3)
	}
	r1.write(jsonPost(g3, "response", `1`))
	r2.write(jsonPost(g2, "response", `1`))
	r1.expectStatus(202)
	r2.expectStatus(202)
}

func TestCloseUnblocksWaiters(t *testing.T) {
	s := New(t, Options{Concurrency: 2})
	rs := []*raw{dialRaw(t, s), dialRaw(t, s)}
	errs := make(chan error, 2)
	for _, r := range rs {
		go func() {
			r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
			_, _, err := r.tryResp()
			errs <- err
		}()
	}
	if err := s.WaitNextCalls(ctxT(t), 2); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("Close hung")
	}
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("a waiter got a response")
		}
	}
	s.Enqueue(Event{RequestID: "queued"})
	if _, err := s.Wait(context.Background(), "queued"); err == nil {
		t.Error("Wait after Close: no error")
	}
	if err := s.WaitNextCalls(context.Background(), 5); err == nil {
		t.Error("WaitNextCalls after Close: no error")
	}
	s.Close() // idempotent
	if c, err := net.Dial("tcp", s.Addr()); err == nil {
		c.Close()
		t.Error("still listening")
	}
}

func TestWaitErrors(t *testing.T) {
	s := New(t, Options{})
	if _, err := s.Wait(context.Background(), "unknown"); err == nil {
		t.Error("unknown id: no error")
	}
	id := s.Enqueue(Event{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(ctx, id); err == nil {
		t.Error("timeout: no error")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := s.WaitNextCalls(ctx2, 1); err == nil {
		t.Error("WaitNextCalls timeout: no error")
	}
}

// TestDeadWaiter: a /next whose client went away must not swallow an event.
func TestDeadWaiter(t *testing.T) {
	s := New(t, Options{})
	dead := dialRaw(t, s)
	dead.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	if err := s.WaitNextCalls(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	dead.c.Close()
	for deadline := time.Now().Add(patience); ; time.Sleep(time.Millisecond) { // let the server notice the close
		s.mu.Lock()
		n := len(s.waiters)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dead waiter not removed")
		}
	}
	id := s.Enqueue(Event{})
	if _, _, got := dialRaw(t, s).next(); got != id {
		t.Errorf("got %q", got)
	}
}

// TestInvoke runs a small runtime loop with Go's client against Invoke.
func TestInvoke(t *testing.T) {
	s := New(t, Options{})
	ctx := ctxT(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for {
			resp, err := client.Get("http://" + s.Addr() + base + "/invocation/next")
			if err != nil {
				return
			}
			ev, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return
			}
			id := resp.Header.Get(HeaderRequestID)
			req, _ := http.NewRequest("POST", "http://"+s.Addr()+respPath(id), io.MultiReader(bytes.NewReader([]byte("echo:")), bytes.NewReader(ev)))
			req.Header.Set(HeaderResponseMode, "streaming")
			req.Trailer = http.Header{HeaderErrorType: nil, HeaderErrorBody: nil}
			req.Close = true
			resp, err = client.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
		}
	}()
	for i := range 5 {
		inv, err := s.Invoke(ctx, Event{Payload: []byte(strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		if string(inv.Body) != "echo:"+strconv.Itoa(i) || inv.Status != 202 {
			t.Errorf("inv %d: %q %d", i, inv.Body, inv.Status)
		}
	}
	if err := s.WaitNextCalls(ctx, 6); err != nil {
		t.Fatal(err)
	}
	s.Close()
	<-loopDone
	if n := s.Connections(); n != 6 { // one kept-alive /next connection + 5 streams
		t.Errorf("%d connections, want 6", n)
	}
}

func TestDuplicateEnqueue(t *testing.T) {
	ft := &fakeTB{TB: t}
	s := New(ft, Options{})
	s.Enqueue(Event{RequestID: "a"})
	s.Enqueue(Event{RequestID: "a"})
	if len(ft.errs) != 1 || !strings.Contains(ft.errs[0], "duplicate") {
		t.Errorf("errors %q", ft.errs)
	}
	s.Close()
}

// TestViolationsReported checks that Cleanup reports violations through tb.Errorf.
func TestViolationsReported(t *testing.T) {
	ft := &fakeTB{TB: t}
	t.Run("inner", func(t *testing.T) {
		ft.TB = t
		s := New(ft, Options{})
		r := dialRaw(t, s)
		r.write(head("GET", "/nope"))
		r.expectStatus(404)
	})
	if len(ft.errs) != 1 || !strings.Contains(ft.errs[0], "Runtime API violation") {
		t.Errorf("errors %q", ft.errs)
	}
}

// fakeTB records Errorf calls instead of failing.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// TestLargeHashPipelined checks the SHA-256 of bodies past the size where
// hashing moves to its own goroutine, with recording on and off.
func TestLargeHashPipelined(t *testing.T) {
	for _, record := range []bool{true, false} {
		t.Run(fmt.Sprintf("record=%v", record), func(t *testing.T) {
			s := New(t, Options{})
			s.SetRecordData(record)
			id := handOut(t, s)
			data := make([]byte, 3<<20+12345)
			for i := range data {
				data[i] = byte(i*7 + i>>11)
			}
			r := dialRaw(t, s)
			go func() {
				io.WriteString(r.c, streamHead(id))
				for off := 0; off < len(data); off += 100_000 {
					end := min(off+100_000, len(data))
					fmt.Fprintf(r.c, "%x\r\n", end-off)
					r.c.Write(data[off:end])
					io.WriteString(r.c, "\r\n")
				}
				io.WriteString(r.c, "0\r\n\r\n")
			}()
			r.expectStatus(202)
			inv, _ := s.Wait(ctxT(t), id)
			if inv.BodySHA256 != sha256.Sum256(data) || inv.BodySize != int64(len(data)) {
				t.Errorf("sha/size mismatch (size %d)", inv.BodySize)
			}
			if record != (inv.Body != nil) || (record && !bytes.Equal(inv.Body, data)) {
				t.Errorf("recorded body %d bytes", len(inv.Body))
			}
			if len(inv.Chunks) != (len(data)+99_999)/100_000 {
				t.Errorf("%d chunks", len(inv.Chunks))
			}
		})
	}
}
