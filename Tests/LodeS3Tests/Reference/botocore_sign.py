"""Signs S3 requests with botocore's S3SigV4Auth: the reference for SigV4BotocoreTests.

stdin: a JSON list of cases
  {method, endpoint ("http://host:port"), bucket, key (or null), path_style, params [[k, v]], headers [[k, v]],
   body_hex, timestamp ("YYYYmmddTHHMMSSZ"), access_key, secret_key, token (or null), region}
stdout: a JSON list of {url, authorization, canonical_request}
The key is percent-encoded the way botocore's serializer encodes S3's greedy {Key+} label (safe '/~').
"""
import datetime
import json
import sys

import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode


def sign(case):
    timestamp = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda: timestamp
    scheme, host = case["endpoint"].split("://", 1)
    key = case.get("key")
    if case["path_style"]:
        path = "/" + case["bucket"] + ("/" + percent_encode(key, safe="/~") if key is not None else "")
    else:
        host = case["bucket"] + "." + host
        path = "/" + (percent_encode(key, safe="/~") if key is not None else "")
    request = AWSRequest(
        method=case["method"],
        url=scheme + "://" + host + path,
        headers=dict(case["headers"]),
        data=bytes.fromhex(case["body_hex"]),
        params=[tuple(p) for p in case["params"]],
    )
    credentials = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    auth = S3SigV4Auth(credentials, "s3", case["region"])
    captured = {}
    original = auth.canonical_request

    def recording(req):
        captured["canonical"] = original(req)
        return captured["canonical"]

    auth.canonical_request = recording
    auth.add_auth(request)
    canonical = captured["canonical"]
    prepared = request.prepare()
    return {
        "url": prepared.url,
        "authorization": request.headers["Authorization"],
        "canonical_request": canonical,
    }


def main():
    cases = json.load(sys.stdin)
    json.dump([sign(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
