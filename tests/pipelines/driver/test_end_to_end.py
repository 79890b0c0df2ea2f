"""End to end: the devnet simulator plays every scenario over three months under protocol v1.1
(the roster's trusted setup, every result proved with Groth16), the dev node serves the chain,
the block follower writes the shards, the pipelines build the warehouse.
The warehouse must equal the simulator's answer key (elections, race order, reveals,
acceptance, roots, rewards, penalties, message statuses), and each misbehaviour must show as
a failed verification row whose detail names the culprit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from devnet.simulate.answer_key import PROOF_REASONS
from drey.row_proof import RowProof
from pipelines.dashboard import render_dashboard
from pipelines.driver.compare import compare
from pipelines.driver.network import Devnet, follow_to_tip, serve, simulate
from pipelines.driver.runner import build_all
from pipelines.light import check_proofs_only
from pipelines.row_proofs import read_row_proof
from zk.toolchain import node

from ..browser import Chromium, PageData, find_chromium
from ..harness import Pipeline, make_pipeline

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Built:
    devnet: Devnet
    pipeline: Pipeline
    db: duckdb.DuckDBPyConnection

    def rows(self, sql: str, *params: object) -> list[dict]:
        cur = self.db.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def key_of(self, index: int) -> str:
        return next(r["key"] for r in self.devnet.answer_key["roster"] if r["index"] == index)


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("e2e")
    devnet, _ = simulate(root / "devnet", months=3, users=40, scenarios="all", seed="e2e")
    shards = root / "shards"
    with serve(devnet.datadir) as served:
        manifest = follow_to_tip(served.follow_config(shards, devnet.vault_scripts))
    assert manifest.tip_height == devnet.answer_key["chain"]["tip_height"]
    pipeline = make_pipeline(shards, root / "warehouse", bytes.fromhex(devnet.founder))
    build_all(pipeline.defs, pipeline.instance, quiet=True)
    db = duckdb.connect(str(pipeline.warehouse.store.warehouse), read_only=True)
    yield Built(devnet, pipeline, db)
    db.close()


def test_warehouse_equals_the_answer_key(e2e: Built) -> None:
    mismatches = compare(e2e.db, e2e.devnet.answer_key, e2e.devnet.datadir / "inscriptions.jsonl")
    strict = [str(m) for m in mismatches if m.strict]
    assert strict == []
    # What is not compared strictly is only free wording (and one flag, see Mismatch).
    assert {m.field for m in mismatches} <= {"decision_reason", "problem", "settled"}
    (tip,) = e2e.db.execute("select tip_height from warehouse_info").fetchone()
    assert tip == e2e.devnet.answer_key["chain"]["tip_height"]


def _failed(e2e: Built, month: str, rnd: int | None, check: str) -> list[str]:
    return [
        r["detail"]
        for r in e2e.rows(
            "select * from verification where month = ? and check_name = ? and not passed "
            "and round is not distinct from ?",
            month,
            check,
            rnd,
        )
    ]


CONDUCT = {
    "silent_lead": ["round_accepted", "conduct_missed_lead"],
    "wrong_table": ["round_accepted", "lead_result", "conduct_invalid_lead_result"],
    "copy_repost": ["conduct_copy"],
    "copy_reencrypt": ["conduct_copy"],
    "premature_share": ["conduct_premature_share"],
    "forged_share": ["conduct_invalid_share_proof"],
    "few_shares": ["conduct_withheld_share"],
}
for _defect in ("pairing", "off_curve", "coordinate", "system"):
    CONDUCT[f"proof_{_defect}"] = ["secondary_result", "conduct_wrong_secondary_result"]


def test_every_misbehaviour_fails_a_verification_row_naming_the_culprit(e2e: Built) -> None:
    acted: set[tuple[str, int | None]] = set()
    for scenario in e2e.devnet.answer_key["scenario_log"]:
        assert scenario["triggered"], scenario["scenario"]
        month = scenario["month"]
        for event in scenario["events"]:
            intent, rnd = event["intent"], event["round"]
            acted.add((month, rnd))
            actor = e2e.key_of(event["actor"])
            for check in CONDUCT.get(intent, ()):
                details = _failed(e2e, month, rnd, check)
                assert details, f"{scenario['scenario']}: no failed {check} in {month} r{rnd}"
                if check.startswith("conduct_"):
                    assert any(actor[:16] in d for d in details), (check, details)
            if intent == "early_secondary":
                (row,) = e2e.rows("select status from packages where id = ?", event["ids"][0])
                assert row["status"] == "early"
            elif intent == "late_secondary":
                (row,) = e2e.rows(
                    "select role from race_results where package = ?", event["ids"][0]
                )
                assert row["role"] == "late"
            elif intent == "withdraw_below_min":
                (row,) = e2e.rows(
                    "select eligible from eligibility where month = ? and actuary = ?", month, actor
                )
                assert row["eligible"] is False
            elif intent == "reorg":
                (row,) = e2e.rows("select block_height from packages where id = ?", event["ids"][0])
                reorg = e2e.devnet.answer_key["reorgs"][0]
                assert row["block_height"] == reorg["to_height"]
    # Nothing fails where nobody misbehaved: failed rows sit in the rounds scenarios acted in.
    failed = e2e.rows("select distinct month, round from verification where not passed")
    for row in failed:
        assert (row["month"], row["round"]) in acted, row


def test_every_sql_recheck_passes_on_an_honest_warehouse(e2e: Built) -> None:
    """The SQL rechecks (sql_*) restate claims the rules engine made; on the simulator's
    chain every one holds, including reward splits, reveal heights and the months history."""
    failing = e2e.rows(
        "select * from verification where source = 'sql' and check_name like 'sql%' and not passed"
    )
    assert failing == []
    names = {r["check_name"] for r in e2e.rows("select distinct check_name from verification")}
    assert {
        "sql_allocation_total",
        "sql_allocation_tree",
        "sql_reward_split",
        "sql_reveal_height",
        "sql_race_rank_order",
        "sql_publication_matches",
        "sql_months_history",
        "sql_share_offences_penalized",
        "sql_copies_penalized",
    } <= names


def _evaluation_metadata(run: dg.ExecuteInProcessResult) -> Mapping[str, dg.MetadataValue]:
    (event,) = [
        e
        for e in run.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "rules_evaluation"
    ]
    return event.materialization.metadata


def test_a_new_evaluation_recomputes_nothing_already_known(e2e: Built) -> None:
    """Re-evaluating the chain (as every sensor tick does) carries the saved evaluation when
    nothing changed; one saved without its steady state (by an earlier version) resumes after
    the build's final months and verifies no share proof again (the verdicts are kept in the
    warehouse store). Each gives the same evaluation as the build's."""
    warehouse = e2e.pipeline.warehouse
    built = warehouse.evaluation()
    assert built is not None and built.final_months, "the devnet decides and settles months"
    carried = _evaluation_metadata(e2e.pipeline.run("chain_job"))
    assert carried["advanced"].value is True and carried["memo_misses"].value == 0
    assert warehouse.evaluation() == built
    warehouse.save_evaluation(replace(built, steady=None))
    meta = _evaluation_metadata(e2e.pipeline.run("chain_job"))
    assert meta["advanced"].value is False
    assert meta["resumed_after"].value == built.final_months[-1].month
    assert meta["share_proofs_verified"].value == 0
    # So are plan signatures, formula runs and month trees; every stake and plan keeps the
    # verdict the build gave it (the binding resumes from the build's tip).
    assert meta["memo_misses"].value == 0
    assert built.binding is not None
    assert meta["bindings_kept"].value == built.binding.count > 0
    again = e2e.pipeline.warehouse.evaluation()
    assert again is not None
    assert [f.month for f in again.final_months] == [f.month for f in built.final_months]
    assert replace(again, final_months=()) == replace(built, final_months=())


def test_every_accepted_month_carries_verified_proofs_and_snarkjs_agrees(
    e2e: Built, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The lead and every agreeing secondary of each accepted round proved its months root;
    each defective proof failed with its reason, naming its actuary; snarkjs, on the exported JSON, accepts
    exactly the proofs the warehouse marks verified."""
    accepted = e2e.rows(
        "select r.month, r.round, r.package, r.role, p.verified from reveals r "
        "join months m on m.month = r.month and m.accepted_round = r.round "
        "left join proofs p using (package) where r.valid and (r.role = 'lead' or r.agrees)"
    )
    assert {r["month"] for r in accepted} == {
        m["month"] for m in e2e.rows("select month from months where outcome = 'accepted'")
    }
    assert all(r["verified"] is True for r in accepted), accepted
    failed = e2e.rows("select actuary, reason from proofs where not verified order by all")
    forgers = [
        (e2e.key_of(e["actor"]), PROOF_REASONS[e["intent"]])
        for s in e2e.devnet.answer_key["scenario_log"]
        for e in s["events"]
        if e["intent"] in PROOF_REASONS
    ]
    assert len(forgers) == len(PROOF_REASONS)
    assert sorted((r["actuary"], r["reason"]) for r in failed) == sorted(forgers)
    assert e2e.rows("select * from proofs where agrees_with_recompute = false") == []
    (system,) = e2e.rows("select * from proof_systems")
    assert system["setup_verified"] is True, system["setup_detail"]
    assert system["named_by"] and len(system["contributors"]) == len(
        e2e.devnet.answer_key["roster"]
    )
    assert system["beacon_height"] == e2e.devnet.answer_key["circuit"]["beacon_height"]
    # A proof map that does not decode (a point off the curve, a coordinate ≥ p, another
    # system) has no proof.json; the rest go to snarkjs.
    undecoded = e2e.rows("select verified, reason from proofs where proof is null")
    assert {(r["verified"], r["reason"]) for r in undecoded} == {
        (False, "not_on_curve"), (False, "coordinate_out_of_range"), (False, "wrong_system")
    }  # fmt: skip
    rows = e2e.rows(
        "select public_inputs, proof, verified from proofs where proof is not null order by package"
    )
    assert any(not r["verified"] for r in rows)  # the failing pairing is among them
    vk = tmp_path_factory.mktemp("snarkjs") / "verification_key.json"
    vk.write_text(system["verification_key"])
    lines = "".join(
        json.dumps({"public": json.loads(r["public_inputs"]), "proof": json.loads(r["proof"])})
        + "\n"
        for r in rows
    )
    done = subprocess.run(
        [node(), "circuits/verify.cjs", str(vk)], cwd=REPO, input=lines,
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert done.stdout.split() == ["true" if r["verified"] else "false" for r in rows]


def test_the_light_mode_chains_the_months_history_from_proofs_alone(
    e2e: Built, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``drey-warehouse proofs``: every accepted month's lead proof chains to the answer key's
    months root; a warehouse whose published root was altered fails at that month."""
    published = e2e.pipeline.warehouse.store.warehouse
    report = check_proofs_only(published)
    assert report.ok, report.problems
    accepted = e2e.rows("select count(*) as n from months where outcome = 'accepted'")[0]["n"]
    assert report.months == accepted == report.proofs
    last = e2e.devnet.answer_key["months_roots"][-1][1]
    assert f"{report.months_root:064x}" == last
    altered = tmp_path_factory.mktemp("light") / "altered.duckdb"
    shutil.copy(published, altered)
    con = duckdb.connect(str(altered))
    (month,) = con.execute(
        "select min(month) from data.months where outcome = 'accepted'"
    ).fetchone()
    con.execute("update data.months set months_root = repeat('0', 64) where month = ?", [month])
    con.close()
    tampered = check_proofs_only(altered)
    assert not tampered.ok and tampered.problems[0].startswith(f"{month}: public input new_root")


def test_every_row_of_every_accepted_month_has_a_proof_that_verifies(e2e: Built) -> None:
    """``row_proof(user_id, month)``: every accepted row's proof, read through the macro, holds
    offline up to the answer key's months root; the same proof with its Dreybits changed, or
    with any sibling of either path changed, does not."""
    published = e2e.pipeline.warehouse.store.warehouse
    rows = e2e.rows(
        "select a.user_id, a.month, a.dreybits from allocations a join months m using (month) "
        "where m.outcome = 'accepted' order by a.month, a.row_index"
    )
    assert len({r["month"] for r in rows}) >= 2 and len(rows) >= 60
    last_root = int(e2e.devnet.answer_key["months_roots"][-1][1], 16)
    for r in rows:
        proof = read_row_proof(published, r["user_id"], r["month"])
        assert proof is not None and proof.dreybits == r["dreybits"], r
        assert proof.problems(months_root=last_root) == [], r
        assert RowProof.from_json(json.dumps(proof.to_json())) == proof
    proof = read_row_proof(published, rows[-1]["user_id"], rows[-1]["month"])
    assert proof is not None
    assert proof.problems(months_root=last_root ^ 1) == [
        f"months_root is not the trusted root {last_root ^ 1:064x}"
    ]
    assert "month_path does not lead" in " ".join(
        replace(proof, dreybits=proof.dreybits + 1).problems()
    )
    for name in ("month_path", "months_path"):
        path = getattr(proof, name)
        for level in range(len(path)):
            bent = (*path[:level], path[level] ^ 1, *path[level + 1 :])
            assert replace(proof, **{name: bent}).problems(), (name, level)
    assert read_row_proof(published, 10**12, rows[0]["month"]) is None


def test_verify_row_checks_a_proof_from_its_json_alone(e2e: Built, tmp_path: Path) -> None:
    """The two commands a customer runs: ``row-proof`` writes the JSON, ``verify-row`` checks
    it with no warehouse (exit 0), and refuses a tampered copy (exit 1, the problem named)."""
    published = e2e.pipeline.warehouse.store.warehouse
    (user_id, month) = e2e.db.execute(
        "select a.user_id, a.month from allocations a join months m using (month) "
        "where m.outcome = 'accepted' order by a.month, a.row_index limit 1"
    ).fetchone()
    cli = [sys.executable, "-m", "pipelines.driver.main"]
    made = subprocess.run([*cli, "row-proof", "--user-id", str(user_id), "--month", month,
                           "--warehouse", str(published)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stderr
    good = tmp_path / "proof.json"
    good.write_text(made.stdout)
    ok = subprocess.run([*cli, "verify-row", str(good)], capture_output=True, text=True,
                        timeout=120, cwd=tmp_path)  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.startswith(f"✓ user {user_id} got "), ok.stdout
    doc = json.loads(made.stdout)
    doc["dreybits"] = str(int(doc["dreybits"]) + 1)
    bad = subprocess.run([*cli, "verify-row", "-"], input=json.dumps(doc), capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 1 and "✗ month_path does not lead" in bad.stdout, bad.stdout
    doc["row_hash"] = "zz"
    garbled = subprocess.run([*cli, "verify-row", "-"], input=json.dumps(doc),
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert garbled.returncode == 1 and "row_hash: expected 64 lowercase hex" in garbled.stderr


ARTIFACTS = Path(os.environ.get("DREY_ARTIFACTS") or REPO / "var" / "artifacts") / "dashboard"


def test_the_dashboard_in_a_real_browser(e2e: Built, tmp_path: Path) -> None:
    """Headless Chromium loads every page of the dashboard rendered from the devnet warehouse:
    nothing logged, every page linked from every other, and the numbers read off the pages
    (bars, spans, table cells) are the simulator's answer key's; a screenshot of each page goes
    to the artifacts folder (var/artifacts/dashboard, or $DREY_ARTIFACTS)."""
    rendered = render_dashboard(e2e.pipeline.warehouse.store.warehouse, tmp_path / "dashboard")
    browser = Chromium(find_chromium())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages: dict[str, PageData] = {}
    for page in rendered.pages:
        dom, errors = browser.dom(page)
        assert errors == [], (page.name, errors)
        pages[page.name] = data = PageData.parse(dom)
        assert {p.name for p in rendered.pages} <= set(data.links), page.name
        browser.screenshot(page, ARTIFACTS / page.with_suffix(".png").name)
    key = e2e.devnet.answer_key
    roster = {r["index"]: r["key"] for r in key["roster"]}

    months = {r["month"]: r for r in pages["index.html"].records("months")}
    for m in key["months"]:
        assert months[m["month"]]["outcome"] == m["outcome"], m["month"]
        if int(months[m["month"]]["checks_failed"]):  # linked to its failing checks
            assert f"m-{m['month']}" in pages["checks.html"].ids
    accepted = {m["month"]: m for m in key["months"] if m["outcome"] == "accepted"}
    per_month = pages["allocations.html"].records("allocations_per_month")
    assert {r["month"]: (int(r["users"]), int(r["pool"])) for r in per_month} == {
        k: (m["n_rows"], m["dreybits_total"]) for k, m in accepted.items()
    }
    (histogram,) = [v for k, v in pages["allocations.html"].bars.items() if "Dreybits" in k]
    assert sum(map(int, histogram.values())) == accepted[max(accepted)]["n_rows"]

    net: dict[str, int] = {}
    for m in key["months"]:
        for r in m["rewards"]:
            net[roster[r["actuary"]][:16]] = net.get(roster[r["actuary"]][:16], 0) + r["sats"]
        for o in m["offences"]:
            net[roster[o["actuary"]][:16]] = net.get(roster[o["actuary"]][:16], 0) - o["slash"]
    (shown,) = [v for k, v in pages["actuaries.html"].bars.items() if k.startswith("Net sats")]
    assert {k: int(v) for k, v in shown.items()} == {k: v for k, v in net.items()}

    races = {
        f"{m['month']} r{r['round']} race": (r["race_close"], r["share_end"])
        for m in key["months"]
        for r in m["rounds"]
    }
    spans = {s["data-label"]: s for s in pages["race.html"].spans}
    for label, (close, _) in races.items():
        if close is not None and label in spans:
            assert int(spans[label]["data-end"]) == close, label
    assert sum(label in spans for label in races) >= len(accepted)

    statuses = {}
    for line in (e2e.devnet.datadir / key["inscriptions"]).read_text().splitlines():
        status = json.loads(line)["status"]
        if status is not None:
            statuses[status] = statuses.get(status, 0) + 1
    (by_status,) = [v for k, v in pages["messages.html"].bars.items() if "by status" in k]
    assert {k: int(v) for k, v in by_status.items()} == statuses


def test_evidence_s_duckdb_reads_the_warehouse_and_keeps_the_pools_exact(e2e: Built) -> None:
    """@duckdb/node-api 1.4.4, the DuckDB Evidence's connector bundles, opens the published
    file, sees every view, and hands a chart each month's pool exactly: DECIMAL(38,0) arrives
    as the decimal string of 10^17, a number JavaScript's doubles cannot hold."""
    script = REPO / "tests" / "pipelines" / "node_reader.mjs"
    out = subprocess.run([node(), str(script), str(e2e.pipeline.warehouse.store.warehouse)],
                         capture_output=True, text=True, timeout=120, cwd=REPO)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    views = e2e.rows(
        "select count(*) as n from duckdb_views() where not internal and schema_name = 'main'"
    )[0]["n"]
    assert got["version"] == "v1.4.4" and got["views"] == views
    expected = {
        m["month"]: str(m["dreybits_total"])
        for m in e2e.devnet.answer_key["months"]
        if m["outcome"] == "accepted"
    }
    assert {m["month"]: m["allocated_dreybits"] for m in got["months"]} == expected
    assert all(m["month_start"] == m["month"] + "-01" for m in got["months"])
    assert any(int(v) > 2**53 for v in expected.values())  # beyond a double's exact range
