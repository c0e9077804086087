package runtimeapitest

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFaultRedirectNext(t *testing.T) {
	s := New(t, Options{})
	s.RedirectNext(307, "http://127.0.0.1:1/elsewhere")
	r := dialRaw(t, s)
	r.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := r.resp()
	if resp.StatusCode != 307 || resp.Header.Get("Location") != "http://127.0.0.1:1/elsewhere" {
		t.Fatalf("answer %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	r.expectClosed()
	// One-shot: the next /next gets the event.
	handOut(t, s)
}

func TestFaultRedirectPost(t *testing.T) {
	for _, kind := range []string{"response", "error"} {
		t.Run(kind, func(t *testing.T) {
			s := New(t, Options{})
			id := handOut(t, s)
			s.RedirectPost(id, 308, "http://127.0.0.1:1/x")
			r := dialRaw(t, s)
			if kind == "response" {
				r.write(streamHead(id), chunk("hi"), "0\r\n\r\n")
			} else {
				r.write(jsonPost(id, "error", goodErr))
			}
			resp, _ := r.resp()
			if resp.StatusCode != 308 || resp.Header.Get("Location") == "" {
				t.Fatalf("answer %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			inv, err := s.Wait(ctxT(t), id)
			if err != nil || inv.Status != 308 || inv.Outcome != kind {
				t.Fatalf("Wait = %+v, %v", inv, err)
			}
		})
	}
}

func TestFaultHoldPost(t *testing.T) {
	s := New(t, Options{})
	id := handOut(t, s)
	s.HoldPost(id)
	r := dialRaw(t, s)
	r.write(streamHead(id), chunk("hi"), "0\r\n\r\n")
	inv, err := s.Wait(ctxT(t), id)
	if err != nil || inv.Status != 0 || inv.Truncated || string(inv.Body) != "hi" {
		t.Fatalf("Wait = %+v, %v", inv, err)
	}
	r.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := r.br.Read(make([]byte, 1)); n > 0 || err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("held post got an answer: %d, %v", n, err)
	}
	// The client's closing ends the hold; the server then serves others.
	r.c.Close()
	handOut(t, s)
}

func TestFaultStallResponse(t *testing.T) {
	s := New(t, Options{})
	id := handOut(t, s)
	s.StallResponse(id, 3)
	r := dialRaw(t, s)
	r.write(streamHead(id), chunk("hello"))
	inv, err := s.Wait(ctxT(t), id)
	if err != nil || !inv.Truncated || inv.Status != 0 || inv.BodySize != 3 {
		t.Fatalf("Wait = %+v, %v", inv, err)
	}
	handOut(t, s)
}

func TestFaultSendInterim(t *testing.T) {
	for _, before := range []bool{true, false} {
		s := New(t, Options{})
		id := handOut(t, s)
		s.SendInterim(id, before, 100, 103)
		r := dialRaw(t, s)
		r.write(streamHead(id), chunk("hi"), "0\r\n\r\n")
		for _, want := range []int{100, 103, 202} {
			resp, _ := r.resp()
			if resp.StatusCode != want {
				t.Fatalf("beforeBody %v: answer %d, want %d", before, resp.StatusCode, want)
			}
		}
	}
}

func TestCraftedDeadlines(t *testing.T) {
	for _, tt := range []struct {
		ev   Event
		want []string // nil: no header
	}{
		{Event{DeadlineHeader: "abc"}, []string{"abc"}},
		{Event{DeadlineHeader: "1796151156081.5"}, []string{"1796151156081.5"}},
		{Event{OmitDeadline: true}, nil},
	} {
		s := New(t, Options{})
		s.Enqueue(tt.ev)
		resp, _, _ := dialRaw(t, s).next()
		if got := resp.Header.Values(HeaderDeadlineMs); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("deadline header %q, want %q", got, tt.want)
		}
	}
}

// TestCraftedRequestIDs: an id is accepted only as one properly escaped path
// segment; sent raw, it is a violation.
func TestCraftedRequestIDs(t *testing.T) {
	for _, id := range []string{"../init/error#", "a/b", "a?b", "%zz", "a\tb", "a b", ".."} {
		t.Run(id, func(t *testing.T) {
			s := New(t, Options{})
			s.Enqueue(Event{RequestID: id, Payload: []byte("{}")})
			_, _, got := dialRaw(t, s).next()
			if got != strings.TrimSpace(id) && id != "a\tb" {
				t.Fatalf("/next gave id %q", got)
			}
			esc := url.PathEscape(id)
			if id == ".." {
				esc = "%2E%2E"
			}
			r := dialRaw(t, s)
			r.write(jsonPost(esc, "error", goodErr))
			r.expectStatus(202)
			inv, err := s.Wait(ctxT(t), id)
			if err != nil || inv.Outcome != "error" {
				t.Fatalf("Wait = %+v, %v", inv, err)
			}
		})
	}
	for _, target := range []string{"../init/error#", "a/b", "a?b", "%zz", "a\tb", ".."} {
		t.Run("raw "+target, func(t *testing.T) {
			s := lax(t, Options{})
			r := dialRaw(t, s)
			r.write("POST " + base + "/invocation/" + target + "/error HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			_, _, _ = r.tryResp()
			if len(s.Violations()) == 0 {
				t.Errorf("raw target %q was accepted", target)
			}
		})
	}
}
