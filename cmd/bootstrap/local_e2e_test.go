package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runLocalCmd runs `bootstrap local` to its end and returns stdout, stderr
// and the exit code.
func runLocalCmd(t *testing.T, event string, args ...string) (string, string, int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bootstrapBin, append([]string{"local", "--event", file}, args...)...)
	cmd.Dir = handlersDir(t)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LAMBDA_TASK_ROOT=" + handlersDir(t)}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestLocalRunsOneEventThroughTheLoop(t *testing.T) {
	tests := []struct {
		name     string
		event    string
		args     []string
		stdout   string
		stderr   []string
		exitCode int
	}{
		{"streamed success", "tick", []string{"--timings", "--", "./behave.sh"}, "first\nsecond\n",
			[]string{"response, 13 bytes in 2 chunks", "6 bytes", "7 bytes"}, 0},
		{"failure after output", "exit-after", []string{"--", "./behave.sh"}, "partial\n",
			[]string{"failed: Runtime.ExitError", `"errorMessage":"exit status 3"`, "last words"}, 1},
		{"failure before output", "exit-before", []string{"--", "./behave.sh"}, "",
			[]string{"request", ": error, 0 bytes in 0 chunks,", "Runtime.ExitError", "exit status 4"}, 1},
		{"one chunk is singular", "{}", []string{"--", "sh", "-c", "printf x"}, "x",
			[]string{"response, 1 byte in 1 chunk,"}, 0},
		{"deadline", "sleep", []string{"--timeout", "1s", "--", "./behave.sh"}, "started\n",
			[]string{"Runtime.HandlerTimeout", "timed out after", "stopped 250ms (the deadline margin) before the invocation's deadline"}, 1},
		{"http mode shows the prelude apart", "{}", []string{"--mode", "http", "--", "./http.sh", "status"}, "not here\n",
			[]string{`HTTP response prelude {"statusCode":404,"headers":{"content-type":"text/plain"}}`}, 0},
		{"missing handler", "{}", []string{"--", "./nope.sh"}, "",
			[]string{"Runtime.HandlerNotFound", "nope.sh"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runLocalCmd(t, tt.event, tt.args...)
			if stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if code != tt.exitCode {
				t.Errorf("exit code %d, want %d", code, tt.exitCode)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// TestLocalVersion: `bootstrap local --version` prints what `bootstrap
// --version` prints, instead of failing as an unknown flag.
func TestLocalVersion(t *testing.T) {
	root, err := exec.Command(bootstrapBin, "--version").Output()
	if err != nil {
		t.Fatalf("bootstrap --version: %v", err)
	}
	stdout, stderr, code := runLocalCmd(t, "{}", "--version")
	if code != 0 || stdout != string(root) || !strings.HasPrefix(stdout, "streamstrap ") {
		t.Errorf("local --version: exit %d, stdout %q, stderr %q; want exit 0 and %q", code, stdout, stderr, root)
	}
}

// TestDeadlineMarginZeroMeansZero: --deadline-margin=0 lets the handler run
// to the deadline itself, which `local` puts 1s after it hands the event out,
// so the invocation cannot end sooner than 1s after the hand-out. The check is
// a lower bound only (a timer never fires early), so a busy machine cannot
// make it fail; when 0 meant the 250ms default, it ended after about 750ms.
func TestDeadlineMarginZeroMeansZero(t *testing.T) {
	for _, flag := range [][]string{{"--deadline-margin=0"}, {"--deadline-margin", "0s"}} {
		t.Run(strings.Join(flag, " "), func(t *testing.T) {
			stdout, stderr, code := runLocalCmd(t, "sleep", append(flag, "--timeout", "1s", "--", "./behave.sh")...)
			if stdout != "started\n" || code != 1 || !strings.Contains(stderr, "Runtime.HandlerTimeout") {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
			}
			_, after, ok := strings.Cut(stderr, ", done after ")
			if !ok {
				t.Fatalf("no summary in stderr:\n%s", stderr)
			}
			field, _, _ := strings.Cut(after, "\n")
			done, err := time.ParseDuration(field)
			if err != nil {
				t.Fatalf("summary %q: %v", field, err)
			}
			if done < time.Second {
				t.Errorf("the invocation ended %s after the hand-out, before its 1s deadline", done)
			}
		})
	}
}
