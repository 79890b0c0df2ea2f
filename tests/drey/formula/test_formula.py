"""The v1 formula: Python reference, WAT module under wasmtime, ABI checks, assembly."""

from __future__ import annotations

import hashlib
import random
from fractions import Fraction

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.errors import FormulaError
from drey.formula import (
    AssemblyFailure,
    FormulaFailure,
    FormulaPart,
    allocate_reference,
    assemble_module,
    encode_rows,
    float_free_problem,
    module_bytes,
    module_sha256,
    run_formula,
    run_formula_bytes,
    wat_source,
)
from drey.formula.runner import TABLE_ELEMENTS
from drey.messages import FormulaManifest

from ...memory import peak_rss_mb, reset_peak_rss, rss_mb

U64 = 2**64 - 1
U32 = 2**32 - 1
MODULE = module_bytes()


def literal_formula(rows: list[tuple[int, int, int]], pool: int) -> list[int]:
    """§6 read literally, with fractions and tuple sorting (slow; small inputs only)."""
    weights = [s * (24 + min(a, 24)) for _, s, a in rows]
    total = sum(weights)
    if total == 0:
        return [0] * len(rows)
    shares = [Fraction(pool * w, total) for w in weights]
    out = [int(x) for x in shares]  # floor for non-negative values
    remainders = [(pool * w) % total for w in weights]
    order = sorted(range(len(rows)), key=lambda i: (-remainders[i], rows[i][0], i))
    for i in order[: pool - sum(out)]:
        out[i] += 1
    return out


sat = st.one_of(
    st.integers(0, U64),
    st.sampled_from([0, 1, U64, U64 - 1, 2**63, 2**32, 2**32 - 1]),
    st.integers(0, 1000),
)
age = st.one_of(st.integers(0, 60), st.sampled_from([0, 23, 24, 25, U32]))
user = st.integers(0, U64)
pools = st.one_of(
    st.integers(0, 2**58 - 1),
    st.sampled_from([0, 1, 2, 2**58 - 1, 2**63 - 1, 10**6]),
    st.integers(0, 2**63 - 1),
)


@st.composite
def row_sets(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    n = draw(st.sampled_from([0, 1, 2, 3, 7, 40]))
    mode = draw(st.sampled_from(["free", "ties", "zeros"]))
    if mode == "ties":
        s, a = draw(sat), draw(age)
        return [(draw(user), s, a) for _ in range(n)]
    if mode == "zeros":
        return [(draw(user), 0 if draw(st.booleans()) else draw(sat), draw(age)) for _ in range(n)]
    return [(draw(user), draw(sat), draw(age)) for _ in range(n)]


@given(row_sets(), pools)
@settings(max_examples=400, deadline=None)
def test_module_matches_reference(rows: list[tuple[int, int, int]], pool: int) -> None:
    expected = allocate_reference(rows, pool=pool)
    assert run_formula(MODULE, rows, pool=pool) == expected
    if rows and any(s for _, s, _ in rows):
        assert sum(expected) == pool
    else:
        assert expected == [0] * len(rows)


@given(row_sets(), pools)
@settings(max_examples=200, deadline=None)
def test_reference_matches_literal_reading(rows: list[tuple[int, int, int]], pool: int) -> None:
    assert allocate_reference(rows, pool=pool) == literal_formula(rows, pool)


def test_ties_go_to_smaller_user_ids_then_earlier_rows() -> None:
    rows = [(9, 10, 0), (3, 10, 0), (5, 10, 0), (3, 10, 0)]
    # 10 Dreybits over four equal weights: 2 each, 2 left for user 3 (both rows).
    assert allocate_reference(rows, pool=10) == [2, 3, 2, 3]
    assert run_formula(MODULE, rows, pool=10) == [2, 3, 2, 3]
    assert run_formula(MODULE, rows, pool=9) == [2, 3, 2, 2]


def test_age_caps_at_twenty_four_months() -> None:
    rows = [(1, 100, 0), (2, 100, 24), (3, 100, 1000)]
    assert allocate_reference(rows, pool=120) == [24, 48, 48]
    assert run_formula(MODULE, rows, pool=120) == [24, 48, 48]


def test_medium_inputs_match_including_worst_case_selection() -> None:
    rng = random.Random(7)
    cases = [
        [(i, rng.getrandbits(64), rng.randrange(50)) for i in range(20_000)],
        [(i, U64, 30) for i in range(20_000)],  # equal remainders, 4-limb Σweight
        [(U64 - i, U64, 30) for i in range(5_000)],  # ties resolved by user_id
        [(rng.getrandbits(64), rng.randrange(3), rng.randrange(30)) for _ in range(20_000)],
    ]
    for rows in cases:
        for pool in (2**58 - 1, len(rows) // 3 + 1, 2**63 - 1):
            assert run_formula(MODULE, rows, pool=pool) == allocate_reference(rows, pool=pool)


def test_zero_rows_skip_the_call() -> None:
    assert run_formula(MODULE, [], pool=5) == []
    assert run_formula_bytes(MODULE, b"", rows=0, pool=5) == b""


def test_caller_mistakes_raise() -> None:
    with pytest.raises(FormulaError):
        run_formula(MODULE, [(1, 1, 1)], pool=-1)
    with pytest.raises(FormulaError):
        run_formula(MODULE, [(1, 2**64, 1)], pool=1)
    with pytest.raises(FormulaError):
        run_formula_bytes(MODULE, b"\x00" * 19, rows=1, pool=1)
    with pytest.raises(FormulaError):
        allocate_reference([(1, 1, 2**32)], pool=1)


def test_compilation_is_deterministic_and_float_free() -> None:
    again = bytes(wasmtime.wat2wasm(wat_source()))
    assert again == MODULE
    assert module_sha256() == hashlib.sha256(MODULE).digest()
    assert float_free_problem(MODULE) is None
    assert len(wasmtime.Module(wasmtime.Engine(), MODULE).imports) == 0


def _raw_instance() -> tuple[wasmtime.Store, wasmtime.Instance]:
    store = wasmtime.Store()
    store.set_limits(memory_size=1 << 30)
    return store, wasmtime.Instance(store, wasmtime.Module(store.engine, MODULE), [])


def test_module_error_codes() -> None:
    store, inst = _raw_instance()
    ex = inst.exports(store)
    alloc, allocate = ex["alloc"], ex["allocate"]
    assert allocate(store, 1024, -1, 5, 2048) == 1
    assert allocate(store, 1024, 1, -1, 2048) == 2
    assert allocate(store, 0x7FFF0000, 1, 5, 2048) == 3
    assert allocate(store, 1024, 1, 5, 0x7FFF0000) == 3
    assert allocate(store, 1024, 0, 5, 2048) == 0
    assert alloc(store, -1) == 0
    assert alloc(store, 0x7FFFFFFF) == 0  # memory.grow fails at the 1 GiB limit
    assert alloc(store, 16) % 8 == 0


def _module(wat: str) -> bytes:
    return bytes(wasmtime.wat2wasm(wat))


ABI = """
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
"""


@pytest.mark.parametrize(
    ("wat", "reason"),
    [
        (
            f'(module {ABI} (func (export "allocate") (param i32 i32 i64 i32) (result i32)'
            " (f32.const 1) (drop) (i32.const 0)))",
            "invalid_module",
        ),
        (
            f'(module {ABI} (func (export "allocate") (param i32 i32 i64 i32) (result i32)'
            " (local f64) (i32.const 0)))",
            "invalid_module",
        ),
        (
            '(module (import "env" "f" (func)) '
            + ABI
            + ' (func (export "allocate") (param i32 i32 i64 i32) (result i32) (i32.const 0)))',
            "invalid_module",
        ),
        (f"(module {ABI})", "invalid_module"),
        (
            f'(module {ABI} (func (export "allocate") (param i32 i32 i32 i32) (result i32)'
            " (i32.const 0)))",
            "invalid_module",
        ),
        (
            f'(module {ABI} (func (export "allocate") (param i32 i32 i64 i32) (result i32)'
            " (unreachable)))",
            "trap",
        ),
        (
            f'(module {ABI} (func (export "allocate") (param i32 i32 i64 i32) (result i32)'
            " (loop $l (br $l)) (i32.const 0)))",
            "out_of_fuel",
        ),
        (
            f'(module {ABI} (func (export "allocate") (param i32 i32 i64 i32) (result i32)'
            " (i32.const 7)))",
            "status",
        ),
        (
            '(module (memory (export "memory") 1)'
            ' (func (export "alloc") (param i32) (result i32)'
            " (drop (memory.grow (i32.const 20000))) (i32.const 0))"
            ' (func (export "allocate") (param i32 i32 i64 i32) (result i32) (i32.const 0)))',
            "alloc_failed",
        ),
    ],
)
def test_misbehaving_modules_give_reasons(wat: str, reason: str) -> None:
    result = run_formula(_module(wat), [(1, 2, 3)], pool=10, fuel=5_000_000)
    assert isinstance(result, FormulaFailure) and result.reason == reason, result


def test_tables_cannot_grow_past_their_limit() -> None:
    """table.grow past TABLE_ELEMENTS fails inside the module (returns -1) instead of taking
    memory; a module that needs it reports its status; a huge declared table fails to
    instantiate. Memory stays small either way."""
    reset_peak_rss()
    before = rss_mb()
    grow = (
        f"(module {ABI} (table $t 0 funcref)"
        ' (func (export "allocate") (param i32 i32 i64 i32) (result i32)'
        f" (table.grow $t (ref.null func) (i32.const {TABLE_ELEMENTS + 1}))"
        " (i32.const -1) (i32.eq) (if (result i32) (then (i32.const 9)) (else (i32.const 0)))))"
    )
    result = run_formula(_module(grow), [(1, 2, 3)], pool=10)
    assert isinstance(result, FormulaFailure) and result.reason == "status", result
    declared = (
        f"(module {ABI} (table 200000000 funcref)"
        ' (func (export "allocate") (param i32 i32 i64 i32) (result i32) (i32.const 0)))'
    )
    result = run_formula(_module(declared), [(1, 2, 3)], pool=10)
    assert isinstance(result, FormulaFailure) and result.reason == "trap", result
    grown_mb = peak_rss_mb() - before
    assert grown_mb < 200, f"resident memory grew {grown_mb:.0f} MB"


def test_garbage_module_is_invalid() -> None:
    result = run_formula(b"\x00asm garbage", [(1, 2, 3)], pool=1)
    assert isinstance(result, FormulaFailure) and result.reason == "invalid_module"


def test_fuel_limit_stops_the_real_module() -> None:
    rows = [(i, 10**12 + i, i % 30) for i in range(1000)]
    result = run_formula(MODULE, rows, pool=2**50, fuel=10_000)
    assert isinstance(result, FormulaFailure) and result.reason == "out_of_fuel"


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_float_scanner_never_raises(data: bytes) -> None:
    assert isinstance(float_free_problem(b"\x00asm\x01\x00\x00\x00" + data), str | None)


def _manifest(parts: list[bytes]) -> FormulaManifest:
    ids = tuple(f"{i:064x}i0" for i in range(len(parts)))
    return FormulaManifest("drey-v1", 1, hashlib.sha256(b"".join(parts)).digest(), ids)


def _part(body: bytes | None, **changes: object) -> FormulaPart:
    fields: dict[str, object] = {
        "content_type": "application/wasm",
        "content_encoding": None,
        "metaprotocol": None,
        "delegate": None,
        "body": body,
    }
    fields.update(changes)
    return FormulaPart(**fields)  # type: ignore[arg-type]


def test_assembly_from_parts() -> None:
    chunks = [MODULE[:1000], MODULE[1000:2000], MODULE[2000:]]
    manifest = _manifest(chunks)
    assembled = assemble_module(manifest, [_part(c) for c in chunks])
    assert assembled == MODULE
    assert run_formula(assembled, [(1, 5, 5)], pool=3) == [3]

    def reason(parts: list[FormulaPart | None]) -> str:
        out = assemble_module(manifest, parts)
        assert isinstance(out, AssemblyFailure)
        return out.reason

    good = [_part(c) for c in chunks]
    assert reason(good[:2]) == "missing_part"
    assert reason([good[0], None, good[2]]) == "missing_part"
    assert reason([good[0], good[2], good[1]]) == "module_hash_mismatch"
    for change in (
        {"content_type": "application/octet-stream"},
        {"content_encoding": "br"},
        {"metaprotocol": "drey/1"},
        {"delegate": "ab" * 32 + "i0"},
        {"body": None},
    ):
        body = change.pop("body", chunks[1])
        assert reason([good[0], _part(body, **change), good[2]]) == "bad_part"  # type: ignore[arg-type]


def test_encoded_rows_layout() -> None:
    data = encode_rows([(1, 2, 3)])
    assert data == (1).to_bytes(8, "little") + (2).to_bytes(8, "little") + (3).to_bytes(4, "little")


def test_knuth_d_add_back_path() -> None:
    """The add-back step of algorithm D fires with probability ~2^-31 per digit, so random
    inputs never reach it. Hacker's Delight's add-back vector (dividend limbs 0, 0, 0x8000,
    0x7fff over divisor limbs 1, 0, 0x8000) realised as rows: pool × w = P, Σw = W."""
    dividend = 0x8000 * 2**64 + 0x7FFF * 2**96
    divisor = 0x8000 * 2**64 + 1
    sat, pool = 2**24 * 0xFFFE0001, 2**50
    assert 32 * sat * pool == dividend  # age 8: weight = 32 × sat
    rest = divisor - 32 * sat
    ones = rest % 24  # 25 × ones ≡ rest (mod 24)
    twenty_fours = (rest - 25 * ones) // 24
    rows = [(0, sat, 8), (1, ones, 1)]
    user = 2
    while twenty_fours:
        chunk = min(twenty_fours, U64)
        rows.append((user, chunk, 0))
        twenty_fours -= chunk
        user += 1
    assert sum(s * (24 + min(a, 24)) for _, s, a in rows) == divisor
    assert run_formula(MODULE, rows, pool=pool) == allocate_reference(rows, pool=pool)


def test_knuth_d_estimate_at_least_base() -> None:
    """A quotient of exactly 2^32 − 1 with a remainder just under Σweight makes the second
    digit's first estimate ≥ 2^32 (the `qhat ≥ b` correction), another path random inputs
    almost never take."""
    pool, sat = 2**40 + 12345, 2**55 + 999
    w = 24 * sat
    total = -(-(pool * w + 1) // 2**32)  # ⌊pool × w / total⌋ = 2^32 − 1, remainder ≈ total
    rest = total - w
    ones = rest % 24
    twenty_fours = (rest - 25 * ones) // 24
    rows = [(0, sat, 0), (1, ones, 1), (2, twenty_fours, 0)]
    assert sum(s * (24 + min(a, 24)) for _, s, a in rows) == total
    assert (pool * w) // total == 2**32 - 1
    assert run_formula(MODULE, rows, pool=pool) == allocate_reference(rows, pool=pool)


@given(st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=4)), max_size=4))
@settings(max_examples=60, deadline=None)
def test_mutated_modules_give_answers_or_reasons(patches: list[tuple[int, bytes]]) -> None:
    """Hostile modules (the real one with bytes rewritten): a result or a FormulaFailure, in
    bounded time (fuel) and memory (the store's limits); never an exception."""
    module = bytearray(MODULE)
    for at, data in patches:
        at %= len(module)
        module[at : at + len(data)] = data
    result = run_formula(bytes(module), [(1, 10, 3), (2, 20, 30)], pool=1000, fuel=2_000_000)
    assert isinstance(result, FormulaFailure) or len(result) == 2
