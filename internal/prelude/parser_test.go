package prelude

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// result is everything observable from running a Parser over an input.
type result struct {
	done    bool
	body    string // rest plus any bytes after the block
	resp    Response
	prelude string // JSON without the delimiter
	err     string // Feed/Finish error, or Prelude error prefixed "prelude: "
}

// run feeds chunks to a new Parser the way the bootstrap would: after done,
// the rest and every later chunk are body.
func run(t Target, chunks [][]byte) result {
	p := NewParser(t)
	var r result
	var body []byte
	for _, c := range chunks {
		if r.done {
			body = append(body, c...)
			continue
		}
		rest, done, err := p.Feed(c)
		if err != nil {
			r.err = err.Error()
			return r
		}
		if done {
			r.done = true
			body = append(body, rest...)
		}
	}
	if err := p.Finish(); err != nil {
		r.err = err.Error()
		return r
	}
	r.body = string(body)
	r.resp = p.Response()
	b, err := p.encoded()
	if err != nil {
		r.err = "prelude: " + err.Error()
		return r
	}
	r.prelude = string(b[:len(b)-delimiterLen])
	return r
}

// splits returns the ways the tests cut an input into Feeds: whole, byte
// by byte, and in two at every position.
func splits(in string) map[string][][]byte {
	b := []byte(in)
	m := map[string][][]byte{"whole": {b}}
	var bytewise [][]byte
	for i := range b {
		bytewise = append(bytewise, b[i:i+1])
	}
	m["bytewise"] = bytewise
	for i := 1; i < len(b); i++ {
		m["split@"+strconv.Itoa(i)] = [][]byte{b[:i], b[i:]}
	}
	return m
}

func TestParserValid(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		status  int
		header  []Field
		cookies []string
		dropped []string
		body    string
		furl    string // expected FunctionURL JSON
		rest    string // expected RESTAPI JSON
	}{
		{
			name:   "LF",
			in:     "Content-Type: text/plain\n\nhello\n",
			status: 200,
			header: []Field{{"content-type", "text/plain"}},
			body:   "hello\n",
			furl:   `{"statusCode":200,"headers":{"content-type":"text/plain"}}`,
			rest:   `{"statusCode":200,"multiValueHeaders":{"content-type":["text/plain"]}}`,
		},
		{
			name:   "CRLF with status and reason",
			in:     "Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>nope</h1>",
			status: 404,
			header: []Field{{"content-type", "text/html"}},
			body:   "<h1>nope</h1>",
			furl:   `{"statusCode":404,"headers":{"content-type":"text/html"}}`,
			rest:   `{"statusCode":404,"multiValueHeaders":{"content-type":["text/html"]}}`,
		},
		{
			name:   "status without reason, mixed line endings",
			in:     "status: 201\nX-A: 1\r\nX-B: 2\n\r\n",
			status: 201,
			header: []Field{{"x-a", "1"}, {"x-b", "2"}},
			furl:   `{"statusCode":201,"headers":{"x-a":"1","x-b":"2"}}`,
			rest:   `{"statusCode":201,"multiValueHeaders":{"x-a":["1"],"x-b":["2"]}}`,
		},
		{
			name:   "location gives 302",
			in:     "Location: https://example.com/\n\n",
			status: 302,
			header: []Field{{"location", "https://example.com/"}},
			furl:   `{"statusCode":302,"headers":{"location":"https://example.com/"}}`,
			rest:   `{"statusCode":302,"multiValueHeaders":{"location":["https://example.com/"]}}`,
		},
		{
			name:   "status wins over location",
			in:     "Location: /x\nStatus: 307 Temporary Redirect\n\n",
			status: 307,
			header: []Field{{"location", "/x"}},
			furl:   `{"statusCode":307,"headers":{"location":"/x"}}`,
			rest:   `{"statusCode":307,"multiValueHeaders":{"location":["/x"]}}`,
		},
		{
			name:    "cookies",
			in:      "Set-Cookie: a=1; Path=/\nContent-Type: text/plain\nset-cookie: b=2, with comma\n\n",
			status:  200,
			header:  []Field{{"content-type", "text/plain"}},
			cookies: []string{"a=1; Path=/", "b=2, with comma"},
			furl:    `{"statusCode":200,"headers":{"content-type":"text/plain"},"cookies":["a=1; Path=/","b=2, with comma"]}`,
			rest:    `{"statusCode":200,"multiValueHeaders":{"content-type":["text/plain"],"set-cookie":["a=1; Path=/","b=2, with comma"]}}`,
		},
		{
			name:   "repeated headers keep every value in order, names merge case-insensitively",
			in:     "Vary: Accept\nX-Z: z\nvary: Origin\nVARY: Cookie\n\n",
			status: 200,
			header: []Field{{"vary", "Accept"}, {"x-z", "z"}, {"vary", "Origin"}, {"vary", "Cookie"}},
			furl:   `{"statusCode":200,"headers":{"vary":"Accept, Origin, Cookie","x-z":"z"}}`,
			rest:   `{"statusCode":200,"multiValueHeaders":{"vary":["Accept","Origin","Cookie"],"x-z":["z"]}}`,
		},
		{
			name:    "hop-by-hop and framing headers dropped",
			in:      "Transfer-Encoding: chunked\nContent-Length: 5\nConnection: close\nKeep-Alive: timeout=5\nProxy-Connection: x\nTE: trailers\nTrailer: X\nUpgrade: h2c\nX-Ok: yes\n\nhello",
			status:  200,
			header:  []Field{{"x-ok", "yes"}},
			dropped: []string{"transfer-encoding", "content-length", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"},
			body:    "hello",
			furl:    `{"statusCode":200,"headers":{"x-ok":"yes"}}`,
			rest:    `{"statusCode":200,"multiValueHeaders":{"x-ok":["yes"]}}`,
		},
		{
			name:   "empty block LF",
			in:     "\nbody",
			status: 200,
			body:   "body",
			furl:   `{"statusCode":200}`,
			rest:   `{"statusCode":200}`,
		},
		{
			name:   "empty block CRLF, no body",
			in:     "\r\n",
			status: 200,
			furl:   `{"statusCode":200}`,
			rest:   `{"statusCode":200}`,
		},
		{
			name:   "status only, 204 with no body",
			in:     "Status: 204\n\n",
			status: 204,
			furl:   `{"statusCode":204}`,
			rest:   `{"statusCode":204}`,
		},
		{
			name:   "optional whitespace and empty value",
			in:     "X-A:v\nX-B: \t v w \t\nX-C:\nX-D:   \n\n",
			status: 200,
			header: []Field{{"x-a", "v"}, {"x-b", "v w"}, {"x-c", ""}, {"x-d", ""}},
			furl:   `{"statusCode":200,"headers":{"x-a":"v","x-b":"v w","x-c":"","x-d":""}}`,
			rest:   `{"statusCode":200,"multiValueHeaders":{"x-a":["v"],"x-b":["v w"],"x-c":[""],"x-d":[""]}}`,
		},
		{
			name:   "JSON escaping: quotes, backslash, HT, HTML characters, non-ASCII, invalid UTF-8",
			in:     "X-Q: \"a\\b\"\tc <&> é\xff\n\n",
			status: 200,
			header: []Field{{"x-q", "\"a\\b\"\tc <&> é\xff"}},
			furl:   `{"statusCode":200,"headers":{"x-q":"\"a\\b\"\tc <&> é\ufffd"}}`,
			rest:   `{"statusCode":200,"multiValueHeaders":{"x-q":["\"a\\b\"\tc <&> é\ufffd"]}}`,
		},
		{
			name:   "colon in value, body starts with CR LF bytes",
			in:     "Link: <https://a/b>; rel=x\n\n\r\n\x00\x00body",
			status: 200,
			header: []Field{{"link", "<https://a/b>; rel=x"}},
			body:   "\r\n\x00\x00body",
			furl:   `{"statusCode":200,"headers":{"link":"<https://a/b>; rel=x"}}`,
			rest:   `{"statusCode":200,"multiValueHeaders":{"link":["<https://a/b>; rel=x"]}}`,
		},
	}
	for _, tt := range tests {
		for target, want := range map[Target]string{FunctionURL: tt.furl, RESTAPI: tt.rest} {
			for how, chunks := range splits(tt.in) {
				t.Run(tt.name+"/"+target.String()+"/"+how, func(t *testing.T) {
					r := run(target, chunks)
					if r.err != "" {
						t.Fatalf("error: %s", r.err)
					}
					if !r.done {
						t.Fatal("not done")
					}
					if r.body != tt.body {
						t.Errorf("body = %q, want %q", r.body, tt.body)
					}
					if r.resp.StatusCode != tt.status {
						t.Errorf("StatusCode = %d, want %d", r.resp.StatusCode, tt.status)
					}
					if !reflect.DeepEqual(r.resp.Header, tt.header) {
						t.Errorf("Header = %q, want %q", r.resp.Header, tt.header)
					}
					if !reflect.DeepEqual(r.resp.Cookies, tt.cookies) {
						t.Errorf("Cookies = %q, want %q", r.resp.Cookies, tt.cookies)
					}
					if !reflect.DeepEqual(r.resp.Dropped, tt.dropped) {
						t.Errorf("Dropped = %q, want %q", r.resp.Dropped, tt.dropped)
					}
					if r.prelude != want {
						t.Errorf("prelude JSON\n got %s\nwant %s", r.prelude, want)
					}
					if strings.IndexByte(r.prelude, 0) >= 0 {
						t.Error("prelude JSON contains a NUL byte")
					}
				})
			}
		}
	}
}

func TestParserErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // full error text
	}{
		{"no colon", "Content-Type: text/plain\nhello world\n\n",
			`prelude: header block line 2: line has no colon (want "Name: value"): "hello world"`},
		{"no colon CRLF, body without header", "hello\r\n\r\n",
			`prelude: header block line 1: line has no colon (want "Name: value"): "hello"`},
		{"space in name", "Bad Name: x\n\n",
			`prelude: header block line 1: invalid character " " in header name (want an RFC 7230 token): "Bad Name: x"`},
		{"space before colon", "Name : x\n\n",
			`prelude: header block line 1: invalid character " " in header name (want an RFC 7230 token): "Name : x"`},
		{"empty name", ": x\n\n",
			`prelude: header block line 1: empty header name: ": x"`},
		{"separator in name", "X(y): z\n\n",
			`prelude: header block line 1: invalid character "(" in header name (want an RFC 7230 token): "X(y): z"`},
		{"obs-fold", "X-A: a\n  continued\n\n",
			`prelude: header block line 2: line starts with whitespace (obsolete line folding is not supported): "  continued"`},
		{"obs-fold tab first line", "\tX: y\n\n",
			`prelude: header block line 1: line starts with whitespace (obsolete line folding is not supported): "\tX: y"`},
		{"whitespace-only line", "X: y\n \r\n\n",
			`prelude: header block line 2: line starts with whitespace (obsolete line folding is not supported): " "`},
		{"status too short", "Status: 42\n\n",
			`prelude: header block line 1: invalid Status: want a 3-digit code 100-599, optionally followed by a space and a reason phrase: "Status: 42"`},
		{"status 600", "Status: 600 Nope\n\n",
			`prelude: header block line 1: invalid Status: want a 3-digit code 100-599, optionally followed by a space and a reason phrase: "Status: 600 Nope"`},
		{"status 099", "Status: 099\n\n",
			`prelude: header block line 1: invalid Status: want a 3-digit code 100-599, optionally followed by a space and a reason phrase: "Status: 099"`},
		{"status 4040", "Status: 4040\n\n",
			`prelude: header block line 1: invalid Status: want a 3-digit code 100-599, optionally followed by a space and a reason phrase: "Status: 4040"`},
		{"status letters", "Status: OK\n\n",
			`prelude: header block line 1: invalid Status: want a 3-digit code 100-599, optionally followed by a space and a reason phrase: "Status: OK"`},
		{"status empty", "Status:\n\n",
			`prelude: header block line 1: invalid Status: want a 3-digit code 100-599, optionally followed by a space and a reason phrase: "Status:"`},
		{"status twice", "Status: 200\nStatus: 404\n\n",
			`prelude: header block line 2: second Status line: "Status: 404"`},
		{"NUL in value", "X: a\x00b\n\n",
			`prelude: header block line 1: control character 0x00 in header value: "X: a\x00b"`},
		{"control char in value", "X: a\x1bb\n\n",
			`prelude: header block line 1: control character 0x1b in header value: "X: a\x1bb"`},
		{"DEL in value", "X: a\x7f\n\n",
			`prelude: header block line 1: control character 0x7f in header value: "X: a\x7f"`},
		{"bare CR in value", "X: a\rb\n\n",
			`prelude: header block line 1: bare CR in line: "X: a\rb"`},
		{"CR CR LF", "X: a\r\r\n\n",
			`prelude: header block line 1: bare CR in line: "X: a\r"`},
		{"ends before blank line", "Content-Type: text/plain\n",
			`prelude: header block line 2: output ended before the blank line that ends the header block`},
		{"ends mid-line", "Content-Type: text/plain\nX-Partial: ab",
			`prelude: header block line 2: output ended before the blank line that ends the header block: "X-Partial: ab"`},
		{"ends after CR", "X: y\r",
			`prelude: header block line 1: output ended before the blank line that ends the header block: "X: y"`},
		{"nothing written", "",
			`prelude: header block: no header block: the handler wrote nothing`},
		{"long line is quoted truncated", "X-Long " + strings.Repeat("a", 200) + ": v\n\n",
			`prelude: header block line 1: invalid character " " in header name (want an RFC 7230 token): "X-Long ` + strings.Repeat("a", 73) + `..."`},
		{"non-UTF-8 name", "X\xff: v\n\n",
			`prelude: header block line 1: invalid character "\xff" in header name (want an RFC 7230 token): "X\xff: v"`},
	}
	for _, tt := range tests {
		for how, chunks := range splits(tt.in) {
			t.Run(tt.name+"/"+how, func(t *testing.T) {
				r := run(FunctionURL, chunks)
				if r.err != tt.want {
					t.Errorf("error\n got %s\nwant %s", r.err, tt.want)
				}
			})
		}
	}
}

func TestSyntaxErrorFields(t *testing.T) {
	p := NewParser(FunctionURL)
	_, _, err := p.Feed([]byte("A: b\nbroken\n"))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *SyntaxError", err)
	}
	if se.Line != 2 || se.Text != "broken" {
		t.Errorf("Line, Text = %d, %q; want 2, %q", se.Line, se.Text, "broken")
	}
	if err := p.Finish(); err != se {
		t.Errorf("Finish after error = %v, want the Feed error", err)
	}
	if _, _, err := p.Feed([]byte("x")); err == nil {
		t.Error("Feed after error: no error")
	}
	if _, err := p.encoded(); err == nil {
		t.Error("Prelude after error: no error")
	}
}

func TestParserMisuse(t *testing.T) {
	p := NewParser(FunctionURL)
	if _, err := p.encoded(); err == nil {
		t.Error("Prelude before done: no error")
	}
	rest, done, err := p.Feed([]byte("X: y\n\nbody"))
	if err != nil || !done || string(rest) != "body" {
		t.Fatalf("Feed = %q, %v, %v", rest, done, err)
	}
	if _, _, err := p.Feed([]byte("more")); err == nil {
		t.Error("Feed after done: no error")
	}
	if err := p.Finish(); err != nil {
		t.Errorf("Finish after done = %v", err)
	}
	a, err := p.encoded()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.encoded()
	if !bytes.Equal(a, b) {
		t.Error("Prelude not stable")
	}
}

func TestRestSharesInput(t *testing.T) {
	in := []byte("X: y\r\n\r\nbody bytes")
	rest, done, err := NewParser(FunctionURL).Feed(in)
	if err != nil || !done {
		t.Fatalf("Feed = %v, %v", done, err)
	}
	if &rest[0] != &in[8] {
		t.Error("rest is a copy, want a subslice of the input")
	}
}

func TestHeaderBlockLimit(t *testing.T) {
	// line builds one header line of exactly n bytes including its LF.
	line := func(n int) string { return "X: " + strings.Repeat("v", n-4) + "\n" }
	atLimit := line(MaxHeaderBlock-1) + "\n"
	if len(atLimit) != MaxHeaderBlock {
		t.Fatalf("bad fixture length %d", len(atLimit))
	}
	overLimit := line(MaxHeaderBlock+1) + "\n"
	manyLines := strings.Repeat("X-Many: value\n", MaxHeaderBlock/14+1) + "\n"

	tests := []struct {
		name    string
		chunks  []string
		wantErr bool
		wantLn  int
	}{
		{"exactly at the limit", []string{atLimit + "body"}, false, 0},
		{"one byte over (blank line)", []string{line(MaxHeaderBlock-1) + "\r\n"}, true, 2},
		{"one line over", []string{overLimit}, true, 1},
		{"many lines over", []string{manyLines}, true, MaxHeaderBlock/14 + 1},
		// No LF at all: the error must come as soon as the buffered bytes
		// pass the limit, without waiting for a line end.
		{"endless line, one Feed", []string{strings.Repeat("a", MaxHeaderBlock+1)}, true, 1},
		{"endless line, small Feeds", []string{strings.Repeat("a", MaxHeaderBlock), "a"}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewParser(FunctionURL)
			var err error
			done := false
			for _, c := range tt.chunks {
				if _, done, err = p.Feed([]byte(c)); err != nil || done {
					break
				}
			}
			if !tt.wantErr {
				if err != nil || !done {
					t.Fatalf("Feed: done=%v err=%v", done, err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v: want a *SyntaxError wrapping ErrTooLarge", err)
			}
			if se.Line != tt.wantLn {
				t.Errorf("Line = %d, want %d", se.Line, tt.wantLn)
			}
			if !strings.Contains(err.Error(), "16384 bytes (MaxHeaderBlock)") {
				t.Errorf("error %q does not name the limit", err)
			}
			if len(se.Text) > maxQuoted+3 {
				t.Errorf("Text is %d bytes, want at most %d", len(se.Text), maxQuoted+3)
			}
		})
	}
}

func TestPreludeLimit(t *testing.T) {
	// A block under MaxHeaderBlock whose JSON is over MaxPrelude: every
	// value grows by the JSON quoting of its double quotes.
	block := "X: " + strings.Repeat(`"`, 9000) + "\n\n"
	p := NewParser(FunctionURL)
	if _, done, err := p.Feed([]byte(block)); err != nil || !done {
		t.Fatalf("Feed: done=%v err=%v", done, err)
	}
	_, err := p.encoded()
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "16000-byte limit") {
		t.Fatalf("Prelude error = %v, want ErrTooLarge naming the limit", err)
	}

	// The largest prelude that fits is exactly MaxPrelude bytes.
	overhead := len(`{"statusCode":200,"headers":{"x":""}}`) + delimiterLen
	r := Response{StatusCode: 200, Header: []Field{{"x", strings.Repeat("v", MaxPrelude-overhead)}}}
	b, err := Encode(r, FunctionURL)
	if err != nil || len(b) != MaxPrelude {
		t.Fatalf("Encode at the limit: %d bytes, %v", len(b), err)
	}
	r.Header[0].Value += "v"
	if _, err := Encode(r, FunctionURL); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Encode one over the limit: %v", err)
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		r       Response
		t       Target
		want    string
		wantErr string
	}{
		{
			name: "hand-made error page, names normalised, set-cookie field moved to cookies",
			r: Response{StatusCode: 502, Header: []Field{
				{"Content-Type", "text/plain"}, {"Content-Length", "3"}, {"Set-Cookie", "b=2"}, {"Status", "200"},
			}, Cookies: []string{"a=1"}},
			t:    FunctionURL,
			want: `{"statusCode":502,"headers":{"content-type":"text/plain"},"cookies":["a=1","b=2"]}`,
		},
		{
			name: "REST",
			r:    Response{StatusCode: 200, Header: []Field{{"X", "1"}, {"x", "2"}}, Cookies: []string{"a=1"}},
			t:    RESTAPI,
			want: `{"statusCode":200,"multiValueHeaders":{"set-cookie":["a=1"],"x":["1","2"]}}`,
		},
		{name: "NUL in value rejected", r: Response{StatusCode: 200, Header: []Field{{"x", "a\x00"}}}, t: FunctionURL,
			wantErr: `prelude: encode: header "x": control character 0x00 in value`},
		{name: "LF in cookie rejected", r: Response{StatusCode: 200, Cookies: []string{"a\nb"}}, t: FunctionURL,
			wantErr: `prelude: encode: cookie: control character 0x0a in value`},
		{name: "bad name", r: Response{StatusCode: 200, Header: []Field{{"a b", "x"}}}, t: FunctionURL,
			wantErr: `prelude: encode: header name "a b" is not a token`},
		{name: "bad status", r: Response{StatusCode: 0}, t: FunctionURL,
			wantErr: `prelude: encode: status code 0 outside 100-599`},
		{name: "bad target", r: Response{StatusCode: 200}, t: Target(7),
			wantErr: `prelude: encode: unknown target 7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.r, tt.t)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkPrelude(t, b)
			if got := string(b[:len(b)-delimiterLen]); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// checkPrelude asserts the prelude invariants: valid JSON with only the
// known fields, no NUL in it, then exactly 8 NULs, within MaxPrelude.
func checkPrelude(t testing.TB, b []byte) {
	t.Helper()
	if len(b) > MaxPrelude {
		t.Fatalf("prelude is %d bytes, over MaxPrelude", len(b))
	}
	if len(b) < delimiterLen || !bytes.Equal(b[len(b)-delimiterLen:], make([]byte, delimiterLen)) {
		t.Fatalf("prelude does not end with %d NULs: %q", delimiterLen, b)
	}
	js := b[:len(b)-delimiterLen]
	if bytes.IndexByte(js, 0) >= 0 {
		t.Fatalf("prelude JSON contains a NUL: %q", js)
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("prelude JSON %q: %v", js, err)
	}
	if dec.More() {
		t.Fatalf("trailing data after the prelude JSON: %q", js)
	}
	if w.StatusCode < 100 || w.StatusCode > 599 {
		t.Fatalf("statusCode %d", w.StatusCode)
	}
}
