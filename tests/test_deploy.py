"""The deployment files of deploy/ agree with the product: their drey.toml files use only
keys the product knows, their commands are the product's, and the Kubernetes pods find the
configuration where DREY_CONFIG points. (The Docker instance file is loaded as a Dagster
instance on PostgreSQL in tests/pipelines/test_postgres_instance.py.)"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.configuration import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent


def _filled(text: str) -> str:
    """A deployment's drey.toml with its placeholders (…) filled as an operator would."""
    return text.replace('"5120…"', f'"5120{"ab" * 32}"').replace(
        'founder = "…"', f'founder = "{"cd" * 32}"'
    )


def _configmap_toml() -> str:
    documents = yaml.safe_load_all((DEPLOY / "kubernetes" / "drey.yaml").read_text())
    (config,) = [d for d in documents if d["kind"] == "ConfigMap"]
    return str(config["data"]["drey.toml"])


# The follower's pod gets the node's password from a Secret (deploy/kubernetes/drey.yaml).
ENV = {"docker": {}, "kubernetes": {"DREY_RPC_PASSWORD": "from-a-secret"}, "example": {}}


def _settings(source: str, directory: Path) -> Settings:
    text = {
        "docker": lambda: (DEPLOY / "docker" / "drey.toml").read_text(),
        "kubernetes": _configmap_toml,
        "example": lambda: (DEPLOY / "drey.example.toml").read_text(),
    }[source]()
    path = directory / "drey.toml"
    path.write_text(_filled(text))
    return load_settings(path, env=ENV[source], workdir=directory)


@pytest.mark.parametrize("source", list(ENV))
def test_every_deployments_drey_toml_is_valid(source: str, tmp_path: Path) -> None:
    settings = _settings(source, tmp_path)
    assert settings.shard_root.is_absolute() and settings.warehouse_dir.is_absolute()
    assert settings.founder_key == bytes.fromhex("cd" * 32)
    if source != "example":
        assert (settings.executor, settings.max_concurrent_steps) == ("multiprocess", 2)


def test_the_compose_services_run_the_products_commands() -> None:
    compose = yaml.safe_load((DEPLOY / "docker" / "compose.yaml").read_text())
    commands = [s["command"] for s in compose["services"].values() if "command" in s]
    assert {c[0] for c in commands} == {"indexer", "dagster", "dagster-webserver", "dagster-daemon"}
    for command in commands:
        assert shutil.which(command[0], path=str(BIN)), command
    workspace = yaml.safe_load((DEPLOY / "docker" / "workspace.yaml").read_text())
    (server,) = [entry["grpc_server"] for entry in workspace["load_from"]]
    code = compose["services"][server["host"]]
    assert code["command"][-2:] == ["-m", "pipelines"] and str(server["port"]) in code["command"]


def test_the_kubernetes_pods_find_the_configuration_and_the_data(tmp_path: Path) -> None:
    values = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "pipelines"]
    config = Path(next(e["value"] for e in deployment["env"] if e["name"] == "DREY_CONFIG"))
    mounts = {m["name"]: Path(m["mountPath"]) for m in deployment["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["volumes"]}
    assert mounts["drey-config"] == config.parent and config.name == "drey.toml"
    assert volumes["drey-config"]["configMap"]["name"] == "drey-config"
    settings = _settings("kubernetes", tmp_path)
    for path in (settings.shard_root, settings.warehouse_dir):
        assert path.is_relative_to(mounts["drey-data"]), path
