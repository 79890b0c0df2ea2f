"""Every command line answers ``--version`` with the installed distribution's version."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_command_line_says_its_version() -> None:
    expected = version("drey-warehouse")
    for module, prog in (("indexer", "indexer"), ("devnet", "python -m devnet"),
                         ("pipelines.driver.main", "drey-warehouse")):  # fmt: skip
        out = subprocess.run([sys.executable, "-m", module, "--version"], cwd=REPO,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert out.returncode == 0 and out.stdout.strip() == f"{prog} {expected}", out
