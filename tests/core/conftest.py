"""Fixtures of the real-Core tier: the bitcoind binary (resolved once; the tier fails, never
skips, when there is none), a factory of ``bitcoind -regtest`` processes that are all killed at
the test's end, and a devnet chain with Drey-like activity to replay into them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devnet.chain import Chain

from ..indexer.follow.helpers import Activity
from .bitcoind import Bitcoind, CoreUnavailableError, find_bitcoind

MakeCore = Callable[..., Bitcoind]


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


@pytest.fixture(scope="session")
def activity_chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A stopped devnet data directory: 101 blocks, then inscriptions (some recursive), vault
    payments and spends and two shallow reorgs, 150 blocks in all; returns it and the vault's
    script. Tests copy it (:func:`open_copy`) and never change it."""
    path = tmp_path_factory.mktemp("activity") / "dn"
    chain = Chain.create(path, seed=b"core-tier")
    chain.mine(101)
    act = Activity.create(chain, seed=12, max_reorg=2)
    while chain.height < 150:
        act.step()
    script = act.vault_script
    chain.close()
    return path, script


def open_copy(src: Path, dst: Path) -> Chain:
    shutil.copytree(src, dst)
    return Chain.open(dst)
