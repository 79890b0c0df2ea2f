"""A bounded cursor over hostile bytes, shared by the decoders that walk binary formats by hand
(the WebAssembly checks of :mod:`drey.formula.abi`, the Parquet page headers of
:mod:`drey.parquet_pages`).

Every read is bounds-checked against ``end`` and raises the decoder's own ``error`` type with
the byte offset; varints (LEB128, which Thrift's compact protocol uses too) stop after 10
bytes, so a hostile input costs at most its own length to walk.
"""

from __future__ import annotations

__all__ = ["ByteReader"]

_MAX_VARINT_SHIFT = 70


class ByteReader:
    __slots__ = ("_error", "data", "end", "pos")

    def __init__(self, data: bytes, pos: int, end: int, *, error: type[Exception]) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self._error = error

    def fail(self, message: str) -> Exception:
        """The decoder's error for ``message`` at the current offset (to raise)."""
        return self._error(f"{message} at byte {self.pos}")

    def byte(self) -> int:
        if self.pos >= self.end:
            raise self.fail("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self) -> int:
        """An unsigned LEB128 varint (at most 10 bytes)."""
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result
            if shift >= _MAX_VARINT_SHIFT:
                raise self.fail("varint longer than 10 bytes")

    def skip_sleb(self) -> None:
        """Step over a signed LEB128 varint (at most 10 bytes)."""
        shift = 0
        while self.byte() >= 0x80:
            shift += 7
            if shift >= _MAX_VARINT_SHIFT:
                raise self.fail("varint longer than 10 bytes")

    def skip(self, n: int) -> None:
        if n < 0 or n > self.end - self.pos:
            raise self.fail(f"{n} bytes run past the end")
        self.pos += n
