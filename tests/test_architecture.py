"""The package contracts of docs/architecture.md hold, and name every module they should."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _contracts() -> list[dict]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in result.stdout


def test_the_code_location_contract_names_every_module_outside_the_driver() -> None:
    (location,) = [c for c in _contracts() if "pipelines.driver" in c["forbidden_modules"]]
    top = {
        f"pipelines.{p.stem if p.is_file() else p.name}"
        for p in (REPO / "pipelines").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert top - {"pipelines.driver"} == set(location["source_modules"])


ROOTS = {
    "btc": "btc.errors.BtcError",
    "drey": "drey.errors.ProtocolError",
    "indexer": "indexer.errors.IndexerError",
    "devnet": "devnet.errors.DevnetError",
    "pipelines": "pipelines.errors.PipelinesError",
}


# Exceptions that are deliberately outside their package's root, and why.
OUTSIDE_ROOT = {
    # The reply to a JSON-RPC client; the handlers that map DevnetError to replies must not
    # catch it.
    "devnet.node.methods.JSONRPCError",
}


def _exceptions(package: str) -> list[type[BaseException]]:
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        if path.name == "__main__.py":  # runs its CLI on import
            continue
        module_name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        module = importlib.import_module(module_name.removesuffix(".__init__"))
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_error_derives_from_its_package_root() -> None:
    """One root per package (its errors.py), so a caller can catch a package's errors in one
    clause; module-private signals (a leading underscore) are exempt."""
    strays = []
    for package, root_path in ROOTS.items():
        module_name, _, root_name = root_path.rpartition(".")
        root = getattr(importlib.import_module(module_name), root_name)
        for exc in _exceptions(package):
            name = f"{exc.__module__}.{exc.__name__}"
            if name in OUTSIDE_ROOT or exc.__name__.startswith("_"):
                continue
            if not issubclass(exc, root):
                strays.append(f"{name} (root: {root_name})")
    assert strays == []
