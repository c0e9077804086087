package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/streamstrap/streamstrap/internal/chunked"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// Local is one run of `bootstrap local`: one event through a runtime
// pointed at a fresh Server, the body written to Stdout as it streams in and
// a summary of the invocation to Stderr. The zero value of each field means
// what its comment says.
type Local struct {
	// Event is the event's payload.
	Event []byte
	// Timeout is the function timeout; zero means 30s.
	Timeout time.Duration
	// Timings writes each arriving piece of body, with its time, to Stderr.
	Timings bool
	// UserAgent names the runtime's client to the Server.
	UserAgent string
	// PeerTimeout is the client's peer timeout; zero means its default.
	PeerTimeout time.Duration
	// Splice is the client's splice mode (runtimeapi.Client.SetSplice);
	// zero is off.
	Splice chunked.SpliceMode
	// Stdout receives the response body; Stderr the prelude, the summary
	// and the error. Neither may be nil.
	Stdout, Stderr io.Writer
	// Runtime runs one loop with client until ctx ends.
	Runtime func(ctx context.Context, client *runtimeapi.Client) error
	// RuntimeError, if set, is told of the error the runtime ended with.
	RuntimeError func(error)
}

// ErrFailed is Run's error when the invocation failed; its summary and
// error are already written.
var ErrFailed = errors.New("the invocation failed")

// Run runs l's event and returns nil if the invocation succeeded.
func (l Local) Run(ctx context.Context) error {
	srv, err := Start()
	if err != nil {
		return err
	}
	defer srv.Close()
	client := runtimeapi.NewClient(srv.Addr(), l.UserAgent, 1)
	client.SetPeerTimeout(l.PeerTimeout)
	client.SetSplice(l.Splice)
	defer client.CloseIdle()
	inv := Invocation{Payload: l.Event, Timeout: l.Timeout, Body: l.Stdout,
		OnPrelude: func(p json.RawMessage) {
			fmt.Fprintf(l.Stderr, "streamstrap local: HTTP response prelude %s\n", p)
		},
	}
	if l.Timings {
		inv.OnChunk = func(n int, at time.Duration) {
			fmt.Fprintf(l.Stderr, "streamstrap local: +%-10s %d bytes\n", at.Round(time.Microsecond), n)
		}
	}
	res, lerr, err := srv.invokeWith(ctx, inv, func(ctx context.Context) error { return l.Runtime(ctx, client) })
	if lerr != nil && l.RuntimeError != nil {
		l.RuntimeError(lerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(l.Stderr, "\nstreamstrap local: request %s: %s, %s in %s, first byte after %s, done after %s\n",
		res.RequestID, res.Outcome, count(res.Bytes, "byte"), count(int64(res.Chunks), "chunk"),
		res.FirstByte.Round(time.Microsecond), res.Duration.Round(time.Microsecond))
	if res.Failed() {
		fmt.Fprintf(l.Stderr, "streamstrap local: failed: %s %s\n", res.ErrorType, res.Error)
		return ErrFailed
	}
	return nil
}

// count spells n with its noun, "1 chunk" or "2 chunks".
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
