package rietest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
)

// Graceful shutdown under the emulator, which, like Lambda, sends the
// runtime SIGTERM at shutdown only when an extension is registered and
// otherwise SIGKILLs it at once ("SIGKILLing the runtime as no agents are
// registered", rapid/shutdown.go, in both modes). Stopping the emulator
// (SIGTERM, see stop) is such a shutdown. The emulator logs at info here:
// the registration and the SIGKILL are info lines.

// gracefulEnv turns graceful shutdown on; the emulator passes its
// environment through to the bootstrap.
const gracefulEnv = "STREAMSTRAP_GRACEFUL_SHUTDOWN=true"

// shutdownLines are the lines, each given by the parts it holds, that tell
// what happened at shutdown in one emulator mode.
type shutdownLines struct {
	registered []string // the emulator: an internal extension named streamstrap registered
	sigkill    []string // the emulator: it SIGKILLs the runtime
}

var linesOf = map[rieMode]shutdownLines{
	classic: {
		registered: []string{"Internal agent streamstrap (", ") registered, subscribed to []"},
		sigkill:    []string{"Sending SIGKILL to runtime-"},
	},
	managed: {
		registered: []string{`msg="Internal agent registered"`, "agentName=streamstrap"},
		sigkill:    []string{`msg="Sending SIGKILL to process"`, "name=runtime"},
	},
}

var (
	// The bootstrap, when SIGTERM arrives (text or JSON logs).
	sigtermLine = []string{"streamstrap", "shutting down", "terminated signal received"}
	// Classic mode, when the runtime outlived its share of the shutdown.
	lateLine = []string{"did not exit after deadline"}
)

// hasLine reports whether one line of log holds every part.
func hasLine(log string, parts []string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestGracefulShutdown: an idle bootstrap gets SIGTERM when the emulator
// stops only with graceful shutdown on; without it, it is SIGKILLed.
func TestGracefulShutdown(t *testing.T) {
	for _, mode := range []rieMode{classic, managed} {
		lines := linesOf[mode]
		tests := []struct {
			name    string
			env     []string
			want    [][]string // lines in the log after the stop
			notWant [][]string
		}{
			{"on", []string{gracefulEnv}, [][]string{lines.registered, sigtermLine}, [][]string{lines.sigkill, lateLine}},
			{"off", nil, [][]string{lines.sigkill}, [][]string{lines.registered, sigtermLine}},
		}
		for _, tt := range tests {
			t.Run(mode.String()+"/"+tt.name, func(t *testing.T) {
				e := startRIE(t, config{mode: mode, logLevel: "info", env: tt.env})
				// Classic init is lazy: the first invoke starts the bootstrap.
				wantOK(t, "hello", e.invoke("hello"), "hello\n")
				wantOK(t, "chunks", e.invoke("chunks"), chunksBody())
				checkCleanLog(t, e)
				e.stop()
				log := e.log()
				for _, w := range tt.want {
					if !hasLine(log, w) {
						t.Errorf("no line with %q in the log", w)
					}
				}
				for _, w := range tt.notWant {
					if hasLine(log, w) {
						t.Errorf("a line with %q in the log", w)
					}
				}
				if t.Failed() {
					t.Logf("RIE log:\n%s", tail(log))
				}
			})
		}
	}
}

// TestClassicGracefulShutdownDuringAnInvocation: with graceful shutdown,
// stopping the emulator while a handler runs reaches the handler as SIGTERM
// through the bootstrap, which ends the response as Runtime.Shutdown and exits
// within the emulator's runtime deadline (30 % of its 2 s shutdown budget), so nothing is SIGKILLed, and
// nothing is left behind (stop checks). Without graceful shutdown the
// bootstrap would be SIGKILLed mid-stream: the emulator logs a [PANIC] for
// the cut response, and the handler, in its own process group, outlives it.
func TestClassicGracefulShutdownDuringAnInvocation(t *testing.T) {
	e := startRIE(t, config{mode: classic, logLevel: "info", env: []string{gracefulEnv}})
	wantOK(t, "hello", e.invoke("hello"), "hello\n")

	// The caller's answer races with the emulator's exit (the partial body
	// or a dropped connection), so only its end is checked.
	done := make(chan struct{})
	go func() {
		defer close(done)
		post(e.client, e.invokeAddr, "trap-term")
	}()
	// The handler is in when its `sleep 30` runs.
	if !bootstraptest.WaitFor(invokeWait, func() bool { return hasProcess(e.marker, "sleep\x0030\x00") }) {
		t.Fatalf("the handler did not start; RIE log:\n%s", tail(e.log()))
	}
	e.stop()
	select {
	case <-done:
	case <-time.After(invokeWait):
		t.Fatal("the invoke did not end after the emulator stopped")
	}
	log := e.log()
	for _, w := range [][]string{linesOf[classic].registered, sigtermLine, {"got TERM"}, {"Runtime.Shutdown", "stopped: the bootstrap is shutting down"}} {
		if !hasLine(log, w) {
			t.Errorf("no line with %q in the log", w)
		}
	}
	for _, w := range [][]string{linesOf[classic].sigkill, lateLine} {
		if hasLine(log, w) {
			t.Errorf("a line with %q in the log", w)
		}
	}
	if t.Failed() {
		t.Logf("RIE log:\n%s", tail(log))
	}
}

// post invokes the emulator once and reads whatever answer comes. It does
// not use the test's helpers, which may not fail the test from another
// goroutine; the caller checks nothing of the answer.
func post(client *http.Client, addr, event string) {
	ctx, cancel := context.WithTimeout(context.Background(), invokeWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+invokePath, strings.NewReader(event))
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
}

// hasProcess reports whether a live process carrying marker has exactly
// cmdline (NUL-separated, NUL-terminated, as in /proc).
func hasProcess(marker, cmdline string) bool {
	for _, pid := range bootstraptest.MarkedPids(marker) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Equal(b, []byte(cmdline)) {
			return true
		}
	}
	return false
}
