"""Poseidon hash, circomlib-compatible, over the BN254 scalar field (PROTOCOL.md §7).

``poseidon([x1, …, xk])`` is circomlib's ``Poseidon(k)`` for 1 ≤ k ≤ 16: width t = k + 1,
state ``[0, x1, …, xk]``, x^5 S-box, 8 full rounds and circomlib's partial-round count for t,
output ``state[0]``. Round constants and MDS matrices are generated from the Grain LFSR exactly
as the Poseidon reference script does (:mod:`drey.crypto._poseidon_grain`), once per width and
process (:meth:`PoseidonParams.for_width` caches them).

Inputs must already be field elements (ints with 0 ≤ x < p): nothing is reduced silently, so
two different integers can never hash alike through a hidden ``mod p``.
:class:`FieldElementError` says which input was out of range.

Backends, all computing the same function (the test suite checks that they agree):

- ``"native"``: a small C kernel (:mod:`drey.crypto._poseidon_native`), compiled on first use
  and called through ctypes; any width; batches are split across threads (the call releases
  the GIL). The fastest path, and the one ``"auto"`` picks when a C compiler is available.
- ``"light"``: light-poseidon-python (Rust, arkworks); 2-input only; holds the GIL.
- ``"reference"``: the plain permutation in pure Python; slow, always available.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from drey.crypto._poseidon_grain import grain_parameters
from drey.crypto._poseidon_native import NativeKernel, load_kernel
from drey.errors import CryptoError

__all__ = [
    "FIELD_BYTES",
    "FIELD_MODULUS",
    "MAX_INPUTS",
    "N_ROUNDS_F",
    "N_ROUNDS_P",
    "Backend",
    "FieldElementError",
    "PoseidonArityError",
    "PoseidonBackendError",
    "PoseidonParams",
    "available_backends",
    "field_from_bytes",
    "field_to_bytes",
    "hash_packed_pairs",
    "hash_pairs",
    "is_field_element",
    "poseidon",
    "poseidon2",
]

#: r, the order of BN254's G1: circomlib's (and the protocol's) field.
FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617
#: Bytes of one serialized field element (big-endian on the wire, PROTOCOL.md §1).
FIELD_BYTES = 32
N_ROUNDS_F = 8
#: circomlib's partial rounds for t = 2 … 17 (index t − 2).
N_ROUNDS_P = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
MAX_INPUTS = len(N_ROUNDS_P)

Backend = Literal["auto", "native", "light", "reference"]

# Below this many hashes a batch stays on the calling thread: a thread hand-off costs more.
_MIN_PARALLEL_HASHES = 512


class FieldElementError(CryptoError):
    """A value is not an element of the BN254 scalar field (an int with 0 <= x < p)."""


class PoseidonArityError(CryptoError):
    """Wrong number of Poseidon inputs, or batch operands of different lengths."""


class PoseidonBackendError(CryptoError):
    """The requested backend is not available here (or does not support this width)."""


def is_field_element(value: object) -> bool:
    """True iff ``value`` is an int with 0 <= value < p."""
    return isinstance(value, int) and 0 <= value < FIELD_MODULUS


def _check_field(value: object, where: str) -> int:
    if not isinstance(value, int):
        raise FieldElementError(f"{where} is a {type(value).__name__}, not an int field element")
    if not 0 <= value < FIELD_MODULUS:
        raise FieldElementError(f"{where} = {value} is not a field element (need 0 <= x < p)")
    return value


def field_to_bytes(value: int) -> bytes:
    """The 32-byte big-endian encoding of a field element (PROTOCOL.md §1)."""
    return _check_field(value, "value").to_bytes(FIELD_BYTES, "big")


def field_from_bytes(data: bytes) -> int:
    """Decode 32 big-endian bytes; raises :class:`FieldElementError` unless canonical (< p)."""
    if len(data) != FIELD_BYTES:
        raise FieldElementError(f"a field element is {FIELD_BYTES} bytes, got {len(data)}")
    value = int.from_bytes(data, "big")
    if value >= FIELD_MODULUS:
        raise FieldElementError(f"0x{bytes(data).hex()} is not < p (non-canonical encoding)")
    return value


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class PoseidonParams:
    """Round constants and MDS matrix of one width; ``round_constants`` is round-major."""

    t: int
    n_full: int
    n_partial: int
    round_constants: tuple[int, ...]
    mds: tuple[tuple[int, ...], ...]

    @staticmethod
    def for_width(t: int) -> PoseidonParams:
        """circomlib's parameters for width t (2 … 17), generated once per process."""
        if not isinstance(t, int) or not 2 <= t <= MAX_INPUTS + 1:
            raise PoseidonArityError(f"Poseidon width must be 2 … {MAX_INPUTS + 1}, got {t!r}")
        return _params_for_width(t)

    def permute(self, state: Sequence[int]) -> list[int]:
        """The reference permutation (pure Python) of a t-element state of field elements."""
        p = FIELD_MODULUS
        t = self.t
        if len(state) != t:
            raise PoseidonArityError(f"state must have {t} elements, got {len(state)}")
        constants = self.round_constants
        mds = self.mds
        first_partial = self.n_full // 2
        last_partial = first_partial + self.n_partial
        s = list(state)
        for r in range(self.n_full + self.n_partial):
            base = r * t
            s = [(x + constants[base + i]) % p for i, x in enumerate(s)]
            if first_partial <= r < last_partial:
                s[0] = pow(s[0], 5, p)
            else:
                s = [pow(x, 5, p) for x in s]
            s = [sum(m * x for m, x in zip(row, s, strict=True)) % p for row in mds]
        return s


@functools.cache
def _params_for_width(t: int) -> PoseidonParams:
    n_partial = N_ROUNDS_P[t - 2]
    constants, mds = grain_parameters(
        prime=FIELD_MODULUS, t=t, n_full=N_ROUNDS_F, n_partial=n_partial
    )
    return PoseidonParams(
        t=t, n_full=N_ROUNDS_F, n_partial=n_partial, round_constants=constants, mds=mds
    )


# --------------------------------------------------------------------------- native kernel


@dataclass(frozen=True, slots=True)
class _NativeWidth:
    """A width's constants in the kernel's optimized layout (see ``_poseidon_native.c``):
    Montgomery form, 32-byte little-endian limbs."""

    params: PoseidonParams
    full_constants: bytes
    dense: bytes
    pre: bytes
    partial_constants: bytes
    sparse: bytes


def _montgomery_bytes(values: Sequence[int]) -> bytes:
    return b"".join(((v << 256) % FIELD_MODULUS).to_bytes(32, "little") for v in values)


def _mat_inverse(matrix: Sequence[Sequence[int]]) -> list[list[int]]:
    p = FIELD_MODULUS
    n = len(matrix)
    rows = [[*row, *(int(i == j) for j in range(n))] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] % p)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        inv = pow(rows[col][col], -1, p)
        rows[col] = [x * inv % p for x in rows[col]]
        for r in range(n):
            if r != col and rows[r][col]:
                f = rows[r][col]
                rows[r] = [(x - f * y) % p for x, y in zip(rows[r], rows[col], strict=True)]
    return [row[n:] for row in rows]


def _optimized_layout(
    params: PoseidonParams,
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Rewrite the plain rounds into the equivalent sparse form (Poseidon paper, appendix B).

    1. In a partial round only s[0] goes through the S-box, so the constants of s[1:] commute
       with it: they are pushed through the MDS into the next round's constants, leaving one
       constant per partial round.
    2. Each partial-round matrix is factored as M = B · diag(1, D) with B sparse; diag(1, D)
       commutes with the next S-box-on-s[0] step backwards, so it is folded into the previous
       round's matrix, down to the last full round before the partial rounds ("pre").
    """
    p = FIELD_MODULUS
    t, half, n_partial = params.t, params.n_full // 2, params.n_partial
    mds = [list(row) for row in params.mds]
    c = params.round_constants
    rounds = [list(c[r * t : (r + 1) * t]) for r in range(params.n_full + n_partial)]
    partial = range(half, half + n_partial)
    for r in partial:
        rest = [0, *rounds[r][1:]]
        pushed = [sum(m * x for m, x in zip(row, rest, strict=True)) % p for row in mds]
        rounds[r + 1] = [(a + b) % p for a, b in zip(rounds[r + 1], pushed, strict=True)]
    partial_constants = [rounds[r][0] for r in partial]
    full_constants = [x for r, row in enumerate(rounds) if r not in partial for x in row]

    sparse: list[list[int]] = []
    current = mds
    for _ in partial:
        a, b = current[0][0], current[0][1:]
        col = [row[0] for row in current[1:]]
        d = [row[1:] for row in current[1:]]
        d_inv = _mat_inverse(d)
        v = [sum(b[i] * d_inv[i][j] for i in range(t - 1)) % p for j in range(t - 1)]
        sparse.insert(0, [a, *v, *col])
        lift = [[1] + [0] * (t - 1)] + [[0, *row] for row in d]
        current = [
            [sum(lift[i][k] * mds[k][j] for k in range(t)) % p for j in range(t)] for i in range(t)
        ]
    dense = [m for row in mds for m in row]
    pre = [m for row in current for m in row]
    return full_constants, dense, pre, partial_constants, [x for row in sparse for x in row]


@functools.cache
def _native_width(t: int) -> _NativeWidth:
    params = _params_for_width(t)
    full_c, dense, pre, partial_c, sparse = _optimized_layout(params)
    return _NativeWidth(
        params=params,
        full_constants=_montgomery_bytes(full_c),
        dense=_montgomery_bytes(dense),
        pre=_montgomery_bytes(pre),
        partial_constants=_montgomery_bytes(partial_c),
        sparse=_montgomery_bytes(sparse),
    )


def _address(buffer: bytes) -> int:
    # c_char_p over a bytes object points at its internal buffer (no copy); the caller keeps
    # the bytes object alive for the duration of the call.
    return ctypes.cast(ctypes.c_char_p(buffer), ctypes.c_void_p).value or 0


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _native_hash(
    kernel: NativeKernel, t: int, data: bytes, n: int, workers: int | None
) -> tuple[bytes, int | None]:
    """Hash ``n`` packed inputs of width t; returns (outputs, index of a bad element or None)."""
    width = _native_width(t)
    out = bytearray(32 * n)
    if n == 0:
        return bytes(out), None
    out_base = ctypes.addressof((ctypes.c_char * len(out)).from_buffer(out))
    in_base = _address(data)
    tables = [
        _address(width.full_constants),
        _address(width.dense),
        _address(width.pre),
        _address(width.partial_constants),
        _address(width.sparse),
    ]
    in_stride = 32 * (t - 1)

    def run(lo: int, hi: int) -> int | None:
        rc = kernel.batch(
            t,
            width.params.n_full,
            width.params.n_partial,
            *tables,
            in_base + lo * in_stride,
            out_base + lo * 32,
            hi - lo,
        )
        if rc == -1:
            return None
        if rc < 0:  # pragma: no cover - shape is validated on the Python side
            raise PoseidonBackendError(f"native kernel rejected width {t}")
        return lo * (t - 1) + int(rc)

    n_workers = min(workers or _default_workers(), max(1, n // _MIN_PARALLEL_HASHES))
    if n_workers <= 1:
        bad = run(0, n)
    else:
        bounds = [n * i // n_workers for i in range(n_workers + 1)]
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            results = list(pool.map(run, bounds[:-1], bounds[1:]))
        bad = min((r for r in results if r is not None), default=None)
    return bytes(out), bad


# --------------------------------------------------------------------------- backends


def available_backends() -> tuple[str, ...]:
    """The concrete backends usable in this process, fastest first."""
    found = []
    if load_kernel() is not None:
        found.append("native")
    try:
        import light_poseidon_python  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:  # pragma: no cover - it is a declared dependency
        pass
    else:
        found.append("light")
    found.append("reference")
    return tuple(found)


def _resolve(backend: Backend, n_inputs: int) -> str:
    if backend == "auto":
        if load_kernel() is not None:
            return "native"
        if n_inputs == 2 and "light" in available_backends():
            return "light"
        return "reference"
    if backend not in ("native", "light", "reference"):
        raise PoseidonBackendError(f"unknown Poseidon backend {backend!r}")
    if backend == "light" and n_inputs != 2:
        raise PoseidonBackendError("the light backend only hashes 2 inputs")
    if backend not in available_backends():
        raise PoseidonBackendError(f"Poseidon backend {backend!r} is not available here")
    return backend


def _light_pairs(lefts: Sequence[int], rights: Sequence[int]) -> list[int]:
    from light_poseidon_python import poseidon_hash

    return [int(poseidon_hash([a, b])) for a, b in zip(lefts, rights, strict=True)]


# --------------------------------------------------------------------------- public API


def poseidon(inputs: Sequence[int], *, backend: Backend = "auto") -> int:
    """circomlib ``Poseidon(len(inputs))`` of 1 … 16 field elements."""
    n = len(inputs)
    if not 1 <= n <= MAX_INPUTS:
        raise PoseidonArityError(f"Poseidon takes 1 … {MAX_INPUTS} inputs, got {n}")
    values = [_check_field(x, f"inputs[{i}]") for i, x in enumerate(inputs)]
    chosen = _resolve(backend, n)
    if chosen == "native":
        kernel = load_kernel()
        assert kernel is not None
        data = b"".join(x.to_bytes(32, "little") for x in values)
        out, _ = _native_hash(kernel, n + 1, data, 1, 1)
        return int.from_bytes(out, "little")
    if chosen == "light":
        return _light_pairs([values[0]], [values[1]])[0]
    return PoseidonParams.for_width(n + 1).permute([0, *values])[0]


def poseidon2(left: int, right: int, *, backend: Backend = "auto") -> int:
    """P(left, right): the protocol's 2-input Poseidon (PROTOCOL.md §7)."""
    return poseidon([left, right], backend=backend)


def _pack_pairs(lefts: Sequence[int], rights: Sequence[int]) -> bytes:
    if len(lefts) != len(rights):
        raise PoseidonArityError(f"lefts has {len(lefts)} values but rights has {len(rights)}")
    try:
        return b"".join(
            [x.to_bytes(32, "little") for pair in zip(lefts, rights, strict=True) for x in pair]
        )
    except (AttributeError, OverflowError, TypeError):
        for name, values in (("lefts", lefts), ("rights", rights)):
            for i, x in enumerate(values):
                _check_field(x, f"{name}[{i}]")
        raise  # pragma: no cover - the scan above always finds the culprit


def hash_pairs(
    lefts: Sequence[int],
    rights: Sequence[int],
    *,
    workers: int | None = None,
    backend: Backend = "auto",
) -> list[int]:
    """``[P(l, r) for l, r in zip(lefts, rights)]``, batched: one level of a Merkle tree.

    ``workers`` bounds the threads the native backend uses (default: the usable CPUs).
    """
    chosen = _resolve(backend, 2)
    if chosen == "native":
        data = _pack_pairs(lefts, rights)
        out = hash_packed_pairs(data, workers=workers, backend="native", _names=("lefts", "rights"))
        view = memoryview(out)
        return [int.from_bytes(view[i : i + 32], "little") for i in range(0, len(out), 32)]
    if len(lefts) != len(rights):
        raise PoseidonArityError(f"lefts has {len(lefts)} values but rights has {len(rights)}")
    for name, values in (("lefts", lefts), ("rights", rights)):
        for i, x in enumerate(values):
            _check_field(x, f"{name}[{i}]")
    if chosen == "light":
        return _light_pairs(lefts, rights)
    params = PoseidonParams.for_width(3)
    return [params.permute([0, a, b])[0] for a, b in zip(lefts, rights, strict=True)]


def hash_packed_pairs(
    data: bytes,
    *,
    workers: int | None = None,
    backend: Backend = "auto",
    _names: tuple[str, str] | None = None,
) -> bytes:
    """P over packed pairs: ``data`` is n × (left ‖ right), each a 32-byte little-endian
    field element; returns the n results as 32-byte little-endian values.

    The Merkle code keeps tree levels in this layout so that a level is hashed without
    converting every node to a Python int and back. Raises :class:`FieldElementError` naming
    the first element that is not < p.
    """
    data = bytes(data)
    if len(data) % 64:
        raise PoseidonArityError(f"packed pairs must be a multiple of 64 bytes, got {len(data)}")
    n = len(data) // 64
    chosen = _resolve(backend, 2)
    if chosen == "native":
        kernel = load_kernel()
        assert kernel is not None
        out, bad = _native_hash(kernel, 3, data, n, workers)
        if bad is not None:
            value = int.from_bytes(data[32 * bad : 32 * bad + 32], "little")
            if _names is not None:
                where = f"{_names[bad % 2]}[{bad // 2}]"
            else:
                where = f"packed element {bad} (byte offset {32 * bad})"
            raise FieldElementError(f"{where} = {value} is not a field element (need < p)")
        return out
    view = memoryview(data)
    values = [int.from_bytes(view[i : i + 32], "little") for i in range(0, len(data), 32)]
    results = hash_pairs(values[0::2], values[1::2], backend=backend)
    return b"".join(x.to_bytes(32, "little") for x in results)
