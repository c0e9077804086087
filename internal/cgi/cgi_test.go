package cgi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamstrap/streamstrap/internal/eventshape"
)

// The fixtures in testdata/ are based on AWS sample events: the Function
// URL request payload example (Lambda docs), the API Gateway payload 1.0
// and 2.0 examples, and aws-lambda-go's events/testdata samples
// (lambda-urls-request.json, apigw-v2-request-no-authorizer.json,
// apigw-request.json, s3-event.json), edited to cover more cases.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromEvent(t *testing.T) {
	tests := []struct {
		fixture string
		shape   eventshape.Shape
		env     map[string]string // every variable except LAMBDA_REQUEST_CONTEXT
		body    string
	}{
		{
			fixture: "function-url-get.json",
			shape:   eventshape.FunctionURL,
			env: map[string]string{
				"GATEWAY_INTERFACE":            "CGI/1.1",
				"HTTPS":                        "on",
				"HTTP_ACCEPT":                  "*/*",
				"HTTP_ACCEPT_ENCODING":         "gzip, deflate, br",
				"HTTP_COOKIE":                  "cookie1=a; cookie2=b",
				"HTTP_HOST":                    "abcdefghij.lambda-url.us-west-2.on.aws",
				"HTTP_USER_AGENT":              "curl/8.5.0",
				"HTTP_X_AMZN_TLS_CIPHER_SUITE": "ECDHE-RSA-AES128-GCM-SHA256",
				"HTTP_X_AMZN_TLS_VERSION":      "TLSv1.2",
				"HTTP_X_AMZN_TRACE_ID":         "Root=1-5eb33c07-de25b420912dee103a5db434",
				"HTTP_X_FORWARDED_FOR":         "198.51.100.7",
				"HTTP_X_FORWARDED_PORT":        "443",
				"HTTP_X_FORWARDED_PROTO":       "https",
				"PATH_INFO":                    "/my/path with spaces",
				"QUERY_STRING":                 "parameter1=value1&parameter1=value2&parameter2=value",
				"REMOTE_ADDR":                  "198.51.100.7",
				"REQUEST_METHOD":               "GET",
				"REQUEST_URI":                  "/my/path%20with%20spaces?parameter1=value1&parameter1=value2&parameter2=value",
				"SCRIPT_NAME":                  "",
				"SERVER_NAME":                  "abcdefghij.lambda-url.us-west-2.on.aws",
				"SERVER_PORT":                  "443",
				"SERVER_PROTOCOL":              "HTTP/1.1",
				"SERVER_SOFTWARE":              "streamstrap",
			},
		},
		{
			fixture: "function-url-post-base64.json",
			shape:   eventshape.FunctionURL,
			env: map[string]string{
				"CONTENT_LENGTH":         "12",
				"CONTENT_TYPE":           "image/png",
				"GATEWAY_INTERFACE":      "CGI/1.1",
				"HTTPS":                  "on",
				"HTTP_HOST":              "abcdefghij.lambda-url.us-west-2.on.aws",
				"HTTP_USER_AGENT":        "curl/8.5.0",
				"HTTP_X_FORWARDED_FOR":   "2001:db8::1",
				"HTTP_X_FORWARDED_PORT":  "443",
				"HTTP_X_FORWARDED_PROTO": "https",
				"PATH_INFO":              "/upload",
				"QUERY_STRING":           "",
				"REMOTE_ADDR":            "2001:db8::1",
				"REQUEST_METHOD":         "POST",
				"REQUEST_URI":            "/upload",
				"SCRIPT_NAME":            "",
				"SERVER_NAME":            "abcdefghij.lambda-url.us-west-2.on.aws",
				"SERVER_PORT":            "443",
				"SERVER_PROTOCOL":        "HTTP/1.1",
				"SERVER_SOFTWARE":        "streamstrap",
			},
			body: "\x89PNG\r\n\x1a\n\x00\x00\x00\xff",
		},
		{
			fixture: "http-api-v2-get.json",
			shape:   eventshape.HTTPAPIv2,
			env: map[string]string{
				"GATEWAY_INTERFACE":      "CGI/1.1",
				"HTTPS":                  "on",
				"HTTP_ACCEPT":            "*/*",
				"HTTP_HOST":              "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
				"HTTP_USER_AGENT":        "curl/7.58.0",
				"HTTP_X_AMZN_TRACE_ID":   "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c",
				"HTTP_X_FORWARDED_FOR":   "1.2.3.4",
				"HTTP_X_FORWARDED_PORT":  "443",
				"HTTP_X_FORWARDED_PROTO": "https",
				"PATH_INFO":              "/items/42",
				"QUERY_STRING":           "a=1&b=two%20words",
				"REMOTE_ADDR":            "1.2.3.4",
				"REQUEST_METHOD":         "GET",
				"REQUEST_URI":            "/prod/items/42?a=1&b=two%20words",
				"SCRIPT_NAME":            "/prod",
				"SERVER_NAME":            "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
				"SERVER_PORT":            "443",
				"SERVER_PROTOCOL":        "HTTP/1.1",
				"SERVER_SOFTWARE":        "streamstrap",
			},
		},
		{
			fixture: "rest-v1-get.json",
			shape:   eventshape.RESTv1,
			env: map[string]string{
				"GATEWAY_INTERFACE":      "CGI/1.1",
				"HTTPS":                  "on",
				"HTTP_ACCEPT":            "text/html",
				"HTTP_COOKIE":            "session=abc; theme=dark",
				"HTTP_HOST":              "gy415nuibc.execute-api.us-east-1.amazonaws.com",
				"HTTP_USER_AGENT":        "Mozilla/5.0",
				"HTTP_X_FORWARDED_FOR":   "203.0.113.9, 54.182.214.83",
				"HTTP_X_FORWARDED_PORT":  "443",
				"HTTP_X_FORWARDED_PROTO": "https",
				"HTTP_X_MULTI":           "first, second",
				"PATH_INFO":              "/items/42",
				"QUERY_STRING":           "q=x%26y&tag=a&tag=b+c",
				"REMOTE_ADDR":            "203.0.113.9",
				"REQUEST_METHOD":         "GET",
				"REQUEST_URI":            "/dev/items/42?q=x%26y&tag=a&tag=b+c",
				"SCRIPT_NAME":            "/dev",
				"SERVER_NAME":            "gy415nuibc.execute-api.us-east-1.amazonaws.com",
				"SERVER_PORT":            "443",
				"SERVER_PROTOCOL":        "HTTP/1.1",
				"SERVER_SOFTWARE":        "streamstrap",
			},
		},
		{
			fixture: "rest-v1-post.json",
			shape:   eventshape.RESTv1,
			env: map[string]string{
				"CONTENT_LENGTH":                  "13",
				"CONTENT_TYPE":                    "application/json",
				"GATEWAY_INTERFACE":               "CGI/1.1",
				"HTTPS":                           "on",
				"HTTP_ACCEPT":                     "*/*",
				"HTTP_ACCEPT_ENCODING":            "gzip, deflate",
				"HTTP_CACHE_CONTROL":              "no-cache",
				"HTTP_CLOUDFRONT_FORWARDED_PROTO": "https",
				"HTTP_CLOUDFRONT_VIEWER_COUNTRY":  "US",
				"HTTP_HEADERNAME":                 "headerValue",
				"HTTP_HOST":                       "gy415nuibc.execute-api.us-east-1.amazonaws.com",
				"HTTP_POSTMAN_TOKEN":              "9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f",
				"HTTP_USER_AGENT":                 "PostmanRuntime/2.4.5",
				"HTTP_VIA":                        "1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)",
				"HTTP_X_AMZ_CF_ID":                "pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A==",
				"HTTP_X_FORWARDED_FOR":            "54.240.196.186, 54.182.214.83",
				"HTTP_X_FORWARDED_PORT":           "443",
				"HTTP_X_FORWARDED_PROTO":          "https",
				"PATH_INFO":                       "/hello/world",
				"QUERY_STRING":                    "name=me",
				"REMOTE_ADDR":                     "192.168.196.186",
				"REQUEST_METHOD":                  "POST",
				"REQUEST_URI":                     "/testStage/hello/world?name=me",
				"SCRIPT_NAME":                     "/testStage",
				"SERVER_NAME":                     "gy415nuibc.execute-api.us-east-1.amazonaws.com",
				"SERVER_PORT":                     "443",
				"SERVER_PROTOCOL":                 "HTTP/1.1",
				"SERVER_SOFTWARE":                 "streamstrap",
			},
			body: "{\r\n\t\"a\": 1\r\n}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			req, err := FromEvent(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if req.Shape != tt.shape {
				t.Errorf("Shape = %v, want %v", req.Shape, tt.shape)
			}
			if string(req.Body) != tt.body {
				t.Errorf("Body = %q, want %q", req.Body, tt.body)
			}
			got := envMap(t, req.Env)
			if !strings.HasPrefix(got["LAMBDA_REQUEST_CONTEXT"], `{"accountId":`) {
				t.Errorf("LAMBDA_REQUEST_CONTEXT = %q", got["LAMBDA_REQUEST_CONTEXT"])
			}
			delete(got, "LAMBDA_REQUEST_CONTEXT")
			for k, want := range tt.env {
				if g, ok := got[k]; !ok || g != want {
					t.Errorf("%s = %q (set: %v), want %q", k, g, ok, want)
				}
			}
			for k, v := range got {
				if _, ok := tt.env[k]; !ok {
					t.Errorf("unexpected %s=%q", k, v)
				}
			}
		})
	}
}

// envMap checks Env's form (sorted, NAME=value, no NUL, unique names) and
// returns it as a map.
func envMap(t testing.TB, env []string) map[string]string {
	t.Helper()
	m := make(map[string]string, len(env))
	for i, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
			t.Fatalf("bad env entry %q", kv)
		}
		if _, dup := m[k]; dup {
			t.Fatalf("duplicate %s", k)
		}
		if i > 0 && env[i-1] >= kv {
			t.Fatalf("env not sorted at %q", kv)
		}
		m[k] = v
	}
	return m
}

func TestFromEventEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		want    map[string]string // subset; "" with unset means must be unset
		unset   []string
		wantErr string
	}{
		{
			name:  "REST root resource on the stage, no query",
			event: `{"httpMethod":"GET","path":"/","requestContext":{"stage":"dev","path":"/dev/"}}`,
			want:  map[string]string{"SCRIPT_NAME": "/dev", "PATH_INFO": "/", "REQUEST_URI": "/dev/", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1"},
		},
		{
			name:  "REST custom domain without base path, single-value query fallback",
			event: `{"httpMethod":"GET","path":"/a","queryStringParameters":{"k":"v w"},"headers":{"Host":"api.example.com"},"requestContext":{"path":"/a"}}`,
			want:  map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/a", "QUERY_STRING": "k=v+w", "SERVER_NAME": "api.example.com", "HTTP_HOST": "api.example.com"},
		},
		{
			name:  "REST encoded path decoded in PATH_INFO only, but not its encoded slash",
			event: `{"httpMethod":"GET","path":"/a%2Fb%20c","requestContext":{"path":"/v1/a%2Fb%20c"}}`,
			want:  map[string]string{"SCRIPT_NAME": "/v1", "PATH_INFO": "/a%2Fb c", "REQUEST_URI": "/v1/a%2Fb%20c"},
		},
		{
			name:  "REST encoded NUL stays encoded",
			event: `{"httpMethod":"GET","path":"/a%00b","requestContext":{}}`,
			want:  map[string]string{"PATH_INFO": "/a%00b", "REQUEST_URI": "/a%00b"},
		},
		{
			name:  "HTTP API payload 1.0 path is already decoded",
			event: `{"version":"1.0","httpMethod":"GET","path":"/100% sure?","requestContext":{"path":"/100% sure?"}}`,
			want:  map[string]string{"PATH_INFO": "/100% sure?", "REQUEST_URI": "/100%25%20sure%3F"},
		},
		{
			name:  "header filtering: underscore, non-token, Proxy, content headers; NUL value becomes a space",
			event: `{"version":"2.0","rawPath":"/","headers":{"x_a":"1","bad header":"2","proxy":"http://evil/","Content-Type":"text/plain","content-length":"3","x-nul":"a\u0000b","x-ok":"ok"},"requestContext":{"http":{"method":"GET"}}}`,
			want:  map[string]string{"HTTP_X_OK": "ok", "HTTP_X_NUL": "a b"},
			unset: []string{"HTTP_X_A", "HTTP_BAD_HEADER", "HTTP_PROXY", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "CONTENT_TYPE", "CONTENT_LENGTH"},
		},
		{
			name:  "v1 header names differing in case merge in sorted key order",
			event: `{"httpMethod":"GET","path":"/","multiValueHeaders":{"x-a":["2"],"X-A":["1"],"cookie":["b=2"],"Cookie":["a=1"]},"requestContext":{}}`,
			want:  map[string]string{"HTTP_X_A": "1, 2", "HTTP_COOKIE": "a=1; b=2"},
		},
		{
			name:  "v2 empty body with content-type sets no CONTENT_*",
			event: `{"version":"2.0","rawPath":"/","body":"","headers":{"content-type":"text/plain"},"requestContext":{"http":{"method":"POST","protocol":"HTTP/2.0"}}}`,
			want:  map[string]string{"SERVER_PROTOCOL": "HTTP/2.0", "REQUEST_METHOD": "POST"},
			unset: []string{"CONTENT_TYPE", "CONTENT_LENGTH"},
		},
		{
			name:  "v2 stage is not a prefix match on a longer segment",
			event: `{"version":"2.0","rawPath":"/product/1","requestContext":{"stage":"prod","http":{"method":"GET"}}}`,
			want:  map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/product/1"},
		},
		{
			name:    "invalid base64",
			event:   `{"version":"2.0","rawPath":"/","body":"!!!","isBase64Encoded":true,"requestContext":{"domainName":"x.lambda-url.us-east-1.on.aws","http":{"method":"POST"}}}`,
			wantErr: "cgi: function-url event: base64 body: illegal base64 data at input byte 0",
		},
		{
			name:    "not HTTP",
			event:   `{"Records":[]}`,
			wantErr: "cgi: not an HTTP event: not a Function URL, API Gateway HTTP API or REST API request",
		},
		{
			name:    "v1 wrong type for headers",
			event:   `{"httpMethod":"GET","path":"/","headers":{"a":1},"requestContext":{}}`,
			wantErr: "cgi: rest-v1 event: decode: json: cannot unmarshal number into Go struct field eventV1.headers of type string",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := FromEvent([]byte(tt.event))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				if tt.name == "not HTTP" && !errors.Is(err, ErrNotHTTP) {
					t.Error("error does not wrap ErrNotHTTP")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := envMap(t, req.Env)
			for k, want := range tt.want {
				if g, ok := got[k]; !ok || g != want {
					t.Errorf("%s = %q (set: %v), want %q", k, g, ok, want)
				}
			}
			for _, k := range tt.unset {
				if v, ok := req.lookupEnv(k); ok {
					t.Errorf("%s is set to %q", k, v)
				}
			}
		})
	}
}

func TestRequestContextLimit(t *testing.T) {
	big := strings.Repeat("x", maxRequestContext)
	req, err := FromEvent([]byte(`{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET"},"big":"` + big + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := req.lookupEnv("LAMBDA_REQUEST_CONTEXT"); ok {
		t.Error("oversized LAMBDA_REQUEST_CONTEXT was set")
	}
	if v, _ := req.lookupEnv("REQUEST_METHOD"); v != "GET" {
		t.Error("REQUEST_METHOD missing")
	}
}

// FuzzFromEvent must never panic; whatever it accepts must be an HTTP shape
// with a well-formed environment: every core variable set, no control byte
// in any value, a PATH_INFO with no dot-segment that can't climb, and a
// clean SCRIPT_NAME. Seeds: the fixtures, and testdata/fuzz/FuzzFromEvent.
func FuzzFromEvent(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			f.Add(readFixture(f, e.Name()))
		}
	}
	f.Add([]byte(`{"httpMethod":"GET","path":"/%zz","requestContext":{"path":"/"}}`))
	f.Fuzz(func(t *testing.T, event []byte) {
		shape := eventshape.Detect(event)
		req, err := FromEvent(event)
		if err != nil {
			if shape.IsHTTP() && errors.Is(err, ErrNotHTTP) {
				t.Fatalf("%v event rejected as not HTTP", shape)
			}
			return
		}
		if !shape.IsHTTP() || req.Shape != shape {
			t.Fatalf("accepted shape %v (Detect %v)", req.Shape, shape)
		}
		env := envMap(t, req.Env)
		for _, k := range []string{"GATEWAY_INTERFACE", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_URI", "SERVER_PROTOCOL", "SERVER_PORT"} {
			if _, ok := env[k]; !ok {
				t.Fatalf("%s unset", k)
			}
		}
		checkEnv(t, env)
		if pi := env["PATH_INFO"]; pathInfo(pi, true) != pi {
			t.Fatalf("PATH_INFO %q is not normalised", pi)
		}
	})
}
