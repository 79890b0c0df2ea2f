"""Benchmark the rules engine: `drey.rules.evaluate` over honest months.

    uv run python bench/protocol_rules.py [--users 2000] [--months 2] [--key 2048_n9_t5]

Builds a scenario with the cached TEST Paillier dealing (tests/drey/data), plays the months
as honest clients (every roster member shares every owed package), then times a full
`evaluate` at the final tip (median of 3) and reports where its time goes (share proofs
dominate: N × P verifications per round).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from drey.crypto.paillier import PaillierDealing
from drey.rules import evaluate

KEYS = Path(__file__).parents[1] / "tests" / "drey" / "data" / "paillier_test_keys.json"

# The scenario builder is a test helper (tests/drey/rules/scenario.py), not library code.
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "drey" / "rules"))
from scenario import ScenarioBuilder, ScenarioKeys  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--months", type=int, default=2)
    ap.add_argument("--key", default="2048_n9_t5")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    dealing = PaillierDealing.from_dict(json.loads(KEYS.read_text())["keys"][args.key])
    keys = ScenarioKeys.make(dealing)
    snapshots = [40 + 60 * i for i in range(args.months)]
    sb = ScenarioBuilder(keys, snapshots=snapshots)
    sb.setup(plans={1_000 + u: 10_000 + 37 * u for u in range(args.users)})
    t0 = time.perf_counter()
    months = [f"2025-{m + 1:02d}" for m in range(args.months)]
    for month in months:
        sb.play_round(month, 0)
    sb.extend_to(snapshots[-1] + 20)
    build = time.perf_counter() - t0
    chain = sb.chain()
    times = []
    ev = None
    for _ in range(args.repeat):
        t = time.perf_counter()
        ev = evaluate(
            chain,
            sb.messages,
            founder=keys.founder,
            tip_height=sb.tip,
            formula_parts=sb.formula_parts,
        )
        times.append(time.perf_counter() - t)
    assert ev is not None
    shares = sum(1 for m in ev.months for r in m.rounds for s in r.shares if s.status != "ignored")
    n = dealing.public.players
    print(
        f"key {args.key} (N = {n}, t = {dealing.public.threshold}), users {args.users}, "
        f"months {args.months}, messages {len(sb.messages)}, tip {sb.tip}"
    )
    print(f"outcomes: {[m.outcome for m in ev.months]}")
    print(f"scenario build (producers + evaluations while playing): {build:.2f} s")
    print(
        f"evaluate: median {statistics.median(times):.3f} s of {args.repeat} "
        f"({shares} share entries verified)"
    )


if __name__ == "__main__":
    main()
