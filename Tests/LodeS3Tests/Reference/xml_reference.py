"""Reference XML for XMLTests: generates ListObjectsV2 answers with hostile keys and parses them with
xml.etree (expat), which is independent of the libxml2 parser under Foundation's XMLParser.

stdin: {"seed": int, "count": int}
stdout: a JSON list of {"xml_hex", "ok", "keys", "prefixes", "truncated", "token"}, where ok/keys/... are what
xml.etree (plus URL-decoding when EncodingType is url) reads from the document. Some documents are written
with numeric character references, CDATA sections or entity references instead of plain text, and some are
truncated.
"""
import json
import random
import sys
import urllib.parse
import xml.etree.ElementTree as ET

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
ALPHABET = list("abcXYZ019-_.~/ +%=&?#!*()':@,;$") + ["<", ">", "&", '"', "é", "ሴ", "中", "😀", "]]>", "&amp;"]


def random_key(rng):
    n = rng.choice([rng.randint(1, 20), rng.randint(100, 300)])
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def text_form(rng, value):
    """The value as XML text: escaped, as numeric character references, or as CDATA."""
    style = rng.randrange(4)
    if style == 1:
        return "".join("&#x%x;" % ord(c) if rng.random() < 0.5 else escape(c) for c in value)
    if style == 2:
        return "".join("&#%d;" % ord(c) for c in value)
    if style == 3 and "]]>" not in value:
        return "<![CDATA[" + value + "]]>"
    return escape(value)


def escape(value):
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def document(rng):
    url = rng.random() < 0.5
    keys = [random_key(rng) for _ in range(rng.randint(0, 6))]
    prefixes = [random_key(rng) + "/" for _ in range(rng.randint(0, 2))]
    truncated = rng.random() < 0.5
    token = "".join(rng.choice("ABCxyz019+/=") for _ in range(rng.randint(4, 40)))

    def enc(value):
        if not url:
            return value
        return urllib.parse.quote_plus(value, safe="/") if rng.random() < 0.5 else urllib.parse.quote(value)

    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="%s">' % NS]
    parts.append("<Name>bucket</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys>")
    if url:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append("<IsTruncated>%s</IsTruncated>" % ("true" if truncated else "false"))
    for key in keys:
        parts.append(
            "<Contents><Key>%s</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified>"
            '<ETag>&quot;abc&quot;</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>'
            % (text_form(rng, enc(key)), rng.randint(0, 10**12))
        )
    for prefix in prefixes:
        parts.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>" % text_form(rng, enc(prefix)))
    if truncated:
        parts.append("<NextContinuationToken>%s</NextContinuationToken>" % text_form(rng, token))
    parts.append("<KeyCount>%d</KeyCount></ListBucketResult>" % len(keys))
    data = "".join(parts).encode("utf-8")
    if rng.random() < 0.25:
        data = data[: rng.randrange(1, len(data))]
    return data


def parse(data):
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return {"ok": False}
    q = "{%s}" % NS
    url = (root.findtext(q + "EncodingType") or "") == "url"

    def dec(value):
        return urllib.parse.unquote_plus(value) if url else value

    return {
        "ok": True,
        "keys": [dec(c.findtext(q + "Key") or "") for c in root.findall(q + "Contents")],
        "prefixes": [dec(c.findtext(q + "Prefix") or "") for c in root.findall(q + "CommonPrefixes")],
        "truncated": (root.findtext(q + "IsTruncated") or "") == "true",
        "token": root.findtext(q + "NextContinuationToken"),
    }


def main():
    request = json.load(sys.stdin)
    rng = random.Random(request["seed"])
    out = []
    for _ in range(request["count"]):
        data = document(rng)
        result = parse(data)
        result["xml_hex"] = data.hex()
        out.append(result)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
