package runtimeapitest

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

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
