"""The ``params`` message: trust-anchored protocol parameters (PROTOCOL.md §2).

Structural rules checked on decode (reason ``bad_field`` for one field, ``bad_params`` across
fields): roster indices exactly 1 … N in array order, unique ``key``s and ``vrf_key``s,
⌊N/2⌋ + 1 ≤ threshold ≤ N, Paillier ``n`` minimal big-endian, odd, 257 … 4096 bits (so that
any 32-byte key k satisfies k < n), ``v`` and every ``vk`` exactly ℓ₂ bytes, in 1 … n² − 1 and
coprime to n, ``supermajority`` 0 < num ≤ den. Byte lengths are checked before any big-integer
arithmetic. Succession rules (``effective_month``, immutables, append-only vault, new roster ⇒
new key) need the earlier params: :func:`check_params_succession`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from drey.errors import MessageError
from drey.messages.base import MapModel, SignedModel, submap
from drey.messages.fields import (
    U32_MAX,
    U64_MAX,
    Codec,
    FieldSpec,
    bad,
    bytes_len,
    bytes_range,
    inscription_id,
    list_of,
    month_text,
    sig64,
    uint,
    xonly_key,
)
from drey.messages.reasons import Quarantine

__all__ = [
    "DEFAULTS",
    "MAX_N_BITS",
    "MAX_ROSTER",
    "MIN_N_BITS",
    "Paillier",
    "Params",
    "ResolvedParams",
    "RosterEntry",
    "check_params_succession",
]

MIN_N_BITS = 257
MAX_N_BITS = 4096
MAX_ROSTER = 1024
MAX_VAULT_SCRIPT = 10_000
DREYBITS_LIMIT = 2**58

DEFAULTS: dict[str, Any] = {
    "supermajority": (2, 3),
    "confirmations": 6,
    "race_offset": 6,
    "vrf_window": 6,
    "lead_window": 36,
    "race_window": 72,
    "share_window": 36,
    "max_rounds": 8,
    "months_depth": 16,
}

_MAX_N_BYTES = (MAX_N_BITS + 7) // 8
_MAX_N2_BYTES = (2 * MAX_N_BITS + 7) // 8


@dataclass(frozen=True, slots=True)
class RosterEntry(MapModel):
    """``{index, key, vrf_key, vk}``: a roster member (vk is ℓ₂ bytes, checked by Params)."""

    index: int
    key: bytes
    vrf_key: bytes
    vk: bytes

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("index", uint(1, MAX_ROSTER)),
        FieldSpec("key", xonly_key),
        FieldSpec("vrf_key", bytes_len(32)),
        FieldSpec("vk", bytes_range(1, _MAX_N2_BYTES)),
    )


@dataclass(frozen=True, slots=True)
class Paillier(MapModel):
    """``{n, v}``: the threshold Paillier public key, big-endian (n in ℓ₁, v in ℓ₂ bytes)."""

    n: bytes
    v: bytes

    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("n", bytes_range((MIN_N_BITS + 7) // 8, _MAX_N_BYTES)),
        FieldSpec("v", bytes_range(1, _MAX_N2_BYTES)),
    )

    @property
    def n_int(self) -> int:
        return int.from_bytes(self.n, "big")

    @property
    def l1(self) -> int:
        """ℓ₁ = ⌈bits(n)/8⌉."""
        return (self.n_int.bit_length() + 7) // 8

    @property
    def l2(self) -> int:
        """ℓ₂ = ⌈bits(n²)/8⌉."""
        return ((self.n_int**2).bit_length() + 7) // 8

    def check(self, path: str) -> None:
        if self.n[0] == 0:
            raise bad(f"{path}.n", "has a leading zero byte (must be exactly ℓ₁ bytes)")
        n = self.n_int
        if not MIN_N_BITS <= n.bit_length() <= MAX_N_BITS:
            raise bad(f"{path}.n", f"{n.bit_length()} bits, outside {MIN_N_BITS} … {MAX_N_BITS}")
        if n % 2 == 0:
            raise bad(f"{path}.n", "is even")
        check_mod_n2(self.v, n, self.l2, f"{path}.v")


def check_mod_n2(value: bytes, n: int, l2: int, path: str) -> None:
    """``value`` is exactly ℓ₂ bytes, 0 < value < n², gcd(value, n) = 1 (length first)."""
    if len(value) != l2:
        raise bad(path, f"expected ℓ₂ = {l2} bytes, got {len(value)}")
    x = int.from_bytes(value, "big")
    if not 0 < x < n * n:
        raise bad(path, "not in 1 … n² − 1")
    if math.gcd(x, n) != 1:
        raise bad(path, "not coprime to n")


def _decode_supermajority(value: Any, path: str) -> tuple[int, int]:
    if type(value) is not list or len(value) != 2:
        raise bad(path, "expected [num, den]")
    num, den = (uint(0, U32_MAX).decode(x, f"{path}[{i}]") for i, x in enumerate(value))
    if not 0 < num <= den:
        raise bad(path, f"[{num}, {den}] violates 0 < num ≤ den")
    return num, den


_supermajority = Codec(_decode_supermajority, list, "[num, den]")


@dataclass(frozen=True, slots=True)
class ResolvedParams:
    """Params with §2's defaults applied: every value the rules engine reads."""

    first_month: str
    effective_month: str | None
    vault: tuple[bytes, ...]
    operator: bytes
    roster: tuple[RosterEntry, ...]
    paillier: Paillier
    threshold: int
    min_stake: int
    supermajority: tuple[int, int]
    confirmations: int
    race_offset: int
    vrf_window: int
    lead_window: int
    race_window: int
    share_window: int
    max_rounds: int
    dreybits_per_month: int
    fee_bps: int
    penalty_bps: int
    lead_bps: int
    formula: str
    months_depth: int
    circuit: str | None


@dataclass(frozen=True, slots=True)
class Params(SignedModel):
    """``params``, signed by the founder. Fields with a §2 default are ``None`` when absent
    (use :meth:`resolved` for the values in force); ``effective_month`` is ``None`` in the
    first params."""

    first_month: str
    vault: tuple[bytes, ...]
    operator: bytes
    roster: tuple[RosterEntry, ...]
    paillier: Paillier
    threshold: int
    min_stake: int
    dreybits_per_month: int
    fee_bps: int
    penalty_bps: int
    lead_bps: int
    formula: str
    effective_month: str | None = None
    supermajority: tuple[int, int] | None = None
    confirmations: int | None = None
    race_offset: int | None = None
    vrf_window: int | None = None
    lead_window: int | None = None
    race_window: int | None = None
    share_window: int | None = None
    max_rounds: int | None = None
    months_depth: int | None = None
    circuit: str | None = None
    sig: bytes = b""

    KIND: ClassVar[str | None] = "params"
    SIG_TAG: ClassVar[str] = "drey/1/params"
    CONTENT_TYPE: ClassVar[str] = "application/cbor"
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = (
        FieldSpec("first_month", month_text),
        FieldSpec("effective_month", month_text, optional=True),
        FieldSpec("vault", list_of(bytes_range(1, MAX_VAULT_SCRIPT), lo=1, unique=lambda s: s)),
        FieldSpec("operator", xonly_key),
        FieldSpec("roster", list_of(submap(RosterEntry), lo=1, hi=MAX_ROSTER)),
        FieldSpec("paillier", submap(Paillier)),
        FieldSpec("threshold", uint(1, MAX_ROSTER)),
        FieldSpec("min_stake", uint(1, U64_MAX)),
        FieldSpec("supermajority", _supermajority, optional=True),
        FieldSpec("confirmations", uint(1, U32_MAX), optional=True),
        FieldSpec("race_offset", uint(0, U32_MAX), optional=True),
        FieldSpec("vrf_window", uint(1, U32_MAX), optional=True),
        FieldSpec("lead_window", uint(1, U32_MAX), optional=True),
        FieldSpec("race_window", uint(1, U32_MAX), optional=True),
        FieldSpec("share_window", uint(1, U32_MAX), optional=True),
        FieldSpec("max_rounds", uint(1, U32_MAX), optional=True),
        FieldSpec("dreybits_per_month", uint(0, DREYBITS_LIMIT - 1)),
        FieldSpec("fee_bps", uint(0, 10_000)),
        FieldSpec("penalty_bps", uint(0, 10_000)),
        FieldSpec("lead_bps", uint(5_001, 10_000)),
        FieldSpec("formula", inscription_id),
        FieldSpec("months_depth", uint(1, 32), optional=True),
        # v1.1 (docs/protocol/proofs.md §4): the circuit manifest of the proof system.
        FieldSpec("circuit", inscription_id, optional=True),
        FieldSpec("sig", sig64),
    )

    def check(self, path: str) -> None:
        n_roster = len(self.roster)
        for i, entry in enumerate(self.roster):
            if entry.index != i + 1:
                raise MessageError(
                    "bad_params",
                    f"{path}.roster[{i}].index is {entry.index}: indices must be 1 … N in order",
                )
        for name in ("key", "vrf_key"):
            values = [getattr(e, name) for e in self.roster]
            if len(set(values)) != len(values):
                raise MessageError("bad_params", f"{path}.roster: duplicate {name}")
        if not n_roster // 2 + 1 <= self.threshold <= n_roster:
            raise MessageError(
                "bad_params",
                f"{path}.threshold {self.threshold} outside ⌊N/2⌋ + 1 … N "
                f"= {n_roster // 2 + 1} … {n_roster}",
            )
        n = self.paillier.n_int
        l2 = self.paillier.l2
        for i, entry in enumerate(self.roster):
            try:
                check_mod_n2(entry.vk, n, l2, f"{path}.roster[{i}].vk")
            except MessageError as exc:
                raise MessageError("bad_params", exc.detail) from None
        vks = [e.vk for e in self.roster]
        if len(set(vks)) != len(vks):
            raise MessageError("bad_params", f"{path}.roster: duplicate vk")

    def resolved(self) -> ResolvedParams:
        """The values in force, defaults of §2 filled in."""
        values = {}
        for spec in self.FIELDS:
            if spec.name == "sig":
                continue
            value = getattr(self, spec.name)
            if value is None and spec.name in DEFAULTS:
                value = DEFAULTS[spec.name]
            values[spec.name] = value
        return ResolvedParams(**values)

    @property
    def roster_keys(self) -> tuple[bytes, ...]:
        return tuple(e.key for e in self.roster)


def _effective_of(params: Params) -> str:
    # The first params has no effective_month; it is in force from first_month.
    return params.effective_month if params.effective_month is not None else params.first_month


def check_params_succession(new: Params, *, earlier: Sequence[Params]) -> Quarantine | None:
    """§2's rules between a params message and the earlier *valid* params (oldest first).

    Returns ``None`` if ``new`` may become valid, else a :class:`Quarantine` with reason
    ``stale_params`` (effective_month not greater than every earlier one, the first params
    counting as effective from first_month) or ``bad_params`` (effective_month present in the
    first params or missing in a later one; first_month or months_depth changed; vault not an
    extension of the previous list; roster changed without a new n, v and new vks).

    Not checked here (needs the chain): "mined before S of the month before its
    effective_month", which the rules engine reports as ``stale_params`` too.
    """
    if not earlier:
        if new.effective_month is not None:
            return Quarantine("bad_params", "effective_month is forbidden in the first params")
        return None
    if new.effective_month is None:
        return Quarantine("bad_params", "effective_month is required after the first params")
    latest = max(_effective_of(p) for p in earlier)
    if new.effective_month <= latest:
        return Quarantine(
            "stale_params",
            f"effective_month {new.effective_month} is not after {latest}",
        )
    first = earlier[0]
    prev = earlier[-1]
    if new.first_month != first.first_month:
        return Quarantine(
            "bad_params", f"first_month changed from {first.first_month} to {new.first_month}"
        )
    if new.resolved().months_depth != first.resolved().months_depth:
        return Quarantine("bad_params", "months_depth is immutable")
    if new.vault[: len(prev.vault)] != prev.vault:
        return Quarantine("bad_params", "vault is append-only: earlier scripts must lead the list")
    old_roster = [(e.index, e.key, e.vrf_key) for e in prev.roster]
    new_roster = [(e.index, e.key, e.vrf_key) for e in new.roster]
    if old_roster != new_roster:
        if new.paillier.n == prev.paillier.n or new.paillier.v == prev.paillier.v:
            return Quarantine("bad_params", "a new roster needs a new Paillier n and v")
        if {e.vk for e in new.roster} & {e.vk for e in prev.roster}:
            return Quarantine("bad_params", "a new roster needs new vks")
    return None
