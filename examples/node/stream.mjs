#!/usr/bin/env node
// stream.mjs: proxies a large file to the caller in 64 KiB chunks. It first
// generates the file in /tmp (Lambda's writable scratch space; kept between
// invocations of a warm sandbox), then streams it back, paced so you can watch it.
//
//   event:    {"size_kib": 1024, "pace_ms": 10}   (optional; at most 512 MiB; from a
//             Function URL, ?size_kib=8192&pace_ms=5 works too)
//   handler:  node stream.mjs
//
// Buffering: on Linux, Node's process.stdout is ASYNCHRONOUS when it is a pipe
// (as it is under streamstrap; files and terminals are synchronous; see
// "A note on process I/O" in the Node docs). write() queues data and returns
// false once the queue is full, so: wait for 'drain' when write() returns
// false (backpressure, constant memory), and never call process.exit() right
// after writing: queued output is lost. Let the process end by itself (set
// process.exitCode), or exit only from the last write's callback. Node does
// not buffer beyond that, so each write leaves as soon as the pipe takes it.

import { createReadStream, createWriteStream, existsSync, renameSync } from "node:fs";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const LINE = 64; // bytes per generated line

// line(i) is line i of the generated file: a counter, filler, newline; 64 bytes.
export function line(i) {
  const head = `${String(i).padStart(10, "0")} streamstrap `;
  return head + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(2).slice(0, LINE - head.length - 1) + "\n";
}

async function readEvent() {
  let raw = "";
  for await (const chunk of process.stdin) raw += chunk;
  return raw.trim() ? JSON.parse(raw) : {};
}

async function generate(path, lines) {
  if (existsSync(path)) return; // cached from an earlier invocation
  const tmp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  for (let i = 0; i < lines; i++) {
    if (!out.write(line(i))) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  renameSync(tmp, path);
}

// write sends one chunk to stdout, honouring backpressure.
async function write(chunk) {
  if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
}

async function main() {
  let event = await readEvent();
  if (event.queryStringParameters) event = event.queryStringParameters; // a Function URL request
  const sizeKiB = Math.max(1, Math.min(Number(event.size_kib ?? 1024), 512 * 1024));
  const paceMs = Math.max(0, Number(event.pace_ms ?? 10));
  const lines = Math.ceil((sizeKiB * 1024) / LINE);
  const path = join(tmpdir(), `streamstrap-example-${lines}.txt`);

  await generate(path, lines);

  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
    hash.update(chunk);
    bytes += chunk.length;
    await write(chunk);
    if (paceMs > 0) await sleep(paceMs);
  }
  // Wait until everything queued has been handed to the pipe.
  await new Promise((resolve) => process.stdout.write("", resolve));
  console.error(
    `stream.mjs: sent ${bytes} bytes sha256=${hash.digest("hex")} for ${process.env.AWS_LAMBDA_REQUEST_ID ?? "local"}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
