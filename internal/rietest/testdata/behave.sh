#!/bin/sh
# Test handler for the RIE tests, trimmed from
# cmd/bootstrap/testdata/handlers/behave.sh plus a few actions of its own: the
# first line of the event names what to do; the rest of the event stays on
# stdin. The tests copy it into the task root, so its mode here does not matter.
IFS= read -r line || true
set -- $line
action=$1
case "$action" in
hello) echo hello ;;
echo) cat ;;
empty) ;;
chunks)
	# Several writes with pauses in between: a streamed, multi-chunk upload.
	for i in 1 2 3 4 5; do echo "chunk $i"; sleep 0.2; done ;;
big) head -c "${2:-1048576}" /dev/zero | tr '\0' x ;;
parent)
	# Which bootstrap process runs the handler: the same pid across
	# invocations means the RIE did not re-initialise the runtime.
	echo "$PPID $(readlink "/proc/$PPID/exe")" ;;
exit-after) echo partial; echo "boom details" >&2; echo "last words" >&2; exit 3 ;;
exit-before) echo "nothing to say" >&2; exit 4 ;;
sleep) echo started; exec sleep 30 ;;
sleep-silent) exec sleep 30 ;;
*) echo "unknown action: $action" >&2; exit 64 ;;
esac
