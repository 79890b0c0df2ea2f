# Everything the project needs is installed from here: uv (via pip) and the locked environment.
SHELL := /bin/bash
# `python3 -m uv` works whether or not pip's script directory is on PATH.
UV := python3 -m uv

.PHONY: bootstrap run dashboard test lint format bench

bootstrap:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet
	@# The proof toolchain (circom2, circomlib, snarkjs) and the JavaScript DuckDB reader the
	@# tests use (@duckdb/node-api 1.4), pinned by package-lock.json.
	@[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error

# The main job: with no node given, simulate 12 months of the actuary network on the devnet,
# follow it into shards, materialize every asset and publish the warehouse (var/run/). Pass
# options with ARGS, e.g. ARGS="--fresh" or ARGS="--config drey.toml".
run: bootstrap
	$(UV) run drey-warehouse run $(ARGS)

# The reference dashboard (static HTML, docs/dashboard.md) rendered from the published
# warehouse, var/run/warehouse by default (every publication renders it too).
dashboard: bootstrap
	$(UV) run drey-warehouse dashboard $(ARGS)

# The whole test suite, with the real-Core tier (tests/core): bitcoind from BITCOIND, else on
# PATH, else built once per machine from the Bitcoin Core source (tools/find-bitcoind, ~10 min
# the first time), and PostgreSQL's server programs (tools/find-postgres: Debian's postgresql,
# installed once with apt) and Chromium (tools/find-chromium: Debian's chromium, likewise).
# Without any of them, this says so in one line and fails; nothing skips.
test: bootstrap
	@bitcoind=$$(tools/find-bitcoind) && echo "real-Core tier: $$bitcoind" && \
	pg=$$(tools/find-postgres) && echo "PostgreSQL (the production instance's test): $$pg" && \
	chromium=$$(tools/find-chromium) && echo "browser (the dashboard's test): $$chromium" && \
	BITCOIND=$$bitcoind PG_BINDIR=$$pg CHROMIUM=$$chromium $(UV) run pytest -q

# Style, formatting, the import contracts of pyproject.toml (the one-way flow), the type
# checker (strict on btc, drey and indexer), and the npm lock in step with package.json
# (`npm ci --dry-run` checks it without touching node_modules: bootstrap skips npm ci when
# node_modules is newer than the lock, so a stale lock would otherwise pass here and fail on
# a fresh machine; it must list every platform's optional packages, not only this one's).
lint: bootstrap
	$(UV) run ruff check . && $(UV) run ruff format --check . && $(UV) run lint-imports && $(UV) run mypy
	@npm ci --dry-run --no-audit --no-fund --loglevel=error >/dev/null

format: bootstrap
	$(UV) run ruff format . && $(UV) run ruff check --fix .

bench: bootstrap
	$(UV) run python bench/decode.py
