package runtimeapitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Header names of the Extensions API.
const (
	HeaderExtensionName       = "Lambda-Extension-Name"
	HeaderExtensionIdentifier = "Lambda-Extension-Identifier"
)

// The function metadata in every register answer, where the real API puts
// the function's name, version and handler.
const (
	FunctionName    = "test"
	FunctionVersion = "$LATEST"
	FunctionHandler = "handler"
)

const extPrefix = "/2020-01-01/extension"

// Registration is one recorded POST /extension/register, refused ones
// included. It is a copy: later event/next calls do not change it.
type Registration struct {
	// Name is the Lambda-Extension-Name header.
	Name string
	// ID is the Lambda-Extension-Identifier answered; empty when refused.
	ID string
	// Events are the event types of the body's "events" (nil when the body
	// could not be parsed).
	Events []string
	// Header holds the request's headers (canonical keys).
	Header http.Header
	// Body is the request body.
	Body []byte
	// Status is the HTTP status answered: 200, a 403 refusal, or the status
	// injected with FailRegister.
	Status int
	// ErrorType is the errorType of a refusal, "" for a 200.
	ErrorType string
	// At is when the request had been read.
	At time.Time
	// NextCallsBefore is the number of runtime GET /invocation/next requests
	// received before this one: 0 for a registration in time.
	NextCallsBefore int
	// EventNextCalls counts the GET /extension/event/next requests made with
	// ID so far.
	EventNextCalls int
}

// FailRegister makes the next POST /extension/register answer status (e.g.
// 500) with an error JSON body, after reading the request, and close the
// connection. The attempt is recorded with that Status. One-shot; several
// calls queue in FIFO order.
func (s *Server) FailRegister(status int) {
	s.mu.Lock()
	s.registerFaults = append(s.registerFaults, status)
	s.mu.Unlock()
}

// Registrations returns the POST /extension/register requests received so
// far, in order.
func (s *Server) Registrations() []Registration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Registration, len(s.regs))
	for i, r := range s.regs {
		out[i] = *r
	}
	return out
}

// extensionsReadyLocked reports whether every registered extension has
// called event/next: like the real API, whose init phase waits for that, the
// server hands out no event before. s.mu must be held.
func (s *Server) extensionsReadyLocked() bool {
	for _, r := range s.regs {
		if r.ID != "" && r.EventNextCalls == 0 {
			return false
		}
	}
	return true
}

// handleRegister serves POST /extension/register. Every registrant counts as
// an internal extension (the server launches no external ones), so, as in
// the real API, it may subscribe to INVOKE but not to SHUTDOWN. The server
// never delivers an event: it models no-op extensions only.
func (s *Server) handleRegister(c *conn, req *request) bool {
	b, ok := s.readWholeBody(c, req)
	if !ok {
		return false
	}
	reg := &Registration{
		Name:   req.header.Get(HeaderExtensionName),
		Header: req.header,
		Body:   b.data,
		At:     time.Now(),
	}
	var body struct {
		Events *[]string `json:"events"`
	}
	bodyErr := json.Unmarshal(b.data, &body)
	if bodyErr == nil && body.Events == nil {
		bodyErr = errors.New(`no "events" array`)
	}
	if bodyErr == nil {
		reg.Events = *body.Events
	}

	s.mu.Lock()
	reg.NextCallsBefore = s.nextCalls
	status, errType, msg := 0, "", ""
	injected := len(s.registerFaults) > 0
	switch {
	case injected:
		status = s.registerFaults[0]
		s.registerFaults = s.registerFaults[1:]
		errType, msg = genericError(status)
	case reg.Name == "":
		status, errType, msg = http.StatusForbidden, "Extension.InvalidExtensionName", "Empty extension name"
	case bodyErr != nil:
		status, errType, msg = http.StatusForbidden, "InvalidRequestFormat", fmt.Sprintf("body %.200q: %v", b.data, bodyErr)
	case badEvent(reg.Events) != "":
		status, errType, msg = http.StatusForbidden, "Extension.InvalidEventType", badEvent(reg.Events)
	case reg.NextCallsBefore > 0:
		status, errType, msg = http.StatusForbidden, "Extension.RegistrationClosed", "Extension registration closed already"
	case s.registeredLocked(reg.Name):
		status, errType, msg = http.StatusForbidden, "Extension.InvalidExtensionState", "Extension with this name already registered"
	default:
		status = http.StatusOK
		reg.ID = newRequestID()
	}
	reg.Status = status
	if status != http.StatusOK {
		reg.ErrorType = errType
	}
	s.regs = append(s.regs, reg)
	s.notifyLocked()
	s.mu.Unlock()

	if status != http.StatusOK {
		if !injected {
			s.violationf("%s: answered %d %s: %s", req.desc, status, errType, msg)
		}
		c.writeError(status, errType, msg, true)
		return false
	}
	answer, _ := json.Marshal(map[string]string{
		"functionName":    FunctionName,
		"functionVersion": FunctionVersion,
		"handler":         FunctionHandler,
	})
	h := []string{"Content-Type", "application/json", HeaderExtensionIdentifier, reg.ID}
	return c.writeResponse(http.StatusOK, h, answer, req.close) == nil
}

// handleEventNext serves GET /extension/event/next. For a registered
// extension it never answers: it blocks until the client goes away or the
// server closes, as the real call blocks for an extension without events.
func (s *Server) handleEventNext(c *conn, req *request) bool {
	if !c.drain(req) {
		return false
	}
	id := req.header.Get(HeaderExtensionIdentifier)
	s.mu.Lock()
	var reg *Registration
	for _, r := range s.regs {
		if id != "" && r.ID == id {
			reg = r
		}
	}
	if reg != nil {
		reg.EventNextCalls++
		s.dispatchLocked()
		s.notifyLocked()
	}
	s.mu.Unlock()
	switch {
	case id == "":
		return s.rejectExtension(c, req, "Extension.MissingExtensionIdentifier", "Missing "+HeaderExtensionIdentifier+" header")
	case reg == nil:
		return s.rejectExtension(c, req, "Extension.UnknownExtensionIdentifier", "Unknown extension "+id)
	}
	c.waitGone()
	return false
}

// badEvent describes the first event type an internal extension may not
// subscribe to, or returns "" when all are fine. The messages are the real
// API's.
func badEvent(events []string) string {
	for _, e := range events {
		switch e {
		case "INVOKE":
		case "SHUTDOWN":
			return e + ": ShutdownEventNotSupportedForInternalExtension"
		default:
			return e + ": ErrorInvalidEventType"
		}
	}
	return ""
}

// registeredLocked reports whether an extension named name is registered.
// s.mu must be held.
func (s *Server) registeredLocked(name string) bool {
	for _, r := range s.regs {
		if r.ID != "" && r.Name == name {
			return true
		}
	}
	return false
}

// rejectExtension records the violation of a refused Extensions API call
// whose body has been read, and answers 403.
func (s *Server) rejectExtension(c *conn, req *request, errType, msg string) bool {
	s.violationf("%s: answered 403 %s: %s", req.desc, errType, msg)
	c.writeError(http.StatusForbidden, errType, msg, true)
	return false
}

// waitGone blocks until the client closes the connection or the server
// closes, watching the connection with a look-ahead read (see waitEvent).
func (c *conn) waitGone() {
	la := c.startLookahead()
	select {
	case err := <-la:
		c.lookahead = nil // consumed
		if err == nil {
			// Bytes behind an unanswered request: nothing will read them
			// before the server closes.
			<-c.s.closeCh
		}
	case <-c.s.closeCh:
	}
}
