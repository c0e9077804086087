package runtimeapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/streamstrap/streamstrap/internal/httpwire"
	"github.com/streamstrap/streamstrap/internal/keepalive"
)

// Defaults for ExtensionOptions.
const (
	DefaultExtensionName = "streamstrap"
	// DefaultRegisterTimeout bounds the register call. The Runtime API is on
	// loopback and answers at once; the bound only keeps a broken one from
	// eating the 10 s init phase, since registration is optional.
	DefaultRegisterTimeout = 2 * time.Second
)

// registerBody subscribes to no event: the extension exists only so that
// Lambda sends the runtime SIGTERM at shutdown.
var registerBody = []byte(`{"events":[]}`)

// ExtensionOptions configures RegisterShutdownExtension.
type ExtensionOptions struct {
	// Name is the Lambda-Extension-Name; empty means DefaultExtensionName.
	Name string
	// UserAgent is sent with each request.
	UserAgent string
	// RegisterTimeout bounds the register call; 0 means DefaultRegisterTimeout.
	RegisterTimeout time.Duration
	// OnEnd, when not nil, is called once, from the background goroutine,
	// with the reason if event/next ends before Close or the context does
	// (the API answered it or dropped its connection): Lambda may then stop
	// waiting for the extension, and the runtime will want to say so.
	OnEnd func(err error)
}

// Extension is a registered no-op internal extension. Lambda sends the
// runtime SIGTERM at shutdown only when some extension is registered, and
// SIGKILLs it otherwise; this one subscribes to nothing and waits in
// event/next, which never answers, in the background.
type Extension struct {
	id     string
	wire   *keepalive.Client
	cancel context.CancelFunc
	done   chan struct{}
	err    error // why event/next ended; written before done is closed
}

// RegisterShutdownExtension registers a no-op internal extension with the
// Extensions API at addr (host:port, AWS_LAMBDA_RUNTIME_API) and starts its
// one GET event/next in a goroutine, which ends when ctx is cancelled or
// Close is called. It must be called before the runtime's first /next: the
// API closes registration then. A non-2xx answer is a *StatusError.
func RegisterShutdownExtension(ctx context.Context, addr string, opts ExtensionOptions) (*Extension, error) {
	if opts.Name == "" {
		opts.Name = DefaultExtensionName
	}
	if opts.RegisterTimeout <= 0 {
		opts.RegisterTimeout = DefaultRegisterTimeout
	}
	// Its own connection: event/next holds one for the life of the
	// process, and the runtime's client must not count it against its
	// idle-connection pool. No keep-alive probes, as in NewClient: the
	// environment is frozen between invocations.
	w := newWire(addr, (&net.Dialer{KeepAlive: -1}).DialContext, 1)
	e := &Extension{wire: w, done: make(chan struct{})}
	id, err := e.register(ctx, addr, opts)
	if err != nil {
		w.CloseIdle()
		return nil, err
	}
	e.id = id
	ctx, e.cancel = context.WithCancel(ctx)
	go e.waitNext(ctx, addr, opts.UserAgent, opts.OnEnd)
	return e, nil
}

// register makes the register call and returns the extension's identifier.
func (e *Extension) register(ctx context.Context, addr string, opts ExtensionOptions) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.RegisterTimeout)
	defer cancel()
	const path = ExtensionPathRegister
	resp, err := e.wire.Do(ctx, &keepalive.Request{Method: httpwire.MethodPost, Path: path, Body: registerBody,
		Header: []string{"User-Agent", opts.UserAgent, "Content-Type", "application/json", HeaderExtensionName, opts.Name}})
	if err != nil {
		return "", callError(httpwire.MethodPost, path, err)
	}
	defer resp.Body.Close()
	// The body only repeats the function's name, version and handler.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", callError(httpwire.MethodPost, path, fmt.Errorf("reading the answer: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", &StatusError{Op: httpwire.MethodPost + " " + path, StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	id := resp.Header.Get(HeaderExtensionIdentifier)
	if id == "" {
		return "", callError(httpwire.MethodPost, path, errors.New("the answer has no "+HeaderExtensionIdentifier+" header"))
	}
	return id, nil
}

// waitNext makes the extension's one event/next call. For an extension
// without events it does not return until the process ends; the call is
// what tells Lambda the extension has finished its init.
func (e *Extension) waitNext(ctx context.Context, addr, userAgent string, onEnd func(error)) {
	defer close(e.done)
	defer e.wire.CloseIdle()
	err := e.next(ctx, addr, userAgent)
	if ctx.Err() == nil {
		e.err = err
		if onEnd != nil && err != nil {
			onEnd(err)
		}
	}
}

func (e *Extension) next(ctx context.Context, addr, userAgent string) error {
	const path = ExtensionPathNext
	resp, err := e.wire.Do(ctx, &keepalive.Request{Method: httpwire.MethodGet, Path: path,
		Header: []string{"User-Agent", userAgent, HeaderExtensionIdentifier, e.id}})
	if err != nil {
		return callError(httpwire.MethodGet, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != httpwire.StatusOK {
		return &StatusError{Op: httpwire.MethodGet + " " + path, StatusCode: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
	}
	return callError(httpwire.MethodGet, path, fmt.Errorf("unexpected event %.200q", body))
}

// ID is the Lambda-Extension-Identifier the API gave the extension.
func (e *Extension) ID() string { return e.id }

// Done is closed when the background event/next call has ended: after Close,
// when the context given to RegisterShutdownExtension ends, or when the API
// answered it or dropped its connection.
func (e *Extension) Done() <-chan struct{} { return e.done }

// Err returns why event/next ended once Done is closed: nil when Close or the
// context ended it, else the failure or the unexpected answer.
func (e *Extension) Err() error {
	select {
	case <-e.done:
		return e.err
	default:
		return nil
	}
}

// Close stops the event/next call and waits for its goroutine to end.
func (e *Extension) Close() {
	e.cancel()
	<-e.done
}
