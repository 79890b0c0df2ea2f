"""The hostile months end to end: simulate, follow, materialize, compare, coverage.

    uv run python bench/hostile.py

The ``hostile`` plan (docs/simulator.md "Hostile months"; 5 months, 9 actuaries, 12 users,
512-bit test keys, max_rounds 2) as ``tests/pipelines/driver/test_hostile.py`` runs it: the
simulator, the follower against the dev node, the pipelines' full materialization, the
answer-key comparison and the ``rule_coverage`` view, each timed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

# bench/devnet.py would shadow the devnet package: keep this directory off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from devnet.simulate import SimulationConfig, parse_scenarios, run_simulation  # noqa: E402
from devnet.simulate.config import DevnetParams  # noqa: E402
from pipelines.driver.compare import compare  # noqa: E402
from pipelines.driver.network import Devnet, follow_to_tip, serve  # noqa: E402
from pipelines.driver.runner import build_all  # noqa: E402
from tests.pipelines.harness import make_pipeline  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        config = SimulationConfig(
            datadir=root / "devnet", months=5, actuaries=9, users=12, seed="hostile",
            first_month="2024-03", paillier_bits=512, scenarios=parse_scenarios("hostile"),
            params=DevnetParams(max_rounds=2),
        )  # fmt: skip
        run_simulation(config)
        devnet = Devnet.load(config.datadir)
        t1 = time.perf_counter()
        with serve(devnet.datadir) as served:
            follow_to_tip(served.follow_config(root / "shards", devnet.vault_scripts))
        t2 = time.perf_counter()
        pipeline = make_pipeline(root / "shards", root / "wh", bytes.fromhex(devnet.founder))
        build_all(pipeline.defs, pipeline.instance, quiet=True)
        t3 = time.perf_counter()
        db = duckdb.connect(str(pipeline.warehouse.store.warehouse), read_only=True)
        strict = [m for m in compare(db, devnet.answer_key, config.datadir / "inscriptions.jsonl")
                  if m.strict]  # fmt: skip
        t4 = time.perf_counter()
        reached, values = db.execute(
            "select count(*) filter (where occurrences > 0), count(*) from rule_coverage"
        ).fetchone() or (0, 0)
        t5 = time.perf_counter()
        print(f"blocks {devnet.answer_key['chain']['tip_height']}, strict mismatches {len(strict)}")
        print(f"simulate   {t1 - t0:6.2f} s")
        print(f"follow     {t2 - t1:6.2f} s")
        print(f"materialize{t3 - t2:6.2f} s")
        print(f"compare    {t4 - t3:6.2f} s")
        print(f"coverage   {t5 - t4:6.2f} s  ({reached} of {values} values reached)")
        print(f"total      {t5 - t0:6.2f} s")


if __name__ == "__main__":
    main()
