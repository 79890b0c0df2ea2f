"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5, suite 0x03), used for the election (§4).

Group operations come from libsodium through PyNaCl (``nacl.bindings``); this module only
does byte handling, scalar arithmetic modulo the group order L and hashing. It follows the
RFC exactly, including its choices that libsodium's high-level API does not make:

- ``string_to_point`` is RFC 8032 §5.1.3 decoding: canonical y (< p), x = 0 with the sign
  bit set rejected, on the curve. Points outside the prime-order subgroup decode fine (the
  RFC allows them); only ``validate_key`` rejects public keys of small order.
- Multiplying a point that is not in the prime-order subgroup (possible for a public key
  with a torsion component, or an adversarial Gamma) falls back to double-and-add with
  ``crypto_core_ed25519_add``, because libsodium's scalar multiplication refuses such points.

Limits: not constant time in the secret key (Python big integers, data-dependent branches
in the fallback path are only taken for public inputs); fine for the devnet and verifiers.
"""

from __future__ import annotations

import hashlib

from nacl.bindings import (
    crypto_core_ed25519_add,
    crypto_core_ed25519_is_valid_point,
    crypto_core_ed25519_sub,
    crypto_scalarmult_ed25519_base_noclamp,
    crypto_scalarmult_ed25519_noclamp,
)
from nacl.exceptions import CryptoError as NaclCryptoError

from drey.errors import KeyFormatError

__all__ = [
    "BETA_LEN",
    "PROOF_LEN",
    "PUBLIC_KEY_LEN",
    "SECRET_KEY_LEN",
    "SUITE_STRING",
    "encode_to_curve",
    "key_reason",
    "proof_to_hash",
    "prove",
    "public_key",
    "validate_key",
    "verify",
]

SUITE_STRING = b"\x03"
SECRET_KEY_LEN = 32
PUBLIC_KEY_LEN = 32
PROOF_LEN = 80  # Gamma (32) ‖ c (16) ‖ s (32)
BETA_LEN = 64
_C_LEN = 16
_Q_LEN = 32

_P = 2**255 - 19  # field prime
_L = 2**252 + 27742317777372353535851937790883648493  # prime group order q
_IDENTITY = (1).to_bytes(32, "little")


# --- points ---------------------------------------------------------------------------


def _string_to_point(data: bytes) -> bytes | None:
    """RFC 8032 §5.1.3 decoding; returns the (canonical) encoding or None for INVALID."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little") & ((1 << 255) - 1)
    if y >= _P:
        return None
    # x = 0 exactly when y = ±1; RFC 8032 rejects x = 0 with the sign bit set.
    if data[31] & 0x80 and y in (1, _P - 1):
        return None
    try:
        # libsodium decodes (square root) and checks the curve equation; P + O = P.
        out = crypto_core_ed25519_add(data, _IDENTITY)
    except NaclCryptoError:
        return None
    return out if out == data else None


def _add(p: bytes, q: bytes) -> bytes:
    return crypto_core_ed25519_add(p, q)


def _times8(p: bytes) -> bytes:
    p2 = _add(p, p)
    p4 = _add(p2, p2)
    return _add(p4, p4)


def _mul(k: int, point: bytes) -> bytes:
    """k · point for k ≥ 0 and any decoded curve point."""
    if crypto_core_ed25519_is_valid_point(point):
        # Prime-order subgroup and not small order: libsodium, scalar reduced mod L.
        k %= _L
        if k == 0:
            return _IDENTITY
        return crypto_scalarmult_ed25519_noclamp(k.to_bytes(32, "little"), point)
    acc = _IDENTITY
    for bit in bin(k)[2:] if k else "":
        acc = _add(acc, acc)
        if bit == "1":
            acc = _add(acc, point)
    return acc


def _mul_base(k: int) -> bytes:
    k %= _L
    if k == 0:
        return _IDENTITY
    return crypto_scalarmult_ed25519_base_noclamp(k.to_bytes(32, "little"))


# --- RFC 9381 building blocks ------------------------------------------------------------


def _expand_secret(sk: bytes) -> tuple[int, bytes]:
    """RFC 8032 §5.1.5: clamped secret scalar x and the nonce half of SHA512(sk)."""
    if len(sk) != SECRET_KEY_LEN:
        raise KeyFormatError(f"ECVRF secret key must be {SECRET_KEY_LEN} bytes, got {len(sk)}")
    h = hashlib.sha512(sk).digest()
    a = bytearray(h[:32])
    a[0] &= 248
    a[31] &= 127
    a[31] |= 64
    return int.from_bytes(a, "little"), h[32:]


def encode_to_curve(salt: bytes, alpha: bytes) -> bytes:
    """RFC 9381 §5.4.1.1 try-and-increment; ``salt`` is the public key string.

    Raises :class:`KeyFormatError` in the ~2^-256 event that no counter 0 … 255 works.
    """
    for ctr in range(256):
        digest = hashlib.sha512(
            SUITE_STRING + b"\x01" + salt + alpha + bytes([ctr]) + b"\x00"
        ).digest()
        point = _string_to_point(digest[:32])
        if point is not None:
            return _times8(point)
    raise KeyFormatError("encode_to_curve found no point in 256 attempts")


def _challenge(*points: bytes) -> int:
    digest = hashlib.sha512(SUITE_STRING + b"\x02" + b"".join(points) + b"\x00").digest()
    return int.from_bytes(digest[:_C_LEN], "little")


def _decode_proof(pi: bytes) -> tuple[bytes, int, int] | None:
    if len(pi) != PROOF_LEN:
        return None
    gamma = _string_to_point(pi[:32])
    if gamma is None:
        return None
    c = int.from_bytes(pi[32 : 32 + _C_LEN], "little")
    s = int.from_bytes(pi[32 + _C_LEN :], "little")
    if s >= _L:
        return None
    return gamma, c, s


# --- public API ---------------------------------------------------------------------------


def public_key(sk: bytes) -> bytes:
    """The 32-byte public key (RFC 8032 Ed25519 public key) of a 32-byte secret key."""
    x, _ = _expand_secret(sk)
    return _mul_base(x)


def key_reason(pk: bytes) -> str | None:
    """Why ``pk`` fails RFC 9381 ECVRF_validate_key, or None if it is acceptable."""
    if len(pk) != PUBLIC_KEY_LEN:
        return f"vrf key must be {PUBLIC_KEY_LEN} bytes, got {len(pk)}"
    point = _string_to_point(pk)
    if point is None:
        return "vrf key is not a canonical encoding of an edwards25519 point"
    if _times8(point) == _IDENTITY:
        return "vrf key has small order"
    return None


def validate_key(pk: bytes) -> bool:
    """RFC 9381 §5.4.5 ECVRF_validate_key: a curve point whose cofactor multiple is not O."""
    return key_reason(pk) is None


def prove(sk: bytes, alpha: bytes) -> bytes:
    """RFC 9381 §5.1 ECVRF_prove: the 80-byte proof pi for ``alpha`` under ``sk``."""
    x, nonce_key = _expand_secret(sk)
    y = _mul_base(x)
    h = encode_to_curve(y, alpha)
    gamma = _mul(x, h)
    # §5.4.2.2 nonce generation (RFC 8032 style).
    k = int.from_bytes(hashlib.sha512(nonce_key + h).digest(), "little") % _L
    c = _challenge(y, h, gamma, _mul_base(k), _mul(k, h))
    s = (k + c * x) % _L
    return gamma + c.to_bytes(_C_LEN, "little") + s.to_bytes(_Q_LEN, "little")


def proof_to_hash(pi: bytes) -> bytes | None:
    """RFC 9381 §5.2: the 64-byte beta of a proof, or None if pi does not decode.

    Does not verify the proof; use :func:`verify` for untrusted input.
    """
    decoded = _decode_proof(pi)
    if decoded is None:
        return None
    gamma = decoded[0]
    return hashlib.sha512(SUITE_STRING + b"\x03" + _times8(gamma) + b"\x00").digest()


def verify(pk: bytes, pi: bytes, alpha: bytes, *, validate: bool = True) -> bytes | None:
    """RFC 9381 §5.3 ECVRF_verify: beta (64 bytes) if pi is valid for (pk, alpha), else None.

    Never raises on malformed input. ``validate`` runs ECVRF_validate_key (the protocol
    always does).
    """
    y = _string_to_point(pk)
    if y is None:
        return None
    if validate and _times8(y) == _IDENTITY:
        return None
    decoded = _decode_proof(pi)
    if decoded is None:
        return None
    gamma, c, s = decoded
    h = encode_to_curve(pk, alpha)
    u = crypto_core_ed25519_sub(_mul_base(s), _mul(c, y))
    v = crypto_core_ed25519_sub(_mul(s, h), _mul(c, gamma))
    if _challenge(y, h, gamma, u, v) != c:
        return None
    return proof_to_hash(pi)
