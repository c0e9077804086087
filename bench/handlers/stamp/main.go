// Command stamp is the first-byte handler of the benchmark: it writes one
// line holding the wall clock in Unix nanoseconds, taken just before the
// write, so the receiver can subtract it from the arrival time.
package main

import (
	"os"
	"strconv"
	"time"
)

func main() {
	b := strconv.AppendInt(nil, time.Now().UnixNano(), 10)
	b = append(b, '\n')
	if _, err := os.Stdout.Write(b); err != nil {
		os.Exit(1)
	}
}
