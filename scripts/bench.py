#!/usr/bin/env python3
"""End-to-end benchmarks of archiver next to reference tools, measured in the same run.

Writes docs/BENCHMARKS.md. Usage: scripts/bench.py PATH/TO/archiver [--events N] [--streams N]
(`make bench` builds the release binary and runs this with 1M events over 10k streams.)
"""
import argparse
import datetime
import glob
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time

from bench_flush import postgres_flush, sqlite_flush
from bench_format import flush_before, flush_twin, format_section, measure as format_measure
from bench_read_through import read_through_rows

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, cwd, stdin=None, env=None):
    """Runs a shell command under /usr/bin/time; returns (seconds, peak RSS in MB, stdout)."""
    full = f"/usr/bin/time -f '%e %M' -o .time {cmd}"
    started = time.perf_counter()
    result = subprocess.run(full, shell=True, cwd=cwd, stdin=stdin, capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"bench: `{cmd}` failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    with open(os.path.join(cwd, ".time")) as f:
        _, rss_kb = f.read().split()[-2:]
    return wall, int(rss_kb) / 1024, result.stdout


def best(n, fn):
    """Median of n runs of fn() -> (seconds, rss, out)."""
    runs = sorted((fn() for _ in range(n)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def paired(n, ours, ref):
    """Medians of n runs of each, alternating ours and ref, each after a `sync` (not timed): a run must not
    pay for the write-back of the files the run before it wrote (the references write without fsync)."""
    a, b = [], []
    for _ in range(n):
        for fn, out in ((ours, a), (ref, b)):
            subprocess.run("sync", shell=True, check=True)
            out.append(fn())
    return tuple(sorted(r, key=lambda x: x[0])[len(r) // 2] for r in (a, b))


def generate(path, events, streams, seed=7):
    rng = random.Random(seed)
    kinds = ["MoneyDeposited", "MoneyWithdrawn", "FeeCharged", "InterestPaid"]
    with open(path, "w") as f:
        for i in range(events):
            s = rng.randrange(streams)
            amount = rng.randrange(1, 100_000) / 100
            data = {"amount": amount, "currency": "EUR", "reference": f"{rng.getrandbits(64):016x}",
                    "memo": "payment for invoice " + str(rng.randrange(10**9)), "channel": rng.choice(["web", "app", "branch"]),
                    "account": f"account-{s}", "seq": i}
            meta = {"correlation_id": f"{rng.getrandbits(128):032x}", "actor": "bench"}
            f.write(json.dumps({"stream": f"account-{s}", "type": rng.choice(kinds), "data": data, "metadata": meta},
                               separators=(",", ":")) + "\n")


RAW_MARK = "\u0000raw:"
CITIES = ["Zürich", "São Paulo", "東京", "Kraków", "Reykjavík", "Montréal", "Berlin", "Αθήνα"]
TITLES = ["Desk lamp", "Café crème 1 kg", "Tea — oolong", 'Cable 2 m "braided"', "Notebook A5\nruled",
          "Mug 🙂", "Chair\tergonomic", "Back\\slash cleaner"]


def raw(text):
    """A value written into the event as this JSON text (numbers and escapes json.dumps never writes)."""
    return RAW_MARK + text


def nested_event(rng, s, i):
    """One order event of ~0.3-2 KB: nested objects, arrays of objects, unicode, escaped quotes and newlines,
    nulls, booleans, and numbers in every JSON form (integers, -0, fractions, exponents, 20-digit integers)."""
    lines = [{"sku": f"SKU-{rng.randrange(10**6):06d}", "title": rng.choice(TITLES), "qty": rng.randrange(1, 9),
              "price": raw(rng.choice(["%d.%02d" % (rng.randrange(500), rng.randrange(100)),
                                       "%dE-2" % rng.randrange(1, 99999), "%de0" % rng.randrange(1, 500)])),
              "attrs": {"color": rng.choice(["red", "blue", None]), "gift": rng.random() < 0.1,
                        "dims": [rng.randrange(1, 90), raw("%.1e" % rng.uniform(0.1, 9)), raw("-0")]}}
             for _ in range(rng.randrange(1, 7))]
    data = {"order": f"ord-{s}", "seq": i, "status": rng.choice(["placed", "paid", "packed", "shipped"]),
            "customer": {"id": s, "name": rng.choice(["Zoë", "José", "Łukasz", "Øyvind", "李雷", "Ada"]),
                         "address": {"city": rng.choice(CITIES), "zip": f"{rng.randrange(10**5):05d}",
                                     "street": raw('"Rue de l\\u2019\\u00c9glise \\/ ' + str(rng.randrange(99)) + '"')}},
            "lines": lines,
            "totals": {"net": raw("%d.%d" % (rng.randrange(10**4), rng.randrange(10))),
                       "tax": raw("%.3E" % rng.uniform(1, 500)), "rate": raw("1.9e+1"),
                       "big": raw(str(rng.randrange(10**19, 10**20))), "currency": "EUR"},
            "note": rng.choice([None, 'customer said "leave at door"\nring twice', "fragile", ""]),
            "flags": [rng.random() < 0.5, rng.random() < 0.5], "discount": rng.choice([None, raw("-0.5"), raw("1E-2")])}
    return data


def generate_nested(path, events, streams, seed=11):
    rng = random.Random(seed)
    kinds = ["OrderPlaced", "OrderPaid", "OrderPacked", "OrderShipped"]
    with open(path, "w") as f:
        for i in range(events):
            s = rng.randrange(streams)
            line = json.dumps({"stream": f"order-{s}", "type": rng.choice(kinds), "data": nested_event(rng, s, i),
                               "metadata": {"correlation_id": f"{rng.getrandbits(128):032x}", "actor": "bench"}},
                              separators=(",", ":"), ensure_ascii=False)
            f.write(re.sub(r'"\\u0000raw:((?:[^"\\]|\\.)*)"', lambda m: json.loads('"' + m.group(1) + '"'), line) + "\n")


DUCK_COLUMNS = ("columns={position:'BIGINT', stream:'VARCHAR', version:'BIGINT', id:'VARCHAR', type:'VARCHAR', "
                "recorded_at:'VARCHAR', data:'JSON', metadata:'JSON', hash:'VARCHAR'}")


def duck_scan(cwd, datasets):
    """Median of 3 DuckDB scans (count + sum of a JSON field) over the data files of `datasets` in the archive at
    cwd/archive; returns (seconds, events)."""
    globs = [f"archive/datasets/{d}/partitions/**/data/data*.zst" for d in datasets
             if glob.glob(os.path.join(cwd, f"archive/datasets/{d}/partitions/**/data/data*.zst"), recursive=True)]
    sql = (f"SELECT count(*), sum(CAST(data->>'amount' AS DOUBLE)) FROM read_json({globs!r}, "
           f"format='newline_delimited', compression='zstd', hive_partitioning=true, {DUCK_COLUMNS})")
    code = f"import duckdb; print(duckdb.connect().execute({sql!r}).fetchone()[0])"
    with open(os.path.join(cwd, "scan.py"), "w") as f:
        f.write(code)
    seconds, _, out = best(3, lambda: run("python3 scan.py", cwd))
    return seconds, int(out.strip())


def compaction_bench(archiver, plan_dir):
    """DuckDB scan time over the small-snapshot archive before and after `archiver compact` + `--retire`;
    returns (snapshots, files before, files after, scan before, scan after, compact seconds, events)."""
    before, events = duck_scan(plan_dir, ["events"])
    compact = run(f"{archiver} compact --store sqlite:plan.db --archive archive --quiet", plan_dir)
    found = re.search(r"compacted (\d+) snapshots .*?: (\d+) files, .* into events-gen(\d+): (\d+) snapshots, (\d+) files",
                      compact[2])
    if not found:
        sys.exit(f"bench: unexpected compact output: {compact[2]}")
    snapshots, files_before, generation, _, files_after = (int(g) for g in found.groups())
    run(f"{archiver} compact --retire --store sqlite:plan.db --archive archive", plan_dir)
    after, events_after = duck_scan(plan_dir, ["events", f"events-gen{generation}"])
    if events_after != events:
        sys.exit(f"bench: DuckDB counts {events} events before compaction and {events_after} after")
    print(f"DuckDB scan of {events:,} events: {files_before:,} files {before:.2f} s, after compaction "
          f"{files_after:,} files {after:.2f} s (compact {compact[0]:.2f} s)", flush=True)
    return snapshots, files_before, files_after, before, after, compact[0], events


def plan_bench(archiver, corpus, sizes, work):
    """Times replay planning (chain walk vs catalog checkpoint) as one archive grows; returns
    [(snapshots, chain-walk seconds, checkpoint seconds, manifests read after the checkpoint)], the selective
    read's counts and the compaction figures (``compaction_bench``) on the largest archive."""
    if not sizes:
        return [], None, None
    base = "/dev/shm" if os.path.isdir("/dev/shm") else work
    plan_dir = os.path.join(base, f"archiver-plan-bench-{os.getpid()}")
    shutil.rmtree(plan_dir, ignore_errors=True)
    os.makedirs(plan_dir)
    try:
        run(f"{archiver} init --store sqlite:plan.db", plan_dir)
        with open(corpus) as f:
            lines = f.readlines()
        appended = 0
        rows = []
        for size in sizes:
            want = min(len(lines), size * 3 + 200)
            if want > appended:
                with open(os.path.join(plan_dir, "chunk.jsonl"), "w") as out:
                    out.writelines(lines[appended:want])
                with open(os.path.join(plan_dir, "chunk.jsonl")) as chunk:
                    run(f"{archiver} append --batch-size 500 --store sqlite:plan.db", plan_dir, stdin=chunk)
                appended = want
                print(f"bench: plan: flushing up to {size:,} snapshots", flush=True)
                run(f"{archiver} flush --store sqlite:plan.db --archive archive --target-size 1KiB --quiet", plan_dir)

            def plan(extra):
                out = run(f"{archiver} catalog plan --archive archive {extra}", plan_dir)[2]
                stats = json.loads(out)
                return stats["seconds"], 0.0, stats

            walk = best(3, lambda: plan("--chain-walk"))
            ckpt = best(3, lambda: plan(""))
            snapshots = ckpt[2]["snapshots"]
            rows.append((snapshots, walk[0], ckpt[0], ckpt[2]["manifests_read"]))
            print(f"plan {snapshots:,} snapshots: chain walk {walk[0] * 1000:.1f} ms, checkpoint "
                  f"{ckpt[0] * 1000:.1f} ms ({ckpt[2]['manifests_read']} manifests after it)", flush=True)
            if want >= len(lines):
                break
        # Selective read on the largest archive: one stream of the corpus.
        stream = json.loads(lines[0])["stream"]
        err = subprocess.run(f"{archiver} replay --archive archive --stream {stream} --from-scratch "
                             "--projection sum:amount --output /dev/null", shell=True, cwd=plan_dir,
                             capture_output=True, text=True).stderr
        found = re.search(r"read (\d+) of (\d+) segment files \((\d+) of (\d+) snapshots\)", err)
        selective = tuple(int(g) for g in found.groups()) if found else None
        if selective:
            print(f"single-stream replay: read {selective[0]:,} of {selective[1]:,} segment files", flush=True)
        return rows, selective, compaction_bench(archiver, plan_dir)
    finally:
        shutil.rmtree(plan_dir, ignore_errors=True)


def plan_section(plan_rows, selective, streams):
    """The lines of BENCHMARKS.md's planning section (empty without rows)."""
    if not plan_rows:
        return []
    lines = [
        "",
        "## Planning a replay (finding the snapshots of `--to latest`)",
        "",
        "One growing archive of small snapshots (`flush --target-size 1KiB`, about 3 events each; default",
        "`--checkpoint-every 1000`), on tmpfs where available so that the figures are CPU and syscalls, not the",
        "disk. Measured in-process by the hidden `archiver catalog plan` (median of 3): the time until a replay",
        "knows the first snapshot to read, by walking every manifest vs from the newest catalog checkpoint (its",
        "manifest, the manifests after it and the checkpoint's first part; the replay decodes the other parts as",
        "it reaches them).",
        "",
        "| snapshots | chain walk | checkpoint + tail | manifests read after the checkpoint | speed-up |",
        "|---|---|---|---|---|",
    ]
    for n, walk, ckpt, tail in plan_rows:
        lines.append(f"| {n:,} | {walk * 1000:,.1f} ms | {ckpt * 1000:,.1f} ms | {tail:,} | {walk / ckpt:,.1f}x |")
    first, last = plan_rows[0], plan_rows[-1]
    lines += [
        "",
        f"From {first[0]:,} to {last[0]:,} snapshots the chain walk grew {last[1] / first[1]:,.1f}x and planning"
        f" with checkpoints {last[2] / first[2]:,.1f}x (goal: flat within 2x). With a checkpoint, planning reads"
        " the same few objects at every size: parts hold at most 4096 snapshots and the catalog manifest"
        " summarises each, so the list of snapshots is never decoded before the replay starts.",
    ]
    if selective:
        lines += [
            "",
            f"Selective read on the same archive: `replay --stream` of one of the corpus's {streams:,} streams read"
            f" {selective[0]:,} of {selective[1]:,} segment files ({selective[2]:,} of {selective[3]:,} snapshots),"
            " chosen by the per-file stream filters.",
        ]
    return lines


def s3_bench(archiver, corpus, events, concurrencies, target_size, work):
    """Flush and replay of one slice of the corpus on the S3 API server (moto, ARCHIVER_TEST_S3_ENDPOINT) next to
    the filesystem, in the same run. Returns (rows, facts) or (None, reason)."""
    endpoint = os.environ.get("ARCHIVER_TEST_S3_ENDPOINT")
    if not endpoint:
        return None, "no S3 API server (run through scripts/with-services.sh)"
    try:
        import boto3
    except ImportError:
        return None, "no boto3 (run make deps)"
    s3dir = os.path.join(work, "s3")
    os.makedirs(s3dir, exist_ok=True)
    with open(corpus) as src, open(os.path.join(s3dir, "slice.jsonl"), "w") as dst:
        for _, line in zip(range(events), src):
            dst.write(line)
    run(f"{archiver} init --store sqlite:slice.db", s3dir)
    with open(os.path.join(s3dir, "slice.jsonl")) as f:
        run(f"{archiver} append --batch-size 500 --store sqlite:slice.db", s3dir, stdin=f)

    def fresh_store(name):
        # Each flush starts from the same unflushed store: a copy of the appended one.
        path = os.path.join(s3dir, name)
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        subprocess.run(["sqlite3", os.path.join(s3dir, "slice.db"), f".backup {path}"], check=True)
        return f"sqlite:{name}"

    bucket = f"archiver-bench-{os.getpid()}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test-secret")
    client.create_bucket(Bucket=bucket)
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test-secret", "AWS_REGION": "us-east-1",
           "AWS_PROFILE": "", "ARCHIVER_S3_ENDPOINT": endpoint, "ARCHIVER_S3_PATH_STYLE": "true"}
    # 5 MiB parts from 5 MiB on, so that segments of a few MB go up in several parts and the upload concurrency
    # has parts to overlap (the defaults, 8 MiB parts from 16 MiB, would upload these in one PUT each).
    tuning = "--s3-part-size 5MiB --s3-multipart-threshold 5MiB"
    layout = f"--compression zstd:1 --target-size {target_size}"

    def objects(prefix):
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += page.get("Contents", [])
        return found

    try:
        fs = run(f"{archiver} flush --store {fresh_store('fs.db')} --archive archive {layout} --quiet", s3dir)
        data = glob.glob(os.path.join(s3dir, "archive", "**", "data*.zst"), recursive=True)
        stored_mb = sum(os.path.getsize(f) for f in glob.glob(os.path.join(s3dir, "archive", "**", "*"),
                                                              recursive=True) if os.path.isfile(f)) / 1e6
        replay = ("replay --to latest --from-scratch --projection sum:amount --output sums.jsonl --quiet")
        rows = []
        for n in concurrencies:
            prefix = f"c{n}/"
            url = f"s3://{bucket}/{prefix.rstrip('/')}"
            print(f"bench: s3: flush and replay of {events:,} events, upload concurrency {n}, prefetch {n}", flush=True)
            ours = run(f"{archiver} flush --store {fresh_store(f'c{n}.db')} --archive {url} {layout} {tuning} "
                       f"--s3-upload-concurrency {n} --quiet", s3dir, env=env)
            listed = objects(prefix)
            data_objects = [o for o in listed if re.search(r"/data[^/]*\.zst$", o["Key"])]
            in_parts = sum(1 for o in data_objects if "-" in o["ETag"])
            if len(data_objects) != len(data):
                sys.exit(f"bench: s3: {len(data_objects)} data objects in the bucket, {len(data)} on disk")
            rows.append(("flush", n, ours, fs, f"{in_parts} of {len(data_objects)} data objects uploaded in 5 MiB parts"))
            fs_replay = best(3, lambda: run(f"{archiver} {replay} --archive archive --prefetch {n}", s3dir))
            with open(os.path.join(s3dir, "sums.jsonl")) as f:
                fs_sums = f.read()
            ours = best(3, lambda: run(f"{archiver} {replay} --archive {url} --prefetch {n}", s3dir, env=env))
            with open(os.path.join(s3dir, "sums.jsonl")) as f:
                if f.read() != fs_sums:
                    sys.exit("bench: s3: the replay from S3 projected other rows than the one from the filesystem")
            rows.append(("replay", n, ours, fs_replay, "same projected rows as from the filesystem"))
        facts = {"events": events, "stored_mb": stored_mb, "files": len(data), "target_size": target_size}
        return rows, facts
    finally:
        for o in objects(""):
            client.delete_object(Bucket=bucket, Key=o["Key"])
        client.delete_bucket(Bucket=bucket)
        shutil.rmtree(s3dir, ignore_errors=True)


# Five upcaster rules over the corpus: MoneyDeposited (v1 -> v2 -> v3 -> Deposited) and FeeCharged (-> Fee v1 ->
# v2) are half of its events; the other half match no rule.
UPCASTERS = """rules:
  - {name: deposit-v2, type: MoneyDeposited, version: 1, steps: [{move: {from: /memo, to: /note}}, {set-version: 2}]}
  - {name: deposit-v3, type: MoneyDeposited, version: 2, steps: [{to-string: /seq}, {set-version: 3}]}
  - {name: deposited, type: MoneyDeposited, version: 3, steps: [{remove: /reference}, {rename-type: Deposited}]}
  - {name: fee, type: FeeCharged, steps: [{move: {from: /channel, to: /via}}, {rename-type: Fee}]}
  - {name: fee-v2, type: Fee, version: 1, steps: [{default: {at: /kind, value: fee}}, {set-version: 2}]}
"""


# The same shape of rule chain over the nested corpus: OrderPlaced (v1 -> v2 -> v3 -> Placed) and OrderPaid (->
# Paid v1 -> v2) are half of its events, touching a few of their members (one nested).
NESTED_UPCASTERS = """rules:
  - {name: placed-v2, type: OrderPlaced, version: 1, steps: [{move: {from: /note, to: /remark}}, {set-version: 2}]}
  - {name: placed-v3, type: OrderPlaced, version: 2, steps: [{to-string: /seq}, {set-version: 3}]}
  - {name: placed, type: OrderPlaced, version: 3, steps: [{remove: /discount}, {rename-type: Placed}]}
  - {name: paid, type: OrderPaid, steps: [{move: {from: /customer/address/zip, to: /customer/zip}}, {rename-type: Paid}]}
  - {name: paid-v2, type: Paid, version: 1, steps: [{default: {at: /kind, value: paid}}, {set-version: 2}]}
"""


def upcast_bench(archiver, work, events, row, archive="archive", rules=UPCASTERS, label=""):
    """Replay with the default fold through a 5-rule set touching half the events, vs the same replay without."""
    with open(os.path.join(work, "upcasters.yaml"), "w") as f:
        f.write(rules)
    replay = f"{archiver} replay --archive {archive} --to latest --from-scratch --output fold.jsonl --quiet"
    ours, ref = paired(3, lambda: run(f"{replay} --upcasters upcasters.yaml", work), lambda: run(replay, work))
    row(f"{label}replay, default fold with 5 upcaster rules touching half the events vs without rules", ours, ref,
        events, "events", 0.8)


def replay_paths(archiver, work, archive, label, events, sum_field, row, pg_url):
    """Rows for the replay paths users run, on the archive at `work/archive`: the default merge-patch fold
    next to DuckDB's last `data` per stream, the sum fold next to DuckDB's grouped sum and next to the fold,
    `--exec` to a trivial consumer, the SQLite and PostgreSQL sinks, and `--verify-chain`."""
    files = (f"read_json('{archive}/datasets/events/partitions/**/data/data*.zst', format='newline_delimited', "
             f"compression='zstd', hive_partitioning=true, {DUCK_COLUMNS})")

    def duck(select):
        return run(f"python3 -c \"import duckdb; duckdb.sql(\\\"{select} FROM {files} GROUP BY stream\\\").fetchall()\"", work)
    replay = f"{archiver} replay --archive {archive} --to latest --from-scratch --quiet"
    fold = paired(3, lambda: run(f"{replay} --output fold.jsonl", work),
                  lambda: duck("SELECT stream, arg_max(data, position)"))
    row(f"{label}: replay, default merge-patch fold vs DuckDB `arg_max(data, position)` per stream", *fold,
        events, "events", 1.5)
    sums = paired(3, lambda: run(f"{replay} --projection sum:{sum_field} --output sums.jsonl", work),
                  lambda: duck(f"SELECT stream, count(*), sum(CAST(data->>'{sum_field}' AS DOUBLE))"))
    row(f"{label}: replay, sum fold vs DuckDB grouped sum", *sums, events, "events", 2.0)
    row(f"{label}: replay, default fold vs the sum fold", fold[0], sums[0], events, "events", 0.7)
    execs = paired(3, lambda: run(f"{replay} --exec 'wc -l' --output exec.jsonl", work), lambda: run(
        f"sh -c \"find {archive} -name 'data*.zst' -print0 | xargs -0 cat | zstd -dc | wc -l\"", work))
    row(f"{label}: replay --exec 'wc -l' vs `zstd -dc | wc -l` over the same files", *execs, events, "events", None,
        "goal: ≥ 1 M events/s through --exec")
    with open(os.path.join(work, "fold.jsonl")) as f:
        folded = [(json.loads(line)["stream"], line.rstrip("\n")) for line in f]

    def sqlite_ref():
        path = os.path.join(work, "ref-rows.db")
        if os.path.exists(path):
            os.remove(path)
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("BEGIN")
        con.execute("CREATE TABLE t (key TEXT PRIMARY KEY, row TEXT NOT NULL)")
        con.executemany("INSERT INTO t VALUES (?, ?)", folded)
        con.execute("COMMIT")
        con.close()
    # The sinks against the same job done in two steps: this fold to a JSON-lines file (timed above), then the
    # reference loader. The sink's own cost is the difference; a ratio below 1 means loading inside replay
    # costs more than a file and a bulk load would.
    def two_steps(load):
        return fold[0][0] + load[0], max(fold[0][1], load[1]), ""
    ref = two_steps(best(3, lambda: timed(sqlite_ref)))
    ours = best(3, lambda: run(f"{replay} --into sqlite:rows.db --table model", work))
    row(f"{label}: replay --into sqlite: (fold) vs replay --output file + Python sqlite3 executemany", ours, ref,
        events, "events", 1.0, f"{len(folded):,} rows")
    if pg_url:
        with open(os.path.join(work, "rows.tsv"), "w") as f:
            for key, line in folded:
                f.write(key + "\t" + line.replace("\\", "\\\\") + "\n")
        psql = f"psql '{pg_url}' -q -v ON_ERROR_STOP=1"
        ours = best(3, lambda: run(f"{replay} --into '{pg_url}' --table benchrows.model", work))
        ref = two_steps(best(3, lambda: run(
            f"sh -c \"{psql} -c 'CREATE SCHEMA IF NOT EXISTS benchref' -c 'DROP TABLE IF EXISTS benchref.t' "
            f"-c 'CREATE TABLE benchref.t (key text PRIMARY KEY, row jsonb NOT NULL)' "
            f"-c '\\\\copy benchref.t FROM rows.tsv'\"", work)))
        row(f"{label}: replay --into postgres:// (fold) vs replay --output file + psql \\copy", ours, ref, events,
            "events", 1.0, f"{len(folded):,} rows")
    chain = paired(3, lambda: run(f"{replay} --projection sum:{sum_field} --verify-chain --output sums.jsonl", work),
                   lambda: duck(f"SELECT stream, count(*), sum(CAST(data->>'{sum_field}' AS DOUBLE))"))
    row(f"{label}: replay --verify-chain (sum fold) vs DuckDB grouped sum", *chain, events, "events", 1.0)


def archive_of(archiver, work, corpus, archive, v1_twin=False, flush_row=None):
    """Appends `corpus` into a fresh SQLite store and flushes it into `archive` (not timed; with `flush_row`, timed
    next to the naive pipeline and reported as `flush_row(ours, ref)`); with `v1_twin`, a copy of the unflushed store
    also into `archive`-v1 in format 1."""
    shutil.rmtree(os.path.join(work, archive), ignore_errors=True)
    db = os.path.join(work, archive + ".db")
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    run(f"{archiver} init --store sqlite:{db}", work)
    with open(os.path.join(work, corpus)) as f:
        run(f"{archiver} append --batch-size 1000 --store sqlite:{db}", work, stdin=f)
    if v1_twin:
        flush_twin(archiver, run, work, archive + ".db", archive + "-v1")
        flush_before(archiver, run, work, corpus, archive + "-before")
    if flush_row:
        flush_row(*sqlite_flush(archiver, run, paired, work, archive + ".db", archive))
        os.remove(db + ".unflushed")
    else:
        run(f"{archiver} flush --store sqlite:{db} --archive {archive} --compression zstd:1 --quiet", work)


def nested_paths(archiver, work, args, row, pg_url, formats=None):
    if args.nested_events <= 0:
        return
    print(f"bench: generating {args.nested_events:,} nested events over {args.nested_streams:,} streams", flush=True)
    generate_nested(os.path.join(work, "nested.jsonl"), args.nested_events, args.nested_streams)
    archive_of(archiver, work, "nested.jsonl", "nested-archive", v1_twin=formats is not None, flush_row=lambda o, r: row(
        "nested: flush from SQLite vs `sqlite3 json_object | zstd -3`", o, r, args.nested_events, "events", 1.5))
    if formats is not None:
        formats.append(("nested", args.nested_events, 0.8, format_measure(
            archiver, run, paired, work, "nested-archive", "nested-archive-v1", args.nested_events, "seq",
            "nested-archive-before")))
    replay_paths(archiver, work, "nested-archive", "nested", args.nested_events, "seq", row, pg_url)
    upcast_bench(archiver, work, args.nested_events, row, "nested-archive", NESTED_UPCASTERS, "nested: ")


def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started, 0, ""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("archiver")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--streams", type=int, default=10_000)
    p.add_argument("--nested-events", type=int, default=300_000,
                   help="events of the nested corpus (orders of 0.3-2 KB) for the replay-path rows; 0 to skip")
    p.add_argument("--nested-streams", type=int, default=3_000)
    p.add_argument("--only-replay-paths", action="store_true",
                   help="run only the replay-path rows on both corpora (a quick check of this script)")
    p.add_argument("--work", default=os.path.join(ROOT, "bench-work"))
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    p.add_argument("--plan-sizes", default="1000,10000,100000",
                   help="archive sizes (snapshots) for the replay-planning rows; empty to skip")
    p.add_argument("--s3-concurrency", default="4,1,8",
                   help="S3 rows: upload concurrency (= replay --prefetch) of each pair of rows; empty to skip")
    p.add_argument("--read-through-events", type=int, default=200_000,
                   help="read-through rows: events of the corpus's slice flushed, pruned and read back over HTTP")
    p.add_argument("--s3-events", type=int, default=200_000,
                   help="S3 rows: events of the corpus's slice flushed and replayed (moto is slow and in memory)")
    p.add_argument("--s3-target-size", default="32MiB",
                   help="S3 rows: flush --target-size, so the slice makes several snapshots of multi-part segments")
    args = p.parse_args()
    archiver = os.path.abspath(args.archiver)
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rows = []

    def row(name, ours, ref, unit_count, unit, goal=None, note=""):
        o_rate = unit_count / ours[0]
        r_rate = unit_count / ref[0]
        rows.append((name, ours, ref, o_rate, r_rate, unit, goal, note))
        print(f"{name}: {o_rate:,.0f} vs {r_rate:,.0f} {unit}/s = {o_rate / r_rate:.2f}x", flush=True)

    print(f"bench: generating {args.events:,} events over {args.streams:,} streams", flush=True)
    corpus = os.path.join(work, "events.jsonl")
    generate(corpus, args.events, args.streams)
    corpus_mb = os.path.getsize(corpus) / 1e6
    pg_url = os.environ.get("ARCHIVER_TEST_POSTGRES_URL")
    if args.only_replay_paths:
        archive_of(archiver, work, "events.jsonl", "archive")
        replay_paths(archiver, work, "archive", "flat", args.events, "amount", row, pg_url)
        nested_paths(archiver, work, args, row, pg_url)
        return

    # zstd: the wrapper (through a flush-sized compression) vs the zstd CLI, one thread, level 3.
    ours, ref = paired(3, lambda: run(f"{archiver} compress-bench --level 3 events.jsonl events.ours.zst", work),
                       lambda: run("zstd -3 --single-thread -q -c events.jsonl > events.zst", work))
    row("zstd level 3, one thread: wrapper vs `zstd -3 --single-thread`", ours, ref, corpus_mb, "MB", 0.9)
    ref = best(3, lambda: run("zstd -3 -T1 -q -c events.jsonl > events.zst", work))
    row("zstd level 3: wrapper vs `zstd -3 -T1`", ours, ref, corpus_mb, "MB", None,
        "-T1 compresses on one worker thread while the main thread reads and writes")

    # Append: archiver append (one transaction per batch) vs a raw INSERT loop into an equivalent table.
    def raw_insert(source, batch_size):
        db = os.path.join(work, "raw.db")
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        started = time.perf_counter()
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,"
                    " id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,"
                    " recorded_at INTEGER NOT NULL, UNIQUE (stream, version))")
        versions = {}
        batch = []
        def commit():
            con.execute("BEGIN")
            con.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", batch)
            con.execute("COMMIT")
            batch.clear()
        with open(source) as f:
            for n, line in enumerate(f, 1):
                e = json.loads(line)
                v = versions.get(e["stream"], 0) + 1
                versions[e["stream"]] = v
                batch.append((n, e["stream"], v, f"{n:032x}", e["type"], json.dumps(e["data"]), json.dumps(e["metadata"]),
                              int(time.time() * 1e6)))
                if len(batch) == batch_size:
                    commit()
        if batch:
            commit()
        con.close()
        return (time.perf_counter() - started, 0.0, "")
    # Single events commit (and fsync) each: a smaller slice of the corpus.
    single = min(args.events, 3_000)
    with open(corpus) as src, open(os.path.join(work, "single.jsonl"), "w") as dst:
        for _, line in zip(range(single), src):
            dst.write(line)
    for batch_size, source, count in ((1, "single.jsonl", single), (100, "events.jsonl", args.events)):
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(os.path.join(work, "bench.db" + suffix)):
                os.remove(os.path.join(work, "bench.db" + suffix))
        run(f"{archiver} init --store sqlite:bench.db", work)
        with open(os.path.join(work, source)) as f:
            ours = run(f"{archiver} append --batch-size {batch_size} --store sqlite:bench.db", work, stdin=f)
        ref = raw_insert(os.path.join(work, source), batch_size)
        label = "single events" if batch_size == 1 else f"batches of {batch_size}"
        row(f"append, SQLite, {label} (with expected-version and validation) vs raw INSERT (Python sqlite3)",
            ours, ref, count, "events", 0.7, "the raw loop includes Python's JSON parse of the same lines")

    # Flush: archiver flush (encode, hash chain, zstd, fsync, manifests) vs SQLite json_object | zstd -3, each from
    # a copy of the same unflushed store; leaves bench.db flushed into `archive` for the rows below.
    ours, ref = sqlite_flush(archiver, run, paired, work, "bench.db", "archive")
    flush_twin(archiver, run, work, "bench.db.unflushed", "archive-v1")
    os.remove(os.path.join(work, "bench.db.unflushed"))
    flush_before(archiver, run, work, "events.jsonl", "archive-before")
    row("flat: flush from SQLite vs `sqlite3 json_object | zstd -3`", ours, ref, args.events, "events", 1.5)
    formats = [("flat", args.events, 0.6,
                format_measure(archiver, run, paired, work, "archive", "archive-v1", args.events, "amount",
                               "archive-before"))]
    archive_mb = sum(os.path.getsize(f) for f in glob.glob(os.path.join(work, "archive", "**", "*.zst"), recursive=True)) / 1e6

    # Replay: per-stream sum fold (checksums verified) vs DuckDB read_json over the same files.
    duck = ("import duckdb; duckdb.sql(\\\"SELECT stream, count(*), sum(CAST(data->>'amount' AS DOUBLE)) FROM "
            "read_json('archive/datasets/events/partitions/**/data/data*.zst', format='newline_delimited', "
            "compression='zstd', hive_partitioning=true, columns={position:'BIGINT', stream:'VARCHAR', version:'BIGINT', "
            "id:'VARCHAR', type:'VARCHAR', recorded_at:'VARCHAR', data:'JSON', metadata:'JSON', hash:'VARCHAR'}) "
            "GROUP BY stream\\\").fetchall()")
    ours, ref = paired(3, lambda: run(f"{archiver} replay --archive archive --to latest --from-scratch "
                                      f"--projection sum:amount --output sums.jsonl --quiet", work),
                       lambda: run(f"python3 -c \"{duck}\"", work))
    row("replay, per-stream sum fold vs DuckDB read_json (2 threads)", ours, ref, args.events, "events", 1.5)
    ours_chain = best(3, lambda: run(f"{archiver} replay --archive archive --to latest --from-scratch --projection sum:amount "
                                     f"--verify-chain --output sums.jsonl --quiet", work))
    upcast_bench(archiver, work, args.events, row)

    # Verify vs sha256sum over the same stored bytes.
    ours, ref = paired(3, lambda: run(f"{archiver} verify --archive archive --quiet", work), lambda: run(
        "sh -c \"find archive -name 'data*.zst' -print0 | xargs -0 cat | zstd -dc | sha256sum\"", work))
    row("verify (MD5 of objects + decompress + SHA-256 chain) vs zstd -dc | sha256sum", ours, ref, args.events, "events", 0.8)

    replay_paths(archiver, work, "archive", "flat", args.events, "amount", row, pg_url)
    nested_paths(archiver, work, args, row, pg_url, formats)
    read_through_rows(archiver, work, args, row)

    s3_concurrency = [int(n) for n in args.s3_concurrency.split(",") if n]
    s3_rows, s3_facts = (s3_bench(archiver, corpus, min(args.events, args.s3_events), s3_concurrency,
                                  args.s3_target_size, work) if s3_concurrency else (None, "--s3-concurrency is empty"))
    if s3_rows is None:
        print(f"bench: skipping the S3 rows: {s3_facts}", flush=True)
    else:
        for kind, n, ours, fs, _ in s3_rows:
            print(f"{kind} S3 (concurrency {n}) vs filesystem: {fs[0] / ours[0]:.2f}x the filesystem's rate", flush=True)

    plan_rows, selective, compaction = plan_bench(archiver, corpus, [int(n) for n in args.plan_sizes.split(",") if n],
                                                  work)

    # PostgreSQL rows: only when a server is available (make bench runs under scripts/with-services.sh).
    pgbin = subprocess.run("pg_config --bindir", shell=True, capture_output=True, text=True).stdout.strip()
    if pg_url and os.path.exists(os.path.join(pgbin, "pgbench")):
        pg_ceilings = []
        # Batches: 100k events, so that the start-up of each client process (~30 ms) weighs little.
        small = min(args.events, 100_000)
        with open(corpus) as src, open(os.path.join(work, "small.jsonl"), "w") as dst:
            for _, line in zip(range(small), src):
                dst.write(line)
        # Reference: a plain table with the same columns and indexes, filled with the same events by psql running
        # a file of INSERT statements (one per event, or one of 100 rows per batch): the cheapest client there is
        # (C, nothing to parse), sending each event's own data and metadata as the archiver's clients do.
        def reset_raw():
            subprocess.run(["psql", pg_url, "-q", "-o", "/dev/null", "-c",
                            "DROP TABLE IF EXISTS raw_events; CREATE TABLE raw_events (position bigserial PRIMARY KEY, "
                            "stream text NOT NULL, version bigint NOT NULL, id uuid NOT NULL, type text NOT NULL, "
                            "data json NOT NULL, metadata json NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), "
                            "UNIQUE (stream, version))"], check=True)

        def sql_text(value):
            return "'" + value.replace("'", "''") + "'"

        def insert_script(lines, first_line, batch, path):
            # Versions are line numbers: unique per stream across all clients, as the raw table requires.
            with open(path, "w") as out:
                for start in range(0, len(lines), batch):
                    values = []
                    for offset, line in enumerate(lines[start:start + batch]):
                        e = json.loads(line)
                        values.append(f"({sql_text(e['stream'])}, {first_line + start + offset}, gen_random_uuid(), "
                                      f"{sql_text(e['type'])}, {sql_text(json.dumps(e['data'], separators=(',', ':')))}, "
                                      f"{sql_text(json.dumps(e.get('metadata', {}), separators=(',', ':')))})")
                    out.write("INSERT INTO raw_events (stream, version, id, type, data, metadata) VALUES "
                              + ", ".join(values) + ";\n")

        # The same INSERT with one constant payload from pgbench (the server's ceiling: nothing to send or parse
        # per event), for the notes.
        with open(corpus) as f:
            sample = json.loads(f.readline())
        sample_data = json.dumps(sample["data"], separators=(",", ":")).replace("'", "''")
        sample_meta = json.dumps(sample["metadata"], separators=(",", ":")).replace("'", "''")
        with open(os.path.join(work, "insert.sql"), "w") as f:
            f.write("\\set s random(1, 9000000000000)\n"
                    "INSERT INTO raw_events (stream, version, id, type, data, metadata) VALUES ('account-' || :s, "
                    f":s, gen_random_uuid(), 'MoneyDeposited', '{sample_data}', '{sample_meta}');\n")
        with open(os.path.join(work, "insert100.sql"), "w") as f:
            f.write("\\set s random(1, 9000000000000)\n"
                    "INSERT INTO raw_events (stream, version, id, type, data, metadata) SELECT 'account-' || (:s + g), "
                    f"g, gen_random_uuid(), 'MoneyDeposited', '{sample_data}', '{sample_meta}' "
                    "FROM generate_series(1, 100) g;\n")
        with open(os.path.join(work, "small.jsonl")) as f:
            single_lines = f.readlines()
        # Batches of 100 are 100 events of one stream in one append call (one stream per batch).
        batch_lines = []
        for i, line in enumerate(single_lines):
            e = json.loads(line)
            e["stream"] = f"batch-{i // 100}"
            batch_lines.append(json.dumps(e, separators=(",", ":")) + "\n")
        for batch, clients in ((1, 1), (1, 8), (100, 1), (100, 8)):
            lines = single_lines if batch == 1 else batch_lines
            count = small if batch == 100 else min(small, 4_000)
            per = count // clients
            schema = f"bench{batch}x{clients}"
            parts, scripts = [], []
            for c in range(clients):
                part = os.path.join(work, f"part{c}.jsonl")
                with open(part, "w") as out:
                    out.writelines(lines[c * per:(c + 1) * per])
                parts.append(part)
                script = os.path.join(work, f"part{c}.sql")
                insert_script(lines[c * per:(c + 1) * per], c * per + 1, batch, script)
                scripts.append(script)

            def ours_once():
                subprocess.run(["psql", pg_url, "-q", "-o", "/dev/null", "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
                               check=True)
                subprocess.run(f"{archiver} init --store '{pg_url}' --schema {schema}", shell=True, cwd=work, check=True,
                               capture_output=True)
                cmd = " & ".join(f"{archiver} append --batch-size {batch} --store '{pg_url}' --schema {schema} < {p} > /dev/null"
                                 for p in parts) + " & wait"
                return run(f"sh -c \"{cmd}\"", work)

            def ref_once():
                reset_raw()
                cmd = " & ".join(f"psql '{pg_url}' -q -o /dev/null -v ON_ERROR_STOP=1 -f {p}" for p in scripts) + " & wait"
                return run(f"sh -c \"{cmd}\"", work)

            def pgbench_once():
                reset_raw()
                script = "insert.sql" if batch == 1 else "insert100.sql"
                return run(f"{pgbin}/pgbench -n -c {clients} -j {clients} -t {per // batch} -f {script} '{pg_url}'", work)

            # Interleaved, median of 3: the commit latency of a VM's disk drifts within seconds.
            times = {"ours": [], "ref": [], "pgbench": []}
            for _ in range(3):
                times["ours"].append(ours_once())
                times["ref"].append(ref_once())
                times["pgbench"].append(pgbench_once())
            ours, ref, ceiling = (sorted(times[k], key=lambda t: t[0])[1] for k in ("ours", "ref", "pgbench"))
            label = "one event per transaction" if batch == 1 else f"batches of {batch} events of one stream"
            row(f"append, PostgreSQL, {clients} client(s), {label} vs psql INSERT of the same events",
                ours, ref, per * clients, "events", 0.9 if (batch, clients) == (1, 8) else 0.7,
                "each archiver client is a CLI process reading JSON lines")
            pg_ceilings.append((clients, label, per * clients / ceiling[0], per * clients / ours[0]))
        ours, ref = postgres_flush(archiver, run, paired, work, pg_url, "events.jsonl", "benchflush")
        row("flat: flush from PostgreSQL vs `psql COPY (json_build_object) | zstd -3`", ours, ref, args.events, "events",
            2.0)
        if args.nested_events > 0:
            ours, ref = postgres_flush(archiver, run, paired, work, pg_url, "nested.jsonl", "benchflushnested")
            row("nested: flush from PostgreSQL vs `psql COPY (json_build_object) | zstd -3`", ours, ref,
                args.nested_events, "events", 2.0)
    else:
        pg_ceilings = []
        print("bench: no PostgreSQL (run through scripts/with-services.sh) - skipping PostgreSQL rows", flush=True)

    cpu = subprocess.run("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2", shell=True, capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {datetime.date.today().isoformat()}: {platform.platform()}, {cpu}, "
        f"{os.cpu_count()} cores. Corpus: {args.events:,} events over {args.streams:,} streams, "
        f"{corpus_mb:.0f} MB of JSON lines; archive {archive_mb:.1f} MB (zstd level 1). Every row runs its "
        "reference in the same run on the same data; times are medians of 3 runs (the SQLite append: 1 run), "
        "wall clock, including process start. In the zstd, flush, replay and verify rows archiver's runs and "
        "the reference's alternate, each after an untimed `sync`, so that no run pays for the write-back of "
        "files the run before it wrote.",
        "",
        "| benchmark | archiver | reference | ratio | goal | archiver peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for name, ours, ref, o_rate, r_rate, unit, goal, note in rows:
        ratio = o_rate / r_rate
        goal_text = f"≥ {goal}x {'✔' if ratio >= goal else '✘'}" if goal else ""
        lines.append(f"| {name} | {o_rate:,.0f} {unit}/s ({ours[0]:.2f} s) | {r_rate:,.0f} {unit}/s ({ref[0]:.2f} s) | "
                     f"{ratio:.2f}x | {goal_text} | {ours[1]:.0f} MB |")
    if s3_rows:
        n_events, mb = s3_facts["events"], s3_facts["stored_mb"]

        def rate(timing):
            return f"{n_events / timing[0]:,.0f} events/s, {mb / timing[0]:,.1f} MB/s ({timing[0]:.2f} s)"
        lines += [
            "",
            "## S3 (moto) next to the filesystem",
            "",
            f"The first {n_events:,} events of the corpus (moto, the S3 API server of the tests, is slow and keeps"
            f" everything in memory), flushed with `--target-size {s3_facts['target_size']}` into"
            f" {s3_facts['files']} segment file(s), {mb:.1f} MB stored; each flush starts from a copy of the same"
            " unflushed SQLite store, the S3 one into a bucket of the moto server on loopback. MB/s counts the stored"
            " (compressed) bytes. Uploads use `--s3-part-size 5MiB --s3-multipart-threshold 5MiB`, so segments of"
            " a few MB go up in parts and `--s3-upload-concurrency` has parts to overlap; replay reads with"
            " `--prefetch` snapshots in flight, on both stores. Flush: 1 run (the filesystem flush once, shared by"
            " the flush rows); replay: median of 3.",
            "",
            "| work | settings | S3 (moto) | filesystem | S3 / filesystem | check |",
            "|---|---|---|---|---|---|",
        ]
        for kind, n, ours, fs, check in s3_rows:
            settings = f"`--s3-upload-concurrency {n}`" if kind == "flush" else f"`--prefetch {n}`"
            what = "flush from SQLite" if kind == "flush" else "replay, per-stream sum fold"
            lines.append(f"| {what} | {settings} | {rate(ours)} | {rate(fs)} | {fs[0] / ours[0]:.2f}x | {check} |")
        lines += [
            "",
            "The test server takes one write at a time (scripts/s3-test-server.py serialises PUT and POST to make its",
            "conditional writes atomic), so parts sent at once still land one after another there: these rows",
            "measure the archiver's S3 path on loopback, not what a real bucket's parallelism gives.",
        ]
    lines += format_section(formats)
    lines += plan_section(plan_rows, selective, args.streams)
    if compaction:
        n, files_before, files_after, scan_before, scan_after, compact_s, events = compaction
        lines += [
            "",
            "## Compaction (DuckDB scan before and after)",
            "",
            f"The largest planning archive ({n:,} small snapshots, {events:,} events) compacted by `archiver compact`",
            f"(default `--target-size 256MiB`) in {compact_s:.2f} s and retired with `compact --retire`; DuckDB",
            "`count(*)` and `sum(data->>'amount')` over `read_json` of the layout in force (columns declared, median",
            "of 3, including Python's start).",
            "",
            "| layout | data files | DuckDB scan | events/s |",
            "|---|---|---|---|",
            f"| original snapshots | {files_before:,} | {scan_before:.2f} s | {events / scan_before:,.0f} |",
            f"| compacted generation | {files_after:,} | {scan_after:.2f} s | {events / scan_after:,.0f} |",
            "",
            f"Speed-up {scan_before / scan_after:,.1f}x from {files_before / max(files_after, 1):,.0f}x fewer objects.",
        ]
    lines += [
        "",
        f"Replay with `--verify-chain` (every record's SHA-256 recomputed): {args.events / ours_chain[0]:,.0f} events/s "
        f"({ours_chain[0]:.2f} s, {ours_chain[1]:.0f} MB peak RSS).",
        "",
        "Notes:",
        "- The raw-insert reference for append runs in Python, so it includes Python's JSON parsing; archiver's",
        "  append includes validation of every event's JSON, expected-version checks and stream-head upkeep.",
        "- The flush reference writes one unverifiable blob; archiver also hashes every event into the chain,",
        "  partitions by category and day, fsyncs objects and directories, and commits manifests. The page cache",
        "  is synced before each flush row, so its fsyncs do not wait for the append's dirty pages.",
        "- The PostgreSQL append reference is psql running files of INSERT statements that carry the same events",
        "  as the archiver's clients (one statement per event, or one of 100 rows per batch), one psql per client;",
        "  each archiver client is a CLI process that parses and validates every line, generates the event ids,",
        "  checks expected versions and keeps stream heads. Each append row is the median of 3 interleaved runs.",
    ] + [
        f"- pgbench inserting one constant payload (nothing to send or parse per event), {clients} client(s), "
        f"{label}: {ceiling:,.0f} events/s; archiver reached {ours_rate / ceiling:.2f}x of it."
        for clients, label, ceiling, ours_rate in pg_ceilings
    ] + [
        "- What limits each ratio, from profiles: [PERFORMANCE.md](PERFORMANCE.md).",
        "",
        "Commands: `make bench` (= `swift build -c release --product archiver && python3 scripts/bench.py "
        ".build/release/archiver --events 1000000 --streams 10000`); `--events 5000000` for the large corpus.",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"bench: wrote {args.out}")


if __name__ == "__main__":
    main()
