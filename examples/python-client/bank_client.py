#!/usr/bin/env python3
"""A bank-account app on the archiver sidecar, with nothing but Python's standard library.

It shows what an app in any language does against `archiver serve`:
  * opens accounts with Expected-Version: no-stream (a second open is a 409 conflict),
  * deposits and withdraws with the version it last read (optimistic concurrency); on 409 it re-reads the
    stream, re-checks the business rule and retries,
  * sends an Idempotency-Key with every command, so a retry after a lost response is answered with the
    original result instead of appending twice,
  * follows all events in global order by long-polling GET /events?after=…&wait=… (a read model).

Usage: bank_client.py --url http://127.0.0.1:8080 [--token TOKEN] [--accounts 3] [--workers 4]
Prints one JSON summary line at the end.
"""
import argparse
import json
import threading
import urllib.error
import urllib.request
import uuid


class Conflict(Exception):
    def __init__(self, actual_version):
        super().__init__(f"wrong expected version; the stream is at {actual_version}")
        self.actual_version = actual_version


class Pruned(Exception):
    """The requested events were archived and pruned from the hot store (HTTP 410)."""


class ArchiverClient:
    def __init__(self, url, token=None, timeout=60):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            payload = json.loads(error.read() or b"null")
            return error.code, dict(error.headers), payload

    def append(self, stream, events, expected="any", idempotency_key=None):
        """Appends events; returns (result, replayed). Raises Conflict on 409."""
        headers = {"Expected-Version": str(expected)}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        status, response_headers, body = self._request("POST", f"/streams/{stream}/events", events, headers)
        if status == 409:
            raise Conflict(body["actual_version"])
        if status != 201:
            raise RuntimeError(f"append to {stream} failed: {status} {body}")
        replayed = {k.lower(): v for k, v in response_headers.items()}.get("idempotent-replayed") == "true"
        return body, replayed

    def read_stream(self, stream):
        """All events of a stream and its version (0 when it does not exist)."""
        events, version, start = [], 0, 1
        while True:
            status, _, body = self._request("GET", f"/streams/{stream}?from={start}&limit=1000")
            if status == 404:
                return [], 0
            if status != 200:
                raise RuntimeError(f"read {stream} failed: {status} {body}")
            events += body["events"]
            version = body["version"]
            if not body["events"]:
                return events, version
            start = body["next_version"]

    def poll(self, after, wait=5, limit=1000):
        """Events after a global position, waiting up to `wait` seconds for the first (long-poll).

        Raises Pruned on 410: events below the hot store's start were archived and pruned; a read model that
        needs them replays the archive first (`archiver replay`) and polls from where that replay ended."""
        status, _, body = self._request("GET", f"/events?after={after}&limit={limit}&wait={wait}")
        if status == 410:
            raise Pruned(body["message"])
        if status != 200:
            raise RuntimeError(f"poll failed: {status} {body}")
        return body["events"], body["last_position"]


def balance(events):
    return sum(e["data"]["amount"] for e in events if e["type"] in ("Deposited", "Withdrawn"))


def append_with_retries(client, stream, events, expected, key, attempts=3):
    """Sends the same append (same idempotency key) again when the response was lost, so a network error
    never turns into a double append."""
    for attempt in range(attempts):
        try:
            return client.append(stream, events, expected=expected, idempotency_key=key)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if attempt == attempts - 1:
                raise


def command(client, stream, make_event, stats):
    """Reads the stream, decides, appends with the version read; on a conflict re-reads and decides again
    (a new decision gets a new idempotency key)."""
    while True:
        events, version = client.read_stream(stream)
        event = make_event(balance(events))
        if event is None:
            return None
        try:
            result, _ = append_with_retries(client, stream, [event], version, str(uuid.uuid4()))
            return result
        except Conflict:
            with stats["lock"]:
                stats["conflicts_retried"] += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--operations", type=int, default=10, help="deposits/withdrawals per worker and account")
    args = parser.parse_args()
    client = ArchiverClient(args.url, args.token)
    run = uuid.uuid4().hex[:8]
    accounts = [f"account-{run}-{i}" for i in range(args.accounts)]
    stats = {"lock": threading.Lock(), "conflicts_retried": 0}

    # Open each account exactly once: a second open is refused with 409. The read model below follows the
    # global order from just before the first open: older events may have been pruned from the hot store.
    start = None
    for stream in accounts:
        opened, _ = client.append(stream, [{"type": "Opened", "data": {"amount": 0, "owner": stream}}],
                                  expected="no-stream")
        start = opened["first_position"] - 1 if start is None else start
        try:
            client.append(stream, [{"type": "Opened", "data": {"amount": 0}}], expected="no-stream")
            raise SystemExit("a second open was accepted")
        except Conflict as conflict:
            assert conflict.actual_version == 1

    # An idempotent retry: the same key and body return the original result, marked replayed.
    key = f"bonus-{run}"
    bonus = [{"type": "Deposited", "data": {"amount": 100, "reason": "welcome"}}]
    first, replayed_first = client.append(accounts[0], bonus, expected="any", idempotency_key=key)
    again, replayed_again = client.append(accounts[0], bonus, expected="any", idempotency_key=key)
    assert first == again and not replayed_first and replayed_again

    # Concurrent workers deposit and withdraw with expected versions; conflicts are re-read and retried.
    def worker(n):
        for i in range(args.operations):
            for stream in accounts:
                if (i + n) % 3 == 2:
                    command(client, stream, lambda b: {"type": "Withdrawn", "data": {"amount": -5}} if b >= 5 else None,
                            stats)
                else:
                    command(client, stream, lambda b: {"type": "Deposited", "data": {"amount": 10}}, stats)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # A read model fed by long-polling the global order: balances per account.
    expected_total = sum(client.read_stream(s)[1] for s in accounts)
    seen, position, balances, polls = 0, start, {}, 0
    while seen < expected_total:
        polls += 1
        if polls > 1000:
            raise SystemExit(f"the subscription saw {seen} of {expected_total} events")
        try:
            events, position = client.poll(position, wait=5)
        except Pruned as pruned:
            raise SystemExit(f"bank_client: {pruned}")
        for e in events:
            if e["stream"] in accounts:
                seen += 1
                balances[e["stream"]] = balances.get(e["stream"], 0) + e["data"]["amount"]
    for stream in accounts:
        assert balances[stream] == balance(client.read_stream(stream)[0]) and balances[stream] >= 0

    print(json.dumps({
        "accounts": len(accounts), "events": expected_total, "conflicts_retried": stats["conflicts_retried"],
        "idempotent_replay": replayed_again, "balances": [balances[s] for s in accounts],
        "streams": accounts,
    }))


if __name__ == "__main__":
    main()
