#!/usr/bin/env bash
# Runs a test command and fails if any test or suite was skipped: `make test` starts every service the
# tests need, so a skip there means a missing service or tool, never a pass.
#   bash scripts/fail-on-skips.sh swift test --skip-build
set -uo pipefail
log=$(mktemp -t archiver-tests.XXXXXX)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] || exit "$status"
skips=$(grep -aE "(Test|Suite) .* skipped|Test Case '.*' skipped" "$log" || true)
if [ -n "$skips" ]; then
    echo "fail-on-skips: $(printf '%s\n' "$skips" | wc -l) test(s) or suite(s) skipped; every service must run:"
    printf '%s\n' "$skips" | head -20
    exit 1
fi
