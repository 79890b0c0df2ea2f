"""Parquet page headers, read without decompressing anything.

A Parquet footer states each column chunk's sizes, but the reader allocates what each *page
header* claims: a 67 kB file whose footer honestly says 8,000 bytes can hold one ZSTD page
whose header claims 2 GiB, and pyarrow allocates the 2 GiB. So the allocation file's size
limit (PROTOCOL.md §7) is also applied to the page headers, walked here before any data is
read.

Page headers are Thrift compact-protocol structs (parquet-format ``PageHeader``): a field
header byte holds the field-id delta (high nibble; 0 means a zigzag i16 id follows) and the
type (low nibble); integers are zigzag varints; lists carry their size and element type in one
byte (size 15: a varint follows). Only fields 1-3 (type, uncompressed and compressed size) and
the value counts of data and dictionary page headers (field 1 of structs 5, 7, 8) are kept;
everything else is skipped by type. Nesting is limited to 16 levels and varints to 10 bytes,
so a hostile header costs at most its own length to walk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drey.bytereader import ByteReader
from drey.errors import ProtocolError

__all__ = ["PageHeader", "PageHeaderError", "read_page_header", "walk_pages"]

DATA_PAGE, INDEX_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 1, 2, 3
_MAX_DEPTH = 16
# Compact-protocol type ids.
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)
_FIXED = {_BYTE: 1, _DOUBLE: 8}


class PageHeaderError(ProtocolError, ValueError):
    """Bytes that are not a well-formed page header (or a page walk that does not add up)."""


@dataclass(frozen=True, slots=True)
class PageHeader:
    """The parts of a ``PageHeader`` that size what a reader allocates."""

    type: int
    uncompressed_size: int
    compressed_size: int
    num_values: int  # values of a data or dictionary page (0 for other pages)
    header_size: int  # bytes of the header itself


class _Reader(ByteReader):
    __slots__ = ()

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        super().__init__(data, pos, end, error=PageHeaderError)

    def zigzag(self) -> int:
        n = self.uleb()
        return (n >> 1) ^ -(n & 1)

    def skip_value(self, kind: int, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise self.fail("page header nested too deeply")
        if kind in (_TRUE, _FALSE):
            return
        if kind in _FIXED:
            self.skip(_FIXED[kind])
        elif kind in (_I16, _I32, _I64):
            self.uleb()
        elif kind == _BINARY:
            self.skip(self.uleb())
        elif kind in (_LIST, _SET):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.uleb()
            for _ in range(size):
                if elem in (_TRUE, _FALSE):
                    self.skip(1)  # booleans in lists take one byte each
                else:
                    self.skip_value(elem, depth + 1)
        elif kind == _MAP:
            size = self.uleb()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.skip_value(types >> 4, depth + 1)
                    self.skip_value(types & 0x0F, depth + 1)
        elif kind == _STRUCT:
            self.struct(depth + 1, lambda fid, kind, depth: False)
        else:
            raise self.fail(f"unknown compact type {kind}")

    def struct(self, depth: int, take: Callable[[int, int, int], bool]) -> None:
        """Walk one struct; ``take(field_id, type, depth)`` reads a field it wants (and returns
        True), else the field is skipped."""
        if depth > _MAX_DEPTH:
            raise self.fail("page header nested too deeply")
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            delta, kind = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            last = fid
            if not take(fid, kind, depth):
                self.skip_value(kind, depth)


def read_page_header(data: bytes, pos: int, end: int) -> PageHeader:
    """The page header at ``data[pos:]`` (which must end before ``end``)."""
    r = _Reader(data, pos, end)
    found: dict[str, int] = {}

    def values_of(fid: int, kind: int, depth: int) -> bool:
        if fid == 1 and kind == _I32:
            found["num_values"] = r.zigzag()
            return True
        return False

    def top(fid: int, kind: int, depth: int) -> bool:
        if fid in (1, 2, 3) and kind == _I32:
            found[("type", "uncompressed", "compressed")[fid - 1]] = r.zigzag()
            return True
        if fid in (5, 7, 8) and kind == _STRUCT:
            r.struct(depth + 1, values_of)
            return True
        return False

    r.struct(0, top)
    missing = [k for k in ("type", "uncompressed", "compressed") if k not in found]
    if missing:
        raise PageHeaderError(f"page header at byte {pos} lacks {', '.join(missing)}")
    if found["uncompressed"] < 0 or found["compressed"] < 0:
        raise PageHeaderError(f"page header at byte {pos} has a negative size")
    return PageHeader(
        found["type"],
        found["uncompressed"],
        found["compressed"],
        max(0, found.get("num_values", 0)),
        r.pos - pos,
    )


def walk_pages(data: bytes, start: int, length: int) -> list[PageHeader]:
    """Every page header of the column chunk at ``data[start:start + length]``; the pages
    must tile the chunk exactly."""
    end = start + length
    if length == 0:
        return []  # an empty column (zero rows) has no pages
    if start < 4 or length < 0 or end > len(data):
        raise PageHeaderError(f"column chunk {start}+{length} is outside the file")
    pages = []
    pos = start
    while pos < end:
        page = read_page_header(data, pos, end)
        pos += page.header_size + page.compressed_size
        if pos > end:
            raise PageHeaderError(f"page at byte {pos} runs past its column chunk")
        pages.append(page)
    return pages
