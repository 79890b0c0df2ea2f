"""Fixtures of the real-Core tier (the bitcoind binary and ``make_core`` are in the suite's
root conftest, for the pipelines' tests too): a devnet chain with Drey-like activity to replay
into Core."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devnet.chain import Chain

from ..indexer.follow.helpers import Activity, reference_from_blocks
from .bitcoind import Bitcoind, MakeCore

__all__ = ["MakeCore", "activity_chain", "fresh_index", "open_copy"]


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


def fresh_index(core: Bitcoind, vault: bytes) -> dict[str, list[dict]]:
    """A fresh index of Core's active chain: what the shards must equal."""
    return reference_from_blocks(iter(core.active_blocks()), vault_scripts=(vault,))
