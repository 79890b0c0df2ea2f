"""The executor chosen by configuration (pipelines/executor.py): the settings name it and
reject what is not one; a multiprocess run, launched with Dagster's own command line on a
persistent instance, runs its steps in processes of their own under the run's writer lock and
publishes the same warehouse as the in-process build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.configuration import load_settings
from pipelines.errors import ConfigurationError
from pipelines.executor import warehouse_executor
from pipelines.partitions import MONTHS, range_tags
from pipelines.settings import Warehouse
from pipelines.store import Store

from .chainfix import DemoChain
from .harness import Pipeline, warehouse_contents

REPO = Path(__file__).resolve().parents[2]


def test_the_settings_name_the_executor(tmp_path: Path) -> None:
    env = {"DREY_EXECUTOR": "multiprocess", "DREY_MAX_CONCURRENT_STEPS": "3"}
    settings = load_settings(env=env, workdir=tmp_path)
    assert (settings.executor, settings.max_concurrent_steps) == ("multiprocess", 3)
    assert load_settings(env={}, workdir=tmp_path).executor == "in_process"
    with pytest.raises(ConfigurationError, match="executor: 'threads' is not one of"):
        load_settings(env={"DREY_EXECUTOR": "threads"}, workdir=tmp_path)
    with pytest.raises(ConfigurationError, match="max_concurrent_steps: 999 is out of range"):
        load_settings(env={"DREY_MAX_CONCURRENT_STEPS": "999"}, workdir=tmp_path)


def test_the_run_config_overrides_the_settings_and_a_change_of_settings_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DREY_EXECUTOR", "multiprocess")
    executor = warehouse_executor(Warehouse(warehouse_dir=str(tmp_path)))
    assert executor.get_requirements({}) == dg.multiple_process_executor_requirements()
    assert executor.get_requirements({"kind": "in_process"}) == []
    monkeypatch.setenv("DREY_EXECUTOR", "in_process")  # read again, not remembered
    assert executor.get_requirements({}) == []


def _execute(job: str, env: dict[str, str], cwd: Path, tags: dict[str, str] | None = None) -> str:
    """``dagster job execute`` of ``job``; its output."""
    command = [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "pipelines"]
    command += ["-j", job] + (["--tags", json.dumps(tags)] if tags else [])
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.slow
def test_a_multiprocess_run_publishes_what_the_in_process_build_does(
    built: tuple[DemoChain, Pipeline], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tc, pipeline = built
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    warehouse_dir = tmp_path / "warehouse"
    config = tmp_path / "drey.toml"
    # lock_wait 5: a step that could not re-enter its run's lock fails fast.
    config.write_text(
        f'shard_root = "{pipeline.warehouse.shards}"\n'
        f'[warehouse]\nwarehouse_dir = "{warehouse_dir}"\nfounder = "{tc.founder.hex()}"\n'
        "lock_wait = 5\n"
        '[dagster]\nexecutor = "multiprocess"\nmax_concurrent_steps = 2\n'
    )
    env = {**os.environ, "DAGSTER_HOME": str(home), "DREY_CONFIG": str(config)}
    _execute("chain_job", env, tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        months = instance.get_dynamic_partitions(MONTHS.name)
    assert months == pipeline.months()
    _execute("months_job", env, tmp_path, range_tags(months))

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
        for run in runs:
            starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
            pids = {e.dagster_event.pid for e in starts if e.dagster_event is not None}
            # Each step in a process of its own: as many processes as steps.
            assert len(starts) > 1 and len(pids) == len(starts), (run.job_name, pids)
    store = Store(warehouse_dir)
    assert (store.root / ".writer.lock").read_text() == ""  # released with the run
    assert warehouse_contents(store.warehouse) == warehouse_contents(
        pipeline.warehouse.store.warehouse
    )
