"""Script tokenizing as ord reads tapscripts, and minimal push encoding for building scripts.

The tokenizer reads pushes without requiring minimal encoding (rust-bitcoin's ``instructions()``):
``OP_0``, ``OP_PUSHBYTES_1..75`` and ``OP_PUSHDATA1/2/4`` are all "a push of these bytes".
"""

from __future__ import annotations

from collections.abc import Iterator
from struct import pack

from btc.errors import TruncatedPushError

OP_0 = 0x00
OP_PUSHDATA1 = 0x4C
OP_PUSHDATA2 = 0x4D
OP_PUSHDATA4 = 0x4E
OP_1NEGATE = 0x4F
OP_1 = 0x51
OP_16 = 0x60
OP_IF = 0x63
OP_ENDIF = 0x68
OP_VERIFY = 0x69
OP_RETURN = 0x6A
OP_DROP = 0x75
OP_CHECKSIG = 0xAC
OP_CHECKSIGVERIFY = 0xAD
OP_CHECKSIGADD = 0xBA


def iter_instructions(script: bytes) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(opcode, pushed bytes)`` per instruction; pushed bytes are ``None`` for non-push
    opcodes. Raises :class:`TruncatedPushError` when a push runs past the end."""
    pos = 0
    end = len(script)
    while pos < end:
        op = script[pos]
        pos += 1
        if op <= OP_PUSHDATA4:
            if op < OP_PUSHDATA1:
                n = op
            else:
                width = 1 if op == OP_PUSHDATA1 else 2 if op == OP_PUSHDATA2 else 4
                if pos + width > end:
                    raise TruncatedPushError(
                        f"truncated push length: opcode {op:#04x} needs {width} length bytes, {end - pos} left",
                        offset=pos - 1,
                    )
                n = int.from_bytes(script[pos : pos + width], "little")
                pos += width
            if pos + n > end:
                raise TruncatedPushError(
                    f"truncated push: need {n} bytes, {end - pos} left", offset=pos
                )
            yield op, script[pos : pos + n]
            pos += n
        else:
            yield op, None


def encode_push(data: bytes) -> bytes:
    """The minimal push of ``data`` (BIP62 rules, without the OP_n shortcuts)."""
    n = len(data)
    if n < OP_PUSHDATA1:
        return bytes((n,)) + data
    if n <= 0xFF:
        return bytes((OP_PUSHDATA1, n)) + data
    if n <= 0xFFFF:
        return bytes((OP_PUSHDATA2,)) + pack("<H", n) + data
    return bytes((OP_PUSHDATA4,)) + pack("<I", n) + data


def encode_script(*items: int | bytes) -> bytes:
    """Concatenate opcodes (ints) and pushes (bytes, pushed minimally)."""
    return b"".join(
        bytes((item,)) if isinstance(item, int) else encode_push(item) for item in items
    )
