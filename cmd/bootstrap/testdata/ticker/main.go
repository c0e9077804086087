// Command ticker is a handler for the time-to-first-byte benchmark: it writes
// n lines to stdout, each holding the wall-clock time in Unix nanoseconds
// taken immediately before that line's own write, and pauses between lines so
// that each line travels on its own. It never reads stdin.
//
// Usage: ticker [n [interval]]   (defaults: 100 lines, 2ms apart)
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	n, interval := 100, 2*time.Millisecond
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v < 0 {
			fail("bad line count %q", os.Args[1])
		}
		n = v
	}
	if len(os.Args) > 2 {
		d, err := time.ParseDuration(os.Args[2])
		if err != nil || d < 0 {
			fail("bad interval %q", os.Args[2])
		}
		interval = d
	}
	buf := make([]byte, 0, 32)
	for i := range n {
		if i > 0 {
			time.Sleep(interval)
		}
		buf = strconv.AppendInt(buf[:0], time.Now().UnixNano(), 10)
		buf = append(buf, '\n')
		if _, err := os.Stdout.Write(buf); err != nil {
			fail("write: %v", err)
		}
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ticker: "+format+"\n", args...)
	os.Exit(2)
}
