"""Shared test fixtures: paths to the read-only mainnet fixtures beside the repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAINNET = REPO.parent / "shared" / "fixtures" / "mainnet"


@pytest.fixture(scope="session")
def mainnet_dir() -> Path:
    assert MAINNET.is_dir(), f"mainnet fixtures missing at {MAINNET}"
    return MAINNET


@pytest.fixture(scope="session")
def tx_index(mainnet_dir: Path) -> list[dict]:
    return json.loads((mainnet_dir / "tx" / "INDEX.json").read_text())
