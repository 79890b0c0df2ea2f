"""End to end on hostile months: the ``hostile`` plan (docs/simulator.md "Hostile months") is
inscribed on the devnet, served by the dev node, followed into shards and materialized. The
warehouse must equal the answer key row for row, and ``rule_coverage`` must show every
status, reason, offence and month outcome the chain can reach at least once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb
import pytest

from devnet.simulate import SimulationConfig, parse_scenarios, run_simulation
from devnet.simulate.config import DevnetParams
from pipelines.driver.compare import compare
from pipelines.driver.network import Devnet, follow_to_tip, serve
from pipelines.driver.runner import build_all

from ..harness import make_pipeline

pytestmark = pytest.mark.slow

#: What a finished devnet run cannot reach, and why (docs/simulator.md "Hostile months").
UNREACHABLE = {
    # 2^64 sat-blocks: more than all bitcoin held for a month of blocks.
    ("month_outcome", "overflow"),
    # Statuses that wait for blocks after the tip: a run ends once every month settled.
    ("message_status", "pending"),
    ("share_entry_status", "pending"),
    # Share entries of the wrong size: only the rules tests build them (hand-made messages).
    ("share_entry_reason", "bad_share"),
    ("share_entry_reason", "bad_proof"),
}


@pytest.fixture(scope="module")
def hostile(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Devnet, duckdb.DuckDBPyConnection]]:
    root = tmp_path_factory.mktemp("hostile")
    config = SimulationConfig(
        datadir=root / "devnet",
        months=5,
        actuaries=9,
        users=12,
        seed="hostile",
        first_month="2024-03",
        paillier_bits=512,  # TEST SIZE ONLY
        scenarios=parse_scenarios("hostile"),
        params=DevnetParams(max_rounds=2),
    )
    run_simulation(config)
    devnet = Devnet.load(config.datadir)
    with serve(devnet.datadir) as served:
        follow_to_tip(served.follow_config(root / "shards", devnet.vault_scripts))
    pipeline = make_pipeline(root / "shards", root / "warehouse", bytes.fromhex(devnet.founder))
    build_all(pipeline.defs, pipeline.instance, quiet=True)
    db = duckdb.connect(str(pipeline.warehouse.store.warehouse), read_only=True)
    yield devnet, db
    db.close()


def test_the_hostile_warehouse_equals_the_answer_key(
    hostile: tuple[Devnet, duckdb.DuckDBPyConnection],
) -> None:
    devnet, db = hostile
    mismatches = compare(db, devnet.answer_key, devnet.datadir / "inscriptions.jsonl")
    assert [str(m) for m in mismatches if m.strict] == []


def test_every_reachable_rule_occurs(hostile: tuple[Devnet, duckdb.DuckDBPyConnection]) -> None:
    _, db = hostile
    rows = db.execute("select category, value, known, occurrences from rule_coverage").fetchall()
    unknown = [(c, v) for c, v, known, _ in rows if not known]
    assert unknown == [], "values outside the closed sets"
    never = {(c, v) for c, v, _, n in rows if n == 0}
    assert never == UNREACHABLE, f"not reached: {sorted(never - UNREACHABLE)}"


def test_each_refusal_names_its_inscription(
    hostile: tuple[Devnet, duckdb.DuckDBPyConnection],
) -> None:
    """Every inscription the stranger made has the status and reason it expected, in SQL."""
    devnet, db = hostile
    lines = (devnet.datadir / "inscriptions.jsonl").read_text().splitlines()
    expected = {
        i["id"]: tuple(i["detail"]["expect"])
        for i in map(json.loads, lines)
        if "expect" in i.get("detail", {})
    }
    got = dict(
        (r[0], (r[1], r[2]))
        for r in db.execute(
            "select id, 'quarantined', reason from quarantine union all "
            "select id, status, reason from message_statuses where status <> 'quarantined'"
        ).fetchall()
    )
    wrong = {i: (e, got.get(i)) for i, e in expected.items() if got.get(i) != e}
    assert wrong == {}
