#!/usr/bin/env python3
"""An independent reference of the upcasting semantics in docs/REPLAY.md ("Upcasting").

Usage:
  upcast_reference.py RULES.json < events.jsonl > upcast.jsonl
  upcast_reference.py --hash RULES.json

RULES.json is a rule set's canonical JSON form (what `archiver upcast check` prints and bundles keep as
upcasters.json). Each input line is a rendered event; each output line is an event of the upcast view.
Written from the documentation, not from the Swift code: the tests compare the two.
"""
import hashlib
import json
import re
import sys

MAX_APPLICATIONS = 64
ABSENT = object()
FAIL = object()  # a parent on the way is not an object (None is JSON null)
NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
INTEGER = re.compile(r"[+-]?[0-9]+\Z")


def dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tokens(pointer):
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def get(data, pointer):
    for token in tokens(pointer):
        if not isinstance(data, dict) or token not in data:
            return ABSENT
        data = data[token]
    return data


def set_at(data, toks, value):
    """data with value at toks, creating missing objects; FAIL when a parent is not an object."""
    if not toks:
        return value
    if data is ABSENT:
        data = {}
    if not isinstance(data, dict):
        return FAIL
    child = set_at(data.get(toks[0], ABSENT), toks[1:], value)
    if child is FAIL:
        return FAIL
    result = dict(data)
    result[toks[0]] = child
    return result


def remove(data, toks):
    if not toks or not isinstance(data, dict) or toks[0] not in data:
        return data
    result = dict(data)
    if len(toks) == 1:
        del result[toks[0]]
    else:
        result[toks[0]] = remove(data[toks[0]], toks[1:])
    return result


def split_id(original, index):
    digest = bytearray(hashlib.sha256(b"lode-archiver/upcast-split\0" + original.encode() + b"\0" + str(index).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def version_of(event, key):
    meta = event["metadata"]
    if not isinstance(meta, dict) or key not in meta:
        return 1
    v = meta[key]
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and INTEGER.match(v):
        return int(v)
    return None


def matches(rule, event, key):
    return rule["type"] == event["type"] and ("version" not in rule or rule["version"] == version_of(event, key))


def apply_rule(rule, event, key):
    event = dict(event)
    for step in rule["steps"]:
        op = step["op"]
        data = event["data"]
        if op == "rename-type":
            event["type"] = step["type"]
        elif op == "set-version":
            meta = dict(event["metadata"]) if isinstance(event["metadata"], dict) else {}
            meta[key] = step["version"]
            event["metadata"] = meta
        elif op == "move":
            value = get(data, step["from"])
            if value is not ABSENT:
                moved = set_at(remove(data, tokens(step["from"])), tokens(step["to"]), value)
                if moved is not FAIL:
                    event["data"] = moved
        elif op == "default":
            if get(data, step["at"]) is ABSENT:
                result = set_at(data, tokens(step["at"]), step["value"])
                if result is not FAIL:
                    event["data"] = result
        elif op == "remove":
            event["data"] = remove(data, tokens(step["at"]))
        elif op == "to-string":
            value = get(data, step["at"])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                event["data"] = set_at(data, tokens(step["at"]), json.dumps(value))  # the parent exists
        elif op == "to-number":
            value = get(data, step["at"])
            if isinstance(value, str) and NUMBER.match(value):
                event["data"] = set_at(data, tokens(step["at"]), json.loads(value))
        elif op == "wrap":
            event["data"] = {step["key"]: data}
        elif op == "unwrap":
            value = get(data, step["at"])
            if isinstance(value, dict):
                event["data"] = value
        elif op == "split":
            parts = []
            for index, part in enumerate(step["parts"]):
                new = {}
                for to, source in sorted(part["copy"].items()):
                    value = get(data, source)
                    if value is not ABSENT:
                        result = set_at(new, tokens(to), value)
                        if result is not FAIL:
                            new = result
                parts.append({**event, "id": split_id(event["id"], index), "type": part["type"], "data": new})
            return parts
        elif op == "drop":
            return []
        else:
            raise SystemExit(f"unknown op {op}")
    return [event]


def upcast(rules, event):
    key = rules["version_key"]
    if not any(matches(r, event, key) for r in rules["rules"]):
        return None
    output, pending = [], [(event, 0)]
    while pending:
        current, applications = pending.pop()
        rule = next((r for r in rules["rules"] if matches(r, current, key)), None)
        if rule is None:
            output.append(current)
            continue
        if applications >= MAX_APPLICATIONS:
            raise SystemExit(f"rule {rule['name']} loops")
        pending.extend((e, applications + 1) for e in reversed(apply_rule(rule, current, key)))
    return output


def main():
    if sys.argv[1] == "--hash":
        with open(sys.argv[2], encoding="utf-8") as f:
            print(hashlib.sha256(dumps(json.load(f)).encode()).hexdigest())
        return
    with open(sys.argv[1], encoding="utf-8") as f:
        rules = json.load(f)
    out = sys.stdout
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        event = json.loads(line)
        event.setdefault("metadata", {})
        results = upcast(rules, event)
        if results is None:
            out.write(line + "\n")
            continue
        for result in results:
            out.write("{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps(v) for k, v in result.items()) + "}\n")


if __name__ == "__main__":
    main()
