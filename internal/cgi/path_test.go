package cgi

import (
	"path"
	"strings"
	"testing"
)

func TestPathInfo(t *testing.T) {
	tests := []struct {
		in      string
		decoded bool
		want    string
	}{
		// The cases in issue 11.
		{"/%2e%2e/%2e%2e/etc/passwd", false, "/etc/passwd"},
		{"/a%2Fb/%2F%2Fetc%2Fpasswd", false, "/a%2Fb/%2F%2Fetc%2Fpasswd"},
		// Encoded dots in every case and mix.
		{"/%2E%2E/etc/passwd", false, "/etc/passwd"},
		{"/a/.%2e/.%2E/%2e./%2E./b", false, "/b"},
		{"/a/%2e/b", false, "/a/b"},
		{"/a/b/%2e%2e", false, "/a/"},
		{"/..%2F..%2Fetc", false, "/..%2F..%2Fetc"},         // one segment named "../../etc"
		{"/%2e%2e%2f%2e%2e%2fetc", false, "/..%2F..%2Fetc"}, // lower-case %2f too
		{"/%252e%252e/x", false, "/%2e%2e/x"},               // double encoding is decoded once only
		{"/...", false, "/..."},
		{"/a..b/..c", false, "/a..b/..c"},
		// NUL, CR/LF, controls and backslash stay encoded (upper-case hex).
		{"/a%00b", false, "/a%00b"},
		{"/a%0d%0aSet-Cookie:x", false, "/a%0D%0ASet-Cookie:x"},
		{"/a%09b%7f", false, "/a%09b%7F"},
		{"/%5c..%5c..%5cetc", false, "/%5C..%5C..%5Cetc"},
		{"/a\\..\\b", false, "/a%5C..%5Cb"},
		{"/a\r\nb", false, "/a%0D%0Ab"},
		// Ordinary escapes are decoded; bad ones stay.
		{"/my/path%20with%20spaces", false, "/my/path with spaces"},
		{"/caf%C3%A9", false, "/café"},
		{"/100%25", false, "/100%"},
		{"/%zz/%", false, "/%zz/%"},
		{"/a%2", false, "/a%2"},
		// Slashes and dot-segments (RFC 3986 §5.2.4, merged slashes).
		{"", false, ""},
		{"/", false, "/"},
		{"//", false, "/"},
		{"//etc//passwd", false, "/etc/passwd"},
		{"/a/./b/../c/", false, "/a/c/"},
		{"/a/..", false, "/"},
		{"/a/.", false, "/a/"},
		{"/..", false, "/"},
		{"/../../..", false, "/"},
		{"/a/b/../../../../c", false, "/c"},
		{"/a/b/", false, "/a/b/"},
		{"a/b", false, "/a/b"},
		{"..", false, "/"},
		{".", false, "/"},
		// Already decoded (HTTP APIs): "%" is literal; raw NUL, CR, LF and
		// "\" get encoded; dot-segments still resolve.
		{"/100% sure?", true, "/100% sure?"},
		{"/%2e%2e/x", true, "/%2e%2e/x"},
		{"/../../etc/passwd", true, "/etc/passwd"},
		{"/a\x00b", true, "/a%00b"},
		{"/a\r\n/..", true, "/"},
		{"/a\\b", true, "/a%5Cb"},
		{"//x/./y", true, "/x/y"},
	}
	for _, tt := range tests {
		got := pathInfo(tt.in, tt.decoded)
		if got != tt.want {
			t.Errorf("pathInfo(%q, %v) = %q, want %q", tt.in, tt.decoded, got, tt.want)
		}
		checkPathInfo(t, got)
		if again := pathInfo(got, true); again != got {
			t.Errorf("pathInfo(%q) not a fixed point: %q, then %q", tt.in, got, again)
		}
	}
}

// checkPathInfo checks the invariants every PATH_INFO keeps: empty or
// absolute, no "." or ".." or empty segment (but a trailing "/"), no
// control byte, no backslash.
func checkPathInfo(t testing.TB, p string) {
	t.Helper()
	if p == "" {
		return
	}
	if p[0] != '/' {
		t.Fatalf("PATH_INFO %q is not absolute", p)
	}
	if hasControl(p) || strings.IndexByte(p, '\\') >= 0 {
		t.Fatalf("PATH_INFO %q holds a control byte or a backslash", p)
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if s == "." || s == ".." || (s == "" && i != len(segs)-1) {
			t.Fatalf("PATH_INFO %q has segment %q", p, s)
		}
	}
}

func TestFromEventTraversal(t *testing.T) {
	const (
		furl  = `"domainName":"abc.lambda-url.us-east-1.on.aws","http":{"method":"GET"}`
		v2api = `"domainName":"abc.execute-api.us-east-1.amazonaws.com","http":{"method":"GET"}`
	)
	tests := []struct {
		name  string
		event string
		want  map[string]string
	}{
		{
			name:  "Function URL, encoded dots",
			event: `{"version":"2.0","rawPath":"/%2e%2e/%2E%2e/etc/passwd","requestContext":{` + furl + `}}`,
			want:  map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/etc/passwd", "REQUEST_URI": "/%2e%2e/%2E%2e/etc/passwd"},
		},
		{
			name:  "Function URL, encoded slashes stay encoded",
			event: `{"version":"2.0","rawPath":"/a%2Fb/%2F%2Fetc%2Fpasswd","requestContext":{` + furl + `}}`,
			want:  map[string]string{"PATH_INFO": "/a%2Fb/%2F%2Fetc%2Fpasswd", "REQUEST_URI": "/a%2Fb/%2F%2Fetc%2Fpasswd"},
		},
		{
			name:  "Function URL, NUL and backslash stay encoded, slashes merge",
			event: `{"version":"2.0","rawPath":"//x%00y//%5C..%5Cz/./","requestContext":{` + furl + `}}`,
			want:  map[string]string{"PATH_INFO": "/x%00y/%5C..%5Cz/", "REQUEST_URI": "//x%00y//%5C..%5Cz/./"},
		},
		{
			name:  "Function URL, raw CR/LF, space and ? in rawPath are escaped in REQUEST_URI",
			event: `{"version":"2.0","rawPath":"/a\r\nX: y?#","rawQueryString":"q=1\r\nX: y","requestContext":{` + furl + `}}`,
			want: map[string]string{
				"PATH_INFO":    "/a%0D%0AX: y?#",
				"REQUEST_URI":  "/a%0D%0AX:%20y%3F%23?q=1%0D%0AX: y",
				"QUERY_STRING": "q=1%0D%0AX: y",
			},
		},
		{
			name:  "Function URL, trailing /..",
			event: `{"version":"2.0","rawPath":"/a/b/..","requestContext":{` + furl + `}}`,
			want:  map[string]string{"PATH_INFO": "/a/"},
		},
		{
			name:  "HTTP API stage, traversal can't climb above the stage",
			event: `{"version":"2.0","rawPath":"/prod/../../admin","requestContext":{"stage":"prod",` + v2api + `}}`,
			want:  map[string]string{"SCRIPT_NAME": "/prod", "PATH_INFO": "/admin", "REQUEST_URI": "/prod/../../admin"},
		},
		{
			name:  "HTTP API stage then only ..",
			event: `{"version":"2.0","rawPath":"/prod/..","requestContext":{"stage":"prod",` + v2api + `}}`,
			want:  map[string]string{"SCRIPT_NAME": "/prod", "PATH_INFO": "/"},
		},
		{
			name:  "HTTP API stage named .. is no SCRIPT_NAME",
			event: `{"version":"2.0","rawPath":"/../etc","requestContext":{"stage":"..",` + v2api + `}}`,
			want:  map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/etc", "REQUEST_URI": "/../etc"},
		},
		{
			name:  "HTTP API path is decoded already: a literal %2e%2e is no dot-segment",
			event: `{"version":"2.0","rawPath":"/%2e%2e/x/../y","requestContext":{` + v2api + `}}`,
			want:  map[string]string{"PATH_INFO": "/%2e%2e/y", "REQUEST_URI": "/%252e%252e/x/../y"},
		},
		{
			name:  "REST path with encoded traversal, stage prefix",
			event: `{"httpMethod":"GET","path":"/%2e%2e/%2e%2e/etc/passwd","requestContext":{"stage":"dev","path":"/dev/%2e%2e/%2e%2e/etc/passwd"}}`,
			want:  map[string]string{"SCRIPT_NAME": "/dev", "PATH_INFO": "/etc/passwd", "REQUEST_URI": "/dev/%2e%2e/%2e%2e/etc/passwd"},
		},
		{
			name: "REST {proxy+} resource: PATH_INFO comes from path, pathParameters are not exported",
			event: `{"resource":"/files/{proxy+}","httpMethod":"GET","path":"/files/..%2F..%2Fetc/../../../passwd",` +
				`"pathParameters":{"proxy":"../../../etc/passwd"},"requestContext":{"path":"/files/..%2F..%2Fetc/../../../passwd"}}`,
			want: map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/passwd"},
		},
		{
			name:  "REST base path that is not clean is no SCRIPT_NAME",
			event: `{"httpMethod":"GET","path":"/x","requestContext":{"path":"/a/../x"}}`,
			want:  map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/x"},
		},
		{
			name:  "REST base path with an escape is no SCRIPT_NAME",
			event: `{"httpMethod":"GET","path":"/x","requestContext":{"path":"/%2e%2e/x"}}`,
			want:  map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/x"},
		},
		{
			name:  "HTTP API payload 1.0: decoded path, traversal and raw NUL",
			event: `{"version":"1.0","httpMethod":"GET","path":"/a/../../b\u0000c","requestContext":{"path":"/a/../../b\u0000c"}}`,
			want:  map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/b%00c", "REQUEST_URI": "/a/../../b%00c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := FromEvent([]byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			got := envMap(t, req.Env)
			checkEnv(t, got)
			for k, want := range tt.want {
				if g, ok := got[k]; !ok || g != want {
					t.Errorf("%s = %q (set: %v), want %q", k, g, ok, want)
				}
			}
		})
	}
}

func TestFromEventControlBytes(t *testing.T) {
	tests := []struct {
		name  string
		event string
		want  map[string]string
	}{
		{
			name:  "v2 header with CR/LF becomes one line",
			event: `{"version":"2.0","rawPath":"/","headers":{"user-agent":"x\r\nSet-Cookie: a=b","x-tab":"a\tb\u007f"},"cookies":["c=\n1"],"requestContext":{"http":{"method":"GET","sourceIp":"1.2.3.4\n"}}}`,
			want:  map[string]string{"HTTP_USER_AGENT": "x  Set-Cookie: a=b", "HTTP_X_TAB": "a b ", "HTTP_COOKIE": "c= 1", "REMOTE_ADDR": "1.2.3.4 "},
		},
		{
			name:  "v1 multi-value header, content type, method, protocol",
			event: `{"httpMethod":"GE\rT","path":"/","body":"x","multiValueHeaders":{"X-A":["1\n","\u00002"],"Content-Type":["text/plain\r\nX: y"]},"requestContext":{"protocol":"HTTP/1.1\r\n","domainName":"h\u0001"}}`,
			want:  map[string]string{"HTTP_X_A": "1 ,  2", "CONTENT_TYPE": "text/plain  X: y", "REQUEST_METHOD": "GE T", "SERVER_PROTOCOL": "HTTP/1.1  ", "SERVER_NAME": "h "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := FromEvent([]byte(tt.event))
			if err != nil {
				t.Fatal(err)
			}
			got := envMap(t, req.Env)
			checkEnv(t, got)
			for k, want := range tt.want {
				if g, ok := got[k]; !ok || g != want {
					t.Errorf("%s = %q (set: %v), want %q", k, g, ok, want)
				}
			}
		})
	}
}

// checkEnv checks the invariants of a whole environment: no control byte
// in any value, a sound PATH_INFO and SCRIPT_NAME.
func checkEnv(t testing.TB, env map[string]string) {
	t.Helper()
	for k, v := range env {
		if hasControl(v) {
			t.Fatalf("%s=%q holds a control byte", k, v)
		}
	}
	checkPathInfo(t, env["PATH_INFO"])
	if s := env["SCRIPT_NAME"]; !validScript(s) {
		t.Fatalf("SCRIPT_NAME %q", s)
	}
}

// FuzzPathInfo checks pathInfo's invariants on any input: an absolute (or
// empty) result with no dot or empty segment and no control byte or
// backslash; a fixed point; and, for a decoded path, the same segments as
// path.Clean once its control bytes and backslashes are encoded. Seeds:
// testdata/fuzz/FuzzPathInfo.
func FuzzPathInfo(f *testing.F) {
	for _, s := range []string{"/%2e%2e/%2e%2e/etc/passwd", "/a%2Fb/%2F%2Fetc%2Fpasswd", "/a/./b/../../..", "//x//y/", "/%00%0d%0a%5c", "a/b/..", "/%zz%2"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, decoded bool) {
		got := pathInfo(in, decoded)
		checkPathInfo(t, got)
		if in != "" && got == "" {
			t.Fatalf("pathInfo(%q) is empty", in)
		}
		if again := pathInfo(got, true); again != got {
			t.Fatalf("pathInfo(%q, %v) = %q, then %q", in, decoded, got, again)
		}
		if !decoded || in == "" {
			return
		}
		var esc strings.Builder
		for i := 0; i < len(in); i++ {
			if c := in[i]; c != '/' && keepEncoded(c) {
				writeEscape(&esc, c)
			} else {
				esc.WriteByte(c)
			}
		}
		e := esc.String()
		want := path.Clean("/" + e)
		if want != "/" && (strings.HasSuffix(e, "/") || strings.HasSuffix(e, "/.") || strings.HasSuffix(e, "/..")) {
			want += "/"
		}
		if got != want {
			t.Fatalf("pathInfo(%q, true) = %q, path.Clean says %q", in, got, want)
		}
	})
}
