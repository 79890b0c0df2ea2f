"""Fixtures of the real-Core tier (the bitcoind binary and ``make_core`` are in the suite's
root conftest, for the pipelines' tests too): a devnet chain with Drey-like activity, and Core
started with it replayed (:func:`replay`, the ``replayed`` fixture)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devnet.chain import Chain

from ..indexer.follow.helpers import Activity, reference_from_blocks
from .bitcoind import Bitcoind, MakeCore

__all__ = ["MakeCore", "activity_chain", "fresh_index", "open_copy", "replay", "replayed"]
Replayed = tuple[Bitcoind, Chain, bytes]


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


def replay(make_core: MakeCore, activity: tuple[Path, bytes], dst: Path, **fields: Any) -> Replayed:
    """Core (``make_core(**fields)``) started and given a copy of the activity chain: Core, the
    open devnet copy (the caller closes it) and the vault script."""
    src, vault = activity
    chain = open_copy(src, dst)
    core = make_core(**fields).start()
    core.sync_from(chain)
    return core, chain, vault


@pytest.fixture
def replayed(make_core: MakeCore, activity_chain, tmp_path: Path) -> Iterator[Replayed]:
    """Core holding the devnet's activity chain, the devnet copy beside it, the vault."""
    core, chain, vault = replay(make_core, activity_chain, tmp_path / "dn")
    yield core, chain, vault
    chain.close()
