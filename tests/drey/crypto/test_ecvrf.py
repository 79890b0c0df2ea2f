"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 suite 0x03): vectors, key validation, tampering."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_core_ed25519_add

from drey.crypto import ecvrf

# RFC 9381 Appendix B.3, Examples 16–18: SK, PK, alpha, H (encode_to_curve), pi, beta.
RFC9381_B3 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318",
        "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f"
        "26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab12"
        "68a1b0db10836d9826a528ca76567805",
        "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff"
        "66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "5b659fc3d4e9263fd9a4ed1d022d75eaacc20df5e09f9ea937502396598dc551",
        "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593"
        "3bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926d"
        "a3ef39226bbc355bdc9850112c8f4b02",
        "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb"
        "5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "bf4339376f5542811de615e3313d2b36f6f53c0acfebb482159711201192576a",
        "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80"
        "96bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a"
        "2d41b00b05081ed0f58ee5e31b3a970e",
        "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45"
        "2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
    ),
]
VECTORS = [tuple(bytes.fromhex(x) for x in v) for v in RFC9381_B3]

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
IDENTITY = (1).to_bytes(32, "little")
# A point of order 8 (generator of the torsion subgroup).
TORSION8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")


def _multiples(point: bytes, count: int) -> list[bytes]:
    out, acc = [], IDENTITY
    for _ in range(count):
        out.append(acc)
        acc = crypto_core_ed25519_add(acc, point)
    return out


SMALL_ORDER = _multiples(TORSION8, 8)


@pytest.mark.parametrize(("sk", "pk", "alpha", "h", "pi", "beta"), VECTORS)
def test_rfc9381_b3_vectors(
    sk: bytes, pk: bytes, alpha: bytes, h: bytes, pi: bytes, beta: bytes
) -> None:
    assert ecvrf.public_key(sk) == pk
    assert ecvrf.encode_to_curve(pk, alpha) == h
    assert ecvrf.prove(sk, alpha) == pi
    assert ecvrf.proof_to_hash(pi) == beta
    assert ecvrf.verify(pk, pi, alpha) == beta
    assert len(pi) == ecvrf.PROOF_LEN == 80
    assert len(beta) == ecvrf.BETA_LEN == 64


def test_torsion_fixture_has_order_8() -> None:
    assert len(set(SMALL_ORDER)) == 8
    assert crypto_core_ed25519_add(SMALL_ORDER[7], TORSION8) == IDENTITY


@pytest.mark.parametrize("point", SMALL_ORDER)
def test_small_order_keys_rejected(point: bytes) -> None:
    assert ecvrf.key_reason(point) == "vrf key has small order"
    assert not ecvrf.validate_key(point)
    _, _, alpha, _, pi, _ = VECTORS[0]
    assert ecvrf.verify(point, pi, alpha) is None


def test_key_with_torsion_component_is_valid_but_does_not_verify_others_proof() -> None:
    # RFC 9381 validate_key only rejects small order; Y + T is a valid key.
    _, pk, alpha, _, pi, _ = VECTORS[0]
    mixed = crypto_core_ed25519_add(pk, TORSION8)
    assert ecvrf.validate_key(mixed)
    assert ecvrf.verify(mixed, pi, alpha) is None


def test_malformed_keys_rejected() -> None:
    assert ecvrf.key_reason(b"\x01" * 31) is not None
    # y = p (non-canonical 0) and y = p + 1 (non-canonical identity).
    for y in (P, P + 1, 2**255 - 1):
        enc = y.to_bytes(32, "little")
        assert ecvrf.key_reason(enc) == (
            "vrf key is not a canonical encoding of an edwards25519 point"
        )
    # x = 0 with the sign bit set (identity and the order-2 point).
    for y in (1, P - 1):
        enc = bytearray(y.to_bytes(32, "little"))
        enc[31] |= 0x80
        assert ecvrf.key_reason(bytes(enc)) is not None
    # y = 2 is not on the curve.
    assert ecvrf.key_reason((2).to_bytes(32, "little")) is not None


def test_vector_key_passes_validation() -> None:
    for _, pk, *_ in VECTORS:
        assert ecvrf.key_reason(pk) is None


@pytest.mark.parametrize("index", range(3))
def test_non_canonical_s_rejected(index: int) -> None:
    _, pk, alpha, _, pi, _ = VECTORS[index]
    s = int.from_bytes(pi[48:], "little")
    forged = pi[:48] + (s + L).to_bytes(32, "little")
    assert ecvrf.verify(pk, forged, alpha) is None
    assert ecvrf.proof_to_hash(forged) is None


@settings(max_examples=200, deadline=None)
@given(index=st.integers(0, 2), bit=st.integers(0, 8 * 80 - 1))
def test_any_bit_flip_in_proof_rejected(index: int, bit: int) -> None:
    _, pk, alpha, _, pi, _ = VECTORS[index]
    tampered = bytearray(pi)
    tampered[bit // 8] ^= 1 << (bit % 8)
    assert ecvrf.verify(pk, bytes(tampered), alpha) is None


def test_wrong_alpha_or_key_rejected() -> None:
    _, pk, alpha, _, pi, _ = VECTORS[1]
    assert ecvrf.verify(pk, pi, alpha + b"\x00") is None
    assert ecvrf.verify(VECTORS[0][1], pi, alpha) is None


def test_gamma_with_torsion_changes_nothing_in_beta_but_fails_verification() -> None:
    # Gamma + T has the same cofactor multiple, so proof_to_hash is unchanged, yet the
    # challenge binds Gamma's encoding, so the proof no longer verifies.
    _, pk, alpha, _, pi, beta = VECTORS[2]
    gamma_t = crypto_core_ed25519_add(pi[:32], TORSION8)
    forged = gamma_t + pi[32:]
    assert ecvrf.proof_to_hash(forged) == beta
    assert ecvrf.verify(pk, forged, alpha) is None


@settings(max_examples=60, deadline=None)
@given(pk=st.binary(min_size=0, max_size=40), pi=st.binary(min_size=0, max_size=90))
def test_verify_never_raises_on_garbage(pk: bytes, pi: bytes) -> None:
    # A random string is a valid proof with negligible probability; what matters is
    # that malformed input yields None instead of an exception.
    assert ecvrf.verify(pk, pi, b"alpha") is None
    assert ecvrf.proof_to_hash(pi) is None or len(pi) == ecvrf.PROOF_LEN


@settings(max_examples=40, deadline=None)
@given(sk=st.binary(min_size=32, max_size=32), alpha=st.binary(max_size=100))
def test_prove_verify_roundtrip(sk: bytes, alpha: bytes) -> None:
    pk = ecvrf.public_key(sk)
    pi = ecvrf.prove(sk, alpha)
    beta = ecvrf.verify(pk, pi, alpha)
    assert beta is not None
    assert beta == ecvrf.proof_to_hash(pi)
    assert ecvrf.prove(sk, alpha) == pi  # deterministic


def test_beta_is_hash_of_cofactor_gamma() -> None:
    # Independent recomputation of §5.2 with the suite string and domain separators.
    _, _, _, _, pi, beta = VECTORS[0]
    g = pi[:32]
    g2 = crypto_core_ed25519_add(g, g)
    g4 = crypto_core_ed25519_add(g2, g2)
    g8 = crypto_core_ed25519_add(g4, g4)
    assert hashlib.sha512(b"\x03\x03" + g8 + b"\x00").digest() == beta


def test_secret_key_length_checked() -> None:
    from drey.errors import KeyFormatError

    with pytest.raises(KeyFormatError):
        ecvrf.prove(b"\x00" * 31, b"")


def test_rfc_valid_proof_with_torsion_in_gamma_verifies_with_same_beta() -> None:
    """RFC 9381 verification does not require Gamma in the prime-order subgroup. A prover
    can build Gamma' = x·H + T with V = k·H − c·T by guessing c mod 8; such a proof is valid
    per the RFC (exercises the double-and-add path) and yields the honest beta."""
    from nacl.bindings import (
        crypto_core_ed25519_sub,
        crypto_scalarmult_ed25519_base_noclamp,
        crypto_scalarmult_ed25519_noclamp,
    )

    sk, pk, alpha, h, pi, beta = VECTORS[1]
    digest = hashlib.sha512(sk).digest()
    a = bytearray(digest[:32])
    a[0] &= 248
    a[31] = (a[31] & 127) | 64
    x = int.from_bytes(a, "little") % L

    def mul(k: int, point: bytes) -> bytes:
        return crypto_scalarmult_ed25519_noclamp((k % L).to_bytes(32, "little"), point)

    gamma_t = crypto_core_ed25519_add(mul(x, h), TORSION8)
    for nonce in range(1, 200):
        k = int.from_bytes(hashlib.sha512(b"nonce" + bytes([nonce])).digest(), "little") % L
        u = crypto_scalarmult_ed25519_base_noclamp(k.to_bytes(32, "little"))
        guess = nonce % 8
        v = crypto_core_ed25519_sub(mul(k, h), SMALL_ORDER[guess])  # k·H − guess·T
        c_bytes = hashlib.sha512(b"\x03\x02" + pk + h + gamma_t + u + v + b"\x00").digest()[:16]
        c = int.from_bytes(c_bytes, "little")
        if c % 8 == guess:
            break
    else:
        raise AssertionError("no nonce matched c mod 8")
    s = (k + c * x) % L
    forged = gamma_t + c_bytes + s.to_bytes(32, "little")
    assert forged != pi
    assert ecvrf.verify(pk, forged, alpha) == beta
