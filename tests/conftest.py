"""Shared test fixtures: paths to the read-only mainnet fixtures beside the repository, and the
real-Core tier's bitcoind (resolved once; the tier fails, never skips, when there is none) with
a factory of ``bitcoind -regtest`` processes that are all killed at the test's end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .core.bitcoind import Bitcoind, CoreUnavailableError, MakeCore, find_bitcoind

REPO = Path(__file__).resolve().parents[1]
MAINNET = REPO.parent / "shared" / "fixtures" / "mainnet"


@pytest.fixture(scope="session")
def mainnet_dir() -> Path:
    assert MAINNET.is_dir(), f"mainnet fixtures missing at {MAINNET}"
    return MAINNET


@pytest.fixture(scope="session")
def tx_index(mainnet_dir: Path) -> list[dict]:
    return json.loads((mainnet_dir / "tx" / "INDEX.json").read_text())


@pytest.fixture(scope="session")
def bitcoind_binary() -> Path:
    try:
        return find_bitcoind()
    except CoreUnavailableError as exc:
        pytest.fail(f"the real-Core tier needs bitcoind: {exc}", pytrace=False)


@pytest.fixture
def make_core(bitcoind_binary: Path, tmp_path: Path) -> Iterator[MakeCore]:
    """``make_core(name, **fields)``: a :class:`Bitcoind` (not started) in ``tmp_path/name``;
    every one made is killed when the test ends, whatever happened."""
    made: list[Bitcoind] = []

    def make(name: str = "core", **fields: Any) -> Bitcoind:
        node = Bitcoind(bitcoind_binary, tmp_path / name, **fields)
        made.append(node)
        return node

    yield make
    for node in made:
        node.kill()
