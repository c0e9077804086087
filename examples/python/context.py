#!/usr/bin/env python3
"""context.py: reads its invocation context the way that works with and
without --prespawn, then streams a few lines.

    event:    any JSON (its keys are reported)
    handler:  python3 -u context.py   (with STREAMSTRAP_PRESPAWN=1 the next one
              is started before its event: the imports below are then paid
              while no caller waits)

Context: just before the event reaches stdin, streamstrap writes two lines on
descriptor $STREAMSTRAP_CONTEXT_FD (3) and closes it: a shell line, then the
context as JSON (requestId, deadlineMs, invokedFunctionArn, traceId,
clientContext, cognitoIdentity, tenantId). Read it before stdin. Outside
streamstrap the AWS_LAMBDA_* environment is used.

Buffering: Python block-buffers stdout when it is a pipe (as it is under
streamstrap), so nothing would arrive until 8 KiB piled up or the script ended.
streamstrap sets PYTHONUNBUFFERED=1 for its handlers unless you set it yourself;
`python3 -u` does the same, and `print(..., flush=True)` (used below) flushes
each line no matter how the script is started. Logs go to stderr.
"""

import json
import os
import sys
import time


def invocation_context() -> dict:
    fd = os.environ.get("STREAMSTRAP_CONTEXT_FD")
    if fd is None:  # not under streamstrap: the environment has it
        return {
            "requestId": os.environ.get("AWS_LAMBDA_REQUEST_ID", ""),
            "deadlineMs": int(os.environ.get("AWS_LAMBDA_DEADLINE_MS") or 0),
            "traceId": os.environ.get("_X_AMZN_TRACE_ID", ""),
        }
    with os.fdopen(int(fd), encoding="utf-8") as f:
        f.readline()  # the shell line
        return json.loads(f.readline())


def main() -> int:
    ctx = invocation_context()
    raw = sys.stdin.read()
    event = json.loads(raw) if raw.strip() else {}
    print(f"context.py: request {ctx['requestId']}", file=sys.stderr)
    print(f"request {ctx['requestId']}", flush=True)
    if ctx["deadlineMs"]:
        print(f"{ctx['deadlineMs'] - int(time.time() * 1000)} ms left", flush=True)
    else:
        print("no deadline", flush=True)
    print(f"event keys: {', '.join(sorted(event)) if isinstance(event, dict) else '-'}", flush=True)
    for i in range(1, 4):
        time.sleep(0.25)
        print(f"step {i} of 3", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
