package handler

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/streamstrap/streamstrap/internal/preflight"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	for name, f := range map[string]struct {
		data string
		mode os.FileMode
	}{
		"ok.sh":    {"#!/bin/sh\n", 0o755},
		"crlf.sh":  {"#!/bin/sh\r\necho hi\r\n", 0o755},
		"data.txt": {"#!/bin/sh\n", 0o644},
	} {
		path := filepath.Join(root, name)
		if err := os.WriteFile(path, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, f.mode); err != nil { // not subject to the umask
			t.Fatal(err)
		}
	}
	env := func(vars ...string) func(string) string {
		return func(key string) string {
			for _, kv := range vars {
				if k, v, _ := strings.Cut(kv, "="); k == key {
					return v
				}
			}
			return ""
		}
	}
	taskRoot := "LAMBDA_TASK_ROOT=" + root

	tests := []struct {
		name      string
		opts      Options
		wantPath  string   // success: the Command's Path
		wantArgs  []string // success: its Args
		wantType  string   // failure: the InitError's Type
		wantText  string   // failure: a part of its text
		wantAsErr any      // failure: what errors.As must find, or nil
		linuxOnly bool     // preflight checks only on Linux
	}{
		{name: "args win over _HANDLER", opts: Options{Args: []string{"ok.sh", "a b"}, Getenv: env(taskRoot, "_HANDLER=data.txt")},
			wantPath: filepath.Join(root, "ok.sh"), wantArgs: []string{"a b"}},
		{name: "_HANDLER split into words", opts: Options{Getenv: env(taskRoot, `_HANDLER=./ok.sh 'a b' c`)},
			wantPath: filepath.Join(root, "ok.sh"), wantArgs: []string{"a b", "c"}},
		{name: "found on PATH", opts: Options{Args: []string{"sh", "-c", "true"}, Getenv: env(taskRoot, "PATH=/usr/bin:/bin")},
			wantArgs: []string{"-c", "true"}},
		{name: "no handler", opts: Options{Getenv: env(taskRoot)},
			wantType: TypeNotFound, wantText: "no handler: name it after --"},
		{name: "malformed _HANDLER", opts: Options{Getenv: env(taskRoot, `_HANDLER=python3 'app.py`)},
			wantType: TypeMalformedName, wantText: `_HANDLER: split handler "python3 'app.py": unterminated single quote`},
		{name: "blank _HANDLER", opts: Options{Getenv: env(taskRoot, "_HANDLER=  ")},
			wantType: TypeMalformedName, wantText: "_HANDLER: empty handler"},
		{name: "missing", opts: Options{Args: []string{"nope"}, Getenv: env(taskRoot)},
			wantType: TypeNotFound, wantText: `handler "nope" not found or not executable`, wantAsErr: new(*NotFoundError)},
		{name: "no execute bit", opts: Options{Args: []string{"data.txt"}, Getenv: env(taskRoot)},
			wantType: TypeNotFound, wantText: "exists but is not executable: chmod +x " + filepath.Join(root, "data.txt"), wantAsErr: new(*NotFoundError)},
		{name: "preflight off", opts: Options{Args: []string{"crlf.sh"}, Getenv: env(taskRoot)},
			wantPath: filepath.Join(root, "crlf.sh")},
		{name: "preflight on", opts: Options{Args: []string{"crlf.sh"}, Getenv: env(taskRoot), Preflight: true},
			wantType: TypeInvalidEntrypoint, wantText: "carriage return", wantAsErr: new(*preflight.NotRunnableError), linuxOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.linuxOnly && runtime.GOOS != "linux" {
				t.Skip("preflight checks only on Linux")
			}
			cmd, err := Find(tt.opts)
			if tt.wantType == "" {
				if err != nil {
					t.Fatalf("Find: %v", err)
				}
				if tt.wantPath != "" && cmd.Path != tt.wantPath {
					t.Errorf("Path %q, want %q", cmd.Path, tt.wantPath)
				}
				if !filepath.IsAbs(cmd.Path) || cmd.Dir != root || !slices.Equal(cmd.Args, tt.wantArgs) {
					t.Errorf("Find = %+v, want Dir %q Args %q", cmd, root, tt.wantArgs)
				}
				return
			}
			var ie *InitError
			if !errors.As(err, &ie) {
				t.Fatalf("Find = %+v, %v; want an *InitError", cmd, err)
			}
			if ie.Type != tt.wantType || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("InitError{%q, %q}, want type %q and text containing %q", ie.Type, err, tt.wantType, tt.wantText)
			}
			if tt.wantAsErr != nil && !errors.As(err, tt.wantAsErr) {
				t.Errorf("%v does not wrap a %T", err, tt.wantAsErr)
			}
		})
	}
}

// TestFindDefaultGetenv: a nil Getenv reads the process's environment.
func TestFindDefaultGetenv(t *testing.T) {
	t.Setenv("_HANDLER", "sh -c true")
	t.Setenv("LAMBDA_TASK_ROOT", t.TempDir())
	t.Setenv("PATH", "/usr/bin:/bin")
	cmd, err := Find(Options{})
	if err != nil || filepath.Base(cmd.Path) != "sh" {
		t.Fatalf("Find = %+v, %v; want sh from PATH", cmd, err)
	}
}
