"""The Drey v1 formula (PROTOCOL.md §6): Python reference, WAT module, wasmtime runner.

See docs/protocol/formula.md for the ABI, arithmetic widths and the remainder selection.
"""

from drey.formula.abi import float_free_problem
from drey.formula.assemble import AssemblyFailure, FormulaPart, assemble_module, assemble_parts
from drey.formula.module import module_bytes, module_sha256, wat_source
from drey.formula.reference import (
    ROW_BYTES,
    FormulaRow,
    allocate_reference,
    decode_output,
    encode_rows,
    weight,
)
from drey.formula.runner import (
    MEMORY_LIMIT,
    FailureReason,
    FormulaFailure,
    default_fuel,
    run_formula,
    run_formula_bytes,
)

__all__ = [
    "MEMORY_LIMIT",
    "ROW_BYTES",
    "AssemblyFailure",
    "FailureReason",
    "FormulaFailure",
    "FormulaPart",
    "FormulaRow",
    "allocate_reference",
    "assemble_module",
    "assemble_parts",
    "decode_output",
    "default_fuel",
    "encode_rows",
    "float_free_problem",
    "module_bytes",
    "module_sha256",
    "run_formula",
    "run_formula_bytes",
    "wat_source",
    "weight",
]
