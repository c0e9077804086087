#!/bin/sh
# http-hello.sh: a Function URL handler in the `http` mode (STREAMSTRAP_MODE=http
# or `bootstrap --mode http`). It prints a CGI-style header block (Status,
# Content-Type, Set-Cookie, ..., then a blank line) and streams the body after it;
# streamstrap turns the header block into the Function URL response prelude.
#
#   event:    a Function URL request, e.g. GET /?name=Ada  (see http-hello.event.json)
#   handler:  http-hello.sh
#
# Buffering: echo and printf in a shell write straight to stdout; programs a
# script calls may block-buffer on a pipe (`stdbuf -oL`, `grep --line-buffered`,
# `sed -u`). Browsers hold back text/plain until they have sniffed enough bytes;
# `X-Content-Type-Options: nosniff` makes them show each line as it arrives.
set -eu

event=$(cat)
name=$(printf '%s' "$event" | sed -n 's/.*"queryStringParameters"[[:space:]]*:[[:space:]]*{[^}]*"name"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9 _.-]*\)".*/\1/p')
name=${name:-world}

echo "Status: 200"
echo "Content-Type: text/plain; charset=utf-8"
echo "X-Content-Type-Options: nosniff"
echo "Set-Cookie: greeted=$(printf '%s' "$name" | tr -c 'A-Za-z0-9_.-' '_'); Path=/; HttpOnly"
echo "Set-Cookie: theme=plain; Path=/"
echo ""

echo "Hello, $name!"
for step in 1 2 3; do
	sleep 0.2
	echo "still streaming ($step/3)"
done
echo "bye from request ${AWS_LAMBDA_REQUEST_ID:-local}"
echo "http-hello.sh: greeted $name" >&2
