"""Documents the repository carries for operators stay in step with their sources: the
protocol spec with the shared PROTOCOL.md, and the example configurations with the guide
(tests/core/test_quickstart_core.py runs them against a real bitcoind)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_SPEC = REPO.parent / "shared" / "specs" / "PROTOCOL.md"


def test_the_spec_in_the_repository_is_the_shared_one() -> None:
    assert SHARED_SPEC.is_file(), f"the shared spec is missing at {SHARED_SPEC}"
    ours = REPO / "docs" / "protocol" / "spec.md"
    assert ours.read_text() == SHARED_SPEC.read_text(), (
        "docs/protocol/spec.md differs from the shared PROTOCOL.md: copy it again and check the "
        "decisions in docs/protocol/ against the change"
    )


def test_the_example_configurations_are_the_guide_s() -> None:
    guide = (REPO / "docs" / "follower.md").read_text()
    section = guide.split("## Following a real bitcoind", 1)[1].split("\n## ", 1)[0]
    blocks = dict(re.findall(r"```(ini|toml)\n(.*?)```", section, re.S))
    assert (REPO / "deploy" / "bitcoin.example.conf").read_text() == blocks["ini"]
    assert (REPO / "deploy" / "drey.example.toml").read_text() == blocks["toml"]
    operating = (REPO / "docs" / "operating.md").read_text()
    for name in ("deploy/bitcoin.example.conf", "deploy/drey.example.toml"):
        assert name in operating, f"docs/operating.md does not point to {name}"
