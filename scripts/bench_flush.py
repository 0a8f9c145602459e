#!/usr/bin/env python3
"""Flush rows: `archiver flush` from SQLite and from PostgreSQL next to the naive pipelines that dump the same
events as JSON lines into zstd (no chain, no partitions, no fsync, no manifests), on each corpus.

`bench.py` calls `sqlite_flush` and `postgres_flush` with its own `run` and `paired` (medians of 3, alternating).
"""
import os
import shutil
import subprocess


def sqlite_flush(archiver, run, paired, work, db, archive):
    """Flushes copies of the unflushed SQLite store `db` (in `work`) into an empty `archive`, next to `sqlite3
    json_object | zstd -3`; returns (ours, ref). Leaves `db` flushed into `archive` and an unflushed copy in
    `db`.unflushed for whoever needs one (removed by the caller)."""
    # The append just wrote the database: let the kernel write it back first, so that the flush's fsyncs do not
    # queue behind hundreds of MB of someone else's dirty pages (the reference does not fsync at all).
    subprocess.run(["sqlite3", os.path.join(work, db), "PRAGMA wal_checkpoint(TRUNCATE);"], check=True,
                   capture_output=True)
    unflushed = os.path.join(work, db + ".unflushed")
    shutil.copyfile(os.path.join(work, db), unflushed)

    def flush_once():
        shutil.rmtree(os.path.join(work, archive), ignore_errors=True)
        for suffix in ["-wal", "-shm"]:
            if os.path.exists(os.path.join(work, db + suffix)):
                os.remove(os.path.join(work, db + suffix))
        shutil.copyfile(unflushed, os.path.join(work, db))
        subprocess.run("sync", shell=True, check=True)
        return run(f"{archiver} flush --store sqlite:{db} --archive {archive} --compression zstd:1 --quiet", work)
    return paired(3, flush_once, lambda: run(
        f"sh -c \"sqlite3 {db} \\\"SELECT json_object('position',position,'stream',stream,'version',version,'id',id,"
        "'type',type,'recorded_at',recorded_at,'data',json(data),'metadata',json(metadata)) FROM events ORDER BY position\\\""
        " | zstd -3 -T1 -q > naive.zst\"", work))


def postgres_flush(archiver, run, paired, work, pg_url, corpus, schema):
    """Appends `corpus` into a fresh PostgreSQL schema, then flushes it (the flush cursor reset before each run)
    next to `psql COPY (json_build_object) | zstd -3`; returns (ours, ref)."""
    subprocess.run(["psql", pg_url, "-q", "-o", "/dev/null", "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
                   check=True)
    run(f"{archiver} init --store '{pg_url}' --schema {schema}", work)
    with open(os.path.join(work, corpus)) as f:
        run(f"{archiver} append --batch-size 500 --store '{pg_url}' --schema {schema}", work, stdin=f)
    archive = f"{schema}-archive"

    def flush_once():
        # Each run starts from the same unflushed store: the harness resets the flush cursor (the archive is
        # deleted, so nothing refers to the snapshots any more).
        shutil.rmtree(os.path.join(work, archive), ignore_errors=True)
        subprocess.run(["psql", pg_url, "-q", "-o", "/dev/null", "-c",
                        f"UPDATE {schema}.flush_cursor SET position = 0, chain_head = '', snapshot_id = '', "
                        f"archived_count = 0; DELETE FROM {schema}.flush_intent"], check=True)
        subprocess.run("sync", shell=True, check=True)
        return run(f"{archiver} flush --store '{pg_url}' --schema {schema} --archive {archive} --quiet", work)
    with open(os.path.join(work, f"{schema}-copy.sql"), "w") as f:
        f.write("COPY (SELECT json_build_object('position',position,'stream',stream,'version',version,'id',id,"
                f"'type',type,'recorded_at',recorded_at,'data',data,'metadata',metadata) FROM {schema}.events "
                "ORDER BY position) TO STDOUT;\n")
    return paired(3, flush_once,
                  lambda: run(f"sh -c 'psql {pg_url} -q -f {schema}-copy.sql | zstd -3 -T1 -q > pgnaive.zst'", work))
