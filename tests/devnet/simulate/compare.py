"""Compare drey.rules.evaluate on the decoded chain with the simulator's answer key."""

from __future__ import annotations

from typing import Any

from drey.rules import Evaluation, evaluate

from .conftest import Run
from .decode import decode_datadir


def rules_evaluation(run: Run) -> Evaluation:
    """The rules engine on the decoded blocks of ``run`` (messages and chain view only)."""
    decoded = decode_datadir(
        run.datadir,
        founder=run.identity.founder,
        vault=list(run.identity.vault_scripts),
    )
    return evaluate(
        decoded.chain,
        decoded.messages,
        founder=run.identity.founder,
        tip_height=decoded.tip,
        formula_parts=decoded.parts,
    )


def by_index(key: dict[str, Any]) -> dict[str, int]:
    return {r["key"]: r["index"] for r in key["roster"]}


def rules_months(ev: Any, index: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for m in ev.months:
        rounds = []
        for r in m.rounds:
            rounds.append(
                {
                    "round": r.round,
                    "G": r.seed_height,
                    "lead": None if r.lead is None else index[r.lead.hex()],
                    "lead_package": r.lead_package,
                    "L": r.lead_height,
                    "race_close": r.close,
                    "C_s": r.close_s,
                    "RS": r.reveal_start,
                    "share_end": r.share_end,
                    "vrfs": sorted(index[v.actuary.hex()] for v in r.vrfs),
                    "race": [(p.inscription_id, index[p.actuary.hex()], p.rank) for p in r.race],
                    "late": [p.inscription_id for p in r.late],
                    "public_results": r.post_reveal,
                    "reveals": sorted(
                        (p.package, p.outcome, p.reveal_height, p.valid, p.agrees, p.counts)
                        for p in r.reveals
                    ),
                    "decision": r.decision.outcome,
                    "decided_height": r.decision.height,
                }
            )
        out.append(
            {
                "month": m.month,
                "S_prev": m.prev_snapshot,
                "S": m.snapshot,
                "B": m.start,
                "eligible": sorted(s.index for s in m.roster if s.eligible),
                "roster": [(s.index, s.stake, s.slashed, s.weight) for s in m.roster],
                "n_rows": m.n_rows,
                "month_root": None if m.month_root is None else m.month_root.hex(),
                "pool_sats": m.pool_sats,
                # The answer key names a failure at B_M by its cause (§4).
                "outcome": "no_quorum" if m.no_quorum else "overflow" if m.overflow else m.outcome,
                "decided_height": m.decided_height,
                "accepted_round": m.accepted_round,
                "months_root": None if m.months_root is None else m.months_root.hex(),
                "publication": m.publication,
                "rewards": sorted(
                    (r.round, index[r.actuary.hex()], r.role, r.rank, r.sats) for r in m.rewards
                ),
                "rounds": rounds,
            }
        )
    return out


def key_months(key: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for m in key["months"]:
        out.append(
            {
                "month": m["month"],
                "S_prev": m["S_prev"],
                "S": m["S"],
                "B": m["B"],
                "eligible": m["eligible"],
                "roster": [
                    (x["actuary"], x["stake"], x["slashed"], x["weight"]) for x in m["roster"]
                ],
                "n_rows": m["n_rows"],
                "month_root": m["month_root"],
                "pool_sats": m["pool_sats"],
                "outcome": m["outcome"],
                "decided_height": m["decided_height"],
                "accepted_round": m["accepted_round"],
                "months_root": m["months_root"],
                "publication": None if m["publication"] is None else m["publication"]["id"],
                "rewards": sorted(
                    (r["round"], r["actuary"], r["role"], r["rank"], r["sats"])
                    for r in m["rewards"]
                ),
                "rounds": [
                    {
                        "round": r["round"],
                        "G": r["G"],
                        "lead": r["lead"],
                        "lead_package": None
                        if r["lead_package"] is None
                        else r["lead_package"]["id"],
                        "L": r["L"],
                        "race_close": r["race_close"],
                        "C_s": r["C_s"],
                        "RS": r["RS"],
                        "share_end": r["share_end"],
                        "vrfs": sorted(v["actuary"] for v in r["vrfs"]),
                        "race": [(p["id"], p["actuary"], p["rank"]) for p in r["race"]],
                        "late": [p["id"] for p in r["late"]],
                        "public_results": r["public_results"],
                        "reveals": sorted(
                            (
                                p["package"],
                                p["outcome"],
                                p["reveal_height"],
                                p["valid"],
                                p["agrees"],
                                p["counts"],
                            )
                            for p in r["reveals"]
                        ),
                        "decision": r["decision"],
                        "decided_height": r["decided_height"],
                    }
                    for r in m["rounds"]
                ],
            }
        )
    return out


def month_differences(run: Run, ev: Evaluation) -> list[tuple[object, ...]]:
    """(month, round, field, rules, answer key) for every difference."""
    got = rules_months(ev, by_index(run.key))
    want = key_months(run.key)
    out: list[tuple[object, ...]] = []
    if [m["month"] for m in got][: len(want)] != [m["month"] for m in want]:
        out.append(("months", [m["month"] for m in got], [m["month"] for m in want]))
        return out
    for g, w in zip(got, want, strict=False):
        for field in w:
            if field == "rounds":
                if len(g["rounds"]) != len(w["rounds"]):
                    out.append((w["month"], "rounds", len(g["rounds"]), len(w["rounds"])))
                    continue
                for gr, wr in zip(g["rounds"], w["rounds"], strict=True):
                    fields = [f for f in wr if gr[f] != wr[f]]
                    if wr["L"] is None:
                        # Without a lead package §8's later-round rule is moot; the rules
                        # engine does not report it then.
                        fields = [f for f in fields if f != "public_results"]
                    out.extend((w["month"], wr["round"], f, gr[f], wr[f]) for f in fields)
            elif g[field] != w[field]:
                out.append((w["month"], field, g[field], w[field]))
    return out


def penalty_differences(run: Run, ev: Evaluation) -> tuple[list[Any], list[Any]]:
    """(penalties, redistribution) present on one side only."""
    key = run.key
    index = by_index(key)
    months = {m["month"] for m in key["months"]}
    got = {
        (p.month, p.round, p.offence, index[p.actuary.hex()], p.height, p.slash)
        for p in ev.penalties
        if p.month in months
    }
    want = {
        (m["month"], o["round"], o["offence"], o["actuary"], o["height"], o["slash"])
        for m in key["months"]
        for o in m["offences"]
    }
    got_credit = {(r.month, r.user_id, r.sats) for r in ev.redistribution if r.month in months}
    want_credit = {(m["month"], u, s) for m in key["months"] for u, s in m["redistribution"]}
    return sorted(got ^ want), sorted(got_credit ^ want_credit)


def status_differences(run: Run, ev: Evaluation) -> list[tuple[object, ...]]:
    by_id = {s.inscription_id: s for s in ev.statuses}
    out = []
    for item in run.inscriptions:
        if item["kind"] == "formula_part":
            continue
        s = by_id.get(item["id"])
        got = None if s is None else (s.status, s.reason)
        want = (item["status"], item["reason"])
        if got != want:
            out.append((item["kind"], item["intent"], item["id"], got, want))
    return out
