package main

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/streamstrap/streamstrap/internal/bootstraptest"
	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// brokenHandlers writes, into a fresh task root, one handler of each kind
// that exists and is executable but cannot run: the init failures users
// meet most (files saved on Windows, an interpreter the image lacks, a
// binary built for the other architecture).
func brokenHandlers(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("crlf.sh", []byte("#!/bin/sh\r\necho hello\r\n"))
	write("no-python.py", []byte("#!/usr/bin/env streamstrap-no-such-python\nprint('hello')\n"))
	write("no-line.txt", []byte("echo hello\n"))

	// The bootstrap binary itself, marked as built for the other
	// architecture: e_machine is the 16-bit field at offset 18.
	bin, err := os.ReadFile(bootstrapBin)
	if err != nil {
		t.Fatal(err)
	}
	other := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		other = elf.EM_X86_64
	}
	binary.LittleEndian.PutUint16(bin[18:], uint16(other))
	write("other-arch", bin)
	return dir
}

func TestUnrunnableHandlerIsAnInitErrorThatSaysWhy(t *testing.T) {
	taskRoot := brokenHandlers(t)
	tests := []struct {
		name    string
		handler string
		want    []string // in the message, in the init error and in the log
	}{
		{"CRLF line endings", "./crlf.sh", []string{"crlf.sh", "carriage return", "dos2unix"}},
		{"interpreter missing from PATH", "./no-python.py", []string{"streamstrap-no-such-python", "not on PATH"}},
		{"no #! line", "./no-line.txt", []string{"no #! line", "exec format error"}},
		{"other architecture", "./other-arch", []string{"other-arch", "is built for linux/", "this machine is linux/" + runtime.GOARCH}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			p := bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{
				RuntimeAPI: srv.Addr(), Args: []string{"--", tt.handler}, TaskRoot: taskRoot,
			})
			wantInitError(t, srv, p, "Runtime.InvalidEntrypoint", tt.want...)
		})
	}
}

// With the check off (flag or variable), the same handler starts the loop
// and each invocation fails on its own, as the kernel decides; the loop
// goes on.
func TestPreflightCanBeTurnedOff(t *testing.T) {
	taskRoot := brokenHandlers(t)
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"flag", nil, []string{"--preflight=false", "--", "./crlf.sh"}},
		{"variable", []string{"STREAMSTRAP_PREFLIGHT=false"}, []string{"--", "./crlf.sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := runtimeapitest.New(t, runtimeapitest.Options{})
			bootstraptest.Start(t, bootstrapBin, bootstraptest.Options{
				RuntimeAPI: srv.Addr(), Args: tt.args, TaskRoot: taskRoot, Env: tt.env,
			})
			for i := 0; i < 2; i++ {
				inv := call(t, srv, "{}")
				if inv.Outcome != "error" || inv.ErrorType() != "Runtime.HandlerStartFailed" {
					t.Fatalf("invocation %d: outcome %q type %q, want an /error with Runtime.HandlerStartFailed", i, inv.Outcome, inv.ErrorType())
				}
			}
			if n := len(srv.InitErrors()); n != 0 {
				t.Errorf("%d init errors with the check off", n)
			}
		})
	}
}

func TestLocalRunsThePreflightToo(t *testing.T) {
	taskRoot := brokenHandlers(t)
	cmd := exec.Command(bootstrapBin, "local", "--", "./crlf.sh")
	cmd.Dir = taskRoot
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LAMBDA_TASK_ROOT=" + taskRoot}
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("bootstrap local: %v, want exit status 1\n%s", err, out)
	}
	for _, w := range []string{"Runtime.InvalidEntrypoint", "carriage return"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
