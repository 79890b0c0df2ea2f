"""The main job: ``drey-warehouse run`` (console-script ready: ``pipelines.driver.main:main``).

With no node configured it builds a devnet with the actuary network (``devnet.simulate``:
12 months, every scenario), serves it with the dev node, follows it into shards
(``indexer.follow``), materializes every asset against the ``DAGSTER_HOME`` instance, publishes
the warehouse and prints a verification report, checking the warehouse against the
simulator's answer key. With ``--config`` (the product's TOML, ``drey.toml``; default
``$DREY_CONFIG``: the node, the shard root, the vault scripts, the warehouse and the founder key,
each key also a ``DREY_*`` variable, see ``pipelines/configuration.py``) it follows that node
instead. ``--watch`` then stays at the tip:
every commit of the follower runs the sensors' incremental runs until Ctrl-C.

Exit codes: 0 ok (findings about the chain are not errors), 1 a run failed or the machine
refused (disk, permissions), 2 bad
arguments or settings, 3 the warehouse differs from the answer key, 4 another writer holds the
warehouse store (a Dagster run, another main job) past the wait, 6 the node stayed unavailable
longer than ``--max-wait`` (default 600 s) before the build, 70 an internal error (a bug: the
traceback is printed; please report it). With a node the follower logs on stderr as
``indexer follow`` does (what it waits for and the node's URL, backfill progress and ETA).

The main job holds the store's writer lock (``pipelines/writer_lock.py``) for each build and
each ``--watch`` tick, so no Dagster run launched meanwhile writes between its runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import duckdb
from rich.console import Console
from rich.markup import escape

from devnet.simulate.errors import ScenarioError
from devnet.simulate.identity import NETWORK_FILE
from drey.row_proof import RowProof, RowProofError
from indexer.errors import ConfigError
from indexer.follow import FollowConfig, Manifest
from indexer.follow.config import CONFIG_ENV, DEFAULT_EXIT_AT_TIP_MAX_WAIT
from indexer.follow.errors import NodeUnavailableError
from indexer.follow.logs import setup_logging
from pipelines.configuration import (
    DAGSTER_YAML,
    Settings,
    default_dagster_home,
    default_workdir,
    load_settings,
)
from pipelines.dashboard import render_dashboard
from pipelines.definitions import build_definitions
from pipelines.driver.compare import compare
from pipelines.driver.network import (
    ANSWER_KEY,
    BackgroundFollower,
    Devnet,
    follow_to_tip,
    serve,
    simulate,
)
from pipelines.driver.report import print_report
from pipelines.driver.runner import Cursors, RunFailedError, build_all, tick
from pipelines.errors import ConfigurationError, WarehouseBusyError
from pipelines.light import NOT_CHECKED, check_proofs_only
from pipelines.row_proofs import read_row_proof
from pipelines.settings import Warehouse
from pipelines.writer_lock import writer_lock

EXIT_USAGE = 2
EXIT_BUSY = 4
EXIT_NODE_UNAVAILABLE = 6  # as `indexer follow`: the node stayed unavailable past --max-wait
EXIT_BUG = 70  # EX_SOFTWARE (sysexits.h)


def proofs_only(warehouse: Path, console: Console) -> int:
    """``drey-warehouse proofs``: the light mode's report; exit 1 when a month fails."""
    if not warehouse.is_file():
        raise ConfigurationError(f"no warehouse at {warehouse} (run `drey-warehouse run` first)")
    report = check_proofs_only(warehouse)
    mark = "[green]✓[/]" if report.ok else "[red]✗[/]"
    console.print(
        f"{mark} {report.proofs} lead proofs chain the months history of {report.months} "
        f"months in {report.seconds * 1000:.0f} ms"
        + (f" (months root {report.months_root:064x})" if report.months_root is not None else "")
    )
    for problem in report.problems:
        console.print(f"  [red]✗[/] {problem}")
    for circuit, verified in report.setups.items():
        console.print(f"  setup of {circuit[:16]}…: setup_verified = {verified}")
    console.print("Not checked: " + "; ".join(NOT_CHECKED) + ".")
    return 0 if report.ok else 1


def row_proof_command(args: argparse.Namespace) -> int:
    """``drey-warehouse row-proof``: one row's proof as JSON on stdout; exit 1 if no such row."""
    published = args.warehouse or (
        load_settings(args.config, env=os.environ).warehouse_dir / "warehouse.duckdb"
    )
    proof = read_row_proof(published, args.user_id, args.month)
    if proof is None:
        print(f"drey-warehouse: no accepted row of user {args.user_id} in {args.month}",
              file=sys.stderr)  # fmt: skip
        return 1
    print(json.dumps(proof.to_json(), indent=2))
    return 0


def verify_row_command(args: argparse.Namespace) -> int:
    """``drey-warehouse verify-row``: check a row proof from its JSON alone; exit 0 when it
    holds, 1 with one line per problem otherwise."""
    text = sys.stdin.read() if args.proof == "-" else Path(args.proof).read_text()
    try:
        proof = RowProof.from_json(text)
        trusted = None if args.months_root is None else int(args.months_root, 16)
    except (RowProofError, ValueError) as exc:
        print(f"drey-warehouse: not a row proof: {exc}", file=sys.stderr)
        return 1
    problems = proof.problems(months_root=trusted)
    for problem in problems:
        print(f"✗ {problem}")
    if not problems:
        print(f"✓ user {proof.user_id} got {proof.dreybits} Dreybits in {proof.month} (row "
              f"{proof.row_index} of {proof.n_rows}) under months root {proof.months_root:064x}")  # fmt: skip
    return 1 if problems else 0


def dashboard_command(args: argparse.Namespace, console: Console) -> int:
    """``drey-warehouse dashboard``: render the dashboard from a published warehouse."""
    published = args.warehouse or (
        load_settings(args.config, env=os.environ).warehouse_dir / "warehouse.duckdb"
    )
    rendered = render_dashboard(published, args.out or published.parent / "dashboard")
    console.print(
        f"[green]✓[/] dashboard: {len(rendered.pages)} pages in {rendered.seconds:.2f} s; open "
        f"{rendered.pages[0]}",
        soft_wrap=True,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="drey-warehouse", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version('drey-warehouse')}"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build (or follow) a chain and publish the warehouse")
    run.add_argument(
        "--config",
        "--node-config",
        dest="config",
        type=Path,
        help="the product's TOML (drey.toml) naming the node to follow; default $DREY_CONFIG. "
        "Without one the main job builds and follows its own devnet",
    )
    run.add_argument(
        "--founder", help="founder key (64 hex); default [warehouse] founder or $DREY_FOUNDER"
    )
    run.add_argument("--months", type=int, default=12, help="devnet months (default 12)")
    run.add_argument("--users", type=int, default=2000, help="devnet customers (default 2000)")
    run.add_argument("--scenarios", default="all", help="devnet scenarios (default all)")
    run.add_argument("--seed", default="drey-warehouse", help="devnet seed")
    run.add_argument(
        "--proofs",
        choices=("groth16", "recompute"),
        default="groth16",
        help="devnet results proved with Groth16 (protocol v1.1, default) or v1's recompute",
    )
    run.add_argument(
        "--workdir",
        type=Path,
        help="devnet, shards and warehouse go here (default: the checkout's var/run, or "
        "./var/run outside a checkout); with a node, only the defaults of the paths",
    )
    run.add_argument("--fresh", action="store_true", help="delete the workdir first")
    run.add_argument("--watch", action="store_true", help="stay at the tip after the build")
    run.add_argument(
        "--max-wait",
        type=float,
        default=DEFAULT_EXIT_AT_TIP_MAX_WAIT,
        metavar="SECONDS",
        help="give up (exit 6) after waiting this long for an unavailable node before the "
        f"build (default {DEFAULT_EXIT_AT_TIP_MAX_WAIT:g}; --watch then waits forever)",
    )
    run.add_argument(
        "--log-format",
        choices=("kv", "json"),
        default="kv",
        help="the follower's log lines on stderr with a node (as `indexer follow`)",
    )
    run.add_argument(
        "--dagster-home",
        type=Path,
        help="the Dagster instance (default [dagster] dagster_home, $DAGSTER_HOME, or the "
        "checkout's dagster_home/)",
    )
    light = sub.add_parser(
        "proofs", help="check a published warehouse's months history from its proofs alone"
    )
    light.add_argument(
        "--warehouse",
        type=Path,
        help="the published DuckDB file (default: warehouse.duckdb in the configured "
        "warehouse_dir, var/run/warehouse when nothing is configured)",
    )
    light.add_argument("--config", type=Path, help="the product's TOML; default $DREY_CONFIG")
    prove = sub.add_parser(
        "row-proof", help="one allocation row's proof up to the months root, as JSON"
    )
    prove.add_argument("--user-id", type=int, required=True)
    prove.add_argument("--month", required=True, help="YYYY-MM")
    prove.add_argument("--warehouse", type=Path, help="the published DuckDB file")
    prove.add_argument("--config", type=Path, help="the product's TOML; default $DREY_CONFIG")
    board = sub.add_parser("dashboard", help="render the dashboard's HTML pages")
    board.add_argument("--warehouse", type=Path, help="the published DuckDB file")
    board.add_argument("--out", type=Path, help="default: dashboard/ beside the warehouse")
    board.add_argument("--config", type=Path, help="the product's TOML; default $DREY_CONFIG")
    check = sub.add_parser("verify-row", help="check a row proof offline, from its JSON alone")
    check.add_argument("proof", help="the proof's JSON file, or - for stdin")
    check.add_argument(
        "--months-root", help="the months root you trust (64 hex; default: the proof's)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=False)
    try:
        if args.command == "dashboard":
            return dashboard_command(args, console)
        if args.command == "row-proof":
            return row_proof_command(args)
        if args.command == "verify-row":
            return verify_row_command(args)
        if args.command == "proofs":
            published = args.warehouse or (
                load_settings(args.config, env=os.environ).warehouse_dir / "warehouse.duckdb"
            )
            return proofs_only(published, console)
        return run(args, console)
    except (ConfigError, ConfigurationError, ScenarioError) as exc:
        console.print(f"[red]drey-warehouse: {escape(str(exc))}[/]", soft_wrap=True)
        return EXIT_USAGE
    except RunFailedError as exc:
        console.print(f"[red]drey-warehouse: {escape(str(exc))}[/]", soft_wrap=True)
        return 1
    except WarehouseBusyError as exc:
        console.print(f"[red]drey-warehouse: {escape(str(exc))}[/]", soft_wrap=True)
        return EXIT_BUSY
    except NodeUnavailableError as exc:
        console.print(f"[red]drey-warehouse: {escape(str(exc))}[/]", soft_wrap=True)
        return EXIT_NODE_UNAVAILABLE
    except OSError as exc:  # the machine: a full disk, a permission, a path that is a file
        console.print(f"[red]drey-warehouse: {escape(str(exc))}[/]", soft_wrap=True)
        return 1
    except Exception:  # not one of ours: a bug, never to be reported as bad arguments
        traceback.print_exc()
        console.print("[red]drey-warehouse: internal error (a bug); the traceback is above[/]")
        return EXIT_BUG


def run(args: argparse.Namespace, console: Console) -> int:
    workdir: Path = (args.workdir or default_workdir()).resolve()
    if args.fresh and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.max_wait <= 0:
        raise ConfigError(f"--max-wait must be > 0 s, got {args.max_wait:g}")

    if args.config is not None or os.environ.get(CONFIG_ENV):
        settings = load_settings(
            args.config, env=os.environ, overrides={"founder": args.founder}, workdir=workdir
        )
        if settings.founder_key is None:
            raise ConfigError(
                "a founder key is required with a node: --founder, [warehouse] founder in the "
                "config file, or DREY_FOUNDER"
            )
        warehouse = _warehouse(settings)
        instance = _instance(args.dagster_home or settings.dagster_home or default_dagster_home())
        # The follower speaks as `indexer follow` does: what it waits for, backfill progress.
        setup_logging(fmt=args.log_format)
        config = settings.follow
        _follow(console, replace(config, max_wait=config.max_wait or args.max_wait))
        code = _build(console, warehouse, instance)
        _print_ui_hint(console, warehouse, instance)
        if args.watch:
            _watch(console, config, warehouse, instance)
        return code

    instance = _instance(
        args.dagster_home or Path(os.environ.get("DAGSTER_HOME") or default_dagster_home())
    )
    devnet = _devnet(console, workdir / "devnet", args)
    shards = workdir / "shards"
    warehouse = Warehouse(
        shard_root=str(shards), warehouse_dir=str(workdir / "warehouse"), founder=devnet.founder
    )
    with serve(devnet.datadir) as served:
        config = served.follow_config(shards, devnet.vault_scripts)
        _follow(console, config)
        code = _build(console, warehouse, instance)
        code = max(code, _check_answer_key(console, devnet, warehouse))
        _print_ui_hint(console, warehouse, instance)
        if args.watch:
            _watch(console, config, warehouse, instance)
    return code


def _instance(home: Path) -> dg.DagsterInstance:
    """The instance in ``home``; a new home gets the project's dagster.yaml."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _warehouse(settings: Settings) -> Warehouse:
    """The resource with every field resolved, so each run of this job sees the same values."""
    return Warehouse(
        shard_root=str(settings.shard_root),
        warehouse_dir=str(settings.warehouse_dir),
        founder=settings.founder,
        verify_workers=settings.verify_workers,
        lock_wait=settings.lock_wait,
    )


def _devnet(console: Console, datadir: Path, args: argparse.Namespace) -> Devnet:
    # A devnet is reused when complete: its answer key and its identity (an older devnet
    # without network.json is rebuilt).
    if (datadir / ANSWER_KEY).exists() and (datadir / NETWORK_FILE).exists():
        devnet = Devnet.load(datadir)
        console.print(
            f"Reusing the devnet in {datadir} ({devnet.answer_key['months_simulated']} months, "
            f"{devnet.answer_key['users']} users; --fresh to rebuild)"
        )
        return devnet
    if datadir.exists():
        shutil.rmtree(datadir)  # an interrupted simulation: start again
    started = time.perf_counter()
    with console.status("Simulating the actuary network on the devnet…") as status:

        def log(message: str) -> None:
            status.update(f"Simulating: {message[:100]}")

        devnet, report = simulate(
            datadir,
            months=args.months,
            users=args.users,
            scenarios=args.scenarios,
            seed=args.seed,
            proofs=args.proofs,
            log=log,
        )
    outcomes = ", ".join(f"{m} {o}" for m, o in report.months)
    console.print(
        f"[green]✓[/] devnet: {report.blocks} blocks, {args.months} months ({outcomes}) in "
        f"{time.perf_counter() - started:.0f} s"
    )
    for warning in report.warnings:
        console.print(f"  [yellow]![/] {warning}")
    return devnet


def _follow(console: Console, config: FollowConfig) -> Manifest:
    started = time.perf_counter()
    with console.status("Following the node into shards…") as status:

        def on_commit(manifest: Manifest) -> None:
            status.update(f"Following the node into shards: height {manifest.tip_height}")

        manifest = follow_to_tip(config, on_commit=on_commit)
    console.print(
        f"[green]✓[/] shards: height {manifest.tip_height} committed under {config.shard_root} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return manifest


def _build(console: Console, warehouse: Warehouse, instance: dg.DagsterInstance) -> int:
    defs = build_definitions(warehouse)
    started = time.perf_counter()
    with console.status("Materializing…") as status:

        def on_run(job: str) -> None:
            status.update(f"Materializing {job} (see the Dagster UI for every step)…")

        with _writing(warehouse, "the main job (build)"):
            runs = build_all(defs, instance, on_run=on_run, quiet=True)
    assets = sorted(
        {e.asset_key.to_user_string() for r in runs for e in r.get_asset_materialization_events()}
    )
    checks = [c for r in runs for c in r.get_asset_check_evaluations()]
    console.print(
        f"[green]✓[/] materialized {len(assets)} assets in {time.perf_counter() - started:.1f} s; "
        f"asset checks: {sum(c.passed for c in checks)} passed, "
        f"{sum(not c.passed for c in checks)} with findings"
    )
    print_report(console, warehouse.store.warehouse)
    board = warehouse.store.root / "dashboard" / "index.html"
    if board.is_file():
        console.print(f"Dashboard: {board} (open it in a browser)", soft_wrap=True)
    return 0


def _writing(warehouse: Warehouse, holder: str) -> contextlib.AbstractContextManager[None]:
    return writer_lock(warehouse.store.root, holder=holder, wait=warehouse.settings.lock_wait)


def _print_ui_hint(console: Console, warehouse: Warehouse, instance: dg.DagsterInstance) -> None:
    """How to see these runs, assets and checks in the Dagster UI."""
    env = {
        "DAGSTER_HOME": instance.root_directory,
        "DREY_SHARD_ROOT": str(warehouse.settings.shard_root),
        "DREY_WAREHOUSE_DIR": str(warehouse.settings.warehouse_dir),
        "DREY_FOUNDER": warehouse.settings.founder,
    }
    assignments = " ".join(f"{k}={v}" for k, v in env.items())
    console.print("Dagster UI:", soft_wrap=True)
    console.print(f"  {assignments} uv run dagster dev -m pipelines", soft_wrap=True, markup=False)


def _check_answer_key(console: Console, devnet: Devnet, warehouse: Warehouse) -> int:
    con = duckdb.connect(str(warehouse.store.warehouse), read_only=True)
    try:
        mismatches = compare(con, devnet.answer_key, devnet.datadir / "inscriptions.jsonl")
    finally:
        con.close()
    strict = [m for m in mismatches if m.strict]
    notes = [m for m in mismatches if not m.strict]
    if strict:
        console.print(
            f"[red]✗ the warehouse differs from the answer key in {len(strict)} places:[/]"
        )
        for m in strict[:20]:
            console.print(f"  {m}")
        return 3
    console.print(
        f"[green]✓[/] the warehouse equals the simulator's answer key "
        f"({len(devnet.answer_key['months'])} months; {len(notes)} wording differences)"
    )
    return 0


def _watch(
    console: Console, config: FollowConfig, warehouse: Warehouse, instance: dg.DagsterInstance
) -> None:
    """Stay at the tip: the follower commits on ZMQ wake-ups; each commit runs a tick of the
    sensors (chain run, then the affected months and the publication)."""
    defs = build_definitions(warehouse)
    committed = threading.Event()
    follower = BackgroundFollower(config, on_commit=lambda _m: committed.set()).start()
    cursors = Cursors()
    with _writing(warehouse, "the main job (--watch)"):
        tick(defs, instance, warehouse, cursors, quiet=True)  # align the cursors with the build
    console.print("Watching the node (Ctrl-C to stop)…")
    try:
        while True:
            if not committed.wait(timeout=1.0):
                continue
            committed.clear()
            started = time.perf_counter()
            with _writing(warehouse, "the main job (--watch)"):
                done = tick(defs, instance, warehouse, cursors, quiet=True)
            months = sorted(done.partitions("verification"))
            if done.runs:
                console.print(
                    f"[green]✓[/] {len(done.runs)} runs in {time.perf_counter() - started:.1f} s; "
                    f"months rebuilt: {', '.join(months) or 'none'}"
                )
    except KeyboardInterrupt:
        console.print("Stopping.")
    finally:
        follower.stop()


if __name__ == "__main__":
    sys.exit(main())
