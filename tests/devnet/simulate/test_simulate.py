"""The simulator end to end: every scenario, kernel validation, indexer decoding, and the
rules engine (drey.rules.evaluate) reproducing the simulator's answer key from the decoded
messages alone."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devnet.chain import Chain
from devnet.cli import main as devnet_main
from devnet.simulate import SCENARIOS, ScenarioError, ScenarioSpec, parse_scenarios
from devnet.simulate.config import DevnetParams
from drey.messages import Quarantine
from drey.rules import Evaluation

from .compare import (
    month_differences,
    penalty_differences,
    rules_evaluation,
    status_differences,
)
from .conftest import FIRST_MONTH, Run, run
from .decode import decode_datadir


def _month(key: dict[str, Any], n: int) -> dict[str, Any]:
    return key["months"][n]


# --- the scenarios did what they say -------------------------------------------------------


def test_every_scenario_triggered(all_scenarios: Run) -> None:
    log = all_scenarios.key["scenario_log"]
    played = {t["scenario"].split("@")[0] for t in log}
    assert played == {s.name for s in parse_scenarios("all")}
    # Every scenario is in one of the two plans (the hostile one has its own test).
    assert played | {s.name for s in parse_scenarios("hostile")} == set(SCENARIOS)
    for t in log:
        assert t["triggered"], t
        assert t["problem"] is None, t
    assert all_scenarios.report.warnings == ()


def test_month_one_silent_lead_then_early_secondary_premature_and_forged_shares(
    all_scenarios: Run,
) -> None:
    m = _month(all_scenarios.key, 0)
    r0, r1 = m["rounds"]
    assert r0["lead_package"] is None and r0["decision"] == "rejected"
    assert r0["decided_height"] == r0["G"] + 2 + 4  # end of the lead window
    silent = r0["lead"]
    assert ("missed_lead", silent, 0) in {
        (o["offence"], o["actuary"], o["round"]) for o in m["offences"]
    }
    # Round 1: the silent lead's weight is zeroed; the round is accepted.
    assert dict(map(tuple, r1["weights"]))[silent] == 0
    assert r1["lead"] != silent and r1["decision"] == "accepted"
    assert m["outcome"] == "accepted" and m["accepted_round"] == 1
    offences = {o["offence"] for o in m["offences"] if o["round"] == 1}
    assert {"premature_share", "invalid_share_proof", "withheld_share"} <= offences
    early = [i for i in all_scenarios.inscriptions if i["intent"] == "early_secondary"]
    assert len(early) == 1 and early[0]["status"] == "early"
    # The early package did not use the slot: the same actuary races in round 1.
    actor = next(t for t in all_scenarios.key["scenario_log"] if t["scenario"].startswith("early"))
    assert actor["actors"]["early"][0] in {p["actuary"] for p in r1["race"]}


def test_month_two_wrong_table_then_lazy_copies_and_a_late_secondary(all_scenarios: Run) -> None:
    m = _month(all_scenarios.key, 1)
    r0, r1 = m["rounds"]
    lead0 = next(p for p in r0["reveals"] if p["role"] == "lead")
    assert lead0["outcome"] == "result" and not lead0["valid"]
    assert r0["decision"] == "rejected" and r0["decided_height"] == lead0["reveal_height"]
    assert r1["public_results"]  # round 0 revealed: results are public in round 1
    copies = [p for p in r1["reveals"] if p["outcome"] == "copy"]
    assert len(copies) == 2
    problems = sorted(p["problem"] for p in copies)
    assert problems[0].startswith("fails to decrypt")  # kem/nonce/ct re-posted
    assert problems[1].startswith("result names actuary")  # re-encrypted plaintext
    assert {(o["offence"], o["round"]) for o in m["offences"]} >= {
        ("invalid_lead_result", 0),
        ("copy", 1),
    }
    late = [i for i in all_scenarios.inscriptions if i["intent"] == "late_secondary"]
    assert len(late) == 1 and late[0]["status"] == "late"
    # Defective proofs on a v1 network: a proof map of a system v1 does not know does not
    # count and is no offence; the "wrong system" defect is v1's own recompute, honest.
    forged = {
        i["intent"]: i["id"] for i in all_scenarios.inscriptions if i["intent"].startswith("proof_")
    }
    assert sorted(forged) == [
        "proof_coordinate",
        "proof_off_curve",
        "proof_pairing",
        "proof_system",
    ]
    by_id = {p["package"]: p for p in r0["reveals"]}
    for intent, package in forged.items():
        pkg = by_id[package]
        if intent == "proof_system":
            assert (pkg["problem"], pkg["valid"]) == (None, True)
        else:
            assert (pkg["problem"], pkg["agrees"]) == ("unknown_proof_system", False)
            assert pkg["proof"]["verified"] is None
    # Public results: no race rewards, the lead takes the pool.
    assert [r["role"] for r in r1["rewards"]] == ["lead"]
    assert r1["rewards"][0]["sats"] == m["pool_sats"]


def test_month_three_withdrawal_reorg_and_too_few_shares(all_scenarios: Run) -> None:
    key = all_scenarios.key
    m = _month(key, 2)
    withdraw = next(t for t in key["scenario_log"] if t["scenario"].startswith("withdraw"))
    who = withdraw["actors"]["withdraw"][0]
    assert who not in m["eligible"] and m["E"] == 8
    assert who in _month(key, 1)["eligible"]
    (reorg,) = key["reorgs"]
    assert reorg["to_height"] == reorg["from_height"] + 1
    r0 = m["rounds"][0]
    moved = next(p for p in r0["reveals"] if p["package"] == reorg["package"])
    assert moved["role"] == "late"  # the race closed without it
    unrevealed = [p for p in r0["reveals"] if p["outcome"] == "unrevealed"]
    assert len(unrevealed) == 1
    withheld = {o["actuary"] for o in m["offences"] if o["offence"] == "withheld_share"}
    few = next(t for t in key["scenario_log"] if t["scenario"].startswith("few_shares"))
    assert withheld == set(few["actors"]["withhold"])
    assert r0["decision"] == "accepted"


def test_answer_key_totals_are_consistent(all_scenarios: Run) -> None:
    key = all_scenarios.key
    for m in key["months"]:
        assert m["settled"] and m["outcome"] == "accepted" and m["publication"] is not None
        assert sum(r["sats"] for r in m["rewards"]) == m["pool_sats"]
        assert sum(s for _, s in m["redistribution"]) == m["slashed_total"] + m["carried_in"]
        assert m["dreybits_total"] == key["params"]["dreybits_per_month"]
    assert [r for _, r in key["months_roots"]] == [m["months_root"] for m in key["months"]]


# --- kernel and indexer -------------------------------------------------------------------


def test_every_block_validates_in_a_fresh_kernel(all_scenarios: Run, tmp_path: Path) -> None:
    key = all_scenarios.key
    decoded = decode_datadir(
        all_scenarios.datadir,
        founder=all_scenarios.identity.founder,
        vault=list(all_scenarios.identity.vault_scripts),
    )
    assert decoded.tip == key["chain"]["tip_height"]
    assert decoded.hashes[-1][::-1].hex() == key["chain"]["tip_hash"]
    assert len(decoded.stale_blocks) == 1  # the block the reorg replaced
    with Chain.create(tmp_path / "replay", seed=b"other") as fresh:
        stale_at = key["reorgs"][0]["stale_height"]
        for height, raw in enumerate(decoded.raw_blocks[1:], start=1):
            if height == stale_at:
                assert fresh.submit_block(decoded.stale_blocks[0]).status == "accepted"
            result = fresh.submit_block(raw)
            # The branch's first block has the same work as the stale one: stored, not
            # connected ("inconclusive", as Core's submitblock says) until its successor.
            expected = "inconclusive" if height == stale_at else "accepted"
            assert result.status == expected, (height, result)
        assert fresh.tip.hash == decoded.hashes[-1]


def test_indexer_decodes_exactly_what_was_inscribed(all_scenarios: Run) -> None:
    key = all_scenarios.key
    decoded = decode_datadir(
        all_scenarios.datadir,
        founder=all_scenarios.identity.founder,
        vault=list(all_scenarios.identity.vault_scripts),
    )
    made = {i["id"]: i for i in all_scenarios.inscriptions if i["kind"] != "formula_part"}
    assert set(decoded.drey_inscriptions) == set(made)
    for iid, (height, kind, body) in decoded.drey_inscriptions.items():
        item = made[iid]
        assert kind == item["kind"], iid
        assert height == item["height"], iid
        assert hashlib.sha256(body).hexdigest() == item["body_sha256"], iid
    assert not [pm for pm in decoded.messages if isinstance(pm.message, Quarantine)]
    assert [p.inscription_id for p in decoded.parts] == key["formula"]["parts"]
    kinds = {k for _, k, _ in decoded.drey_inscriptions.values()}
    assert kinds == {
        "params",
        "formula",
        "stake",
        "plan",
        "vrf",
        "lead",
        "secondary",
        "shares",
        "allocation",
    }


# --- the rules engine reproduces the answer key -------------------------------------------


@pytest.fixture(scope="module")
def rules_eval(all_scenarios: Run) -> Evaluation:
    return rules_evaluation(all_scenarios)


def test_rules_engine_reproduces_months_rounds_and_rewards(
    all_scenarios: Run, rules_eval: Evaluation
) -> None:
    assert month_differences(all_scenarios, rules_eval) == []


def test_rules_engine_reproduces_penalties_and_redistribution(
    all_scenarios: Run, rules_eval: Evaluation
) -> None:
    assert penalty_differences(all_scenarios, rules_eval) == ([], [])
    assert rules_eval.carried == all_scenarios.key["carried"]


def test_rules_engine_gives_every_inscription_the_same_status(
    all_scenarios: Run, rules_eval: Evaluation
) -> None:
    assert status_differences(all_scenarios, rules_eval) == []


@pytest.mark.parametrize(
    "scenarios",
    [
        "lazy_copier@1",  # the re-encrypted copy uses a colluding author's handout
        "wrong_table@1.0,silent_lead@1.1,reorg@1.2,lazy_copier@1.2,late_secondary@1.2",
        "few_shares@1,premature_share@1,forged_share@1,withdraw_below_min@1,early_secondary@1",
    ],
)
def test_rules_engine_reproduces_other_combinations(tmp_path: Path, scenarios: str) -> None:
    r = run(
        tmp_path / "combo",
        months=1,
        actuaries=9,
        users=15,
        seed=f"combo/{scenarios}",
        scenarios=parse_scenarios(scenarios),
    )
    assert r.report.warnings == ()
    assert all(t["triggered"] for t in r.key["scenario_log"])
    ev = rules_evaluation(r)
    assert month_differences(r, ev) == []
    assert penalty_differences(r, ev) == ([], [])
    assert status_differences(r, ev) == []


# --- determinism, options, CLI ------------------------------------------------------------


def _blocks(datadir: Path) -> list[bytes]:
    with Chain.open(datadir) as chain:
        return [chain.read_block(chain.hash_at(h)) for h in range(chain.height + 1)]


def test_same_seed_gives_byte_identical_blocks(tmp_path: Path) -> None:
    scenarios = "silent_lead@1.0,reorg@1.1"
    opts = {"months": 1, "actuaries": 5, "users": 8, "scenarios": parse_scenarios(scenarios)}
    a = run(tmp_path / "a", seed="same", **opts)
    c = run(tmp_path / "c", seed="other", **opts)
    # The same run from the CLI in another process, with another string hash seed.
    cli = [
        sys.executable,
        "-m",
        "devnet",
        "simulate",
        "--datadir",
        str(tmp_path / "b"),
        "--months",
        "1",
        "--actuaries",
        "5",
        "--users",
        "8",
        "--seed",
        "same",
        "--scenarios",
        scenarios,
        "--first-month",
        FIRST_MONTH,
        "--paillier-bits",
        "512",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(cli, check=True, env=env, capture_output=True)
    blocks_a, blocks_b = _blocks(a.datadir), _blocks(tmp_path / "b")
    assert blocks_a == blocks_b
    assert (tmp_path / "b" / "answer_key.json").read_text() == a.report.answer_key.read_text()
    assert _blocks(c.datadir)[-1] != blocks_a[-1]
    assert len(a.key["reorgs"]) == 1


def test_scenario_lists_are_checked() -> None:
    assert parse_scenarios("reorg@2.1,silent_lead@2") == (
        ScenarioSpec("reorg", 2, 1),
        ScenarioSpec("silent_lead", 2, 0),
    )
    with pytest.raises(ScenarioError, match="unknown scenario"):
        parse_scenarios("sneaky")
    with pytest.raises(ScenarioError, match="exists only if round 0 fails"):
        parse_scenarios("late_secondary@1.1")
    with pytest.raises(ScenarioError, match="both need the elected lead"):
        parse_scenarios("silent_lead@1,wrong_table@1")
    with pytest.raises(ScenarioError, match="month-level"):
        parse_scenarios("withdraw_below_min@1.1")


def test_cli_simulate_writes_the_answer_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    rc = devnet_main(
        [
            "simulate",
            "--datadir",
            str(out),
            "--months",
            "1",
            "--actuaries",
            "3",
            "--users",
            "5",
            "--paillier-bits",
            "512",
            "--first-month",
            FIRST_MONTH,
            "--scenarios",
            "late_secondary@1",
        ]
    )
    assert rc == 0
    assert '"answer_key"' in capsys.readouterr().out
    assert (out / "answer_key.json").is_file() and (out / "inscriptions.jsonl").is_file()
    assert devnet_main(["simulate", "--datadir", str(tmp_path / "x"), "--scenarios", "nope"]) == 2


# --- longer runs -------------------------------------------------------------------


def test_twelve_months_every_scenario_match_the_rules_engine(tmp_path: Path) -> None:
    r = run(
        tmp_path / "year",
        months=12,
        actuaries=9,
        users=300,
        seed="year",
        scenarios=parse_scenarios(
            "all,silent_lead@7.0,reorg@7.1,few_shares@9,wrong_table@11.0,lazy_copier@11.1"
        ),
    )
    assert r.report.warnings == ()
    assert [m["outcome"] for m in r.key["months"]] == ["accepted"] * 12
    ev = rules_evaluation(r)
    assert month_differences(r, ev) == []
    assert penalty_differences(r, ev) == ([], [])
    assert status_differences(r, ev) == []


def test_hostile_months_match_the_rules_engine(tmp_path: Path) -> None:
    """The ``hostile`` plan (max_rounds 2): every stranger act got the status it expected
    (the cross-check raises otherwise), the months end as planned, and the rules engine on the
    decoded chain agrees with the bookkeeping on months, penalties and every status."""
    r = run(
        tmp_path / "hostile",
        months=5,
        actuaries=9,
        users=12,
        seed="hostile",
        scenarios=parse_scenarios("hostile"),
        params=DevnetParams(max_rounds=2),
    )
    assert r.report.warnings == ()
    assert [m["outcome"] for m in r.key["months"]] == [
        "accepted", "accepted", "failed", "accepted", "no_quorum",
    ]  # fmt: skip
    assert r.key["months"][3]["under_threshold"] is True
    expected = [i for i in r.inscriptions if "expect" in i.get("detail", {})]
    assert len(expected) > 40
    assert all([i["status"], i["reason"]] == i["detail"]["expect"] for i in expected)
    ev = rules_evaluation(r)
    assert month_differences(r, ev) == []
    assert penalty_differences(r, ev) == ([], [])
    assert status_differences(r, ev) == []


@pytest.mark.slow
def test_a_large_allocation_travels_in_lead_parts(tmp_path: Path) -> None:
    """64,000 rows make a ~370 kB file: above the 350,000-byte inline limit (§5)."""
    r = run(tmp_path / "large", months=1, actuaries=3, users=64_000, seed="large")
    parts = [i for i in r.inscriptions if i["kind"] == "lead_part"]
    assert len(parts) == 2 and all(p["status"] == "valid" for p in parts)
    m = r.key["months"][0]
    assert m["outcome"] == "accepted" and m["n_rows"] == 64_000
    ev = rules_evaluation(r)
    assert month_differences(r, ev) == []
    assert status_differences(r, ev) == []
