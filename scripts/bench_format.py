#!/usr/bin/env python3
"""Archive format rows (issue 25): the same events flushed in format 1 (records carry their chain hash) and in
format 2 (the default: no hash member, chain values per file in the manifest), on each corpus:

- archive bytes per event (every file under the archive: data objects and manifests), same zstd level;
- replay (per-stream sum fold) and verify events/s of each, median of 3, alternating.

`bench.py` flushes each corpus twice from copies of one unflushed store (`flush_twin`) and calls `format_section`
with what it measured.
"""
import os
import shutil


def archive_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def flush_twin(archiver, run, work, unflushed_db, archive):
    """Flushes a copy of `unflushed_db` in format 1 into `archive` (not timed)."""
    shutil.rmtree(os.path.join(work, archive), ignore_errors=True)
    db = os.path.join(work, archive + ".db")
    shutil.copyfile(os.path.join(work, unflushed_db), db)
    run(f"{archiver} flush --store sqlite:{db} --archive {archive} --archive-format 1 --compression zstd:1 --quiet",
        work)


def measure(archiver, run, paired, work, v2, v1, events, sum_field):
    """(bytes/event v2, v1, replay (v2, v1), verify (v2, v1)) for two archives of the same events."""
    def replay(archive):
        return lambda: run(f"{archiver} replay --archive {archive} --to latest --from-scratch "
                           f"--projection sum:{sum_field} --output fmt-sums.jsonl --quiet", work)

    def verify(archive):
        return lambda: run(f"{archiver} verify --archive {archive} --quiet", work)
    sizes = (archive_bytes(os.path.join(work, v2)) / events, archive_bytes(os.path.join(work, v1)) / events)
    return sizes, paired(3, replay(v2), replay(v1)), paired(3, verify(v2), verify(v1))


def format_section(results):
    """BENCHMARKS.md lines for [(corpus label, events, goal, measure(...))]."""
    lines = [
        "",
        "## Archive format 2 next to format 1",
        "",
        "The same events flushed twice from copies of one unflushed SQLite store (zstd level 1): in format 2, the",
        "default (records without the `hash` member; chain values per data file in the manifest), and with",
        "`--archive-format 1` (every record carries its 64-hex chain value). Bytes count every file of the archive,",
        "manifests included. Replay (sum fold) and verify: medians of 3, alternating the two archives.",
        "",
        "| corpus | format 2 bytes/event | format 1 bytes/event | ratio | goal | replay v2 / v1 | verify v2 / v1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, events, goal, ((b2, b1), (r2, r1), (v2, v1)) in results:
        ratio = b2 / b1
        lines.append(
            f"| {label} | {b2:,.1f} | {b1:,.1f} | {ratio:.2f}x | ≤ {goal}x {'✔' if ratio <= goal else '✘'} | "
            f"{events / r2[0]:,.0f} / {events / r1[0]:,.0f} events/s ({r1[0] / r2[0]:.2f}x) | "
            f"{events / v2[0]:,.0f} / {events / v1[0]:,.0f} events/s ({v1[0] / v2[0]:.2f}x) |")
    return lines
