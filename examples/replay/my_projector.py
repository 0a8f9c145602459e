#!/usr/bin/env python3
"""A read model in Python for `archiver replay --exec` (the README's tour runs it).

Reads the events of the cut as JSON lines on stdin (global order; the protocol is in docs/REPLAY.md) and prints
one JSON row per account at the end: the number of events, deposits and withdrawals, and the last balance an
event recorded. Uses only `stream`, `type` and `data`, so it reads every version of the event line.

    archiver replay --to latest --exec 'python3 examples/replay/my_projector.py' --output accounts.jsonl
"""
import json
import sys

accounts = {}
for line in sys.stdin:
    event = json.loads(line)
    if not event["stream"].startswith("account-"):
        continue
    row = accounts.setdefault(event["stream"], {"stream": event["stream"], "events": 0, "deposits": 0,
                                                "withdrawals": 0, "balance": None})
    row["events"] += 1
    if event["type"] == "MoneyDeposited":
        row["deposits"] += 1
    elif event["type"] == "MoneyWithdrawn":
        row["withdrawals"] += 1
    data = event.get("data") or {}
    if isinstance(data.get("balance"), (int, float)):
        row["balance"] = data["balance"]
for stream in sorted(accounts):
    print(json.dumps(accounts[stream]))
