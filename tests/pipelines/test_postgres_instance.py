"""The production instance (``deploy/dagster.postgres.yaml``, docs/operating.md "Production")
against a real PostgreSQL, as it runs in production: the chain job launched with Dagster's
command line waits in the run queue, the daemon (``dagster-daemon run``) dequeues it and runs it
in a run worker; configured by one ``DREY_CONFIG``, it keeps its run, its events and the month
partitions in PostgreSQL, where another process (this one) reads them back."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml

from .chainfix import DemoChain
from .postgres import Postgres, find_bindir

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process and everything it started, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            # The daemon is gone; its children may not be.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        return


def _statuses(url: str) -> list[tuple[str, str]]:
    con = psycopg2.connect(url)
    try:
        cur = con.cursor()
        cur.execute("select pipeline_name, status from runs")
        return [(str(name), str(status)) for name, status in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = Postgres(find_bindir()).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_run_on_the_postgres_instance(
    postgres: Postgres,
    test_chain: tuple[DemoChain, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tc, shards = test_chain
    url = postgres.create_database("dagster")
    # As deploy/dagster.postgres.yaml says: the psycopg2 driver, named.
    dagster_url = url.replace("postgresql://", "postgresql+psycopg2://")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    config = tmp_path / "drey.toml"
    config.write_text(
        f'shard_root = "{shards}"\n[warehouse]\nwarehouse_dir = "{tmp_path / "warehouse"}"\n'
        f'founder = "{tc.founder.hex()}"\n'
    )
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_PG_URL": dagster_url,
           "DREY_CONFIG": str(config)}  # fmt: skip
    bindir = Path(sys.executable).parent
    launch = subprocess.run(
        [str(bindir / "dagster"), "job", "launch", "-m", "pipelines", "-j", "chain_job"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert launch.returncode == 0, launch.stdout[-3000:] + launch.stderr[-3000:]
    assert _statuses(url) == [("chain_job", "QUEUED")]  # the coordinator queues; nothing runs
    # The sensors start on; stopped (their state is in PostgreSQL too), the daemon runs only
    # the queued run.
    for sensor in ("shards_sensor", "months_sensor"):
        stop = subprocess.run(
            [str(bindir / "dagster"), "sensor", "stop", "-m", "pipelines", sensor],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert stop.returncode == 0, stop.stdout[-2000:] + stop.stderr[-2000:]
    log = tmp_path / "daemon.log"
    with open(log, "w") as out:
        # Its own process group: the daemon starts a code server (and run workers) that must
        # end with it.
        daemon = subprocess.Popen([str(bindir / "dagster-daemon"), "run", "-m", "pipelines"],
                                  cwd=tmp_path, env=env, stdout=out, stderr=out,
                                  start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while _statuses(url)[0][1] not in ("SUCCESS", "FAILURE", "CANCELED"):
            assert daemon.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the daemon did not finish the run in 300 s"
            time.sleep(1)
    finally:
        _stop_group(daemon)
    assert _statuses(url) == [("chain_job", "SUCCESS")], log.read_text()[-3000:]

    # The run and its events are rows of PostgreSQL, not files under DAGSTER_HOME.
    assert not list(home.rglob("*.db")), "an SQLite storage was created"
    con = psycopg2.connect(url)
    try:
        cur = con.cursor()
        cur.execute(
            "select count(distinct asset_key) from event_logs "
            "where dagster_event_type = 'ASSET_MATERIALIZATION'"
        )
        materialized = cur.fetchone()[0]
        cur.execute("select partition from dynamic_partitions where partitions_def_name = 'months'")
        months = {row[0] for row in cur.fetchall()}
    finally:
        con.close()
    assert materialized >= 10  # every chain asset: blocks … proof_systems
    assert months and all(len(m) == 7 for m in months)

    # Another process opening the instance sees what the run wrote (the webserver, the daemon).
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        event = instance.get_latest_materialization_event(dg.AssetKey("blocks"))
        assert event is not None and event.asset_materialization is not None
        rows = event.asset_materialization.metadata["dagster/row_count"].value
        assert rows == tc.chain.height + 1
        assert set(instance.get_dynamic_partitions("months")) == months
    finally:
        instance.dispose()


def test_the_docker_deployments_instance_launches_runs_in_containers(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # deploy/docker/dagster.yaml as the daemon of deploy/docker/compose.yaml loads it: its
    # storage in PostgreSQL, its runs launched by Dagster's DockerRunLauncher with the
    # environment and volumes the code server has.
    from dagster_docker import DockerRunLauncher

    url = postgres.create_database("dagster_docker").replace(
        "postgresql://", "postgresql+psycopg2://"
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "docker" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        assert set(launcher.env_vars) == {"DAGSTER_PG_URL", "DREY_CONFIG"}
        compose = yaml.safe_load((REPO / "deploy" / "docker" / "compose.yaml").read_text())
        code_server = compose["services"]["drey-code"]
        assert launcher.networks == code_server["networks"]
        assert launcher.container_kwargs["volumes"] == code_server["volumes"]
        assert set(launcher.env_vars) <= set(code_server["environment"])
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
    finally:
        instance.dispose()
