# Everything the project needs is installed from here: uv (via pip) and the locked environment.
SHELL := /bin/bash
# `python3 -m uv` works whether or not pip's script directory is on PATH.
UV := python3 -m uv
FIXTURE_BLOCKS := ../shared/fixtures/mainnet/blocks

.PHONY: bootstrap run test lint format bench

bootstrap:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

# The main job. Until the follower and the pipelines exist it decodes the shared mainnet blocks
# into Parquet shards under var/shards and prints what it wrote.
run: bootstrap
	@for block in $(FIXTURE_BLOCKS)/*.bin; do $(UV) run indexer decode-block "$$block" --out var/shards; done

# The whole test suite.
test: bootstrap
	$(UV) run pytest -q

lint: bootstrap
	$(UV) run ruff check . && $(UV) run ruff format --check .

format: bootstrap
	$(UV) run ruff format . && $(UV) run ruff check --fix .

bench: bootstrap
	$(UV) run python bench/decode.py
