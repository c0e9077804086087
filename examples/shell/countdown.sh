#!/bin/sh
# countdown.sh: streams a countdown, one line every 200 ms.
#
#   event:    {"from": 5}      (optional, default 10, at most 100; from a Function
#             URL, ?from=5 works too)
#   handler:  countdown.sh
#
# Buffering: echo and printf in a shell write straight to stdout, so each line
# leaves as soon as it is printed. Programs a script calls may block-buffer
# when stdout is a pipe (as it is under streamstrap): use `stdbuf -oL cmd`,
# `grep --line-buffered`, `sed -u`, or `fflush()` in awk.
set -eu

event=$(cat)
from=$(printf '%s' "$event" | sed -n 's/.*"from"[[:space:]]*:[[:space:]]*"\{0,1\}\([0-9][0-9]*\).*/\1/p')
from=${from:-10}
[ "$from" -le 100 ] || from=100

echo "countdown from $from for request ${AWS_LAMBDA_REQUEST_ID:-local}"
i=$from
while [ "$i" -gt 0 ]; do
	echo "$i..."
	sleep 0.2
	i=$((i - 1))
done
echo "liftoff!"
echo "countdown.sh: done ($from steps)" >&2
