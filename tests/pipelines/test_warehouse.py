"""The published warehouse of the demo chain: what the rules engine decided is what the views
say, the SQL rechecks run, and the asset checks surface the findings."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from drey.messages import xonly_public_key
from drey.rules import Evaluation

from .chainfix import ACTUARY_SECRET, FIRST_MONTH, DemoChain
from .examples import example_queries
from .harness import Pipeline


@pytest.fixture(scope="module")
def db(built: tuple[DemoChain, Pipeline]) -> duckdb.DuckDBPyConnection:
    _, pipeline = built
    con = duckdb.connect(str(pipeline.warehouse.store.warehouse), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_months_are_the_evaluation_months(built: tuple[DemoChain, Pipeline], db) -> None:
    _, pipeline = built
    evaluation: Evaluation = pipeline.warehouse.evaluation()
    months = {r["month"]: r for r in rows(db, "select * from months")}
    assert set(months) == {m.month for m in evaluation.months} | {evaluation.pending_month}
    for m in evaluation.months:
        row = months[m.month]
        assert (row["outcome"], row["snapshot"], row["decided_height"], row["eligible"]) == (
            m.outcome,
            m.snapshot,
            m.decided_height,
            m.eligible,
        )
        assert row["months_root"] == (m.months_root.hex() if m.months_root else None)
    assert months[evaluation.pending_month]["outcome"] == "pending"


def test_first_month_fails_with_the_silent_actuarys_offences(
    built: tuple[DemoChain, Pipeline], db
) -> None:
    """The only actuary is elected and never posts: its round fails for want of a lead
    package, its weight drops to 0 (missed_lead) so the next round has no candidate, and
    with max_rounds = 2 the month fails; each offence slashes penalty_bps of its stake."""
    actuary = xonly_public_key(ACTUARY_SECRET).hex()
    (month,) = rows(db, f"select * from months where month = '{FIRST_MONTH}'")
    assert month["outcome"] == "failed" and month["eligible"] == 1
    elections = rows(db, f"select * from elections where month = '{FIRST_MONTH}' order by round")
    assert [e["decision"] for e in elections] == ["rejected", "rejected"]
    assert elections[0]["lead"] == actuary and elections[0]["lead_package"] is None
    assert elections[1]["lead"] is None  # every weight is 0 after missed_lead
    penalties = rows(db, f"select * from penalties where month = '{FIRST_MONTH}'")
    assert {(p["offence"], p["actuary"]) for p in penalties} >= {
        ("missed_lead", actuary),
        ("vrf_withheld", actuary),
    }
    for p in penalties:
        assert p["slash"] == p["base"] * month["penalty_bps"] // 10_000
    assert sum(p["slash"] for p in penalties) == month["slashed"]
    (history,) = rows(db, f"select * from months_history where month = '{FIRST_MONTH}'")
    assert history["leaf"] == "0" * 64 and history["leaf_index"] == 0
    failed = rows(db, f"select * from failed_checks('{FIRST_MONTH}')")
    assert any(f["check_name"] == "month_outcome" and "failed at" in f["detail"] for f in failed)


def test_quarantine_view_joins_parse_and_rule_refusals(
    built: tuple[DemoChain, Pipeline], db
) -> None:
    tc, _ = built
    got = {r["id"]: (r["stage"], r["reason"]) for r in rows(db, "select * from quarantine")}
    assert got[tc.ids["junk1"]] == ("parse", "bad_cbor")
    stage, reason = got[tc.ids["junk0"]]  # the zero-filled VRF proof
    assert stage == "rules" and reason == "bad_vrf_proof"
    statuses = rows(db, "select id, status from drey_messages")
    assert all(s["status"] != "unevaluated" for s in statuses)


def test_stakes_and_deposits_are_the_bound_vault_outputs(
    built: tuple[DemoChain, Pipeline], db
) -> None:
    (stake,) = rows(db, "select * from stakes")
    assert stake["status"] == "valid" and stake["value"] == 50_000
    (deposit,) = rows(db, "select * from deposits")
    assert deposit["user_id"] == 7 and deposit["value"] == 100_000
    (plan,) = rows(db, "select * from plans")
    assert plan["deposits"] == 1 and plan["deposited_sats"] == 100_000
    (inputs,) = rows(db, f"select * from formula_inputs where month = '{FIRST_MONTH}'")
    assert inputs["user_id"] == 7 and inputs["dreybits"] == 1_000_000  # the whole pool


def test_verification_has_rules_and_sql_rows(built: tuple[DemoChain, Pipeline], db) -> None:
    _, pipeline = built
    evaluation: Evaluation = pipeline.warehouse.evaluation()
    got = rows(db, "select * from verification")
    rules = {(r["month"], r["round"], r["check_name"]) for r in got if r["source"] == "rules"}
    assert rules == {(c.month, c.round, c.name) for c in evaluation.checks}
    sql = {r["check_name"] for r in got if r["source"] == "sql"}
    assert {"sql_months_history", "sql_penalty_cap", "sql_every_message_has_a_status"} <= sql
    assert all(r["passed"] for r in got if r["check_name"].startswith("sql_"))
    actuary = xonly_public_key(ACTUARY_SECRET).hex()
    conduct = {
        (r["round"], r["check_name"]): r for r in got if r["check_name"].startswith("conduct_")
    }
    missed = conduct[(0, "conduct_missed_lead")]
    assert not missed["passed"] and actuary[:16] in missed["detail"]
    assert conduct[(0, "conduct_copy")]["passed"]
    (decision,) = [r for r in got if r["check_name"] == "round_accepted" and r["round"] == 0]
    assert not decision["passed"] and "no_lead_package" in decision["detail"]
    live = rows(db, "select * from sql_checks")
    assert {r["check_name"] for r in live} == sql


def test_asset_checks_report_findings_without_blocking(built: tuple[DemoChain, Pipeline]) -> None:
    _, pipeline = built
    months = pipeline.months()
    from pipelines.partitions import range_tags

    result = pipeline.run("months_job", tags=range_tags(months))
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["allocations_match_month_root"].passed
    protocol = checks["protocol_checks"]
    assert not protocol.passed and protocol.severity.value == "WARN"
    assert "month_outcome" in protocol.metadata["failures"].value
    published = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == ["duckdb_warehouse"]
    ]
    assert len(published) == 1  # a warning does not stop the publication


def test_example_macros_answer(db) -> None:
    assert db.execute("select month_index('1970-01'), month_index('2024-02')").fetchone() == (
        0,
        649,
    )
    (snapshot, month) = db.execute(
        f"select snapshot, month_of_height(snapshot) from months where month = '{FIRST_MONTH}'"
    ).fetchone()
    assert month == FIRST_MONTH
    assert db.execute(f"select month_of_height({snapshot} + 1)").fetchone()[0] != FIRST_MONTH
    timeline = rows(db, f"select * from round_timeline('{FIRST_MONTH}')")
    assert [t["round"] for t in timeline] == [0, 1]
    actuary = xonly_public_key(ACTUARY_SECRET).hex()
    ledger = rows(db, f"select * from actuary_ledger('{actuary}')")
    assert ledger and all(r["sats"] < 0 for r in ledger)


def test_every_documented_example_query_runs(db) -> None:
    queries = example_queries()
    assert len(queries) >= 20
    for sql in queries:
        db.execute(sql).fetchall()
    # Every view has at least one example.
    views = db.execute(
        "select view_name from duckdb_views() where schema_name = 'main' and not internal"
    ).fetchall()
    assert views
    without = [v for (v,) in views if not any(re.search(rf"\b{v}\b", q) for q in queries)]
    assert without == []


def test_every_view_and_column_is_documented(db) -> None:
    """docs/schema.md describes every view (in a section naming it in backticks; views over a
    shard table also by the shard table's section) and names every one of its columns."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    split = text.index("# Warehouse views")
    shard_sections = re.split(r"\n## ", text[:split])
    sections = re.split(r"\n## ", text[split:])
    views = [
        r[0]
        for r in db.execute(
            "select view_name from duckdb_views() where schema_name = 'main' and not internal"
        ).fetchall()
    ]
    assert len(views) >= 13
    missing = []
    for view in views:
        about = [s for s in sections if f"`{view}`" in s]
        if not about:
            missing.append(f"{view}: no section")
            continue
        if any("shard" in s for s in about):
            about += [s for s in shard_sections if s.startswith(f"`{view}`")]
        described = "\n".join(about)
        columns = [d[0] for d in db.execute(f"select * from {view} limit 0").description]
        missing += [f"{view}.{c}" for c in columns if not re.search(rf"\b{c}\b", described)]
    assert missing == [], "\n".join(missing)


def test_rule_coverage_lists_the_closed_sets(db) -> None:
    """The vocabulary of ``rule_coverage`` is the rules' and the message layer's closed sets."""
    from typing import get_args

    from drey.messages.reasons import QUARANTINE_REASONS
    from drey.rules.reasons import FINAL_STATUSES, OFFENCES, RULE_REASONS, EntryReason, EntryStatus

    known: dict[str, set[str]] = {}
    for category, value in db.execute(
        "select category, value from rule_coverage where known"
    ).fetchall():
        known.setdefault(category, set()).add(value)
    assert known == {
        "message_status": {*FINAL_STATUSES, "pending"},
        "quarantine_reason": QUARANTINE_REASONS | RULE_REASONS,
        "share_entry_status": set(get_args(EntryStatus)),
        "share_entry_reason": set(get_args(EntryReason)),
        "offence": set(OFFENCES),
        "month_outcome": {
            "accepted",
            "failed",
            "pending",
            "no_quorum",
            "overflow",
            "under_threshold",
        },
    }
