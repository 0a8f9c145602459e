#!/usr/bin/env bash
# The 2-minute tour on the embedded default: SQLite (./archiver.db) + a filesystem archive (./archive).
# Usage: scripts/demo.sh PATH/TO/archiver   (make demo builds it and passes it in)
set -euo pipefail
ARCHIVER=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK="$ROOT/demo-work"
rm -rf "$WORK"; mkdir -p "$WORK"; cd "$WORK"
archiver() { "$ARCHIVER" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
start=$(date +%s)

step "1. Create the coordination store (SQLite, ./archiver.db)"
archiver init

step "2. Append 100,000 bank-account events (2,000 accounts) through the CLI's batch mode"
python3 "$ROOT/examples/bank/generate.py" --events 100000 --accounts 2000 --seed 1 | archiver append

step "3. Flush them to the archive as a named cut point"
archiver flush --cut opening-day

step "4. Append 20,000 more events, flush again"
python3 "$ROOT/examples/bank/generate.py" --events 20000 --accounts 2000 --seed 2 --skip-open | archiver append
archiver flush
archiver cut list --all | head -5

step "5. Replay account-42 to the first cut and to latest (built-in merge-patch fold)"
echo "at opening-day:"; archiver replay --to opening-day --stream account-42 --quiet
echo "at latest:";      archiver replay --to latest --stream account-42 --quiet

step "6. Per-stream balance sums for the whole archive (sum of data.amount), first 3 rows"
archiver replay --to latest --projection sum:amount --category account --output balances.jsonl
head -3 balances.jsonl

step "7. Verify every checksum, the hash chain and the manifest chain"
archiver verify

step "8. Export account-42 as an audit bundle and check it offline (no archive needed)"
archiver keys generate --out demo-key >/dev/null
archiver flush --signing-key demo-key.key --quiet || true
python3 "$ROOT/examples/bank/generate.py" --events 500 --accounts 50 --seed 3 --skip-open | archiver append >/dev/null
archiver flush --signing-key demo-key.key --quiet
archiver export --stream account-42 --from 120001 --format csv --output account-42.tar
archiver verify-bundle account-42.tar --public-key demo-key.pub

step "9. The archive is plain Lode: any tool can read it"
archiver lode snapshots archive --dataset events | head -4
seg=$(find archive -name 'data.zst' | head -1)
echo "zstdcat $seg | head -1:"; (zstdcat "$seg" | head -1 | cut -c1-200) || true
if python3 -c 'import duckdb' 2>/dev/null; then
    step "10. DuckDB over the archive (hive partitions category/day)"
    python3 - <<'PY'
import duckdb
rows = duckdb.sql("""
  SELECT category, count(*) AS events, round(sum(CAST(data->>'amount' AS DOUBLE)), 2) AS net
  FROM read_json('archive/datasets/events/partitions/**/data/data*.zst', format='newline_delimited',
       compression='zstd', hive_partitioning=true,
       columns={position:'BIGINT', stream:'VARCHAR', version:'BIGINT', id:'VARCHAR', type:'VARCHAR',
                recorded_at:'VARCHAR', data:'JSON', metadata:'JSON', hash:'VARCHAR'})
  GROUP BY category""").fetchall()
for r in rows: print(f"  category={r[0]}  events={r[1]}  net amount={r[2]}")
PY
else
    echo "(skipping the DuckDB step: pip install duckdb)"
fi

step "11. Compact the snapshots into one generation (checked before it is used), and verify once more"
archiver compact
archiver verify

step "12. Prove the archive restores (a drill, attested in the archive), then prune the hot store to opening-day"
archiver drill --to opening-day
archiver prune --before opening-day
archiver drill --list
printf '\nDemo finished in %ss. Files are in %s.\n' $(( $(date +%s) - start )) "$WORK"
