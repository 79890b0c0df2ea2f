"""The Parquet page-header walker reads hostile bytes: PageHeaderError or headers, never
another exception, and the headers of real files match what pyarrow wrote."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drey.allocation_file import write_allocation_file
from drey.parquet_pages import DATA_PAGE, PageHeaderError, read_page_header, walk_pages


def _chunk(data: bytes) -> tuple[int, int]:
    col = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0)
    return col.data_page_offset, col.total_compressed_size


@pytest.mark.parametrize("compression", ["NONE", "zstd", "snappy", "gzip"])
def test_real_pages_are_walked_exactly(compression: str) -> None:
    table = pa.table({"x": pa.array(range(50_000), pa.uint64())})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression=compression, data_page_size=64 * 1024)
    data = sink.getvalue()
    meta = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0)
    start = meta.dictionary_page_offset if meta.has_dictionary_page else meta.data_page_offset
    pages = walk_pages(data, start, meta.total_compressed_size)
    assert sum(p.uncompressed_size for p in pages) + sum(p.header_size for p in pages) == (
        meta.total_uncompressed_size
    )
    assert sum(p.num_values for p in pages if p.type == DATA_PAGE) == 50_000


def test_the_allocation_file_has_one_delta_page() -> None:
    data = write_allocation_file(list(range(1000)))
    pages = walk_pages(data, *_chunk(data))
    assert [(p.type, p.num_values) for p in pages] == [(DATA_PAGE, 1000)]


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None)
def test_arbitrary_bytes_give_page_header_errors_only(data: bytes) -> None:
    try:
        header = read_page_header(data, 0, len(data))
    except PageHeaderError:
        return
    assert header.header_size <= len(data)


@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_mutated_headers_of_a_real_file(offset: int, patch: bytes) -> None:
    data = bytearray(write_allocation_file(list(range(500))))
    start, length = _chunk(bytes(data))
    at = start + offset % max(1, min(length, 64))
    data[at : at + len(patch)] = patch
    try:
        pages = walk_pages(bytes(data), start, length)
    except PageHeaderError:
        return
    assert all(p.compressed_size >= 0 and p.uncompressed_size >= 0 for p in pages)
