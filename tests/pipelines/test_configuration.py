"""The product's one configuration model (pipelines/configuration.py, docs/operating.md step 2):
one file for the follower, the warehouse and Dagster; every key also ``DREY_<KEY>`` and a flag;
one validator; one-line errors naming the key and where its value came from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.errors import ConfigError
from indexer.follow.config import load_config
from pipelines.configuration import load_settings
from pipelines.errors import ConfigurationError
from pipelines.settings import Warehouse

REPO = Path(__file__).resolve().parents[2]
FOUNDER = "ab" * 32

DREY_TOML = f"""\
network = "regtest"
shard_root = "shards"
vault_scripts = ["5120{"11" * 32}"]
[node]
rpc_url = "http://127.0.0.1:18443/"
rpc_user = "drey"
rpc_password = "from-the-file"
rest_url = true
[tuning]
fetch_workers = 2
[warehouse]
warehouse_dir = "warehouse"
founder = "{FOUNDER}"
lock_wait = 30
[dagster]
dagster_home = "dagster"
"""


@pytest.fixture
def drey_toml(tmp_path: Path) -> Path:
    path = tmp_path / "etc" / "drey.toml"
    path.parent.mkdir()
    path.write_text(DREY_TOML)
    return path


def test_one_file_names_the_shard_root_once_for_the_follower_and_the_warehouse(
    drey_toml: Path,
) -> None:
    settings = load_settings(drey_toml)
    etc = drey_toml.parent
    assert settings.shard_root == settings.follow.shard_root == etc / "shards"
    assert settings.warehouse_dir == etc / "warehouse"
    assert settings.dagster_home == etc / "dagster"
    assert (settings.founder, settings.lock_wait, settings.verify_workers) == (FOUNDER, 30.0, 0)
    assert settings.follow.rest_url == "http://127.0.0.1:18443"
    assert settings.follow.fetch_workers == 2
    # The follower reads the same file and leaves the other tables alone.
    assert load_config(drey_toml) == settings.follow


def test_the_environment_overrides_the_file_and_flags_override_both(
    drey_toml: Path, tmp_path: Path
) -> None:
    env = {
        "DREY_CONFIG": str(drey_toml),
        "DREY_SHARD_ROOT": str(tmp_path / "env-shards"),
        "DREY_RPC_PASSWORD": "from-the-env",
        "DREY_RPC_URL": "http://10.0.0.2:8332/",
        "DREY_ZMQ": "tcp://10.0.0.2:28332, tcp://10.0.0.2:28333",
        "DREY_FETCH_WORKERS": "3",
        "DREY_WAREHOUSE_DIR": "relative-to-the-cwd",
        "DREY_LOCK_WAIT": "5",
        "DAGSTER_HOME": str(tmp_path / "dh"),
    }
    settings = load_settings(env=env, overrides={"fetch_workers": 4, "founder": "cd" * 32})
    follow = settings.follow
    assert settings.shard_root == tmp_path / "env-shards"
    assert (follow.rpc_user, follow.rpc_password) == ("drey", "from-the-env")
    # rest_url = true in the file follows the RPC URL of whichever source set it.
    assert follow.rest_url == "http://10.0.0.2:8332"
    assert follow.zmq == ("tcp://10.0.0.2:28332", "tcp://10.0.0.2:28333")
    assert follow.fetch_workers == 4  # the flag
    assert settings.warehouse_dir == Path("relative-to-the-cwd")
    assert settings.lock_wait == 5.0 and settings.dagster_home == tmp_path / "dh"
    assert settings.founder == "cd" * 32
    # Without an environment mapping nothing is read from it: callers say which they use.
    assert load_settings(drey_toml).follow.rpc_password == "from-the-file"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[warehouse]\nwarehouse_di = 'w'\n", {},
         "unknown key 'warehouse_di' in [warehouse] of {file} (did you mean 'warehouse_dir'?)"),
        ("[dagster]\nhome = 'd'\n", {}, "unknown key 'home' in [dagster] of {file}"),
        ("[warehouse]\nfounder = 'zz'\n", {}, "founder: not hex: 'zz'"),
        ("[warehouse]\nlock_wait = 'soon'\n", {}, "lock_wait (in {file}): expected a number"),
        ("warehouse = 3\n", {}, "[warehouse] in {file}: expected a table, got 3"),
        ("", {"DREY_VERIFY_WORKERS": "many"}, "DREY_VERIFY_WORKERS: expected an integer"),
        ("", {"DREY_FETCH_WORKERS": "99"},
         "fetch_workers: 99 is out of range (1..64) (set in DREY_FETCH_WORKERS)"),
        ("", {"DREY_FETCH_WORKERS": "two"}, "DREY_FETCH_WORKERS: expected an integer, got 'two'"),
        ("[tuning]\nfetch_workers = 0\n", {},
         "fetch_workers: 0 is out of range (1..64) (set in {file})"),
        ("[node]\nrpc_urll = 'x'\n", {}, "unknown key 'rpc_urll' in [node] of {file}"),
    ],
)  # fmt: skip
def test_errors_are_one_line_naming_the_key_and_its_source(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    file = tmp_path / "drey.toml"
    file.write_text('shard_root = "s"\n' + text)
    with pytest.raises(ConfigurationError) as info:
        load_settings(file, env=env)
    assert str(info.value).startswith(message.format(file=file)), str(info.value)
    assert "\n" not in str(info.value)


def test_the_follower_alone_reports_its_keys_with_their_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^shard_root is required .*DREY_SHARD_ROOT"):
        load_config(env={})
    with pytest.raises(ConfigError, match=r"^DREY_MAX_WAIT: expected a number, got 'x'$"):
        load_config(env={"DREY_SHARD_ROOT": str(tmp_path), "DREY_MAX_WAIT": "x"})
    config = load_config(env={"DREY_SHARD_ROOT": "s", "DREY_REST_URL": "false"})
    assert config.shard_root == Path("s") and config.rest_url is None


def test_the_devnet_founder_is_never_the_default_of_another_shard_root(tmp_path: Path) -> None:
    work = tmp_path / "run"
    (work / "devnet").mkdir(parents=True)
    (work / "devnet" / "network.json").write_text(f'{{"founder": "{FOUNDER}"}}')
    assert load_settings(workdir=work).founder == FOUNDER  # the main job's own devnet
    elsewhere = load_settings(workdir=work, overrides={"shard_root": tmp_path / "node-shards"})
    assert elsewhere.founder == ""


def test_the_dagster_resource_reads_the_settings_when_used_not_at_import(
    drey_toml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DREY_CONFIG", raising=False)
    resource = Warehouse()  # what the code location builds, with nothing configured
    monkeypatch.setenv("DREY_CONFIG", str(drey_toml))
    monkeypatch.setenv("DREY_VERIFY_WORKERS", "3")
    assert resource.shards == drey_toml.parent / "shards"
    assert resource.store.root == drey_toml.parent / "warehouse"
    assert resource.founder_key == bytes.fromhex(FOUNDER) and resource.workers == 3
    # A field set as Dagster config (the launchpad, or code) wins over the file.
    assert Warehouse(lock_wait=1.5).settings.lock_wait == 1.5


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "300", **env})  # fmt: skip


def test_the_operating_guide_s_error_lines_are_what_the_commands_print(tmp_path: Path) -> None:
    """docs/operating.md, step 2, quotes two errors; these are the commands that print them."""
    guide = (REPO / "docs" / "operating.md").read_text()
    block = guide.split("stops the command at once with one line naming the key", 1)[1]
    typo_line, range_line = block.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    (tmp_path / "drey.toml").write_text('shard_root = "s"\n[warehouse]\nwarehouse_di = "w"\n')
    typo = _cli("pipelines.driver.main", "run", "--config", "drey.toml", cwd=tmp_path, env={})
    assert typo.returncode == 2 and typo.stdout.strip() == typo_line, typo.stdout + typo.stderr
    (tmp_path / "drey.toml").write_text('shard_root = "s"\n')
    bad = _cli("indexer", "follow", "--config", "drey.toml", cwd=tmp_path,
               env={"DREY_FETCH_WORKERS": "99"})  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.strip() == range_line, bad.stderr
