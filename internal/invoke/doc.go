// Package invoke runs one Lambda handler process: it resolves the handler
// command, starts it in its own process group with stdin, stdout and stderr
// connected to pipes the Process owns, feeds it the event on stdin, streams its
// stdout, splits its stderr into lines, enforces a deadline and reports how the
// run ended.
//
// The package knows nothing of HTTP or of the Lambda wire formats; the caller
// builds the environment and the stdin payload and decides what to do with
// the output and the Result.
package invoke
