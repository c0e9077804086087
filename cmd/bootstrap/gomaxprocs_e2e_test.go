package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// TestGOMAXPROCS checks the scheduler's size the runtime starts with: one P
// for a single loop, Go's own default for several, and the user's
// GOMAXPROCS whenever it is set. An invocation still works in each.
func TestGOMAXPROCS(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set for the tests: Go's default is not known here")
	}
	goDefault := runtime.GOMAXPROCS(0) // same machine and cgroup as the bootstrap
	tests := []struct {
		name string
		env  []string
		args []string
		conc int
		want int
	}{
		{"one loop", nil, nil, 1, 1},
		{"one loop, user's value", []string{"GOMAXPROCS=3"}, nil, 1, 3},
		{"two loops", nil, []string{"--concurrency", "2"}, 2, goDefault},
		{"two loops from the environment", []string{"AWS_LAMBDA_MAX_CONCURRENCY=2"}, nil, 2, goDefault},
		{"two loops, user's value", []string{"GOMAXPROCS=3"}, []string{"--concurrency", "2"}, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"AWS_LAMBDA_LOG_FORMAT=JSON"}, tt.env...)
			args := append(append([]string{"--log-level", "debug"}, tt.args...), "--", "./behave.sh")
			srv, p := start(t, runtimeapitest.Options{Concurrency: tt.conc}, env, args...)
			wantSuccess(t, call(t, srv, "hello"), "hello\n")
			want := `"gomaxprocs":` + strconv.Itoa(tt.want) + `,`
			if !p.WaitStderr(`"runtime started"`, 5*time.Second) || !strings.Contains(p.Stderr(), want) {
				t.Errorf("log lacks %s:\n%s", want, p.Stderr())
			}
		})
	}
}
