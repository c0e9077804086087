#!/bin/sh
# Test handler for --prespawn, written as the README's handler contract says:
# it reads its context on $STREAMSTRAP_CONTEXT_FD, so it runs unchanged with
# and without the flag. Before its event it logs a start-up line, writes
# "ready" to stdout (which belongs to the event's response) and, when
# $CRASH_ONCE names a directory it can create, crashes instead (only the
# first process to get there).
started=$(date +%s%N)
echo "start-up $$" >&2
if [ -n "${CRASH_ONCE:-}" ] && mkdir "$CRASH_ONCE" 2>/dev/null; then
	echo "crashed at start-up" >&2
	exit 3
fi
echo ready
fd=${STREAMSTRAP_CONTEXT_FD:-3}
IFS= read -r ctx <&$fd && eval "$ctx"
IFS= read -r json <&$fd
event=$(cat)
case "$event" in
sleep) echo sleeping; exec sleep 30 ;;
barrier*)
	# "barrier N DIR": waits until N handlers are inside at once.
	set -- $event
	touch "$3/$AWS_LAMBDA_REQUEST_ID"; i=0
	while [ "$(ls "$3" | wc -l)" -lt "$2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
	ls "$3" | wc -l | tr -d ' ' ;;
*)
	echo "id=$AWS_LAMBDA_REQUEST_ID deadline=$AWS_LAMBDA_DEADLINE_MS trace=${_X_AMZN_TRACE_ID:-} tenant=${AWS_LAMBDA_TENANT_ID:-}"
	echo "$json"
	echo "event=$event"
	echo "pid=$$ started=$started"
	;;
esac
