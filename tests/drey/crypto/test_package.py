"""Package hybrid encryption (§5) with the cached 512-bit TEST Paillier keys, plus one
end-to-end run with the cached 2048-bit N = 9, t = 5 TEST key."""

from __future__ import annotations

import json
import math
import random
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.crypto import package as pkg
from drey.crypto import paillier as pl
from drey.crypto.tagged import tagged_hash
from drey.errors import EncodingError

KEYS_FILE = Path(__file__).parents[1] / "data" / "paillier_test_keys.json"
ALICE = bytes.fromhex("11" * 32)
BOB = bytes.fromhex("22" * 32)
MONTH = "2025-03"


@cache
def dealing(name: str = "512_n5_t3") -> pl.PaillierDealing:
    doc = json.loads(KEYS_FILE.read_text())
    return pl.PaillierDealing.from_dict(doc["keys"][name])


def _reveal(d: pl.PaillierDealing, kem: bytes, indices: list[int]) -> bytes | pkg.DecryptFailure:
    pk = d.public
    c = int.from_bytes(kem, "big")
    shares = [pl.decryption_share(pk, d.share(i), c) for i in indices]
    assert all(pl.verify_share(pk, c, s) for s in shares)
    result = pkg.reveal_key(pk, shares)
    assert result is not None
    return result


def test_package_ad_layout() -> None:
    expected = tagged_hash(
        "drey/1/package", b"secondary" + b"2025-03" + (2).to_bytes(4, "big") + ALICE
    )
    assert pkg.package_ad("secondary", MONTH, 2, ALICE) == expected
    part = tagged_hash(
        "drey/1/package",
        b"lead" + b"2025-03" + (0).to_bytes(4, "big") + ALICE + (7).to_bytes(4, "big"),
    )
    assert pkg.lead_part_ad(MONTH, 0, ALICE, 7) == part


@pytest.mark.parametrize(
    "args",
    [
        ("lead", "2025-13", 0, ALICE),
        ("lead", "1969-12", 0, ALICE),
        ("lead", MONTH, -1, ALICE),
        ("lead", MONTH, 2**32, ALICE),
        ("lead", MONTH, 0, ALICE[:31]),
        ("allocation", MONTH, 0, ALICE),
    ],
)
def test_package_ad_rejects_bad_fields(args: tuple) -> None:
    with pytest.raises(EncodingError):
        pkg.package_ad(*args)


def test_seal_and_threshold_reveal_roundtrip_512_bit() -> None:
    d = dealing()
    ad = pkg.package_ad("lead", MONTH, 1, ALICE)
    result = b"\xa1result cbor" * 50
    sealed, k = pkg.seal(d.public, result, ad)
    assert pkg.package_reason(d.public, sealed.kem, sealed.nonce, sealed.ct) is None
    assert len(sealed.kem) == d.public.l2 and len(sealed.nonce) == 12
    assert len(sealed.ct) == len(result) + 16
    revealed = _reveal(d, sealed.kem, [4, 1, 5])
    assert revealed == k
    assert pkg.decrypt_package(revealed, sealed.nonce, sealed.ct, ad) == result


def test_copied_package_under_another_actuary_fails_to_decrypt_512_bit() -> None:
    d = dealing()
    sealed, k = pkg.seal(d.public, b"alice's result", pkg.package_ad("secondary", MONTH, 0, ALICE))
    # Bob reposts Alice's kem/nonce/ct under his own outer signature: the AD names Bob.
    for wrong_ad in (
        pkg.package_ad("secondary", MONTH, 0, BOB),
        pkg.package_ad("lead", MONTH, 0, ALICE),
        pkg.package_ad("secondary", MONTH, 1, ALICE),
        pkg.package_ad("secondary", "2025-04", 0, ALICE),
    ):
        out = pkg.decrypt_package(k, sealed.nonce, sealed.ct, wrong_ad)
        assert out == pkg.DecryptFailure("bad_ciphertext", "authentication tag mismatch")


def test_lead_parts_bind_their_index_512_bit() -> None:
    d = dealing()
    _, k = pkg.seal(d.public, b"lead result", pkg.package_ad("lead", MONTH, 3, ALICE))
    parts = [bytes([i]) * 1000 for i in range(3)]
    sealed_parts = [
        pkg.seal_part(k, body, pkg.lead_part_ad(MONTH, 3, ALICE, i)) for i, body in enumerate(parts)
    ]
    assert len({nonce for nonce, _ in sealed_parts}) == 3
    for i, (nonce, ct) in enumerate(sealed_parts):
        assert pkg.decrypt_package(k, nonce, ct, pkg.lead_part_ad(MONTH, 3, ALICE, i)) == parts[i]
        swapped = pkg.lead_part_ad(MONTH, 3, ALICE, (i + 1) % 3)
        assert isinstance(pkg.decrypt_package(k, nonce, ct, swapped), pkg.DecryptFailure)
    # A part is not a package body and vice versa.
    nonce0, ct0 = sealed_parts[0]
    assert isinstance(
        pkg.decrypt_package(k, nonce0, ct0, pkg.package_ad("lead", MONTH, 3, ALICE)),
        pkg.DecryptFailure,
    )


def test_tampered_ciphertext_or_wrong_key_fails_512_bit() -> None:
    d = dealing()
    ad = pkg.package_ad("secondary", MONTH, 0, ALICE)
    sealed, k = pkg.seal(d.public, b"payload", ad, rng=random.Random(5))
    ct = bytearray(sealed.ct)
    ct[0] ^= 1
    assert isinstance(pkg.decrypt_package(k, sealed.nonce, bytes(ct), ad), pkg.DecryptFailure)
    other = bytes(31) + b"\x01"
    assert isinstance(pkg.decrypt_package(other, sealed.nonce, sealed.ct, ad), pkg.DecryptFailure)


def test_kem_of_too_large_plaintext_fails_to_decrypt_512_bit() -> None:
    d = dealing()
    kem = pl.encrypt(d.public, 2**256 + 5).to_bytes(d.public.l2, "big")
    out = _reveal(d, kem, [1, 2, 3])
    assert isinstance(out, pkg.DecryptFailure) and out.reason == "key_out_of_range"
    assert pkg.key_from_plaintext(2**256 - 1) == b"\xff" * 32
    assert pkg.key_from_plaintext(0) == bytes(32)


def test_reveal_with_too_few_shares_is_none_512_bit() -> None:
    d = dealing()
    sealed, _ = pkg.seal(d.public, b"x", pkg.package_ad("lead", MONTH, 0, ALICE))
    c = int.from_bytes(sealed.kem, "big")
    shares = [pl.decryption_share(d.public, d.share(i), c) for i in (1, 2)]
    assert pkg.reveal_key(d.public, shares) is None


def test_size_and_range_checks_512_bit() -> None:
    d = dealing()
    pk = d.public
    sealed, _ = pkg.seal(pk, b"r", pkg.package_ad("lead", MONTH, 0, ALICE))
    assert pkg.kem_reason(pk, sealed.kem) is None
    assert "128 bytes" in (pkg.kem_reason(pk, sealed.kem[1:]) or "")
    assert pkg.kem_reason(pk, bytes(128)) == "kem not in 1 … n² − 1"
    assert pkg.kem_reason(pk, pk.n2.to_bytes(128, "big")) == "kem not in 1 … n² − 1"
    assert pkg.kem_reason(pk, (d.secret.q * 5).to_bytes(128, "big")) == "kem shares a factor with n"
    assert pkg.nonce_reason(b"\x00" * 12) is None
    assert pkg.nonce_reason(b"\x00" * 11) == "nonce must be 12 bytes, got 11"
    assert pkg.ct_reason(b"\x00" * 15) is not None
    assert pkg.package_reason(pk, sealed.kem, b"", sealed.ct) == "nonce must be 12 bytes, got 0"


@settings(max_examples=100, deadline=None)
@given(
    key=st.binary(max_size=40),
    nonce=st.binary(max_size=16),
    ct=st.binary(max_size=64),
    ad=st.binary(max_size=32),
)
def test_decrypt_package_never_raises(key: bytes, nonce: bytes, ct: bytes, ad: bytes) -> None:
    out = pkg.decrypt_package(key, nonce, ct, ad)
    # Forging a Poly1305 tag by chance is negligible.
    assert isinstance(out, pkg.DecryptFailure)


@settings(max_examples=30, deadline=None)
@given(result=st.binary(max_size=2000), round_=st.integers(0, 2**32 - 1))
def test_seal_open_roundtrip_with_known_key_512_bit(result: bytes, round_: int) -> None:
    d = dealing()
    ad = pkg.package_ad("secondary", MONTH, round_, BOB)
    sealed, k = pkg.seal(d.public, result, ad)
    m = pl.decrypt(d.public, d.secret, int.from_bytes(sealed.kem, "big"))
    assert pkg.key_from_plaintext(m) == k
    assert pkg.decrypt_package(k, sealed.nonce, sealed.ct, ad) == result


@pytest.mark.slow
def test_end_to_end_2048_bit_nine_players_threshold_five() -> None:
    """Seal → wire-format shares with proofs → verify → combine → decrypt at 2048 bits."""
    d = dealing("2048_n9_t5")
    pk = d.public
    assert (pk.l1, pk.l2, pk.players, pk.threshold) == (256, 512, 9, 5)
    assert pk.z_len == math.ceil((4096 + pk.delta.bit_length() + 385) / 8)
    ad = pkg.package_ad("lead", "2026-01", 0, ALICE)
    result = b"result cbor bytes" * 100
    sealed, k = pkg.seal(pk, result, ad)
    assert pkg.package_reason(pk, sealed.kem, sealed.nonce, sealed.ct) is None
    kem = int.from_bytes(sealed.kem, "big")
    entries = []
    for index in (9, 2, 5, 7, 4):
        wire = pl.decryption_share(pk, d.share(index), kem).serialize(pk)
        assert [len(x) for x in wire] == [512, 32, pk.z_len]
        assert pl.share_entry_reason(pk, *wire) is None
        decoded = pl.DecryptionShare.deserialize(pk, index, *wire)
        assert pl.verify_share(pk, kem, decoded)
        entries.append(decoded)
    assert pkg.reveal_key(pk, entries[:4]) is None
    assert pl.lagrange_combine(pk, entries[:4]) != int.from_bytes(k, "big")
    revealed = pkg.reveal_key(pk, entries)
    assert revealed == k
    assert pkg.decrypt_package(revealed, sealed.nonce, sealed.ct, ad) == result
