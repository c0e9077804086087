#!/usr/bin/env node
// context.mjs: reads its invocation context the way that works with and
// without --prespawn, then streams a few lines.
//
//   event:    any JSON (its keys are reported)
//   handler:  node context.mjs   (with STREAMSTRAP_PRESPAWN=1 the next one is
//             started before its event: Node's start-up and the imports below
//             are then paid while no caller waits)
//
// Context: just before the event reaches stdin, streamstrap writes two lines on
// descriptor $STREAMSTRAP_CONTEXT_FD (3) and closes it: a shell line, then the
// context as JSON (requestId, deadlineMs, invokedFunctionArn, traceId,
// clientContext, cognitoIdentity, tenantId). Read it before stdin. Outside
// streamstrap the AWS_LAMBDA_* environment is used.
//
// Buffering: on Linux, Node's process.stdout is ASYNCHRONOUS when it is a pipe
// (as it is under streamstrap). write() queues data and returns false once the
// queue is full: wait for 'drain' then, and never call process.exit() right
// after writing, or queued output is lost. Each write leaves as soon as the
// pipe takes it.

import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

function invocationContext() {
  const fd = process.env.STREAMSTRAP_CONTEXT_FD;
  if (fd === undefined) {
    // Not under streamstrap: the environment has it.
    return {
      requestId: process.env.AWS_LAMBDA_REQUEST_ID ?? "",
      deadlineMs: Number(process.env.AWS_LAMBDA_DEADLINE_MS ?? 0),
      traceId: process.env._X_AMZN_TRACE_ID ?? "",
    };
  }
  const [, json] = readFileSync(Number(fd), "utf8").split("\n"); // line 1 is for shells
  return JSON.parse(json);
}

const ctx = invocationContext();
const raw = readFileSync(0, "utf8");
const event = raw.trim() ? JSON.parse(raw) : {};
console.error(`context.mjs: request ${ctx.requestId}`);
process.stdout.write(`request ${ctx.requestId}\n`);
process.stdout.write(ctx.deadlineMs ? `${ctx.deadlineMs - Date.now()} ms left\n` : "no deadline\n");
process.stdout.write(`event keys: ${Object.keys(event).sort().join(", ") || "-"}\n`);
for (let i = 1; i <= 3; i++) {
  await sleep(250);
  process.stdout.write(`step ${i} of 3\n`);
}
