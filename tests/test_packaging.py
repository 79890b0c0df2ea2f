"""The wheel works outside a checkout: built from this tree, installed into a fresh virtual
environment, run from another directory, it carries the warehouse contract (the SQL files) and
the instance defaults as package data, builds every view on an empty warehouse, loads the
Dagster code location, and its command lines answer ``--version``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# `uv run` (how `make test` runs pytest) names its own binary in $UV.
UV = [os.environ.get("UV") or shutil.which("uv") or "uv"]

CHECK = """
from pathlib import Path
import duckdb
from pipelines.duck import apply_sql, view_names
from pipelines.configuration import DAGSTER_YAML, IN_CHECKOUT, SQL_DIR, default_workdir
from pipelines.settings import Warehouse
from pipelines.tables import create_tables
import pipelines.definitions  # the code location loads
assert "site-packages" in str(SQL_DIR) and DAGSTER_YAML.is_file(), (SQL_DIR, DAGSTER_YAML)
# Outside a checkout the defaults are the working directory's, and a drey.toml's relative
# paths are the file's.
assert not IN_CHECKOUT and default_workdir() == Path.cwd() / "var" / "run", default_workdir()
Path("etc").mkdir()
Path("etc/drey.toml").write_text('shard_root = "s"\\n[warehouse]\\nwarehouse_dir = "w"\\n')
settings = Warehouse(config_file="etc/drey.toml").settings
assert settings.shard_root == Path("etc/s").resolve(), settings.shard_root
assert settings.warehouse_dir == Path("etc/w").resolve() and settings.founder == ""
con = duckdb.connect()
create_tables(con)
print(len(apply_sql(con)), len(view_names(con)))
"""


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    def run(*args: str | Path, cwd: Path = tmp_path) -> str:
        out = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                             timeout=600)  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    run(*UV, "build", "--wheel", "--out-dir", tmp_path / "dist", "-q", cwd=REPO)
    (wheel,) = (tmp_path / "dist").glob("drey_warehouse-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"pipelines/sql/100_views.sql", "pipelines/dagster.yaml"} <= names
    assert not any(n.startswith("tests/") for n in names)
    run(*UV, "venv", "-q", "--python", sys.executable, tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    # The locked versions (uv.lock, without the dev group), as a deployment pins them.
    pins = tmp_path / "constraints.txt"
    pins.write_text(run(*UV, "export", "--frozen", "--no-dev", "--no-emit-project",
                        "--no-hashes", "-q", cwd=REPO))  # fmt: skip
    run(*UV, "pip", "install", "-q", "--python", python, "--constraint", pins, wheel)
    files, views = map(int, run(python, "-c", CHECK).split())
    assert files == len(list((REPO / "sql").glob("*.sql"))) and views >= 30
    for script in ("indexer", "drey-warehouse"):
        assert run(tmp_path / "venv" / "bin" / script, "--version").startswith(script)
