package eventshape

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/streamstrap/streamstrap/internal/prelude"
)

// readFixture reads one of the sample events kept with internal/cgi, the
// package that translates them.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cgi", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string // fixture name, or inline JSON when it starts with "{" or is not a file
		want Shape
	}{
		{"function-url-get.json", FunctionURL},
		{"function-url-post-base64.json", FunctionURL},
		{"http-api-v2-get.json", HTTPAPIv2},
		{"rest-v1-get.json", RESTv1},
		{"rest-v1-post.json", RESTv1},
		{"non-http.json", Other},
		{"alb-request.json", Other},
		{`{"version":"1.0","httpMethod":"GET","path":"/","requestContext":{}}`, RESTv1},
		{`{"version":"2.0","requestContext":{"http":{}}}`, Other},
		{`{"version":"2.0","rawPath":"/","requestContext":{"domainName":"x.lambda-url.y"}}`, Other},
		{`{"httpMethod":"GET","path":"/"}`, Other},
		{`{"version":2,"requestContext":{"http":{"method":"GET"}}}`, Other},
		{`{"requestContext":{"eventType":"MESSAGE","routeKey":"$default"}}`, Other},
		{`"just a string"`, Other},
		{`null`, Other},
		{`{`, Other},
		{``, Other},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ev := []byte(tt.in)
			if strings.HasSuffix(tt.in, ".json") {
				ev = readFixture(t, tt.in)
			}
			if got := Detect(ev); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
			if got := Detect(ev).IsHTTP(); got != (tt.want != Other) {
				t.Errorf("IsHTTP = %v", got)
			}
		})
	}
}

func TestShapeString(t *testing.T) {
	got := []string{Other.String(), FunctionURL.String(), HTTPAPIv2.String(), RESTv1.String(), Shape(9).String()}
	want := []string{"other", "function-url", "http-api-v2", "rest-v1", "Shape(9)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		shape Shape
		want  prelude.Target
	}{
		{FunctionURL, prelude.FunctionURL},
		{HTTPAPIv2, prelude.FunctionURL},
		{RESTv1, prelude.RESTAPI},
		{Other, prelude.FunctionURL},
	}
	for _, tt := range tests {
		if got := tt.shape.Target(); got != tt.want {
			t.Errorf("%v.Target() = %v, want %v", tt.shape, got, tt.want)
		}
	}
}
