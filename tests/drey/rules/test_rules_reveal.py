"""Shares ledger, reveals, copies and result judgement (PROTOCOL.md §5, §8, §9)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace

from drey.allocation_file import write_allocation_file
from drey.crypto.package import DecryptFailure
from drey.messages import AllocationRef, Proof, Result
from drey.rules import Expected, RacePackage, judge_result, open_package, process_shares
from drey.rules.reveal import ShareLedger, reveal
from drey.rules.share_proofs import ShareVerifier

from .scenario import ScenarioBuilder, ScenarioKeys

MONTH = "2025-01"
ROOTS = ((1).to_bytes(32, "big"), 3, (2).to_bytes(32, "big"))


def _owed(pm, role: str = "lead") -> RacePackage:  # type: ignore[no-untyped-def]
    kind = "lead" if role == "lead" else "secondary"
    return RacePackage(pm.inscription_id, pm.message.actuary, kind, role, pm.height, pm.position)  # type: ignore[arg-type]


def test_shares_ledger_entry_statuses(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    p = sb.params.resolved()
    pk = keys.dealing.public
    lead = sb.package("lead", MONTH, 0, 1, sb.result(MONTH, 0, 1, roots=ROOTS, file=b"f"), 34)
    sec = sb.package("secondary", MONTH, 0, 2, sb.result(MONTH, 0, 2, roots=ROOTS), 36)
    stray = sb.package("secondary", MONTH, 0, 3, sb.result(MONTH, 0, 3, roots=ROOTS), 35)
    good = sb.share_entry(4, lead)
    short = replace(good, share=good.share[1:])
    narrow = replace(sb.share_entry(4, sec), z=good.z[1:])
    m1 = sb.shares(MONTH, 0, 4, [], 38, entries=[good, sb.share_entry(4, stray)])
    m2 = sb.shares(MONTH, 0, 5, [], 38, entries=[short, narrow])
    m3 = sb.shares(MONTH, 0, 4, [], 39, entries=[sb.share_entry(4, lead), sb.share_entry(4, sec)])
    m4 = sb.shares(MONTH, 0, 1, [], 39, entries=[good])
    owed = {lead.inscription_id: _owed(lead), sec.inscription_id: _owed(sec, "race")}
    kems = {pid: int.from_bytes(sb.message(pid).message.kem, "big") for pid in owed}  # type: ignore[union-attr]
    verifier = ShareVerifier()

    def ledger_of() -> ShareLedger:
        return process_shares(
            [m1, m2, m3, m4],
            owed=owed,
            kems=kems,
            roster_index={e.key: e.index for e in p.roster},
            paillier=p.paillier,
            pk=pk,
            verifier=verifier,
        )

    ledger = ledger_of()
    got = [(r.shares_id, r.entry, r.status, r.reason) for r in ledger.records]
    assert got == [
        (m1.inscription_id, 0, "valid", None),
        (m1.inscription_id, 1, "ignored", "not_owed"),  # an early/stray package owes nothing
        (m2.inscription_id, 0, "quarantined", "bad_share"),
        (m2.inscription_id, 1, "quarantined", "bad_proof"),
        (m3.inscription_id, 0, "duplicate", None),
        (m3.inscription_id, 1, "valid", None),
        # Actuary 1 posting actuary 4's share: the proof is checked against vk_1.
        (m4.inscription_id, 0, "quarantined", "invalid_share_proof"),
    ]
    assert [r.actuary for r in ledger.invalid] == [keys.actuary(5).key] * 2 + [keys.actuary(1).key]
    assert [v.actuary for v in ledger.valid[lead.inscription_id]] == [keys.actuary(4).key]
    # Every proof verified once, and a second pass with the same verifier (as a new
    # evaluation of a grown chain does) verifies nothing again.
    assert verifier.verified == len(verifier.memo.entries) == 4
    assert sorted(verifier.memo.entries.values()) == [False, True, True, True]
    assert ledger_of() == ledger
    assert verifier.verified == 4


def test_reveal_uses_the_first_t_valid_shares_by_position(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    p = sb.params.resolved()
    pk = keys.dealing.public
    lead = sb.package("lead", MONTH, 0, 1, sb.result(MONTH, 0, 1, roots=ROOTS, file=b"f"), 34)
    msgs = [sb.shares(MONTH, 0, i, [lead], h) for i, h in ((5, 38), (2, 38), (4, 39), (1, 40))]
    owed = {lead.inscription_id: _owed(lead)}
    ledger = process_shares(
        msgs,
        owed=owed,
        kems={lead.inscription_id: int.from_bytes(lead.message.kem, "big")},  # type: ignore[union-attr]
        roster_index={e.key: e.index for e in p.roster},
        paillier=p.paillier,
        pk=pk,
    )
    shares = ledger.valid[lead.inscription_id]
    out = reveal(pk, shares)
    assert out is not None
    key, height, indices = out
    assert key == sb.package_keys[lead.inscription_id]
    assert (height, indices) == (39, (5, 2, 4))
    assert reveal(pk, shares[:2]) is None


def test_open_package_copies(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    res = sb.result(MONTH, 0, 2, roots=ROOTS)
    pm = sb.package("secondary", MONTH, 0, 2, res, 36)
    k = sb.package_keys[pm.inscription_id]
    ok = open_package(pm, k)
    assert ok.copy is None and isinstance(ok.result, Result) and ok.result.roots() == ROOTS
    assert open_package(pm, bytes(32)).copy == "fails to decrypt: bad_ciphertext"
    assert open_package(pm, DecryptFailure("key_out_of_range")).copy == "key: key_out_of_range"
    # The same plaintext sealed by actuary 3: its inner signature is actuary 2's.
    plaintext = res.signed(keys.actuary(2).secret).serialize()
    copy = sb.package("secondary", MONTH, 0, 3, plaintext, 36)
    opened = open_package(copy, sb.package_keys[copy.inscription_id])
    assert opened.copy is not None and "result names actuary" in opened.copy


def _big_values(n: int) -> list[int]:
    rng = random.Random(7)
    return [rng.getrandbits(63) for _ in range(n)]


def test_lead_file_in_parts(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    values = _big_values(50_000)
    file = write_allocation_file(values)
    assert len(file) > 350_000
    half = len(file) // 2
    res = Result(
        MONTH,
        0,
        keys.actuary(1).key,
        ROOTS[0],
        len(values),
        ROOTS[2],
        Proof("recompute"),
        AllocationRef(hashlib.sha256(file).digest()),
    )
    pkg = sb.package("lead", MONTH, 0, 1, res, 34, parts=2)
    p0 = sb.lead_part(pkg, 0, file[:half], 34)
    p1 = sb.lead_part(pkg, 1, file[half:], 35)
    k = sb.package_keys[pkg.inscription_id]
    expected = Expected(tuple(values), ROOTS[0], len(values), ROOTS[2])
    opened = open_package(pkg, k, parts={0: p0, 1: p1})
    assert opened.file == file
    assert judge_result("lead", opened, expected=expected).problem is None
    # A missing part, or a part sealed under the other index's associated data.
    missing = open_package(pkg, k, parts={0: p0})
    assert judge_result("lead", missing, expected=expected).problem == "result_allocation"
    swapped = open_package(pkg, k, parts={0: p1, 1: p0})
    assert judge_result("lead", swapped, expected=expected).problem == "result_allocation"
    other = Expected((*values[:-1], values[-1] + 1), ROOTS[0], len(values), ROOTS[2])
    assert judge_result("lead", opened, expected=other).problem == "wrong_allocation"


def test_judge_result_problems(keys: ScenarioKeys) -> None:
    sb = ScenarioBuilder(keys, snapshots=[30])
    file = write_allocation_file([5, 6, 7])
    expected = Expected((5, 6, 7), *ROOTS)

    def judged(kind: str, res: Result):  # type: ignore[no-untyped-def]
        pm = sb.package(kind, MONTH, 0, 1, res, 34)
        return judge_result(
            kind, open_package(pm, sb.package_keys[pm.inscription_id]), expected=expected
        )

    lead = sb.result(MONTH, 0, 1, roots=ROOTS, file=file)
    assert judged("lead", lead).problem is None
    odd = replace(lead, proof=Proof("zk-v9"))
    j = judged("lead", odd)
    assert (j.problem, j.offence, j.proof_ok) == ("unknown_proof_system", True, False)
    sec = sb.result(MONTH, 0, 1, roots=ROOTS)
    j = judged("secondary", replace(sec, proof=Proof("zk-v9")))
    assert (j.problem, j.offence) == ("unknown_proof_system", False)
    j = judged("secondary", replace(sec, n_rows=4))
    assert (j.problem, j.offence) == ("wrong_roots", True)
    j = judged("secondary", replace(sec, round=1))
    assert (j.problem, j.offence) == ("result_mismatch", True)
    bad_file = replace(lead, allocation=AllocationRef(hashlib.sha256(b"xx").digest(), b"xx"))
    assert judged("lead", bad_file).problem == "file_not_parquet"
    wrong_n = write_allocation_file([5, 6])
    two = replace(lead, allocation=AllocationRef(hashlib.sha256(wrong_n).digest(), wrong_n))
    assert judged("lead", two).problem == "file_row_count"
