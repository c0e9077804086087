package chunked

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/streamstrap/streamstrap/internal/httpwire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	typeTrailer = "Lambda-Runtime-Function-Error-Type"
	bodyTrailer = "Lambda-Runtime-Function-Error-Body"
)

// received is what the reference server (net/http's own parser) saw.
type received struct {
	header  http.Header
	body    []byte
	trailer http.Header
	proto   string
	te      []string
	cl      int64
	err     error
}

func newServer(t *testing.T, status int) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		// A test that aborts its stream expects a read error here; the
		// others check err.
		got <- received{header: r.Header, body: body, trailer: r.Trailer, proto: r.Proto, te: r.TransferEncoding, cl: r.ContentLength, err: err}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func open(t *testing.T, addr string) *Stream {
	t.Helper()
	s, err := Open(context.Background(), nil, Request{
		Addr:    addr,
		Path:    "/2018-06-01/runtime/invocation/abc/response",
		Header:  httpwire.Header{"Lambda-Runtime-Function-Response-Mode": {"streaming"}, "Content-Type": {"application/octet-stream"}},
		Trailer: []string{typeTrailer, bodyTrailer},
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestStreamBodiesAndTrailers(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB
	tests := []struct {
		name    string
		writes  [][]byte
		trailer httpwire.Header
		want    []byte
		wantTr  map[string]string
	}{
		{name: "empty body", want: nil},
		{name: "one chunk", writes: [][]byte{[]byte("hello\n")}, want: []byte("hello\n")},
		{name: "empty writes are skipped", writes: [][]byte{{}, []byte("a"), {}, []byte("b")}, want: []byte("ab")},
		{name: "binary with NULs", writes: [][]byte{{0, 0, 0, 1, 0xff, '\r', '\n', 0}}, want: []byte{0, 0, 0, 1, 0xff, '\r', '\n', 0}},
		{name: "large chunk", writes: [][]byte{big}, want: big},
		{
			name:    "failure trailers",
			writes:  [][]byte{[]byte("partial")},
			trailer: httpwire.Header{typeTrailer: {"Runtime.ExitError"}, bodyTrailer: {"eyJ9"}},
			want:    []byte("partial"),
			wantTr:  map[string]string{typeTrailer: "Runtime.ExitError", bodyTrailer: "eyJ9"},
		},
		{
			name:    "trailers on an empty body",
			trailer: httpwire.Header{typeTrailer: {"Runtime.ExitError"}, bodyTrailer: {"eyJ9"}},
			wantTr:  map[string]string{typeTrailer: "Runtime.ExitError", bodyTrailer: "eyJ9"},
		},
		{
			name:    "undeclared and empty trailer values are not sent",
			writes:  [][]byte{[]byte("x")},
			trailer: httpwire.Header{"X-Other": {"v"}, typeTrailer: {""}},
			want:    []byte("x"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := newServer(t, http.StatusAccepted)
			s := open(t, srv.Listener.Addr().String())
			for _, w := range tt.writes {
				if n, err := s.Write(w); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			resp, err := s.Close(tt.trailer)
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
			if resp.StatusCode != http.StatusAccepted || string(resp.Body) != `{"status":"OK"}` {
				t.Errorf("response = %d %q", resp.StatusCode, resp.Body)
			}
			r := <-got
			if r.err != nil {
				t.Fatalf("server read body: %v", r.err)
			}
			if !bytes.Equal(r.body, tt.want) {
				t.Errorf("body = %d bytes, want %d", len(r.body), len(tt.want))
			}
			if r.proto != "HTTP/1.1" || len(r.te) != 1 || r.te[0] != "chunked" || r.cl != -1 {
				t.Errorf("framing: proto %s te %v cl %d", r.proto, r.te, r.cl)
			}
			if m := r.header.Get("Lambda-Runtime-Function-Response-Mode"); m != "streaming" {
				t.Errorf("mode header = %q", m)
			}
			for name, want := range tt.wantTr {
				if g := r.trailer.Get(name); g != want {
					t.Errorf("trailer %s = %q, want %q", name, g, want)
				}
			}
			if tt.wantTr == nil {
				for name, v := range r.trailer {
					if len(v) > 0 && v[0] != "" {
						t.Errorf("unexpected trailer %s: %q", name, v)
					}
				}
			}
			if s.sent() != int64(len(tt.want)) {
				t.Errorf("sent = %d", s.sent())
			}
		})
	}
}

// rawServer accepts one connection and hands it to fn.
func rawServer(t *testing.T, fn func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		fn(c)
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func TestHeadAndFirstChunkShareOneWrite(t *testing.T) {
	first := make(chan string, 1)
	addr := rawServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		first <- string(buf[:n])
		_, _ = io.Copy(io.Discard, c)
	})
	s := open(t, addr)
	if _, err := s.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	got := <-first
	if !strings.HasPrefix(got, "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: ") {
		t.Errorf("request line: %q", got)
	}
	for _, want := range []string{
		"\r\nTransfer-Encoding: chunked\r\n",
		"\r\nTrailer: " + typeTrailer + ", " + bodyTrailer + "\r\n",
		"\r\nConnection: close\r\n",
		"\r\n\r\n2\r\nhi\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("first segment lacks %q:\n%q", want, got)
		}
	}
	if strings.Contains(got, "Expect") || strings.Contains(got, "Content-Length") {
		t.Errorf("forbidden header in %q", got)
	}
	s.Abort()
}

func TestAnnounce(t *testing.T) {
	// The head goes out without its final empty line: net/http's server
	// has parsed it but cannot act on it until the first chunk ends it.
	tests := []struct {
		name     string
		body     []string // written after Announce; nil: Close with no body
		wantBody string
	}{
		{"then a chunk", []string{"hello"}, "hello"},
		{"then several", []string{"a", "bc", "def"}, "abcdef"},
		{"then the end of an empty body", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := newServer(t, http.StatusAccepted)
			s := open(t, srv.Listener.Addr().String())
			if !s.Waiting() {
				t.Fatal("a new stream is not Waiting")
			}
			if err := s.Announce(); err != nil {
				t.Fatal(err)
			}
			if err := s.Announce(); err == nil {
				t.Fatal("a second Announce was taken")
			}
			select {
			case r := <-got:
				t.Fatalf("the server acted on an announced head: %+v", r)
			case <-time.After(50 * time.Millisecond):
			}
			if !s.Waiting() {
				t.Fatal("an announced stream is not Waiting")
			}
			for _, b := range tt.body {
				if _, err := s.Write([]byte(b)); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := s.Close(httpwire.Header{typeTrailer: {"Function.X"}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("status %d", resp.StatusCode)
			}
			r := <-got
			if r.err != nil || string(r.body) != tt.wantBody || r.trailer.Get(typeTrailer) != "Function.X" ||
				r.header.Get("Lambda-Runtime-Function-Response-Mode") != "streaming" {
				t.Errorf("server saw body %q (%v), trailer %v, header %v", r.body, r.err, r.trailer, r.header)
			}
		})
	}
}

func TestAnnouncedAbortIsNoRequest(t *testing.T) {
	// Aborted after Announce, the stream leaves the server a head that
	// never ended: net/http's parser has no request in it.
	sent := make(chan []byte, 1)
	addr := rawServer(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		sent <- b
	})
	s := open(t, addr)
	if err := s.Announce(); err != nil {
		t.Fatal(err)
	}
	s.Abort()
	b := <-sent
	if !bytes.HasPrefix(b, []byte("POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\n")) || !bytes.HasSuffix(b, []byte("Connection: close\r\n")) {
		t.Fatalf("announced %q", b)
	}
	if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b))); err == nil {
		t.Fatal("an aborted announce parsed as a request")
	}
	if err := s.Announce(); err == nil {
		t.Fatal("Announce on an aborted stream was taken")
	}
}

func TestEarlyResponseReleasesBlockedWriter(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			t.Errorf("read request: %v", err)
			return
		}
		// Answer without reading the body, then keep the connection open
		// and unread until the test ends (not for a fixed time, which a
		// slow writer could outlast), so only the early-answer logic can
		// free the writer.
		_, _ = io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 35\r\n\r\n{\"errorType\":\"RequestEntityTooLarge\"")
		<-release
	})
	s := open(t, addr)
	chunk := bytes.Repeat([]byte{'x'}, 1<<20)
	var err error
	for i := 0; i < 64 && err == nil; i++ { // 64 MiB is far beyond any socket buffer
		_, err = s.Write(chunk)
	}
	var early *EarlyResponseError
	if !errors.As(err, &early) || early.Response.StatusCode != 413 {
		t.Fatalf("write error = %v, want an early 413", err)
	}
	resp, err := s.Close(nil)
	if !errors.As(err, &early) || resp == nil || resp.StatusCode != 413 {
		t.Errorf("Close = %v, %v", resp, err)
	}
}

func TestConnectionResetMidStream(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		_, _ = br.Discard(100)
		_ = c.(*net.TCPConn).SetLinger(0) // RST, not FIN
	})
	s := open(t, addr)
	chunk := bytes.Repeat([]byte{'x'}, 64<<10)
	var err error
	for i := 0; i < 1024 && err == nil; i++ {
		_, err = s.Write(chunk)
	}
	if err == nil {
		t.Fatal("writes kept succeeding after a reset")
	}
	if _, err := s.Close(nil); err == nil {
		t.Error("Close after reset succeeded")
	}
	s.Abort() // idempotent
}

func TestReadFromCopiesUntilEOF(t *testing.T) {
	srv, got := newServer(t, http.StatusAccepted)
	s := open(t, srv.Listener.Addr().String())
	src := bytes.Repeat([]byte("streamstrap "), 100000)
	n, err := s.ReadFrom(bytes.NewReader(src))
	if err != nil || n != int64(len(src)) {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	if _, err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.err != nil || !bytes.Equal(r.body, src) {
		t.Errorf("body mismatch: %d bytes", len(r.body))
	}
}

func TestReadFromReportsReadErrors(t *testing.T) {
	srv, _ := newServer(t, http.StatusAccepted)
	s := open(t, srv.Listener.Addr().String())
	boom := errors.New("boom")
	_, err := s.ReadFrom(io.MultiReader(strings.NewReader("abc"), errReader{boom}))
	if !errors.Is(err, boom) {
		t.Errorf("ReadFrom error = %v", err)
	}
	s.Abort()
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestInvalidRequests(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"no address", Request{Path: "/x"}},
		{"relative path", Request{Addr: "127.0.0.1:1", Path: "x"}},
		{"managed header", Request{Addr: "127.0.0.1:1", Path: "/x", Header: httpwire.Header{"Content-Length": {"3"}}}},
		{"managed header, any case", Request{Addr: "127.0.0.1:1", Path: "/x", Header: httpwire.Header{"transfer-encoding": {"gzip"}}}},
		{"CRLF in value", Request{Addr: "127.0.0.1:1", Path: "/x", Header: httpwire.Header{"X-A": {"a\r\nb"}}}},
		{"bad header name", Request{Addr: "127.0.0.1:1", Path: "/x", Header: httpwire.Header{"X A": {"a"}}}},
		{"bad trailer name", Request{Addr: "127.0.0.1:1", Path: "/x", Trailer: []string{"a:b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Open(context.Background(), nil, tt.req); err == nil {
				s.Abort()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestTrailerValueWithNewlineIsRefused(t *testing.T) {
	srv, _ := newServer(t, http.StatusAccepted)
	s := open(t, srv.Listener.Addr().String())
	if _, err := s.Close(httpwire.Header{typeTrailer: {"a\nb"}}); err == nil {
		t.Error("Close accepted a trailer value with a newline")
	}
}

func TestWriteAfterClose(t *testing.T) {
	srv, _ := newServer(t, http.StatusAccepted)
	s := open(t, srv.Listener.Addr().String())
	if _, err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("late")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestDialFailure(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Open(context.Background(), nil, Request{Addr: addr, Path: "/x"}); err == nil {
		t.Error("Open to a closed port succeeded")
	}
}

// BenchmarkStreamWrite measures chunk framing and sending over loopback into
// a server that discards; the baseline is the same bytes written raw.
func BenchmarkStreamWrite(b *testing.B) {
	for _, size := range []int{64 << 10, 256 << 10} {
		chunk := make([]byte, size)
		b.Run("chunked/"+sizeName(size), func(b *testing.B) {
			addr, stop := discardServer(b)
			defer stop()
			s, err := Open(context.Background(), nil, Request{Addr: addr, Path: "/r"})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			s.Abort()
		})
		b.Run("raw-baseline/"+sizeName(size), func(b *testing.B) {
			addr, stop := discardServer(b)
			defer stop()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c.Close()
		})
	}
}

func sizeName(n int) string { return strconv.Itoa(n>>10) + "KiB" }

func discardServer(b *testing.B) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.CopyBuffer(io.Discard, c, make([]byte, 1<<20))
		c.Close()
	}()
	return ln.Addr().String(), func() { ln.Close(); <-done }
}

// BenchmarkChunk is the per-chunk hot path at a handler's typical write
// sizes: Write (one chunk per call) and ReadFrom (one chunk per read).
func BenchmarkChunk(b *testing.B) {
	for _, size := range []int{128, 4 << 10} {
		chunk := bytes.Repeat([]byte("x"), size)
		b.Run("Write/"+strconv.Itoa(size)+"B", func(b *testing.B) {
			addr, stop := discardServer(b)
			defer stop()
			s, err := Open(context.Background(), nil, Request{Addr: addr, Path: "/r"})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			s.Abort()
		})
		b.Run("ReadFrom/"+strconv.Itoa(size)+"B", func(b *testing.B) {
			addr, stop := discardServer(b)
			defer stop()
			s, err := Open(context.Background(), nil, Request{Addr: addr, Path: "/r"})
			if err != nil {
				b.Fatal(err)
			}
			r := &chunkReader{chunk: chunk}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			r.left = b.N
			if _, err := s.ReadFrom(r); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			s.Abort()
		})
	}
}

// chunkReader returns chunk left times, one per Read, then io.EOF.
type chunkReader struct {
	chunk []byte
	left  int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	r.left--
	return copy(p, r.chunk), nil
}

// TestWriteDoesNotAllocate: a chunk costs no allocation once the stream is
// open, whatever its size.
func TestWriteDoesNotAllocate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	}()
	defer func() { ln.Close(); <-done }()
	s, err := Open(context.Background(), nil, Request{Addr: ln.Addr().String(), Path: "/r"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	for _, size := range []int{1, 128, 4 << 10, 64 << 10} {
		chunk := make([]byte, size)
		if _, err := s.Write(chunk); err != nil { // the head goes with the first
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(50, func() {
			if _, err := s.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Write of %d bytes: %v allocations per chunk, want 0", size, n)
		}
	}
}
