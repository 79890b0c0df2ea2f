"""The allocation column file (PROTOCOL.md §7): Parquet, one REQUIRED ``dreybits`` UINT64.

Writing is deterministic for a given pyarrow version: one row group, no compression, no
dictionary, ``DELTA_BINARY_PACKED`` encoding (defined by the Parquet spec itself, no codec
library whose output could drift), no statistics, no page index, no checksums, no Arrow
schema in the key-value metadata, format version 2.6, data page v1, fixed page and batch
sizes. The footer's ``created_by`` names the pyarrow build (e.g. "parquet-cpp-arrow version
26.0.1"), so the bytes — and the sha256 the lead commits to — can differ across pyarrow
versions; the values never do, and verifiers only hash and read.

Reading applies the limits of §7 before any Parquet parsing of the data: sha256 first, then
(from a footer whose length is itself bounded) num_rows = n_rows and Σ row-group
total_uncompressed_size ≤ 16 × n_rows + 64 KiB, then the exact schema, then the same limit on
what the page headers claim (walked without decompressing: the reader allocates what they say,
not what the footer says), then the values.
Bad files give a :class:`FileProblem`, never an exception.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from drey.errors import AllocationFileError
from drey.parquet_pages import DATA_PAGE, DATA_PAGE_V2, PageHeaderError, walk_pages

__all__ = [
    "COLUMN",
    "FileProblem",
    "FileReason",
    "read_allocation_array",
    "read_allocation_file",
    "size_limit",
    "write_allocation_file",
]

COLUMN = "dreybits"
_MAGIC = b"PAR1"
_MAX_FOOTER = 1 << 20
_SCHEMA = pa.schema([pa.field(COLUMN, pa.uint64(), nullable=False)])

FileReason = Literal[
    "hash_mismatch",  # sha256(file) is not the committed sha256
    "not_parquet",  # magic bytes or footer length wrong, footer unparsable
    "row_count",  # footer num_rows differs from n_rows
    "too_large",  # declared uncompressed size over 16 × n_rows + 64 KiB
    "bad_schema",  # not exactly one REQUIRED INT64 INTEGER(64, unsigned) column "dreybits"
    "unreadable",  # the data pages do not decode to n_rows values
]


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Why an allocation file is not well-formed."""

    reason: FileReason
    detail: str


def size_limit(n_rows: int) -> int:
    """16 × n_rows + 64 KiB: the largest allowed Σ total_uncompressed_size."""
    return 16 * n_rows + 64 * 1024


def write_allocation_file(dreybits: Sequence[int] | pa.Array) -> bytes:
    """The allocation file of ``dreybits`` (in input-row order), deterministic for a given
    pyarrow version. Raises :class:`AllocationFileError` if a value is not a u64."""
    try:
        array = pa.array(dreybits, type=pa.uint64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
        raise AllocationFileError(f"dreybits must be u64 integers: {exc}") from None
    if array.null_count:
        raise AllocationFileError(f"{array.null_count} dreybits values are null")
    table = pa.Table.from_arrays([array], schema=_SCHEMA)
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        row_group_size=max(1, len(array)),
        version="2.6",
        data_page_version="1.0",
        compression="NONE",
        use_dictionary=False,
        column_encoding={COLUMN: "DELTA_BINARY_PACKED"},
        write_statistics=False,
        store_schema=False,
        write_page_index=False,
        write_page_checksum=False,
        data_page_size=1 << 20,
        write_batch_size=1024,
    )
    return sink.getvalue()


def _check_schema(meta: pq.FileMetaData) -> str | None:
    if meta.num_columns != 1:
        return f"{meta.num_columns} columns, expected 1"
    schema = meta.schema
    if len(schema.names) != 1 or schema.names[0] != COLUMN:
        return f"column names {schema.names[:4]}, expected [{COLUMN!r}]"
    col = schema.column(0)
    if col.path != COLUMN:
        return f"column path {col.path!r} is nested"
    if col.physical_type != "INT64":
        return f"physical type {col.physical_type}, expected INT64"
    logical = col.logical_type
    if logical.type != "INT" or logical.to_json().replace(" ", "") != (
        '{"Type":"Int","bitWidth":64,"isSigned":false}'
    ):
        return f"logical type {logical.to_json()}, expected INTEGER(64, unsigned)"
    if col.max_definition_level != 0 or col.max_repetition_level != 0:
        return "column is not REQUIRED"
    return None


def _check_pages(
    data: bytes, meta: pq.FileMetaData, *, n_rows: int, limit: int
) -> FileProblem | None:
    """The page headers' claims within the §7 limit: the reader allocates what each page
    header says, whatever the footer says (see :mod:`drey.parquet_pages`)."""
    claimed = 0
    values = 0
    for i in range(meta.num_row_groups):
        for j in range(meta.row_group(i).num_columns):
            chunk = meta.row_group(i).column(j)
            start = chunk.data_page_offset
            if chunk.has_dictionary_page and chunk.dictionary_page_offset is not None:
                start = min(start, chunk.dictionary_page_offset)
            try:
                pages = walk_pages(data, start, chunk.total_compressed_size)
            except PageHeaderError as exc:
                return FileProblem("unreadable", f"page headers: {exc}")
            claimed += sum(p.uncompressed_size for p in pages)
            values += sum(p.num_values for p in pages if p.type in (DATA_PAGE, DATA_PAGE_V2))
            if claimed > limit:
                return FileProblem(
                    "too_large",
                    f"page headers claim {claimed} bytes uncompressed, over 16 × {n_rows} + 64 KiB",
                )
    if values != n_rows:
        return FileProblem("unreadable", f"data pages hold {values} values, expected {n_rows}")
    return None


def read_allocation_array(
    data: bytes, *, n_rows: int, sha256: bytes
) -> pa.UInt64Array | FileProblem:
    """Check and read an allocation file: its ``dreybits`` as a UInt64Array, or why not."""
    data = bytes(data)
    if hashlib.sha256(data).digest() != sha256:
        return FileProblem("hash_mismatch", "sha256 of the file is not the committed one")
    if len(data) < 12 or data[:4] != _MAGIC or data[-4:] != _MAGIC:
        return FileProblem("not_parquet", "missing PAR1 magic bytes")
    footer_len = int.from_bytes(data[-8:-4], "little")
    if footer_len > min(_MAX_FOOTER, len(data) - 12):
        return FileProblem("not_parquet", f"footer length {footer_len} is out of bounds")
    try:
        meta = pq.read_metadata(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, … on bad footers
        return FileProblem("not_parquet", f"footer does not parse: {str(exc)[:200]}")
    if meta.num_rows != n_rows:
        return FileProblem("row_count", f"footer num_rows {meta.num_rows}, expected {n_rows}")
    limit = size_limit(n_rows)
    rg_total = 0
    col_total = 0
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        rg_total += rg.total_byte_size
        for j in range(rg.num_columns):
            col_total += rg.column(j).total_uncompressed_size
    if max(rg_total, col_total) > limit:
        return FileProblem(
            "too_large",
            f"uncompressed size {max(rg_total, col_total)} exceeds 16 × {n_rows} + 64 KiB",
        )
    problem = _check_schema(meta)
    if problem is not None:
        return FileProblem("bad_schema", problem)
    page_problem = _check_pages(data, meta, n_rows=n_rows, limit=limit)
    if page_problem is not None:
        return page_problem
    try:
        table = pq.read_table(io.BytesIO(data), use_threads=False)
    except Exception as exc:  # corrupt pages surface as ArrowInvalid / OSError
        return FileProblem("unreadable", str(exc)[:200])
    if table.num_rows != n_rows or table.schema.names != [COLUMN]:
        return FileProblem("unreadable", f"decoded {table.num_rows} rows, expected {n_rows}")
    column = table.column(0).combine_chunks()
    if column.type != pa.uint64() or column.null_count:
        return FileProblem("unreadable", "decoded column is not non-null uint64")
    return column


def read_allocation_file(data: bytes, *, n_rows: int, sha256: bytes) -> list[int] | FileProblem:
    """Like :func:`read_allocation_array`, as Python integers."""
    out = read_allocation_array(data, n_rows=n_rows, sha256=sha256)
    return out if isinstance(out, FileProblem) else out.to_pylist()
