package main

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// scope is the testing.TB that runtimeapitest.New needs, outside a test: it
// collects cleanups, run in reverse by close, and errors. Only the methods
// the Runtime API server calls are implemented; the embedded nil TB only
// supplies the interface's unexported method.
type scope struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

// fatal is the panic value of scope.Fatalf, recovered by run.
type fatal struct{ msg string }

// Helper does nothing.
func (s *scope) Helper() {}

// Cleanup registers f to run at close.
func (s *scope) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

// Errorf records an error.
func (s *scope) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

// Fatalf panics with the message; the benchmark stops.
func (s *scope) Fatalf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }

// Failed reports whether Errorf was called.
func (s *scope) Failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.errs) > 0
}

// Logf writes to stderr.
func (s *scope) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// close runs the cleanups, last first, and returns the errors recorded.
func (s *scope) close() []string {
	s.mu.Lock()
	cs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errs
}
