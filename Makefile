# lode-archiver: build, test, demo and benchmark entry points.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BUILD_APT_PACKAGES := libpq-dev libsqlite3-dev libzstd-dev zlib1g-dev pkg-config
APT_PACKAGES := $(BUILD_APT_PACKAGES) zstd jq sqlite3 time chromium chromium-driver
# The demo needs the build's headers and zstdcat; DuckDB for Python is optional (the demo skips that step).
DEMO_APT_PACKAGES := $(BUILD_APT_PACKAGES) zstd
PIP_PACKAGES := duckdb zstandard moto[server] boto3 pytest pyyaml selenium

.PHONY: deps demo-deps build release test test-swift soundness demo bench bench-serve soak clean

## deps: install what builds and tests need (idempotent; skips what is present)
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$(command -v initdb || ls $$(pg_config --bindir 2>/dev/null)/initdb 2>/dev/null)" ]; then missing="$$missing postgresql"; fi; \
	if [ -n "$$missing" ]; then echo "deps: apt-get install$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: system packages present"; fi
	@python3 -c 'import duckdb, zstandard, moto, boto3, pytest, yaml, selenium' 2>/dev/null && echo "deps: python packages present" || \
	  { echo "deps: pip install $(PIP_PACKAGES)"; python3 -m pip install -q $(PIP_PACKAGES); }

## build: debug build of the package
build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product archiver

## soundness: static checks (one importer per C module, formatting)
soundness:
	@bash scripts/soundness.sh

# In-process tests that keep both cores busy for minutes (20k snapshots planned; a 1 MiB cold-read cache under churn).
HEAVY = replayOfTwentyThousandSnapshots|ColdReadCacheBoundsTests

## test: install deps, start throwaway PostgreSQL + S3 servers, run every test; a skipped test fails the run
test: deps soundness
	$(SWIFT) build --build-tests
	# Three runs, so that long CPU-bound tests never share the 2-thread cooperative pool with in-process tests
	# that hold leases or wait with deadlines: the in-process suites, then the CPU-bound ones ($(HEAVY)), then
	# the process-level suite (real archiver processes, kill -9, serve under load).
	bash scripts/with-services.sh bash scripts/fail-on-skips.sh sh -c \
	  '$(SWIFT) test --skip-build --skip ArchiverCLITests --skip "$(HEAVY)" \
	   && $(SWIFT) test --skip-build --skip ArchiverCLITests --filter "$(HEAVY)" \
	   && $(SWIFT) test --skip-build --filter ArchiverCLITests'

## demo-deps: only what the demo needs (no PostgreSQL server, moto or pytest); idempotent
demo-deps:
	@missing=""; for p in $(DEMO_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "demo-deps: apt-get install$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	else echo "demo-deps: system packages present"; fi
	@python3 -c 'import duckdb' 2>/dev/null && echo "demo-deps: duckdb present" || \
	  { echo "demo-deps: pip install duckdb"; python3 -m pip install -q duckdb || \
	    echo "demo-deps: no duckdb for Python; the demo skips its DuckDB step"; }

## demo: a longer tour on the embedded default (SQLite + ./archive): about 5 min of release build on 2 cores
## the first time, then about 25 s
demo: demo-deps
	$(SWIFT) build -c release --product archiver
	bash scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)/archiver"

## bench: end-to-end benchmarks against their references; writes docs/BENCHMARKS.md
bench: deps
	$(SWIFT) build -c release --product archiver
	ARCHIVER_PG_DURABLE=1 bash scripts/with-services.sh python3 scripts/bench.py "$$($(SWIFT) build -c release --show-bin-path)/archiver" $(BENCH_ARGS)

## bench-serve: appends through archiver serve (HTTP) next to direct library appends; writes docs/BENCHMARKS-serve.md
bench-serve: deps
	$(SWIFT) build -c release --product archiver
	python3 scripts/bench_serve.py "$$($(SWIFT) build -c release --show-bin-path)/archiver" $(BENCH_ARGS)

## soak: the kill -9 harnesses with 1000 cycles each: flushes killed mid-commit, and `serve` killed under HTTP load
soak: deps
	$(SWIFT) build --build-tests
	ARCHIVER_CRASH_CYCLES=1000 $(SWIFT) test --skip-build --filter CrashTests
	ARCHIVER_SERVE_KILL_CYCLES=1000 $(SWIFT) test --skip-build --filter ServeKillSoakTests

clean:
	rm -rf .build demo-work bench-work
