package runtimeapitest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// String names the state for violation messages.
func (st invState) String() string {
	switch st {
	case stQueued:
		return "queued"
	case stInFlight:
		return "in flight"
	case stResponding:
		return "terminal POST being read"
	case stDone:
		return "done"
	}
	return "?"
}

// handleNext serves GET /invocation/next.
func (s *Server) handleNext(c *conn, req *request) bool {
	if !c.drain(req) {
		return false
	}
	s.mu.Lock()
	s.nextCalls++
	s.notifyLocked()
	if len(s.nextFaults) > 0 {
		f := s.nextFaults[0]
		s.nextFaults = s.nextFaults[1:]
		s.mu.Unlock()
		switch {
		case f.location != "":
			t, m := genericError(f.status)
			c.writeResponse(f.status, []string{"Location", f.location, "Content-Type", "application/json"}, errorJSON(t, m), true)
		case !f.drop:
			t, m := genericError(f.status)
			c.writeError(f.status, t, m, true)
		}
		return false
	}
	if s.closed {
		s.mu.Unlock()
		return false
	}
	if s.inFlight >= s.conc {
		var busy []string
		for id, inv := range s.invs {
			if inv.state == stInFlight || inv.state == stResponding {
				busy = append(busy, fmt.Sprintf("%s (%s)", id, inv.state))
			}
		}
		s.mu.Unlock()
		slices.Sort(busy)
		s.violationf("%s: /next while %d invocation(s) are in flight without an outcome (concurrency %d): %s",
			req.desc, len(busy), s.conc, strings.Join(busy, ", "))
		c.writeError(http.StatusForbidden, "InvalidStateTransition", "State transition from Running to Ready failed: an invocation is in flight", true)
		return false
	}
	w := &waiter{ch: make(chan *invocation, 1)}
	s.waiters = append(s.waiters, w)
	s.dispatchLocked()
	s.mu.Unlock()

	inv := c.waitEvent(w)
	if inv == nil {
		return false
	}
	ev := inv.ev // written only by dispatchLocked before the hand-over
	h := []string{
		"Content-Type", "application/json",
		HeaderRequestID, ev.RequestID,
		HeaderFunctionARN, ev.FunctionARN,
	}
	switch {
	case ev.OmitDeadline:
	case ev.DeadlineHeader != "":
		h = append(h, HeaderDeadlineMs, ev.DeadlineHeader)
	default:
		h = append(h, HeaderDeadlineMs, strconv.FormatInt(ev.Deadline.UnixMilli(), 10))
	}
	for _, kv := range [][2]string{
		{HeaderTraceID, ev.TraceID},
		{HeaderClientContext, ev.ClientContext},
		{HeaderCognitoIdentity, ev.CognitoIdentity},
		{HeaderTenantID, ev.TenantID},
	} {
		if kv[1] != "" {
			h = append(h, kv[0], kv[1])
		}
	}
	// A small event goes out in one write. A big one is written head
	// first: once the head is out the event is in flight, as in Lambda,
	// even if the runtime stops reading the body (refusing an oversized
	// event, say) and reports it.
	head, body := h, ev.Payload
	if len(body) > bigEvent {
		h = append(h, "Content-Length", strconv.Itoa(len(body)))
		if err := c.writeHead(http.StatusOK, h, req.close); err != nil {
			s.mu.Lock()
			s.requeueLocked(inv)
			s.mu.Unlock()
			return false
		}
		_, err := c.nc.Write(body)
		return err == nil
	}
	if err := c.writeResponse(http.StatusOK, head, body, req.close); err != nil {
		s.mu.Lock()
		s.requeueLocked(inv)
		s.mu.Unlock()
		return false
	}
	s.mu.Lock()
	unsolicited := s.unsolicited > 0
	if unsolicited {
		s.unsolicited--
	}
	s.mu.Unlock()
	if unsolicited {
		// An answer nobody asked for, on the now idle connection.
		c.writeResponse(http.StatusOK, nil, []byte("unsolicited"), true)
		return false
	}
	return true
}

// startLookahead starts a look-ahead read of the connection, which reports
// (once) when the client sends more or goes away; c.lookahead hands it to
// the next request read.
func (c *conn) startLookahead() chan error {
	la := make(chan error, 1)
	c.lookahead = la
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		_, err := c.br.Peek(1)
		la <- err
	}()
	return la
}

// waitEvent waits until w is assigned an event, the client goes away or the
// server closes. While waiting it watches the connection with a look-ahead
// read so that a dead waiter does not swallow an event.
func (c *conn) waitEvent(w *waiter) *invocation {
	select {
	case inv := <-w.ch:
		return inv
	default:
	}
	la := c.startLookahead()
	watch := la
	for {
		select {
		case inv := <-w.ch:
			return inv
		case err := <-watch:
			c.lookahead = nil // consumed
			if err != nil {
				c.s.abandonWaiter(w)
				return nil
			}
			// The client sent more bytes (pipelining); keep waiting.
			watch = nil
		case <-c.s.closeCh:
			c.s.abandonWaiter(w)
			return nil
		}
	}
}

// abandonWaiter removes w; an event already assigned to it is queued again.
func (s *Server) abandonWaiter(w *waiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.waiters, w); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
		return
	}
	select {
	case inv := <-w.ch:
		s.requeueLocked(inv)
	default:
	}
}

// requeueLocked puts back an event whose hand-out failed. s.mu must be held.
func (s *Server) requeueLocked(inv *invocation) {
	if inv.state != stInFlight {
		return
	}
	inv.state = stQueued
	inv.ev = inv.orig
	inv.handedOut = time.Time{}
	s.inFlight--
	s.queue = append([]*invocation{inv}, s.queue...)
	s.dispatchLocked()
	s.notifyLocked()
}

// claim checks that id may take a terminal POST of the given kind and, if
// so, marks it as being answered. On refusal it returns the status and error
// to send.
func (s *Server) claim(id, kind string) (inv *invocation, status int, errType, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv = s.invs[id]
	switch {
	case inv == nil:
		return nil, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID"
	case inv.state == stQueued:
		return nil, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID (not handed out by /next yet)"
	case inv.state != stInFlight:
		return nil, http.StatusForbidden, "InvalidStateTransition",
			fmt.Sprintf("State transition failed: /%s after a /%s for this invocation", kind, inv.kind)
	}
	inv.state = stResponding
	inv.kind = kind
	return inv, 0, "", ""
}

func (s *Server) finish(inv *invocation, res *Invocation) {
	s.mu.Lock()
	s.finishLocked(inv, res)
	s.mu.Unlock()
}

// reject records the violation of a refused terminal POST, drains its body
// and answers the refusal.
func (s *Server) reject(c *conn, req *request, status int, errType, msg string) bool {
	s.violationf("%s: answered %d %s: %s", req.desc, status, errType, msg)
	if c.drain(req) {
		c.writeError(status, errType, msg, true)
	}
	return false
}

// handleResponse serves POST /invocation/{id}/response.
func (s *Server) handleResponse(c *conn, req *request, id string) bool {
	inv, status, errType, msg := s.claim(id, "response")
	if inv == nil {
		return s.reject(c, req, status, errType, msg)
	}
	s.mu.Lock()
	record, hash, thr := s.recordData, s.hashData, s.throttle
	var fault *postFault
	if fs := s.postFaults[id]; len(fs) > 0 {
		fault = &fs[0]
		s.postFaults[id] = fs[1:]
	}
	failStatus := s.takeFailPostLocked(id)
	var interim *interimFault
	if is := s.interims[id]; len(is) > 0 {
		interim = &is[0]
		s.interims[id] = is[1:]
	}
	s.mu.Unlock()

	res := &Invocation{Outcome: "response", Header: req.header}
	mode := req.header.Values(HeaderResponseMode)
	if len(mode) > 0 && (len(mode) != 1 || mode[0] != "streaming") {
		s.violationf("%s: %s is %q, it must be exactly \"streaming\" when present", req.desc, HeaderResponseMode, mode)
		ok := c.drain(req)
		res.Truncated = !ok
		if ok {
			res.Status = http.StatusBadRequest
		}
		s.finish(inv, res)
		if ok {
			c.writeError(http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode", true)
		}
		return false
	}
	res.Streaming = len(mode) == 1
	if res.Streaming {
		if !req.chunked {
			s.violationf("%s: streamed response without Transfer-Encoding: chunked", req.desc)
		}
		if len(req.header.Values("Content-Length")) > 0 {
			s.violationf("%s: streamed response has a Content-Length header", req.desc)
		}
		for _, name := range []string{HeaderErrorType, HeaderErrorBody} {
			if !req.declared[name] {
				s.violationf("%s: Trailer header %q does not declare %s", req.desc, req.header.Values("Trailer"), name)
			}
		}
	}

	b := newBody(record)
	if !hash {
		b.h = nil
	}
	b.thr = thr
	if fault != nil {
		b.stopAt = fault.afterBytes
	}
	if interim != nil && interim.beforeBody {
		c.writeInterim(interim.statuses)
	}
	err := c.readBody(req, b)
	b.fill(res)
	var fe *framingError
	switch {
	case err == nil:
	case errors.Is(err, errStop) && fault.kind == faultStall:
		// Read nothing more, ever: a client that gives up cannot even be
		// noticed (its FIN waits behind the data it still has queued), so
		// the outcome is recorded now and only the server's closing ends
		// the connection.
		s.finish(inv, res)
		<-c.s.closeCh
		return false
	case errors.Is(err, errStop) && fault.kind == faultRespondEarly:
		res.Status = fault.status
		s.finish(inv, res)
		t, m := genericError(fault.status)
		c.writeError(fault.status, t, m, true)
		c.lingeringClose()
		return false
	case errors.Is(err, errStop):
		s.finish(inv, res)
		c.resetClose()
		return false
	case errors.As(err, &fe):
		s.violationf("%s: malformed chunked body: %s", req.desc, fe.msg)
		res.Status = http.StatusBadRequest
		s.finish(inv, res)
		c.writeError(http.StatusBadRequest, "InvalidChunkedEncoding", fe.msg, true)
		return false
	default:
		// The connection ended (or the server closed) before the body did.
		s.finish(inv, res)
		return false
	}
	s.checkTrailers(req, b)
	if interim != nil && !interim.beforeBody {
		c.writeInterim(interim.statuses)
	}
	if !s.conclude(c, inv, res, failStatus) {
		return false
	}
	if res.Streaming {
		c.streamed = true
	}
	return true
}

// takeFailPostLocked pops the next injected answer (FailPost,
// RedirectPost, HoldPost) for id, or nil. s.mu is held.
func (s *Server) takeFailPostLocked(id string) *postAnswer {
	fs := s.failPosts[id]
	if len(fs) == 0 {
		return nil
	}
	s.failPosts[id] = fs[1:]
	return &fs[0]
}

// writeInterim writes bare interim answers.
func (c *conn) writeInterim(statuses []int) {
	var b bytes.Buffer
	for _, st := range statuses {
		fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n\r\n", st, http.StatusText(st))
	}
	c.nc.Write(b.Bytes())
}

// closedByPeer returns a channel closed once the client has closed the
// connection (or sent more, which a runtime holding a response must not).
// It reads nothing that a later request needs: the connection is done.
func (c *conn) closedByPeer() <-chan struct{} {
	ch := make(chan struct{})
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		defer close(ch)
		_, _ = io.Copy(io.Discard, c.nc)
	}()
	return ch
}

// conclude records the outcome with the status the server answers (the
// injected answer, else 202) and writes that answer. It reports whether
// the connection stays usable.
func (s *Server) conclude(c *conn, inv *invocation, res *Invocation, ans *postAnswer) bool {
	switch {
	case ans == nil:
	case ans.hold:
		s.finish(inv, res)
		select {
		case <-c.s.closeCh:
		case <-c.closedByPeer():
		}
		return false
	case ans.location != "":
		res.Status = ans.status
		s.finish(inv, res)
		t, m := genericError(ans.status)
		c.writeResponse(ans.status, []string{"Location", ans.location, "Content-Type", "application/json"}, errorJSON(t, m), true)
		return false
	default:
		res.Status = ans.status
		s.finish(inv, res)
		t, m := genericError(ans.status)
		c.writeError(ans.status, t, m, true)
		return false
	}
	res.Status = http.StatusAccepted
	s.finish(inv, res)
	return c.writeAccepted(false) == nil
}

// checkTrailers validates the trailer section of a complete chunked body.
func (s *Server) checkTrailers(req *request, b *body) {
	if !req.chunked {
		return
	}
	if b.trailerBytes >= MaxTrailerSection {
		s.violationf("%s: trailer section is %d bytes, it must be under %d", req.desc, b.trailerBytes, MaxTrailerSection)
	}
	for name := range b.trailer {
		if !req.declared[name] {
			s.violationf("%s: trailer field %s was not declared in the Trailer header %q", req.desc, name, req.header.Values("Trailer"))
		}
	}
	et, eb := b.trailer.Values(HeaderErrorType), b.trailer.Values(HeaderErrorBody)
	if len(et) > 1 || len(eb) > 1 {
		s.violationf("%s: error trailers sent more than once", req.desc)
	}
	if (len(et) > 0) != (len(eb) > 0) {
		s.violationf("%s: only one of the error trailers %s and %s was sent", req.desc, HeaderErrorType, HeaderErrorBody)
	}
	if len(et) > 0 {
		if err := validateErrorType(et[0]); err != nil {
			s.violationf("%s: trailer %s: %v", req.desc, HeaderErrorType, err)
		}
	}
	if len(eb) > 0 {
		raw, err := base64.StdEncoding.Strict().DecodeString(eb[0])
		if err != nil {
			s.violationf("%s: trailer %s is not standard base64 (with padding): %v", req.desc, HeaderErrorBody, err)
		} else if err := validateErrorJSON(raw); err != nil {
			s.violationf("%s: trailer %s: %v", req.desc, HeaderErrorBody, err)
		}
	}
}

// checkErrorRequest validates the header and body of an /error or /init/error.
func (s *Server) checkErrorRequest(req *request, body []byte) {
	if t := req.header.Values(HeaderErrorType); len(t) > 0 {
		if err := validateErrorType(t[0]); err != nil {
			s.violationf("%s: header %s: %v", req.desc, HeaderErrorType, err)
		}
	}
	if err := validateErrorJSON(body); err != nil {
		s.violationf("%s: %v", req.desc, err)
	}
}

// handleInvocationError serves POST /invocation/{id}/error.
func (s *Server) handleInvocationError(c *conn, req *request, id string) bool {
	inv, status, errType, msg := s.claim(id, "error")
	if inv == nil {
		return s.reject(c, req, status, errType, msg)
	}
	s.mu.Lock()
	failStatus := s.takeFailPostLocked(id)
	s.mu.Unlock()

	res := &Invocation{Outcome: "error", Header: req.header}
	b := newBody(true)
	err := c.readBody(req, b)
	b.fill(res)
	var fe *framingError
	if errors.As(err, &fe) {
		s.violationf("%s: malformed body: %s", req.desc, fe.msg)
		res.Status = http.StatusBadRequest
		s.finish(inv, res)
		c.writeError(http.StatusBadRequest, "InvalidChunkedEncoding", fe.msg, true)
		return false
	}
	if err != nil {
		s.finish(inv, res)
		return false
	}
	s.checkTrailers(req, b)
	s.checkErrorRequest(req, res.Body)
	return s.conclude(c, inv, res, failStatus)
}

// readWholeBody reads the small body of a request that belongs to no
// invocation (an init error, an extension's registration). A framing
// mistake is a violation answered 400; ok is false when the connection is
// done for.
func (s *Server) readWholeBody(c *conn, req *request) (b *body, ok bool) {
	b = newBody(true)
	err := c.readBody(req, b)
	b.fill(&Invocation{}) // stops the hashing goroutine
	var fe *framingError
	if errors.As(err, &fe) {
		s.violationf("%s: malformed body: %s", req.desc, fe.msg)
		c.writeError(http.StatusBadRequest, "InvalidChunkedEncoding", fe.msg, true)
		return b, false
	}
	return b, err == nil
}

// handleInitError serves POST /init/error.
func (s *Server) handleInitError(c *conn, req *request) bool {
	s.mu.Lock()
	calls := s.nextCalls
	s.mu.Unlock()
	if calls > 0 {
		return s.reject(c, req, http.StatusForbidden, "InvalidStateTransition",
			fmt.Sprintf("State transition from Ready to InitError failed: /init/error after %d /next call(s)", calls))
	}
	b, ok := s.readWholeBody(c, req)
	if !ok {
		return false
	}
	s.checkTrailers(req, b)
	s.checkErrorRequest(req, b.data)
	s.mu.Lock()
	s.initErrors = append(s.initErrors, InitError{Header: req.header, Body: b.data, At: time.Now()})
	s.notifyLocked()
	s.mu.Unlock()
	return c.writeAccepted(false) == nil
}
