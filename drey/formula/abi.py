"""Static checks of a formula module's ABI (PROTOCOL.md §6): no imports, no floats.

:func:`float_free_problem` walks the binary's type, import, global and code sections and the
instruction stream of every function body. Any float or vector value type (f32, f64, v128),
any float instruction (loads, stores, constants, comparisons, arithmetic, conversions,
reinterpretations, saturating truncations), any SIMD (0xFD) or otherwise unknown opcode, and
any import make the module unacceptable. Meant to run after wasmtime has validated the module
(so the structure is sound); on malformed bytes it still only returns a reason.
"""

from __future__ import annotations

from drey.bytereader import ByteReader

__all__ = ["float_free_problem"]

_FLOAT_TYPES = {0x7D: "f32", 0x7C: "f64", 0x7B: "v128"}
# Single-byte opcodes with no immediate that are float instructions.
_FLOAT_OPS = set(range(0x5B, 0x67)) | set(range(0x8B, 0xA7)) | {0xA8, 0xA9, 0xAA, 0xAB}
_FLOAT_OPS |= {0xAE, 0xAF, 0xB0, 0xB1} | set(range(0xB2, 0xC0))
_FLOAT_MEM = {0x2A, 0x2B, 0x38, 0x39}
_NO_IMMEDIATE = (
    {0x00, 0x01, 0x05, 0x0B, 0x0F, 0x1A, 0x1B, 0xD1}
    | set(range(0x45, 0x5B))
    | set(range(0x67, 0x8B))
    | {0xA7, 0xAC, 0xAD}
    | set(range(0xC0, 0xC5))
)


class _BadModuleError(Exception):
    pass


class _Reader(ByteReader):
    __slots__ = ()

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        super().__init__(data, pos, end, error=_BadModuleError)

    def valtype(self, where: str) -> None:
        t = self.byte()
        if t in _FLOAT_TYPES:
            raise _BadModuleError(f"{_FLOAT_TYPES[t]} value type in {where}")


def _types(r: _Reader) -> None:
    for _ in range(r.uleb()):
        form = r.byte()
        if form != 0x60:
            raise _BadModuleError(f"type form 0x{form:02x} is not a function type")
        for _ in range(r.uleb()):
            r.valtype("a function type")
        for _ in range(r.uleb()):
            r.valtype("a function type")


def _globals(r: _Reader) -> None:
    for _ in range(r.uleb()):
        r.valtype("a global")
        r.byte()  # mutability
        _instructions(r, until_end=True)


def _blocktype(r: _Reader) -> None:
    b = r.data[r.pos] if r.pos < r.end else -1
    if b == 0x40:
        r.pos += 1
    elif b in _FLOAT_TYPES:
        raise _BadModuleError(f"{_FLOAT_TYPES[b]} block type")
    elif b in (0x7F, 0x7E, 0x70, 0x6F):
        r.pos += 1
    else:
        r.skip_sleb()


def _instructions(r: _Reader, *, until_end: bool) -> None:
    depth = 0
    while r.pos < r.end:
        at = r.pos
        op = r.byte()
        if op in _NO_IMMEDIATE:
            if op == 0x0B:
                if depth == 0 and until_end:
                    return
                depth -= 1
            continue
        if op in _FLOAT_OPS or op in _FLOAT_MEM or op in (0x43, 0x44):
            raise _BadModuleError(f"float instruction 0x{op:02x} at byte {at}")
        if op in (0x02, 0x03, 0x04):
            _blocktype(r)
            depth += 1
        elif op in (0x0C, 0x0D, 0x10, 0xD2) or 0x20 <= op <= 0x26:
            r.uleb()
        elif op == 0x0E:
            for _ in range(r.uleb() + 1):
                r.uleb()
        elif op == 0x11:
            r.uleb()
            r.uleb()
        elif op == 0x1C:
            for _ in range(r.uleb()):
                r.valtype("select")
        elif 0x28 <= op <= 0x3E:
            r.uleb()
            r.uleb()
        elif op in (0x3F, 0x40):
            r.byte()
        elif op == 0x41 or op == 0x42:
            r.skip_sleb()
        elif op == 0xD0:
            r.byte()
        elif op == 0xFC:
            sub = r.uleb()
            if sub <= 7:
                raise _BadModuleError(f"float instruction 0xfc {sub} at byte {at}")
            if sub in (8, 12, 14):
                r.uleb()
                r.uleb()
            elif sub in (9, 13, 15, 16, 17):
                r.uleb()
            elif sub == 10:
                r.byte()
                r.byte()
            elif sub == 11:
                r.byte()
            else:
                raise _BadModuleError(f"unknown instruction 0xfc {sub} at byte {at}")
        else:
            raise _BadModuleError(f"unsupported instruction 0x{op:02x} at byte {at}")
    if until_end:
        raise _BadModuleError("expression without end")


def _code(r: _Reader) -> None:
    for _ in range(r.uleb()):
        size = r.uleb()
        body_end = r.pos + size
        if body_end > r.end:
            raise _BadModuleError("truncated function body")
        body = _Reader(r.data, r.pos, body_end)
        for _ in range(body.uleb()):
            body.uleb()
            body.valtype("function locals")
        _instructions(body, until_end=False)
        r.pos = body_end


def float_free_problem(module: bytes) -> str | None:
    """``None`` if the module has no imports and no float/vector types or instructions,
    else what is wrong (and where)."""
    data = bytes(module)
    if data[:8] != b"\x00asm\x01\x00\x00\x00":
        return "not a WebAssembly 1.0 binary module"
    r = _Reader(data, 8, len(data))
    try:
        while r.pos < r.end:
            section = r.byte()
            size = r.uleb()
            end = r.pos + size
            if end > r.end:
                return f"section {section} is truncated"
            sub = _Reader(data, r.pos, end)
            if section == 1:
                _types(sub)
            elif section == 2 and sub.uleb() > 0:
                return "the module has imports"
            elif section == 6:
                _globals(sub)
            elif section == 10:
                _code(sub)
            r.pos = end
    except _BadModuleError as exc:
        return str(exc)
    return None
