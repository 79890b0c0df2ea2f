"""The answer key: what the simulator knows happened, as JSON (format in docs/simulator.md).

Built from the simulator's own bookkeeping (:mod:`devnet.simulate.oracle`) of the final
chain and from its intentions (the director's scenario log, the registry of inscriptions).
After writing, :func:`cross_check` compares the two: every scenario must have done what it
was meant to (a forged share found invalid, a copy found a copy, …), otherwise
:class:`~devnet.simulate.errors.InconsistentOutcomeError` is raised.

Conventions: keys and roots are lowercase hex (roots big-endian, as on the wire); block hashes
are in display order (as bitcoind prints them); actuaries are named by roster index (1-based)
with the keys listed once under ``roster``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devnet.simulate.director import STRANGER_SCENARIOS, WITHDRAWING, Trigger
from devnet.simulate.errors import InconsistentOutcomeError
from devnet.simulate.oracle import MonthState, Package, RoundState, State

if TYPE_CHECKING:
    from devnet.simulate.run import Simulation

__all__ = ["FORMAT", "build_answer_key", "cross_check", "write_inscriptions"]

FORMAT = "drey-devnet-answer-key/1"


def _hx(b: bytes | None) -> str | None:
    return None if b is None else b.hex()


def _display(h: bytes | None) -> str | None:
    return None if h is None else h[::-1].hex()


def build_answer_key(sim: Simulation) -> dict[str, Any]:
    state: State = sim.state
    cfg = sim.config
    rp = state.resolved
    assert rp is not None and state.params is not None
    index = {e.key: e.index for e in rp.roster}
    months = [_month(m, index) for m in state.months if m.month <= sim.last_month]
    return {
        "format": FORMAT,
        "seed": cfg.seed,
        "first_month": sim.plan.first_month,
        "months_simulated": cfg.months,
        "blocks_per_month": cfg.blocks_per_month,
        "actuaries": cfg.actuaries,
        "users": cfg.users,
        "paillier_bits": cfg.paillier_bits,
        "scenarios": [s.label() for s in cfg.scenarios],
        "params": {
            "id": state.params.id,
            "height": state.params.height,
            "first_month": rp.first_month,
            "threshold": rp.threshold,
            "min_stake": rp.min_stake,
            "supermajority": list(rp.supermajority),
            "confirmations": rp.confirmations,
            "race_offset": rp.race_offset,
            "vrf_window": rp.vrf_window,
            "lead_window": rp.lead_window,
            "race_window": rp.race_window,
            "share_window": rp.share_window,
            "max_rounds": rp.max_rounds,
            "dreybits_per_month": rp.dreybits_per_month,
            "fee_bps": rp.fee_bps,
            "penalty_bps": rp.penalty_bps,
            "lead_bps": rp.lead_bps,
            "months_depth": rp.months_depth,
            "paillier_n_bits": int.from_bytes(rp.paillier.n, "big").bit_length(),
        },
        "formula": {
            "manifest": sim.manifest_id,
            "parts": list(sim.formula_parts),
            "sha256": _module_sha(sim),
        },
        "circuit": None
        if sim.circuit_id is None
        else {
            "manifest": sim.circuit_id,
            "contributions": list(sim.contribution_ids),
            "beacon_height": sim.beacon_height,
            "vk_sha256": hashlib.sha256(sim.setup_files.vk_bytes).hexdigest(),
        },
        "roster": [
            {"index": e.index, "key": e.key.hex(), "vrf_key": e.vrf_key.hex()} for e in rp.roster
        ],
        "chain": {
            "params_height": state.params.height,
            "tip_height": state.tip,
            "tip_hash": _display(sim.view.hash(state.tip)),
            "blocks": state.tip,
            "snapshots": state.snapshots,
        },
        "reorgs": sim.reorgs,
        "months": months,
        "months_roots": [[m, r.hex()] for m, r in state.months_roots if m <= sim.last_month],
        "carried": state.carried,
        "scenario_log": [
            {
                "scenario": t.spec.label(),
                "month": t.month,
                "actors": t.actors,
                "triggered": t.triggered,
                "problem": t.problem,
                "events": t.events,
            }
            for t in sim.director.triggers
        ],
        "inscriptions": "inscriptions.jsonl",
    }


def _module_sha(sim: Simulation) -> str:
    return hashlib.sha256(sim.public.module(sim.view)).hexdigest()


def _package(p: Package, index: dict[bytes, int]) -> dict[str, Any]:
    return {
        "package": p.id,
        "actuary": index[p.actuary],
        "kind": p.kind,
        "role": p.role,
        "rank": p.rank,
        "height": p.height,
        "outcome": p.outcome,
        "reveal_height": p.reveal_height,
        "share_indices": list(p.share_indices),
        "month_root": _hx(p.result.month_root) if p.result else None,
        "n_rows": p.result.n_rows if p.result else None,
        "months_root": _hx(p.result.months_root) if p.result else None,
        "problem": p.problem,
        "proof": None
        if p.result is None
        else {
            "system": p.result.proof.system,
            "verified": p.proof_ok if p.proof_checked else None,
            "reason": p.proof_reason,
        },
        "valid": p.valid,
        "agrees": p.agrees,
        "counts": p.counts,
    }


def _round(rs: RoundState, index: dict[bytes, int]) -> dict[str, Any]:
    ledger: dict[str, int] = {}
    for e in rs.ledger:
        ledger[e.status] = ledger.get(e.status, 0) + 1
    return {
        "round": rs.round,
        "G": rs.G,
        "seed_hash": _display(rs.seed_hash),
        "vrfs": [
            {"actuary": index[k], "id": pm.id, "height": pm.height}
            for k, pm in sorted(rs.vrfs.items(), key=lambda kv: kv[1].position)
        ],
        "randomness": _hx(rs.randomness),
        "weights": [[index[k], w] for k, w in rs.weights],
        "lead": None if rs.lead is None else index[rs.lead],
        "lead_package": None
        if rs.lead_package is None
        else {"id": rs.lead_package.id, "height": rs.lead_package.height},
        "L": rs.L,
        "race_close": rs.C,
        "C_s": rs.C_s,
        "RS": rs.RS,
        "share_end": rs.SE,
        "race_end": rs.X,
        "race": [
            {"actuary": index[p.actuary], "id": p.id, "height": p.height, "rank": p.rank}
            for p in rs.race
        ],
        "late": [{"actuary": index[p.actuary], "id": p.id, "height": p.height} for p in rs.late],
        "public_results": rs.public,
        "reveals": [_package(p, index) for p in rs.owed()],
        "share_entries": ledger,
        "decision": rs.decision,
        "decided_height": rs.D,
        "decision_reason": rs.decision_reason,
        "support": rs.support,
        "settled": rs.settled,
        "rewards": [
            {"actuary": index[k], "role": role, "rank": rank, "sats": sats}
            for k, role, rank, sats in rs.rewards
        ],
    }


def _month(ms: MonthState, index: dict[bytes, int]) -> dict[str, Any]:
    exp = ms.expected
    return {
        "month": ms.month,
        "S_prev": ms.S_prev,
        "S": ms.S,
        "A_prev": ms.A_prev,
        "B": ms.B,
        "roster": [
            {
                "actuary": i,
                "stake": stake,
                "slashed": slashed,
                "weight": weight,
                "eligible": ok,
            }
            for i, _, stake, slashed, weight, ok in ms.roster
        ],
        "eligible": sorted(index[k] for k in ms.eligible),
        "E": ms.E,
        "m": ms.m,
        "need": ms.need,
        "under_threshold": ms.under_threshold,
        "n_rows": exp.n_rows,
        "overflow": exp.overflow,
        "total_deposits": exp.total_deposits,
        "pool_sats": ms.pool_sats,
        "dreybits_total": exp.dreybits_total,
        "allocation_sha256": _hx(exp.sha256),
        # A month without quorum or in overflow has no result: it fails with leaf 0 (§4).
        "month_root": None if ms.outcome == "no_quorum" else _hx(exp.month_root),
        "commitment": None
        if exp.overflow or ms.outcome == "no_quorum"
        else _hx(exp.commitment.to_bytes(32, "big")),
        "outcome": ms.outcome,
        "decided_height": ms.decided_height,
        "accepted_round": ms.accepted_round,
        "leaf": None if ms.leaf is None else ms.leaf.to_bytes(32, "big").hex(),
        "months_root": None
        if ms.months_tree_after is None
        else ms.months_tree_after.root.to_bytes(32, "big").hex(),
        "publication": None
        if ms.publication is None
        else {"id": ms.publication.id, "height": ms.publication.height},
        "rounds": [_round(r, index) for r in ms.rounds],
        "rewards": [
            {"round": r.round, "actuary": index[k], "role": role, "rank": rank, "sats": sats}
            for r in ms.rounds
            for k, role, rank, sats in r.rewards
        ],
        "offences": [
            {
                "offence": o.offence,
                "actuary": index[o.actuary],
                "round": o.round,
                "height": o.height,
                "slash": o.slash,
            }
            for o in ms.offences
        ],
        "slashed_total": ms.slashed_total,
        "carried_in": ms.carried_in,
        "carried_out": ms.carried_out,
        "redistribution": sorted([u, s] for u, s in ms.credited.items()),
        "settled": ms.settled,
    }


def write_inscriptions(sim: Simulation, path: Path) -> None:
    """One JSON line per inscription the simulator made: where it landed and its status."""
    statuses = sim.state.statuses
    view = sim.view
    with path.open("w", encoding="utf-8") as fh:
        for item in sim.registry.items:
            pm = view.by_id.get(item.id)
            status = statuses.get(item.id)
            row = {
                "id": item.id,
                "kind": item.kind,
                "sender": item.sender,
                "month": item.month,
                "round": item.round,
                "intent": item.intent,
                "body_sha256": item.body_sha256,
                "height": None if pm is None else pm.height,
                "position": None if pm is None else list(pm.position),
                "status": None if status is None else status[0],
                "reason": None if status is None else status[1],
                **({"detail": item.detail} if item.detail else {}),
            }
            fh.write(json.dumps(row, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------------------
def cross_check(sim: Simulation) -> list[str]:
    """Intentions against outcomes: raises :class:`InconsistentOutcomeError` when something the
    simulator did had not the effect it meant; returns the scenarios that found no occasion
    to act (e.g. too few actuaries for the roles), which are warnings."""
    state = sim.state
    rp = state.resolved
    assert rp is not None
    key_of = {e.index: e.key for e in rp.roster}
    problems: list[str] = []
    warnings: list[str] = []
    for t in sim.director.triggers:
        label = t.spec.label()
        if not t.triggered:
            warnings.append(f"{label} never triggered ({t.problem or 'no occasion'})")
            continue
        ms = state.month(t.month)
        if ms is None:
            problems.append(f"{label}: month {t.month} not evaluated")
            continue
        if t.spec.name in WITHDRAWING:
            problems += _withdraw_problems(t, ms, key_of)
            continue
        if t.spec.name in ("honest", *STRANGER_SCENARIOS):
            continue  # the stranger's inscriptions are checked by their expected status
        if t.spec.round >= len(ms.rounds):
            problems.append(f"{label}: round {t.spec.round} does not exist")
            continue
        rs = ms.rounds[t.spec.round]
        offences = {(o.offence, o.actuary) for o in rs.offences}
        for ev in t.events:
            actor = key_of.get(ev["actor"])  # type: ignore[call-overload]
            ids = ev["ids"]
            intent = ev["intent"]
            ok = _took_effect(intent, ids, actor, rs=rs, offences=offences, sim=sim)
            if not ok:
                problems.append(f"{label}: {intent} by actuary {ev['actor']} had no effect")
        if t.spec.name == "few_shares":
            unrevealed = [p for p in rs.owed() if p.outcome == "unrevealed"]
            if not unrevealed:
                problems.append(f"{label}: no package left unrevealed")
    problems += _honest_problems(sim)
    problems += _expected_statuses(sim)
    if problems:
        raise InconsistentOutcomeError("; ".join(problems))
    return warnings


def _took_effect(
    intent: str,
    ids: Any,
    actor: bytes | None,
    *,
    rs: RoundState,
    offences: set[tuple[str, bytes]],
    sim: Simulation,
) -> bool:
    """Whether a hostile (or merely unusual) act had the effect the scenario meant."""
    if intent == "silent_lead":
        return rs.lead_package is None and ("missed_lead", actor) in offences
    if intent == "wrong_table":
        return (
            rs.lead_package is not None
            and not rs.lead_package.valid
            and rs.decision == "rejected"
            and ("invalid_lead_result", actor) in offences
        )
    if intent in ("copy_repost", "copy_reencrypt"):
        pkg = rs.package(ids[0])  # type: ignore[index]
        return pkg is not None and pkg.outcome == "copy" and ("copy", actor) in offences
    if intent == "early_secondary":
        status = sim.state.statuses.get(ids[0])  # type: ignore[index]
        return status is not None and status[0] == "early"
    if intent == "late_secondary":
        return any(p.id == ids[0] for p in rs.late)  # type: ignore[index]
    if intent == "premature_share":
        return ("premature_share", actor) in offences
    if intent == "forged_share":
        return ("invalid_share_proof", actor) in offences
    if intent.startswith("proof_"):
        pkg = rs.package(ids[0])  # type: ignore[index]
        if pkg is None:
            return False
        if sim.circuit_id is not None:
            return (
                pkg.problem == f"bad_proof: {PROOF_REASONS[intent]}"
                and (
                    "wrong_secondary_result",
                    actor,
                )
                in offences
            )
        if intent == "proof_system":  # v1's own recompute: an honest result
            return pkg.valid
        # v1: a system v1 does not know; not counted, no offence.
        return pkg.problem == "unknown_proof_system" and not pkg.agrees
    if intent in _REFUSED:
        return all(sim.state.statuses.get(i) == _REFUSED[intent] for i in ids)  # type: ignore[union-attr]
    if intent == "bad_vrf":
        status = sim.state.statuses.get(ids[0])  # type: ignore[index]
        return status == ("quarantined", "bad_vrf_proof") and ("vrf_withheld", actor) in offences
    if intent == "not_owed_share":
        return any(e.shares_id == ids[0] and e.reason == "not_owed" for e in rs.ledger)  # type: ignore[index]
    if intent in ("wrong_secondary", "key_reuse"):
        pkg = rs.package(ids[0])  # type: ignore[index]
        offence = "wrong_secondary_result" if intent == "wrong_secondary" else "key_reuse"
        outcome_ok = pkg is not None and (
            (pkg.outcome == "result" and not pkg.valid)
            if intent == "wrong_secondary"
            else pkg.outcome == "key_reuse"
        )
        return outcome_ok and (offence, actor) in offences
    if intent == "few_shares":
        return ("withheld_share", actor) in offences
    if intent == "reorg":
        moved = [r for r in sim.reorgs if r["package"] == ids[0]]  # type: ignore[index]
        return bool(moved) and moved[0]["to_height"] not in (None, moved[0]["from_height"])
    return True


#: Status every inscription of these intents must get (the impostor's refused messages).
_REFUSED = {
    "late_vrf": ("ignored", None),
    "impostor_lead": ("quarantined", "not_lead"),
    "bad_part": ("quarantined", "bad_part_index"),
    "lead_secondary": ("quarantined", "not_secondary"),
    "bad_kem": ("quarantined", "bad_kem"),
}


def _withdraw_problems(t: Trigger, ms: MonthState, key_of: dict[int, bytes]) -> list[str]:
    """Withdrawn members are not eligible; ``under_threshold`` / ``no_quorum`` months say so."""
    label, withdrawn = t.spec.label(), t.actors["withdraw"]
    out = [f"{label}: actuary {i} still eligible" for i in withdrawn if key_of[i] in ms.eligible]
    if t.spec.name == "under_threshold" and not ms.under_threshold:
        out.append(f"{label}: {ms.month} is not under the threshold (E = {ms.E})")
    if t.spec.name == "no_quorum" and ms.outcome != "no_quorum":
        out.append(f"{label}: {ms.month} is {ms.outcome}, not no_quorum")
    return out


def _expected_statuses(sim: Simulation) -> list[str]:
    """Inscriptions recorded with the status their poster expected (the stranger's)."""
    out = []
    for item in sim.registry.items:
        expect = item.detail.get("expect")
        if expect is None:
            continue
        got = sim.state.statuses.get(item.id)
        if got is None or list(got) != expect:
            out.append(f"{item.intent} {item.id}: expected {expect}, got {got}")
    return out


#: What the verifier says of each ``forged_proof`` defect under v1.1.
PROOF_REASONS = {
    "proof_pairing": "pairing_failed",
    "proof_off_curve": "not_on_curve",
    "proof_coordinate": "coordinate_out_of_range",
    "proof_system": "wrong_system",
}


def _honest_problems(sim: Simulation) -> list[str]:
    """Honest share entries are valid; honest packages reveal to valid results."""
    problems: list[str] = []
    for ms in sim.state.months:
        for rs in ms.rounds:
            for e in rs.ledger:
                item = sim.registry.by_id.get(e.shares_id)
                if (
                    item is not None
                    and item.intent == "honest"
                    and e.status
                    not in (
                        "valid",
                        "duplicate",
                    )
                ):
                    problems.append(f"honest share entry {e.shares_id}#{e.entry} is {e.status}")
            for p in rs.owed():
                item = sim.registry.by_id.get(p.id)
                if (
                    item is not None
                    and item.intent in ("honest", "early_secondary", "late_secondary")
                    and p.outcome not in ("result", "unrevealed", "pending")
                ):
                    problems.append(f"honest package {p.id} revealed as {p.outcome}")
                if (
                    p.outcome == "result"
                    and item is not None
                    and item.intent == "honest"
                    and not p.valid
                ):
                    problems.append(f"honest package {p.id} invalid: {p.problem}")
    return problems
