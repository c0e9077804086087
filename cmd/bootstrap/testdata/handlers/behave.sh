#!/bin/sh
# Test handler: the first line of the event names what to do; the rest of the
# event stays on stdin. Each action exercises one clause of the handler
# contract from a real process. The RIE tests (internal/rietest) use it too.
IFS= read -r line || true
set -- $line
action=$1
case "$action" in
hello) echo hello ;;
echo) cat ;;
env) env ;;
empty) ;;
tick) echo first; sleep 1; echo second ;;
exit-after) echo partial; echo "boom details" >&2; echo "last words" >&2; exit 3 ;;
exit-before) echo "nothing to say" >&2; exit 4 ;;
kill-self) echo out; kill -9 $$ ;;
sleep) echo started; exec sleep 30 ;;
sleep-silent) exec sleep 30 ;;
trap-term) trap 'echo "got TERM" >&2; exit 143' TERM; echo start; sleep 30 & wait ;;
ignore-term) trap '' TERM; echo start; while :; do sleep 1; done ;;
orphan) (exec sleep 30) & echo hi ;;
escape) setsid sh -c 'exec sleep 30' & sleep 0.1; echo hi ;;
yes) yes streamstrap-streams-bytes ;;
chunks)
	# Several writes with pauses in between: a streamed, multi-chunk upload.
	for i in 1 2 3 4 5; do echo "chunk $i"; sleep 0.2; done ;;
big) head -c "${2:-1048576}" /dev/zero | tr '\0' x ;;
parent)
	# Which bootstrap process runs the handler: the same pid across
	# invocations means the runtime was not re-initialised.
	echo "$PPID $(readlink "/proc/$PPID/exe")" ;;
cat-file) exec cat "$2" ;;
big-then-read) head -c 1048576 /dev/zero; wc -c | tr -d ' ' ;;
stderr-lines) echo plain line >&2; echo '{"level":"WARN","message":"structured"}' >&2; echo done ;;
barrier)
	# Waits until $2 handlers are inside at once: proves concurrent loops.
	touch "$3/$AWS_LAMBDA_REQUEST_ID"; i=0
	while [ "$(ls "$3" | wc -l)" -lt "$2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
	ls "$3" | wc -l | tr -d ' ' ;;
*) echo "unknown action: $action" >&2; exit 64 ;;
esac
