#!/usr/bin/env node
// http-sse.mjs: Server-Sent Events from a Function URL, in the `http` mode
// (STREAMSTRAP_MODE=http or `bootstrap --mode http`). It prints a CGI-style
// header block (Status, Content-Type, Set-Cookie, then a blank line) and then
// streams one event every 250 ms; streamstrap turns the header block into the
// Function URL response prelude. Try it with `curl -N URL?count=5`, or
// `new EventSource(URL)` in a browser.
//
//   event:    a Function URL request, e.g. GET /?count=5 (see http-sse.event.json)
//   handler:  node http-sse.mjs
//
// Buffering: on Linux, Node's process.stdout is ASYNCHRONOUS when it is a pipe
// (files and terminals are synchronous; see "A note on process I/O" in the
// Node docs). Each write() is handed to the pipe as soon as the event loop
// runs, so every event leaves at once; but respect backpressure (wait for
// 'drain' when write() returns false) and never process.exit() right after a
// write: queued output would be lost. Let the process end by itself.

import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";

async function readEvent() {
  let raw = "";
  for await (const chunk of process.stdin) raw += chunk;
  return raw.trim() ? JSON.parse(raw) : {};
}

async function write(text) {
  if (!process.stdout.write(text)) await once(process.stdout, "drain");
}

async function main() {
  const event = await readEvent();
  const query = event.queryStringParameters ?? {};
  const count = Math.max(1, Math.min(Number(query.count ?? 5) || 5, 100));
  const requestId = process.env.AWS_LAMBDA_REQUEST_ID ?? "local";

  // The header block (CRLF line ends are accepted as well as LF).
  await write(
    "Status: 200\r\n" +
      "Content-Type: text/event-stream\r\n" +
      "Cache-Control: no-cache\r\n" +
      "Set-Cookie: sse-session=" + requestId.replace(/[^A-Za-z0-9-]/g, "") + "; Path=/; Secure; HttpOnly\r\n" +
      "\r\n",
  );
  await write(`retry: 5000\n: streaming ${count} events for ${requestId}\n\n`);
  for (let n = 1; n <= count; n++) {
    await sleep(250);
    const data = JSON.stringify({ n, of: count, requestId, at: new Date().toISOString() });
    await write(`id: ${n}\nevent: tick\ndata: ${data}\n\n`);
  }
  await write(`event: done\ndata: {"count":${count}}\n\n`);
  await new Promise((resolve) => process.stdout.write("", resolve));
  console.error(`http-sse.mjs: sent ${count} events`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
