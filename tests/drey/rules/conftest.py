"""Fixtures for the rules-engine tests: the cached 512-bit TEST Paillier dealing (N = 5,
t = 3), scenario keys and a fresh scenario builder per test."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from drey.crypto.paillier import PaillierDealing

from .scenario import ScenarioBuilder, ScenarioKeys

KEYS_FILE = Path(__file__).parents[1] / "data" / "paillier_test_keys.json"


@cache
def dealing(name: str = "512_n5_t3") -> PaillierDealing:
    doc = json.loads(KEYS_FILE.read_text())
    return PaillierDealing.from_dict(doc["keys"][name])


@cache
def scenario_keys(name: str = "512_n5_t3") -> ScenarioKeys:
    return ScenarioKeys.make(dealing(name))


@pytest.fixture
def keys() -> ScenarioKeys:
    return scenario_keys()


@pytest.fixture
def builder(keys: ScenarioKeys) -> ScenarioBuilder:
    """Five actuaries staked 10,000 sats each, three plans, first month 2025-01 with
    S = 30 (and S = 90 for 2025-02, S = 150 for 2025-03)."""
    sb = ScenarioBuilder(keys, snapshots=[30, 90, 150])
    sb.setup()
    return sb
