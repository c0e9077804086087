package functionurl

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func BenchmarkEvent(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "http://localhost:9000/path?a=1&a=2&b=3", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Cookie", "a=1; b=2")
		if _, err := Event(r, Options{RequestID: "id", Time: time.Unix(0, 0)}); err != nil {
			b.Fatal(err)
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkWriterBody is the cost of passing one 4 KiB body write through
// after the prelude.
func BenchmarkWriterBody(b *testing.B) {
	w := NewWriter(&discardWriter{h: http.Header{}}, IntegrationContentType)
	if _, err := w.Write([]byte(`{"statusCode":200}` + nul8)); err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 4096)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		w.Write(p)
	}
}
