package loop

import (
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/logging"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// handlerProc is one handler process and the request id its stderr lines are
// logged with: none until it gets its event (a spare's start-up lines).
type handlerProc struct {
	proc      *invoke.Process
	requestID atomic.Pointer[string]
}

// spawn starts a handler with env. With in nil it waits for its input
// (Feed), a spare; otherwise it is started fed with in (invoke.SpawnFed) for
// the invocation requestID, whose id its stderr lines carry from the start.
func (l *Loop) spawn(env []string, in *invoke.Input, requestID string) (*handlerProc, error) {
	h := &handlerProc{}
	if in != nil {
		h.requestID.Store(&requestID)
	}
	var onLine func([]byte)
	if hl := l.cfg.HandlerLog; hl != nil {
		onLine = func(line []byte) {
			id := ""
			if p := h.requestID.Load(); p != nil {
				id = *p
			}
			hl(id, line)
		}
	}
	opts := invoke.Options{
		Env:        env,
		KillGrace:  l.cfg.KillGrace,
		Stderr:     onLine,
		ExtraPipe:  true,
		StderrPipe: l.stderr,
	}
	var proc *invoke.Process
	var err error
	if in != nil {
		proc, err = invoke.SpawnFed(l.cfg.Command, opts, *in)
	} else {
		proc, err = invoke.Spawn(l.cfg.Command, opts)
	}
	if err != nil {
		return nil, err
	}
	h.proc = proc
	return h, nil
}

// unattachedLine logs a line of the shared stderr that arrived while no
// handler was attached (a process that left a handler's group), with no
// request id.
func (l *Loop) unattachedLine(line []byte) {
	if hl := l.cfg.HandlerLog; hl != nil {
		hl("", line)
	}
}

// spawnSpare starts the next invocation's handler, or returns nil if it
// cannot be started; the invocation then tries again and reports the
// failure with its request id.
func (l *Loop) spawnSpare() *handlerProc {
	h, err := l.spawn(l.spareEnv, nil, "")
	if err != nil {
		l.log.Warn("starting the next handler ahead of its event failed", logging.Error(err))
		return nil
	}
	l.log.Debug("handler started ahead of its event", logging.Int("pid", h.proc.Pid()))
	return h
}

// dropSpare ends the spare, if there is one: the bootstrap is leaving.
func (l *Loop) dropSpare() {
	if l.spare != nil {
		l.stopHandler(l.spare)
		l.spare = nil
	}
}

// stopHandler ends a handler that will get no event.
func (l *Loop) stopHandler(h *handlerProc) {
	h.proc.Stop(ErrShutdown)
	res := h.proc.Wait()
	l.log.Debug("handler that got no event ended", logging.Int("pid", h.proc.Pid()), logging.String("how", res.Message()))
}

// baseEnv drops the per-invocation variables from env (they are set fresh,
// or left out, for each invocation) and turns off Python's block buffering of
// a piped stdout unless the user chose otherwise.
func baseEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	python := false
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case envRequestID, envDeadlineMs, envFunctionARN, envTraceID, envClientContext, envCognitoIdentity, envTenantID:
			continue
		case "PYTHONUNBUFFERED":
			python = true
		}
		out = append(out, kv)
	}
	if !python {
		out = append(out, "PYTHONUNBUFFERED=1")
	}
	return out
}

func (l *Loop) env(inv *runtimeapi.Invocation, extra []string) []string {
	env := make([]string, 0, len(l.spareEnv)+len(extra)+7)
	env = append(env, l.spareEnv...)
	env = append(env, envRequestID+"="+inv.RequestID)
	if inv.DeadlineMs != 0 {
		env = append(env, envDeadlineMs+"="+strconv.FormatInt(inv.DeadlineMs, 10))
	}
	env = append(env, envFunctionARN+"="+inv.FunctionARN)
	for _, kv := range [...][2]string{
		{envTraceID, inv.TraceID},
		{envClientContext, inv.ClientContext},
		{envCognitoIdentity, inv.CognitoIdentity},
		{envTenantID, inv.TenantID},
	} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return append(env, extra...)
}
