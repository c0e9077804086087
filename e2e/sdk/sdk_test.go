package sdk

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
)

var bootstrapBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "streamstrap-sdk-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bootstrapBin = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-o", bootstrapBin, "./cmd/bootstrap")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the bootstrap: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var listenLine = regexp.MustCompile(`Function URL: +(http://[0-9.:]+)/`)

// startServe runs `bootstrap serve` on the test handlers and returns a
// Lambda client pointed at it.
func startServe(t *testing.T) *lambda.Client {
	t.Helper()
	handlers, err := filepath.Abs("../../cmd/bootstrap/testdata/handlers")
	if err != nil {
		t.Fatal(err)
	}
	p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{
		Args: []string{"serve", "--listen", "127.0.0.1:0", "--function-name", "sdkfn", "--", "./serve-raw.sh"}, TaskRoot: handlers})
	if !p.WaitStderr("Ctrl-C stops.", 20*time.Second) {
		t.Fatalf("serve did not start:\n%s", p.Stderr())
	}
	m := listenLine.FindStringSubmatch(p.Stderr())
	if m == nil {
		t.Fatalf("no Function URL line:\n%s", p.Stderr())
	}
	return lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(m[1]),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDLOCAL", SecretAccessKey: "local"}, nil
		}),
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestInvoke(t *testing.T) {
	c := startServe(t)
	out, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("sdkfn"), Payload: []byte(`"hello"`), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if string(out.Payload) != "hello\n" || out.FunctionError != nil || out.StatusCode != 200 ||
		aws.ToString(out.ExecutedVersion) != "$LATEST" || !strings.Contains(string(logs), "REPORT RequestId: ") {
		t.Errorf("payload %q, function error %v, status %d, log %q", out.Payload, out.FunctionError, out.StatusCode, logs)
	}

	out, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("sdkfn"), Payload: []byte(`"exit-before"`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType":"Runtime.ExitError"`) {
		t.Errorf("function error %v, payload %s", out.FunctionError, out.Payload)
	}

	_, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: []byte(`{}`)})
	var nf *types.ResourceNotFoundException
	if !errorsAs(err, &nf) || aws.ToString(nf.Type) != "User" {
		t.Errorf("unknown function: %v", err)
	}
}

// TestInvokeWithResponseStream: the first PayloadChunk arrives while the
// handler is still running (it sleeps between its five writes, and the
// chunks come as separate events); InvokeComplete carries ErrorCode for a
// handler that fails after output.
func TestInvokeWithResponseStream(t *testing.T) {
	c := startServe(t)
	for _, tt := range []struct{ payload, body, code string }{
		{`"chunks"`, "chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n", ""},
		{`"exit-after"`, "partial\n", "Runtime.ExitError"},
	} {
		t.Run(tt.payload, func(t *testing.T) {
			out, err := c.InvokeWithResponseStream(ctx(t), &lambda.InvokeWithResponseStreamInput{
				FunctionName: aws.String("sdkfn"), Payload: []byte(tt.payload), LogType: types.LogTypeTail})
			if err != nil {
				t.Fatal(err)
			}
			stream := out.GetStream()
			defer stream.Close()
			var body []byte
			var arrivals []time.Time
			var done *types.InvokeWithResponseStreamCompleteEvent
			for ev := range stream.Events() {
				switch v := ev.(type) {
				case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
					body = append(body, v.Value.Payload...)
					arrivals = append(arrivals, time.Now())
				case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
					done = &v.Value
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if done == nil || string(body) != tt.body || aws.ToString(done.ErrorCode) != tt.code {
				t.Fatalf("body %q, complete %+v", body, done)
			}
			logs, _ := base64.StdEncoding.DecodeString(aws.ToString(done.LogResult))
			if !strings.Contains(string(logs), "END RequestId: ") {
				t.Errorf("log result %q", logs)
			}
			if tt.code == "" {
				// The handler sleeps 0.2s between writes, so five events
				// that came as separate PayloadChunks span at least most of
				// that; a bound far below the 0.8s total keeps it robust.
				if len(arrivals) < 2 || arrivals[len(arrivals)-1].Sub(arrivals[0]) < 300*time.Millisecond {
					t.Errorf("%d chunks over %v: not streamed", len(arrivals), arrivals[len(arrivals)-1].Sub(arrivals[0]))
				}
			}
		})
	}
}
