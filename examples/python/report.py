#!/usr/bin/env python3
"""report.py: streams a generated report, one row at a time.

    event:    {"title": "...", "rows": 8, "delay_ms": 150, "seed": 42}  (all optional;
              from a Function URL, ?rows=20&delay_ms=100 works too)
    handler:  python3 -u report.py

Buffering: Python block-buffers stdout when it is a pipe (as it is under
streamstrap), so nothing would arrive until 8 KiB piled up or the script ended.
streamstrap sets PYTHONUNBUFFERED=1 for its handlers unless you set it yourself;
`python3 -u` does the same, and `print(..., flush=True)` (used below) flushes
each line no matter how the script is started. Logs go to stderr.
"""

import json
import os
import random
import sys
import time

REGIONS = ["north", "south", "east", "west", "central", "coast", "highlands", "islands"]


def main() -> int:
    raw = sys.stdin.read()
    event = json.loads(raw) if raw.strip() else {}
    if isinstance(event.get("queryStringParameters"), dict):  # a Function URL request
        event = event["queryStringParameters"]
    title = str(event.get("title", "Widget sales report"))
    rows = max(1, min(int(event.get("rows", 8)), 1000))
    delay = max(0, int(event.get("delay_ms", 150))) / 1000.0
    rng = random.Random(event.get("seed", 42))
    request_id = os.environ.get("AWS_LAMBDA_REQUEST_ID", "local")

    print(f"# {title}", flush=True)
    print(f"request {request_id}", flush=True)
    print(f"{'region':<12}{'units':>8}{'revenue':>12}", flush=True)
    total_units = 0
    total_revenue = 0.0
    for i in range(rows):
        time.sleep(delay)  # pretend each row is an expensive query
        region = REGIONS[i % len(REGIONS)] + ("" if i < len(REGIONS) else f"-{i // len(REGIONS)}")
        units = rng.randint(10, 500)
        revenue = units * rng.uniform(4.0, 12.0)
        total_units += units
        total_revenue += revenue
        print(f"{region:<12}{units:>8}{revenue:>12.2f}", flush=True)
    print(f"{'total':<12}{total_units:>8}{total_revenue:>12.2f}", flush=True)
    print(f"report.py: {rows} rows for {request_id}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
