"""Shares ledger, reveals and result judgement (PROTOCOL.md §5, §8, §9).

- A ``shares`` message by a roster member of params(M) is ``premature`` before RS,
  ``ignored`` after RS + share_window − 1, else ``valid``; each entry then gets its own
  status: ``ignored: not_owed`` (not a lead/race/late package of the round),
  ``quarantined`` (``bad_share`` / ``bad_proof`` sizes, ``invalid_share_proof``),
  ``duplicate`` (the (actuary, package) pair already has a valid share), else ``valid``.
- A package is revealed by the first t valid shares (distinct roster indices, chain order);
  its reveal height is the t-th share's height. k then opens the package under its own
  associated data; failing that, or an inner signature that is not its actuary's, is a
  ``copy``; a k already revealed from the same actuary is ``key_reuse``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from drey.allocation_file import FileProblem, read_allocation_file
from drey.crypto.groth16 import Verifier
from drey.crypto.package import (
    DecryptFailure,
    decrypt_package,
    lead_part_ad,
    package_ad,
    reveal_key,
)
from drey.crypto.paillier import DecryptionShare, PaillierPublicKey
from drey.merkle import MonthsTree
from drey.messages import (
    Lead,
    LeadPart,
    Paillier,
    Quarantine,
    Result,
    Secondary,
    ShareEntry,
    Shares,
    assemble_lead_file,
    check_result,
    check_share_entry,
)
from drey.proofs import ProofCheck, check_result_proof
from drey.rules.inputs import Position, PositionedMessage
from drey.rules.reasons import EntryStatus
from drey.rules.results import RacePackage, ShareRecord
from drey.rules.share_proofs import ShareVerifier

__all__ = [
    "Expected",
    "Opened",
    "ProofRule",
    "ShareLedger",
    "ValidShare",
    "judge_result",
    "open_package",
    "process_shares",
]


@dataclass(frozen=True, slots=True)
class Expected:
    """What the warehouse recomputed for the month: the formula's Dreybits and the roots."""

    dreybits: tuple[int, ...]
    month_root: bytes
    n_rows: int
    months_root: bytes

    @property
    def roots(self) -> tuple[bytes, int, bytes]:
        return self.month_root, self.n_rows, self.months_root


@dataclass(frozen=True, slots=True)
class ValidShare:
    actuary: bytes
    height: int
    position: Position
    share: DecryptionShare


@dataclass(frozen=True, slots=True)
class ShareLedger:
    """The entries of the round's in-window shares, the valid shares per package in chain
    order, and the entries whose crypto failed (for ``invalid_share_proof``)."""

    records: tuple[ShareRecord, ...]
    valid: Mapping[str, tuple[ValidShare, ...]]
    invalid: tuple[ShareRecord, ...]


def _entry(
    pm: PositionedMessage,
    entry: int,
    package: str,
    index: int,
    status: EntryStatus,
    reason: str | None,
    detail: str,
) -> ShareRecord:
    msg = pm.message
    assert isinstance(msg, Shares)
    return ShareRecord(
        pm.inscription_id,
        entry,
        pm.height,
        pm.position,
        msg.actuary,
        index,
        package,
        status,
        reason,
        detail,
    )


def _judge_entry(
    entry: ShareEntry,
    index: int,
    *,
    owed: Mapping[str, RacePackage],
    paillier: Paillier,
    pk: PaillierPublicKey,
) -> tuple[EntryStatus, str | None, str, DecryptionShare | None]:
    """One entry on its own before its proof: not owed, sizes. A returned share still needs
    its proof verified (before any duplicate test)."""
    if entry.package not in owed:
        return "ignored", "not_owed", "not a lead/race/late package of the round", None
    q = check_share_entry(entry, paillier=paillier, roster_size=len(pk.vks))
    if q is not None:
        return "quarantined", q.reason, q.detail, None
    ds = DecryptionShare(
        index=index,
        share=int.from_bytes(entry.share, "big"),
        e=int.from_bytes(entry.e, "big"),
        z=int.from_bytes(entry.z, "big"),
    )
    return "valid", None, "", ds


def process_shares(
    messages: Sequence[PositionedMessage],
    *,
    owed: Mapping[str, RacePackage],
    kems: Mapping[str, int],
    roster_index: Mapping[bytes, int],
    paillier: Paillier,
    pk: PaillierPublicKey,
    verifier: ShareVerifier | None = None,
) -> ShareLedger:
    """Entries of the ``valid`` (in-window, roster) shares messages, in chain order.

    Proofs are verified in one batch by ``verifier`` (memoised, maybe on worker processes;
    default: here, serially).
    """
    judged = []
    for pm in messages:
        msg = pm.message
        assert isinstance(msg, Shares)
        index = roster_index[msg.actuary]
        for i, entry in enumerate(msg.shares):
            judged.append(
                (
                    pm,
                    i,
                    entry,
                    index,
                    *_judge_entry(entry, index, owed=owed, paillier=paillier, pk=pk),
                )
            )
    jobs = [(kems[j[2].package], j[7]) for j in judged if j[7] is not None]
    verdicts = iter((verifier or ShareVerifier()).verify(pk, jobs))

    records: list[ShareRecord] = []
    invalid: list[ShareRecord] = []
    valid: dict[str, list[ValidShare]] = {pid: [] for pid in owed}
    seen: set[tuple[bytes, str]] = set()
    for pm, i, entry, index, status, reason, detail, ds in judged:
        if ds is not None and not next(verdicts):
            status, reason, detail, ds = "quarantined", "invalid_share_proof", "proof fails", None
        actuary = pm.message.actuary  # type: ignore[union-attr]
        pair = (actuary, entry.package)
        if status == "valid" and pair in seen:
            status, detail = "duplicate", "a valid share of this actuary already counts"
        rec = _entry(pm, i, entry.package, index, status, reason, detail)
        records.append(rec)
        if status == "quarantined":
            invalid.append(rec)
        elif status == "valid":
            assert ds is not None
            seen.add(pair)
            valid[entry.package].append(ValidShare(actuary, pm.height, pm.position, ds))
    return ShareLedger(tuple(records), {k: tuple(v) for k, v in valid.items()}, tuple(invalid))


@dataclass(frozen=True, slots=True)
class Opened:
    """A package opened with a revealed k: ``copy`` says why it is a copy (or ``None``);
    ``result`` is the checked result or the check's quarantine; ``file`` the lead's
    allocation file or why it is missing."""

    copy: str | None
    result: Result | Quarantine | None
    file: bytes | Quarantine | None


def open_package(
    package: PositionedMessage,
    key: bytes | DecryptFailure,
    *,
    parts: Mapping[int, PositionedMessage] | None = None,
) -> Opened:
    """Decrypt ``package`` under k and its own associated data and check the result (§5).

    A lead with ``parts`` gets its file from the counted parts (each decrypted under its
    own associated data; one that fails is missing); a lead without parts from the result's
    inline ``bytes``.
    """
    msg = package.message
    assert isinstance(msg, Lead | Secondary)
    if isinstance(key, DecryptFailure):
        return Opened(f"key: {key.reason}", None, None)
    kind: Literal["lead", "secondary"] = "lead" if isinstance(msg, Lead) else "secondary"
    ad = package_ad(kind, msg.month, msg.round, msg.actuary)
    plaintext = decrypt_package(key, msg.nonce, msg.ct, ad)
    if isinstance(plaintext, DecryptFailure):
        return Opened(f"fails to decrypt: {plaintext.reason}", None, None)
    result = check_result(plaintext, package=msg)
    if isinstance(result, Quarantine):
        if result.reason == "result_copy":
            return Opened(result.detail, result, None)
        return Opened(None, result, None)
    if not isinstance(msg, Lead):
        return Opened(None, result, None)
    assert result.allocation is not None
    if msg.parts is None:
        return Opened(None, result, result.allocation.bytes)
    plaintexts: dict[int, bytes] = {}
    for index, part_pm in (parts or {}).items():
        part = part_pm.message
        assert isinstance(part, LeadPart)
        ad_i = lead_part_ad(msg.month, msg.round, msg.actuary, index)
        pt = decrypt_package(key, part.nonce, part.ct, ad_i)
        if not isinstance(pt, DecryptFailure):
            plaintexts[index] = pt
    file = assemble_lead_file(plaintexts, parts=msg.parts, sha256=result.allocation.sha256)
    return Opened(None, result, file)


def reveal(
    pk: PaillierPublicKey, shares: Sequence[ValidShare]
) -> tuple[bytes | DecryptFailure, int, tuple[int, ...]] | None:
    """(k, reveal height, roster indices of S) from the first t valid shares, or ``None``."""
    t = pk.threshold
    if len(shares) < t:
        return None
    chosen = list(shares[:t])
    key = reveal_key(pk, [s.share for s in chosen])
    assert key is not None
    return key, chosen[-1].height, tuple(s.share.index for s in chosen)


@dataclass(frozen=True, slots=True)
class ProofRule:
    """Protocol v1.1's proof rule for month M (docs/protocol/proofs.md §6): the circuit's
    verifier (or why there is none), the months history before M and the first month."""

    verifier: Verifier | str
    history: MonthsTree
    first_month: str

    def check(self, result: Result) -> ProofCheck:
        return check_result_proof(
            result, history=self.history, first_month=self.first_month, verifier=self.verifier
        )


@dataclass(frozen=True, slots=True)
class Judgement:
    """``problem`` (or ``None``): why a decrypted result is not valid; ``offence`` whether
    the problem is the actuary's offence (``invalid_lead_result`` / ``wrong_secondary_result``);
    ``proof_ok``: the proof is what the chain's rules accept (v1's ``recompute``, or a
    verified proof under v1.1); ``proof``: the v1.1 check, when one ran."""

    problem: str | None
    offence: bool
    proof_ok: bool
    proof: ProofCheck | None = None


def judge_result(
    kind: str, opened: Opened, *, expected: Expected, proofs: ProofRule | None = None
) -> Judgement:
    """§9 validity of a lead result; for a secondary, whether its roots recompute.

    Order: the result's own checks (``result_malformed`` / ``result_mismatch`` /
    ``result_allocation``), ``wrong_roots``, the proof (v1: ``unknown_proof_system`` unless
    ``recompute``; v1.1, ``proofs`` given: ``bad_proof: <reason>`` unless it verifies, an
    offence for a lead and a secondary alike), then (lead only) the file:
    ``result_allocation`` from assembling parts, ``file_<reason>`` from the §7 reader,
    ``wrong_allocation`` when the Dreybits differ from the formula's output. The proof is
    checked (and kept) even when the roots are wrong, so every revealed proof has a verdict.
    """
    result = opened.result
    if isinstance(result, Quarantine):
        return Judgement(result.reason, True, False)
    assert isinstance(result, Result)
    checked = proofs.check(result) if proofs is not None else None
    proof_ok = checked.ok if checked is not None else result.proof.is_recompute
    if result.roots() != expected.roots:
        return Judgement("wrong_roots", True, proof_ok, checked)
    if checked is not None and not checked.ok:
        return Judgement(f"bad_proof: {checked.verdict.reason}", True, False, checked)
    if not proof_ok:
        return Judgement("unknown_proof_system", kind == "lead", False)
    if kind != "lead":
        return Judgement(None, False, True, checked)
    file = opened.file
    if isinstance(file, Quarantine):
        return Judgement(file.reason, True, True, checked)
    assert file is not None and result.allocation is not None
    values = read_allocation_file(file, n_rows=result.n_rows, sha256=result.allocation.sha256)
    if isinstance(values, FileProblem):
        return Judgement(f"file_{values.reason}", True, True, checked)
    if tuple(values) != expected.dreybits:
        return Judgement("wrong_allocation", True, True, checked)
    return Judgement(None, False, True, checked)
