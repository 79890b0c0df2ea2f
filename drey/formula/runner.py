"""Compile and run a formula module under wasmtime (PROTOCOL.md §6).

The module is checked (:func:`drey.formula.abi.float_free_problem`), compiled with SIMD off and
fuel metering on, instantiated with no imports in a fresh store limited to 1 GiB of linear
memory, 100,000 elements per table, one instance, four tables and one memory, then driven through the ABI: ``alloc(20 × rows)``, ``alloc(8 × rows)``, write the rows,
``allocate(in_ptr, rows, pool, out_ptr)``, read ``8 × rows`` bytes back. rows = 0 skips every
call and answers ``[]``.

Anything the module does wrong is an answer, never an exception:
:class:`FormulaFailure` with a reason from :data:`FailureReason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import wasmtime

from drey.errors import FormulaError
from drey.formula.abi import float_free_problem
from drey.formula.reference import FormulaRow, decode_output, encode_rows

__all__ = [
    "MEMORY_LIMIT",
    "TABLE_ELEMENTS",
    "FailureReason",
    "FormulaFailure",
    "default_fuel",
    "run_formula",
    "run_formula_bytes",
]

MEMORY_LIMIT = 1 << 30
# Elements per table: a funcref table costs ~16 bytes an element, so without a limit one
# table.grow could take gigabytes outside the linear memory's 1 GiB cap. The v1 module has no
# table at all; 100,000 elements is ~1.6 MB.
TABLE_ELEMENTS = 100_000
FUEL_BASE = 50_000_000
FUEL_PER_ROW = 10_000

FailureReason = Literal[
    "invalid_module",  # does not compile, has imports/floats, or lacks the ABI exports
    "out_of_fuel",  # the fuel limit ran out
    "trap",  # the module trapped (out-of-bounds access, unreachable, …)
    "alloc_failed",  # alloc returned 0 or a range outside memory
    "status",  # allocate returned nonzero
]


@dataclass(frozen=True, slots=True)
class FormulaFailure:
    """The module gave no answer: ``reason`` (closed set) and ``detail``."""

    reason: FailureReason
    detail: str


def default_fuel(rows: int) -> int:
    """Fuel budget for ``rows`` rows: 10,000 per row plus 50 M. The v1 module uses about
    960 per row on random input and at most ~1,940 per row in the worst selection cases
    measured (equal remainders, 4-limb Σweight, descending user_ids), so a legitimate run
    stays far below it while a looping module stops within seconds."""
    return FUEL_BASE + FUEL_PER_ROW * rows


@lru_cache(maxsize=1)
def _engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.wasm_simd = False
    config.wasm_relaxed_simd = False
    config.wasm_threads = False
    config.cranelift_nan_canonicalization = True
    return wasmtime.Engine(config)


@lru_cache(maxsize=8)
def _compile(module: bytes) -> wasmtime.Module | FormulaFailure:
    try:
        compiled = wasmtime.Module(_engine(), module)
    except wasmtime.WasmtimeError as exc:
        return FormulaFailure("invalid_module", f"does not compile: {str(exc)[:300]}")
    problem = float_free_problem(module)
    if problem is not None:
        return FormulaFailure("invalid_module", problem)
    if compiled.imports:
        return FormulaFailure("invalid_module", "the module has imports")
    return compiled


def _export(instance: wasmtime.Instance, store: wasmtime.Store, name: str, kind: type) -> object:
    exports = instance.exports(store)
    try:
        item = exports[name]
    except KeyError:
        return None
    return item if isinstance(item, kind) else None


_SIGNATURES = {
    "alloc": ([wasmtime.ValType.i32()], [wasmtime.ValType.i32()]),
    "allocate": (
        [
            wasmtime.ValType.i32(),
            wasmtime.ValType.i32(),
            wasmtime.ValType.i64(),
            wasmtime.ValType.i32(),
        ],
        [wasmtime.ValType.i32()],
    ),
}


def _i32(value: int) -> int:
    """Reinterpret an unsigned 32-bit value as the signed i32 wasmtime-py expects."""
    return value - (1 << 32) if value >= 1 << 31 else value


def run_formula_bytes(
    module: bytes, rows_data: bytes, *, rows: int, pool: int, fuel: int | None = None
) -> bytes | FormulaFailure:
    """Run ``module`` on already-encoded input (20 × rows bytes); the raw output bytes
    (8 × rows) or a :class:`FormulaFailure`. Raises :class:`FormulaError` only for caller
    mistakes (pool outside 0 … 2^63 − 1, rows outside 0 … 2^31 − 1 or not matching the data).
    """
    if not 0 <= pool < 1 << 63:
        raise FormulaError(f"pool {pool} is not a non-negative i64")
    if not 0 <= rows < 1 << 31 or len(rows_data) != 20 * rows:
        raise FormulaError(f"{len(rows_data)} input bytes for {rows} rows (need 20 per row)")
    compiled = _compile(bytes(module))
    if isinstance(compiled, FormulaFailure):
        return compiled
    if rows == 0:
        return b""
    store = wasmtime.Store(_engine())
    store.set_limits(
        memory_size=MEMORY_LIMIT,
        table_elements=TABLE_ELEMENTS,
        instances=1,
        tables=4,
        memories=1,
    )
    store.set_fuel(default_fuel(rows) if fuel is None else fuel)
    try:
        instance = wasmtime.Instance(store, compiled, [])
        memory = _export(instance, store, "memory", wasmtime.Memory)
        alloc = _export(instance, store, "alloc", wasmtime.Func)
        allocate = _export(instance, store, "allocate", wasmtime.Func)
        if memory is None or alloc is None or allocate is None:
            return FormulaFailure(
                "invalid_module", "exports memory, alloc and allocate are required"
            )
        assert isinstance(memory, wasmtime.Memory)
        assert isinstance(alloc, wasmtime.Func) and isinstance(allocate, wasmtime.Func)
        for name, func in (("alloc", alloc), ("allocate", allocate)):
            ftype = func.type(store)
            params, results = _SIGNATURES[name]
            if [str(p) for p in ftype.params] != [str(p) for p in params] or [
                str(r) for r in ftype.results
            ] != [str(r) for r in results]:
                return FormulaFailure("invalid_module", f"export {name} has the wrong signature")
        in_len, out_len = 20 * rows, 8 * rows
        if in_len >= 1 << 31:
            return FormulaFailure("alloc_failed", f"{rows} rows need more than 2 GiB of input")
        in_ptr = alloc(store, in_len)
        out_ptr = alloc(store, out_len)
        for ptr, length in ((in_ptr, in_len), (out_ptr, out_len)):
            start = ptr & 0xFFFFFFFF
            if start == 0 or start + length > memory.data_len(store):
                return FormulaFailure(
                    "alloc_failed", f"alloc({length}) returned {start}, outside memory"
                )
        in_start = in_ptr & 0xFFFFFFFF
        out_start = out_ptr & 0xFFFFFFFF
        memory.write(store, rows_data, in_start)
        status = allocate(store, _i32(in_start), rows, pool, _i32(out_start))
        if status != 0:
            return FormulaFailure("status", f"allocate returned {status}")
        if out_start + out_len > memory.data_len(store):
            return FormulaFailure("trap", "output range no longer inside memory")
        return bytes(memory.read(store, out_start, out_start + out_len))
    except wasmtime.Trap as exc:
        if exc.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            return FormulaFailure("out_of_fuel", "the fuel limit ran out")
        return FormulaFailure("trap", str(exc).splitlines()[0][:300])
    except wasmtime.WasmtimeError as exc:
        text = str(exc)
        if "fuel" in text:
            return FormulaFailure("out_of_fuel", "the fuel limit ran out")
        return FormulaFailure("trap", text.splitlines()[0][:300] if text else "wasmtime error")


def run_formula(
    module: bytes, rows: Sequence[FormulaRow], *, pool: int, fuel: int | None = None
) -> list[int] | FormulaFailure:
    """Run ``module`` over ``rows`` (user_id u64, sat_blocks u64, age u32) with ``pool``;
    Dreybits per row or a :class:`FormulaFailure`."""
    out = run_formula_bytes(module, encode_rows(rows), rows=len(rows), pool=pool, fuel=fuel)
    if isinstance(out, FormulaFailure):
        return out
    return decode_output(out, len(rows)) if rows else []
