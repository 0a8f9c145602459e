#!/usr/bin/env python3
"""Archive format rows (issue 25): the same events flushed in format 1 (records carry their chain hash) and in
format 2 (the default: no hash member, chain values per file in the manifest), on each corpus:

- archive bytes per event (every file under the archive: data objects and manifests), same zstd level;
- the same against the archive as it was before format 2 and UUIDv7 ids: format 1 with a random (version 4)
  id per event, the ids archiver generated then; this is the issue's baseline, as the issue counts the ids'
  entropy in its saving;
- replay (per-stream sum fold) and verify events/s of each, median of 7, alternating (a run takes about half a
  second, so three runs left the ratio to chance).

`bench.py` flushes each corpus twice from copies of one unflushed store (`flush_twin`), once more from a store of
the same events with random ids (`flush_before`), and calls `format_section` with what it measured.
"""
import json
import os
import random
import shutil
import uuid


def archive_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def flush_twin(archiver, run, work, unflushed_db, archive):
    """Flushes a copy of `unflushed_db` in format 1 into `archive` (not timed)."""
    shutil.rmtree(os.path.join(work, archive), ignore_errors=True)
    db = os.path.join(work, archive + ".db")
    shutil.copyfile(os.path.join(work, unflushed_db), db)
    run(f"{archiver} flush --store sqlite:{db} --archive {archive} --archive-format 1 --compression zstd:1 --quiet",
        work)


def flush_before(archiver, run, work, corpus, archive):
    """Appends `corpus` with a random version 4 id per event (seeded) into a fresh SQLite store and flushes it in
    format 1 into `archive` (not timed): the archive as archiver wrote it before format 2 and UUIDv7 ids."""
    shutil.rmtree(os.path.join(work, archive), ignore_errors=True)
    db = os.path.join(work, archive + ".db")
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    rng = random.Random(4)
    with_ids = os.path.join(work, archive + ".jsonl")
    with open(os.path.join(work, corpus)) as source, open(with_ids, "w") as out:
        for line in source:
            event = json.loads(line)
            event["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            out.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")
    run(f"{archiver} init --store sqlite:{db}", work)
    with open(with_ids) as f:
        run(f"{archiver} append --batch-size 1000 --store sqlite:{db}", work, stdin=f)
    os.remove(with_ids)
    run(f"{archiver} flush --store sqlite:{db} --archive {archive} --archive-format 1 --compression zstd:1 --quiet",
        work)
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def measure(archiver, run, paired, work, v2, v1, events, sum_field, before=None):
    """(bytes/event (v2, v1, before), replay (v2, v1), verify (v2, v1)) for two archives of the same events and,
    when given, the `before` archive of `flush_before`."""
    def replay(archive):
        return lambda: run(f"{archiver} replay --archive {archive} --to latest --from-scratch "
                           f"--projection sum:{sum_field} --output fmt-sums.jsonl --quiet", work)

    def verify(archive):
        return lambda: run(f"{archiver} verify --archive {archive} --quiet", work)
    sizes = tuple(archive_bytes(os.path.join(work, a)) / events if a else None for a in (v2, v1, before))
    return sizes, paired(7, replay(v2), replay(v1)), paired(7, verify(v2), verify(v1))


def format_section(results):
    """BENCHMARKS.md lines for [(corpus label, events, goal, measure(...))]."""
    lines = [
        "",
        "## Archive format 2 next to format 1",
        "",
        "The same events flushed twice from copies of one unflushed SQLite store (zstd level 1): in format 2, the",
        "default (records without the `hash` member; chain values per data file in the manifest), and with",
        "`--archive-format 1` (every record carries its 64-hex chain value). The goal compares format 2 with the",
        "archive as archiver wrote it before format 2 and time-ordered ids: the same events in format 1, each with a",
        "random (version 4) id, as archiver generated them then. Ids generated now are UUIDv7 whose random bits are",
        "drawn once per millisecond, so a batch appended together stores them once. Bytes count every file of the",
        "archive, manifests included. Replay (sum fold) and verify: medians of 7, alternating the two archives of",
        "the same events.",
        "",
        "| corpus | format 2 bytes/event | format 1, same ids | ratio | format 1, random v4 ids (before) | ratio | goal | "
        "replay v2 / v1 | verify v2 / v1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, events, goal, ((b2, b1, b0), (r2, r1), (v2, v1)) in results:
        before = f"{b0:,.1f} | {b2 / b0:.2f}x | ≤ {goal}x {'✔' if b2 / b0 <= goal else '✘'}" if b0 else "— | — | —"
        lines.append(
            f"| {label} | {b2:,.1f} | {b1:,.1f} | {b2 / b1:.2f}x | {before} | "
            f"{events / r2[0]:,.0f} / {events / r1[0]:,.0f} events/s ({r1[0] / r2[0]:.2f}x) | "
            f"{events / v2[0]:,.0f} / {events / v1[0]:,.0f} events/s ({v1[0] / v2[0]:.2f}x) |")
    return lines
