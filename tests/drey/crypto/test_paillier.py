"""Threshold Paillier (§8) with the cached 512-bit TEST keys (test names say so). The cached
2048-bit key is checked here for consistency; its end-to-end run is in test_package.py."""

from __future__ import annotations

import itertools
import json
import math
import random
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.crypto import paillier as pl
from drey.crypto.tagged import tagged_hash
from drey.errors import CryptoError, KeyFormatError

KEYS_FILE = Path(__file__).parents[1] / "data" / "paillier_test_keys.json"


@cache
def dealing(name: str) -> pl.PaillierDealing:
    doc = json.loads(KEYS_FILE.read_text())
    return pl.PaillierDealing.from_dict(doc["keys"][name])


SMALL = ["512_n1_t1", "512_n3_t2", "512_n5_t3", "512_n7_t4"]
RNG_SEED = 20250301


def _rng(tag: int = 0) -> random.Random:
    return random.Random(RNG_SEED + tag)


def _miller_rabin(n: int, rounds: int = 16) -> bool:
    """Independent of gmpy2: plain Miller–Rabin with Python's pow and fixed random bases."""
    if n < 4:
        return n in (2, 3)
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    bases = random.Random(n & 0xFFFFFFFF)
    for _ in range(rounds):
        x = pow(bases.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


# --- key material -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*SMALL, "2048_n9_t5"])
def test_cached_keys_are_consistent(name: str) -> None:
    d = dealing(name)
    pk, p, q = d.public, d.secret.p, d.secret.q
    pp, qq = (p - 1) // 2, (q - 1) // 2
    for prime in (p, q, pp, qq):
        assert _miller_rabin(prime)
    assert p != q and pk.n == p * q
    assert not _miller_rabin(pk.n)
    assert pk.n.bit_length() == int(name.split("_")[0])
    assert pk.delta == math.factorial(pk.players)
    nm = pk.n * pp * qq
    # v generates the squares: order nm exactly.
    assert pow(pk.v, nm, pk.n2) == 1
    for r in (p, q, pp, qq):
        assert pow(pk.v, nm // r, pk.n2) != 1
    for share in d.shares:
        assert 0 <= share.s < nm
        assert pk.vk(share.index) == pow(pk.v, pk.delta * share.s, pk.n2)


def test_generate_key_512_bit_three_players() -> None:
    d = pl.generate_key(512, 3, 2, rng=_rng(1))
    pk = d.public
    assert pk.n.bit_length() == 512 and pk.players == 3 and pk.threshold == 2
    c = pl.encrypt(pk, 12345, rng=_rng(2))
    shares = [pl.decryption_share(pk, d.share(i), c, rng=_rng(i)) for i in (3, 1)]
    assert all(pl.verify_share(pk, c, s) for s in shares)
    assert pl.combine_shares(pk, shares) == 12345


def test_generate_key_rejects_bad_parameters() -> None:
    with pytest.raises(CryptoError):
        pl.generate_key(511, 3, 2)
    with pytest.raises(CryptoError):
        pl.generate_key(512, 3, 4)
    with pytest.raises(CryptoError):
        pl.generate_key(512, 3, 0)


def test_public_key_dict_and_params_roundtrip_512_bit() -> None:
    pk = dealing("512_n5_t3").public
    assert pl.PaillierPublicKey.from_dict(json.loads(json.dumps(pk.to_dict()))) == pk
    assert len(pk.n_bytes()) == pk.l1 == 64
    assert len(pk.v_bytes()) == pk.l2 == 128
    again = pl.PaillierPublicKey.from_params(
        n=pk.n_bytes(),
        v=pk.v_bytes(),
        vks=[pk.vk_bytes(i) for i in range(1, pk.players + 1)],
        threshold=pk.threshold,
    )
    assert again == pk


def test_public_key_from_params_rejects_bad_sizes_512_bit() -> None:
    pk = dealing("512_n3_t2").public
    vks = [pk.vk_bytes(i) for i in range(1, 4)]
    with pytest.raises(KeyFormatError, match="leading zero"):
        pl.PaillierPublicKey.from_params(
            n=b"\x00" + pk.n_bytes(), v=pk.v_bytes(), vks=vks, threshold=2
        )
    with pytest.raises(KeyFormatError, match="paillier v"):
        pl.PaillierPublicKey.from_params(n=pk.n_bytes(), v=pk.v_bytes()[1:], vks=vks, threshold=2)
    with pytest.raises(KeyFormatError, match="roster index 2"):
        bad = [vks[0], vks[1] + b"\x00", vks[2]]
        pl.PaillierPublicKey.from_params(n=pk.n_bytes(), v=pk.v_bytes(), vks=bad, threshold=2)
    with pytest.raises(KeyFormatError, match="vk_3"):
        zero = [vks[0], vks[1], bytes(pk.l2)]
        pl.PaillierPublicKey.from_params(n=pk.n_bytes(), v=pk.v_bytes(), vks=zero, threshold=2)
    with pytest.raises(KeyFormatError, match="threshold"):
        pl.PaillierPublicKey.from_params(n=pk.n_bytes(), v=pk.v_bytes(), vks=vks, threshold=4)
    with pytest.raises(KeyFormatError, match="malformed"):
        pl.PaillierPublicKey.from_dict({"n": 5})


def test_dealing_dict_checks_factorisation_512_bit() -> None:
    d = dealing("512_n3_t2").to_dict()
    d["secret"]["p"] = format(int(d["secret"]["p"], 16) + 2, "x")
    with pytest.raises(KeyFormatError, match="p·q"):
        pl.PaillierDealing.from_dict(d)


# --- encryption --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(SMALL), message=st.integers(min_value=0))
def test_encrypt_decrypt_roundtrip_512_bit(name: str, message: int) -> None:
    d = dealing(name)
    message %= d.public.n
    c = pl.encrypt(d.public, message)
    assert pl.ciphertext_reason(d.public, c) is None
    assert pl.decrypt(d.public, d.secret, c) == message


def test_encryption_is_randomised_and_homomorphic_512_bit() -> None:
    d = dealing("512_n3_t2")
    pk = d.public
    c1, c2 = pl.encrypt(pk, 5), pl.encrypt(pk, 5)
    assert c1 != c2
    assert pl.decrypt(pk, d.secret, c1 * pl.encrypt(pk, 7) % pk.n2) == 12


def test_ciphertext_reason_512_bit() -> None:
    d = dealing("512_n3_t2")
    pk = d.public
    assert pl.ciphertext_reason(pk, 0) is not None
    assert pl.ciphertext_reason(pk, pk.n2) is not None
    assert pl.ciphertext_reason(pk, d.secret.p * 7) == "shares a factor with n"
    with pytest.raises(CryptoError):
        pl.encrypt(pk, pk.n)


# --- shares and proofs --------------------------------------------------------------------


def _setup(name: str, message: int = 0xC0FFEE) -> tuple[pl.PaillierDealing, int, int]:
    d = dealing(name)
    return d, message, pl.encrypt(d.public, message, rng=_rng(7))


@pytest.mark.parametrize("name", SMALL)
def test_every_share_and_proof_verifies_512_bit(name: str) -> None:
    d, _, c = _setup(name)
    pk = d.public
    for ks in d.shares:
        ds = pl.decryption_share(pk, ks, c, rng=_rng(ks.index))
        assert ds.share == pow(c, 2 * pk.delta * ks.s, pk.n2)
        assert pl.verify_share(pk, c, ds)
        share_b, e_b, z_b = ds.serialize(pk)
        assert (len(share_b), len(e_b), len(z_b)) == (pk.l2, 32, pk.z_len)
        assert pl.DecryptionShare.deserialize(pk, ks.index, share_b, e_b, z_b) == ds
        assert pl.share_entry_reason(pk, share_b, e_b, z_b) is None
        assert ds.z.bit_length() <= pk.n2.bit_length() + pk.delta.bit_length() + 385


def test_challenge_uses_fixed_widths_512_bit() -> None:
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    ds = pl.decryption_share(pk, d.share(2), c, rng=_rng(2))
    # Rebuild a and b as the verifier does, and the preimage with ℓ₁ = 64, ℓ₂ = 128 bytes.
    a = pow(c, 4 * ds.z, pk.n2) * pow(ds.share, -2 * ds.e, pk.n2) % pk.n2
    b = pow(pk.v, ds.z, pk.n2) * pow(pk.vk(2), -ds.e, pk.n2) % pk.n2
    preimage = pk.n.to_bytes(64, "big") + b"".join(
        x.to_bytes(128, "big") for x in (c, ds.share, pk.vk(2), a, b)
    )
    assert int.from_bytes(tagged_hash("drey/1/share", preimage), "big") == ds.e
    # The prover's own (a, b) = (c^4r, v^r) give the same challenge.
    assert pl.share_proof_challenge(pk, c, ds.share, pk.vk(2), a, b) == ds.e


def test_forged_share_with_wrong_secret_rejected_512_bit() -> None:
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    wrong = pl.PaillierKeyShare(index=2, s=d.share(2).s + 1)
    assert not pl.verify_share(pk, c, pl.decryption_share(pk, wrong, c, rng=_rng(1)))


def test_forged_share_with_correct_value_but_wrong_secret_in_proof_rejected_512_bit() -> None:
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    honest = pl.decryption_share(pk, d.share(2), c).share
    wrong = pl.PaillierKeyShare(index=2, s=d.share(3).s)
    assert not pl.verify_share(pk, c, pl.prove_share(pk, wrong, c, honest, rng=_rng(3)))


def test_tampered_e_z_or_share_rejected_512_bit() -> None:
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    ds = pl.decryption_share(pk, d.share(4), c, rng=_rng(4))
    for forged in (
        pl.DecryptionShare(ds.index, ds.share, ds.e ^ 1, ds.z),
        pl.DecryptionShare(ds.index, ds.share, ds.e, ds.z + 1),
        pl.DecryptionShare(ds.index, ds.share * 4 % pk.n2, ds.e, ds.z),
        pl.DecryptionShare(ds.index, pk.n2 - ds.share, ds.e, ds.z),
    ):
        assert not pl.verify_share(pk, c, forged)


def test_proof_for_one_kem_rejected_for_another_512_bit() -> None:
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    other = pl.encrypt(pk, 99, rng=_rng(8))
    ds = pl.decryption_share(pk, d.share(1), c, rng=_rng(1))
    assert not pl.verify_share(pk, other, ds)


def test_share_claimed_under_another_roster_index_rejected_512_bit() -> None:
    # Actuary 1's honest share posted as index 2: vk_2 does not match s_1.
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    ds = pl.decryption_share(pk, d.share(1), c, rng=_rng(1))
    assert not pl.verify_share(pk, c, pl.DecryptionShare(2, ds.share, ds.e, ds.z))
    assert not pl.verify_share(pk, c, pl.DecryptionShare(6, ds.share, ds.e, ds.z))
    assert not pl.verify_share(pk, c, pl.DecryptionShare(0, ds.share, ds.e, ds.z))


def test_share_from_non_roster_key_rejected_512_bit() -> None:
    # A secret share from another dealing (different n) proven under its own key, then
    # checked against this roster: vk mismatch.
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    stranger = dealing("512_n7_t4")
    ks = pl.PaillierKeyShare(index=3, s=stranger.share(3).s)
    assert not pl.verify_share(pk, c, pl.decryption_share(pk, ks, c, rng=_rng(3)))


def test_negated_share_also_verifies_and_combines_512_bit() -> None:
    # §8: c_i and n² − c_i both verify (each with its own proof); dedupe by actuary.
    d, m, c = _setup("512_n5_t3")
    pk = d.public
    ds = pl.decryption_share(pk, d.share(1), c, rng=_rng(1))
    neg = pl.prove_share(pk, d.share(1), c, pk.n2 - ds.share, rng=_rng(11))
    assert pl.verify_share(pk, c, ds) and pl.verify_share(pk, c, neg)
    others = [pl.decryption_share(pk, d.share(i), c, rng=_rng(i)) for i in (2, 3)]
    assert pl.combine_shares(pk, [neg, *others]) == m


@settings(max_examples=30, deadline=None)
@given(
    share=st.binary(min_size=128, max_size=128),
    e=st.binary(min_size=32, max_size=32),
    z=st.binary(min_size=177, max_size=177),
    index=st.integers(-2, 8),
)
def test_random_entries_never_verify_and_never_raise_512_bit(
    share: bytes, e: bytes, z: bytes, index: int
) -> None:
    d, _, c = _setup("512_n5_t3")
    pk = d.public
    assert pk.z_len == 177
    ds = pl.DecryptionShare.deserialize(pk, index, share, e, z)
    assert not pl.verify_share(pk, c, ds)


def test_share_entry_reason_sizes_and_ranges_512_bit() -> None:
    d, _, c = _setup("512_n3_t2")
    pk = d.public
    ds = pl.decryption_share(pk, d.share(1), c)
    share, e, z = ds.serialize(pk)
    assert "share must be 128 bytes" in (pl.share_entry_reason(pk, share[1:], e, z) or "")
    assert "e must be 32 bytes" in (pl.share_entry_reason(pk, share, e + b"\x00", z) or "")
    assert "z must be" in (pl.share_entry_reason(pk, share, e, z[:-1]) or "")
    assert pl.share_entry_reason(pk, bytes(128), e, z) is not None
    assert pl.share_entry_reason(pk, pk.n2.to_bytes(128, "big"), e, z) is not None
    p_share = (d.secret.p * 3).to_bytes(128, "big")
    assert pl.share_entry_reason(pk, p_share, e, z) == "share shares a factor with n"
    with pytest.raises(CryptoError, match="index 1"):
        pl.DecryptionShare.deserialize(pk, 1, share, e[:-1], z)


# --- combination --------------------------------------------------------------------------


@pytest.mark.parametrize("name", SMALL)
def test_every_t_subset_recovers_plaintext_512_bit(name: str) -> None:
    d, m, c = _setup(name)
    pk = d.public
    shares = {ks.index: pl.decryption_share(pk, ks, c, rng=_rng(ks.index)) for ks in d.shares}
    for subset in itertools.combinations(sorted(shares), pk.threshold):
        chosen = [shares[i] for i in subset]
        assert pl.combine_shares(pk, chosen) == m
        assert pl.combine_shares(pk, chosen[::-1]) == m


@pytest.mark.parametrize("name", [n for n in SMALL if n != "512_n1_t1"])
def test_t_minus_one_shares_do_not_decrypt_512_bit(name: str) -> None:
    d, m, c = _setup(name)
    pk = d.public
    shares = [pl.decryption_share(pk, ks, c, rng=_rng(ks.index)) for ks in d.shares]
    for subset in itertools.combinations(shares, pk.threshold - 1):
        assert pl.lagrange_combine(pk, list(subset)) != m
        with pytest.raises(CryptoError, match="need"):
            pl.combine_shares(pk, list(subset))


def test_combine_uses_first_t_distinct_indices_512_bit() -> None:
    d, m, c = _setup("512_n7_t4")
    pk = d.public
    good = {ks.index: pl.decryption_share(pk, ks, c, rng=_rng(ks.index)) for ks in d.shares}
    # Duplicates of an index (second ones ignored), then t distinct, then a garbage share
    # beyond the first t that must not be used.
    garbage = pl.DecryptionShare(7, 12345, 0, 0)
    ordered = [good[5], good[5], good[2], good[6], good[2], good[1], garbage]
    assert pl.combine_shares(pk, ordered) == m
    assert pl.combine_shares(pk, [garbage, good[1], good[2], good[3]]) != m


def test_lagrange_coefficients_can_be_negative() -> None:
    # S = {1, 2}, N = 3: λ_1 = 6·2/(2−1) = 12, λ_2 = 6·1/(1−2) = −6.
    assert pl.lagrange_coefficient(6, [1, 2], 1) == 12
    assert pl.lagrange_coefficient(6, [1, 2], 2) == -6
    with pytest.raises(CryptoError):
        pl.lagrange_coefficient(1, [1, 3], 1)  # 3/2 is not an integer
