#!/usr/bin/env python3
"""RFC 7386 JSON merge patch reference for the built-in fold, on generated hostile documents.

Usage: merge_patch_reference.py SEED EVENTS STREAMS

Prints JSON lines: first {"stream":S,"raw":TEXT} per event, TEXT being the event's data exactly as generated
(whitespace, escapes, duplicate keys, numbers in every JSON form); then {"stream":S,"expected":TEXT} per
stream, TEXT being the fold's state as the reference computes it: RFC 7386 section 2's MergePatch over
documents parsed with the last of duplicate keys winning, serialized compact with keys sorted by UTF-8 bytes,
strings escaped only where JSON requires it, numbers as written.
"""
import json
import random
import sys


class Number:
    """A JSON number kept as its literal text (the fold never reformats a number)."""

    def __init__(self, text):
        self.text = text


def parse(text):
    return json.loads(text, parse_int=Number, parse_float=Number, object_pairs_hook=dict)


def merge_patch(target, patch):
    """RFC 7386, section 2, line for line."""
    if isinstance(patch, dict):
        if not isinstance(target, dict):
            target = {}
        target = dict(target)
        for name, value in patch.items():
            if value is None:
                target.pop(name, None)
            else:
                target[name] = merge_patch(target.get(name), value)
        return target
    return patch


SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def quote(text):
    out = []
    for c in text:
        if c in SHORT:
            out.append(SHORT[c])
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def dump(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Number):
        return value.text
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    keys = sorted(value, key=lambda k: k.encode("utf-8"))
    return "{" + ",".join(quote(k) + ":" + dump(value[k]) for k in keys) + "}"


NUMBERS = ["0", "-0", "1", "-1", "42", "1.5", "-0.0", "1e5", "1E5", "1e+5", "1E-5", "-2.5e-3", "0.000001",
           "123456789012345678901234567890", "-9223372036854775808", "9223372036854775807", "1.0", "3.14159265358979",
           "1e308", "2E-308", "10.50"]
KEYS = ["a", "b", "c", "id", "name", "items", "x", "é", "日本", "a b", "", "\"q\"", "line\nbreak", "z", "A", "aa"]
TEXTS = ["plain", "", "caf\u00e9", "日本語", "emoji \U0001F600", 'say "hi"', "back\\slash", "tab\there", "nl\nx",
         "ctl\u0001\u001f", "slash/", "\u2028sep"]


def space(rng):
    return rng.choice(["", "", "", " ", "\n", "\t ", "\r\n  "])


def string_literal(rng, text):
    """A JSON literal for `text`, with escapes chosen at random (all decode back to `text`)."""
    out = []
    for c in text:
        pick = rng.random()
        if c in SHORT or ord(c) < 0x20:
            out.append("\\u%04X" % ord(c) if pick < 0.3 else SHORT.get(c, "\\u%04x" % ord(c)))
        elif c == "/" and pick < 0.5:
            out.append("\\/")
        elif pick < 0.15:
            code = ord(c)
            if code > 0xFFFF:
                code -= 0x10000
                out.append("\\u%04x\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append(("\\u%04x" if pick < 0.07 else "\\u%04X") % code)
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def value_text(rng, depth, in_patch):
    kinds = ["num", "str", "true", "false", "null", "arr", "obj", "obj"] if depth < 6 else ["num", "str", "null"]
    kind = rng.choice(kinds)
    if kind == "num":
        return rng.choice(NUMBERS)
    if kind == "str":
        return string_literal(rng, rng.choice(TEXTS))
    if kind in ("true", "false", "null"):
        return kind
    if kind == "arr":
        items = [value_text(rng, depth + 1, False) for _ in range(rng.randrange(4))]
        return "[" + space(rng) + ("," + space(rng)).join(items) + space(rng) + "]"
    return object_text(rng, depth + 1, in_patch)


def object_text(rng, depth, in_patch):
    members = []
    for _ in range(rng.randrange(6)):
        key = rng.choice(KEYS[:6] if rng.random() < 0.6 else KEYS)
        members.append(space(rng) + string_literal(rng, key) + space(rng) + ":" + space(rng)
                       + value_text(rng, depth, in_patch) + space(rng))
        if rng.random() < 0.1:  # a duplicate key: the last one wins
            members.append(string_literal(rng, key) + ":" + value_text(rng, depth, in_patch))
    return "{" + ",".join(members) + "}"


def deep(rng, levels):
    text = value_text(rng, 6, True)
    for _ in range(levels):
        text = "{" + string_literal(rng, rng.choice(KEYS[:3])) + ":" + text + "}"
    return text


def event_text(rng):
    pick = rng.random()
    if pick < 0.03:
        return value_text(rng, 5, True)  # a patch that is not an object replaces the state
    if pick < 0.06:
        return deep(rng, rng.randrange(20, 120))
    return space(rng) + object_text(rng, 0, True) + space(rng)


def main():
    seed, events, streams = (int(a) for a in sys.argv[1:4])
    rng = random.Random(seed)
    state = {}
    order = []
    for _ in range(events):
        stream = "s-%d" % rng.randrange(streams)
        text = event_text(rng)
        if stream not in state:
            order.append(stream)
        state[stream] = merge_patch(state.get(stream), parse(text))
        print(json.dumps({"stream": stream, "raw": text}))
    for stream in order:
        print(json.dumps({"stream": stream, "expected": dump(state[stream])}, ensure_ascii=False))


if __name__ == "__main__":
    main()
