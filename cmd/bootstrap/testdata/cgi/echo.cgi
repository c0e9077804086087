#!/bin/sh
# An ordinary CGI script: it knows nothing of Lambda.
printf 'Status: 200 OK\r\n'
printf 'Content-Type: text/plain\r\n'
printf 'Set-Cookie: seen=%s\r\n' "$REQUEST_METHOD"
printf 'X-Script: shell\r\n\r\n'
echo "method=$REQUEST_METHOD"
echo "path=$PATH_INFO"
echo "query=$QUERY_STRING"
echo "uri=$REQUEST_URI"
echo "remote=$REMOTE_ADDR"
echo "server=$SERVER_NAME"
echo "protocol=$SERVER_PROTOCOL"
echo "gateway=$GATEWAY_INTERFACE"
echo "cookie=$HTTP_COOKIE"
echo "agent=$HTTP_USER_AGENT"
echo "content_type=$CONTENT_TYPE"
echo "content_length=$CONTENT_LENGTH"
echo "body_bytes=$(wc -c | tr -d ' ')"
