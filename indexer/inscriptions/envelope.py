"""Envelope discovery in tapscripts, exactly as ord 0.27's ``RawEnvelope::from_tapscript``.

Rules (INSCRIPTIONS.md): scan instructions; at each empty push the next instruction must be
``OP_IF`` and the one after a push of ``ord``; inside, pushes append to the payload, ``OP_1..16``
and ``OP_1NEGATE`` append one byte and set *pushnum*, ``OP_ENDIF`` accepts, anything else drops
the envelope. A truncated push anywhere means the whole input yields nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indexer.bitcoin.script import OP_1, OP_1NEGATE, OP_16, OP_ENDIF, OP_IF, iter_instructions
from indexer.errors import TruncatedPushError

PROTOCOL_ID = b"ord"
TAPROOT_ANNEX_PREFIX = 0x50

# Instructions are (opcode, pushed bytes | None). Pushes carry bytes, other opcodes None.
_Instruction = tuple[int, bytes | None]


@dataclass(frozen=True, slots=True)
class RawEnvelope:
    """One accepted envelope: its input, its offset among the input's envelopes, the payload
    pushes, and the two flags decided while scanning."""

    input: int
    offset: int
    payload: tuple[bytes, ...]
    pushnum: bool
    stutter: bool


def tapscript_from_witness(witness: Sequence[bytes]) -> bytes | None:
    """The item that may hold a tapscript (rust-bitcoin ``Witness::tapscript``), or None."""
    n = len(witness)
    if n < 2:
        return None
    last = witness[-1]
    from_last = 3 if last[:1] == b"\x50" else 2
    if n < from_last:
        return None
    return witness[n - from_last]


def envelopes_from_tapscript(script: bytes, input_index: int) -> list[RawEnvelope]:
    """Every envelope in ``script``; empty when the script holds a truncated push."""
    try:
        instructions = list(iter_instructions(script))
    except TruncatedPushError:
        return []
    envelopes: list[RawEnvelope] = []
    stuttered = False
    count = len(instructions)
    i = 0
    while i < count:
        data = instructions[i][1]
        i += 1
        if data is None or data:
            continue
        # An empty push: try to open an envelope at instruction i.
        if i < count and instructions[i] == (OP_IF, None):
            i += 1
            if i < count and instructions[i][1] == PROTOCOL_ID:
                i += 1
                envelope, i = _read_payload(instructions, i, input_index, len(envelopes), stuttered)
                if envelope is not None:
                    envelopes.append(envelope)
                else:
                    stuttered = False
                continue
        stuttered = _is_empty_push(instructions, i)
    return envelopes


def _is_empty_push(instructions: list[_Instruction], i: int) -> bool:
    return i < len(instructions) and instructions[i][1] == b""


def _read_payload(
    instructions: list[_Instruction], i: int, input_index: int, offset: int, stutter: bool
) -> tuple[RawEnvelope | None, int]:
    payload: list[bytes] = []
    pushnum = False
    count = len(instructions)
    while i < count:
        op, data = instructions[i]
        i += 1
        if data is not None:
            payload.append(data)
        elif op == OP_ENDIF:
            return RawEnvelope(input_index, offset, tuple(payload), pushnum, stutter), i
        elif OP_1 <= op <= OP_16:
            pushnum = True
            payload.append(bytes((op - OP_1 + 1,)))
        elif op == OP_1NEGATE:
            pushnum = True
            payload.append(b"\x81")
        else:
            return None, i
    return None, i
