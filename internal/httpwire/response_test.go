package httpwire

import (
	"bufio"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name       string
		answer     string
		wantStatus int
		wantHeader map[string]string // name: first value
		wantBody   string
		wantKeep   bool
		wantErr    string // substring; empty for success
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r\r\nContent-Length: 2\r\n\r\n{}", 200,
			map[string]string{"Lambda-Runtime-Aws-Request-Id": "r"}, "{}", true, ""},
		{"chunked with trailers", "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;ext=1\r\n!!!\r\n0\r\nX: y\r\n\r\n", 202,
			nil, "ok!!!", true, ""},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, nil, "all of it", false, ""},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\nx", 200, nil, "x", false, ""},
		{"HTTP/1.0", "HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n", 500, nil, "", false, ""},
		{"no reason", "HTTP/1.1 204\r\n\r\n", 204, nil, "", true, ""},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", 304, nil, "", true, ""},
		{"bare LF, value trimmed", "HTTP/1.1 200 OK\nx-lower:  v \t\nContent-Length: 0\n\n", 200,
			map[string]string{"X-Lower": "v"}, "", true, ""},
		{"repeated field", "HTTP/1.1 200 OK\r\nA: 1\r\na: 2\r\nContent-Length: 0\r\n\r\n", 200, map[string]string{"A": "1"}, "", true, ""},
		{"malformed status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, nil, "", false, "malformed status line"},
		{"status below 100", "HTTP/1.1 099 Low\r\n\r\n", 0, nil, "", false, "malformed status line"},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", 0, nil, "", false, "malformed status line"},
		{"no colon", "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", 0, nil, "", false, "malformed header line"},
		{"folded line", "HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n", 0, nil, "", false, "malformed header line"},
		{"NUL in value", "HTTP/1.1 200 OK\r\nA: x\x00y\r\n\r\n", 0, nil, "", false, "malformed line"},
		{"huge header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 8000) + "\r\n\r\n", 0, nil, "", false, "too large"},
		{"too many lines", "HTTP/1.1 200 OK\r\n" + strings.Repeat("A: b\r\n", MaxHeadLines+1) + "\r\n", 0, nil, "", false, "too large"},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, nil, "", false, "invalid Content-Length"},
		{"differing lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, nil, "", false, "invalid Content-Length"},
		{"gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, nil, "", false, "unsupported Transfer-Encoding"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", 0, nil, "", false, "unexpected EOF"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, nil, "", false, "malformed chunk size"},
		{"bad chunk end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n", 0, nil, "", false, "malformed chunk end"},
		{"empty", "", 0, nil, "", false, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.answer), 4096)
			resp, err := ReadResponse(br, nil)
			var body []byte
			var b *Body
			if err == nil {
				if b, err = NewBody(resp, br); err == nil {
					body, err = io.ReadAll(b)
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if string(body) != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			if !b.Done() || b.KeepsAlive() != tt.wantKeep {
				t.Errorf("Done %v KeepsAlive %v, want true %v", b.Done(), b.KeepsAlive(), tt.wantKeep)
			}
		})
	}
}

// TestReadResponseInterns: a name the caller passes is keyed by the caller's
// own string, and an answer's head leaves its body unread in the reader.
func TestReadResponseInterns(t *testing.T) {
	const name = "Lambda-Runtime-Deadline-Ms"
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n" + name + ": 1\r\n\r\nrest"))
	resp, err := ReadResponse(br, map[string]string{name: name})
	if err != nil || resp.Header.Get(name) != "1" {
		t.Fatal(resp, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "rest" {
		t.Errorf("left %q in the reader, want the body", rest)
	}
}

// TestReadResponseValuesStayApart: the fields' values share one string and
// one slice, yet adding to one field leaves the next one as it was.
func TestReadResponseValuesStayApart(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nA: 3\r\nC: 4\r\n\r\n"))
	resp, err := ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Add("B", "x")
	resp.Header.Add("C", "y")
	for key, want := range map[string][]string{"A": {"1", "3"}, "B": {"2", "x"}, "C": {"4", "y"}} {
		if got := resp.Header.Values(key); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}
