#!/usr/bin/env python3
# Test handler for `bootstrap serve --mode http`: the Function URL event's
# rawPath names what to do, the query string its parameters. Waits are on
# files the test creates, never on the clock, so a busy machine cannot make a
# test flake.
import base64, json, os, sys, time

ev = json.load(sys.stdin)
q = ev.get("queryStringParameters") or {}
path = ev.get("rawPath", "/")
out = sys.stdout.buffer


def head(*lines):
    out.write(("\n".join(lines) + "\n\n").encode())
    out.flush()


def wait_file(p):
    for _ in range(3000):  # 30s at most
        if os.path.exists(p):
            return
        time.sleep(0.01)


if path == "/stream":
    head("Status: 200", "Content-Type: text/plain")
    out.write(b"first\n"); out.flush()
    wait_file(q["go"])
    out.write(b"last\n"); out.flush()
    print("stream: sent last", file=sys.stderr)
elif path == "/headers":
    head("Status: 201", "Content-Type: text/plain", "X-Custom: yes",
         "Set-Cookie: a=1; Path=/", "Set-Cookie: b=2; HttpOnly")
    out.write(b"ok")
elif path == "/echo":
    body = ev.get("body", "")
    data = base64.b64decode(body) if ev.get("isBase64Encoded") else body.encode()
    head("Status: 200", "Content-Type: application/octet-stream")
    out.write(data)
elif path == "/crash":
    head("Status: 200", "Content-Type: text/plain")
    out.write(b"partial\n"); out.flush()
    wait_file(q["go"])
    sys.exit(3)
elif path == "/fail":
    print("failing before any output", file=sys.stderr)
    sys.exit(4)
elif path == "/hold":
    # Marks itself started, then holds its worker until released.
    open(os.path.join(q["dir"], os.environ["AWS_LAMBDA_REQUEST_ID"]), "w").close()
    head("Status: 200", "Content-Type: text/plain")
    out.write(b"started\n"); out.flush()
    wait_file(q["go"])
    out.write(b"released\n")
elif path == "/env":
    head("Status: 200", "Content-Type: text/plain")
    for k in sorted(os.environ):
        if k.startswith("AWS_"):
            out.write(f"{k}={os.environ[k]}\n".encode())
else:
    head("Status: 404", "Content-Type: text/plain")
    out.write(b"no such test path\n")
