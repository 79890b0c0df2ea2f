# Everything the project needs is installed from here: uv (via pip) and the locked environment.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")

.PHONY: bootstrap run test lint format bench

bootstrap:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	@uv sync --frozen --quiet

# The main job.
run: bootstrap
	uv run indexer decode-block ../shared/fixtures/mainnet/blocks/839999.bin --out var/shards

# The whole test suite.
test: bootstrap
	uv run pytest -q

lint: bootstrap
	uv run ruff check . && uv run ruff format --check .

format: bootstrap
	uv run ruff format . && uv run ruff check --fix .
