package main

// End-to-end test of what a hostile Function URL or REST client can put in
// a CGI program's environment (issue 11, items 1 and 9): the real binary,
// the echo.cgi shell script, and the strict Runtime API.

import (
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

func TestCGITraversalAndControlBytesNeverReachTheProgram(t *testing.T) {
	srv := runtimeapitest.New(t, runtimeapitest.Options{})
	bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{RuntimeAPI: srv.Addr(), Args: []string{"--mode", "cgi", "--", "./echo.cgi"}, TaskRoot: cgiDir(t)})

	tests := []struct {
		name  string
		event string
		lines []string // lines echo.cgi must print
	}{
		{
			name: "Function URL",
			event: `{"version":"2.0","rawPath":"/%2e%2e/%2E%2e/.%2e/etc//passwd%2F..%00","rawQueryString":"q=1\r\nX: y",` +
				`"headers":{"user-agent":"evil\r\nSet-Cookie: injected=1"},` +
				`"requestContext":{"domainName":"abc.lambda-url.us-east-1.on.aws","http":{"method":"GET","sourceIp":"198.51.100.7"}}}`,
			lines: []string{
				"path=/etc/passwd%2F..%00",
				"uri=/%2e%2e/%2E%2e/.%2e/etc//passwd%2F..%00?q=1%0D%0AX: y",
				"query=q=1%0D%0AX: y",
				"agent=evil  Set-Cookie: injected=1",
			},
		},
		{
			name:  "REST API with a stage",
			event: `{"httpMethod":"GET","path":"/%2e%2e/a/../../etc/passwd","requestContext":{"stage":"dev","path":"/dev/%2e%2e/a/../../etc/passwd"}}`,
			lines: []string{"path=/etc/passwd", "uri=/dev/%2e%2e/a/../../etc/passwd"},
		},
	}
	for _, tt := range tests {
		inv, err := srv.Invoke(ctx(t, 30*time.Second), runtimeapitest.Event{Payload: []byte(tt.event)})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		p, body := splitPrelude(t, inv)
		if p.StatusCode != 200 || len(p.Cookies)+len(p.MultiValueHeaders["set-cookie"]) != 1 {
			t.Errorf("%s: prelude %+v: the injected Set-Cookie must not be a header", tt.name, p)
		}
		for _, want := range tt.lines {
			if !strings.Contains(string(body), "\n"+want+"\n") {
				t.Errorf("%s: CGI output lacks %q:\n%s", tt.name, want, body)
			}
		}
		if strings.ContainsAny(string(body), "\r\x00") {
			t.Errorf("%s: a CR or NUL reached the program's output: %q", tt.name, body)
		}
	}
}
