// Package earlyprocs puts the Go scheduler on one P during package
// initialisation, when nothing in the environment asks for more: imported
// for its side effect by the Lambda build of cmd/bootstrap only.
//
// The bootstrap runs one invocation loop unless told otherwise, and one P
// costs less CPU per invocation (see cmd/bootstrap's oneProc, which makes
// the final decision once the flags are parsed). Doing it here, before the
// packages that allocate have run their init, rather than at the command's
// start, means the second P has little cached to hand back when it is
// removed: measured, 8 % less wall and CPU time from the process's start
// to its first /next (BENCHMARKS.md, sixth pass). The package imports only
// runtime and syscall, so that it is among the first to initialise.
package earlyprocs

import (
	"runtime"
	"syscall"
)

// moreLoops are the environment variables that can ask the bootstrap for
// more than one loop (AWS_LAMBDA_MAX_CONCURRENCY and --concurrency's
// STREAMSTRAP_CONCURRENCY). When one is set to anything but 1, the
// scheduler is left as Go sized it, sparing a resize there and back.
var moreLoops = [...]string{"AWS_LAMBDA_MAX_CONCURRENCY", "STREAMSTRAP_CONCURRENCY"}

func init() {
	if _, set := syscall.Getenv("GOMAXPROCS"); set {
		return // the user's choice, for the bootstrap as for its handlers
	}
	for _, name := range moreLoops {
		if v, set := syscall.Getenv(name); set && v != "1" {
			return
		}
	}
	runtime.GOMAXPROCS(1)
}
