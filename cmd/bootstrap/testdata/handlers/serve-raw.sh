#!/bin/sh
# Test handler for serve's Invoke APIs, which take JSON payloads only: the
# payload is a JSON string naming a behave.sh action ("hello", "big 7000000").
IFS= read -r line || true
line=${line#\"}
line=${line%\"}
printf '%s\n' "$line" | exec "$(dirname "$0")/behave.sh"
