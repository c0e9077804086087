package invoke

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// newShared makes a StderrPipe whose unattached lines go to other, closed at
// the end of the test.
func newShared(t *testing.T, other *collector) *StderrPipe {
	t.Helper()
	sp, err := NewStderrPipe(other.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sp.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sp
}

// TestStderrPipeKeepsLinesWithTheirHandler: handlers one after the other on
// one StderrPipe each get exactly their own lines, in order, their
// unterminated last line included, in the callback and in the tail; none
// reaches the pipe's own callback.
func TestStderrPipeKeepsLinesWithTheirHandler(t *testing.T) {
	var other collector
	sp := newShared(t, &other)
	bodies := []struct {
		body string
		want []string
	}{
		{`i=1; while [ $i -le 30 ]; do echo "a $i" >&2; echo "out $i"; i=$((i+1)); done; printf 'crlf\r\n' >&2; printf 'last' >&2`,
			nil},
		{`echo one >&2; printf 'no newline' >&2`, []string{"one", "no newline"}},
		{`true`, nil},
		{`printf 'x%.0s' $(seq 1 70000) >&2; echo >&2; echo done >&2`, []string{strings.Repeat("x", maxStderrLine), strings.Repeat("x", 70000-maxStderrLine), "done"}},
		{`echo crash >&2; exit 3`, []string{"crash"}},
	}
	for i := 1; i <= 30; i++ {
		bodies[0].want = append(bodies[0].want, fmt.Sprintf("a %d", i))
	}
	bodies[0].want = append(bodies[0].want, "crlf", "last")
	for round := range 2 {
		for i, b := range bodies {
			var c collector
			_, r := run(t, b.body, Options{Stderr: c.add, StderrPipe: sp})
			if got := c.get(); !slices.Equal(got, b.want) {
				t.Errorf("round %d, handler %d: lines %q, want %q", round, i, got, b.want)
			}
			if want := b.want[max(0, len(b.want)-defaultStderrTail):]; len(b.want) > 0 && !slices.Equal(r.StderrTail, want) {
				t.Errorf("round %d, handler %d: tail %q, want %q", round, i, r.StderrTail, want)
			}
		}
	}
	if got := other.get(); len(got) != 0 {
		t.Errorf("lines with no handler attached: %q", got)
	}
}

// TestStderrPipeEscapeeLinesGoElsewhere: a process that left the handler's
// group writes to stderr after the handler's Wait; its line reaches the
// pipe's own callback, not the handler's, and the Wait did not wait for it.
func TestStderrPipeEscapeeLinesGoElsewhere(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	var other, mine collector
	sp := newShared(t, &other)
	start := time.Now()
	// The handler ends once the escapee is out of its group (in a session of
	// its own, it touched "out"), so the group's kill cannot reach it.
	_, r := run(t, `setsid sh -c 'touch out; sleep 0.5; echo late >&2' >/dev/null &
while [ ! -e out ]; do sleep 0.01; done
echo mine >&2`, Options{Stderr: mine.add, StderrPipe: sp})
	if took := time.Since(start); !r.Success() || took > 5*time.Second {
		t.Fatalf("result %+v after %v", r, took)
	}
	if got := mine.get(); !slices.Equal(got, []string{"mine"}) {
		t.Errorf("handler lines %q, want [mine]", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(other.get()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := other.get(); !slices.Equal(got, []string{"late"}) {
		t.Errorf("unattached lines %q, want [late]", got)
	}
	if got := mine.get(); len(got) != 1 {
		t.Errorf("the escapee's line reached the handler: %q", got)
	}
}

// TestStderrPipeCloseDeliversTheRest: an unterminated line nobody claimed is
// delivered at Close.
func TestStderrPipeCloseDeliversTheRest(t *testing.T) {
	var other collector
	sp, err := NewStderrPipe(other.add)
	if err != nil {
		t.Fatal(err)
	}
	run(t, `setsid sh -c 'touch out; sleep 0.2; printf partial >&2' >/dev/null &
while [ ! -e out ]; do sleep 0.01; done`, Options{StderrPipe: sp})
	time.Sleep(500 * time.Millisecond)
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if got := other.get(); len(got) > 1 || (len(got) == 1 && got[0] != "partial") {
		t.Errorf("unattached lines %q, want [partial] or, had the escapee not written yet, none", got)
	}
}
