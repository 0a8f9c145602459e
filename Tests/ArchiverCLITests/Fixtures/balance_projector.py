#!/usr/bin/env python3
"""A projector in Python for `archiver replay --exec`: reads events as JSON lines on stdin and prints one
balance row per stream at the end. Exits 3 (with a message on stderr) on an event carrying "fail": true."""
import json
import sys

balances = {}
for line in sys.stdin:
    event = json.loads(line)
    if event["data"].get("fail"):
        print(f"projector: cannot handle event at position {event['position']}", file=sys.stderr)
        sys.exit(3)
    stream = event["stream"]
    balances[stream] = balances.get(stream, 0) + event["data"].get("amount", 0)
for stream in sorted(balances):
    print(json.dumps({"stream": stream, "balance": balances[stream]}))
