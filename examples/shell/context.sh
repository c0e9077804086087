#!/bin/sh
# context.sh: reads its invocation context the way that works with and without
# --prespawn, then streams a few lines.
#
#   event:    anything (its size is reported)
#   handler:  context.sh    (with STREAMSTRAP_PRESPAWN=1 the next one is started
#             before its event, so whatever runs before the read below is free)
#
# Context: just before the event reaches stdin, streamstrap writes two lines on
# descriptor $STREAMSTRAP_CONTEXT_FD (3) and closes it: a shell line,
#   export AWS_LAMBDA_REQUEST_ID='...' AWS_LAMBDA_DEADLINE_MS='...' ...
# whose eval sets the very variables the environment has without --prespawn,
# then the same context as JSON. Outside streamstrap the environment is used.
#
# Buffering: each echo is a write(2) on the pipe, so lines leave at once.
# Programs you call may block-buffer a piped stdout (grep, awk, sed...); wrap
# them in `stdbuf -oL` or use their own line-buffering option.
if [ -n "${STREAMSTRAP_CONTEXT_FD:-}" ]; then
	IFS= read -r ctx <&"$STREAMSTRAP_CONTEXT_FD" && eval "$ctx"
fi
event=$(cat)
echo "context.sh: request $AWS_LAMBDA_REQUEST_ID" >&2
echo "request $AWS_LAMBDA_REQUEST_ID"
if [ -n "${AWS_LAMBDA_DEADLINE_MS:-}" ]; then
	echo "$((AWS_LAMBDA_DEADLINE_MS - $(date +%s%3N))) ms left"
else
	echo "no deadline"
fi
echo "event of ${#event} bytes"
for i in 1 2 3; do
	sleep 0.25
	echo "step $i of 3"
done
