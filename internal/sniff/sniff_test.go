package sniff

import (
	"net/http"
	"testing"
)

// samples cover every kind of signature the algorithm has: exact, masked,
// HTML tags, MP4, text and binary fallbacks, and leading whitespace.
var samples = []struct {
	name string
	data string
	want string
}{
	{"empty", "", "text/plain; charset=utf-8"},
	{"plain text", "Hello, world\n", "text/plain; charset=utf-8"},
	{"binary", "\x00\x01\x02\x03", "application/octet-stream"},
	{"html doctype", "<!DOCTYPE HTML><html>", "text/html; charset=utf-8"},
	{"html after whitespace", " \t\n<html><body>x", "text/html; charset=utf-8"},
	{"html comment", "<!-- c -->", "text/html; charset=utf-8"},
	{"xml", "<?xml version=\"1.0\"?><a/>", "text/xml; charset=utf-8"},
	{"json is text", `{"k":"v"}`, "text/plain; charset=utf-8"},
	{"pdf", "%PDF-1.4\n", "application/pdf"},
	{"png", "\x89PNG\x0D\x0A\x1A\x0A\x00\x00", "image/png"},
	{"gif", "GIF89a...", "image/gif"},
	{"jpeg", "\xFF\xD8\xFF\xE0", "image/jpeg"},
	{"gzip", "\x1F\x8B\x08", "application/x-gzip"},
	{"zip", "PK\x03\x04", "application/zip"},
	{"utf-16 BOM", "\xFE\xFF\x00x", "text/plain; charset=utf-16be"},
	{"utf-8 BOM", "\xEF\xBB\xBFhi", "text/plain; charset=utf-8"},
	{"mp4", "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"},
	{"webm", "\x1A\x45\xDF\xA3", "video/webm"},
	{"wasm", "\x00asm\x01\x00\x00\x00", "application/wasm"},
	{"ogg", "OggS\x00", "application/ogg"},
}

func TestContentType(t *testing.T) {
	for _, tt := range samples {
		got := ContentType([]byte(tt.data))
		if got != tt.want {
			t.Errorf("%s: ContentType = %q, want %q", tt.name, got, tt.want)
		}
		if std := http.DetectContentType([]byte(tt.data)); got != std {
			t.Errorf("%s: ContentType = %q, net/http says %q", tt.name, got, std)
		}
	}
}

// FuzzContentType: on any input the copy says what net/http says.
func FuzzContentType(f *testing.F) {
	for _, tt := range samples {
		f.Add([]byte(tt.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, std := ContentType(data), http.DetectContentType(data); got != std {
			t.Fatalf("ContentType(%q) = %q, net/http says %q", data, got, std)
		}
	})
}
