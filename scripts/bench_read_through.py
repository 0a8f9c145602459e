#!/usr/bin/env python3
"""Read-through rows: archived history served by `archiver serve` (issue 21).

- catch-up of every event through `GET /events?after=N` paging (10 000 a page, the most the API allows) from a fully
  pruned store (every page read from the archive) next to the same catch-up from the unpruned SQLite store;
- one cold stream of ~100 events through `GET /streams/{s}`: p50/p99 latency on a fresh server (cold cache) and
  on a server that has read it before (warm cache), directory archive;
- the server's peak RSS (VmHWM) during each row.

`bench.py` calls `read_through_rows`. A quick check of this module alone, on a small corpus it generates:
    scripts/bench_read_through.py PATH/TO/archiver --events 50000
"""
import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import time


class Server:
    """`archiver serve` on a free loopback port over one store and archive, the flush schedule off."""

    def __init__(self, archiver, work, store, archive):
        self.process = subprocess.Popen(
            [archiver, "serve", "--port", "0", "--flush-interval", "0", "--store", f"sqlite:{store}",
             "--archive", archive], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on http://"):
            self.process.kill()
            sys.exit(f"bench: archiver serve did not start: {line!r}")
        host, port = line.strip().removeprefix("listening on http://").rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)

    def get(self, path):
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            self.stop()
            sys.exit(f"bench: GET {path} answered {response.status}: {body[:300]!r}")
        return response, body

    def peak_rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        """Stops the server; returns its peak RSS in MB, read before it exits."""
        peak = self.peak_rss_mb()
        self.connection.close()
        self.process.terminate()
        self.process.wait(timeout=60)
        return peak


def catch_up(archiver, work, store, archive, events):
    """Pages `GET /events` from 0 to the end on a fresh server; returns (seconds, peak RSS MB, tiers of the pages
    that held events)."""
    server = Server(archiver, work, store, archive)
    after, count, tiers = 0, 0, set()
    started = time.perf_counter()
    while True:
        response, body = server.get(f"/events?after={after}&limit=10000")
        page = json.loads(body)
        if not page["events"]:
            break
        tiers.add(response.getheader("Archiver-Tier", "none"))
        count += len(page["events"])
        after = page["last_position"]
    seconds = time.perf_counter() - started
    peak = server.stop()
    if count != events:
        sys.exit(f"bench: the catch-up from {store} read {count} events, expected {events}")
    return seconds, peak, tiers


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def streams_of_about(corpus, size, n):
    """The n streams of the corpus whose event counts are nearest to `size`, with their counts."""
    counts = {}
    with open(corpus) as f:
        for line in f:
            stream = json.loads(line)["stream"]
            counts[stream] = counts.get(stream, 0) + 1
    nearest = sorted(counts.items(), key=lambda item: (abs(item[1] - size), item[0]))[:n]
    return nearest


def stream_reads(archiver, work, store, archive, streams, warm_rounds):
    """Cold: the first read of a stream on a fresh server, one server per stream. Warm: `warm_rounds` passes over
    the same streams on the last server. Returns (cold seconds, warm seconds, peak RSS MB)."""
    cold, warm, peak = [], [], 0.0
    for i, (stream, count) in enumerate(streams):
        server = Server(archiver, work, store, archive)
        started = time.perf_counter()
        _, body = server.get(f"/streams/{stream}?limit=1000")
        cold.append(time.perf_counter() - started)
        if len(json.loads(body)["events"]) != count:
            sys.exit(f"bench: {stream} read {len(json.loads(body)['events'])} events, expected {count}")
        if i < len(streams) - 1:
            peak = max(peak, server.stop())
    for stream, _ in streams:
        server.get(f"/streams/{stream}?limit=1000")
    for _ in range(warm_rounds):
        for stream, _ in random.Random(5).sample(streams, len(streams)):
            started = time.perf_counter()
            server.get(f"/streams/{stream}?limit=1000")
            warm.append(time.perf_counter() - started)
    return cold, warm, max(peak, server.stop())


def prepare(archiver, work, corpus):
    """A store flushed into `rt-archive` (not timed): `rt-hot.db` keeps every event, `rt-pruned.db` is pruned."""
    shutil.rmtree(os.path.join(work, "rt-archive"), ignore_errors=True)
    for name in ["rt-hot.db", "rt-pruned.db"]:
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(os.path.join(work, name + suffix)):
                os.remove(os.path.join(work, name + suffix))

    def cli(args, stdin=None):
        subprocess.run(f"{archiver} {args}", shell=True, cwd=work, stdin=stdin, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli("init --store sqlite:rt-hot.db")
    with open(corpus) as f:
        cli("append --batch-size 1000 --store sqlite:rt-hot.db", stdin=f)
    cli("flush --store sqlite:rt-hot.db --archive rt-archive --compression zstd:1 --quiet")
    subprocess.run(["sqlite3", os.path.join(work, "rt-hot.db"), "PRAGMA wal_checkpoint(TRUNCATE);"], check=True,
                   capture_output=True)
    shutil.copyfile(os.path.join(work, "rt-hot.db"), os.path.join(work, "rt-pruned.db"))
    cli("prune --store sqlite:rt-pruned.db --archive rt-archive --before latest --without-drill")


def read_through_rows(archiver, work, args, row):
    """The read-through rows over the bench corpus (`events.jsonl` in `work`, args.events events)."""
    events = min(args.events, getattr(args, "read_through_events", args.events) or args.events)
    corpus = os.path.join(work, "events.jsonl")
    if events < args.events:
        # A smaller corpus of the same shape (about as many events per stream), to keep the run short: the first
        # cold read of the one large pruned snapshot checks and indexes it whole, later pages decode from the
        # frame that holds their first event.
        from bench import generate
        corpus = os.path.join(work, "rt-events.jsonl")
        generate(corpus, events, max(1, round(args.streams * events / args.events)))
    print(f"bench: read-through rows over {events:,} events", flush=True)
    prepare(archiver, work, corpus)

    # Catch-up: pruned (archive) and unpruned (store) alternate, median of 3 each.
    pruned, hot = [], []
    for _ in range(3):
        pruned.append(catch_up(archiver, work, "rt-pruned.db", "rt-archive", events))
        hot.append(catch_up(archiver, work, "rt-hot.db", "rt-archive", events))
    if pruned[0][2] != {"archive"} or hot[0][2] != {"store"}:
        sys.exit(f"bench: unexpected tiers: pruned {pruned[0][2]}, unpruned {hot[0][2]}")
    ours, ref = (sorted(runs, key=lambda r: r[0])[1] for runs in (pruned, hot))
    # bench.py's table has no note column: the figures that are not rates go into the row's name.
    row(f"catch-up of {events:,} events through GET /events paging (10 000 a page): fully pruned store (archive) vs "
        "unpruned SQLite store "
        f"(server peak RSS {max(r[1] for r in pruned):.0f} MB pruned, {max(r[1] for r in hot):.0f} MB unpruned)",
        (ours[0], ours[1], ""), (ref[0], ref[1], ""), events, "events", 1.0)

    # One cold stream of ~100 events on a directory archive, from the fully pruned store.
    streams = streams_of_about(corpus, 100, 20)
    cold, warm, peak = stream_reads(archiver, work, "rt-pruned.db", "rt-archive", streams, 10)
    ms = lambda v: f"{v * 1e3:.1f} ms"
    row(f"one cold stream (~100 events) of a {events:,}-event archive through GET /streams/{{s}}, directory archive: "
        "warm cache vs cold cache (fresh "
        "server): "
        f"p50/p99 warm {ms(percentile(warm, 0.5))}/{ms(percentile(warm, 0.99))} (goal p99 ≤ 20 ms), cold "
        f"{ms(percentile(cold, 0.5))}/{ms(percentile(cold, 0.99))} (goal p99 ≤ 100 ms) over {len(cold)} cold and "
        f"{len(warm)} warm reads of streams of {min(c for _, c in streams)}–{max(c for _, c in streams)} events; "
        f"server peak RSS {peak:.0f} MB", (percentile(warm, 0.5), peak, ""), (percentile(cold, 0.5), peak, ""), 1,
        "reads")


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench
    p = argparse.ArgumentParser(description="the read-through rows alone, on a corpus of their own")
    p.add_argument("archiver")
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--streams", type=int, default=10_000)
    p.add_argument("--work", default=os.path.join(bench.ROOT, "bench-work", "read-through"))
    args = p.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    bench.generate(os.path.join(args.work, "events.jsonl"), args.events, args.streams)

    def row(name, ours, ref, unit_count, unit, goal=None, note=""):
        o_rate, r_rate = unit_count / ours[0], unit_count / ref[0]
        print(f"{name}: {o_rate:,.0f} vs {r_rate:,.0f} {unit}/s = {o_rate / r_rate:.2f}x"
              + (f" (goal ≥ {goal}x)" if goal else "") + (f"; {note}" if note else ""), flush=True)
    read_through_rows(os.path.abspath(args.archiver), args.work, args, row)


if __name__ == "__main__":
    main()
