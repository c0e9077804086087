package invoke

import (
	"strconv"
	"syscall"
	"time"
)

// Result is how one handler run ended.
//
// PeakRSS is the largest resident set of the handler or of any descendant it
// waited for, as wait4 reports it (0 where the unit is unknown). On Linux it
// counts the address space the child had between fork and exec, which is the
// bootstrap's own (Go forks with CLONE_VM), so it is never below the
// bootstrap's resident size at the start: for a REPORT line's "Max Memory
// Used", which covers the whole sandbox, that errs on the safe side.
type Result struct {
	ExitCode   int            // exit status; -1 when killed by a signal
	Signal     syscall.Signal // the signal that killed it, 0 if it exited
	TimedOut   bool           // the Deadline was reached and the handler was signalled for it
	Stopped    error          // the reason given to Stop, nil if Stop was not called
	Started    time.Time      // when the handler was started
	Fed        time.Time      // when Feed gave it its input; zero if it never got any
	Duration   time.Duration  // Fed to exit; Started to exit if it was never fed or exited first
	PeakRSS    int64          // peak resident set in bytes (wait4's ru_maxrss), 0 if unknown
	StderrTail []string       // the last StderrTail lines of stderr, oldest first
	Escaped    int            // processes outside the group that still held the output, killed by Marker

	timeout time.Duration // Fed to Deadline, for Message
}

// Success reports whether the handler exited with status 0 and was neither
// timed out nor stopped.
func (r Result) Success() bool {
	return r.ExitCode == 0 && r.Signal == 0 && !r.TimedOut && r.Stopped == nil
}

// Message describes the ending for an error message: "exit status 3",
// "signal: killed", "signal: terminated", "timed out after 2.5s" (Fed to
// Deadline, rounded to the millisecond) or "stopped: <reason>". A deadline or
// a Stop explains a signal, so they take precedence. It is "" on success.
func (r Result) Message() string {
	switch {
	case r.TimedOut:
		return "timed out after " + r.timeout.Round(time.Millisecond).String()
	case r.Stopped != nil:
		return "stopped: " + r.Stopped.Error()
	case r.Signal != 0:
		return "signal: " + r.Signal.String()
	case r.ExitCode != 0:
		return "exit status " + strconv.Itoa(r.ExitCode)
	}
	return ""
}
