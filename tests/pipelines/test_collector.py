"""The cyclic collector paused for a run (pipelines/collector.py, ``[dagster] collector``): a
real Dagster run's steps see it disabled, it is enabled again after the run (and after a
failed one), ``"running"`` leaves it alone, and the setting refuses what is not a mode."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipelines.collector import collector_paused
from pipelines.configuration import load_settings
from pipelines.errors import ConfigurationError
from pipelines.settings import Warehouse


@pytest.fixture(autouse=True)
def _collector_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def _run_seeing_the_collector(tmp_path: Path, *, fail: bool = False, **fields: str) -> list[bool]:
    """Materialize two assets with the warehouse resource; what each step saw."""
    seen: list[bool] = []

    @dg.asset
    def first(warehouse: Warehouse) -> None:
        seen.append(gc.isenabled())

    @dg.asset(deps=[first])
    def second(warehouse: Warehouse) -> None:
        seen.append(gc.isenabled())
        if fail:
            raise RuntimeError("the step fails")

    resource = Warehouse(warehouse_dir=str(tmp_path / "warehouse"), **fields)
    result = dg.materialize(
        [first, second], resources={"warehouse": resource}, raise_on_error=False
    )
    assert result.success is not fail
    return seen


def test_a_run_pauses_the_collector_and_enables_it_after(tmp_path: Path) -> None:
    assert _run_seeing_the_collector(tmp_path) == [False, False]
    assert gc.isenabled()


def test_a_failed_run_enables_it_again(tmp_path: Path) -> None:
    assert _run_seeing_the_collector(tmp_path, fail=True) == [False, False]
    assert gc.isenabled()


def test_running_leaves_the_collector_on(tmp_path: Path) -> None:
    assert _run_seeing_the_collector(tmp_path, collector="running") == [True, True]


def test_a_pause_inside_a_pause_or_a_disabled_collector_is_left_as_it_was() -> None:
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()  # the process had disabled it itself


def test_the_setting_names_a_mode(tmp_path: Path) -> None:
    assert load_settings(env={}, workdir=tmp_path).collector == "paused"
    env = {"DREY_COLLECTOR": "running"}
    assert load_settings(env=env, workdir=tmp_path).collector == "running"
    with pytest.raises(ConfigurationError, match="collector: 'off' is not one of paused, running"):
        load_settings(env={"DREY_COLLECTOR": "off"}, workdir=tmp_path)
