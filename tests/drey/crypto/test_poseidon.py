"""Poseidon (PROTOCOL.md §7): circomlib vectors, constant generation, backend agreement."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.crypto import poseidon as P  # noqa: N812  (P: the permutation, as in the paper)
from drey.crypto._poseidon_native import cpu_has_mulx, load_kernel
from drey.crypto.poseidon import (
    FIELD_MODULUS,
    FieldElementError,
    PoseidonArityError,
    PoseidonBackendError,
    PoseidonParams,
    field_from_bytes,
    field_to_bytes,
    hash_packed_pairs,
    hash_pairs,
    is_field_element,
    poseidon,
    poseidon2,
)

p = FIELD_MODULUS

# PROTOCOL.md §7
P_1_2 = 7853200120776062878684798364095072458815029376092732009249414926327459813530
P_0_0 = 14744269619966411208579211824598458697587494354926760081771325075741142829156

# circomlib(js) and go-iden3-crypto test vectors, and light-poseidon's reference vectors
# (generated against circomlibjs), one or more per width; p - 1 exercises the top of the field.
VECTORS: list[tuple[list[int], int]] = [
    ([1], 18586133768512220936620570745912940619677854269274689475585506675881198879027),
    ([p - 1], 0x0771743E7ADE0F56F51D16544F60059BA3029BA556D63697612900FE5F020B16),
    ([1, 2], P_1_2),
    ([0, 0], P_0_0),
    ([1, 1], 0x007AF346E2D304279E79E0A9F3023F771294A78ACB70E73F90AFE27CAD401E81),
    ([p - 1, p - 1], 0x2C6BD813A6338781378D8706CB82FD4216AB52B752CCD41564D7B98756A6E0FB),
    ([1, 2, 3], 0x0E7732D89E6939C0FF03D5E58DAB6302F3230E269DC5B968F725DF34AB36D732),
    ([1, 2, 3, 4], 0x299C867DB6C1FDD79DCEFA40E4510B9837E60EBB1CE0663DBAA525DF65250465),
    ([1, 2, 0, 0, 0], 1018317224307729531995786483840663576608797660851238720571059489595066344487),
    ([3, 4, 0, 0, 0], 5811595552068139067952687508729883632420015185677766880877743348592482390548),
    ([1, 2, 3, 4, 5], 0x0DAB9449E4A1398A15224C0B15A49D598B2174D305A316C918125F8FEEB123C0),
    (
        [1, 2, 3, 4, 5, 6],
        20400040500897583745843009878988256314335038853985262692600694741116813247201,
    ),
    (
        [1, 2, 0, 0, 0, 0],
        15336558801450556532856248569924170992202208561737609669134139141992924267169,
    ),
    ([*range(1, 8)], 0x1C2F3482DBB140C4EBB9ADA49ABDBC374A9A85FCFC6533EC2E9DF45B4921C318),
    ([*range(1, 9)], 0x2921AB9BD0140CBC98E40395C0FEFB40337A4D54FBBECD9A4D43B3D8D0C4D8D1),
    ([*range(1, 10)], 0x1E0B893AA2AD802275E749D260330B7675B22BB3AAA4461D204AF32E60CD9078),
    ([*range(1, 11)], 0x0816126A09C29ECFCC0628461DACFB9459816FC60D6738B78DB9AD07206FDC21),
    ([*range(1, 12)], 0x07E5B070AA2DBA008F30A6B785B6C5AE2429E211F71CACDBDAE0E07FC05B47A8),
    ([*range(1, 13)], 0x058814945232937DB248A01E7CC55B3D681CC08702C8168494E856C1EF7693B5),
    (
        [*range(1, 15)],
        8354478399926161176778659061636406690034081872658507739535256090879947077494,
    ),
    (
        [*range(1, 10), 0, 0, 0, 0, 0],
        5540388656744764564518487011617040650780060800286365721923524861648744699539,
    ),
    (
        [*range(1, 10), *[0] * 7],
        11882816200654282475720830292386643970958445617880627439994635298904836126497,
    ),
    (
        [*range(1, 17)],
        9989051620750914585850546081941653841776809718687451684622678807385399211877,
    ),
]

# Corners of circomlib's poseidon_constants (round constants C[t-2], MDS M[t-2]) for widths
# without an output vector above (14, 16) and two with one: the Grain generation must
# reproduce them, including the MDS draw (no redraw by later security checks).
CIRCOMLIB_CORNERS = {
    2: (
        0x09C46E9EC68E9BD4FE1FAABA294CBA38A71AA177534CDD1B6C7DC0DBD0ABD7A7,
        0x269E4B5B7A2EB21AFD567970A717CEEC5BD4184571C254FDC06E03A7FF8378F0,
        None,
    ),
    3: (0x0EE9A592BA9A9518D05986D656F40C2114C4993C11BB29938D21D47304CD8E6E, None, None),
    13: (
        None,
        0x0DCC426DC88BDEC8C2848F2D88A200571B8A012CD0870FC6EA0B981494F58278,
        (
            0x0D064DEE824928D39F2A8BE7D2FA583223C33995784D228839ADDE2559592592,
            0x19F11771049B5BE81B43CA81E3611F4108A4B9DC30CD122441F74319C3ADCDE9,
        ),
    ),
    14: (
        0x304C29AEB6F1873847879576D30F1F6E8A3CE41082C15C7632DF920D6DB5164D,
        None,
        (0x0E30A774C353A2CBF244D3D014D1A0E5FF0BAC5E242673AE33F1BB2030FEFF68, None),
    ),
    15: (None, None, (None, 0x11492BA406435F35623906FF45DF11C39EFB59FFF09F501FB893D717E34F9D61)),
    16: (None, None, (0x2B6FD7BC3A3B595C206C43DAAC752B765A12255C37AB51AE183933737A8B8099, None)),
}

EDGES = [0, 1, 2, p - 1, p - 2, (p - 1) // 2, 1 << 64, (1 << 128) - 1, 1 << 253, p >> 1]
field = st.one_of(st.sampled_from(EDGES), st.integers(min_value=0, max_value=p - 1))
BACKENDS = P.available_backends()


def test_all_backends_are_available_here() -> None:
    # The project machines have a C compiler and light-poseidon; if this fails the native
    # kernel did not build and everything silently runs on the slow paths.
    assert BACKENDS == ("native", "light", "reference")


@pytest.mark.parametrize("backend", ["auto", *BACKENDS])
def test_protocol_vectors(backend: P.Backend) -> None:
    assert poseidon2(1, 2, backend=backend) == P_1_2
    assert poseidon2(0, 0, backend=backend) == P_0_0


@pytest.mark.parametrize(("inputs", "expected"), VECTORS, ids=lambda v: f"{v}"[:24])
def test_circomlib_vectors(inputs: list[int], expected: int) -> None:
    assert poseidon(inputs) == expected
    assert poseidon(inputs, backend="reference") == expected


def test_vectors_cover_every_width_but_14_and_16() -> None:
    widths = {len(inputs) + 1 for inputs, _ in VECTORS}
    assert widths | {14, 16} == set(range(2, 18))


@pytest.mark.parametrize("t", sorted(CIRCOMLIB_CORNERS))
def test_grain_constants_match_circomlib(t: int) -> None:
    first, last, mds = CIRCOMLIB_CORNERS[t]
    params = PoseidonParams.for_width(t)
    assert len(params.round_constants) == (8 + P.N_ROUNDS_P[t - 2]) * t
    assert all(0 <= c < p for c in params.round_constants)
    if first is not None:
        assert params.round_constants[0] == first
    if last is not None:
        assert params.round_constants[-1] == last
    if mds is not None:
        if mds[0] is not None:
            assert params.mds[0][0] == mds[0]
        if mds[1] is not None:
            assert params.mds[-1][-1] == mds[1]


def test_mds_is_the_cauchy_matrix_it_claims() -> None:
    params = PoseidonParams.for_width(3)
    # M[i][j] = 1 / (x_i + y_j): every 2x2 minor of a Cauchy matrix with distinct x, y is
    # non-zero, and the inverse entries satisfy 1/M[i][j] - 1/M[i][k] = y_j - y_k for all i.
    inv = [[pow(m, -1, p) for m in row] for row in params.mds]
    diffs = {(inv[i][0] - inv[i][1]) % p for i in range(3)}
    assert len(diffs) == 1
    assert PoseidonParams.for_width(3) is params  # generated once per process


@settings(max_examples=60, deadline=None)
@given(a=field, b=field)
def test_backends_agree_on_pairs(a: int, b: int) -> None:
    expected = poseidon2(a, b, backend="reference")
    for backend in BACKENDS:
        assert poseidon2(a, b, backend=backend) == expected


@settings(max_examples=16, deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=16))
def test_native_matches_reference_for_every_width(data: st.DataObject, n: int) -> None:
    inputs = data.draw(st.lists(field, min_size=n, max_size=n))
    assert poseidon(inputs, backend="native") == poseidon(inputs, backend="reference")


@pytest.mark.parametrize("variant", ["portable", "mulx"])
def test_kernel_variants_match_reference(variant: str) -> None:
    if variant == "mulx" and not cpu_has_mulx():
        assert load_kernel("mulx") is None
        return
    kernel = load_kernel(variant)  # type: ignore[arg-type]
    assert kernel is not None and kernel.variant == variant
    rng = random.Random(7)
    values = [*EDGES, *(rng.randrange(p) for _ in range(30))]
    for t in (2, 3, 5, 17):
        width = t - 1
        inputs = [values[(i * 7) % len(values) : (i * 7) % len(values) + width] for i in range(6)]
        inputs = [x for x in inputs if len(x) == width]
        data = b"".join(v.to_bytes(32, "little") for x in inputs for v in x)
        out, bad = P._native_hash(kernel, t, data, len(inputs), 1)
        assert bad is None
        got = [int.from_bytes(out[i : i + 32], "little") for i in range(0, len(out), 32)]
        assert got == [PoseidonParams.for_width(t).permute([0, *x])[0] for x in inputs]


def test_light_backend_agrees_on_a_batch_with_threads() -> None:
    rng = random.Random(1)
    n = 1500  # above the threading threshold: the native batch splits across workers
    lefts = [rng.choice([rng.randrange(p), *EDGES]) for _ in range(n)]
    rights = [rng.choice([rng.randrange(p), *EDGES]) for _ in range(n)]
    native_2 = hash_pairs(lefts, rights, workers=2)
    assert native_2 == hash_pairs(lefts, rights, workers=1)
    assert native_2 == hash_pairs(lefts, rights, backend="light")
    assert native_2[:20] == hash_pairs(lefts[:20], rights[:20], backend="reference")


@pytest.mark.parametrize("backend", BACKENDS)
def test_hash_packed_pairs_layout(backend: P.Backend) -> None:
    pairs = [(1, 2), (0, 0), (p - 1, 5)]
    data = b"".join(x.to_bytes(32, "little") for pair in pairs for x in pair)
    out = hash_packed_pairs(data, backend=backend)
    assert [int.from_bytes(out[i : i + 32], "little") for i in (0, 32, 64)] == [
        poseidon2(a, b, backend="reference") for a, b in pairs
    ]
    assert hash_packed_pairs(b"", backend=backend) == b""


@pytest.mark.parametrize("bad", [p, p + 1, -1, 1 << 256, "1", None, 1.0])
def test_field_range_errors_name_the_input(bad: object) -> None:
    with pytest.raises(FieldElementError, match=r"inputs\[1\]"):
        poseidon([0, bad])  # type: ignore[list-item]
    with pytest.raises(FieldElementError, match=r"rights\[2\]"):
        hash_pairs([1, 2, 3], [4, 5, bad])  # type: ignore[list-item]
    with pytest.raises(FieldElementError, match=r"lefts\[0\]"):
        hash_pairs([bad], [0], backend="light")  # type: ignore[list-item]
    assert not is_field_element(bad)


def test_packed_range_error_names_the_element() -> None:
    data = b"".join(x.to_bytes(32, "little") for x in [1, 2, 3, p, 5, 6])
    with pytest.raises(FieldElementError, match=r"packed element 3 \(byte offset 96\)"):
        hash_packed_pairs(data)
    with pytest.raises(PoseidonArityError, match="multiple of 64"):
        hash_packed_pairs(bytes(63))


def test_arity_and_backend_errors() -> None:
    with pytest.raises(PoseidonArityError, match="got 0"):
        poseidon([])
    with pytest.raises(PoseidonArityError, match="got 17"):
        poseidon([0] * 17)
    with pytest.raises(PoseidonArityError, match="lefts has 2 values but rights has 1"):
        hash_pairs([1, 2], [3])
    with pytest.raises(PoseidonBackendError, match="only hashes 2 inputs"):
        poseidon([1, 2, 3], backend="light")
    with pytest.raises(PoseidonBackendError, match="unknown"):
        poseidon([1], backend="gpu")  # type: ignore[arg-type]
    with pytest.raises(PoseidonArityError):
        PoseidonParams.for_width(18)


@given(x=field)
def test_field_bytes_roundtrip(x: int) -> None:
    encoded = field_to_bytes(x)
    assert len(encoded) == 32 and int.from_bytes(encoded, "big") == x
    assert field_from_bytes(encoded) == x


def test_field_bytes_errors() -> None:
    with pytest.raises(FieldElementError, match="32 bytes, got 31"):
        field_from_bytes(bytes(31))
    with pytest.raises(FieldElementError, match="non-canonical"):
        field_from_bytes(p.to_bytes(32, "big"))
    with pytest.raises(FieldElementError):
        field_to_bytes(p)
