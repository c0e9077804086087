package prelude

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParser feeds arbitrary output in arbitrary splits. The parser must
// never panic, must reach the same result however the input is split, and
// any prelude it builds must be valid JSON without NUL, then 8 NULs,
// within MaxPrelude. cuts gives the chunk lengths (each byte + 1, reused
// cyclically).
func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"",
		"\n",
		"\r\n",
		"Content-Type: text/plain\n\nhello",
		"Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>x</h1>",
		"Location: /x\n\n",
		"Set-Cookie: a=1\nSet-Cookie: b=2\nVary: a\nvary: b\n\n",
		"Transfer-Encoding: chunked\nContent-Length: 3\n\nabc",
		"X: a\x00b\n\n",
		"X: a\rb\n\n",
		"X: a\n b\n\n",
		"no colon\n\n",
		"Status: 99\n\n",
		"X: \"<é\xff>\"\n\n",
		"X: y\r",
	} {
		f.Add([]byte(s), []byte{0})
		f.Add([]byte(s), []byte{2, 0, 5})
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		for _, target := range []Target{FunctionURL, RESTAPI} {
			whole := fuzzRun(t, target, [][]byte{data})
			// Byte by byte up to just past the block limit, where the parser
			// must have stopped; the rest in one piece keeps big inputs cheap
			// (and their minimisation quick).
			var bytewise [][]byte
			n := min(len(data), MaxHeaderBlock+2)
			for i := range n {
				bytewise = append(bytewise, data[i:i+1])
			}
			if n < len(data) {
				bytewise = append(bytewise, data[n:])
			}
			if got := fuzzRun(t, target, bytewise); !reflect.DeepEqual(got, whole) {
				t.Fatalf("%v: byte-by-byte result\n%+v\ndiffers from whole\n%+v", target, got, whole)
			}
			if len(cuts) > 0 {
				var chunks [][]byte
				rest := data
				for i := 0; len(rest) > 0; i++ {
					n := min(int(cuts[i%len(cuts)])+1, len(rest))
					chunks = append(chunks, rest[:n])
					rest = rest[n:]
				}
				if got := fuzzRun(t, target, chunks); !reflect.DeepEqual(got, whole) {
					t.Fatalf("%v: split result\n%+v\ndiffers from whole\n%+v", target, got, whole)
				}
			}
		}
	})
}

// fuzzResult is what FuzzParser compares between splits.
type fuzzResult struct {
	Done     bool
	Consumed int // header block length: input length minus the body
	Resp     Response
	Prelude  []byte
	Err      string
}

// fuzzRun runs a Parser over chunks and checks the per-run invariants.
func fuzzRun(t *testing.T, target Target, chunks [][]byte) fuzzResult {
	t.Helper()
	p := NewParser(target)
	var r fuzzResult
	total, body := 0, 0
	for _, c := range chunks {
		total += len(c)
		if r.Done {
			body += len(c)
			continue
		}
		rest, done, err := p.Feed(c)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Feed error %v is not a *SyntaxError", err)
			}
			if len(se.Text) > maxQuoted+3 {
				t.Fatalf("SyntaxError.Text is %d bytes", len(se.Text))
			}
			r.Err = err.Error()
			return r
		}
		if !done && rest != nil {
			t.Fatalf("rest %q before done", rest)
		}
		if done {
			r.Done = true
			body += len(rest)
		}
	}
	if err := p.Finish(); err != nil {
		if r.Done {
			t.Fatalf("Finish after done: %v", err)
		}
		r.Err = err.Error()
		return r
	}
	if !r.Done {
		t.Fatal("Finish returned nil before done")
	}
	r.Consumed = total - body
	if r.Consumed > MaxHeaderBlock {
		t.Fatalf("header block of %d bytes accepted", r.Consumed)
	}
	r.Resp = p.Response()
	b, err := p.encoded()
	if err != nil {
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Prelude: %v", err)
		}
		r.Err = err.Error()
		return r
	}
	checkPrelude(t, b)
	var w wire
	if err := json.Unmarshal(b[:len(b)-delimiterLen], &w); err != nil {
		t.Fatal(err)
	}
	if w.StatusCode != r.Resp.StatusCode {
		t.Fatalf("prelude statusCode %d, Response %d", w.StatusCode, r.Resp.StatusCode)
	}
	if target == FunctionURL && (w.MultiValueHeaders != nil || len(w.Cookies) != len(r.Resp.Cookies)) {
		t.Fatalf("FunctionURL prelude fields wrong: %s", b)
	}
	if target == RESTAPI && (w.Headers != nil || w.Cookies != nil) {
		t.Fatalf("RESTAPI prelude fields wrong: %s", b)
	}
	r.Prelude = bytes.Clone(b)
	return r
}
