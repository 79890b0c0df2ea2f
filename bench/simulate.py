"""Benchmark: simulate Drey months on the devnet (``devnet simulate``) and time it.

    uv run python bench/simulate.py                          # 12 months, 9 actuaries, 2,000 users
    uv run python bench/simulate.py --users 100000           # the large run
    uv run python bench/simulate.py --users 5000 --months 1 --profile 30

Prints one JSON object: wall time, blocks mined, transactions and inscriptions, the size of
the data directory, and where the time went (setup and key generation, customers' and
actuaries' transaction building, kernel validation + mining, decoding the blocks, the
simulator's own bookkeeping). ``--profile N`` also prints the N most expensive functions.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

# bench/devnet.py would shadow the devnet package: keep this directory off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from devnet.simulate import SimulationConfig, parse_scenarios, run_simulation  # noqa: E402


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--actuaries", type=int, default=9)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--paillier-bits", type=int, default=2048)
    ap.add_argument("--blocks-per-month", type=int, default=36)
    ap.add_argument("--scenarios", default="all", help="scenario list (default: all)")
    ap.add_argument("--seed", default="bench")
    ap.add_argument("--datadir", type=Path, help="keep the devnet here (default: a temp dir)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="print top N functions")
    args = ap.parse_args(argv)

    tmp = None
    datadir = args.datadir
    if datadir is None:
        tmp = Path(tempfile.mkdtemp(prefix="drey-sim-bench-"))
        datadir = tmp / "devnet"
    config = SimulationConfig(
        datadir=datadir,
        months=args.months,
        actuaries=args.actuaries,
        users=args.users,
        seed=args.seed,
        scenarios=parse_scenarios(args.scenarios),
        blocks_per_month=args.blocks_per_month,
        paillier_bits=args.paillier_bits,
    )
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    try:
        if profiler is not None:
            profiler.enable()
        report = run_simulation(config, log=lambda m: print(m, file=sys.stderr, flush=True))
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - started
        key = json.loads(report.answer_key.read_text())
        lines = (datadir / "inscriptions.jsonl").read_text().splitlines()
        kinds: dict[str, int] = {}
        for line in lines:
            kind = json.loads(line)["kind"]
            kinds[kind] = kinds.get(kind, 0) + 1
        out = {
            "months": args.months,
            "actuaries": args.actuaries,
            "users": args.users,
            "paillier_bits": args.paillier_bits,
            "scenarios": args.scenarios,
            "wall_seconds": round(wall, 1),
            "blocks": report.blocks,
            "blocks_after_params": report.blocks - key["params"]["height"],
            "inscriptions": len(lines),
            "by_kind": dict(sorted(kinds.items())),
            "outcomes": {m["month"]: m["outcome"] for m in key["months"]},
            "max_rows": max(m["n_rows"] for m in key["months"]),
            "datadir_bytes": _dir_size(datadir),
            "timings": {k: round(v, 1) for k, v in report.timings.items()},
        }
        print(json.dumps(out, indent=1))
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
