"""The cyclic collector paused for a run beside Python's default (``[dagster] collector``).

    uv run python bench/collector.py --users 2000,100000 --samples 3

For each size and each setting (``paused``, ``running``), in processes of their own, so one
setting's heap never weighs on the other's collections:

- the full materialization as Dagster launches it (``dagster job execute`` of the chain job,
  then every month and the publication, in process, on a persistent instance: the devnet and
  shards of ``bench/executor.py``), its wall time and the peak memory (max RSS) of each job's
  process;
- block → warehouse latency, ``bench/latency.py --modes resume`` with the setting (the main
  job's case: one long process keeping its state between ticks): median and p95 per kind of
  block, and that process's peak memory.

Both settings must publish the same rows in every table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from executor import fresh_instance, rows, shards_for  # noqa: E402
from warehouse import devnet_for  # noqa: E402

from pipelines.driver.network import Devnet  # noqa: E402
from pipelines.partitions import MONTHS, range_tags  # noqa: E402
from pipelines.store import Store  # noqa: E402

SETTINGS = ("paused", "running")
KINDS = ("quiet", "package", "deciding")


def timed_process(command: list[str], *, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; its wall seconds and its peak RSS in MB (``wait4``'s own usage)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"{' '.join(command[:4])} … failed:\n{log.read()[-4000:]}")
    return seconds, usage.ru_maxrss / 1024


def full_build(setting: str, shards: Path, devnet: Devnet, root: Path) -> dict[str, object]:
    """The chain job, then every month and the publication, with ``collector = setting``."""
    env = fresh_instance(root, shards, devnet, f'collector = "{setting}"\n')
    dagster = [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "pipelines"]
    chain_s, chain_mb = timed_process([*dagster, "-j", "chain_job"], env=env, cwd=root)
    with dg.DagsterInstance.get() as instance:
        months = instance.get_dynamic_partitions(MONTHS.name)
    tags = ["--tags", json.dumps(range_tags(months))]
    months_s, months_mb = timed_process([*dagster, "-j", "months_job", *tags], env=env, cwd=root)
    return {
        "build_s": chain_s + months_s,
        "chain_mb": chain_mb,
        "months_mb": months_mb,
        "rows": rows(Store(root / "warehouse").warehouse),
    }


def tick_latency(setting: str, users: int, months: int, samples: int, workdir: Path) -> dict:
    out = workdir / f"m{months}-u{users}" / f"latency_{setting}.json"
    command = [sys.executable, str(REPO / "bench" / "latency.py"), "--users", str(users)]
    command += ["--months", str(months), "--samples", str(samples), "--workdir", str(workdir)]
    command += ["--modes", "resume", "--collector", setting, "--out", str(out)]
    _, peak = timed_process(command, env=dict(os.environ), cwd=REPO)
    figures: dict[str, object] = {"latency_mb": peak}
    measured = json.loads(out.read_text())
    for kind in KINDS:
        lat = sorted(float(r["latency_s"]) for r in measured if r["kind"] == kind)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        figures[kind] = (statistics.median(lat), p95)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="2000", help="comma-separated sizes")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--samples", type=int, default=3, help="blocks of each kind")
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench")
    args = parser.parse_args()
    for users in (int(u) for u in args.users.split(",")):
        devnet, _ = devnet_for(args.workdir, args.months, users)
        root = args.workdir / f"m{args.months}-u{users}" / "executor"
        shards = shards_for(devnet, root)
        results = {}
        for setting in SETTINGS:
            results[setting] = full_build(setting, shards, devnet, root / f"collector-{setting}")
            figures = tick_latency(setting, users, args.months, args.samples, args.workdir)
            results[setting] |= figures
            print(f"  {setting}: {results[setting] | {'rows': '…'}}", flush=True)
        print(f"{args.months} months × {users:,} users")
        print(f"{'':10}{'build':>9}{'chain MB':>10}{'months MB':>11}"
              + "".join(f"{k:>18}" for k in KINDS) + f"{'ticks MB':>10}")  # fmt: skip
        for setting, r in results.items():
            ticks = "".join(f"{r[k][0]:>8.2f}s p95 {r[k][1]:>5.2f}" for k in KINDS)
            print(
                f"{setting:10}{r['build_s']:>8.1f}s{r['chain_mb']:>10.0f}{r['months_mb']:>11.0f}"
                f"{ticks}{r['latency_mb']:>10.0f}"
            )
        same = results["paused"]["rows"] == results["running"]["rows"]
        print(f"same rows in every table: {same}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
