#!/bin/sh
# Test handler for the http and auto modes: $1 picks the header block.
cat >/dev/null # the event: not needed here
case "$1" in
status) printf 'Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot here\n' ;;
headers)
	printf 'Content-Type: text/html; charset=utf-8\r\n'
	printf 'Set-Cookie: a=1; Path=/; HttpOnly\r\n'
	printf 'X-Multi: one\r\n'
	printf 'Set-Cookie: b=2\r\n'
	printf 'X-Multi: two\r\n'
	printf 'Content-Length: 5\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n'
	printf '\r\n<p>hi</p>\n' ;;
lf) printf 'Status: 201\nContent-Type: application/json\n\n{"created":true}\n' ;;
split)
	printf 'Status: 2'; sleep 0.1; printf '01\r\nContent-'; sleep 0.1
	printf 'Type: text/plain\r'; sleep 0.1; printf '\n'; sleep 0.1
	printf '\r\nbody-start'; sleep 1; printf 'later' ;;
redirect) printf 'Location: https://example.com/new\r\n\r\n' ;;
no-content) printf 'Status: 204 No Content\r\n\r\n' ;;
no-type) printf 'X-A: b\r\n\r\n'; sleep 0.2; printf '<!DOCTYPE html>\n<h1>hi</h1>\n' ;;
fail-after-body) printf 'Content-Type: text/plain\r\n\r\npartial'; echo "broke" >&2; exit 3 ;;
no-colon) printf 'Content-Type: text/plain\r\nthis line has no colon\r\n\r\nbody' ;;
bad-name) printf 'Bad Name: x\r\n\r\nbody' ;;
bad-status) printf 'Status: 99 Too Low\r\n\r\nbody' ;;
unfinished) printf 'Content-Type: text/plain\r\nX-A: b\r\n' ;;
oversized) i=0; while [ $i -lt 400 ]; do printf 'X-Filler-%03d: %s\r\n' $i 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; i=$((i+1)); done; printf '\r\nbody' ;;
crash-in-block) printf 'Content-Type: text/plain\r\n'; echo "died early" >&2; exit 5 ;;
*) echo "unknown case $1" >&2; exit 64 ;;
esac
