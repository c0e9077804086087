package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// TestSpliceOnAndOffStreamTheSameBytes runs the real binary with
// --splice=on, off and the default against the strict Runtime API: every
// body, chunking and failure report must be the same. Splice needs the
// size cap off: a capped body is counted through Read.
func TestSpliceOnAndOffStreamTheSameBytes(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{9})
	random := make([]byte, 16<<20) // random bytes: every value, CRLFs, "0\r\n\r\n" by chance
	_, _ = rng.Read(random)
	file := filepath.Join(t.TempDir(), "random")
	if err := os.WriteFile(file, random, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		action  string
		want    []byte
		chunks  int    // if > 0, the chunks the Runtime API must see: one per handler write
		errType string // a failure reported in the trailers
	}{
		{name: "one small write", action: "hello", want: []byte("hello\n"), chunks: 1},
		{name: "writes with pauses", action: "tick", want: []byte("first\nsecond\n"), chunks: 2},
		{name: "16 MiB of random bytes", action: "cat-file " + file, want: random},
		{name: "1 MiB through tr", action: "big", want: bytes.Repeat([]byte("x"), 1<<20)},
		{name: "exits mid-stream", action: "exit-after", want: []byte("partial\n"), errType: "Runtime.ExitError"},
		{name: "killed mid-stream", action: "kill-self", want: []byte("out\n"), errType: "Runtime.ExitError"},
		{name: "an escaped child holds stdout", action: "escape", want: []byte("hi\n")},
	}
	for _, flags := range [][]string{{"--splice=on", "--max-response-bytes=0"}, {"--splice=off"}, nil, {"--splice=on", "--max-response-bytes=0", "--prespawn"}} {
		t.Run(strings.Join(append([]string{"flags"}, flags...), " "), func(t *testing.T) {
			args := append(append([]string(nil), flags...), "--", "./behave.sh")
			srv, _ := start(t, runtimeapitest.Options{}, nil, args...)
			for _, tt := range tests {
				inv := call(t, srv, tt.action)
				if inv.Outcome != "response" || inv.Truncated || inv.Status != 202 {
					t.Fatalf("%s: outcome %q truncated %v status %d", tt.name, inv.Outcome, inv.Truncated, inv.Status)
				}
				if !bytes.Equal(inv.Body, tt.want) {
					t.Errorf("%s: body %d bytes %.30q, want %d bytes %.30q", tt.name, len(inv.Body), inv.Body, len(tt.want), tt.want)
				}
				if tt.chunks > 0 && len(inv.Chunks) != tt.chunks {
					t.Errorf("%s: %d chunks, want %d (one per write)", tt.name, len(inv.Chunks), tt.chunks)
				}
				if inv.ErrorType() != tt.errType {
					t.Errorf("%s: error type %q, want %q", tt.name, inv.ErrorType(), tt.errType)
				}
			}
			// The next invocation still works after all of that.
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
		})
	}
}

func TestSpliceFlagRejectsOtherValues(t *testing.T) {
	for _, env := range [][]string{nil, {"STREAMSTRAP_SPLICE=yes"}} {
		args := []string{"--splice=maybe", "--", "./behave.sh"}
		if env != nil {
			args = args[1:]
		}
		_, p := start(t, runtimeapitest.Options{}, env, args...)
		code, ok := p.Wait(10 * time.Second)
		if !ok || code != 2 || !strings.Contains(p.Stderr(), "auto, on or off") {
			t.Errorf("env %v args %v: exit %d (exited %v), stderr %q", env, args, code, ok, p.Stderr())
		}
	}
}
