"""Fixtures for the pipeline tests: the small real chain of ``chainfix`` with its shards, and
helpers that run the code location's jobs in process against an ephemeral instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .chainfix import DemoChain, build_chain
from .harness import Pipeline, make_pipeline


@pytest.fixture(scope="module")
def test_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoChain, Path]]:
    """The chainfix chain (closed after the module) and its shard root."""
    root = tmp_path_factory.mktemp("chain")
    tc = build_chain(root / "datadir")
    tc.write_shards(root / "shards")
    yield tc, root / "shards"
    tc.chain.close()


@pytest.fixture(scope="module")
def built(
    test_chain: tuple[DemoChain, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[DemoChain, Pipeline]:
    """The chain's warehouse, built once for the module."""
    tc, shards = test_chain
    pipeline = make_pipeline(shards, tmp_path_factory.mktemp("warehouse"), tc.founder)
    pipeline.run_all()
    return tc, pipeline
