"""The warehouse against the devnet simulator's answer key (``answer_key.json`` and
``inscriptions.jsonl``, docs/simulator.md): every month, round, reveal, reward, offence, root
and message status the simulator says happened, compared with what the warehouse published.

The simulator names actuaries by roster index; the warehouse by key (hex). Only the months
the simulator ran are compared (the warehouse may also hold the pending month after them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference. ``strict`` is false for wording the protocol leaves free (a decision
    reason's text, a copy's problem text) and for a rejected round without a lead package's
    ``settled`` flag (no share window ever opened): reported, never a failure."""

    where: str
    field: str
    expected: Any
    got: Any
    strict: bool = True

    def __str__(self) -> str:
        return f"{self.where} {self.field}: expected {self.expected!r}, got {self.got!r}"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class _Diff:
    def __init__(self) -> None:
        self.out: list[Mismatch] = []

    def eq(self, where: str, field: str, expected: Any, got: Any, *, strict: bool = True) -> None:
        if expected != got:
            self.out.append(Mismatch(where, field, expected, got, strict))

    def fields(self, where: str, pairs: Iterable[tuple[str, Any, Any]]) -> None:
        for field, expected, got in pairs:
            self.eq(where, field, expected, got)


def compare(
    con: duckdb.DuckDBPyConnection, key: dict[str, Any], inscriptions: Path
) -> list[Mismatch]:
    """Everything that differs (empty when the warehouse equals the answer key)."""
    d = _Diff()
    roster = {r["index"]: r["key"] for r in key["roster"]}
    months = {r["month"]: r for r in _rows(con, "select * from months")}
    for m in key["months"]:
        month = m["month"]
        row = months.get(month)
        if row is None:
            d.eq(month, "month", "present", None)
            continue
        _month_fields(d, month, m, row)
        _eligibility(con, d, month, m, roster)
        _allocations(con, d, month, m)
        for r in m["rounds"]:
            _round(con, d, month, r, roster)
        _settlement(con, d, month, m, roster)
    simulated = {m["month"] for m in key["months"]}
    d.eq(
        "chain",
        "months_roots",
        [list(x) for x in key["months_roots"]],
        [
            [r["month"], r["months_root"]]
            for r in _rows(con, "select * from months_history order by month")
            if r["month"] in simulated
        ],
    )
    _statuses(con, d, inscriptions)
    return d.out


def _outcome(row: dict[str, Any]) -> str:
    """The answer key names a failure at B_M by its cause (§4): ``no_quorum`` or ``overflow``;
    the warehouse's months say ``failed`` with the flag."""
    if row["outcome"] == "failed" and row["no_quorum"]:
        return "no_quorum"
    if row["outcome"] == "failed" and row["overflow"]:
        return "overflow"
    return str(row["outcome"])


def _month_fields(d: _Diff, month: str, m: dict[str, Any], row: dict[str, Any]) -> None:
    """The month's snapshot, start, outcome, sizes and roots (§4, §7, §9)."""
    d.fields(
        month,
        [
            ("outcome", m["outcome"], _outcome(row)),
            ("no_quorum", m["E"] == 0, row["no_quorum"]),
            ("prev_snapshot", m["S_prev"], row["prev_snapshot"]),
            ("snapshot", m["S"], row["snapshot"]),
            ("start_height", m["B"], row["start_height"]),
            ("decided_height", m["decided_height"], row["decided_height"]),
            ("accepted_round", m["accepted_round"], row["accepted_round"]),
            ("eligible", m["E"], row["eligible"]),
            ("need", m["need"], row["need"]),
            ("race_quorum", m["m"], row["race_quorum"]),
            ("under_threshold", m["under_threshold"], row["under_threshold"]),
            ("overflow", m["overflow"], row["overflow"]),
            ("n_rows", m["n_rows"], row["n_rows"]),
            ("pool_sats", m["pool_sats"], row["pool_sats"]),
            ("month_root", m["month_root"], row["month_root"]),
            ("commitment", m["commitment"], row["commitment"]),
            ("months_root", m["months_root"], row["months_root"]),
            ("publication", (m["publication"] or {}).get("id"), row["publication"]),
            ("slashed", m["slashed_total"], row["slashed"]),
            ("settled", m["settled"], row["settled"]),
        ],
    )


def _settlement(
    con: duckdb.DuckDBPyConnection, d: _Diff, month: str, m: dict[str, Any], roster: dict[int, str]
) -> None:
    """Rewards, penalties and the redistribution of slashed stake (§9)."""
    d.eq(
        month,
        "rewards",
        sorted(
            (r["round"], roster[r["actuary"]], r["role"], r["rank"] or 0, r["sats"])
            for r in m["rewards"]
        ),
        sorted(
            (r["round"], r["actuary"], r["role"], r["rank"] or 0, r["sats"])
            for r in _rows(con, "select * from rewards where month = ?", month)
        ),
    )
    d.eq(
        month,
        "penalties",
        sorted(
            (o["offence"], roster[o["actuary"]], o["round"], o["height"], o["slash"])
            for o in m["offences"]
        ),
        sorted(
            (p["offence"], p["actuary"], p["round"], p["height"], p["slash"])
            for p in _rows(con, "select * from penalties where month = ?", month)
        ),
    )
    d.eq(
        month,
        "redistribution",
        sorted(tuple(x) for x in m["redistribution"]),
        sorted(
            (r["user_id"], r["sats"])
            for r in _rows(con, "select * from redistribution where month = ?", month)
        ),
    )


def _eligibility(
    con: duckdb.DuckDBPyConnection, d: _Diff, month: str, m: dict[str, Any], roster: dict[int, str]
) -> None:
    got = {
        r["actuary"]: (r["stake"], r["slashed"], r["weight"], r["eligible"])
        for r in _rows(con, "select * from eligibility where month = ?", month)
    }
    for r in m["roster"]:
        expected = (r["stake"], r["slashed"], r["weight"], r["eligible"])
        d.eq(f"{month} actuary {r['actuary']}", "stake", expected, got.get(roster[r["actuary"]]))


def _allocations(con: duckdb.DuckDBPyConnection, d: _Diff, month: str, m: dict[str, Any]) -> None:
    if m["outcome"] != "accepted":
        return
    (total,) = con.execute(
        "select coalesce(sum(dreybits::HUGEINT), 0) from allocations where month = ?", [month]
    ).fetchone()
    d.eq(month, "dreybits_total", m["dreybits_total"], int(total))


def _round(
    con: duckdb.DuckDBPyConnection, d: _Diff, month: str, r: dict[str, Any], roster: dict[int, str]
) -> None:
    where = f"{month} r{r['round']}"
    got = _rows(con, "select * from elections where month = ? and round = ?", month, r["round"])
    if len(got) != 1:
        d.eq(where, "round", "present", None)
        return
    e = got[0]
    d.fields(
        where,
        [
            ("seed_height", r["G"], e["seed_height"]),
            ("seed_hash", r["seed_hash"], e["seed_hash"]),
            ("randomness", r["randomness"], e["randomness"]),
            ("lead", roster.get(r["lead"]), e["lead"]),
            ("lead_package", (r["lead_package"] or {}).get("id"), e["lead_package"]),
            ("lead_height", r["L"], e["lead_height"]),
            ("race_close", r["race_close"], e["race_close"]),
            ("close_s", r["C_s"], e["close_s"]),
            ("reveal_start", r["RS"], e["reveal_start"]),
            ("share_end", r["share_end"], e["share_end"]),
            ("race_end", r["race_end"], e["race_end"]),
            ("post_reveal", r["public_results"], e["post_reveal"]),
            ("decision", r["decision"], e["decision"]),
            ("decided_height", r["decided_height"], e["decided_height"]),
            ("support", r["support"], e["support"]),
        ],
    )
    d.eq(where, "decision_reason", r["decision_reason"], e["decision_reason"], strict=False)
    d.eq(where, "settled", r["settled"], e["settled"], strict=e["lead_package"] is not None)
    _round_draw(con, d, where, month, r, roster)
    _round_race(con, d, where, month, r, roster)
    _round_reveals(con, d, where, month, r, roster)


def _round_draw(
    con: duckdb.DuckDBPyConnection,
    d: _Diff,
    where: str,
    month: str,
    r: dict[str, Any],
    roster: dict[int, str],
) -> None:
    """The stake weights and the VRFs of the round's lead draw (§4)."""
    d.eq(
        where,
        "weights",
        sorted((roster[i], w) for i, w in r["weights"]),
        sorted(
            (w["actuary"], w["weight"])
            for w in _rows(
                con,
                "select * from election_weights where month = ? and round = ?",
                month,
                r["round"],
            )
        ),
    )
    d.eq(
        where,
        "vrfs",
        sorted((roster[v["actuary"]], v["id"], v["height"]) for v in r["vrfs"]),
        sorted(
            (v["actuary"], v["vrf_id"], v["block_height"])
            for v in _rows(
                con, "select * from election_vrfs where month = ? and round = ?", month, r["round"]
            )
        ),
    )


def _round_race(
    con: duckdb.DuckDBPyConnection,
    d: _Diff,
    where: str,
    month: str,
    r: dict[str, Any],
    roster: dict[int, str],
) -> None:
    """The race and late packages in chain order, with their ranks (§8)."""
    race = _rows(
        con,
        "select * from race_results where month = ? and round = ? and role <> 'lead' "
        "order by block_height, tx_index, inscription_index",
        month,
        r["round"],
    )
    d.eq(
        where,
        "race",
        [(roster[p["actuary"]], p["id"], p["height"], p["rank"]) for p in r["race"]],
        [
            (p["actuary"], p["package"], p["block_height"], p["rank"])
            for p in race
            if p["role"] == "race"
        ],
    )
    d.eq(
        where,
        "late",
        [(roster[p["actuary"]], p["id"], p["height"]) for p in r["late"]],
        [(p["actuary"], p["package"], p["block_height"]) for p in race if p["role"] == "late"],
    )


def _round_reveals(
    con: duckdb.DuckDBPyConnection,
    d: _Diff,
    where: str,
    month: str,
    r: dict[str, Any],
    roster: dict[int, str],
) -> None:
    """Every revealed package: its outcome, shares, roots and agreement (§8, §9)."""
    reveals = {
        v["package"]: v
        for v in _rows(
            con, "select * from reveals where month = ? and round = ?", month, r["round"]
        )
    }
    d.eq(where, "revealed packages", sorted(p["package"] for p in r["reveals"]), sorted(reveals))
    for p in r["reveals"]:
        v = reveals.get(p["package"])
        if v is None:
            continue
        d.fields(
            f"{where} {p['package'][:12]}",
            [
                ("actuary", roster[p["actuary"]], v["actuary"]),
                ("role", p["role"], v["role"]),
                ("outcome", p["outcome"], v["outcome"]),
                ("reveal_height", p["reveal_height"], v["reveal_height"]),
                ("share_indices", p["share_indices"], list(v["share_indices"] or [])),
                ("month_root", p["month_root"], v["month_root"]),
                ("n_rows", p["n_rows"], v["n_rows"]),
                ("months_root", p["months_root"], v["months_root"]),
                ("valid", p["valid"], v["valid"]),
                ("agrees", p["agrees"], v["agrees"]),
                ("counts", p["counts"], v["counts"]),
            ],
        )
        strict = p["outcome"] == "result"  # a copy's problem is free text
        d.eq(f"{where} {p['package'][:12]}", "problem", p["problem"], v["problem"], strict=strict)
    _proofs(con, d, where, month, r)


def _proofs(
    con: duckdb.DuckDBPyConnection, d: _Diff, where: str, month: str, r: dict[str, Any]
) -> None:
    """Every decrypted result's proof: its system, whether it verified and why not."""
    got = {
        v["package"]: (v["system"], v["verified"], v["reason"])
        for v in _rows(con, "select * from proofs where month = ? and round = ?", month, r["round"])
    }
    want = {
        p["package"]: (p["proof"]["system"], p["proof"]["verified"], p["proof"]["reason"])
        for p in r["reveals"]
        if p.get("proof") is not None
    }
    d.eq(where, "proved packages", sorted(want), sorted(got))
    for package, proof in want.items():
        d.eq(f"{where} {package[:12]}", "proof", proof, got.get(package))


def _statuses(con: duckdb.DuckDBPyConnection, d: _Diff, inscriptions: Path) -> None:
    got = {
        r["id"]: (r["status"], r["reason"])
        for r in _rows(con, "select id, status, reason from drey_messages")
    }
    for r in _rows(con, "select id, reason from quarantine where stage = 'parse'"):
        got[r["id"]] = ("quarantined", r["reason"])
    with inscriptions.open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            if item["status"] is None:
                continue  # not a Drey message, or on a branch the chain abandoned
            d.eq(
                f"message {item['id'][:12]} ({item['kind']})",
                "status",
                (item["status"], item["reason"]),
                got.get(item["id"]),
            )
