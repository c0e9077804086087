package runtimeapi

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var errorTypePattern = regexp.MustCompile(`^(Runtime|Function)\.[A-Z][a-zA-Z]+$`)

func TestErrorTypesMatchTheManagedInstancesPattern(t *testing.T) {
	for _, typ := range []string{TypeExitError, TypeHandlerTimeout, TypeHandlerNotFound, TypeMalformedHandlerName,
		TypeHandlerStartFailed, TypeShutdown, TypeInvalidHeaderBlock, TypeInvalidEvent} {
		if !errorTypePattern.MatchString(typ) {
			t.Errorf("%q does not match %s", typ, errorTypePattern)
		}
	}
}

func TestFunctionErrorJSON(t *testing.T) {
	tests := []struct {
		fe   FunctionError
		want string
	}{
		{FunctionError{Type: TypeExitError, Message: "exit status 3"}, `{"errorMessage":"exit status 3","errorType":"Runtime.ExitError","stackTrace":[]}`},
		{FunctionError{Type: TypeExitError, Message: "x", StackTrace: []string{"a", "b\"c"}}, `{"errorMessage":"x","errorType":"Runtime.ExitError","stackTrace":["a","b\"c"]}`},
	}
	for _, tt := range tests {
		if got := string(tt.fe.JSON()); got != tt.want {
			t.Errorf("JSON() = %s, want %s", got, tt.want)
		}
	}
}

func decodeTrailer(t *testing.T, fe FunctionError) (errorDoc, int) {
	t.Helper()
	tr := fe.Trailer()
	typ, body := tr.Get(HeaderErrorType), tr.Get(HeaderErrorBody)
	if typ != fe.Type {
		t.Fatalf("type trailer = %q", typ)
	}
	if strings.ContainsAny(body, "\r\n") || strings.ContainsAny(typ, "\r\n") {
		t.Fatal("trailer value spans lines")
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("body is not standard base64: %v", err)
	}
	var doc errorDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	section := len(HeaderErrorType+": "+typ+"\r\n") + len(HeaderErrorBody+": "+body+"\r\n") + 2
	return doc, section
}

func TestTrailerFitsTheBudget(t *testing.T) {
	long := strings.Repeat("é", 3000) // multi-byte, so cuts must respect UTF-8
	tests := []struct {
		name      string
		fe        FunctionError
		wantLines int // -1: do not check
		wantLast  string
	}{
		{"small", FunctionError{Type: TypeExitError, Message: "exit status 1", StackTrace: []string{"one", "two"}}, 2, "two"},
		{"many lines keep the newest", FunctionError{Type: TypeExitError, Message: "exit status 1", StackTrace: numbered(500)}, -1, "line 499"},
		{"long lines are cut", FunctionError{Type: TypeExitError, Message: "m", StackTrace: []string{long, long, long}}, -1, ""},
		{"huge message", FunctionError{Type: TypeHandlerTimeout, Message: long + long, StackTrace: numbered(50)}, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, size := decodeTrailer(t, tt.fe)
			if size > maxTrailerSection {
				t.Errorf("trailer section is %d bytes, budget %d", size, maxTrailerSection)
			}
			if doc.ErrorType != tt.fe.Type {
				t.Errorf("errorType = %q", doc.ErrorType)
			}
			if tt.wantLines >= 0 && len(doc.StackTrace) != tt.wantLines {
				t.Errorf("stackTrace has %d lines, want %d", len(doc.StackTrace), tt.wantLines)
			}
			if tt.wantLast != "" && (len(doc.StackTrace) == 0 || doc.StackTrace[len(doc.StackTrace)-1] != tt.wantLast) {
				t.Errorf("last stack line = %v, want %q", doc.StackTrace, tt.wantLast)
			}
			for _, l := range append(doc.StackTrace, doc.ErrorMessage) {
				if !utf8.ValidString(l) {
					t.Errorf("invalid UTF-8 after trimming: %q", l)
				}
			}
		})
	}
}

func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "line " + strconv.Itoa(i)
	}
	return out
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 6, "é…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
