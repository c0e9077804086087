#!/bin/sh
# page.sh: an HTML page that paints in parts, for `make run` (bootstrap serve
# --mode http). It prints a CGI-style header block, then the page one part at
# a time, PAGE_DELAY seconds apart (default 0.7). Each part ends with an
# inline script that stamps the time the browser parsed it
# (performance.now()), so a browser shows the page growing and the stamps say
# when each part arrived.
set -eu
cat >/dev/null # the event: this page does not need it
delay=${PAGE_DELAY:-0.7}
parts=${PAGE_PARTS:-5}

echo "Status: 200"
echo "Content-Type: text/html; charset=utf-8"
echo "Cache-Control: no-store"
echo ""

cat <<'HTML'
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>streamstrap: streamed page</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto}
.part{padding:.5em 1em;margin:.5em 0;background:#eef;border-radius:.4em}</style></head>
<body><h1>A page streamed in parts</h1>
<p>Each box below is sent by the handler about a second apart; the time is when your browser parsed it.</p>
HTML
i=1
while [ "$i" -le "$parts" ]; do
	printf '<div class="part" id="part%d">part %d of %d, parsed at <span class="t"></span> ms' "$i" "$i" "$parts"
	printf '<script>document.currentScript.previousElementSibling.textContent=performance.now().toFixed(0)</script></div>\n'
	if [ "$i" -lt "$parts" ]; then sleep "$delay"; fi
	i=$((i + 1))
done
echo "<p>Done: request ${AWS_LAMBDA_REQUEST_ID:-local} of ${AWS_LAMBDA_FUNCTION_NAME:-function}.</p></body></html>"
echo "page.sh: sent $parts parts" >&2
