// Package invoke runs one handler process for one invocation: it starts a
// Command (found by internal/handler) in its own process group with stdin,
// stdout and stderr connected to pipes the Process owns, feeds it the event
// on stdin, streams its stdout as it comes, splits its stderr into lines,
// enforces the deadline (SIGTERM to the group, SIGKILL after a grace period)
// and reports how the run ended in a Result. It knows nothing of HTTP or of
// the Lambda wire formats: the caller builds the environment and the stdin
// payload and decides what to do with the output and the Result.
package invoke
