package runtimeapitest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const extBase = "/2020-01-01/extension"

// registerReq is a raw POST /extension/register with the given extra header
// lines and body.
func registerReq(body string, lines ...string) string {
	lines = append(lines, "Content-Type: application/json", "Content-Length: "+strconv.Itoa(len(body)))
	return head("POST", extBase+"/register", lines...) + body
}

// register registers a no-op extension named name and returns its id.
func register(t testing.TB, s *Server, name string) string {
	t.Helper()
	r := dialRaw(t, s)
	r.write(registerReq(`{"events":[]}`, HeaderExtensionName+": "+name))
	resp, _ := r.resp()
	if resp.StatusCode != 200 {
		t.Fatalf("register: status %d", resp.StatusCode)
	}
	return resp.Header.Get(HeaderExtensionIdentifier)
}

// eventNext starts GET /extension/event/next for id on a new connection.
func eventNext(t testing.TB, s *Server, id string) *raw {
	t.Helper()
	r := dialRaw(t, s)
	r.write(head("GET", extBase+"/event/next", HeaderExtensionIdentifier+": "+id))
	return r
}

// waitEventNextCalls waits until registration i has made n event/next calls.
func waitEventNextCalls(t testing.TB, s *Server, i, n int) {
	t.Helper()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if regs := s.Registrations(); len(regs) > i && regs[i].EventNextCalls >= n {
			return
		}
	}
	t.Fatalf("registration %d: fewer than %d event/next calls: %+v", i, n, s.Registrations())
}

// expectNoAnswer checks that nothing arrives on r for d.
func (r *raw) expectNoAnswer(d time.Duration) {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(d))
	defer r.c.SetReadDeadline(time.Time{})
	if n, err := r.br.Read(make([]byte, 1)); n > 0 || !isTimeout(err) {
		r.t.Fatalf("got an answer or a close (read %d, %v), want none", n, err)
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// TestRegisterAndEventNext drives the no-op extension of aws-lambda-go with
// Go's net/http client: register, then an event/next that blocks until the
// server closes, recorded before the runtime's first /next.
func TestRegisterAndEventNext(t *testing.T) {
	s := New(t, Options{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	req, _ := http.NewRequest("POST", "http://"+s.Addr()+extBase+"/register", strings.NewReader(`{"events":[]}`))
	req.Header.Set(HeaderExtensionName, "streamstrap")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get(HeaderExtensionIdentifier)
	if resp.StatusCode != 200 || len(id) != 36 || strings.Count(id, "-") != 4 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("register: %d id %q header %v", resp.StatusCode, id, resp.Header)
	}
	var meta map[string]string
	if err := json.Unmarshal(body, &meta); err != nil {
		t.Fatalf("register answer %q: %v", body, err)
	}
	if want := map[string]string{"functionName": FunctionName, "functionVersion": FunctionVersion, "handler": FunctionHandler}; len(meta) != len(want) ||
		meta["functionName"] != want["functionName"] || meta["functionVersion"] != want["functionVersion"] || meta["handler"] != want["handler"] {
		t.Errorf("register answer %v, want %v", meta, want)
	}

	ctx, cancel := context.WithCancel(ctxT(t))
	nextErr := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.Addr()+extBase+"/event/next", nil)
		req.Header.Set(HeaderExtensionIdentifier, id)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("event/next answered " + resp.Status)
		}
		nextErr <- err
	}()
	waitEventNextCalls(t, s, 0, 1)

	// The runtime's loop goes on as usual.
	inv := handOut(t, s)
	r := dialRaw(t, s)
	r.write(jsonPost(inv, "response", `1`))
	r.expectStatus(202)

	regs := s.Registrations()
	if len(regs) != 1 {
		t.Fatalf("%d registrations, want 1", len(regs))
	}
	g := regs[0]
	if g.Name != "streamstrap" || g.ID != id || g.Events == nil || len(g.Events) != 0 || g.Status != 200 || g.ErrorType != "" ||
		g.NextCallsBefore != 0 || g.EventNextCalls != 1 || g.At.IsZero() || string(g.Body) != `{"events":[]}` || g.Header.Get(HeaderExtensionName) != "streamstrap" {
		t.Errorf("registration %+v", g)
	}

	select {
	case err := <-nextErr:
		t.Fatalf("event/next ended: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	// A client that gives up closes its connection; the server lets go.
	cancel()
	if err := <-nextErr; !errors.Is(err, context.Canceled) {
		t.Errorf("event/next: %v, want the cancellation", err)
	}
}

// TestEventNextBlocksUntilClose: a valid event/next is never answered, and
// Close ends it by closing its connection.
func TestEventNextBlocksUntilClose(t *testing.T) {
	s := New(t, Options{})
	id := register(t, s, "ext")
	r := eventNext(t, s, id)
	r.expectNoAnswer(100 * time.Millisecond)
	s.Close()
	r.expectClosed()
}

// TestEventsWaitForRegisteredExtensions: like Lambda's init, which ends only
// when every registered extension is ready, /next hands out no event before
// each registered extension has called event/next.
func TestEventsWaitForRegisteredExtensions(t *testing.T) {
	s := New(t, Options{})
	id := register(t, s, "ext")
	ev := s.Enqueue(Event{})
	rt := dialRaw(t, s)
	rt.write("GET " + base + "/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	rt.expectNoAnswer(150 * time.Millisecond)

	eventNext(t, s, id)
	resp, _ := rt.resp()
	if resp.StatusCode != 200 || resp.Header.Get(HeaderRequestID) != ev {
		t.Fatalf("/next: %d id %q, want 200 %q", resp.StatusCode, resp.Header.Get(HeaderRequestID), ev)
	}
	rt.write(jsonPost(ev, "response", `1`))
	rt.expectStatus(202)
}

// TestRegisterRefusals: each mistake gets the real API's 403 and error type,
// is recorded with them, and is a violation.
func TestRegisterRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, s *Server)
		req     string
		errType string
		viol    string
	}{
		{name: "no name", req: registerReq(`{"events":[]}`), errType: "Extension.InvalidExtensionName", viol: "Empty extension name"},
		{name: "empty name", req: registerReq(`{"events":[]}`, HeaderExtensionName+": "), errType: "Extension.InvalidExtensionName", viol: "Empty extension name"},
		{name: "body not JSON", req: registerReq(`events`, HeaderExtensionName+": x"), errType: "InvalidRequestFormat", viol: "InvalidRequestFormat"},
		{name: "no events", req: registerReq(`{}`, HeaderExtensionName+": x"), errType: "InvalidRequestFormat", viol: `no "events" array`},
		{name: "no body", req: registerReq(``, HeaderExtensionName+": x"), errType: "InvalidRequestFormat", viol: "InvalidRequestFormat"},
		{name: "events not strings", req: registerReq(`{"events":[1]}`, HeaderExtensionName+": x"), errType: "InvalidRequestFormat", viol: "InvalidRequestFormat"},
		{name: "SHUTDOWN", req: registerReq(`{"events":["INVOKE","SHUTDOWN"]}`, HeaderExtensionName+": x"),
			errType: "Extension.InvalidEventType", viol: "ShutdownEventNotSupportedForInternalExtension"},
		{name: "unknown event", req: registerReq(`{"events":["BOOT"]}`, HeaderExtensionName+": x"), errType: "Extension.InvalidEventType", viol: "BOOT: ErrorInvalidEventType"},
		{
			name:  "after the first /next",
			setup: func(t *testing.T, s *Server) { handOut(t, s) },
			req:   registerReq(`{"events":[]}`, HeaderExtensionName+": x"), errType: "Extension.RegistrationClosed", viol: "Extension registration closed already",
		},
		{
			name: "name taken",
			setup: func(t *testing.T, s *Server) {
				eventNext(t, s, register(t, s, "x"))
				waitEventNextCalls(t, s, 0, 1)
			},
			req: registerReq(`{"events":[]}`, HeaderExtensionName+": x"), errType: "Extension.InvalidExtensionState", viol: "already registered",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lax(t, Options{})
			if tc.setup != nil {
				tc.setup(t, s)
			}
			r := dialRaw(t, s)
			r.write(tc.req)
			resp, body := r.resp()
			var doc map[string]string
			if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 403 || doc["errorType"] != tc.errType || doc["errorMessage"] == "" {
				t.Errorf("got %d %q (%v), want 403 %s", resp.StatusCode, body, err, tc.errType)
			}
			if resp.Header.Get(HeaderExtensionIdentifier) != "" {
				t.Errorf("a refusal carries an identifier")
			}
			r.expectClosed()
			wantViolations(t, s, tc.viol)
			regs := s.Registrations()
			g := regs[len(regs)-1]
			if g.Status != 403 || g.ErrorType != tc.errType || g.ID != "" {
				t.Errorf("recorded %+v", g)
			}
		})
	}
}

// TestRegisterInvoke: an internal extension may subscribe to INVOKE (the
// server accepts it but, modelling no-op extensions, delivers nothing).
func TestRegisterInvoke(t *testing.T) {
	s := New(t, Options{})
	r := dialRaw(t, s)
	r.write(registerReq(`{"events":["INVOKE"]}`, HeaderExtensionName+": inv"))
	r.expectStatus(200)
	if g := s.Registrations()[0]; len(g.Events) != 1 || g.Events[0] != "INVOKE" || g.ID == "" {
		t.Errorf("recorded %+v", g)
	}
}

func TestEventNextRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lines   []string
		errType string
	}{
		{"no identifier", nil, "Extension.MissingExtensionIdentifier"},
		{"unknown identifier", []string{HeaderExtensionIdentifier + ": 3f9c2a4e-0000-4000-8000-000000000000"}, "Extension.UnknownExtensionIdentifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := lax(t, Options{})
			register(t, s, "ext")
			r := dialRaw(t, s)
			r.write(head("GET", extBase+"/event/next", tc.lines...))
			body := string(r.expectStatus(403))
			if !strings.Contains(body, `"errorType":"`+tc.errType+`"`) {
				t.Errorf("body %q, want errorType %s", body, tc.errType)
			}
			r.expectClosed()
			wantViolations(t, s, "answered 403 "+tc.errType)
			if n := s.Registrations()[0].EventNextCalls; n != 0 {
				t.Errorf("counted %d event/next calls for the registered extension", n)
			}
		})
	}
}

// TestFaultFailRegister: injected statuses are one-shot, FIFO, recorded, and
// not violations.
func TestFaultFailRegister(t *testing.T) {
	s := New(t, Options{})
	s.FailRegister(500)
	s.FailRegister(403)
	for _, want := range []struct {
		status  int
		errType string
	}{{500, "ServiceException"}, {403, "InvalidStateTransition"}} {
		r := dialRaw(t, s)
		r.write(registerReq(`{"events":[]}`, HeaderExtensionName+": ext"))
		body := string(r.expectStatus(want.status))
		if !strings.Contains(body, `"errorType":"`+want.errType+`"`) {
			t.Errorf("body %q, want errorType %s", body, want.errType)
		}
		r.expectClosed()
	}
	id := register(t, s, "ext")
	regs := s.Registrations()
	if len(regs) != 3 || regs[0].Status != 500 || regs[0].ErrorType != "ServiceException" || regs[0].ID != "" ||
		regs[1].Status != 403 || regs[2].Status != 200 || regs[2].ID != id {
		t.Errorf("registrations %+v", regs)
	}
	// The refused attempts hold up no event: only the registered one counts.
	eventNext(t, s, id)
	handOut(t, s)
}
