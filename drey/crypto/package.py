"""Package hybrid encryption (PROTOCOL.md §5).

A package commits a result encrypted so nobody can copy it before the reveal:

- k: fresh random 32 bytes; ``kem`` = Paillier Enc(int(k)) (g = n + 1), ℓ₂ bytes.
- ``nonce``: 12 bytes; ``ct`` = ChaCha20-Poly1305(k, nonce, result, ad) ‖ 16-byte tag.
- ad = H_tag("drey/1/package")(kind ‖ month ‖ u32be(round) ‖ actuary) for ``lead`` and
  ``secondary``; a ``lead_part`` uses kind "lead" with ‖ u32be(index) appended.

At reveal the threshold-decrypted plaintext M gives k = M as 32 bytes big-endian only if
M < 2^256; every failure (key out of range, tag mismatch, wrong sizes) is "fails to decrypt"
and is returned as a :class:`DecryptFailure`, never raised.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from drey.crypto.paillier import (
    DecryptionShare,
    PaillierPublicKey,
    combine_shares,
    encrypt,
)
from drey.crypto.tagged import int_to_fixed, month_bytes, tagged_hash, u32be
from drey.errors import CryptoError, EncodingError

__all__ = [
    "KEY_LEN",
    "NONCE_LEN",
    "PACKAGE_TAG",
    "TAG_LEN",
    "DecryptFailure",
    "PackageKind",
    "SealedPackage",
    "ct_reason",
    "decrypt_package",
    "kem_reason",
    "key_from_plaintext",
    "lead_part_ad",
    "nonce_reason",
    "package_ad",
    "package_reason",
    "reveal_key",
    "seal",
    "seal_part",
]

PACKAGE_TAG = "drey/1/package"
KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16

PackageKind = Literal["lead", "secondary"]
FailureReason = Literal["key_out_of_range", "bad_key", "bad_nonce", "bad_ciphertext"]


@dataclass(frozen=True, slots=True)
class DecryptFailure:
    """The package fails to decrypt; ``reason`` says why (for logs, not for rules)."""

    reason: FailureReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SealedPackage:
    """The three encrypted fields of a ``lead`` / ``secondary`` message body."""

    kem: bytes
    nonce: bytes
    ct: bytes


# --- associated data ---------------------------------------------------------------------


def _check_actuary(actuary: bytes) -> bytes:
    if len(actuary) != 32:
        raise EncodingError(f"actuary key must be 32 bytes, got {len(actuary)}")
    return actuary


def package_ad(kind: PackageKind, month: str, round: int, actuary: bytes) -> bytes:
    """H_tag("drey/1/package")(kind ‖ month ‖ u32be(round) ‖ actuary)."""
    if kind not in ("lead", "secondary"):
        raise EncodingError(f"package kind must be 'lead' or 'secondary', got {kind!r}")
    preimage = kind.encode("ascii") + month_bytes(month) + u32be(round) + _check_actuary(actuary)
    return tagged_hash(PACKAGE_TAG, preimage)


def lead_part_ad(month: str, round: int, actuary: bytes, index: int) -> bytes:
    """H_tag("drey/1/package")("lead" ‖ month ‖ u32be(round) ‖ actuary ‖ u32be(index))."""
    preimage = b"lead" + month_bytes(month) + u32be(round) + _check_actuary(actuary) + u32be(index)
    return tagged_hash(PACKAGE_TAG, preimage)


# --- size and range checks (before any big-integer work) ---------------------------------


def kem_reason(pk: PaillierPublicKey, kem: bytes) -> str | None:
    """Why ``kem`` fails §5's checks (ℓ₂ bytes, 0 < kem < n², gcd(kem, n) = 1), or None."""
    if len(kem) != pk.l2:
        return f"kem must be {pk.l2} bytes (ℓ₂), got {len(kem)}"
    value = int.from_bytes(kem, "big")
    if not 0 < value < pk.n2:
        return "kem not in 1 … n² − 1"
    if math.gcd(value, pk.n) != 1:
        return "kem shares a factor with n"
    return None


def nonce_reason(nonce: bytes) -> str | None:
    """Why ``nonce`` is not a 12-byte ChaCha20-Poly1305 nonce, or None."""
    if len(nonce) != NONCE_LEN:
        return f"nonce must be {NONCE_LEN} bytes, got {len(nonce)}"
    return None


def ct_reason(ct: bytes) -> str | None:
    """Why ``ct`` cannot be a ChaCha20-Poly1305 ciphertext (shorter than the tag), or None."""
    if len(ct) < TAG_LEN:
        return f"ct must be at least {TAG_LEN} bytes (the tag), got {len(ct)}"
    return None


def package_reason(pk: PaillierPublicKey, kem: bytes, nonce: bytes, ct: bytes) -> str | None:
    """All size and range checks of a package, first failure wins, or None."""
    return kem_reason(pk, kem) or nonce_reason(nonce) or ct_reason(ct)


# --- sealing --------------------------------------------------------------------------------


def seal(
    pk: PaillierPublicKey,
    result: bytes,
    ad: bytes,
    *,
    key: bytes | None = None,
    nonce: bytes | None = None,
    rng: random.Random | None = None,
) -> tuple[SealedPackage, bytes]:
    """Encrypt ``result`` under a fresh k (or ``key``); returns (package, k).

    ``key``/``nonce``/``rng`` are for tests and reproducible devnet runs; the default draws
    everything from the OS CSPRNG. Keep k secret: anyone holding it reads the result.
    """
    g = rng if rng is not None else secrets.SystemRandom()
    k = key if key is not None else g.randbytes(KEY_LEN)
    if len(k) != KEY_LEN:
        raise CryptoError(f"package key must be {KEY_LEN} bytes, got {len(k)}")
    kem = int_to_fixed(encrypt(pk, int.from_bytes(k, "big"), rng=g), pk.l2)
    part_nonce, ct = seal_part(k, result, ad, nonce=nonce, rng=g)
    return SealedPackage(kem=kem, nonce=part_nonce, ct=ct), k


def seal_part(
    key: bytes,
    plaintext: bytes,
    ad: bytes,
    *,
    nonce: bytes | None = None,
    rng: random.Random | None = None,
) -> tuple[bytes, bytes]:
    """ChaCha20-Poly1305 under an existing k (``lead_part`` bodies); returns (nonce, ct).

    Every part needs its own nonce under the same k; the default random 12-byte nonce
    makes a collision negligible.
    """
    if len(key) != KEY_LEN:
        raise CryptoError(f"package key must be {KEY_LEN} bytes, got {len(key)}")
    if nonce is None:
        nonce = (rng if rng is not None else secrets.SystemRandom()).randbytes(NONCE_LEN)
    if len(nonce) != NONCE_LEN:
        raise CryptoError(f"nonce must be {NONCE_LEN} bytes, got {len(nonce)}")
    return nonce, ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


# --- opening --------------------------------------------------------------------------------


def key_from_plaintext(message: int) -> bytes | DecryptFailure:
    """k from the threshold-decrypted plaintext: 32 bytes big-endian iff M < 2^256."""
    if not 0 <= message < 1 << (8 * KEY_LEN):
        return DecryptFailure("key_out_of_range", f"plaintext has {message.bit_length()} bits")
    return message.to_bytes(KEY_LEN, "big")


def reveal_key(
    pk: PaillierPublicKey, shares: Iterable[DecryptionShare]
) -> bytes | DecryptFailure | None:
    """Combine verified shares (chain order) into k; None if fewer than t distinct indices."""
    try:
        message = combine_shares(pk, shares)
    except CryptoError:
        return None
    return key_from_plaintext(message)


def decrypt_package(key: bytes, nonce: bytes, ct: bytes, ad: bytes) -> bytes | DecryptFailure:
    """The plaintext of (nonce, ct) under k and ``ad``, or a :class:`DecryptFailure`.

    Never raises on bad bytes.
    """
    if len(key) != KEY_LEN:
        return DecryptFailure("bad_key", f"key is {len(key)} bytes")
    reason = nonce_reason(nonce)
    if reason is not None:
        return DecryptFailure("bad_nonce", reason)
    reason = ct_reason(ct)
    if reason is not None:
        return DecryptFailure("bad_ciphertext", reason)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ct, ad)
    except InvalidTag:
        return DecryptFailure("bad_ciphertext", "authentication tag mismatch")
