"""Election: VRF input, round randomness and the stake-weighted lead draw (PROTOCOL.md §4).

- alpha = "drey/1/vrf" ‖ month ‖ u32be(round) ‖ blockhash(G_r)  (ECVRF input, §4)
- R = H_tag("drey/1/election")(month ‖ u32be(round) ‖ blockhash(G_r) ‖ sorted betas)
- draw: candidates sorted by key bytes, cumulative weights c_1 ≤ … ≤ c_E = W; for
  j = 0, 1, …: u = int(SHA256(R ‖ u32be(j))); reject u ≥ 2^256 − (2^256 mod W); else the
  lead is the first i with (u mod W) < c_i. Zero weights can never be chosen.

Who is eligible, which VRF outputs count and what each weight is are the caller's business
(they need chain state); this module only fixes the bytes and the arithmetic.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Sequence

from drey.crypto.ecvrf import BETA_LEN
from drey.crypto.tagged import U32_MAX, month_bytes, tagged_hash, u32be
from drey.errors import EncodingError, ProtocolError

__all__ = [
    "ELECTION_TAG",
    "VRF_ALPHA_PREFIX",
    "DrawError",
    "draw_lead",
    "election_randomness",
    "vrf_alpha",
]

VRF_ALPHA_PREFIX = b"drey/1/vrf"
ELECTION_TAG = "drey/1/election"
_TWO_256 = 1 << 256


class DrawError(ProtocolError):
    """The lead draw was called with inputs no chain state can produce."""


def _block_hash(block_hash: bytes) -> bytes:
    if len(block_hash) != 32:
        raise EncodingError(f"block hash must be 32 bytes, got {len(block_hash)}")
    return block_hash


def vrf_alpha(month: str, round: int, block_hash: bytes) -> bytes:
    """The ECVRF input: b"drey/1/vrf" ‖ month ‖ u32be(round) ‖ blockhash (internal order)."""
    return VRF_ALPHA_PREFIX + month_bytes(month) + u32be(round) + _block_hash(block_hash)


def election_randomness(
    month: str, round: int, seed_block_hash: bytes, betas: Iterable[bytes]
) -> bytes:
    """R = H_tag("drey/1/election")(month ‖ u32be(round) ‖ blockhash ‖ betas sorted bytewise).

    ``betas`` are the counted 64-byte VRF outputs in any order; duplicates are kept (they
    cannot occur with distinct vrf keys). No betas: the list is empty.
    """
    beta_list = list(betas)
    for i, beta in enumerate(beta_list):
        if len(beta) != BETA_LEN:
            raise EncodingError(f"beta {i} must be {BETA_LEN} bytes, got {len(beta)}")
    preimage = (
        month_bytes(month)
        + u32be(round)
        + _block_hash(seed_block_hash)
        + b"".join(sorted(beta_list))
    )
    return tagged_hash(ELECTION_TAG, preimage)


def draw_lead(randomness: bytes, candidates: Sequence[tuple[bytes, int]]) -> bytes | None:
    """The elected lead's key, or None when every weight is 0 (the round fails at once).

    ``candidates`` are (key, weight) pairs in any order: keys distinct, weights ≥ 0. Raises
    :class:`DrawError` on duplicate keys or negative weights, and in the (probability
    < 2^-(2^32)) event that all u32 counters are rejected.
    """
    if len(randomness) != 32:
        raise EncodingError(f"election randomness must be 32 bytes, got {len(randomness)}")
    ordered = sorted(candidates, key=lambda kw: kw[0])
    keys: list[bytes] = []
    cumulative: list[int] = []
    total = 0
    for i, (key, weight) in enumerate(ordered):
        if i and key == ordered[i - 1][0]:
            raise DrawError(f"duplicate candidate key {key.hex()}")
        if weight < 0:
            raise DrawError(f"negative weight {weight} for candidate {key.hex()}")
        if weight == 0:
            continue  # equal cumulative sum: (u mod W) < c_i would pick an earlier key
        total += weight
        keys.append(key)
        cumulative.append(total)
    if total == 0:
        return None
    if total >= _TWO_256:
        raise DrawError(f"total weight {total} is not below 2^256")
    limit = _TWO_256 - (_TWO_256 % total)
    for j in range(U32_MAX + 1):
        u = int.from_bytes(hashlib.sha256(randomness + u32be(j)).digest(), "big")
        if u >= limit:
            continue
        # First i with (u mod W) < c_i; the sums are strictly increasing.
        return keys[bisect.bisect_right(cumulative, u % total)]
    raise DrawError("every u32 counter was rejected")
