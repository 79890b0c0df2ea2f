"""The package contracts of docs/architecture.md hold, and name every module they should."""

from __future__ import annotations

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
