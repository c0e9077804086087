#!/usr/bin/env python3
"""A CGI program in the classic style: environment in, stdin body in, response out."""
import hashlib
import os
import sys

body = sys.stdin.buffer.read(int(os.environ.get("CONTENT_LENGTH") or 0))
out = sys.stdout
out.write("Status: 201 Created\r\n")
out.write("Content-Type: application/json\r\n")
out.write("Set-Cookie: upload=1; Secure\r\n")
out.write("Set-Cookie: size=%d\r\n" % len(body))
out.write("\r\n")
out.flush()
out.write('{"method":"%s","type":"%s","length":%d,"sha256":"%s"}\n' % (
    os.environ["REQUEST_METHOD"], os.environ.get("CONTENT_TYPE", ""),
    len(body), hashlib.sha256(body).hexdigest()))
