package functionurl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the events built now")

// fixedTime is the arrival time of every golden request.
var fixedTime = time.Date(2020, time.March, 12, 19, 3, 58, 390_000_000, time.UTC)

// readRequest parses a raw request as net/http's server does.
func readRequest(t *testing.T, raw []byte) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("parse request: %v", err)
	}
	r.RemoteAddr = "127.0.0.1:54321"
	return r
}

// TestEventGolden builds the event for every testdata/*.req and compares
// it field by field with testdata/*.json.
func TestEventGolden(t *testing.T) {
	reqs, _ := filepath.Glob("testdata/*.req")
	if len(reqs) == 0 {
		t.Fatal("no golden requests")
	}
	for _, path := range reqs {
		name := strings.TrimSuffix(filepath.Base(path), ".req")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Event(readRequest(t, raw), Options{RequestID: "req-" + name, Time: fixedTime})
			if err != nil {
				t.Fatalf("Event: %v", err)
			}
			goldenPath := strings.TrimSuffix(path, ".req") + ".json"
			if *update {
				var out bytes.Buffer
				json.Indent(&out, got, "", "  ")
				out.WriteByte('\n')
				if err := os.WriteFile(goldenPath, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("event is not JSON: %v", err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatalf("golden file: %v", err)
			}
			for _, d := range diff("", g, w) {
				t.Error(d)
			}
		})
	}
}

// diff lists the differences between two decoded JSON values, by path.
func diff(path string, got, want any) []string {
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if gok && wok {
		keys := map[string]bool{}
		for k := range gm {
			keys[k] = true
		}
		for k := range wm {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var out []string
		for _, k := range sorted {
			gv, gin := gm[k]
			wv, win := wm[k]
			switch {
			case !gin:
				out = append(out, fmt.Sprintf("%s.%s: missing, want %v", path, k, wv))
			case !win:
				out = append(out, fmt.Sprintf("%s.%s: got %v, want absent", path, k, gv))
			default:
				out = append(out, diff(path+"."+k, gv, wv)...)
			}
		}
		return out
	}
	if !reflect.DeepEqual(got, want) {
		return []string{fmt.Sprintf("%s: got %#v, want %#v", path, got, want)}
	}
	return nil
}

func TestEventDefaults(t *testing.T) {
	r := readRequest(t, []byte("GET /x HTTP/1.1\r\nHost: abc.lambda-url.eu-west-1.on.aws\r\n\r\n"))
	before := time.Now()
	b, err := Event(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ev event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	rc := ev.RequestContext
	if rc.APIID != "abc" || rc.DomainPrefix != "abc" {
		t.Errorf("apiId %q, domainPrefix %q, want the first Host label", rc.APIID, rc.DomainPrefix)
	}
	if len(rc.RequestID) != 36 || rc.RequestID[14] != '4' {
		t.Errorf("requestId %q is not a v4 UUID", rc.RequestID)
	}
	if rc.TimeEpoch < before.UnixMilli() {
		t.Errorf("timeEpoch %d before the call", rc.TimeEpoch)
	}
	if _, err := time.Parse(timeLayout, rc.Time); err != nil {
		t.Errorf("time %q: %v", rc.Time, err)
	}
	b2, _ := Event(readRequest(t, []byte("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")), Options{})
	var ev2 event
	json.Unmarshal(b2, &ev2)
	if ev2.RequestContext.RequestID == rc.RequestID {
		t.Error("two events share a request id")
	}
}

func TestEventTooLarge(t *testing.T) {
	tests := []struct {
		name  string
		ctype string
		body  int
		limit int
	}{
		{"body over the limit", "text/plain", 101, 100},
		{"base64 pushes the event over", "application/octet-stream", 80, 100},
		{"envelope pushes the event over", "text/plain", 90, 100},
		{"default limit", "text/plain", MaxEventSize + 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "http://localhost/", bytes.NewReader(bytes.Repeat([]byte("a"), tt.body)))
			r.Header.Set("Content-Type", tt.ctype)
			_, err := Event(r, Options{MaxEventSize: tt.limit, RequestID: "x", Time: fixedTime})
			var tl *TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("got %v, want a TooLargeError", err)
			}
			want := tt.limit
			if want == 0 {
				want = MaxEventSize
			}
			if tl.Limit != want || tl.Size <= want {
				t.Errorf("got %+v", tl)
			}
		})
	}
	// Just under the limit passes.
	r, _ := http.NewRequest("POST", "http://localhost/", strings.NewReader("ok"))
	if _, err := Event(r, Options{MaxEventSize: 1000}); err != nil {
		t.Errorf("small event: %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestEventBodyReadError(t *testing.T) {
	r, _ := http.NewRequest("POST", "http://localhost/", failingReader{})
	_, err := Event(r, Options{})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("got %v", err)
	}
}

func TestIsText(t *testing.T) {
	tests := []struct {
		ctype string
		want  bool
	}{
		{"text/plain", true},
		{"text/html; charset=utf-8", true},
		{"TEXT/CSV", true},
		{"application/json", true},
		{"application/xml", true},
		{"application/javascript", true},
		{"application/x-www-form-urlencoded", true},
		{"application/vnd.api+json", true},
		{"image/svg+xml", true},
		{"application/octet-stream", false},
		{"image/png", false},
		{"multipart/form-data; boundary=x", false},
		{"application/jsonx", false},
		{"", false},
		{";;;", false},
	}
	for _, tt := range tests {
		if got := IsText(tt.ctype); got != tt.want {
			t.Errorf("IsText(%q) = %v, want %v", tt.ctype, got, tt.want)
		}
	}
}
