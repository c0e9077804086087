#!/usr/bin/env python3
"""http_page.py: a Function URL handler in the `http` mode (STREAMSTRAP_MODE=http
or `bootstrap --mode http`) that streams an HTML page a browser renders as it
arrives. It prints a CGI-style header block (Status, Content-Type, Set-Cookie,
then a blank line) and the body after it; streamstrap turns the header block
into the Function URL response prelude.

    event:    a Function URL request, e.g. GET /?name=Ada&steps=5 (see http_page.event.json)
    handler:  python3 -u http_page.py

Buffering: Python block-buffers stdout on a pipe. streamstrap sets
PYTHONUNBUFFERED=1 unless you set it; `python3 -u` and `flush=True` (used
below) make sure each piece leaves at once however the script is started.
"""

import html
import json
import os
import sys
import time


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def main() -> int:
    raw = sys.stdin.read()
    event = json.loads(raw) if raw.strip() else {}
    query = event.get("queryStringParameters") or {}
    name = html.escape(query.get("name", "world"))
    steps = max(1, min(int(query.get("steps", "5")), 50))
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "GET")
    request_id = os.environ.get("AWS_LAMBDA_REQUEST_ID", "local")

    # The header block: one header a line, then an empty line.
    out("Status: 200\n")
    out("Content-Type: text/html; charset=utf-8\n")
    out("Cache-Control: no-store\n")
    out("Set-Cookie: visited=1; Path=/; Secure; HttpOnly\n")
    out("Set-Cookie: lang=en; Path=/\n")
    out("\n")

    out("<!doctype html>\n<html><head><title>streamstrap</title></head><body>\n")
    out(f"<h1>Hello, {name}!</h1>\n<p>{html.escape(method)} request {html.escape(request_id)}</p>\n<ol>\n")
    for i in range(1, steps + 1):
        time.sleep(0.2)
        out(f"<li>step {i} of {steps}</li>\n")
    out("</ol>\n<p>done.</p>\n</body></html>\n")
    print(f"http_page.py: {steps} steps", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
