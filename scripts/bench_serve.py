#!/usr/bin/env python3
"""Append throughput through `archiver serve` (HTTP) next to direct library appends, in the same run.

Both sides append one event per transaction to SQLite (synchronous=full) from the same number of concurrent
clients: HTTP clients are Python processes on keep-alive connections, each appending to its own stream with
exact Expected-Version headers; direct clients are `archiver append --batch-size 1` processes (the library's
append call, no HTTP). A second table counts the server's fsync/fdatasync calls per acknowledged append
(group commit) with `strace -f -c` attached to it, and sets appends/s with synchronous=full next to
`--sqlite-synchronous normal` (no fsync per commit), runs of the two interleaved, without strace.
Writes docs/BENCHMARKS-serve.md.
Usage: scripts/bench_serve.py PATH/TO/archiver [--clients 32] [--seconds 10] [--rounds 3] [--only-fsync]
(`make bench-serve`)
"""
import argparse
import datetime
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import signal
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def http_client(args):
    host, port, client, seconds = args
    connection = http.client.HTTPConnection(host, port, timeout=60)
    latencies, errors, version = [], 0, 0
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        body = json.dumps({"type": "Deposited", "data": {"client": client, "i": i, "amount": 10}})
        started = time.perf_counter()
        connection.request("POST", f"/streams/bench-{client}/events", body,
                           {"Content-Type": "application/json", "Expected-Version": str(version)})
        response = connection.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - started)
        if response.status == 201:
            version = json.loads(payload)["last_version"]
        else:
            errors += 1
        i += 1
    return latencies, errors


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))] if sorted_values else 0


def start_server(archiver, work, name, synchronous="full"):
    """`archiver serve` on a free loopback port with the flush schedule off (appends only); (process, host, port)."""
    server = subprocess.Popen(
        [archiver, "serve", "--port", "0", "--flush-interval", "0", "--store", f"sqlite:{name}.db",
         "--sqlite-synchronous", synchronous, "--archive", f"{name}-archive"],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline()
    assert line.startswith("listening on http://"), line
    host, port = line.strip().removeprefix("listening on http://").rsplit(":", 1)
    return server, host, int(port)


def http_load(host, port, clients, seconds):
    """`clients` keep-alive HTTP client processes for `seconds`: (sorted latencies, errors, elapsed seconds)."""
    started = time.perf_counter()
    with multiprocessing.Pool(clients) as pool:
        results = pool.map(http_client, [(host, port, c, seconds) for c in range(clients)])
    elapsed = time.perf_counter() - started
    return sorted(l for r in results for l in r[0]), sum(r[1] for r in results), elapsed


def stop(server):
    server.terminate()
    server.wait(timeout=60)


def strace_counts(path):
    """Calls per syscall from a `strace -c` summary file."""
    counts = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[-1] in ("fsync", "fdatasync") and fields[3].isdigit():
                counts[fields[-1]] = int(fields[3])
    return counts


def fsync_rows(archiver, work, clients, seconds, rounds):
    """Markdown lines: fsync/fdatasync calls per acknowledged append (strace attached to the server), and
    appends/s with synchronous=full next to normal, runs interleaved (median of `rounds`, no strace)."""
    server, host, port = start_server(archiver, work, "fsync-count")
    trace = os.path.join(work, "strace.txt")
    tracer = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-p", str(server.pid),
                               "-o", trace], stderr=subprocess.DEVNULL)
    time.sleep(1)  # strace attaches to every thread before the load starts
    latencies, errors, elapsed = http_load(host, port, clients, seconds)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=60)
    stop(server)
    counts = strace_counts(trace)
    acknowledged = len(latencies) - errors
    syncs = counts.get("fsync", 0) + counts.get("fdatasync", 0)
    per_append = syncs / acknowledged if acknowledged else float("inf")

    rates = {"full": [], "normal": []}
    for r in range(rounds):
        for mode in ("full", "normal"):
            server, host, port = start_server(archiver, work, f"fsync-{mode}-{r}", mode)
            lat, err, secs = http_load(host, port, clients, seconds)
            stop(server)
            rates[mode].append((len(lat) - err) / secs)
    full, normal = statistics.median(rates["full"]), statistics.median(rates["normal"])
    ratio = full / normal if normal else 0
    print(f"fsync: {syncs} calls ({counts}) for {acknowledged} appends = {per_append:.3f} per append; "
          f"full {rates['full']} normal {rates['normal']} -> {ratio:.2f}x", flush=True)
    return [
        "## Group commit: fsyncs per acknowledged append",
        "",
        f"{clients} keep-alive HTTP clients (Python processes, one per client, the load generator) each append one "
        "event per request to its own stream, SQLite with synchronous=full, default group commit "
        "(`--append-group-max 32`, `--append-group-wait 0`). The fsync and fdatasync calls are counted on the "
        f"server with `strace -f -c -e trace=fsync,fdatasync -p PID` over a {seconds:g} s run; the appends/s rows "
        f"are separate runs without strace (ptrace slows every syscall), full and normal interleaved, median of "
        f"{rounds}.",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| fsync + fdatasync calls per acknowledged append (strace attached) | **{per_append:.3f}** "
        f"({syncs:,} calls: {counts.get('fsync', 0):,} fsync, {counts.get('fdatasync', 0):,} fdatasync; "
        f"{acknowledged:,} appends, {errors} errors, {acknowledged / elapsed:,.0f}/s under strace) | ≤ 0.2 |",
        f"| appends/s, synchronous=full | {full:,.0f} (runs: {', '.join(f'{x:,.0f}' for x in rates['full'])}) | |",
        f"| appends/s, `--sqlite-synchronous normal` | {normal:,.0f} "
        f"(runs: {', '.join(f'{x:,.0f}' for x in rates['normal'])}) | |",
        f"| full / normal | **{ratio:.2f}×** | ≥ 0.9× |",
        "",
        "The clients share the server's 2 cores, so their CPU time is part of every figure; on this machine an "
        "fsync costs about 0.05 ms, so on slower disks the full / normal ratio depends more on the fsyncs per "
        "append than it does here.",
        "",
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("archiver")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rounds", type=int, default=3, help="runs of each mode for the full / normal appends/s rows")
    p.add_argument("--only-fsync", action="store_true", help="run only the group-commit rows (a quick check)")
    p.add_argument("--work", default=os.path.join(ROOT, "bench-work", "serve"))
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "BENCHMARKS-serve.md"))
    args = p.parse_args()
    archiver = os.path.abspath(args.archiver)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)

    fsync_lines = fsync_rows(archiver, args.work, args.clients, args.seconds, args.rounds)
    if args.only_fsync:
        print("\n".join(fsync_lines))
        return

    # HTTP: archiver serve, the schedule off (appends only).
    server, host, port = start_server(archiver, args.work, "http")
    latencies, errors, http_seconds = http_load(host, port, args.clients, args.seconds)
    stop(server)
    http_rate = len(latencies) / http_seconds

    # Direct: the same number of concurrent `archiver append --batch-size 1` processes, one event per
    # transaction, as many events in all as the HTTP side appended.
    per_client = max(1, len(latencies) // args.clients)
    subprocess.run([archiver, "init", "--store", "sqlite:direct.db"], cwd=args.work, check=True,
                   stdout=subprocess.DEVNULL)
    for c in range(args.clients):
        with open(os.path.join(args.work, f"direct-{c}.jsonl"), "w") as f:
            for i in range(per_client):
                f.write(json.dumps({"stream": f"bench-{c}", "type": "Deposited",
                                    "data": {"client": c, "i": i, "amount": 10}}) + "\n")
    started = time.perf_counter()
    processes = [subprocess.Popen([archiver, "append", "--batch-size", "1", "--store", "sqlite:direct.db"],
                                  cwd=args.work, stdin=open(os.path.join(args.work, f"direct-{c}.jsonl")),
                                  stdout=subprocess.DEVNULL) for c in range(args.clients)]
    assert all(p.wait() == 0 for p in processes)
    direct_seconds = time.perf_counter() - started
    direct_rate = per_client * args.clients / direct_seconds

    ratio = http_rate / direct_rate if direct_rate else 0
    text = "\n".join([
        "# Sidecar benchmark: appends through HTTP next to direct library appends",
        "",
        f"Generated by `scripts/bench_serve.py` on {datetime.date.today()} ({platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.system()}); release build; SQLite with synchronous=full "
        "(an fsync per commit); one event per transaction on both sides; "
        f"{args.clients} concurrent clients, each on its own stream.",
        "",
        "| path | appends | seconds | appends/s | p50 | p99 | errors |",
        "|---|---|---|---|---|---|---|",
        f"| HTTP `POST /streams/{{s}}/events` with Expected-Version, {args.clients} keep-alive clients | "
        f"{len(latencies):,} | {http_seconds:.1f} | {http_rate:,.0f} | {percentile(latencies, 0.5) * 1e3:.2f} ms | "
        f"{percentile(latencies, 0.99) * 1e3:.2f} ms | {errors} |",
        f"| direct: {args.clients} `archiver append --batch-size 1` processes (library append) | "
        f"{per_client * args.clients:,} | {direct_seconds:.1f} | {direct_rate:,.0f} | – | – | 0 |",
        "",
        f"HTTP / direct = **{ratio:.2f}×** (goal ≥ 0.5×). The HTTP clients are Python processes on the same "
        "2 cores as the server, so their own CPU time is part of the HTTP figure.",
        "",
    ] + fsync_lines)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
