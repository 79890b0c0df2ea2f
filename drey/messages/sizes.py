"""Size and range checks of §5 and §8 that need params(M) (PROTOCOL.md §1: sizes first).

Each check looks at byte lengths before turning anything into an integer, then does the
cheap range and gcd tests. They return ``None`` or a :class:`Quarantine` whose reason is a
:data:`~drey.messages.reasons.PackageSizeReason` / :data:`ShareEntryReason`.
"""

from __future__ import annotations

import math

from drey.messages.params import Paillier
from drey.messages.reasons import Quarantine
from drey.messages.rounds import Lead, Secondary, ShareEntry

__all__ = ["check_kem", "check_share_entry", "delta_bits", "z_width"]


def _mod_n2_problem(value: bytes, paillier: Paillier, what: str) -> str | None:
    l2 = paillier.l2
    if len(value) != l2:
        return f"{what} is {len(value)} bytes, expected ℓ₂ = {l2}"
    n = paillier.n_int
    x = int.from_bytes(value, "big")
    if not 0 < x < n * n:
        return f"{what} is not in 1 … n² − 1"
    if math.gcd(x, n) != 1:
        return f"{what} is not coprime to n"
    return None


def check_kem(package: Lead | Secondary, *, paillier: Paillier) -> Quarantine | None:
    """§5: kem is ℓ₂ bytes, 0 < kem < n², gcd(kem, n) = 1; otherwise ``bad_kem``."""
    problem = _mod_n2_problem(package.kem, paillier, "kem")
    return None if problem is None else Quarantine("bad_kem", problem)


def delta_bits(roster_size: int) -> int:
    """bits(Δ) with Δ = N!."""
    return math.factorial(roster_size).bit_length()


def z_width(paillier: Paillier, roster_size: int) -> int:
    """⌈(bits(n²) + bits(Δ) + 385) / 8⌉: the exact byte width of a share proof's z."""
    n2_bits = (paillier.n_int**2).bit_length()
    return (n2_bits + delta_bits(roster_size) + 385 + 7) // 8


def check_share_entry(
    entry: ShareEntry, *, paillier: Paillier, roster_size: int
) -> Quarantine | None:
    """§8 sizes of one shares entry: ``bad_share`` unless the share is ℓ₂ bytes in
    1 … n² − 1 and coprime to n; ``bad_proof`` unless z has exactly :func:`z_width` bytes
    (e is 32 bytes by the schema). The proof itself is verified by the crypto layer."""
    problem = _mod_n2_problem(entry.share, paillier, "share")
    if problem is not None:
        return Quarantine("bad_share", problem)
    width = z_width(paillier, roster_size)
    if len(entry.z) != width:
        return Quarantine("bad_proof", f"z is {len(entry.z)} bytes, expected {width}")
    return None
