package loop

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

func TestHandlerEnvironment(t *testing.T) {
	base := []string{
		"PATH=/usr/bin",
		"_X_AMZN_TRACE_ID=stale-trace",   // from an earlier invocation: must not survive
		"AWS_LAMBDA_REQUEST_ID=stale-id", // likewise
		"AWS_REGION=eu-west-1",
	}
	l := New(Config{Env: base})
	full := &runtimeapi.Invocation{
		RequestID: "r-1", DeadlineMs: 1700000000123, Deadline: time.UnixMilli(1700000000123),
		FunctionARN: "arn:aws:lambda:eu-west-1:1:function:f", TraceID: "Root=1-abc",
		ClientContext: "e30=", CognitoIdentity: `{"id":"x"}`, TenantID: "tenant-7",
	}
	tests := []struct {
		name    string
		inv     *runtimeapi.Invocation
		extra   []string
		want    []string
		absent  []string
		wantLen int
	}{
		{
			name: "every context variable",
			inv:  full,
			want: []string{
				"PATH=/usr/bin", "AWS_REGION=eu-west-1", "PYTHONUNBUFFERED=1",
				"STREAMSTRAP_CONTEXT_FD=3", "AWS_LAMBDA_REQUEST_ID=r-1", "AWS_LAMBDA_DEADLINE_MS=1700000000123",
				"AWS_LAMBDA_INVOKED_FUNCTION_ARN=arn:aws:lambda:eu-west-1:1:function:f",
				"_X_AMZN_TRACE_ID=Root=1-abc", "AWS_LAMBDA_CLIENT_CONTEXT=e30=",
				`AWS_LAMBDA_COGNITO_IDENTITY={"id":"x"}`, "AWS_LAMBDA_TENANT_ID=tenant-7",
			},
			wantLen: 11,
		},
		{
			name:    "optional headers absent: trace id cleared",
			inv:     &runtimeapi.Invocation{RequestID: "r-2", FunctionARN: "arn"},
			want:    []string{"AWS_LAMBDA_REQUEST_ID=r-2", "AWS_LAMBDA_INVOKED_FUNCTION_ARN=arn"},
			absent:  []string{"_X_AMZN_TRACE_ID", "AWS_LAMBDA_CLIENT_CONTEXT", "AWS_LAMBDA_COGNITO_IDENTITY", "AWS_LAMBDA_TENANT_ID", "AWS_LAMBDA_DEADLINE_MS"},
			wantLen: 6,
		},
		{
			name:    "mode variables are appended",
			inv:     &runtimeapi.Invocation{RequestID: "r-3"},
			extra:   []string{"REQUEST_METHOD=GET"},
			want:    []string{"REQUEST_METHOD=GET"},
			wantLen: 7,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := l.env(tt.inv, tt.extra)
			for _, w := range tt.want {
				if !slices.Contains(env, w) {
					t.Errorf("missing %q in %q", w, env)
				}
			}
			for _, name := range tt.absent {
				for _, kv := range env {
					if strings.HasPrefix(kv, name+"=") {
						t.Errorf("%s should be absent, got %q", name, kv)
					}
				}
			}
			for _, kv := range env {
				if strings.Contains(kv, "stale") {
					t.Errorf("stale variable leaked: %q", kv)
				}
			}
			if len(env) != tt.wantLen {
				t.Errorf("env has %d entries, want %d: %q", len(env), tt.wantLen, env)
			}
		})
	}
}

func TestUserChoiceOfPythonBufferingWins(t *testing.T) {
	l := New(Config{Env: []string{"PYTHONUNBUFFERED="}})
	env := l.env(&runtimeapi.Invocation{RequestID: "r"}, nil)
	if slices.Contains(env, "PYTHONUNBUFFERED=1") || !slices.Contains(env, "PYTHONUNBUFFERED=") {
		t.Errorf("env = %q", env)
	}
}

func TestSpareEnvironment(t *testing.T) {
	// A prespawned handler gets the base environment and the context fd,
	// never a request's variables: it reads those on the fd.
	l := New(Config{Env: []string{"PATH=/usr/bin", "AWS_LAMBDA_REQUEST_ID=stale-id"}, Prespawn: true})
	want := []string{"PATH=/usr/bin", "PYTHONUNBUFFERED=1", "STREAMSTRAP_CONTEXT_FD=3"}
	if !slices.Equal(l.spareEnv, want) {
		t.Fatalf("spare env %q, want %q", l.spareEnv, want)
	}
}

func TestContextDoc(t *testing.T) {
	tests := []struct {
		name     string
		inv      runtimeapi.Invocation
		shell    string
		jsonLine string
	}{
		{
			name: "every field",
			inv: runtimeapi.Invocation{RequestID: "r-1", DeadlineMs: 1700000000123, FunctionARN: "arn:f", TraceID: "Root=1-abc",
				ClientContext: `{"a":"it's"}`, CognitoIdentity: `{"id":"x"}`, TenantID: "t-7"},
			shell: `export AWS_LAMBDA_REQUEST_ID='r-1' AWS_LAMBDA_DEADLINE_MS='1700000000123' AWS_LAMBDA_INVOKED_FUNCTION_ARN='arn:f' ` +
				`_X_AMZN_TRACE_ID='Root=1-abc' AWS_LAMBDA_CLIENT_CONTEXT='{"a":"it'\''s"}' AWS_LAMBDA_COGNITO_IDENTITY='{"id":"x"}' AWS_LAMBDA_TENANT_ID='t-7'`,
			jsonLine: `{"requestId":"r-1","deadlineMs":1700000000123,"invokedFunctionArn":"arn:f","traceId":"Root=1-abc","clientContext":"{\"a\":\"it's\"}","cognitoIdentity":"{\"id\":\"x\"}","tenantId":"t-7"}`,
		},
		{
			name:     "empty fields left out of the shell line, kept in JSON",
			inv:      runtimeapi.Invocation{RequestID: "r-2"},
			shell:    `export AWS_LAMBDA_REQUEST_ID='r-2'`,
			jsonLine: `{"requestId":"r-2","deadlineMs":0,"invokedFunctionArn":"","traceId":"","clientContext":"","cognitoIdentity":"","tenantId":""}`,
		},
		{
			name:     "line breaks cannot split the shell line",
			inv:      runtimeapi.Invocation{RequestID: "a\nb$(x)`y`"},
			shell:    "export AWS_LAMBDA_REQUEST_ID='a b$(x)`y`'",
			jsonLine: `{"requestId":"a\nb$(x)` + "`y`" + `","deadlineMs":0,"invokedFunctionArn":"","traceId":"","clientContext":"","cognitoIdentity":"","tenantId":""}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(contextDoc(&tt.inv))
			if want := tt.shell + "\n" + tt.jsonLine + "\n"; got != want {
				t.Errorf("context document\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestContextJSONIsEncodingJSONs(t *testing.T) {
	// The hand-written encoder gives the bytes json.Marshal gives, for
	// every kind of character a header or a local event can carry.
	type contextJSON struct {
		RequestID          string `json:"requestId"`
		DeadlineMs         int64  `json:"deadlineMs"`
		InvokedFunctionArn string `json:"invokedFunctionArn"`
		TraceID            string `json:"traceId"`
		ClientContext      string `json:"clientContext"`
		CognitoIdentity    string `json:"cognitoIdentity"`
		TenantID           string `json:"tenantId"`
	}
	for _, v := range []string{
		"", "plain", `q"uote`, `back\slash`, "<tag>&amp;", "\x00\x01\x1f\x7f",
		"\b\f\n\r\t", "é ü 日本 🙂", "\u2028\u2029", "bad\xffutf8\xc3", "\xed\xa0\x80", "end\\",
	} {
		inv := runtimeapi.Invocation{RequestID: v, DeadlineMs: -5, FunctionARN: v + "1", TraceID: v,
			ClientContext: v, CognitoIdentity: v, TenantID: v}
		want, err := json.Marshal(contextJSON{inv.RequestID, inv.DeadlineMs, inv.FunctionARN, inv.TraceID,
			inv.ClientContext, inv.CognitoIdentity, inv.TenantID})
		if err != nil {
			t.Fatal(err)
		}
		doc := string(contextDoc(&inv))
		_, got, _ := strings.Cut(strings.TrimSuffix(doc, "\n"), "\n")
		if got != string(want) {
			t.Errorf("value %q:\n got %s\nwant %s", v, got, want)
		}
	}
}

func FuzzContextJSON(f *testing.F) {
	for _, s := range []string{"r-1", `{"a":"it's"}`, "<&>", "\u2028", "bad\xff"} {
		f.Add(s, int64(1700000000123))
	}
	f.Fuzz(func(t *testing.T, v string, deadline int64) {
		inv := runtimeapi.Invocation{RequestID: v, DeadlineMs: deadline, ClientContext: v}
		_, line, _ := strings.Cut(strings.TrimSuffix(string(contextDoc(&inv)), "\n"), "\n")
		var back struct {
			RequestID     string `json:"requestId"`
			DeadlineMs    int64  `json:"deadlineMs"`
			ClientContext string `json:"clientContext"`
		}
		if err := json.Unmarshal([]byte(line), &back); err != nil {
			t.Fatalf("%q: not JSON: %v", line, err)
		}
		if back.DeadlineMs != deadline || back.ClientContext != back.RequestID {
			t.Fatalf("%q does not round-trip %q, %d", line, v, deadline)
		}
		want, _ := json.Marshal(v)
		if !strings.Contains(line, `"requestId":`+string(want)+`,`) {
			t.Fatalf("%q: the request id is not encoded as encoding/json encodes %q", line, v)
		}
	})
}
