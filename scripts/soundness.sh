#!/usr/bin/env bash
# Static checks that SwiftPM does not enforce.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
# Exactly one Swift module imports each C module.
for c in CZstd:Zstd CZlib:Gzip CSQLite:CoordinationSQLite CLibPQ:CoordinationPostgres; do
    mod=${c%%:*}; owner=${c##*:}
    others=$(grep -rlE "^\s*((@testable|internal|public|package|private|fileprivate)\s+)*import\s+$mod\b" Sources Tests \
        --include='*.swift' | grep -v "^Sources/$owner/" || true)
    if [ -n "$others" ]; then
        echo "soundness: $mod may be imported only by Sources/$owner, but is imported by: $others"; fail=1
    fi
done
# No stray placeholders or unfinished markers in the product.
if grep -rnE 'fatalError\("(TODO|not implemented|unimplemented)' Sources; then
    echo "soundness: unfinished code in Sources"; fail=1
fi
# Formatting, where swift-format is available (it ships with the toolchain).
if swift format --version >/dev/null 2>&1; then
    if ! swift format lint --strict --recursive --parallel Sources Tests >/tmp/archiver-format.log 2>&1; then
        echo "soundness: swift format lint found $(wc -l </tmp/archiver-format.log) issue(s); first ones:"
        head -20 /tmp/archiver-format.log
        fail=1
    fi
fi
[ $fail = 0 ] && echo "soundness: ok"
exit $fail
