"""The code location as the Dagster UI loads it: ``dagster-webserver -m pipelines`` with the
committed ``dagster.yaml`` serves it (asked over its GraphQL API) with every job, sensor,
schedule and asset group, and every warehouse table as an asset with its column schema and
table name."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.assets.groups import GROUPS
from pipelines.tables import TABLES, sql_type

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename
    ... on RepositoryLocation { repositories { jobs { name } sensors { name }
                                               schedules { name } assetGroups { groupName } } }
    ... on PythonError { message } } } } } }"""
ASSETS_QUERY = """{ assetNodes { assetKey { path } groupName
  metadataEntries { label __typename
    ... on TableSchemaMetadataEntry { schema { columns { name type constraints { nullable } } } }
    ... on TextMetadataEntry { text } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def test_dagster_ui_loads_the_code_location(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DREY_SHARD_ROOT": str(tmp_path / "s")}
    webserver = Path(sys.executable).with_name("dagster-webserver")
    proc = subprocess.Popen(
        # No -m: pyproject's [tool.dagster] names the code location.
        [str(webserver), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                reply = _graphql(port, QUERY)
                assets = _graphql(port, ASSETS_QUERY)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the webserver did not answer in 180 s"
                time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(30)
    (entry,) = reply["data"]["workspaceOrError"]["locationEntries"]
    assert entry["name"] == "pipelines" and entry["loadStatus"] == "LOADED"
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    (repo,) = location["repositories"]
    assert {j["name"] for j in repo["jobs"]} >= {"chain_job", "months_job", "full_job"}
    assert {s["name"] for s in repo["sensors"]} == {"shards_sensor", "months_sensor"}
    assert {s["name"] for s in repo["schedules"]} == {"monthly_schedule"}
    groups = {g["groupName"] for g in repo["assetGroups"]}
    assert groups == set(GROUPS)  # a handful, by concern (pipelines/assets/groups.py)

    nodes = {"/".join(n["assetKey"]["path"]): n for n in assets["data"]["assetNodes"]}
    assert set(TABLES) <= set(nodes), set(TABLES) - set(nodes)
    for table, spec in TABLES.items():
        entries = {e["label"]: e for e in nodes[table]["metadataEntries"]}
        assert entries["dagster/table_name"]["text"] == f"warehouse.data.{table}"
        columns = entries["dagster/column_schema"]["schema"]["columns"]
        assert [(c["name"], c["type"], c["constraints"]["nullable"]) for c in columns] == [
            (f.name, sql_type(f.type), f.nullable) for f in spec.schema
        ], table
