"""Election (§4): VRF input, round randomness and the stake-weighted lead draw."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey import election
from drey.crypto import ecvrf
from drey.crypto.tagged import tagged_hash
from drey.errors import EncodingError

BLOCK = bytes(range(32))
MONTH = "2025-03"


def reference_draw(r: bytes, candidates: Sequence[tuple[bytes, int]]) -> tuple[bytes | None, int]:
    """§4 read literally (linear scan over all E cumulative sums, zeros included); also
    returns the counter j that produced the result."""
    ordered = sorted(candidates)
    sums, acc = [], 0
    for _, w in ordered:
        acc += w
        sums.append(acc)
    total = acc
    if total == 0:
        return None, -1
    j = 0
    while True:
        u = int.from_bytes(hashlib.sha256(r + j.to_bytes(4, "big")).digest(), "big")
        if u < 2**256 - (2**256 % total):
            for (key, _), c in zip(ordered, sums, strict=True):
                if u % total < c:
                    return key, j
        j += 1


def _r(i: int) -> bytes:
    return hashlib.sha256(b"test randomness" + i.to_bytes(8, "big")).digest()


def test_vrf_alpha_layout() -> None:
    alpha = election.vrf_alpha(MONTH, 3, BLOCK)
    assert alpha == b"drey/1/vrf" + b"2025-03" + b"\x00\x00\x00\x03" + BLOCK
    with pytest.raises(EncodingError):
        election.vrf_alpha(MONTH, 3, BLOCK[:31])
    with pytest.raises(EncodingError):
        election.vrf_alpha("2025-3", 3, BLOCK)


def test_election_randomness_layout_and_sorting() -> None:
    betas = [bytes([b]) * 64 for b in (9, 1, 5)]
    expected = tagged_hash(
        "drey/1/election",
        b"2025-03" + (1).to_bytes(4, "big") + BLOCK + b"".join(sorted(betas)),
    )
    assert election.election_randomness(MONTH, 1, BLOCK, betas) == expected
    empty = tagged_hash("drey/1/election", b"2025-03" + (1).to_bytes(4, "big") + BLOCK)
    assert election.election_randomness(MONTH, 1, BLOCK, []) == empty
    with pytest.raises(EncodingError):
        election.election_randomness(MONTH, 1, BLOCK, [b"\x00" * 63])


@settings(max_examples=50, deadline=None)
@given(betas=st.lists(st.binary(min_size=64, max_size=64), max_size=8), data=st.data())
def test_election_randomness_ignores_beta_order(betas: list[bytes], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(betas))
    assert election.election_randomness(MONTH, 0, BLOCK, betas) == (
        election.election_randomness(MONTH, 0, BLOCK, shuffled)
    )


def test_vrf_outputs_feed_the_election() -> None:
    sks = [hashlib.sha256(bytes([i])).digest() for i in range(4)]
    alpha = election.vrf_alpha(MONTH, 0, BLOCK)
    betas = []
    for sk in sks:
        pi = ecvrf.prove(sk, alpha)
        beta = ecvrf.verify(ecvrf.public_key(sk), pi, alpha)
        assert beta is not None
        betas.append(beta)
    r = election.election_randomness(MONTH, 0, BLOCK, betas)
    assert r != election.election_randomness(MONTH, 0, BLOCK, betas[:3])
    assert r != election.election_randomness(MONTH, 1, BLOCK, betas)


candidate_lists = st.lists(
    st.tuples(st.binary(min_size=32, max_size=32), st.integers(0, 10**9)),
    max_size=12,
    unique_by=lambda kw: kw[0],
)


@settings(max_examples=200, deadline=None)
@given(r=st.binary(min_size=32, max_size=32), candidates=candidate_lists, data=st.data())
def test_draw_matches_literal_spec_and_ignores_input_order(
    r: bytes, candidates: list[tuple[bytes, int]], data: st.DataObject
) -> None:
    lead = election.draw_lead(r, candidates)
    assert lead == reference_draw(r, candidates)[0]
    assert election.draw_lead(r, data.draw(st.permutations(candidates))) == lead
    weights = dict(candidates)
    if lead is None:
        assert sum(weights.values()) == 0
    else:
        assert weights[lead] > 0


@settings(max_examples=100, deadline=None)
@given(
    r=st.binary(min_size=32, max_size=32),
    weights=st.lists(st.integers(2**250, 2**252), min_size=2, max_size=6),
)
def test_draw_rejection_path_with_huge_weights(r: bytes, weights: list[int]) -> None:
    # W between 2^251 and 2^255 makes the rejection zone a large part of [0, 2^256).
    candidates = [(bytes([i]) * 32, w) for i, w in enumerate(weights)]
    assert election.draw_lead(r, candidates) == reference_draw(r, candidates)[0]


def test_draw_rejection_path_is_exercised() -> None:
    candidates = [(b"\x01" * 32, 2**254), (b"\x02" * 32, 2**254 + 1)]  # W = 2^255 + 1
    counters = {reference_draw(_r(i), candidates)[1] for i in range(64)}
    assert max(counters) > 0
    for i in range(64):
        assert election.draw_lead(_r(i), candidates) == reference_draw(_r(i), candidates)[0]


def test_draw_is_deterministic() -> None:
    candidates = [(bytes([i]) * 32, i + 1) for i in range(10)]
    assert len({election.draw_lead(_r(42), candidates) for _ in range(5)}) == 1


def test_all_zero_weights_and_empty() -> None:
    assert election.draw_lead(_r(0), []) is None
    assert election.draw_lead(_r(0), [(b"\x01" * 32, 0), (b"\x02" * 32, 0)]) is None


def test_single_positive_weight_always_wins() -> None:
    keys = [bytes([i]) * 32 for i in range(5)]
    for i in range(50):
        candidates = [(k, 7 if k == keys[3] else 0) for k in keys]
        assert election.draw_lead(_r(i), candidates) == keys[3]


def test_weights_respected_statistically() -> None:
    # Deterministic R values; expected shares 1:2:3:4 (0 never). 20,000 draws: each
    # count lies well within 5 standard deviations of its expectation.
    keys = [bytes([i]) * 32 for i in range(5)]
    weights = [0, 1, 2, 3, 4]
    candidates = list(zip(keys, weights, strict=True))
    draws = 20_000
    counts = Counter(election.draw_lead(_r(i), candidates) for i in range(draws))
    assert counts[keys[0]] == 0
    total = sum(weights)
    for key, w in zip(keys[1:], weights[1:], strict=True):
        p = w / total
        sd = (draws * p * (1 - p)) ** 0.5
        assert abs(counts[key] - draws * p) < 5 * sd


def test_draw_rejects_bad_inputs() -> None:
    with pytest.raises(election.DrawError, match="duplicate"):
        election.draw_lead(_r(0), [(b"\x01" * 32, 1), (b"\x01" * 32, 2)])
    with pytest.raises(election.DrawError, match="negative"):
        election.draw_lead(_r(0), [(b"\x01" * 32, -1)])
    with pytest.raises(EncodingError):
        election.draw_lead(b"\x00" * 31, [(b"\x01" * 32, 1)])
