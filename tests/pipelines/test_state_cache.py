"""The state cache: a read of an unchanged state file is the object in memory; a write primes
it; a replaced or removed file is read again."""

from __future__ import annotations

import pickle
from pathlib import Path

from pipelines.definitions import build_definitions
from pipelines.settings import Warehouse
from pipelines.state_cache import StateCache


def _load(path: Path) -> object:
    return pickle.loads(path.read_bytes())


def test_an_unchanged_file_is_read_once_and_a_replaced_one_again(tmp_path: Path) -> None:
    path = tmp_path / "s.pkl"
    path.write_bytes(pickle.dumps([1, 2]))
    cache = StateCache()
    first = cache.read(path, _load)
    assert cache.read(path, _load) is first
    assert (cache.hits, cache.misses) == (1, 1)
    # Replaced beside and renamed, as the store writes: a new file, read again.
    tmp = tmp_path / "s.tmp"
    tmp.write_bytes(pickle.dumps([1, 2]))
    tmp.replace(path)
    again = cache.read(path, _load)
    assert again == [1, 2] and again is not first
    assert cache.misses == 2


def test_a_write_primes_the_cache_and_a_missing_file_is_the_default(tmp_path: Path) -> None:
    path = tmp_path / "s.pkl"
    value = {"k": b"v"}
    path.write_bytes(pickle.dumps(value))
    cache = StateCache()
    cache.wrote(path, value)
    assert cache.read(path, _load) is value
    path.unlink()
    assert cache.read(path, _load, default="none") == "none"
    assert path not in cache.entries


def test_the_warehouse_keeps_its_state_across_runs_of_one_definitions(tmp_path: Path) -> None:
    defs = build_definitions(Warehouse(warehouse_dir=str(tmp_path), founder="00" * 32))
    one = defs.resources["warehouse"]
    assert isinstance(one, Warehouse) and isinstance(one.state_cache, StateCache)
    saved = ("a message",)
    one.save_state("messages", saved)
    # A run's copy of the resource (Dagster makes one per run) shares the same cache.
    copy = one.with_state_cache(one.state_cache)
    assert copy.state("messages") is saved
    assert copy.state("nothing", default=0) == 0
    copy.drop_state("messages")
    assert one.state("messages") is None
    # Without a cache of its own, a resource keeps what it read for itself only.
    alone = Warehouse(warehouse_dir=str(tmp_path), founder="00" * 32)
    alone.save_state("messages", saved)
    assert alone.state("messages") is saved
    assert Warehouse(warehouse_dir=str(tmp_path), founder="00" * 32).state("messages") == saved
