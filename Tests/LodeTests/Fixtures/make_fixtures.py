#!/usr/bin/env python3
"""Builds the hand-made golden fixtures G1-G7 and N1-N4 of LODE_FORMAT.md section 9.1.

No Go toolchain is available here, so the trees are written the way the Go writer (v0.9.0, FS store, CAS)
lays them out: the same keys, manifests as json.MarshalIndent(m, "", "  ") would print them (2-space indent,
'": "', fields in section 3.2 order, sorted metadata keys, no trailing newline), the pointer without a newline,
the empty 'latest.lock' side file of the FS CAS. Compressed data files come from the gzip and zstd CLIs (one
gzip member, one zstd frame with its content checksum). MD5s are computed over the stored bytes.

Run from this directory:  python3 make_fixtures.py   (it rewrites every tree it owns; output is deterministic).
"""
import hashlib
import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

IDS = ["1767139200000000042", "1767225600123456789", "1767312000000000007"]
CREATED = ["2025-12-31T00:00:00.5Z", "2026-01-01T00:00:00.130002Z", "2026-01-02T00:00:00Z"]

# The G1 records: three writes of 2, 1 and 3 records. Go's JSONL encoder sorts map keys and writes compact JSON.
BATCHES = [
    [{"id": 1, "type": "OrderPlaced"}, {"id": 2, "type": "OrderShipped"}],
    [{"id": 3, "note": "caf\u00e9 <&>", "type": "OrderPaid"}],
    [{"id": 4, "type": "OrderPlaced"}, {"id": 5, "type": "OrderCancelled"}, {"amount": 12.5, "id": 6, "type": "Refund"}],
]


def go_json_line(value):
    # Go's json.Marshal: compact, sorted keys, HTML-safe escaping of < > &, non-ASCII raw.
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def jsonl(batch):
    return "".join(go_json_line(record) + "\n" for record in batch).encode()


def compress(data, compressor):
    if compressor == "noop":
        return data
    if compressor == "gzip":
        return subprocess.run(["gzip", "-n", "-6", "-c"], input=data, capture_output=True, check=True).stdout
    if compressor == "zstd":
        return subprocess.run(["zstd", "-q", "-3", "--check", "-c"], input=data, capture_output=True, check=True).stdout
    raise ValueError(compressor)


EXT = {"noop": "", "gzip": ".gz", "zstd": ".zst"}


def manifest_text(fields):
    # Python's json.dumps(indent=2) prints exactly like Go's MarshalIndent for these values (no <>& in them,
    # no U+2028/2029), so it stands in for Go here.
    return json.dumps(fields, indent=2, ensure_ascii=False)


def write(root, key, data):
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def manifest(dataset, snapshot, created, files, parent, rows, codec, compressor, partitioner, checksum, metadata=None):
    m = {
        "schema_name": "lode-manifest",
        "format_version": "1.0.0",
        "dataset_id": dataset,
        "snapshot_id": snapshot,
        "created_at": created,
        "metadata": metadata if metadata is not None else {},
        "files": files,
    }
    if parent:
        m["parent_snapshot_id"] = parent
    m["row_count"] = rows
    if codec:
        m["codec"] = codec
    m["compressor"] = compressor
    m["partitioner"] = partitioner
    if checksum:
        m["checksum_algorithm"] = "md5"
    return m


def file_ref(key, stored, checksum=True):
    ref = {"path": key, "size_bytes": len(stored)}
    if checksum:
        ref["checksum"] = hashlib.md5(stored).hexdigest()
    return ref


def default_chain(root, dataset, compressor, batches=BATCHES, layout="default", checksum=True, pointer=True):
    parent = None
    for i, batch in enumerate(batches):
        sid = IDS[i]
        snap_dir = f"datasets/{dataset}/snapshots/{sid}" if layout == "default" else f"{dataset}/{sid}"
        stored = compress(jsonl(batch), compressor)
        key = f"{snap_dir}/data/data{EXT[compressor]}"
        write(root, key, stored)
        m = manifest(dataset, sid, CREATED[i], [file_ref(key, stored, checksum)], parent, len(batch), "jsonl",
                     compressor, "noop", checksum, {"fixture.write": str(i + 1)})
        write(root, f"{snap_dir}/manifest.json", manifest_text(m))
        parent = sid
    base = f"datasets/{dataset}" if layout == "default" else dataset
    if pointer:
        write(root, f"{base}/latest", parent)
        write(root, f"{base}/latest.lock", b"")


def fresh(name):
    root = os.path.join(HERE, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    return root


def g1():
    default_chain(fresh("G1-default-jsonl-noop"), "events", "noop")


def g2():
    root = fresh("G2-compressed")
    default_chain(root, "events-gzip", "gzip")
    default_chain(root, "events-zstd", "zstd")


def g3():
    root = fresh("G3-raw-blob")
    parent = None
    for i in range(2):  # Write([]byte("hello world")) then StreamWrite of the same payload
        sid = IDS[i]
        key = f"datasets/blobs/snapshots/{sid}/data/blob"
        payload = b"hello world"
        write(root, key, payload)
        m = manifest("blobs", sid, CREATED[i], [file_ref(key, payload)], parent, 1, None, "noop", "noop", True)
        write(root, f"datasets/blobs/snapshots/{sid}/manifest.json", manifest_text(m))
        parent = sid
    write(root, "datasets/blobs/latest", parent)
    write(root, "datasets/blobs/latest.lock", b"")


def hive_encode(value):
    safe = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~$&+:=@")
    return "".join(chr(b) if b in safe else "%%%02X" % b for b in value.encode())


def g4():
    root = fresh("G4-hive")
    sid = IDS[0]
    records = {
        "2025-12-31": [{"day": "2025-12-31", "id": 1}, {"day": "2025-12-31", "id": 2}],
        "2026-01-01": [{"day": "2026-01-01", "id": 3}],
        "a b/c": [{"day": "a b/c", "id": 4}],
    }
    files = []
    partitions = []
    for value, batch in records.items():
        part = "day=" + hive_encode(value)
        partitions.append(part)
        stored = compress(jsonl(batch), "zstd")
        key = f"datasets/events/partitions/{part}/segments/{sid}/data/data.zst"
        write(root, key, stored)
        files.append(file_ref(key, stored))
    files.sort(key=lambda f: f["path"].encode())
    m = manifest("events", sid, CREATED[0], files, None, 4, "jsonl", "zstd", "hive", True)
    text = manifest_text(m)
    write(root, f"datasets/events/segments/{sid}/manifest.json", text)
    for part in partitions:
        write(root, f"datasets/events/partitions/{part}/segments/{sid}/manifest.json", text)
    write(root, "datasets/events/latest", sid)
    write(root, "datasets/events/latest.lock", b"")


def g5():
    default_chain(fresh("G5-flat"), "events", "noop", batches=BATCHES[:2], layout="flat")


def g6():
    root = fresh("G6-empty")
    # Write with a codec and zero records: files null, no data object.
    m = manifest("empty-write", IDS[0], CREATED[0], None, None, 0, "jsonl", "noop", "noop", True)
    write(root, f"datasets/empty-write/snapshots/{IDS[0]}/manifest.json", manifest_text(m))
    write(root, "datasets/empty-write/latest", IDS[0])
    # StreamWriteRecords with an empty iterator: one empty data object, row_count 0.
    key = f"datasets/empty-stream/snapshots/{IDS[0]}/data/data"
    write(root, key, b"")
    m = manifest("empty-stream", IDS[0], CREATED[0], [file_ref(key, b"")], None, 0, "jsonl", "noop", "noop", True)
    write(root, f"datasets/empty-stream/snapshots/{IDS[0]}/manifest.json", manifest_text(m))
    write(root, "datasets/empty-stream/latest", IDS[0])


def g7():
    root = fresh("G7-volume")
    blocks_all = [(0, b"A" * 10), (50, b"B" * 20), (10, b"C" * 40)]
    vids = ["1767225600500000000", "1767225601000000000", "1767225602000000000"]
    parent = None
    for i, vid in enumerate(vids):
        offset, data = blocks_all[i]
        write(root, f"volumes/agg-state/data/{offset}-{len(data)}.bin", data)
        blocks = sorted(blocks_all[: i + 1], key=lambda b: b[0])
        m = {
            "schema_name": "lode-volume-manifest",
            "format_version": "1.0.0",
            "volume_id": "agg-state",
            "snapshot_id": vid,
            "created_at": f"2026-01-01T00:00:0{i}Z",
            "metadata": {},
            "total_length": 100,
            "blocks": [
                {"offset": o, "length": len(d), "path": f"volumes/agg-state/data/{o}-{len(d)}.bin",
                 "checksum": hashlib.md5(d).hexdigest()}
                for o, d in blocks
            ],
        }
        if parent:
            m["parent_snapshot_id"] = parent
        m["checksum_algorithm"] = "md5"
        write(root, f"volumes/agg-state/snapshots/{vid}/manifest.json", manifest_text(m))
        parent = vid
    write(root, "volumes/agg-state/latest", parent)


def valid_manifest():
    stored = jsonl(BATCHES[0])
    key = f"datasets/events/snapshots/{IDS[0]}/data/data"
    return manifest("events", IDS[0], CREATED[0], [file_ref(key, stored)], None, 2, "jsonl", "noop", "noop", True)


def n1():
    root = fresh("N1-invalid-manifests")

    def variant(name, mutate, raw=None):
        m = valid_manifest()
        mutate(m)
        text = raw if raw is not None else manifest_text(m)
        write(root, name + ".json", text)

    def drop(field):
        return lambda m: m.pop(field)

    def set_(field, value):
        return lambda m: m.__setitem__(field, value)

    def set_file(field, value):
        return lambda m: m["files"][0].__setitem__(field, value)

    for field in ["schema_name", "format_version", "dataset_id", "snapshot_id", "created_at", "compressor",
                  "partitioner"]:
        variant(f"missing-{field}", drop(field))
    variant("empty-schema_name", set_("schema_name", ""))
    variant("zero-created_at", set_("created_at", "0001-01-01T00:00:00Z"))
    variant("bad-created_at", set_("created_at", "2026-01-01 00:00:00"))
    variant("missing-metadata", drop("metadata"))
    variant("null-metadata", set_("metadata", None))
    variant("negative-row_count", set_("row_count", -1))
    variant("empty-files-path", set_file("path", ""))
    variant("negative-files-size_bytes", set_file("size_bytes", -5))
    variant("string-row_count", set_("row_count", "2"))
    # Integers must be plain integers: Go's decoder fails on these.
    base = manifest_text(valid_manifest())
    variant("float-row_count", lambda m: None, base.replace('"row_count": 2', '"row_count": 2.0'))
    variant("exponent-size_bytes", lambda m: None, base.replace('"size_bytes": 61', '"size_bytes": 6.1e1'))
    variant("unknown-checksum_algorithm", set_("checksum_algorithm", "sha1"))
    # Accepted: files null reads as [] (section 8 A6).
    variant("accepted-null-files", set_("files", None))


def n2():
    # Orphan data: a committed snapshot plus data of a second one that never got its manifest.
    root = fresh("N2-orphan-data")
    default_chain(root, "events", "noop", batches=BATCHES[:1])
    write(root, f"datasets/events/snapshots/{IDS[1]}/data/data", jsonl(BATCHES[1]))

    # The pointer names a snapshot whose manifest is missing (crash between pointer CAS and manifest Put).
    root = fresh("N2-pointer-to-missing-manifest")
    default_chain(root, "events", "noop", batches=BATCHES[:2])
    write(root, f"datasets/events/snapshots/{IDS[2]}/data/data", jsonl(BATCHES[2]))
    os.remove(os.path.join(root, "datasets/events/latest"))
    write(root, "datasets/events/latest", IDS[2])

    # Empty pointer, pointer with a trailing newline.
    root = fresh("N2-empty-pointer")
    default_chain(root, "events", "noop", batches=BATCHES[:2])
    write(root, "datasets/events/latest", b"")
    root = fresh("N2-pointer-newline")
    default_chain(root, "events", "noop", batches=BATCHES[:2])
    write(root, "datasets/events/latest", IDS[0] + "\n")  # older than the newest manifest, and with "\n"

    # Truncated manifest (Go's FS Put is not atomic).
    root = fresh("N2-truncated-manifest")
    default_chain(root, "events", "noop", batches=BATCHES[:2])
    path = os.path.join(root, f"datasets/events/snapshots/{IDS[1]}/manifest.json")
    with open(path, "rb") as f:
        text = f.read()
    with open(path, "wb") as f:
        f.write(text[: len(text) // 2])

    # Hive: canonical manifest only, partition copies missing (crash during step 7).
    root = fresh("N2-hive-canonical-only")
    shutil.copytree(os.path.join(HERE, "G4-hive"), root, dirs_exist_ok=True)
    for part in ["day=2026-01-01", "day=a%20b%2Fc"]:
        os.remove(os.path.join(root, f"datasets/events/partitions/{part}/segments/{IDS[0]}/manifest.json"))

    # Fork: two snapshots name the same parent.
    root = fresh("N2-fork")
    default_chain(root, "events", "noop", batches=BATCHES[:2])
    stored = jsonl(BATCHES[2])
    key = f"datasets/events/snapshots/{IDS[2]}/data/data"
    write(root, key, stored)
    m = manifest("events", IDS[2], CREATED[2], [file_ref(key, stored)], IDS[0], 3, "jsonl", "noop", "noop", True)
    write(root, f"datasets/events/snapshots/{IDS[2]}/manifest.json", manifest_text(m))


def n3():
    root = fresh("N3-line-framing")
    variants = [
        ("crlf", b'{"id":1}\r\n{"id":2}\r\n', 2),
        ("no-final-newline", b'{"id":1}\n{"id":2}', 2),
        ("blank-line", b'{"id":1}\n\n{"id":2}\n\r\n', 2),
    ]
    for name, data, rows in variants:
        key = f"datasets/{name}/snapshots/{IDS[0]}/data/data"
        write(root, key, data)
        m = manifest(name, IDS[0], CREATED[0], [file_ref(key, data)], None, rows, "jsonl", "noop", "noop", True)
        write(root, f"datasets/{name}/snapshots/{IDS[0]}/manifest.json", manifest_text(m))
        write(root, f"datasets/{name}/latest", IDS[0])


def n4():
    root = fresh("N4-version-and-schema")
    m = valid_manifest()
    m["future_field"] = {"nested": [1, 2, 3]}
    write(root, "accepted-unknown-key.json", manifest_text(m))
    m = valid_manifest()
    m["format_version"] = "2.0.0"
    write(root, "format_version-2.0.0.json", manifest_text(m))
    m = valid_manifest()
    m["schema_name"] = "other"
    write(root, "schema_name-other.json", manifest_text(m))
    m = valid_manifest()
    m["format_version"] = "1.2.0"
    write(root, "accepted-format_version-1.2.0.json", manifest_text(m))


if __name__ == "__main__":
    for step in [g1, g2, g3, g4, g5, g6, g7, n1, n2, n3, n4]:
        step()
