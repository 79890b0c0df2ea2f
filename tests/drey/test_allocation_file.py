"""The allocation column file: deterministic writing, limits and schema checks on reading."""

from __future__ import annotations

import hashlib
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.allocation_file import (
    FileProblem,
    read_allocation_array,
    read_allocation_file,
    size_limit,
    write_allocation_file,
)
from drey.errors import AllocationFileError

U64 = 2**64 - 1


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reason(data: bytes, n_rows: int, digest: bytes | None = None) -> str:
    out = read_allocation_file(data, n_rows=n_rows, sha256=sha(data) if digest is None else digest)
    assert isinstance(out, FileProblem), out
    return out.reason


@given(st.lists(st.integers(0, U64), max_size=300))
@settings(max_examples=150, deadline=None)
def test_roundtrip_and_determinism(values: list[int]) -> None:
    data = write_allocation_file(values)
    assert write_allocation_file(values) == data
    assert write_allocation_file(pa.array(values, pa.uint64())) == data
    assert read_allocation_file(data, n_rows=len(values), sha256=sha(data)) == values


def test_written_schema_is_exactly_the_spec() -> None:
    data = write_allocation_file([1, 2, 3])
    meta = pq.read_metadata(io.BytesIO(data))
    col = meta.schema.column(0)
    assert meta.num_columns == 1 and col.name == "dreybits"
    assert col.physical_type == "INT64"
    assert (
        col.logical_type.to_json().replace(" ", "")
        == '{"Type":"Int","bitWidth":64,"isSigned":false}'
    )
    assert col.max_definition_level == 0  # REQUIRED
    assert meta.num_rows == 3 and meta.num_row_groups == 1
    assert meta.metadata is None  # no Arrow schema or other key-value metadata
    assert meta.created_by.startswith("parquet-cpp-arrow version")


def test_large_column_stays_under_the_size_limit() -> None:
    values = [(i * 2654435761) % 2**40 for i in range(200_000)]
    data = write_allocation_file(values)
    arr = read_allocation_array(data, n_rows=len(values), sha256=sha(data))
    assert isinstance(arr, pa.UInt64Array) and arr.to_pylist() == values
    meta = pq.read_metadata(io.BytesIO(data))
    assert meta.row_group(0).total_byte_size <= size_limit(len(values))


def test_writer_refuses_non_u64() -> None:
    for bad in ([-1], [2**64], [None], ["1"]):
        with pytest.raises(AllocationFileError):
            write_allocation_file(bad)  # type: ignore[arg-type]


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="NONE")
    return sink.getvalue()


def test_hash_is_checked_first() -> None:
    data = write_allocation_file([1, 2])
    assert reason(data, 2, digest=b"\x00" * 32) == "hash_mismatch"
    assert reason(b"garbage", 2, digest=sha(data)) == "hash_mismatch"


def test_row_count_and_size_limits() -> None:
    data = write_allocation_file([1, 2, 3])
    assert reason(data, 4) == "row_count"
    assert reason(data, 2) == "row_count"
    n = 10_000
    wide = pa.table({f"c{i}": pa.array(range(n), pa.uint64()) for i in range(3)})
    assert reason(_parquet(wide), n) == "too_large"


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"dreybits": pa.array([1, 2], pa.int64())}),
        pa.table({"dreybits": pa.array([1, 2], pa.uint32())}),
        pa.table({"dreybits": pa.array([1, 2], pa.uint64())}),  # nullable = OPTIONAL
        pa.Table.from_arrays(
            [pa.array([1, 2], pa.uint64())],
            schema=pa.schema([pa.field("dreybit", pa.uint64(), nullable=False)]),
        ),
        pa.Table.from_arrays(
            [pa.array([1, 2], pa.uint64()), pa.array([1, 2], pa.uint64())],
            schema=pa.schema(
                [pa.field("dreybits", pa.uint64(), False), pa.field("x", pa.uint64(), False)]
            ),
        ),
        pa.table({"dreybits": pa.array([{"a": 1}, {"a": 2}])}),
        pa.table({"dreybits": pa.array([[1], [2]], pa.list_(pa.uint64()))}),
    ],
)
def test_schema_must_be_exact(table: pa.Table) -> None:
    assert reason(_parquet(table), 2) == "bad_schema"


def test_not_parquet_and_unreadable() -> None:
    data = write_allocation_file(list(range(1000)))
    assert reason(b"not a parquet file at all", 1) == "not_parquet"
    assert reason(data[:-1], 1000) == "not_parquet"
    assert reason(b"PAR1" + data[4:-4] + b"PAR2", 1000) == "not_parquet"
    huge_footer = data[:-8] + (2**31).to_bytes(4, "little") + b"PAR1"
    assert reason(huge_footer, 1000) == "not_parquet"
    garbled_footer = data[:-60] + b"\xff" * 52 + data[-8:]
    assert reason(garbled_footer, 1000) == "not_parquet"
    # Destroy the first data page header (the footer still parses).
    garbled_page = data[:4] + b"\xff" * 12 + data[16:]
    assert reason(garbled_page, 1000) == "unreadable"


@given(st.binary(max_size=400))
@settings(max_examples=300)
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for blob in (data, b"PAR1" + data + b"PAR1"):
        out = read_allocation_file(blob, n_rows=3, sha256=sha(blob))
        assert isinstance(out, FileProblem)


def _zigzag_varint(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b, z = z & 0x7F, z >> 7
        out.append(b | (0x80 if z else 0))
        if not z:
            return bytes(out)


def _varint_field(data: bytes, pos: int) -> tuple[bytes, int]:
    """The raw varint bytes of the i32 field at ``pos`` (field byte ``0x15``: delta 1, i32)."""
    assert data[pos] == 0x15
    end = pos + 1
    while data[end] & 0x80:
        end += 1
    return data[pos + 1 : end + 1], end + 1


def page_bomb(n_rows: int, claim: int) -> bytes:
    """A ZSTD allocation file whose footer is honest but whose one data page header claims
    ``claim`` uncompressed bytes. Fields 1-3 of the header (type, uncompressed and compressed
    size) are re-encoded and the payload shortened by what the header grew, so every offset
    and size in the footer still holds."""
    sink = io.BytesIO()
    schema = pa.schema([pa.field("dreybits", pa.uint64(), nullable=False)])
    table = pa.Table.from_arrays([pa.array(range(n_rows), pa.uint64())], schema=schema)
    pq.write_table(table, sink, compression="zstd", use_dictionary=False, write_statistics=False)
    data = sink.getvalue()
    chunk = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0)
    kind, pos = _varint_field(data, 4)
    uncompressed, pos = _varint_field(data, pos)
    compressed, rest = _varint_field(data, pos)
    payload_len = sum((b & 0x7F) << (7 * i) for i, b in enumerate(compressed)) >> 1
    header_end = 4 + chunk.total_compressed_size - payload_len
    payload = data[header_end : header_end + payload_len]
    grow = len(_zigzag_varint(claim)) - len(uncompressed)
    payload = payload[: len(payload) - grow]
    header = (
        b"\x15"
        + kind
        + b"\x15"
        + _zigzag_varint(claim)
        + b"\x15"
        + _zigzag_varint(len(payload))
        + data[rest:header_end]
    )
    out = data[:4] + header + payload + data[header_end + payload_len :]
    assert len(out) == len(data)
    return out


def test_a_page_header_claiming_gigabytes_is_refused_before_reading() -> None:
    n_rows = 1000
    data = page_bomb(n_rows, claim=2**31 - 1)
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    # The footer is honest: within the §7 limit, so only the page walk can see the claim.
    assert meta.row_group(0).total_byte_size <= size_limit(n_rows)
    out = read_allocation_array(data, n_rows=n_rows, sha256=sha(data))
    assert isinstance(out, FileProblem)
    assert out.reason == "too_large"
    assert "page headers claim 2147483647 bytes" in out.detail


def test_compressed_files_within_the_limit_still_read() -> None:
    data = page_bomb(1000, claim=8000)  # the true size: nothing claimed beyond it
    assert read_allocation_file(data, n_rows=1000, sha256=sha(data)) == list(range(1000))


@given(st.integers(0, 2**20), st.binary(min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_mutated_valid_files_give_problems_or_values(offset: int, patch: bytes) -> None:
    """Real files with bytes rewritten anywhere (pages, page headers, footer): a FileProblem
    or the values, never an exception (the digest is recomputed so every check runs)."""
    data = bytearray(write_allocation_file(list(range(0, 3000, 3))))
    at = offset % len(data)
    data[at : at + len(patch)] = patch
    out = read_allocation_array(bytes(data), n_rows=1000, sha256=sha(bytes(data)))
    assert isinstance(out, FileProblem) or len(out) == 1000
