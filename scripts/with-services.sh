#!/usr/bin/env bash
# Runs a command with throwaway test services, then stops them:
#   - PostgreSQL: initdb in a temp dir as the non-root `postgres` user, a free loopback port;
#     exported as ARCHIVER_TEST_POSTGRES_URL.
#   - S3 API server (moto) on a free loopback port; exported as ARCHIVER_TEST_S3_ENDPOINT.
# A service that cannot start is reported; under CI=true that fails the run.
set -uo pipefail
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cleanup() {
    if [ -n "${PGROOT:-}" ] && [ -d "$PGROOT/data" ]; then
        $AS_PG "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$PGROOT"
    fi
    [ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

PGBIN=$(pg_config --bindir 2>/dev/null)
[ -x "$PGBIN/initdb" ] || PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ "$(id -u)" = 0 ]; then AS_PG="runuser -u postgres --"; else AS_PG=""; fi
# Functional tests trade durability for speed; benchmarks (ARCHIVER_PG_DURABLE=1) keep fsync on.
PGFAST="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${ARCHIVER_PG_DURABLE:-}" = 1 ] && PGFAST=""
if [ -x "$PGBIN/initdb" ]; then
    PGPORT=$(free_port)
    PGROOT=$(mktemp -d /tmp/pgt.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGROOT"
    if (cd "$PGROOT" && $AS_PG "$PGBIN/initdb" -D "$PGROOT/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null \
        && $AS_PG "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 30 \
            -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c max_connections=300 $PGFAST" start >/dev/null); then
        export ARCHIVER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
        echo "with-services: PostgreSQL on 127.0.0.1:$PGPORT"
    else
        echo "with-services: PostgreSQL failed to start:"; cat "$PGROOT/server.log" 2>/dev/null | tail -5
        [ "${CI:-}" = true ] && exit 1
    fi
else
    echo "with-services: no PostgreSQL server binaries (run make deps)"; [ "${CI:-}" = true ] && exit 1
fi

if command -v moto_server >/dev/null 2>&1; then
    S3PORT=$(free_port)
    # moto behind a lock: its conditional writes are then atomic, as on S3 (see the script).
    python3 "$(dirname "$0")/s3-test-server.py" 127.0.0.1 "$S3PORT" >/tmp/moto-$S3PORT.log 2>&1 &
    MOTO_PID=$!
    for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$S3PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
    export ARCHIVER_TEST_S3_ENDPOINT="http://127.0.0.1:$S3PORT"
    echo "with-services: S3 API server (moto) on 127.0.0.1:$S3PORT"
fi

"$@"
