package runtimeapitest

type postFault struct {
	kind       int // faultRespondEarly, faultReset, faultStall
	status     int
	afterBytes int64
}

// postAnswer replaces the 202 a terminal POST would get.
type postAnswer struct {
	status   int    // the final status; 0 with hold
	location string // Location header, for a redirect
	hold     bool   // never answer
}

// interimFault sends interim (1xx) answers on a /response.
type interimFault struct {
	statuses   []int
	beforeBody bool // right after the head, else after the whole body
}

type nextFault struct {
	drop     bool
	status   int
	location string // Location header, for a redirect
}

type throttle struct {
	after int64
	rate  int64
}

// FailNext makes the next GET /next answer status (e.g. 500) with an error
// JSON body and close the connection. One-shot; queued with DropNext in FIFO order.
func (s *Server) FailNext(status int) {
	s.mu.Lock()
	s.nextFaults = append(s.nextFaults, nextFault{status: status})
	s.mu.Unlock()
}

// DropNext makes the next GET /next close its connection without answering.
// One-shot; queued with FailNext in FIFO order. Note that Go's http.Transport
// retries an idempotent GET once when a reused connection closes before any
// response byte.
func (s *Server) DropNext() {
	s.mu.Lock()
	s.nextFaults = append(s.nextFaults, nextFault{drop: true})
	s.mu.Unlock()
}

// RespondEarly makes the next /response for id answer status (e.g. 413, 400,
// 500) once afterBytes body bytes have been read, without reading further,
// and then close the connection (after a short lingering drain so the client
// can read the answer). The invocation completes with Status = status and
// Truncated = true.
func (s *Server) RespondEarly(id string, status int, afterBytes int) {
	s.mu.Lock()
	s.postFaults[id] = append(s.postFaults[id], postFault{kind: faultRespondEarly, status: status, afterBytes: int64(afterBytes)})
	s.mu.Unlock()
}

// ResetResponse makes the next /response for id close its connection
// abruptly (TCP RST, SO_LINGER 0) once afterBytes body bytes have been read.
// The invocation completes with Status 0 and Truncated = true.
func (s *Server) ResetResponse(id string, afterBytes int) {
	s.mu.Lock()
	s.postFaults[id] = append(s.postFaults[id], postFault{kind: faultReset, afterBytes: int64(afterBytes)})
	s.mu.Unlock()
}

// FailPost makes the next /response or /error for id answer status right
// after its headers and body were read (and recorded). The invocation
// completes with Status = status.
func (s *Server) FailPost(id string, status int) {
	s.mu.Lock()
	s.failPosts[id] = append(s.failPosts[id], postAnswer{status: status})
	s.mu.Unlock()
}

// SendUnsolicited makes the next successful GET /next follow its answer, on
// the same (now idle) connection, with a second answer nobody asked for, and
// then close the connection. One-shot.
func (s *Server) SendUnsolicited() {
	s.mu.Lock()
	s.unsolicited++
	s.mu.Unlock()
}

// RedirectNext makes the next GET /next answer status (a 3xx) with the
// given Location and close the connection; no event is handed out. A
// runtime must not follow it. One-shot; queued with FailNext and DropNext.
func (s *Server) RedirectNext(status int, location string) {
	s.mu.Lock()
	s.nextFaults = append(s.nextFaults, nextFault{status: status, location: location})
	s.mu.Unlock()
}

// RedirectPost makes the next /response or /error for id answer status (a
// 3xx) with the given Location, after its body was read and recorded. The
// invocation completes with Status = status. A runtime must not follow it.
func (s *Server) RedirectPost(id string, status int, location string) {
	s.mu.Lock()
	s.failPosts[id] = append(s.failPosts[id], postAnswer{status: status, location: location})
	s.mu.Unlock()
}

// HoldPost makes the next /response or /error for id read and record its
// body, and then never answer: the connection stays open until the client
// closes it or the server closes. The invocation completes with Status 0
// once the body is read.
func (s *Server) HoldPost(id string) {
	s.mu.Lock()
	s.failPosts[id] = append(s.failPosts[id], postAnswer{hold: true})
	s.mu.Unlock()
}

// StallResponse makes the next /response for id stop reading once
// afterBytes body bytes have been read, and keep the connection open
// without reading or answering until the server closes: a peer that stops
// reading. The invocation completes with Status 0 and Truncated = true as
// soon as the reading stops.
func (s *Server) StallResponse(id string, afterBytes int) {
	s.mu.Lock()
	s.postFaults[id] = append(s.postFaults[id], postFault{kind: faultStall, afterBytes: int64(afterBytes)})
	s.mu.Unlock()
}

// SendInterim makes the next /response for id get the given interim (1xx)
// answers, each a bare status line and an empty header section, before its
// final answer: right after the request head when beforeBody is set (while
// the runtime is still streaming), else after the whole body.
func (s *Server) SendInterim(id string, beforeBody bool, statuses ...int) {
	s.mu.Lock()
	s.interims[id] = append(s.interims[id], interimFault{statuses: statuses, beforeBody: beforeBody})
	s.mu.Unlock()
}

// Throttle limits the rate at which /response bodies are read: the first
// afterBytes bytes of each body are read at full speed, the rest at
// bytesPerSec (Lambda streams 6 MiB at full speed, then 2 MiB/s). Unlike the
// one-shot faults it stays in force for all later /response requests;
// Throttle(0, 0) turns it off.
func (s *Server) Throttle(afterBytes int64, bytesPerSec int64) {
	s.mu.Lock()
	s.throttle = throttle{after: afterBytes, rate: bytesPerSec}
	s.mu.Unlock()
}
