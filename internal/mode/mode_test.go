package mode

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/streamstrap/streamstrap/internal/prelude"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// chunks is a reader that returns each of its parts from one Read, the way
// a pipe returns each write of the handler.
type chunks struct {
	parts [][]byte
	err   error // returned after the parts; io.EOF when nil
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	if n == len(c.parts[0]) {
		c.parts = c.parts[1:]
	} else {
		c.parts[0] = c.parts[0][n:]
	}
	return n, nil
}

func parts(ss ...string) *chunks {
	c := &chunks{}
	for _, s := range ss {
		c.parts = append(c.parts, []byte(s))
	}
	return c
}

func TestRawFramer(t *testing.T) {
	tests := []struct {
		name    string
		r       io.Reader
		ct      string
		want    Head
		wantCT  string
		wantErr bool
	}{
		{"first read is the head", parts("abc", "def"), "", Head{First: []byte("abc")}, DefaultContentType, false},
		{"empty reads are skipped", parts("", "", "x"), "text/plain", Head{First: []byte("x")}, "text/plain", false},
		{"no output", parts(), "", Head{EOF: true}, DefaultContentType, false},
		{"read error", &chunks{err: errors.New("boom")}, "", Head{}, DefaultContentType, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := RawFramer{Type: tt.ct}
			if ct := f.ContentType(); ct != tt.wantCT {
				t.Errorf("ContentType() = %q, want %q", ct, tt.wantCT)
			}
			got, err := f.Begin(tt.r, make([]byte, 64))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !bytes.Equal(got.First, tt.want.First) || got.EOF != tt.want.EOF {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHeaderFramer(t *testing.T) {
	prel := func(t prelude.Target, s string) string {
		p := prelude.NewParser(t)
		if _, done, err := p.Feed([]byte(s)); err != nil || !done {
			panic("bad fixture")
		}
		b, _ := prelude.Encode(p.Response(), t)
		return string(b)
	}
	const nul8 = "\x00\x00\x00\x00\x00\x00\x00\x00"
	tests := []struct {
		name      string
		target    prelude.Target
		r         io.Reader
		wantFirst string
		wantEOF   bool
		wantErr   string
		ended     bool
	}{
		{"block and body in one write", prelude.FunctionURL, parts("Status: 201\r\nContent-Type: a/b\r\n\r\nbody", "more"),
			prel(prelude.FunctionURL, "Status: 201\r\nContent-Type: a/b\r\n\r\n") + "body", false, "", false},
		{"block split byte by byte", prelude.FunctionURL, iotest.OneByteReader(strings.NewReader("X-A: b\nContent-Type: a/b\n\nz")),
			prel(prelude.FunctionURL, "X-A: b\nContent-Type: a/b\n\n"), false, "", false},
		{"empty body", prelude.RESTAPI, parts("Location: /x\r\n\r\n"),
			prel(prelude.RESTAPI, "Location: /x\r\n\r\n"), true, "", false},
		// No Content-Type: sniffed from the first body bytes, as net/http
		// does, waiting for them when they come in a later write.
		{"no Content-Type: sniffed from the body", prelude.FunctionURL, parts("Status: 201\r\n\r\nbody", "more"),
			`{"statusCode":201,"headers":{"content-type":"text/plain; charset=utf-8"}}` + nul8 + "body", false, "", false},
		{"no Content-Type: the body comes later", prelude.FunctionURL, parts("X-A: b\n\n", "", "<!DOCTYPE html><p>hi"),
			`{"statusCode":200,"headers":{"content-type":"text/html; charset=utf-8","x-a":"b"}}` + nul8 + "<!DOCTYPE html><p>hi", false, "", false},
		{"no Content-Type: binary", prelude.RESTAPI, parts("\n\x00\x01\x02"),
			`{"statusCode":200,"multiValueHeaders":{"content-type":["application/octet-stream"]}}` + nul8 + "\x00\x01\x02", false, "", false},
		{"no Content-Type: no body", prelude.FunctionURL, parts("X-A: b\n\n"),
			`{"statusCode":200,"headers":{"x-a":"b"}}` + nul8, true, "", false},
		{"no Content-Type: 204 is not sniffed", prelude.FunctionURL, parts("Status: 204\n\n", "x"),
			`{"statusCode":204}` + nul8, false, "", false},
		{"no Content-Type: 304 is not sniffed", prelude.FunctionURL, parts("Status: 304\n\n", "x"),
			`{"statusCode":304}` + nul8, false, "", false},
		{"malformed line", prelude.FunctionURL, parts("nonsense\r\n\r\n"), "", false, "line 1", false},
		{"output ends inside the block", prelude.FunctionURL, parts("X-A: b\r\n"), "", false, "blank line", true},
		{"no output at all", prelude.FunctionURL, parts(), "", false, "wrote nothing", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HeaderFramer{Target: tt.target}.Begin(tt.r, make([]byte, 4096))
			if tt.wantErr != "" {
				var he *HeadError
				if !errors.As(err, &he) || !strings.Contains(err.Error(), tt.wantErr) || he.OutputEnded != tt.ended {
					t.Fatalf("err = %v (%+v), want a HeadError with %q, OutputEnded %v", err, he, tt.wantErr, tt.ended)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ct := (HeaderFramer{}).ContentType(); ct != runtimeapi.ContentTypePrelude {
				t.Errorf("ContentType() = %q, want %q", ct, runtimeapi.ContentTypePrelude)
			}
			if string(got.First) != tt.wantFirst || got.EOF != tt.wantEOF {
				t.Errorf("got %q (EOF %v), want %q (EOF %v)", got.First, got.EOF, tt.wantFirst, tt.wantEOF)
			}
		})
	}
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cgi", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestModesPrepare(t *testing.T) {
	furl := sample(t, "function-url-get.json")
	rest := sample(t, "rest-v1-post.json")
	other := sample(t, "non-http.json")
	tests := []struct {
		name      string
		mode      Mode
		event     []byte
		framer    Framer
		stdinIsEv bool
		env       string // a variable that must be set
		wantErr   bool
	}{
		{"raw", RawMode{ContentType: "text/plain"}, furl, RawFramer{Type: "text/plain"}, true, "", false},
		{"http on a Function URL event", HTTPMode{}, furl, HeaderFramer{Target: prelude.FunctionURL}, true, "", false},
		{"http on a REST event", HTTPMode{}, rest, HeaderFramer{Target: prelude.RESTAPI}, true, "", false},
		{"http on another event", HTTPMode{}, other, HeaderFramer{Target: prelude.FunctionURL}, true, "", false},
		{"auto on a Function URL event", AutoMode{}, furl, HeaderFramer{Target: prelude.FunctionURL}, true, "", false},
		{"auto on a REST event", AutoMode{}, rest, HeaderFramer{Target: prelude.RESTAPI}, true, "", false},
		{"auto on another event", AutoMode{Raw: RawMode{ContentType: "a/b"}}, other, RawFramer{Type: "a/b"}, true, "", false},
		{"cgi on a Function URL event", CGIMode{}, furl, HeaderFramer{Target: prelude.FunctionURL}, false, "REQUEST_METHOD=GET", false},
		{"cgi on a REST event", CGIMode{}, rest, HeaderFramer{Target: prelude.RESTAPI}, false, "REQUEST_METHOD=POST", false},
		{"cgi on another event", CGIMode{}, other, nil, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := tt.mode.Prepare(tt.event)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if plan.Framer != tt.framer {
				t.Errorf("framer %#v, want %#v", plan.Framer, tt.framer)
			}
			if tt.stdinIsEv != bytes.Equal(plan.Stdin, tt.event) {
				t.Errorf("stdin is the event: %v, want %v", !tt.stdinIsEv, tt.stdinIsEv)
			}
			if tt.env != "" && !strings.Contains(strings.Join(plan.Env, "\n")+"\n", tt.env+"\n") {
				t.Errorf("env lacks %q: %q", tt.env, plan.Env)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		want Mode
	}{
		{"", RawMode{ContentType: "c/t"}},
		{"raw", RawMode{ContentType: "c/t"}},
		{"http", HTTPMode{}},
		{"cgi", CGIMode{}},
		{"auto", AutoMode{Raw: RawMode{ContentType: "c/t"}}},
	}
	for _, tt := range tests {
		if got, err := New(tt.name, "c/t"); err != nil || got != tt.want {
			t.Errorf("New(%q) = %#v, %v; want %#v", tt.name, got, err, tt.want)
		}
	}
	if _, err := New("Raw", ""); err == nil || !strings.Contains(err.Error(), `unknown mode "Raw"`) {
		t.Errorf("New(Raw) error = %v", err)
	}
}
