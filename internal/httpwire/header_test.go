package httpwire

import (
	"net/textproto"
	"testing"
)

func TestCanonicalKey(t *testing.T) {
	for _, s := range []string{
		"", "a", "content-type", "Content-Type", "CONTENT-TYPE", "lambda-runtime-aws-request-id",
		"x-amz-1", "-x", "x-", "a--b", "Bad Name", "naïve", "a:b", "ETag", "www-authenticate",
		"x_y", "1st-field", "~tilde",
	} {
		if got, want := CanonicalKey(s), textproto.CanonicalMIMEHeaderKey(s); got != want {
			t.Errorf("CanonicalKey(%q) = %q, textproto gives %q", s, got, want)
		}
	}
}

func FuzzCanonicalKey(f *testing.F) {
	f.Add("content-type")
	f.Add("X-AMZ-date")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := CanonicalKey(s), textproto.CanonicalMIMEHeaderKey(s); got != want {
			t.Fatalf("CanonicalKey(%q) = %q, textproto gives %q", s, got, want)
		}
	})
}

func TestHeader(t *testing.T) {
	h := Header{}
	h.Set("content-type", "text/plain")
	h.Add("X-Multi", "1")
	h.Add("x-multi", "2")
	if got := h.Get("Content-Type"); got != "text/plain" {
		t.Errorf("Get = %q", got)
	}
	if got := h.Values("X-MULTI"); len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("Values = %q", got)
	}
	h.Del("x-multi")
	if _, ok := h["X-Multi"]; ok || len(h) != 1 {
		t.Errorf("after Del: %v", h)
	}
	var zero Header
	if zero.Get("A") != "" || zero.Values("A") != nil {
		t.Error("a nil Header reads as empty")
	}
}
