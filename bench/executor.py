"""The executors side by side: a full materialization launched the way Dagster launches runs
(``dagster job execute`` on a persistent instance), in process and multiprocess (steps forked
from a server, or each a fresh interpreter).

    uv run python bench/executor.py                        # 12 months × 2,000 users
    uv run python bench/executor.py --users 2000,100000 --steps 2

The devnet is the one ``bench/warehouse.py`` simulates under --workdir (kept and reused); the
follower writes its shards once. Then, for each variant (``[dagster] executor`` and the run
config's ``start_method``), a fresh warehouse and instance: the chain job, then every month
and the publication as one range. Reported per job: wall time, the sum of its steps' own times
(what one process would spend in them), and the widest overlap of steps; then whether every
variant's warehouse holds the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.driver.network import Devnet, follow_to_tip, serve  # noqa: E402
from pipelines.partitions import MONTHS, range_tags  # noqa: E402
from pipelines.store import Store  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
from warehouse import devnet_for  # noqa: E402

# Name → (executor setting, the run config's start_method; None: the executor's default).
VARIANTS = {
    "in_process": ("in_process", None),
    "multi/spawn": ("multiprocess", "spawn"),
    "multi/forkserver": ("multiprocess", "forkserver"),
}


def shards_for(devnet: Devnet, root: Path) -> Path:
    shards = root / "shards"
    if not (root / "followed").exists():
        shutil.rmtree(shards, ignore_errors=True)
        with serve(devnet.datadir) as served:
            follow_to_tip(served.follow_config(shards, devnet.vault_scripts))
        (root / "followed").touch()
    return shards


def run_job(
    job: str, env: dict[str, str], cwd: Path, tags: dict[str, str] | None, start: str | None
) -> float:
    command = [str(Path(sys.executable).parent / "dagster"), "job", "execute", "-m", "pipelines"]
    command += ["-j", job] + (["--tags", json.dumps(tags)] if tags else [])
    if start is not None:
        run_config = cwd / "run_config.json"  # JSON is YAML
        run_config.write_text(json.dumps({"execution": {"config": {"start_method": start}}}))
        command += ["-c", str(run_config)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{job} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return time.perf_counter() - started


def step_figures(instance: dg.DagsterInstance, run_id: str) -> tuple[float, int]:
    """The sum of the run's step durations and the most steps running at one time."""
    spans: dict[str, list[float]] = {}
    for kind in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS):
        for entry in instance.all_logs(run_id, of_type=kind):
            spans.setdefault(entry.step_key or "", []).append(entry.timestamp)
    done = [(s[0], s[-1]) for s in spans.values() if len(s) == 2]
    busy = sum(end - start for start, end in done)
    widest = max(sum(1 for s, e in done if s <= t < e) for t, _ in done) if done else 0
    return busy, widest


def fresh_instance(root: Path, shards: Path, devnet: Devnet, dagster: str) -> dict[str, str]:
    """A fresh warehouse and persistent instance under ``root``, its ``drey.toml`` with the
    ``[dagster]`` lines ``dagster``; the environment its commands run in (this process's
    ``DAGSTER_HOME`` is set to the instance too, to read its partitions)."""
    shutil.rmtree(root, ignore_errors=True)
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    config = root / "drey.toml"
    config.write_text(
        f'shard_root = "{shards}"\n[warehouse]\nwarehouse_dir = "{root / "warehouse"}"\n'
        f'founder = "{devnet.founder}"\n[dagster]\n{dagster}'
    )
    os.environ["DAGSTER_HOME"] = str(home)
    return {**os.environ, "DREY_CONFIG": str(config)}


def build(
    variant: tuple[str, str | None], shards: Path, devnet: Devnet, root: Path, steps: int
) -> dict[str, object]:
    kind, start = variant
    dagster = f'executor = "{kind}"\nmax_concurrent_steps = {steps}\n'
    env = fresh_instance(root, shards, devnet, dagster)
    out: dict[str, object] = {"chain_s": run_job("chain_job", env, root, None, start)}
    with dg.DagsterInstance.get() as instance:
        months = instance.get_dynamic_partitions(MONTHS.name)
    out["months_s"] = run_job("months_job", env, root, range_tags(months), start)
    with dg.DagsterInstance.get() as instance:
        for run in instance.get_runs():
            busy, widest = step_figures(instance, run.run_id)
            out[f"{run.job_name}_steps_s"] = busy
            out[f"{run.job_name}_widest"] = widest
    out["warehouse"] = Store(root / "warehouse").warehouse
    return out


def rows(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        names = [f'"{schema}"."{table}"' for schema, table in tables]
        return {n: con.execute(f"select count(*) from {n}").fetchone()[0] for n in names}
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", default="2000", help="comma-separated sizes")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--steps", type=int, default=2, help="multiprocess: steps at once")
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench")
    args = parser.parse_args()
    for users in (int(u) for u in args.users.split(",")):
        devnet, _ = devnet_for(args.workdir, args.months, users)
        root = args.workdir / f"m{args.months}-u{users}" / "executor"
        shards = shards_for(devnet, root)
        results = {
            name: build(variant, shards, devnet, root / name.replace("/", "-"), args.steps)
            for name, variant in VARIANTS.items()
        }
        counts = [rows(r["warehouse"]) for r in results.values()]  # type: ignore[arg-type]
        same = all(c == counts[0] for c in counts)
        print(f"{args.months} months × {users:,} users (max_concurrent_steps {args.steps})")
        print(f"{'':18}{'chain_job':>12}{'steps':>9}{'widest':>8}{'months_job':>12}"
              f"{'steps':>9}{'widest':>8}{'total':>9}")  # fmt: skip
        for name, r in results.items():
            total = r["chain_s"] + r["months_s"]  # type: ignore[operator]
            print(
                f"{name:18}{r['chain_s']:>11.1f}s{r['chain_job_steps_s']:>8.1f}s"
                f"{r['chain_job_widest']:>8}{r['months_s']:>11.1f}s"
                f"{r['months_job_steps_s']:>8.1f}s{r['months_job_widest']:>8}{total:>8.1f}s"
            )
        print(f"same rows in every table: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
